//! The connection's timers, in a table indexed by [`Timer`] (quinn's shape), and what each
//! does when it fires.
//!
//! - Retransmission (RFC 6298 §5; RFC 9293 §3.8.1, §3.8.3 R2 for giving up).
//! - User timeout (RFC 9293 §3.8.3 USER TIMEOUT, RFC 5482): no progress for that long ends
//!   the connection, whatever the retransmission schedule says.
//! - Persist (RFC 9293 §3.8.6.1, MUST-35..37): zero-window probes with backoff, for as long
//!   as the peer answers them.
//! - Delayed ACK (RFC 9293 §3.8.6.3, RFC 5681 §4.2).
//! - Keepalive (RFC 9293 §3.8.4).
//! - Linger: 2·MSL in TIME-WAIT (§3.10.7.4 "TIME-WAIT"), or the FIN-WAIT-2 limit.
//! - Release: drained buffers are freed `buffer_release` after they were last found in use.

use super::{CloseReason, Connection};
use crate::tcp::cc::CongestionControl;
use crate::tcp::state::State;
use crate::time::{Duration, Instant};

/// The shortest recovery timeout: on a path with next to no delay 2·SRTT would be a few
/// microseconds, shorter than an ACK takes to be generated.
const RECOVERY_TIMEOUT_FLOOR: Duration = Duration::from_millis(10);

/// RFC 8985 §7.2 WCDelAckT: the peer may delay its ACK of a lone segment this long.
const TLP_DELAYED_ACK_ALLOWANCE: Duration = Duration::from_millis(200);

/// One of a connection's timers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Timer {
    /// Retransmission timeout (SYN, data or FIN outstanding).
    Retransmit,
    /// Zero-window probe.
    Persist,
    /// Delayed acknowledgment.
    DelayedAck,
    /// Keepalive probe.
    Keepalive,
    /// TIME-WAIT's 2·MSL, or the FIN-WAIT-2 timeout.
    Linger,
    /// In SACK recovery, no ACK for two smoothed RTTs: what is still missing is lost.
    Recovery,
    /// Tail loss probe (RFC 8985 §7): outside recovery, no ACK for a probe timeout.
    TailProbe,
    /// Drained buffers are freed ([`Config::buffer_release`](crate::tcp::Config)).
    Release,
    /// Nothing outstanding acknowledged for
    /// [`Config::user_timeout`](crate::tcp::Config::user_timeout).
    UserTimeout,
}

impl Timer {
    /// The order expired timers run in: a tail loss probe due with the RTO goes first, and
    /// restarts the RTO (RFC 8985 §7.3).
    const ALL: [Timer; TIMERS] = [
        Timer::UserTimeout,
        Timer::TailProbe,
        Timer::Retransmit,
        Timer::Persist,
        Timer::DelayedAck,
        Timer::Keepalive,
        Timer::Linger,
        Timer::Recovery,
        Timer::Release,
    ];

    const fn index(self) -> usize {
        self as usize
    }
}

/// How many timers there are.
const TIMERS: usize = 9;

/// Deadlines, one per [`Timer`].
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Timers {
    at: [Option<Instant>; TIMERS],
    /// Zero-window probes sent since the window closed (their backoff exponent).
    pub(super) persist_backoff: u32,
    /// Keepalive probes sent without an answer.
    pub(super) keepalive_probes: u32,
}

impl Timers {
    pub(super) fn set(&mut self, timer: Timer, at: Instant) {
        self.at[timer.index()] = Some(at);
    }

    pub(super) fn stop(&mut self, timer: Timer) {
        self.at[timer.index()] = None;
    }

    pub(super) fn get(&self, timer: Timer) -> Option<Instant> {
        self.at[timer.index()]
    }

    pub(super) fn is_set(&self, timer: Timer) -> bool {
        self.get(timer).is_some()
    }

    pub(super) fn clear(&mut self) {
        self.at = [None; TIMERS];
    }

    fn next(&self) -> Option<Instant> {
        self.at.iter().flatten().copied().min()
    }
}

