//! The retransmission timer estimator of RFC 6298.
//!
//! One [`RttEstimator`] per connection (per subflow for MPTCP) turns round-trip time samples
//! into the retransmission timeout (RTO):
//!
//! - §2.1: before any sample, RTO is the initial value (1 s).
//! - §2.2: the first sample R sets SRTT = R, RTTVAR = R/2.
//! - §2.3: later samples update RTTVAR = 3/4 RTTVAR + 1/4 |SRTT - R| (with the *old* SRTT),
//!   then SRTT = 7/8 SRTT + 1/8 R (α = 1/8, β = 1/4).
//! - §2.3/§2.4: RTO = SRTT + max(G, K·RTTVAR) with K = 4 and G the clock granularity, raised
//!   to at least `min_rto`.
//! - §2.5: RTO is capped at `max_rto` (60 s by default; the RFC allows any bound ≥ 60 s).
//! - §5.5: each expiry of the timer doubles the RTO ("back off the timer"), up to `max_rto`.
//!   §5 (after rule 5.7): a new valid sample recomputes RTO from SRTT and RTTVAR, collapsing
//!   the backoff.
//! - §5.7: if the SYN timed out, RTO is re-initialised to 3 s when data transfer begins
//!   ([`RttEstimator::on_handshake_complete`]).
//!
//! # Deviation: the minimum RTO defaults to 200 ms, not 1 s
//!
//! RFC 6298 §2.4 says RTO SHOULD be rounded up to 1 s. Linux uses 200 ms (`TCP_RTO_MIN`),
//! and so does [`RttConfig::default`]: NetReaktor runs as a proxy in datacenters and on
//! appliances where RTTs are a few milliseconds toward origins, and a 1 s floor would turn
//! each tail loss into a one-second stall. The 200 ms floor still sits at Linux's maximum
//! delayed-ACK time (`TCP_DELACK_MAX`), so spurious timeouts stay rare against Linux peers;
//! RFC 9293 §3.8.6.3 lets a receiver delay an ACK up to 500 ms, and against such a peer a
//! timeout can be spurious, which is what spurious-RTO detection (RFC 5682) is for.
//! [`RttConfig::RFC6298`] restores the RFC's 1 s floor.
//!
//! # Which samples to feed (Karn's algorithm, timestamps)
//!
//! RFC 6298 §3 (Karn): an RTT sample MUST NOT be taken from a segment that was retransmitted,
//! because its ACK cannot say which transmission it acknowledges. The engine tells the
//! estimator where each sample comes from with [`RttEstimator::on_ack`] and a
//! [`SampleOrigin`]; samples from retransmitted segments are dropped, and the backoff stays
//! in force until a sample from a segment sent once arrives (§5, Karn's second half).
//!
//! With the TCP timestamp option (RFC 7323 §4.1) the echoed TSecr identifies the
//! transmission, so retransmission ambiguity disappears: the engine may take a sample from
//! every ACK that advances SND.UNA as `now - TSecr` and pass it as
//! [`SampleOrigin::Timestamp`]. RFC 7323 Appendix G suggests scaling α and β down by the
//! number of samples per RTT in that case; this estimator does not, like Linux.
//!
//! Arithmetic is in microseconds, exact in 128-bit intermediates, and saturating: samples of
//! zero or of hours are fine and nothing overflows.
//!
//! The estimator also keeps the smallest sample seen ([`RttEstimator::min_rtt`]), for
//! congestion control (CUBIC implementations and HyStart++, RFC 9406, track it) and for the
//! MPTCP scheduler. It is the minimum over the connection's life, not a windowed minimum.

#[cfg(test)]
mod tests;

use crate::time::Duration;

/// K in RFC 6298 §2.3: the weight of RTTVAR in the RTO.
const K: u64 = 4;

/// The RTO after a SYN timed out, RFC 6298 §5.7.
pub const SYN_TIMEOUT_RTO: Duration = Duration::from_secs(3);

