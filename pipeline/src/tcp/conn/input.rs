//! Segment arrival (RFC 9293 §3.10.7.3 SYN-SENT, §3.10.7.4 other states), with PAWS
//! (RFC 7323 §5) and the blind-attack rules of RFC 5961 (§3 RST, §4 SYN, §5 ACK).
//!
//! Every field of a peer's segment is checked before it is used; no segment can panic the
//! engine, loop it, or make it allocate past its configured buffers.

use super::options::PeerSyn;
use super::{CloseReason, Connection, EV_CONNECTED, EV_PEER_FIN, EV_READABLE};
use crate::tcp::state::{Event, State};
use crate::time::Instant;
use crate::wire::tcp::{TcpFlags, TcpRepr, TcpSeqNumber};

/// What happened to one incoming segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Received {
    /// The segment passed the sequence (and PAWS) tests and was processed.
    pub accepted: bool,
    /// Offset, in the subflow byte stream (bytes after the peer's SYN), of the segment's first
    /// data byte, and its length. Set whenever an accepted segment carried data, even data
    /// already received; an MPTCP layer maps DSS mappings with it (RFC 8684 §3.3.1).
    pub data: Option<(u64, usize)>,
    /// The segment was answered with a challenge ACK (RFC 5961) or dropped as blind.
    pub challenged: bool,
}

impl Connection {
    /// Processes one segment of this connection's 4-tuple, whose checksum the caller has
    /// verified. Then call [`poll_transmit`](Self::poll_transmit) and
    /// [`poll_event`](Self::poll_event).
    pub fn handle_segment(&mut self, now: Instant, seg: &TcpRepr<'_>) -> Received {
        let received = match self.state {
            State::Closed | State::Listen => Received::default(),
            State::SynSent => self.on_syn_sent(now, seg),
            _ => self.on_segment(now, seg),
        };
        if self.state != State::Closed {
            self.arm_release(now);
        }
        received
    }

    /// RFC 9293 §3.10.7.3.
    fn on_syn_sent(&mut self, now: Instant, seg: &TcpRepr<'_>) -> Received {
        let flags = seg.flags;
        let ack_ok = flags.contains(TcpFlags::ACK);
        // "first, check the ACK bit": it must acknowledge our SYN and nothing beyond.
        if ack_ok && !(seg.ack_number > self.snd.iss && seg.ack_number <= self.snd.nxt) {
            if !flags.contains(TcpFlags::RST) {
                self.queue_reset_for(seg);
            }
            return Received::default();
        }
        // "second, check the RST bit": only with an acceptable ACK (RFC 5961 §3 keeps this).
        if flags.contains(TcpFlags::RST) {
            if ack_ok {
                self.finish(now, CloseReason::Refused);
                return Received { accepted: true, ..Received::default() };
            }
            return Received::default();
        }
        if !flags.contains(TcpFlags::SYN) {
            return Received::default();
        }
        // "fourth, check the SYN bit".
        self.rcv.on_syn(seg.seq_number);
        self.negotiate(now, PeerSyn::from_segment(seg));
        self.last_heard = now;
        if ack_ok {
            self.on_syn_ack(now, seg);
        } else {
            // Simultaneous open: SYN-RECEIVED, our SYN goes out again with an ACK.
            self.apply(Event::RecvSyn);
            self.snd.syn_due = true;
        }
        self.stats.segments_in += 1;
        Received { accepted: true, ..Received::default() }
    }

    /// Our SYN is acknowledged by the peer's SYN,ACK: ESTABLISHED.
    fn on_syn_ack(&mut self, now: Instant, seg: &TcpRepr<'_>) {
        self.snd.set_una(seg.ack_number);
        self.sample_syn_rtt(now, seg);
        self.apply(Event::RecvSynAck);
        self.established(now, seg);
        self.rcv.ack_now = true;
    }

