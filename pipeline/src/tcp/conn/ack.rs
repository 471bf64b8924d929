//! The ACK field ("fifth, check the ACK field", RFC 9293 §3.10.7.4): acceptability with
//! RFC 5961 §5, the send window update, RTT samples (RFC 6298, RFC 7323 §4), congestion control
//! (RFC 5681, RFC 9438), fast retransmit and recovery (RFC 5681 §3.2, RFC 6582 with SACK off,
//! RFC 6675 with SACK on), and the closing-state moves an ACK of our FIN makes.

use super::input::Received;
use super::{CloseReason, Connection, EV_WRITABLE, Timer};
use crate::tcp::cc::CongestionControl;
use crate::tcp::rtt::SampleOrigin;
use crate::tcp::sack::{AckOutcome, SeqRange};
use crate::tcp::state::{Event, State};
use crate::time::{Duration, Instant};
use crate::wire::tcp::{TcpFlags, TcpRepr};

impl Connection {
    /// Processes the ACK field; returns false when the segment is to be dropped.
    pub(super) fn on_ack_field(
        &mut self,
        now: Instant,
        seg: &TcpRepr<'_>,
        out: &mut Received,
    ) -> bool {
        let ack = seg.ack_number;
        if self.state == State::SynReceived {
            if !(ack > self.snd.una && ack <= self.snd.nxt) {
                // RFC 9293 §3.10.7.4: <SEQ=SEG.ACK><CTL=RST>.
                self.queue_reset_for(seg);
                return false;
            }
            self.snd.set_una(ack);
            self.sample_syn_rtt(now, seg);
            self.apply(Event::RecvAckOfSyn);
            self.established(now, seg);
            if self.snd.fin.is_some() {
                self.apply(Event::Close);
            }
        }
        // RFC 5961 §5.2: acceptable is SND.UNA - MAX.SND.WND <= SEG.ACK <= SND.NXT.
        if ack > self.snd.nxt {
            self.stats.acks_unsent += 1;
            self.challenge_ack(now, out);
            return false;
        }
        if ack - self.snd.una < 0 && self.snd.una.offset_from(ack) > self.snd.max_wnd {
            self.challenge_ack(now, out);
            return false;
        }
        self.process_ack(now, seg);
        self.after_ack_state(now)
    }

    /// FIN-WAIT-1, CLOSING and LAST-ACK move on once our FIN is acknowledged.
    fn after_ack_state(&mut self, now: Instant) -> bool {
        if !self.snd.fin_acked() {
            return true;
        }
        match self.state {
            State::FinWait1 => {
                self.apply(Event::RecvAckOfFin);
                if let Some(limit) = self.cfg.fin_wait2_timeout {
                    self.timers.set(Timer::Linger, now + limit);
                }
            }
            State::Closing => {
                self.apply(Event::RecvAckOfFin);
                self.arm_time_wait(now);
            }
            State::LastAck => {
                self.finish(now, CloseReason::Closed);
                return false;
            }
            _ => {}
        }
        true
    }

    /// The window, the acknowledged data, RTT, congestion control and loss detection.
    fn process_ack(&mut self, now: Instant, seg: &TcpRepr<'_>) {
        let ack = seg.ack_number;
        let flight_before = self.snd.flight() as usize;
        let blocks = if self.sack_ok { seg.options.sack_blocks() } else { None };
        let outcome = self.sb.on_ack(ack, blocks.as_ref(), self.snd.una, self.snd.nxt);
        let window_changed = self.update_window(seg);
        // The peer is alive: it took data, or it answers with the zero window it has.
        let alive = ack > self.snd.una || (ack == self.snd.una && self.snd.wnd == 0);
        if ack > self.snd.una {
            self.on_new_ack(now, seg, &outcome, flight_before);
        } else if ack == self.snd.una {
            self.count_dup_ack(seg, window_changed, flight_before);
        }
        if outcome.loss_detected || (!self.sack_ok && self.snd.dup_acks == DUP_THRESH) {
            self.enter_fast_recovery(now, flight_before);
        } else if ack == self.snd.una && outcome.newly_sacked > 0 {
            self.detect_lost_head_retransmission(now);
        }
        self.arm_recovery_timeout(now);
        self.arm_tail_probe(now);
        if self.snd.wnd > 0 {
            self.timers.stop(Timer::Persist);
            self.timers.persist_backoff = 0;
        }
        if self.snd.flight() == 0 {
            // Nothing outstanding: unanswered-probe counting starts over (MUST-37).
            self.snd.retries = 0;
        }
        self.update_user_timeout(now, alive);
    }

