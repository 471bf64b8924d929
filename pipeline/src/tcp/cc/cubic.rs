//! CUBIC congestion control, RFC 9438.
//!
//! cwnd and ssthresh are kept in bytes like NewReno's. The window curve is evaluated as the
//! RFC writes it, in segments and seconds with `f64`:
//!
//! - `W_cubic(t) = C·(t − K)³ + W_max` (§4.2 eq. 1), `K = ∛((W_max − cwnd_epoch) / C)`
//!   (§4.2 eq. 2), which is `∛(W_max·(1 − β)/C)` right after a congestion event;
//! - `target = clamp(W_cubic(t + RTT), cwnd, 1.5·cwnd)` (§4.2), and per ACK
//!   `cwnd += (target − cwnd)/cwnd` per acknowledged segment (§4.4, §4.5);
//! - `W_est += α_cubic · segments_acked / cwnd`, `α_cubic = 3(1 − β)/(1 + β)`, switched to 1
//!   once `W_est ≥ cwnd_prior`; while `W_cubic(t) < W_est`, cwnd follows W_est (§4.3).
//!
//! `RTT` in `t + RTT` is the minimum RTT sample seen, which keeps the target insensitive to
//! queueing delay. `t` counts from the first ACK of the current congestion-avoidance stage.
//!
//! Determinism: only IEEE-754 `+ − × ÷` are used (correctly rounded on every target), the cube
//! root is a Newton iteration on those ([`cbrt`]), never the platform's libm, so equal inputs
//! give bit-equal windows everywhere. Byte increments below one byte are carried, not lost.
//!
//! Slow start is RFC 5681's with RFC 3465 byte counting (§4.10); HyStart++ (RFC 9406) is
//! omitted. Application-limited periods do not grow the window (§5.8), but `t` is not shifted
//! past them.

use super::{Config, CongestionControl, Limits};
use crate::time::{Duration, Instant};

/// RFC 9438 §5: C = 0.4 (segments / s³).
pub const C: f64 = 0.4;
/// RFC 9438 §4.6: β_cubic = 0.7.
pub const BETA: f64 = 0.7;
/// RFC 9438 §4.3: α_cubic = 3(1 − β)/(1 + β) = 0.9/1.7.
pub const ALPHA: f64 = 3.0 * (1.0 - BETA) / (1.0 + BETA);

/// The curve parameters of the current epoch (all in segments and seconds).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Curve {
    /// W_max: the window before the last reduction; 0 until the first congestion event.
    w_max: f64,
    /// K: seconds from the epoch start until W_cubic reaches W_max (negative above W_max).
    k: f64,
    /// Start of the current congestion-avoidance stage; `None` until its first ACK.
    epoch_start: Option<Instant>,
    /// The Reno-friendly estimate W_est.
    w_est: f64,
    /// cwnd when ssthresh was last set (§4.3's cwnd_prior).
    cwnd_prior: f64,
    /// §4.8: at the next epoch start set W_max to cwnd (K = 0): after an RTO, or before any
    /// congestion event.
    reset_w_max: bool,
}

/// What a reduction overwrote, kept for the §4.9 undo.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Saved {
    cwnd: usize,
    ssthresh: usize,
    curve: Curve,
}

/// RFC 9438 CUBIC. See the module docs.
#[derive(Clone, Debug)]
pub struct Cubic {
    limits: Limits,
    cwnd: usize,
    ssthresh: usize,
    curve: Curve,
    fast_convergence: bool,
    min_rtt: Option<Duration>,
    /// Fractional bytes of cwnd growth not yet applied, in `[0, 1)`.
    carry: f64,
    in_recovery: bool,
    rto_pending: bool,
    after_rto: bool,
    saved: Option<Saved>,
}

impl Cubic {
    /// A controller in initial slow start.
    pub fn new(config: &Config) -> Self {
        let limits = Limits::new(config);
        Cubic {
            limits,
            cwnd: config.initial_cwnd(),
            ssthresh: limits.max_window,
            curve: Curve {
                w_max: 0.0,
                k: 0.0,
                epoch_start: None,
                w_est: 0.0,
                cwnd_prior: 0.0,
                reset_w_max: true,
            },
            fast_convergence: config.fast_convergence,
            min_rtt: None,
            carry: 0.0,
            in_recovery: false,
            rto_pending: false,
            after_rto: false,
            saved: None,
        }
    }

    /// W_max in segments (0 before the first congestion event).
    pub fn w_max(&self) -> f64 {
        self.curve.w_max
    }