    /// Common to both ways of reaching ESTABLISHED: the send window from the segment that
    /// completed the handshake (never scaled on a SYN, RFC 7323 §2.2), timers, the event.
    pub(super) fn established(&mut self, now: Instant, seg: &TcpRepr<'_>) {
        let shift = if seg.flags.contains(TcpFlags::SYN) { 0 } else { self.snd.wscale };
        self.snd.wnd = u32::from(seg.window_len) << shift;
        self.snd.max_wnd = self.snd.wnd;
        self.snd.wl1 = seg.seq_number;
        self.snd.wl2 = seg.ack_number;
        self.snd.retries = 0;
        self.snd.syn_due = false;
        self.rtt.on_handshake_complete(self.stats.rtos > 0);
        self.sb = crate::tcp::sack::Scoreboard::new(self.snd.una, self.sb.smss());
        self.timers.stop(super::Timer::Retransmit);
        self.arm_keepalive(now);
        self.events |= EV_CONNECTED;
    }

    /// RFC 9293 §3.10.7.4, for every state from SYN-RECEIVED to TIME-WAIT.
    pub(super) fn on_segment(&mut self, now: Instant, seg: &TcpRepr<'_>) -> Received {
        let mut out = Received::default();
        if !self.check_sequence(now, seg) {
            return out;
        }
        if seg.flags.contains(TcpFlags::RST) {
            self.on_rst(now, seg, &mut out);
            return out;
        }
        if seg.flags.contains(TcpFlags::SYN) && !self.is_crossed_syn_ack(seg) {
            self.on_syn_in_window(now, seg, &mut out);
            return out;
        }
        if !seg.flags.contains(TcpFlags::ACK) {
            return out; // "fifth": no ACK, drop.
        }
        if !self.on_ack_field(now, seg, &mut out) {
            return out;
        }
        out.accepted = true;
        self.stats.segments_in += 1;
        self.last_heard = now;
        self.arm_keepalive(now);
        self.rearm_fin_wait2_limit(now);
        if let Some((tsval, _)) = seg.options.timestamps().filter(|_| self.ts.enabled) {
            self.ts.update_recent(now, seg.seq_number, tsval);
        }
        // "sixth, check the URG bit": urgent data is delivered inline (RFC 6093 §5).
        self.on_text(now, seg, &mut out);
        self.on_fin(now, seg);
        out
    }

    /// The FIN-WAIT-2 limit counts idle time: a peer still sending its half of a half-closed
    /// connection keeps it open.
    fn rearm_fin_wait2_limit(&mut self, now: Instant) {
        if let (State::FinWait2, Some(limit)) = (self.state, self.cfg.fin_wait2_timeout) {
            self.timers.set(super::Timer::Linger, now + limit);
        }
    }

    /// "first, check sequence number": PAWS, then the acceptability table. An unacceptable
    /// segment is answered with an ACK unless it is a RST, and dropped.
    fn check_sequence(&mut self, now: Instant, seg: &TcpRepr<'_>) -> bool {
        let rst = seg.flags.contains(TcpFlags::RST);
        let tsval = seg.options.timestamps().filter(|_| self.ts.enabled && !rst);
        if tsval.is_some_and(|(tsval, _)| self.ts.paws_rejects(now, tsval)) {
            self.stats.dropped_paws += 1;
            self.rcv.ack_now = true;
            return false;
        }
        if self.acceptable(seg) || self.is_crossed_syn_ack(seg) {
            return true;
        }
        self.stats.dropped_unacceptable += 1;
        if !rst {
            self.rcv.ack_now = true;
            // A retransmitted SYN in SYN-RECEIVED: our SYN,ACK was lost; send it again.
            if self.state == State::SynReceived {
                self.snd.syn_due = true;
            }
            // RFC 9293 §3.10.7.4 TIME-WAIT: a retransmitted FIN (below RCV.NXT, so it fails
            // the sequence test) is acknowledged and restarts the 2·MSL timeout.
            if self.state == State::TimeWait && seg.flags.contains(TcpFlags::FIN) {
                self.arm_time_wait(now);
            }
        }
        false
    }