    /// RFC 9293 §3.10.7.4: update SND.WND when the segment is newer than the last update
    /// (SND.WL1 < SEG.SEQ, or equal and SND.WL2 =< SEG.ACK). Returns whether it changed.
    fn update_window(&mut self, seg: &TcpRepr<'_>) -> bool {
        let (seq, ack) = (seg.seq_number, seg.ack_number);
        let newer = self.snd.wl1 < seq || (self.snd.wl1 == seq && self.snd.wl2 <= ack);
        if ack - self.snd.una < 0 || !newer {
            return false;
        }
        // RFC 7323 §2.3: at most 2^30 bytes.
        let wnd = (u32::from(seg.window_len) << self.snd.wscale).min(1 << 30);
        let changed = wnd != self.snd.wnd;
        self.snd.wnd = wnd;
        self.snd.max_wnd = self.snd.max_wnd.max(wnd);
        self.snd.wl1 = seq;
        self.snd.wl2 = ack;
        changed
    }

    /// SND.UNA moves up: free the acknowledged data, sample RTT, grow the window.
    fn on_new_ack(
        &mut self,
        now: Instant,
        seg: &TcpRepr<'_>,
        outcome: &AckOutcome,
        flight_before: usize,
    ) {
        let ack = seg.ack_number;
        let newly = ack.offset_from(self.snd.una) as usize;
        let fin_now_acked = self.snd.fin.is_some_and(|fin| fin - self.snd.una >= 0 && ack > fin);
        let data_acked = newly - usize::from(fin_now_acked);
        self.snd.buf.ack(data_acked);
        self.snd.set_una(ack);
        self.stats.bytes_acked += data_acked as u64;
        if data_acked > 0 && self.state.can_send() {
            self.events |= EV_WRITABLE;
        }
        self.snd.retries = 0;
        self.snd.dup_acks = 0;
        self.snd.tail_probe_sent = false;
        if let Some(cur) = self.snd.rexmit {
            self.snd.rexmit = (ack < self.snd.nxt).then(|| cur.max(ack));
        }
        // A partial ACK: if the new head was retransmitted already, when is not known; count
        // from now, so a lost retransmission is found one RTT later at worst.
        self.snd.head_rxt = (ack - self.sb.high_rxt() < 0).then_some((ack, now));
        let echo = self.echo_rtt(now, seg);
        let sample = self.take_rtt_sample(now, seg, echo);
        self.hystart_on_ack(seg, echo.or(sample));
        self.feed_congestion(now, outcome, newly, sample, flight_before);
        if self.snd.una == self.snd.nxt {
            self.timers.stop(Timer::Retransmit); // RFC 6298 §5.2
        } else {
            self.arm_rto(now); // RFC 6298 §5.3
        }
    }

    /// Tells the congestion controller about an ACK of new data.
    fn feed_congestion(
        &mut self,
        now: Instant,
        outcome: &AckOutcome,
        newly: usize,
        sample: Option<Duration>,
        flight_before: usize,
    ) {
        if outcome.recovery_ended {
            self.cc.on_recovery_end(now);
        } else if self.sb.in_recovery() {
            // RFC 6582 §3.2 step 3: a partial ACK retransmits the next segment at once.
            if !self.sack_ok {
                self.snd.urgent_rexmit = Some(self.first_segment());
            }
            return;
        }
        self.cc.on_ack(now, newly, sample, flight_before);
    }

    /// RFC 9406: HyStart++ sees every ACK's RTT (the timestamp echo when timestamps are on,
    /// else the timed segment's) and may end the initial slow start.
    fn hystart_on_ack(&mut self, seg: &TcpRepr<'_>, rtt: Option<Duration>) {
        if !self.cfg.hystart {
            return;
        }
        let slow_start = self.cc.in_slow_start() && !self.sb.in_recovery();
        if self.hystart.on_ack(seg.ack_number, self.snd.nxt, rtt, slow_start) {
            self.cc.exit_slow_start();
        }
    }

    /// RFC 5681 §2 "duplicate acknowledgment", counted when SACK is off (the scoreboard
    /// counts SACK duplicates itself, RFC 6675 §2).
    fn count_dup_ack(&mut self, seg: &TcpRepr<'_>, window_changed: bool, flight: usize) {
        let pure = seg.payload.is_empty() && !seg.flags.intersects(TcpFlags::SYN | TcpFlags::FIN);
        if !self.sack_ok && pure && !window_changed && flight > 0 {
            self.snd.dup_acks = self.snd.dup_acks.saturating_add(1);
        }
    }