    /// K in seconds for the current epoch (0 before the first congestion-avoidance ACK).
    pub fn k(&self) -> f64 {
        self.curve.k
    }

    /// The Reno-friendly estimate W_est in segments.
    pub fn w_est(&self) -> f64 {
        self.curve.w_est
    }

    /// The smallest RTT sample seen.
    pub fn min_rtt(&self) -> Option<Duration> {
        self.min_rtt
    }

    fn segments(&self, bytes: usize) -> f64 {
        bytes as f64 / self.limits.mss as f64
    }

    fn bytes(&self, segments: f64) -> usize {
        // `as` saturates and maps NaN to 0; the caller clamps into the window bounds.
        (segments * self.limits.mss as f64) as usize
    }

    /// §4.2, §4.8: a congestion-avoidance stage begins.
    fn start_epoch(&mut self, now: Instant) {
        let cwnd_epoch = self.segments(self.cwnd);
        let curve = &mut self.curve;
        if curve.reset_w_max {
            curve.w_max = cwnd_epoch;
            curve.reset_w_max = false;
        }
        curve.epoch_start = Some(now);
        curve.k = k(curve.w_max, cwnd_epoch);
        curve.w_est = cwnd_epoch;
        self.carry = 0.0;
    }

    fn congestion_avoidance(&mut self, now: Instant, acked: usize) {
        let start = match self.curve.epoch_start {
            Some(start) => start,
            None => {
                self.start_epoch(now);
                now
            }
        };
        let cwnd = self.segments(self.cwnd);
        let t = (now - start).as_secs_f64();
        // §4.3: Reno-friendly estimate, α_cubic until W_est reaches cwnd_prior, then 1.
        let alpha = if self.curve.w_est >= self.curve.cwnd_prior { 1.0 } else { ALPHA };
        self.curve.w_est += alpha * self.segments(acked) / cwnd;
        if w_cubic(t, self.curve.k, self.curve.w_max) < self.curve.w_est {
            // §4.3: Reno-friendly region; cwnd follows W_est (never shrinks here).
            self.cwnd = self.cwnd.max(self.bytes(self.curve.w_est));
            self.carry = 0.0;
            return;
        }
        // §4.2: target = W_cubic(t + RTT) within [cwnd, 1.5·cwnd]; §4.4-§4.5 increment.
        let rtt = self.min_rtt.unwrap_or(Duration::ZERO).as_secs_f64();
        let target = w_cubic(t + rtt, self.curve.k, self.curve.w_max).clamp(cwnd, 1.5 * cwnd);
        self.carry += (target - cwnd) / cwnd * acked as f64;
        let whole = self.carry.floor();
        self.carry -= whole;
        self.cwnd = self.cwnd.saturating_add(whole as usize);
    }

    fn save(&mut self) {
        self.saved = Some(Saved { cwnd: self.cwnd, ssthresh: self.ssthresh, curve: self.curve });
    }

    /// §4.6: ssthresh = flight_size · β_cubic, at least 2·SMSS. Integer arithmetic.
    fn beta_flight(&self, flight: usize) -> usize {
        let reduced = (flight as u128).saturating_mul(7) / 10;
        self.limits.clamp(usize::try_from(reduced).unwrap_or(usize::MAX), 2)
    }
}

/// RFC 9438 §4.2 eq. 2: `K = ∛((W_max − cwnd_epoch) / C)`, signed.
pub fn k(w_max: f64, cwnd_epoch: f64) -> f64 {
    cbrt((w_max - cwnd_epoch) / C)
}

/// RFC 9438 §4.2 eq. 1: `W_cubic(t) = C·(t − K)³ + W_max` in segments, `t` in seconds.
pub fn w_cubic(t: f64, k: f64, w_max: f64) -> f64 {
    let d = t - k;
    C * d * d * d + w_max
}

/// Real cube root by Newton's method using only correctly rounded IEEE operations, so the
/// result is the same on every platform. Odd: `cbrt(−x) = −cbrt(x)`.
pub fn cbrt(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    if x < 0.0 {
        return -cbrt(-x);
    }
    // Initial guess from the exponent: bits/3 + (2·1023/3)·2^52 divides the exponent by
    // three. One Newton step from any positive guess lands at or above the root (AM-GM),
    // after which the iterates decrease monotonically; stop when they no longer do.
    let guess = f64::from_bits(x.to_bits() / 3 + (682u64 << 52));
    let mut y = newton_step(guess, x);
    for _ in 0..100 {
        let next = newton_step(y, x);
        if next >= y {
            break;
        }
        y = next;
    }
    y
}

