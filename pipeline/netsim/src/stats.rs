//! Per-link, per-direction counters for test assertions.

/// Why a link dropped a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DropReason {
    /// Random loss on the wire (`loss_ppm`).
    Loss,
    /// Tail drop: the queue was full.
    Queue,
    /// The direction was cut when the frame was offered.
    Cut,
    /// The Ethernet payload exceeded the MTU.
    Mtu,
}

impl DropReason {
    /// A stable small number for hashing.
    pub(crate) const fn code(self) -> u8 {
        match self {
            DropReason::Loss => 0,
            DropReason::Queue => 1,
            DropReason::Cut => 2,
            DropReason::Mtu => 3,
        }
    }
}

/// What happened on one direction of a link so far.
///
/// Every offered frame ends in exactly one of: delivered, dropped (one reason), or still in
/// flight (queued, being serialized, or propagating); a duplicate adds one more frame. So
/// `sent + duplicated == delivered + dropped() + in flight` at all times, and
/// after [`Network::run_until_idle`](super::Network::run_until_idle) nothing is in flight.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct LinkStats {
    /// Frames offered to the link by the sending node.
    pub sent: u64,
    /// Bytes of the frames offered.
    pub sent_bytes: u64,
    /// Frames handed to the receiving node (duplicates included).
    pub delivered: u64,
    /// Bytes of the frames delivered.
    pub delivered_bytes: u64,
    /// Frames lost at random on the wire.
    pub dropped_loss: u64,
    /// Frames dropped because the queue was full.
    pub dropped_queue: u64,
    /// Frames dropped because the direction was cut.
    pub dropped_cut: u64,
    /// Frames dropped for exceeding the MTU.
    pub dropped_mtu: u64,
    /// Extra copies made by duplication.
    pub duplicated: u64,
    /// Frames held back by the reorder delay (whether or not a later frame overtook them).
    pub reordered: u64,
    /// The most frames ever waiting in the queue.
    pub max_queue_frames: u64,
    /// The most bytes ever waiting in the queue.
    pub max_queue_bytes: u64,
}

impl LinkStats {
    /// Frames dropped for `reason`.
    pub const fn dropped(&self, reason: DropReason) -> u64 {
        match reason {
            DropReason::Loss => self.dropped_loss,
            DropReason::Queue => self.dropped_queue,
            DropReason::Cut => self.dropped_cut,
            DropReason::Mtu => self.dropped_mtu,
        }
    }

    /// Frames dropped for any reason.
    pub const fn dropped_total(&self) -> u64 {
        self.dropped_loss
            .saturating_add(self.dropped_queue)
            .saturating_add(self.dropped_cut)
            .saturating_add(self.dropped_mtu)
    }

    /// Frames still queued, being serialized or propagating.
    pub const fn in_flight(&self) -> u64 {
        self.sent
            .saturating_add(self.duplicated)
            .saturating_sub(self.delivered)
            .saturating_sub(self.dropped_total())
    }

    pub(crate) fn count_drop(&mut self, reason: DropReason) {
        let counter = match reason {
            DropReason::Loss => &mut self.dropped_loss,
            DropReason::Queue => &mut self.dropped_queue,
            DropReason::Cut => &mut self.dropped_cut,
            DropReason::Mtu => &mut self.dropped_mtu,
        };
        *counter = counter.saturating_add(1);
    }
}
