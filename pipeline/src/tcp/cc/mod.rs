//! Congestion control for the TCP engine: NewReno and CUBIC behind one interface.
//!
//! The engine owns sequence numbers, the SACK scoreboard and the timers; it tells the
//! controller what happened (data acknowledged, loss detected, recovery over, timer expired)
//! and asks it how many bytes may be in flight ([`CongestionControl::cwnd`]). Nothing here
//! reads a clock: every event takes the current [`Instant`].
//!
//! # Units
//!
//! Windows (`cwnd`, `ssthresh`, flight sizes, acknowledged amounts) are in **bytes** as
//! `usize`, so the engine compares them with its byte counts directly. CUBIC evaluates its
//! RFC 9438 formulas in segments (`f64`, as the RFC writes them) and converts the result back
//! to bytes; see [`cubic`].
//!
//! # Dispatch: an enum, and a trait
//!
//! [`Controller`] is an enum over the two algorithms and implements [`CongestionControl`] by
//! `match`. The engine stores a `Controller` inline in each connection: no `Box`, no
//! allocation, no vtable; the branch on the variant is perfectly predicted for a
//! connection, and both arms can be inlined. The trait stays object-safe, so tests, the
//! simulator or an experimental algorithm can still use `&mut dyn CongestionControl`.
//!
//! # Contract with the engine
//!
//! - [`CongestionControl::on_ack`]: once per ACK that acknowledges new data, cumulatively or
//!   by SACK, **outside** loss recovery. `bytes_in_flight` is the engine's FlightSize (RFC
//!   5681 §2) or pipe (RFC 6675 §4) after the ACK was processed. The window only grows when
//!   the connection used at least half of it (`bytes_in_flight + acked_bytes >= cwnd / 2`,
//!   the validated phase of RFC 7661 §4.3); an application-limited sender does not inflate
//!   its window. Calls during recovery are accepted and change nothing but the RTT minimum.
//! - [`CongestionControl::on_congestion_event`]: when dup-ACKs or SACK show a loss (RFC 5681
//!   §3.2, RFC 6675 §5 step 4) and the engine enters fast recovery. At most one reduction
//!   happens per recovery episode: further calls before [`CongestionControl::on_recovery_end`]
//!   are ignored (RFC 6582 §3.2, RFC 6675 §5).
//! - During recovery `cwnd()` is the reduced window (ssthresh). With SACK the engine runs
//!   RFC 6675 and sends while `pipe < cwnd()`; it may apply PRR (RFC 6937) on top.
//!   Window inflation (RFC 5681 §3.2 steps 4-5, RFC 6582 §3.2 steps 3-4) is **not** done here:
//!   a non-SACK NewReno engine keeps its own inflation allowance (`+SMSS` per dup-ACK, deflated
//!   by each partial ACK) added to `cwnd()`, retransmits the first unacknowledged segment on
//!   each partial ACK and resets the RTO timer on the first partial ACK (RFC 6582 §3.2
//!   step 3). Which segment to retransmit is the engine's decision.
//! - [`CongestionControl::on_recovery_end`]: when the ACK covering the recovery point
//!   arrives (RFC 6582 §3.2 step 4 "full acknowledgment", RFC 6675 §5). The window stays at
//!   ssthresh (RFC 6582 §3.2 step 4, first option).
//! - [`CongestionControl::on_retransmission_timeout`]: when the RTO fires (RFC 5681 §3.1,
//!   RFC 6298 §5). It ends any recovery; cwnd becomes the loss window, one SMSS.
//! - [`CongestionControl::on_spurious_congestion`]: optional; when the engine proves the
//!   last reduction spurious (DSACK, RFC 3708; Eifel, RFC 3522). Restores the saved state
//!   (RFC 9438 §4.9; for NewReno in the spirit of RFC 4015 §3).
//!
//! # RFC map
//!
//! | Rule                                                  | Where                                  |
//! |-------------------------------------------------------|----------------------------------------|
//! | Initial window min(10·MSS, max(2·MSS, 14600))         | RFC 6928 §2: [`initial_window`]         |
//! | Slow start, byte counting L = 2·SMSS (1·SMSS post-RTO)| RFC 5681 §3.1, RFC 3465 §2.2-§2.3       |
//! | Congestion avoidance, +1 SMSS per cwnd of bytes acked | RFC 5681 §3.1 eq. 3, RFC 3465 §2.1      |
//! | ssthresh = max(FlightSize/2, 2·SMSS) on loss          | RFC 5681 §3.1 eq. 4, §3.2 step 2        |
//! | cwnd = ssthresh in recovery, one cut per episode      | RFC 6675 §5 step 4.2, RFC 6582 §3.2     |
//! | RTO: cwnd = 1 SMSS; ssthresh held on repeated RTO     | RFC 5681 §3.1                           |
//! | No growth while application-limited                   | RFC 7661 §4.3, RFC 9438 §5.8            |
//! | CUBIC window W_cubic(t) = C(t-K)³ + W_max, K          | RFC 9438 §4.2, eq. 1-2                  |
//! | Target clamped to [cwnd, 1.5·cwnd], t + min RTT       | RFC 9438 §4.2                           |
//! | Reno-friendly W_est, α_cubic = 3(1-β)/(1+β), then 1   | RFC 9438 §4.3                           |
//! | Concave and convex regions                            | RFC 9438 §4.4, §4.5                     |
//! | β_cubic = 0.7 multiplicative decrease                 | RFC 9438 §4.6                           |
//! | Fast convergence                                      | RFC 9438 §4.7                           |
//! | Timeout: K = 0, W_max = cwnd at start of CA           | RFC 9438 §4.8                           |
//! | Spurious congestion undo                              | RFC 9438 §4.9                           |
//! | Slow start (HyStart++ RFC 9406 **omitted**)           | RFC 9438 §4.10                          |