    /// RFC 5681 §3.2 steps 2-3 / RFC 6675 §5 step 4: halve (per the controller), retransmit
    /// the first missing segment at once, then let pipe govern sending.
    fn enter_fast_recovery(&mut self, now: Instant, flight: usize) {
        if self.sb.in_recovery() || self.snd.rexmit.is_some() {
            return;
        }
        self.stats.fast_recoveries += 1;
        self.hystart.stop();
        self.cc.on_congestion_event(now, flight);
        let first = self.sb.enter_recovery().unwrap_or_else(|| self.first_segment());
        self.snd.urgent_rexmit = Some(first);
        self.snd.rtt_probe = None; // Karn: the timed segment may be the one resent.
    }

    /// RFC 8985's rule, applied to the segment at SND.UNA in SACK recovery: once an ACK
    /// SACKs data sent more than an RTT plus a reordering window (min RTT / 4, §6.2) after the
    /// head was retransmitted, and the head is still missing, that retransmission was lost too.
    /// Resend it now instead of waiting for the RTO, which would collapse cwnd to one segment
    /// and back off. No further window reduction: one per recovery (RFC 6675 §5).
    fn detect_lost_head_retransmission(&mut self, now: Instant) {
        let (Some((head, sent)), Some(srtt)) = (self.snd.head_rxt, self.rtt.srtt()) else {
            return;
        };
        if head != self.snd.una || !self.sb.in_recovery() || self.snd.urgent_rexmit.is_some() {
            return;
        }
        let reo_wnd = Duration::from_micros(self.rtt.min_rtt().unwrap_or(srtt).total_micros() / 4);
        if now.saturating_duration_since(sent) > srtt + reo_wnd {
            self.snd.urgent_rexmit = Some(self.first_segment());
            self.stats.lost_retransmits += 1;
        }
    }

    /// The segment at SND.UNA: up to one full segment, not past SND.NXT.
    pub(super) fn first_segment(&self) -> SeqRange {
        let len = (self.snd.flight() as usize).min(self.snd.eff_mss);
        SeqRange::new(self.snd.una, self.snd.una + len)
    }

    /// The RTT the segment's timestamp echo measures (RFC 7323 §4.1), if timestamps are on.
    fn echo_rtt(&self, now: Instant, seg: &TcpRepr<'_>) -> Option<Duration> {
        let (_, tsecr) = seg.options.timestamps().filter(|_| self.ts.enabled)?;
        self.ts.age_of(now, tsecr)
    }

    /// An RTT sample from this ACK: the timed segment if it is covered (RFC 6298 §3, Karn),
    /// else the timestamp echo `echo` when no timed segment is outstanding.
    fn take_rtt_sample(
        &mut self,
        now: Instant,
        seg: &TcpRepr<'_>,
        echo: Option<Duration>,
    ) -> Option<Duration> {
        if let Some((end, sent)) = self.snd.rtt_probe {
            if seg.ack_number - end >= 0 {
                self.snd.rtt_probe = None;
                let rtt = now.saturating_duration_since(sent);
                self.rtt.on_ack(rtt, SampleOrigin::FirstTransmission);
                return Some(rtt);
            }
            return None;
        }
        let rtt = echo?;
        self.rtt.on_ack(rtt, SampleOrigin::Timestamp);
        Some(rtt)
    }

    /// The RTT of the handshake, if our SYN (or SYN,ACK) was sent only once.
    pub(super) fn sample_syn_rtt(&mut self, now: Instant, seg: &TcpRepr<'_>) {
        let echo = self.echo_rtt(now, seg);
        let _ = self.take_rtt_sample(now, seg, echo);
    }

    /// RFC 5961 §7: a challenge ACK, at most `challenge_acks_per_sec` per second.
    pub(super) fn challenge_ack(&mut self, now: Instant, out: &mut Received) {
        out.challenged = true;
        let window = Duration::from_secs(1);
        if now.saturating_duration_since(self.challenge.0) >= window {
            self.challenge = (now, 0);
        }
        if self.challenge.1 < self.cfg.challenge_acks_per_sec {
            self.challenge.1 += 1;
            self.rcv.ack_now = true;
            self.stats.challenge_acks += 1;
        } else {
            self.stats.challenge_acks_suppressed += 1;
        }
    }
}

/// RFC 5681 §3.2 DupThresh.
const DUP_THRESH: u32 = crate::tcp::sack::DUP_THRESH;