/// The tunables of [`RttEstimator`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RttConfig {
    /// Lower bound of the RTO (RFC 6298 §2.4 says 1 s; the default is 200 ms, see the module
    /// documentation).
    pub min_rto: Duration,
    /// Upper bound of the RTO, also the ceiling of backoff (RFC 6298 §2.5: at least 60 s).
    pub max_rto: Duration,
    /// RTO before the first sample (RFC 6298 §2.1: 1 s).
    pub initial_rto: Duration,
    /// The clock granularity G of RFC 6298 §2.3: the floor of the variance term. Set it to the
    /// tick of the timer that runs the retransmission timer.
    pub granularity: Duration,
}

impl RttConfig {
    /// The values of RFC 6298 itself: 1 s minimum, 60 s maximum, 1 s initial, 1 ms clock.
    pub const RFC6298: RttConfig = RttConfig {
        min_rto: Duration::from_secs(1),
        max_rto: Duration::from_secs(60),
        initial_rto: Duration::from_secs(1),
        granularity: Duration::from_millis(1),
    };
}

impl Default for RttConfig {
    /// 200 ms minimum (as Linux), 60 s maximum, 1 s initial, 1 ms clock granularity.
    fn default() -> Self {
        RttConfig { min_rto: Duration::from_millis(200), ..RttConfig::RFC6298 }
    }
}

/// Where an RTT sample comes from; decides whether Karn's algorithm lets it in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SampleOrigin {
    /// Timed from a segment sent exactly once and its ACK.
    FirstTransmission,
    /// Timed from a segment that was retransmitted: ambiguous, dropped (RFC 6298 §3).
    Retransmitted,
    /// `now - TSecr` from an ACK advancing SND.UNA (RFC 7323 §4.1): never ambiguous.
    Timestamp,
}

/// SRTT and RTTVAR once at least one sample arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Smoothed {
    srtt: u64,
    rttvar: u64,
}

/// The RFC 6298 estimator: SRTT, RTTVAR, RTO with backoff, and the minimum RTT.
#[derive(Debug, Clone)]
pub struct RttEstimator {
    config: RttConfig,
    smoothed: Option<Smoothed>,
    /// RTO before backoff, already clamped to the bounds.
    base_rto: Duration,
    /// How many times the timer was backed off since the last valid sample (§5.5).
    backoffs: u32,
    min_rtt: Option<Duration>,
    latest_rtt: Option<Duration>,
}

impl RttEstimator {
    /// An estimator with no samples yet: RTO is `config.initial_rto` (RFC 6298 §2.1).
    pub fn new(config: RttConfig) -> Self {
        let mut est = RttEstimator {
            config,
            smoothed: None,
            base_rto: Duration::ZERO,
            backoffs: 0,
            min_rtt: None,
            latest_rtt: None,
        };
        est.base_rto = est.clamp(config.initial_rto);
        est
    }

    /// The configuration in use.
    pub fn config(&self) -> RttConfig {
        self.config
    }

    /// Feeds a sample if Karn's algorithm allows it (RFC 6298 §3): returns whether it was
    /// taken. Samples from retransmitted segments are dropped and leave any backoff in place.
    pub fn on_ack(&mut self, rtt: Duration, origin: SampleOrigin) -> bool {
        match origin {
            SampleOrigin::Retransmitted => false,
            SampleOrigin::FirstTransmission | SampleOrigin::Timestamp => {
                self.on_sample(rtt);
                true
            }
        }
    }