    /// RFC 9293 Figure 8 line 5 (simultaneous open): in SYN-RECEIVED after an active open,
    /// the peer's SYN,ACK repeats its SYN (SEG.SEQ = IRS, just below RCV.NXT) and acknowledges
    /// ours. It completes the handshake; answering it as an old segment would have both ends
    /// resend SYN,ACKs to each other for ever.
    fn is_crossed_syn_ack(&self, seg: &TcpRepr<'_>) -> bool {
        self.state == State::SynReceived
            && self.active_open
            && seg.flags.contains(TcpFlags::SYN | TcpFlags::ACK)
            && !seg.flags.contains(TcpFlags::RST)
            && Some(seg.seq_number) == self.rcv.irs
            && seg.ack_number == self.snd.nxt
    }

    /// The acceptability table of RFC 9293 §3.10.7.4, with RCV.WND the window we last
    /// advertised. A segment that fails only because the window is zero is still accepted at
    /// RCV.NXT so its ACK, RST and control bits are processed (MUST-66); its data is trimmed
    /// away later.
    fn acceptable(&self, seg: &TcpRepr<'_>) -> bool {
        let (nxt, wnd) = (self.rcv.nxt, self.rcv.wnd());
        let seq = seg.seq_number;
        let len = seg.segment_len();
        let in_window = |s: TcpSeqNumber| s - nxt >= 0 && (s.offset_from(nxt)) < wnd;
        match (len, wnd) {
            (0, 0) => seq == nxt,
            (0, _) => in_window(seq),
            (_, 0) => seq == nxt,
            (_, _) => in_window(seq) || in_window(seq + (len - 1)),
        }
    }

    /// "second, check the RST bit", with RFC 5961 §3.2: only an exact match resets; any
    /// other RST in the window gets a challenge ACK.
    fn on_rst(&mut self, now: Instant, seg: &TcpRepr<'_>, out: &mut Received) {
        if seg.seq_number != self.rcv.nxt {
            self.challenge_ack(now, out);
            return;
        }
        out.accepted = true;
        let reason = match self.state {
            // RFC 9293: a RST in SYN-RECEIVED after an active open means refused.
            State::SynReceived if self.active_open => CloseReason::Refused,
            _ => CloseReason::Reset,
        };
        // §3.10.7.4: queued data and retransmissions are flushed; nothing is sent.
        self.rst_due = false;
        self.finish(now, reason);
    }

    /// "fourth, check the SYN bit" (RFC 5961 §4): a SYN in a synchronized state, in window or
    /// not, gets a challenge ACK. In SYN-RECEIVED it is the peer retransmitting its SYN: the
    /// sequence test already made it resend our SYN,ACK.
    fn on_syn_in_window(&mut self, now: Instant, seg: &TcpRepr<'_>, out: &mut Received) {
        if self.state == State::SynReceived && Some(seg.seq_number) == self.rcv.irs {
            self.snd.syn_due = true;
            return;
        }
        self.challenge_ack(now, out);
    }