impl Connection {
    /// The earliest time [`handle_timeout`](Self::handle_timeout) must be called; `None`
    /// when no timer runs. Call again after every other call, as it may move.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    /// Runs the timers that expired by `now`. Then call
    /// [`poll_transmit`](Self::poll_transmit).
    pub fn handle_timeout(&mut self, now: Instant) {
        for timer in Timer::ALL {
            if self.timers.get(timer).is_some_and(|at| at <= now) {
                self.timers.stop(timer);
                self.on_timer(now, timer);
            }
        }
    }

    fn on_timer(&mut self, now: Instant, timer: Timer) {
        match timer {
            Timer::Retransmit => self.on_rto(now),
            Timer::Persist => self.on_persist(now),
            Timer::DelayedAck => self.rcv.ack_now |= self.rcv.ack_delayed,
            Timer::Keepalive => self.on_keepalive(now),
            Timer::Linger => self.finish(now, self.linger_reason()),
            Timer::Recovery => self.on_recovery_timeout(now),
            Timer::TailProbe => self.on_tail_probe(now),
            Timer::Release => self.on_release(now),
            Timer::UserTimeout => self.on_user_timeout(now),
        }
    }

    /// RFC 9293 §3.8.3: "if the user timeout expires, ... the connection is closed". Data (or
    /// a FIN) is still unacknowledged, or a zero-window probe unanswered: give up (the timer
    /// is stopped whenever nothing is left waiting on the peer).
    fn on_user_timeout(&mut self, now: Instant) {
        if self.snd.flight() > 0 || self.snd.unsent() > 0 {
            self.give_up(now);
        }
    }

    /// Starts the user-timeout clock, if configured and not running: something went out that
    /// the peer must answer (new data, a FIN, a retransmission, a zero-window probe).
    pub(super) fn start_user_timeout(&mut self, now: Instant) {
        if let Some(limit) = self.cfg.user_timeout
            && !self.timers.is_set(Timer::UserTimeout)
        {
            self.timers.set(Timer::UserTimeout, now + limit);
        }
    }

    /// After an acceptable ACK: `alive` (SND.UNA advanced, or the peer answered with a zero
    /// window) restarts the user-timeout clock while data is outstanding; with nothing
    /// outstanding it stops (the next send or probe starts it again).
    pub(super) fn update_user_timeout(&mut self, now: Instant, alive: bool) {
        let Some(limit) = self.cfg.user_timeout else { return };
        if self.snd.flight() == 0 {
            self.timers.stop(Timer::UserTimeout);
        } else if alive {
            self.timers.set(Timer::UserTimeout, now + limit);
        }
    }

    /// Frees the buffers that are drained. A buffer still holding data is not looked at
    /// again on a schedule: only a segment (an ACK draining the send buffer) or the user's
    /// read (draining the receive buffer) can drain it, and both arm the timer again.
    fn on_release(&mut self, _now: Instant) {
        self.snd.buf.release_if_drained();
        self.rcv.reasm.release_if_drained();
    }

    /// Arms the release timer when a buffer holds storage and no data (called after every
    /// segment): an idle connection with data still unacknowledged or unread runs no timer
    /// for its buffers.
    pub(super) fn arm_release(&mut self, now: Instant) {
        let Some(after) = self.cfg.buffer_release else {
            return;
        };
        if self.drained_storage() && self.timers.get(Timer::Release).is_none() {
            self.timers.set(Timer::Release, now + after);
        }
    }

    /// Arms the release timer after the user drained the receive buffer: one period after
    /// the last segment, the latest use the connection knows a time for (a read takes none).
    pub(super) fn arm_release_after_read(&mut self) {
        self.arm_release(self.last_heard);
    }

    /// Whether a buffer holds storage but no data: what the release timer would free.
    fn drained_storage(&self) -> bool {
        let snd = self.snd.buf.is_empty() && self.snd.buf.allocated_bytes() > 0;
        let reasm = &self.rcv.reasm;
        let rcv = reasm.readable_len() == 0
            && reasm.held_ranges().next().is_none()
            && reasm.allocated_bytes() > 0;
        snd || rcv
    }

    fn linger_reason(&self) -> CloseReason {
        if self.state == State::TimeWait { CloseReason::Closed } else { CloseReason::TimedOut }
    }