pub mod cubic;
pub mod hystart;
pub mod newreno;

pub use cubic::Cubic;
pub use hystart::HyStart;
pub use newreno::NewReno;

use crate::time::{Duration, Instant};

/// The largest MSS the controllers accept; TCP's MSS option is 16 bits (RFC 9293 §3.7.1).
pub const MAX_MSS: usize = 65_535;

/// The default ceiling on cwnd: 1 GiB, more than any path NetReaktor serves needs.
pub const DEFAULT_MAX_WINDOW: usize = 1 << 30;

/// Which congestion-control algorithm a [`Controller`] runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Algorithm {
    /// RFC 5681 with RFC 3465 byte counting and RFC 6582 recovery semantics.
    NewReno,
    /// RFC 9438.
    #[default]
    Cubic,
}

/// Settings for a controller. Build with [`Config::new`] and adjust the fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// The algorithm.
    pub algorithm: Algorithm,
    /// Sender maximum segment size in bytes (SMSS, RFC 5681 §2); clamped to `1..=MAX_MSS`.
    pub mss: usize,
    /// Initial window in bytes; `None` for RFC 6928's `min(10·MSS, max(2·MSS, 14600))`.
    /// A configured value is clamped to `[1 MSS, max_window]`.
    pub initial_window: Option<usize>,
    /// Ceiling on cwnd in bytes; raised to at least `2·MSS`.
    pub max_window: usize,
    /// CUBIC fast convergence (RFC 9438 §4.7); ignored by NewReno.
    pub fast_convergence: bool,
}

impl Config {
    /// CUBIC with fast convergence, RFC 6928 initial window, [`DEFAULT_MAX_WINDOW`].
    pub const fn new(mss: usize) -> Self {
        Config {
            algorithm: Algorithm::Cubic,
            mss,
            initial_window: None,
            max_window: DEFAULT_MAX_WINDOW,
            fast_convergence: true,
        }
    }

    /// The MSS clamped to `1..=MAX_MSS`.
    pub(crate) fn clamped_mss(&self) -> usize {
        self.mss.clamp(1, MAX_MSS)
    }

    /// The ceiling, at least `2·MSS` so that the post-loss minimum fits under it.
    pub(crate) fn clamped_max_window(&self) -> usize {
        self.max_window.max(self.clamped_mss().saturating_mul(2))
    }

    /// The initial window in bytes: configured or RFC 6928, within `[MSS, max_window]`.
    pub(crate) fn initial_cwnd(&self) -> usize {
        let mss = self.clamped_mss();
        let iw = self.initial_window.unwrap_or_else(|| initial_window(mss));
        iw.clamp(mss, self.clamped_max_window())
    }
}

/// RFC 6928 §2: `IW = min(10·MSS, max(2·MSS, 14600))` bytes.
pub const fn initial_window(mss: usize) -> usize {
    let ten = mss.saturating_mul(10);
    let two = mss.saturating_mul(2);
    let floor = if two > 14_600 { two } else { 14_600 };
    if ten < floor { ten } else { floor }
}

/// The events a congestion controller reacts to and the window it grants.
///
/// Object-safe. All sizes are bytes; see the module docs for when the engine calls what.
pub trait CongestionControl {
    /// New data was acknowledged (cumulatively or by SACK) outside recovery.
    fn on_ack(
        &mut self,
        now: Instant,
        acked_bytes: usize,
        rtt_sample: Option<Duration>,
        bytes_in_flight: usize,
    );

    /// Loss detected by dup-ACKs or SACK; the engine enters fast recovery.
    fn on_congestion_event(&mut self, now: Instant, bytes_in_flight: usize);

    /// The recovery point was cumulatively acknowledged; recovery is over.
    fn on_recovery_end(&mut self, now: Instant);

    /// The retransmission timer expired.
    fn on_retransmission_timeout(&mut self, now: Instant, bytes_in_flight: usize);

    /// The last reduction (congestion event or RTO) was spurious: undo it.
    fn on_spurious_congestion(&mut self, now: Instant);

    /// The congestion window in bytes, within `[MSS, max_window]`.
    fn cwnd(&self) -> usize;

    /// The slow-start threshold in bytes.
    fn ssthresh(&self) -> usize;

    /// True while `cwnd < ssthresh` (RFC 5681 §3.1).
    fn in_slow_start(&self) -> bool {
        self.cwnd() < self.ssthresh()
    }