    /// Feeds a valid RTT sample (one that Karn's algorithm admits; see [`Self::on_ack`]):
    /// updates SRTT and RTTVAR (RFC 6298 §2.2, §2.3), recomputes the RTO and clears the
    /// backoff.
    pub fn on_sample(&mut self, rtt: Duration) {
        let r = rtt.total_micros();
        let smoothed = match self.smoothed {
            // RFC 6298 §2.2: SRTT <- R, RTTVAR <- R/2.
            None => Smoothed { srtt: r, rttvar: r / 2 },
            Some(s) => Self::update(s, r),
        };
        self.smoothed = Some(smoothed);
        self.base_rto = self.clamp(self.rto_from(smoothed));
        self.backoffs = 0;
        self.latest_rtt = Some(rtt);
        self.min_rtt = Some(self.min_rtt.map_or(rtt, |m| m.min(rtt)));
    }

    /// RFC 6298 §2.3: RTTVAR first, with the old SRTT, then SRTT.
    fn update(s: Smoothed, r: u64) -> Smoothed {
        let diff = u128::from(s.srtt.abs_diff(r));
        // Weighted means of u64 values: each result is at most the larger input, so the
        // narrowing conversions cannot fail; saturate anyway rather than assert.
        let rttvar = (3 * u128::from(s.rttvar) + diff) / 4;
        let srtt = (7 * u128::from(s.srtt) + u128::from(r)) / 8;
        Smoothed {
            srtt: u64::try_from(srtt).unwrap_or(u64::MAX),
            rttvar: u64::try_from(rttvar).unwrap_or(u64::MAX),
        }
    }

    /// RFC 6298 §2.3: RTO = SRTT + max(G, K * RTTVAR), before the bounds.
    fn rto_from(&self, s: Smoothed) -> Duration {
        let var = s.rttvar.saturating_mul(K).max(self.config.granularity.total_micros());
        Duration::from_micros(s.srtt.saturating_add(var))
    }

    /// RFC 6298 §2.4 (floor) and §2.5 (ceiling). The ceiling wins if they cross.
    fn clamp(&self, rto: Duration) -> Duration {
        rto.max(self.config.min_rto).min(self.config.max_rto)
    }

    /// The retransmission timer expired: back off (RFC 6298 §5.5), RTO doubles up to
    /// `max_rto`. Call once per expiry, before re-arming the timer with [`Self::rto`].
    pub fn on_timeout(&mut self) {
        if self.rto() < self.config.max_rto {
            self.backoffs = self.backoffs.saturating_add(1);
        }
    }

    /// RFC 6298 §5.7: call when the three-way handshake completes. If the timer expired
    /// while waiting for the ACK of our SYN (or for the SYN/ACK), RTO is re-initialised to
    /// 3 s for the start of data transfer (kept within `max_rto`). SRTT and RTTVAR are kept;
    /// the next valid sample computes the RTO from them again.
    pub fn on_handshake_complete(&mut self, syn_timed_out: bool) {
        if syn_timed_out {
            self.base_rto = SYN_TIMEOUT_RTO.min(self.config.max_rto);
            self.backoffs = 0;
        }
    }

    /// The current RTO, backoff included: what to arm the retransmission timer with.
    pub fn rto(&self) -> Duration {
        let factor = 1u64.checked_shl(self.backoffs).unwrap_or(u64::MAX);
        self.base_rto.saturating_mul(factor).min(self.config.max_rto)
    }

    /// How many times the timer has been backed off since the last valid sample.
    pub fn backoffs(&self) -> u32 {
        self.backoffs
    }

    /// SRTT, or `None` before the first sample.
    pub fn srtt(&self) -> Option<Duration> {
        self.smoothed.map(|s| Duration::from_micros(s.srtt))
    }

    /// RTTVAR, or `None` before the first sample.
    pub fn rttvar(&self) -> Option<Duration> {
        self.smoothed.map(|s| Duration::from_micros(s.rttvar))
    }

    /// The smallest sample taken so far (for CUBIC and the MPTCP scheduler).
    pub fn min_rtt(&self) -> Option<Duration> {
        self.min_rtt
    }

    /// The most recent sample taken.
    pub fn latest_rtt(&self) -> Option<Duration> {
        self.latest_rtt
    }
}
