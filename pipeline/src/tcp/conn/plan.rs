//! Which segment goes next in a synchronized state, before its bytes are written: an
//! immediate retransmission, the go-back after an RTO or a stalled recovery, RFC 6675 NextSeg
//! under pipe, new data under cwnd and the send window with the sender's SWS avoidance
//! (RFC 9293 §3.8.6.2.1), a probe, or a pure ACK; and the persist timer when nothing can go.

use super::{Connection, Timer};
use crate::tcp::cc::CongestionControl;
use crate::tcp::hooks::SegmentHook;
use crate::tcp::sack::{NextSegment, SeqRange};
use crate::time::Instant;
use crate::wire::tcp::HEADER_LEN;
use crate::wire::tcp_option::MAX_OPTIONS_LEN;

/// What the next segment is, before its bytes are written.
#[derive(Debug, Clone, Copy)]
pub(super) enum Plan {
    /// Sequence numbers `range` (data, plus the FIN if the range covers it).
    Range { range: SeqRange, rexmit: bool, sack: Option<NextSegment> },
    /// A zero-window or keepalive probe: SEG.SEQ = SND.UNA - 1, no data.
    Probe,
    /// A pure ACK (possibly a window update or a challenge ACK).
    Ack,
}

impl Connection {
    /// Decides the next segment in a synchronized state.
    pub(super) fn plan(&self, buf_len: usize) -> Option<Plan> {
        if self.rcv.ack_alone && self.rcv.ack_now {
            return Some(Plan::Ack);
        }
        if self.state.sends_data() {
            // SACK blocks that a full data segment would have no room for go out first.
            if self.rcv.ack_now && self.sack_ok && self.rcv.reasm.holes() > 0 {
                return Some(Plan::Ack);
            }
            if let Some(range) = self.snd.urgent_rexmit.and_then(|r| self.unacked_part(r)) {
                return Some(Plan::Range { range, rexmit: true, sack: None });
            }
            if let Some(plan) = self.plan_rto_rexmit().or_else(|| self.plan_recovery(buf_len)) {
                return Some(plan);
            }
            if let Some(range) = self.plan_new_data(buf_len) {
                return Some(Plan::Range { range, rexmit: false, sack: None });
            }
        }
        if self.probe_due {
            return Some(Plan::Probe);
        }
        self.rcv.ack_now.then_some(Plan::Ack)
    }

    /// Cuts a planned range at the hook's limit ([`SegmentHook::max_payload`]): the data
    /// stops at the limit and the FIN, if planned, waits for a later segment. A limit of 0
    /// is ignored (the hook has no opinion about that offset).
    pub(super) fn clamp_to_hook(&self, plan: Plan, hook: &impl SegmentHook) -> Plan {
        let Plan::Range { range, rexmit, sack } = plan else {
            return plan;
        };
        let data_end = self.snd.data_end().min(range.end);
        if data_end - range.start <= 0 {
            return plan;
        }
        let data_len = data_end.offset_from(range.start) as usize;
        let max = hook.max_payload(self.stream_offset(range.start));
        if max == 0 || data_len <= max {
            return plan;
        }
        let range = SeqRange::new(range.start, range.start + max);
        let sack = sack.map(|seg| match seg {
            NextSegment::Retransmit(_) => NextSegment::Retransmit(range),
            NextSegment::New(_) => NextSegment::New(range),
            NextSegment::Rescue(_) => NextSegment::Rescue(range),
        });
        Plan::Range { range, rexmit, sack }
    }

    /// The part of `range` not acknowledged yet, if any: a retransmission planned before an
    /// ACK arrived must not resend (and mislabel) acknowledged data.
    fn unacked_part(&self, range: SeqRange) -> Option<SeqRange> {
        let start = range.start.max(self.snd.una);
        (range.end - start > 0).then(|| SeqRange::new(start, range.end))
    }

    /// Data and FIN in flight as the sending rules count them: RFC 6675 pipe, less one
    /// segment per duplicate ACK in a NewReno recovery (RFC 6582 §3.2 step 4's window
    /// inflation, expressed as data that has left the network).
    fn in_flight(&self) -> usize {
        let pipe = self.sb.pipe() as usize;
        if self.sack_ok || !self.sb.in_recovery() {
            return pipe;
        }
        pipe.saturating_sub((self.snd.dup_acks as usize).saturating_mul(self.snd.eff_mss))
    }

    /// Moves the go-back cursor past SACKed ranges, and ends the go-back once nothing below
    /// SND.NXT is left to resend, so recovery or new data can go on.
    pub(super) fn settle_rexmit_cursor(&mut self) {
        let Some(mut cur) = self.snd.rexmit else { return };
        cur = cur.max(self.snd.una);
        for r in self.sb.sacked_ranges() {
            if r.contains(cur) {
                cur = r.end;
            }
        }
        self.snd.rexmit = (self.snd.nxt - cur > 0).then_some(cur);
    }