    /// "seventh, process the segment text": only in ESTABLISHED, FIN-WAIT-1 and FIN-WAIT-2.
    fn on_text(&mut self, now: Instant, seg: &TcpRepr<'_>, out: &mut Received) {
        if seg.payload.is_empty() || !self.state.can_receive() || self.rcv.fin_received {
            return;
        }
        if self.rcv.irs.is_none() {
            return;
        }
        // Offset of the first byte from RCV.NXT: negative if part of it was received before.
        let ahead = seg.seq_number - self.rcv.nxt;
        // 64-bit: a 32-bit offset from the IRS wraps after 4 GiB (RFC 8684 §3.3.1 mappings
        // of a long-lived subflow are matched against it).
        let stream_at = self.rcv.reasm.rcv_nxt().wrapping_add(i64::from(ahead) as u64);
        out.data = Some((stream_at, seg.payload.len()));
        let skip = usize::try_from(-i64::from(ahead.min(0))).unwrap_or(usize::MAX);
        let Some(fresh) = seg.payload.get(skip..).filter(|d| !d.is_empty()) else {
            // Entirely old: RFC 5681 §4.2, an ACK at once lets the peer see where we are.
            self.rcv.ack_now = true;
            return;
        };
        let offset = usize::try_from(ahead.max(0)).unwrap_or(usize::MAX);
        // RFC 9293 §3.10.7.4: data past the advertised right edge is trimmed; the buffer may
        // have more room than was offered (autotuning, `tune.rs`).
        let allowed = (self.rcv.wnd() as usize).saturating_sub(offset);
        let fresh = &fresh[..fresh.len().min(allowed)];
        if fresh.is_empty() {
            self.rcv.ack_now = true;
            return;
        }
        let had_holes = self.rcv.reasm.holes() > 0;
        let got = self.rcv.reasm.insert(offset, fresh);
        self.rcv.nxt += got.newly_contiguous;
        self.stats.bytes_in += got.newly_contiguous as u64;
        if got.newly_contiguous > 0 {
            self.events |= EV_READABLE;
            self.tune_receive(now);
        }
        self.schedule_data_ack(now, offset > 0 || had_holes, got.newly_contiguous);
    }

    /// RFC 9293 §3.8.6.3 and RFC 5681 §4.2: ACK at once out-of-order data and data filling a
    /// hole; otherwise at least every second full-sized segment, or when the delayed-ACK
    /// timer fires.
    fn schedule_data_ack(&mut self, now: Instant, out_of_order: bool, in_order: usize) {
        if out_of_order {
            self.rcv.ack_now = true;
            return;
        }
        self.rcv.unacked_bytes += in_order;
        let full = usize::from(self.cfg.mss).saturating_sub(super::options::TS_SPACE).max(1);
        if self.rcv.unacked_bytes >= 2 * full {
            self.rcv.ack_now = true;
        } else {
            self.rcv.ack_delayed = true;
            self.arm_delayed_ack(now);
        }
    }

    /// "eighth, check the FIN bit", including a FIN that arrived ahead of missing data and is
    /// accepted once RCV.NXT reaches it.
    fn on_fin(&mut self, now: Instant, seg: &TcpRepr<'_>) {
        if seg.flags.contains(TcpFlags::FIN) {
            let fin_seq = seg.seq_number + seg.payload.len();
            match self.state {
                State::Established | State::FinWait1 | State::FinWait2
                    if !self.rcv.fin_received && fin_seq - self.rcv.nxt >= 0 =>
                {
                    self.rcv.fin_at = Some(fin_seq);
                    // Ahead of a hole it is out of order: a duplicate ACK at once (RFC 5681
                    // §4.2); in order, `accept_fin` acknowledges it at once anyway.
                    self.rcv.ack_now = true;
                }
                // A retransmitted FIN: acknowledge it again; in TIME-WAIT restart 2·MSL.
                State::CloseWait | State::Closing | State::LastAck => self.rcv.ack_now = true,
                State::TimeWait => {
                    self.rcv.ack_now = true;
                    self.arm_time_wait(now);
                }
                _ => {}
            }
        }
        if self.rcv.fin_at.is_some_and(|at| at == self.rcv.nxt) {
            self.accept_fin(now);
        }
    }

    fn accept_fin(&mut self, now: Instant) {
        self.rcv.fin_at = None;
        self.rcv.fin_received = true;
        self.rcv.nxt += 1usize;
        self.rcv.ack_now = true;
        self.events |= EV_PEER_FIN;
        match self.state {
            State::FinWait1 if self.snd.fin_acked() => self.apply(Event::RecvFinAckOfFin),
            State::FinWait2 => self.apply(Event::RecvFin),
            _ => self.apply(Event::RecvFin),
        }
        if self.state == State::TimeWait {
            self.arm_time_wait(now);
        }
    }
}