    /// RFC 6298 §5.4-§5.6 and RFC 9293 §3.8.3: retransmit, back off, or give up.
    fn on_rto(&mut self, now: Instant) {
        let limit = match self.state {
            State::SynSent | State::SynReceived => self.cfg.syn_retries,
            _ => self.cfg.data_retries,
        };
        if self.snd.retries >= limit {
            self.give_up(now);
            return;
        }
        self.snd.retries += 1;
        self.stats.rtos += 1;

        self.rtt.on_timeout();
        self.snd.rtt_probe = None;
        match self.state {
            State::SynSent | State::SynReceived => self.snd.syn_due = true,
            _ if self.snd.flight() > 0 => self.rto_recovery(now),
            _ => {}
        }
        self.arm_rto(now);
    }

    /// RFC 5681 §3.1 / RFC 6675 §5.1: after an RTO everything outstanding is resent from
    /// SND.UNA on, in slow start from one segment.
    fn rto_recovery(&mut self, now: Instant) {
        let flight = self.snd.flight() as usize;
        // Only the first timeout of a series reduces ssthresh (RFC 5681 §3.1 eq. 4 applies
        // to the first retransmission; later ones keep it).
        if self.snd.retries == 1 {
            self.cc.on_retransmission_timeout(now, flight);
        }
        self.sb.on_rto();
        self.hystart.stop();
        self.snd.rexmit = Some(self.snd.una);
        self.snd.urgent_rexmit = None;
        self.snd.dup_acks = 0;
    }

    /// RFC 8985 §6.3's conclusion without its per-segment clock: in SACK recovery no ACK has
    /// come for two smoothed RTTs (TLP's PTO, §7.2), so every segment still neither
    /// acknowledged nor SACKed was sent more than an RTT plus a reordering window ago and is
    /// lost, retransmissions included. This happens when the receiver discarded the segments
    /// above its out-of-order limit: nothing will SACK them, RFC 6675's pipe keeps counting
    /// them in flight, and only the RTO (cwnd down to one segment, backoff) would move again.
    /// Instead, resend everything unSACKed from SND.UNA up, under the window recovery already
    /// reduced; no further reduction (one per recovery).
    fn on_recovery_timeout(&mut self, now: Instant) {
        if self.sb.in_recovery() && self.snd.flight() > 0 {
            self.snd.rexmit = Some(self.snd.una);
            self.snd.rtt_probe = None;
            self.stats.recovery_timeouts += 1;
            self.arm_recovery_timeout(now);
        }
    }

    /// In SACK recovery, (re)starts the recovery timeout at two smoothed RTTs from now, and
    /// stops it outside recovery.
    pub(super) fn arm_recovery_timeout(&mut self, now: Instant) {
        match self.rtt.srtt() {
            Some(srtt) if self.sb.in_recovery() && self.sack_ok => {
                let wait = srtt.saturating_mul(2).max(RECOVERY_TIMEOUT_FLOOR);
                self.timers.set(Timer::Recovery, now + wait);
            }
            _ => self.timers.stop(Timer::Recovery),
        }
    }

    /// RFC 8985 §7.2: with SACK on, outside recovery, data in flight and no probe
    /// outstanding, arm the probe timeout PTO = 2·SRTT (plus the peer's delayed-ACK allowance
    /// when one segment is in flight), at the latest when the RTO would fire, so that the
    /// probe is tried before the timeout collapses the window. Otherwise stop it.
    pub(super) fn arm_tail_probe(&mut self, now: Instant) {
        let idle = !self.sack_ok
            || !self.cfg.tail_loss_probe
            || self.snd.flight() == 0
            || self.sb.in_recovery()
            || self.snd.rexmit.is_some()
            || self.snd.tail_probe_sent;
        let Some(srtt) = self.rtt.srtt().filter(|_| !idle) else {
            self.timers.stop(Timer::TailProbe);
            return;
        };
        let mut pto = srtt.saturating_mul(2).max(RECOVERY_TIMEOUT_FLOOR);
        if self.snd.flight() as usize <= self.snd.eff_mss {
            pto += TLP_DELAYED_ACK_ALLOWANCE;
        }
        let at = now + pto;
        let rto = self.timers.get(Timer::Retransmit).unwrap_or(at);
        self.timers.set(Timer::TailProbe, at.min(rto));
    }