    /// True between a congestion event and the end of its recovery.
    fn in_recovery(&self) -> bool;

    /// The SMSS in bytes the windows are counted against.
    fn mss(&self) -> usize;

    /// Slow start ends without a loss (HyStart++, RFC 9406): ssthresh becomes cwnd.
    fn exit_slow_start(&mut self);

    /// The path MSS changed (PMTUD, or the peer's MSS option); clamped to `1..=MAX_MSS`.
    /// cwnd keeps its byte value, clamped into its bounds for the new MSS.
    fn set_mss(&mut self, mss: usize);
}

/// A congestion controller of either algorithm, stored inline in a connection.
#[derive(Clone, Debug)]
pub enum Controller {
    /// NewReno.
    NewReno(NewReno),
    /// CUBIC.
    Cubic(Cubic),
}

impl Controller {
    /// A controller for `config.algorithm`.
    pub fn new(config: &Config) -> Self {
        match config.algorithm {
            Algorithm::NewReno => Controller::NewReno(NewReno::new(config)),
            Algorithm::Cubic => Controller::Cubic(Cubic::new(config)),
        }
    }

    /// The algorithm this controller runs.
    pub fn algorithm(&self) -> Algorithm {
        match self {
            Controller::NewReno(_) => Algorithm::NewReno,
            Controller::Cubic(_) => Algorithm::Cubic,
        }
    }
}

/// Forwards one trait method to the variant.
macro_rules! dispatch {
    ($self:ident, $c:ident => $e:expr) => {
        match $self {
            Controller::NewReno($c) => $e,
            Controller::Cubic($c) => $e,
        }
    };
}

impl CongestionControl for Controller {
    #[inline]
    fn on_ack(&mut self, now: Instant, acked: usize, rtt: Option<Duration>, flight: usize) {
        dispatch!(self, c => c.on_ack(now, acked, rtt, flight))
    }
    #[inline]
    fn on_congestion_event(&mut self, now: Instant, bytes_in_flight: usize) {
        dispatch!(self, c => c.on_congestion_event(now, bytes_in_flight))
    }
    #[inline]
    fn on_recovery_end(&mut self, now: Instant) {
        dispatch!(self, c => c.on_recovery_end(now))
    }
    #[inline]
    fn on_retransmission_timeout(&mut self, now: Instant, bytes_in_flight: usize) {
        dispatch!(self, c => c.on_retransmission_timeout(now, bytes_in_flight))
    }
    #[inline]
    fn on_spurious_congestion(&mut self, now: Instant) {
        dispatch!(self, c => c.on_spurious_congestion(now))
    }
    #[inline]
    fn cwnd(&self) -> usize {
        dispatch!(self, c => c.cwnd())
    }
    #[inline]
    fn ssthresh(&self) -> usize {
        dispatch!(self, c => c.ssthresh())
    }
    #[inline]
    fn in_recovery(&self) -> bool {
        dispatch!(self, c => c.in_recovery())
    }
    #[inline]
    fn mss(&self) -> usize {
        dispatch!(self, c => c.mss())
    }
    #[inline]
    fn set_mss(&mut self, mss: usize) {
        dispatch!(self, c => c.set_mss(mss))
    }
    #[inline]
    fn exit_slow_start(&mut self) {
        dispatch!(self, c => c.exit_slow_start())
    }
}

/// The window bounds and byte-counting rules both algorithms share.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Limits {
    pub(crate) mss: usize,
    pub(crate) max_window: usize,
}

impl Limits {
    pub(crate) fn new(config: &Config) -> Self {
        Limits { mss: config.clamped_mss(), max_window: config.clamped_max_window() }
    }

    /// `v` within `[lo·MSS, max_window]`.
    pub(crate) fn clamp(&self, v: usize, lo_segments: usize) -> usize {
        v.clamp(self.mss.saturating_mul(lo_segments), self.max_window)
    }

    /// Changes the MSS, keeping `max_window >= 2·MSS`.
    pub(crate) fn set_mss(&mut self, mss: usize) {
        self.mss = mss.clamp(1, MAX_MSS);
        self.max_window = self.max_window.max(self.mss.saturating_mul(2));
    }

    /// RFC 5681 §3.1 eq. 4 (and §3.2 step 2): `max(FlightSize / 2, 2·SMSS)`.
    pub(crate) fn half_flight(&self, flight: usize) -> usize {
        self.clamp(flight / 2, 2)
    }

    /// RFC 7661 §4.3: the window was validated, i.e. at least half of it was in use.
    pub(crate) fn cwnd_limited(cwnd: usize, acked: usize, flight: usize) -> bool {
        flight.saturating_add(acked) >= cwnd / 2
    }

    /// RFC 3465 §2.2-§2.3: slow-start increase, at most L = 2·SMSS per ACK, 1·SMSS in the
    /// slow start that follows an RTO.
    pub(crate) fn slow_start_increase(&self, acked: usize, after_rto: bool) -> usize {
        let l = if after_rto { 1 } else { 2 };
        acked.min(self.mss.saturating_mul(l))
    }
}

#[cfg(test)]
mod tests;