/// One Newton step for `y³ = x`.
fn newton_step(y: f64, x: f64) -> f64 {
    (2.0 * y + x / (y * y)) / 3.0
}

impl CongestionControl for Cubic {
    fn on_ack(&mut self, now: Instant, acked: usize, rtt: Option<Duration>, flight: usize) {
        if let Some(sample) = rtt.filter(|r| *r > Duration::ZERO) {
            self.min_rtt = Some(self.min_rtt.map_or(sample, |m| m.min(sample)));
        }
        self.rto_pending = false;
        if self.in_recovery || !Limits::cwnd_limited(self.cwnd, acked, flight) {
            return;
        }
        if self.cwnd < self.ssthresh {
            // §4.10 / RFC 5681 §3.1 with RFC 3465 byte counting.
            let inc = self.limits.slow_start_increase(acked, self.after_rto);
            self.cwnd = self.cwnd.saturating_add(inc);
        } else {
            self.after_rto = false;
            self.congestion_avoidance(now, acked);
        }
        self.cwnd = self.limits.clamp(self.cwnd, 1);
    }

    fn on_congestion_event(&mut self, _now: Instant, flight: usize) {
        // One reduction per recovery episode (RFC 6675 §5).
        if self.in_recovery {
            return;
        }
        self.save();
        let cwnd = self.segments(self.cwnd);
        // §4.7 fast convergence: release bandwidth when W_max shrinks.
        self.curve.w_max = if self.fast_convergence && cwnd < self.curve.w_max {
            cwnd * (1.0 + BETA) / 2.0
        } else {
            cwnd
        };
        self.curve.reset_w_max = false;
        self.curve.cwnd_prior = cwnd;
        self.curve.epoch_start = None;
        // §4.6: ssthresh = flight_size·β_cubic; cwnd = max(ssthresh, 2·SMSS).
        self.ssthresh = self.beta_flight(flight);
        self.cwnd = self.ssthresh;
        self.in_recovery = true;
    }

    fn on_recovery_end(&mut self, _now: Instant) {
        self.in_recovery = false;
    }

    fn on_retransmission_timeout(&mut self, _now: Instant, flight: usize) {
        // §4.8: ssthresh as in §4.6 (held on a repeated RTO, RFC 5681 §3.1); cwnd as Reno.
        if !self.rto_pending {
            self.save();
            self.curve.cwnd_prior = self.segments(self.cwnd);
            self.ssthresh = self.beta_flight(flight);
        }
        self.cwnd = self.limits.mss;
        // §4.8: the next stage starts with K = 0 and W_max = cwnd at its start.
        self.curve.reset_w_max = true;
        self.curve.epoch_start = None;
        self.in_recovery = false;
        self.rto_pending = true;
        self.after_rto = true;
    }

    fn on_spurious_congestion(&mut self, _now: Instant) {
        // §4.9: restore cwnd (never below its current value), ssthresh and the curve.
        if let Some(saved) = self.saved.take() {
            self.cwnd = self.limits.clamp(saved.cwnd.max(self.cwnd), 1);
            self.ssthresh = saved.ssthresh;
            self.curve = saved.curve;
            self.in_recovery = false;
            self.rto_pending = false;
            self.after_rto = false;
        }
    }

    fn exit_slow_start(&mut self) {
        // RFC 9406 §4.2: ssthresh = cwnd; the first congestion-avoidance epoch then starts at
        // cwnd.
        self.ssthresh = self.cwnd;
    }

    fn cwnd(&self) -> usize {
        self.cwnd
    }

    fn ssthresh(&self) -> usize {
        self.ssthresh
    }

    fn in_recovery(&self) -> bool {
        self.in_recovery
    }

    fn mss(&self) -> usize {
        self.limits.mss
    }

    fn set_mss(&mut self, mss: usize) {
        // The curve is in segments: keep its byte values by rescaling to the new MSS, and
        // start a new epoch (K recomputed) at the next congestion-avoidance ACK.
        let old = self.limits.mss as f64;
        self.limits.set_mss(mss);
        let factor = old / self.limits.mss as f64;
        self.curve.w_max *= factor;
        self.curve.w_est *= factor;
        self.curve.cwnd_prior *= factor;
        self.curve.epoch_start = None;
        self.cwnd = self.limits.clamp(self.cwnd, 1);
    }
}