    /// RFC 8985 §7.3: resend the last segment sent, so its ACK (with SACK) shows what the
    /// tail lost and fast recovery can start, instead of waiting for the RTO. One probe per
    /// tail: the next ACK of new data allows another.
    fn on_tail_probe(&mut self, now: Instant) {
        if self.snd.flight() == 0 || self.sb.in_recovery() || self.snd.rexmit.is_some() {
            return;
        }
        self.arm_rto(now);
        let len = (self.snd.flight() as usize).min(self.snd.eff_mss);
        let last = crate::tcp::sack::SeqRange::new(self.snd.nxt - len, self.snd.nxt);
        self.snd.urgent_rexmit = Some(last);
        self.snd.tail_probe_sent = true;
        self.stats.tail_probes += 1;
    }

    /// The connection is dead: tell the peer with a RST (RFC 9293 §3.8.3) and close.
    pub(super) fn give_up(&mut self, now: Instant) {
        self.rst_due = self.state.is_synchronized() || self.state == State::SynReceived;
        self.finish(now, CloseReason::TimedOut);
    }

    /// Starts the retransmission timer if it is not running (RFC 6298 §5.1).
    pub(super) fn arm_rto_if_idle(&mut self, now: Instant) {
        if !self.timers.is_set(Timer::Retransmit) {
            self.arm_rto(now);
        }
    }

    /// (Re)starts the retransmission timer at now + RTO (RFC 6298 §5.3, §5.6).
    pub(super) fn arm_rto(&mut self, now: Instant) {
        self.timers.set(Timer::Retransmit, now + self.rtt.rto());
        self.timers.stop(Timer::Persist);
    }

    /// RFC 9293 §3.8.6.1: the window is zero and data waits: probe after RTO, backing off
    /// exponentially up to the maximum RTO.
    pub(super) fn arm_persist(&mut self, now: Instant) {
        if self.timers.is_set(Timer::Persist) {
            return;
        }
        let shift = self.timers.persist_backoff.min(16);
        let backoff = self.rtt.rto().saturating_mul(1u64 << shift);
        self.timers.set(Timer::Persist, now + backoff.min(self.cfg.rtt.max_rto));
    }

    fn on_persist(&mut self, now: Instant) {
        // MUST-37: never give up while the peer answers. `retries` counts probes since the
        // last ACK from the peer (any ACK resets it in `ack`).
        if self.snd.retries >= self.cfg.data_retries {
            self.give_up(now);
            return;
        }
        if self.snd.wnd > 0 {
            // A window too small for the SWS rules: send what fits (§3.8.6.2.1 override).
            self.sws_override = true;
            return;
        }
        self.snd.retries += 1;
        self.timers.persist_backoff = self.timers.persist_backoff.saturating_add(1);
        self.probe_due = true;
        self.stats.window_probes += 1;
    }

    fn on_keepalive(&mut self, now: Instant) {
        let Some(ka) = self.cfg.keepalive else { return };
        if !matches!(self.state, State::Established | State::CloseWait) || self.snd.flight() > 0 {
            self.arm_keepalive(now);
            return;
        }
        if self.timers.keepalive_probes >= ka.probes {
            self.give_up(now);
            return;
        }
        self.timers.keepalive_probes += 1;
        self.probe_due = true;
        self.stats.keepalives += 1;
        self.timers.set(Timer::Keepalive, now + ka.interval);
    }

    /// Restarts the keepalive idle period (something arrived).
    pub(super) fn arm_keepalive(&mut self, now: Instant) {
        if let Some(ka) = self.cfg.keepalive {
            self.timers.keepalive_probes = 0;
            self.timers.set(Timer::Keepalive, now + ka.idle);
        }
    }

    /// Starts the delayed-ACK timer if it is not running.
    pub(super) fn arm_delayed_ack(&mut self, now: Instant) {
        match self.cfg.delayed_ack {
            Some(delay) if delay > Duration::ZERO => {
                if !self.timers.is_set(Timer::DelayedAck) {
                    self.timers.set(Timer::DelayedAck, now + delay);
                }
            }
            _ => self.rcv.ack_now = true,
        }
    }

    /// Enters TIME-WAIT's 2·MSL wait (or restarts it, §3.10.7.4: a retransmitted FIN).
    pub(super) fn arm_time_wait(&mut self, now: Instant) {
        self.timers.clear();
        self.timers.set(Timer::Linger, now + self.cfg.time_wait);
    }
}
