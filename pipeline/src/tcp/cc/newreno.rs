//! NewReno: RFC 5681 slow start and congestion avoidance with RFC 3465 byte counting, and the
//! window side of RFC 6582 / RFC 6675 fast recovery.
//!
//! Windows are in bytes. The recovery contract (who inflates, who retransmits) is described
//! in the parent module.

use super::{Config, CongestionControl, Limits};
use crate::time::{Duration, Instant};

/// What a reduction overwrote, kept for [`CongestionControl::on_spurious_congestion`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Saved {
    cwnd: usize,
    ssthresh: usize,
}

/// RFC 5681 / RFC 6582 congestion control. See the module docs.
#[derive(Clone, Debug)]
pub struct NewReno {
    limits: Limits,
    cwnd: usize,
    ssthresh: usize,
    /// RFC 3465 §2.1: bytes acknowledged since cwnd last grew in congestion avoidance.
    bytes_acked: usize,
    in_recovery: bool,
    /// An RTO fired and no ACK of new data has arrived since.
    rto_pending: bool,
    /// Slow start after an RTO, where RFC 3465 §2.3 wants L = 1·SMSS.
    after_rto: bool,
    saved: Option<Saved>,
}

impl NewReno {
    /// A controller in initial slow start: cwnd = initial window, ssthresh = max window
    /// (RFC 5681 §3.1: "arbitrarily high").
    pub fn new(config: &Config) -> Self {
        let limits = Limits::new(config);
        NewReno {
            limits,
            cwnd: config.initial_cwnd(),
            ssthresh: limits.max_window,
            bytes_acked: 0,
            in_recovery: false,
            rto_pending: false,
            after_rto: false,
            saved: None,
        }
    }

    fn grow(&mut self, acked: usize) {
        if self.cwnd < self.ssthresh {
            // RFC 5681 §3.1 eq. 2 with RFC 3465 §2.2 L = 2·SMSS.
            let inc = self.limits.slow_start_increase(acked, self.after_rto);
            self.cwnd = self.cwnd.saturating_add(inc);
            return;
        }
        self.after_rto = false;
        // RFC 3465 §2.1 / RFC 5681 §3.1: +1 SMSS once a whole cwnd of bytes was acknowledged.
        self.bytes_acked = self.bytes_acked.saturating_add(acked);
        if self.bytes_acked >= self.cwnd {
            self.bytes_acked -= self.cwnd;
            self.cwnd = self.cwnd.saturating_add(self.limits.mss);
        }
    }

    fn save(&mut self) {
        self.saved = Some(Saved { cwnd: self.cwnd, ssthresh: self.ssthresh });
    }
}

impl CongestionControl for NewReno {
    fn on_ack(&mut self, _now: Instant, acked: usize, _rtt: Option<Duration>, flight: usize) {
        self.rto_pending = false;
        if self.in_recovery || !Limits::cwnd_limited(self.cwnd, acked, flight) {
            return;
        }
        self.grow(acked);
        self.cwnd = self.limits.clamp(self.cwnd, 1);
    }

    fn on_congestion_event(&mut self, _now: Instant, flight: usize) {
        // RFC 6582 §3.2 step 2 / RFC 6675 §5: one reduction per recovery episode.
        if self.in_recovery {
            return;
        }
        self.save();
        // RFC 5681 §3.2 step 2; RFC 6675 §5 step 4.2: cwnd = ssthresh (no inflation here).
        self.ssthresh = self.limits.half_flight(flight);
        self.cwnd = self.ssthresh;
        self.bytes_acked = 0;
        self.in_recovery = true;
    }

    fn on_recovery_end(&mut self, _now: Instant) {
        // RFC 6582 §3.2 step 4, first option: cwnd = ssthresh ("deflating" the window).
        if self.in_recovery {
            self.cwnd = self.limits.clamp(self.ssthresh, 1);
            self.in_recovery = false;
        }
    }

    fn on_retransmission_timeout(&mut self, _now: Instant, flight: usize) {
        // RFC 5681 §3.1: ssthresh is held when the retransmitted segment times out again.
        if !self.rto_pending {
            self.save();
            self.ssthresh = self.limits.half_flight(flight);
        }
        // RFC 5681 §3.1: cwnd = loss window = 1 SMSS.
        self.cwnd = self.limits.mss;
        self.bytes_acked = 0;
        self.in_recovery = false;
        self.rto_pending = true;
        self.after_rto = true;
    }

    fn on_spurious_congestion(&mut self, _now: Instant) {
        if let Some(saved) = self.saved.take() {
            self.cwnd = self.limits.clamp(saved.cwnd.max(self.cwnd), 1);
            self.ssthresh = saved.ssthresh;
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
        self.limits.set_mss(mss);
        self.cwnd = self.limits.clamp(self.cwnd, 1);
    }
}