    /// The go-back-N retransmission after an RTO, skipping SACKed ranges, within cwnd.
    /// The cursor is settled (outside SACKed data, below SND.NXT) by
    /// [`settle_rexmit_cursor`](Self::settle_rexmit_cursor) before every plan.
    fn plan_rto_rexmit(&self) -> Option<Plan> {
        let cur = self.snd.rexmit?;
        let resent = cur.offset_from(self.snd.una) as usize;
        if resent >= self.cc.cwnd() {
            return None;
        }
        let mut end = self.snd.nxt.min(cur + self.snd.eff_mss);
        if let Some(next) = self.sb.sacked_ranges().iter().find(|r| r.start - cur > 0) {
            end = end.min(next.start);
        }
        Some(Plan::Range { range: SeqRange::new(cur, end), rexmit: true, sack: None })
    }

    /// RFC 6675 §5 step (C): while in recovery and cwnd - pipe >= 1 SMSS, NextSeg.
    fn plan_recovery(&self, buf_len: usize) -> Option<Plan> {
        if !self.sb.in_recovery() || self.snd.rexmit.is_some() {
            return None;
        }
        if self.cc.cwnd() < self.in_flight() + self.snd.eff_mss {
            return None;
        }
        let sendable = self.new_data_room(buf_len).min(self.unsent_data());
        let seg = self.sb.next_seg(u32::try_from(sendable).unwrap_or(u32::MAX))?;
        let (range, rexmit) = match seg {
            NextSegment::Retransmit(r) | NextSegment::Rescue(r) => (r, true),
            NextSegment::New(r) => (r, false),
        };
        Some(Plan::Range { range, rexmit, sack: Some(seg) })
    }

    /// Data bytes queued and not sent yet.
    fn unsent_data(&self) -> usize {
        let end = self.snd.data_end();
        if end - self.snd.nxt > 0 { end.offset_from(self.snd.nxt) as usize } else { 0 }
    }

    /// How much new data the send window allows, and the buffer, in one segment.
    fn new_data_room(&self, buf_len: usize) -> usize {
        let outstanding = self.snd.flight();
        let wnd_room = self.snd.wnd.saturating_sub(outstanding) as usize;
        let buf_room = buf_len - HEADER_LEN - MAX_OPTIONS_LEN;
        wnd_room.min(self.snd.eff_mss).min(buf_room)
    }

    /// New data (and the FIN after it) under cwnd and the send window, with sender SWS
    /// avoidance (RFC 9293 §3.8.6.2.1) and Nagle if configured (§3.7.4).
    fn plan_new_data(&self, buf_len: usize) -> Option<SeqRange> {
        if self.sb.in_recovery() && self.unsent_data() > 0 || self.snd.rexmit.is_some() {
            return None;
        }
        let in_flight = self.in_flight();
        let cwnd_room = self.cc.cwnd().saturating_sub(in_flight);
        let unsent = self.unsent_data();
        let len = unsent.min(cwnd_room).min(self.new_data_room(buf_len));
        let fin = self.snd.fin.is_some() && !self.snd.fin_sent() && len == unsent;
        if len == 0 && !fin {
            return None;
        }
        let full = len >= self.snd.eff_mss;
        let all = len == unsent && (!self.cfg.nagle || in_flight == 0);
        let half_window = len > 0 && len >= (self.snd.max_wnd / 2) as usize;
        if !(full || all || half_window || fin || self.sws_override) {
            return None;
        }
        let start = self.snd.nxt;
        Some(SeqRange::new(start, start + len + usize::from(fin)))
    }

    /// RFC 9293 §3.8.6.1: arm the persist timer when data waits on a zero window with
    /// nothing in flight (so no ACK will come to open it). A window too small to use under
    /// sender SWS avoidance (§3.8.6.2.1) is closed too: the timer is then the override
    /// timeout, and [`plan_new_data`](Self::plan_new_data) sends what fits when it fires.
    pub(super) fn update_persist(&mut self, now: Instant) {
        let waiting = self.snd.unsent() > 0 && self.snd.flight() == 0;
        let closed = waiting && (self.snd.wnd as usize) < self.snd.eff_mss.min(self.unsent_data());
        if self.state.sends_data() && waiting && closed && !self.timers.is_set(Timer::Retransmit) {
            self.arm_persist(now);
        } else if !closed {
            self.timers.stop(Timer::Persist);
        }
    }
}
