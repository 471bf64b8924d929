//! The shard's buffer budget (docs/operations.md, "Memory model"): the bytes its splices'
//! connections hold in send and receive buffers, kept incrementally as each splice settles
//! (never by walking the table), and the pressure mode that follows them.
//!
//! As Linux's `tcp_mem`: at three quarters of the budget the shard enters pressure, and every
//! connection's receive space stops growing while its window offered and its send limit fall
//! to [`MIN_BUFFER`](crate::tcp::MIN_BUFFER) (no advertised right edge is retracted); below
//! half of the budget it leaves pressure. At the budget nothing changes further: pressure
//! already holds every connection, new ones included, to the minimum, which lets each make
//! progress, so buffers stay within the budget plus at most twice the minimum per connection
//! (the windows already advertised when pressure began).

/// The budget, the bytes accounted, and the pressure state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BufferBudget {
    /// The budget in bytes; `None`: no budget, never pressure.
    limit: Option<usize>,
    /// Bytes the splices' buffers hold, as last accounted.
    in_use: usize,
    /// Under pressure.
    pressure: bool,
    /// Times pressure began.
    entries: u64,
}

/// What [`BufferBudget`] reports for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BufferStats {
    /// Bytes the splices' buffers hold.
    pub bytes: u64,
    /// The budget in bytes (0: none).
    pub limit: u64,
    /// 1 under pressure, 0 otherwise.
    pub pressure: bool,
    /// Times pressure began.
    pub pressure_entries: u64,
}

impl BufferBudget {
    /// A budget of `limit` bytes (`None`: unlimited), nothing accounted.
    pub fn new(limit: Option<usize>) -> BufferBudget {
        BufferBudget { limit, ..BufferBudget::default() }
    }

    /// One splice's buffers went from `old` to `new` bytes (a new splice from 0, a dropped
    /// one to 0); pressure begins or ends as the total crosses its thresholds.
    pub fn account(&mut self, old: usize, new: usize) {
        self.in_use = self.in_use.saturating_sub(old).saturating_add(new);
        let Some(limit) = self.limit else { return };
        if !self.pressure && self.in_use >= limit / 4 * 3 {
            self.pressure = true;
            self.entries += 1;
        } else if self.pressure && self.in_use < limit / 2 {
            self.pressure = false;
        }
    }

    /// Whether the shard is under pressure.
    pub fn pressure(&self) -> bool {
        self.pressure
    }

    /// Bytes accounted.
    pub fn in_use(&self) -> usize {
        self.in_use
    }

    /// Changes the budget (a reload); pressure follows at the next [`account`](Self::account).
    pub fn set_limit(&mut self, limit: Option<usize>) {
        self.limit = limit;
    }

    /// The figures for metrics.
    pub fn stats(&self) -> BufferStats {
        BufferStats {
            bytes: self.in_use as u64,
            limit: self.limit.unwrap_or(0) as u64,
            pressure: self.pressure,
            pressure_entries: self.entries,
        }
    }
}
