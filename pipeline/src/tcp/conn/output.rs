//! Which segment goes out next, and its bytes.
//!
//! Order of precedence: a RST; a SYN or SYN,ACK; an immediate retransmission (fast retransmit,
//! RFC 5681 §3.2 step 3 / RFC 6675 §5 step 4.3, or an RFC 6582 partial ACK); the go-back
//! retransmission after an RTO (RFC 6298 §5.4, RFC 5681 §3.1); in SACK recovery, NextSeg
//! under pipe (RFC 6675 §5 step C); new data under the congestion and send windows with the
//! sender's silly-window avoidance (RFC 9293 §3.8.6.2.1); a zero-window or keepalive probe;
//! a pure ACK. Every segment but a SYN carries the ACK of everything received so far.

use super::plan::Plan;
use super::{Connection, Timer};
use crate::tcp::buffer::HeldRange;
use crate::tcp::hooks::{Outgoing, SegmentHook, SegmentKind};
use crate::tcp::sack::{NextSegment, SeqRange};
use crate::tcp::state::State;
use crate::time::Instant;
use crate::wire::tcp::{HEADER_LEN, TcpFlags, TcpPacket, TcpRepr, TcpSeqNumber};
use crate::wire::tcp_option::{
    MAX_OPTIONS_LEN, SackBlocks, TcpOption, TcpOptionWriter, TcpOptions,
};

/// A segment [`Connection::poll_transmit`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transmit {
    /// Bytes written at the start of the buffer: the TCP header, options and data, with the
    /// checksum filled in. The caller puts the IP header in front.
    pub len: usize,
    /// The segment's sequence number.
    pub seq: TcpSeqNumber,
    /// Its control bits.
    pub flags: TcpFlags,
    /// Data bytes it carries.
    pub payload_len: usize,
}

impl Connection {
    /// Writes the next segment to send into `buf` (a TCP segment: header, options, data) and
    /// returns what it wrote, or `None` when nothing is to be sent now. Call it until it returns
    /// `None` after every input and timeout. `hook` adds the upper layer's options.
    ///
    /// `buf` should hold an MSS of data plus 60 bytes; a shorter one gets shorter segments.
    pub fn poll_transmit(
        &mut self,
        now: Instant,
        buf: &mut [u8],
        hook: &mut impl SegmentHook,
    ) -> Option<Transmit> {
        if buf.len() < HEADER_LEN + MAX_OPTIONS_LEN {
            return None;
        }
        if let Some(t) = self.poll_reset(buf, hook) {
            return Some(t);
        }
        match self.state {
            State::Closed | State::Listen => None,
            State::SynSent | State::SynReceived => self.poll_syn(now, buf, hook),
            _ => {
                self.settle_rexmit_cursor();
                let plan = self.plan(buf.len()).map(|p| self.clamp_to_hook(p, hook));
                match plan {
                    Some(plan) => Some(self.emit(now, buf, hook, plan)),
                    None => {
                        self.update_persist(now);
                        None
                    }
                }
            }
        }
    }

    /// A RST to send: ours (abort, give-up), or a reply to a bad segment.
    fn poll_reset(&mut self, buf: &mut [u8], hook: &mut impl SegmentHook) -> Option<Transmit> {
        let (seq, ack) = if let Some(seq) = self.reply_rst.take() {
            (seq, None)
        } else if self.rst_due {
            self.rst_due = false;
            (self.snd.nxt, Some(self.rcv.nxt))
        } else {
            return None;
        };
        let flags = if ack.is_some() { TcpFlags::RST | TcpFlags::ACK } else { TcpFlags::RST };
        let bare = Bare { kind: SegmentKind::Reset, flags, seq, ack, window: 0, ts_at: None };
        Some(self.emit_bare(buf, hook, bare))
    }

    /// A segment without data for an upper layer that took the connection's end into its own
    /// hands ([`abort_without_reset`](Self::abort_without_reset)): <SEQ=seq><ACK=RCV.NXT>
    /// <CTL=ACK> of kind [`SegmentKind::AbortAck`], with timestamps when they are on (RFC 7323
    /// §3.2: on every non-RST segment), or with `reset` a <SEQ=seq><ACK=RCV.NXT><CTL=RST,ACK>
    /// of kind [`SegmentKind::Reset`]; `hook` writes its options. MPTCP's MP_FASTCLOSE rides
    /// on these (RFC 8684 §3.5): an ACK the peer acts on only at the sequence number it
    /// expects, then a RST. Works in any state once synchronized; `None` before, or when
    /// `buf` is too short.
    pub fn write_bare(
        &mut self,
        now: Instant,
        buf: &mut [u8],
        hook: &mut impl SegmentHook,
        seq: TcpSeqNumber,
        reset: bool,
    ) -> Option<Transmit> {
        if buf.len() < HEADER_LEN + MAX_OPTIONS_LEN || self.rcv.irs.is_none() {
            return None;
        }
        let bare = if reset {
            let flags = TcpFlags::RST | TcpFlags::ACK;
            Bare {
                kind: SegmentKind::Reset,
                flags,
                seq,
                ack: Some(self.rcv.nxt),
                window: 0,
                ts_at: None,
            }
        } else {
            Bare {
                kind: SegmentKind::AbortAck,
                flags: TcpFlags::ACK,
                seq,
                ack: Some(self.rcv.nxt),
                window: self.rcv_window_field(),
                ts_at: self.ts.enabled.then_some(now),
            }
        };
        Some(self.emit_bare(buf, hook, bare))
    }

    /// Writes a segment without data outside the send machinery (a RST, the ACK before
    /// one): timestamps if asked, then the hook's options.
    fn emit_bare(&mut self, buf: &mut [u8], hook: &mut impl SegmentHook, bare: Bare) -> Transmit {
        let mut area = [0u8; MAX_OPTIONS_LEN];
        let mut w = TcpOptionWriter::new(&mut area);
        if let Some(now) = bare.ts_at {
            let _ = w.push(&self.ts_option(now));
        }
        let out = Outgoing {
            kind: bare.kind,
            flags: bare.flags,
            seq: bare.seq,
            stream_offset: 0,
            payload_len: 0,
            retransmission: false,
        };
        hook.write_options(&out, &mut w);
        let opt_len = w.finish();
        let repr = TcpRepr {
            src_port: self.local.port(),
            dst_port: self.remote.port(),
            seq_number: bare.seq,
            ack_number: bare.ack.unwrap_or_default(),
            flags: bare.flags,
            window_len: bare.window,
            urgent_pointer: 0,
            options: TcpOptions::new(&area[..opt_len]),
            payload: &[],
        };
        let len = self.write_header(buf, &repr);
        self.stats.segments_out += 1;
        Transmit { len, seq: bare.seq, flags: bare.flags, payload_len: 0 }
    }

    /// RFC 9293 §3.10.7.3: a reply RST for a bad segment, <SEQ=SEG.ACK><CTL=RST>.
    pub(super) fn queue_reset_for(&mut self, seg: &TcpRepr<'_>) {
        self.reply_rst = Some(seg.ack_number);
    }

    /// The SYN (SYN-SENT) or SYN,ACK (SYN-RECEIVED), when due.
    fn poll_syn(
        &mut self,
        now: Instant,
        buf: &mut [u8],
        hook: &mut impl SegmentHook,
    ) -> Option<Transmit> {
        if self.state == State::SynReceived && self.rcv.ack_now {
            self.snd.syn_due = true;
        }
        if !self.snd.syn_due {
            return None;
        }
        self.snd.syn_due = false;
        let ack = self.state == State::SynReceived;
        let (kind, flags) = if ack {
            (SegmentKind::SynAck, TcpFlags::SYN | TcpFlags::ACK)
        } else {
            (SegmentKind::Syn, TcpFlags::SYN)
        };
        let mut area = [0u8; MAX_OPTIONS_LEN];
        let mut w = TcpOptionWriter::new(&mut area);
        self.write_syn_options(now, ack, &mut w);
        let seq = self.snd.iss;
        let out = Outgoing {
            kind,
            flags,
            seq,
            stream_offset: 0,
            payload_len: 0,
            retransmission: self.snd.retries > 0,
        };
        hook.write_options(&out, &mut w);
        let opt_len = w.finish();
        // RFC 7323 §2.2: the window field of a SYN is never scaled.
        let window_len = self.offerable_window().min(usize::from(u16::MAX)) as u16;
        self.rcv.adv = self.rcv.nxt + usize::from(window_len);
        let repr = TcpRepr {
            src_port: self.local.port(),
            dst_port: self.remote.port(),
            seq_number: seq,
            ack_number: if ack { self.rcv.nxt } else { TcpSeqNumber(0) },
            flags,
            window_len,
            urgent_pointer: 0,
            options: TcpOptions::new(&area[..opt_len]),
            payload: &[],
        };
        let len = self.write_header(buf, &repr);
        if self.snd.retries == 0 {
            self.snd.rtt_probe = Some((seq + 1usize, now));
        }
        self.snd.nxt = seq + 1usize;
        self.after_ack_sent();
        self.stats.segments_out += 1;
        self.arm_rto_if_idle(now);
        Some(Transmit { len, seq, flags, payload_len: 0 })
    }

    /// Builds and writes the planned segment, then updates the send state.
    fn emit(
        &mut self,
        now: Instant,
        buf: &mut [u8],
        hook: &mut impl SegmentHook,
        plan: Plan,
    ) -> Transmit {
        let (seq, data_len, fin, rexmit) = match plan {
            Plan::Range { range, rexmit, .. } => {
                let data_end = self.snd.data_end();
                let data_stop = range.end.min(data_end);
                let data_len = if data_stop - range.start > 0 {
                    data_stop.offset_from(range.start)
                } else {
                    0
                };
                let fin = self.snd.fin.is_some() && range.end - data_end > 0;
                (range.start, data_len as usize, fin, rexmit)
            }
            Plan::Probe => (self.snd.una - 1usize, 0, false, false),
            Plan::Ack => (self.snd.nxt, 0, false, false),
        };
        let mut flags = TcpFlags::ACK;
        if fin {
            flags |= TcpFlags::FIN;
        }
        if data_len > 0 && seq + data_len == self.snd.data_end() {
            flags |= TcpFlags::PSH;
        }
        let t = self.write_segment(now, buf, hook, seq, flags, data_len, rexmit);
        self.after_emit(now, plan, seq, data_len + usize::from(fin), rexmit);
        t
    }

    /// Updates the send state after a segment went out.
    fn after_emit(&mut self, now: Instant, plan: Plan, seq: TcpSeqNumber, len: usize, rx: bool) {
        match plan {
            Plan::Range { sack, .. } => {
                let end = seq + len;
                self.arm_rto_if_idle(now);
                self.start_user_timeout(now);
                if rx {
                    self.stats.retransmits += 1;
                    if seq == self.snd.una {
                        self.snd.head_rxt = Some((seq, now));
                    }
                    if self.snd.urgent_rexmit.is_some_and(|r| r.start == seq) {
                        self.snd.urgent_rexmit = None;
                    }
                    if let Some(cur) = self.snd.rexmit {
                        self.snd.rexmit = (self.snd.nxt - end > 0).then(|| cur.max(end));
                    }
                    if self.snd.rtt_probe.is_some_and(|(pend, _)| pend - seq > 0) {
                        self.snd.rtt_probe = None; // Karn (RFC 6298 §3)
                    }
                    if sack.is_none() && self.sb.in_recovery() {
                        self.sb.on_sent(NextSegment::Retransmit(SeqRange::new(seq, end)));
                    }
                } else if end - self.snd.nxt > 0 {
                    self.sws_override = false;
                    self.snd.nxt = end;
                    self.probe_due = false; // new data probes the window as well
                    if self.snd.rtt_probe.is_none() {
                        self.snd.rtt_probe = Some((end, now));
                    }
                    self.sb.on_sent(NextSegment::New(SeqRange::new(seq, end)));
                    self.arm_tail_probe(now);
                }
                if let Some(seg) = sack.filter(|_| rx) {
                    self.sb.on_sent(seg);
                }
            }
            Plan::Probe => {
                self.probe_due = false;
                // A zero-window probe (not a keepalive): unanswered, it counts.
                if self.snd.unsent() > 0 {
                    self.start_user_timeout(now);
                }
            }
            Plan::Ack => {}
        }
    }

    /// Writes header, options and `data_len` bytes of data from sequence number `seq`.
    #[allow(clippy::too_many_arguments)]
    fn write_segment(
        &mut self,
        now: Instant,
        buf: &mut [u8],
        hook: &mut impl SegmentHook,
        seq: TcpSeqNumber,
        flags: TcpFlags,
        data_len: usize,
        rexmit: bool,
    ) -> Transmit {
        let mut area = [0u8; MAX_OPTIONS_LEN];
        let mut w = TcpOptionWriter::new(&mut area);
        if self.ts.enabled {
            let _ = w.push(&TcpOption::NoOperation);
            let _ = w.push(&TcpOption::NoOperation);
            let _ = w.push(&self.ts_option(now));
        }
        let hook_space = hook.option_space(SegmentKind::Other);
        let room = usize::from(self.snd.mss)
            .saturating_sub(data_len + w.len() + hook_space)
            .min(w.remaining().saturating_sub(hook_space));
        self.write_sack_blocks(&mut w, room);
        let data_start = self.snd.data_start();
        let offset = if seq - data_start >= 0 { seq.offset_from(data_start) as usize } else { 0 };
        let out = Outgoing {
            kind: SegmentKind::Other,
            flags,
            seq,
            stream_offset: self.stream_offset(seq),
            payload_len: data_len,
            retransmission: rexmit,
        };
        hook.write_options(&out, &mut w);
        let opt_len = w.finish();
        let window_len = self.window_field();
        let repr = TcpRepr {
            src_port: self.local.port(),
            dst_port: self.remote.port(),
            seq_number: seq,
            ack_number: self.rcv.nxt,
            flags,
            window_len,
            urgent_pointer: 0,
            options: TcpOptions::new(&area[..opt_len]),
            payload: &[],
        };
        let header = repr.header_len();
        let (a, b) = self.snd.buf.peek(offset, data_len);
        let (a_len, b_len) = (a.len(), b.len());
        buf[header..header + a_len].copy_from_slice(a);
        buf[header + a_len..header + a_len + b_len].copy_from_slice(b);
        let payload_len = a_len + b_len;
        let mut packet = TcpPacket::new_unchecked(&mut buf[..header + payload_len]);
        repr.emit_header(&mut packet);
        packet.fill_checksum(self.local.ip(), self.remote.ip());
        self.after_ack_sent();
        self.stats.segments_out += 1;
        Transmit { len: header + payload_len, seq, flags, payload_len }
    }

    /// SACK blocks for the out-of-order data held, most recent first (RFC 2018 §4), as many
    /// as fit in `room` bytes (NOP, NOP, kind, length, 8 bytes per block).
    fn write_sack_blocks(&self, w: &mut TcpOptionWriter<'_>, room: usize) {
        if !self.sack_ok || self.rcv.reasm.holes() == 0 || room < 12 {
            return;
        }
        let mut held = [HeldRange::default(); 4];
        let n = self.rcv.reasm.sack_ranges(&mut held).min((room - 4) / 8);
        let mut edges = [(0u32, 0u32); 4];
        for (edge, r) in edges.iter_mut().zip(&held[..n]) {
            *edge = ((self.rcv.nxt + r.start).0, (self.rcv.nxt + r.end).0);
        }
        if let Some(blocks) = SackBlocks::new(&edges[..n]) {
            let _ = w.push(&TcpOption::NoOperation);
            let _ = w.push(&TcpOption::NoOperation);
            let _ = w.push(&TcpOption::SackRange(blocks));
        }
    }

    /// The window field, scaled (RFC 7323 §2.3), with receiver SWS avoidance (RFC 9293
    /// §3.8.6.2.2): the right edge moves only by at least min(buffer / 2, MSS) and never
    /// moves left.
    fn window_field(&mut self) -> u16 {
        let (free, current, step) = self.window_growth();
        let wnd = if free >= current.saturating_add(step) { free } else { current };
        let field = (wnd >> self.rcv.wscale).min(u32::from(u16::MAX));
        let advertised = field << self.rcv.wscale;
        let edge = self.rcv.nxt + advertised as usize;
        if edge - self.rcv.adv > 0 {
            self.rcv.adv = edge;
        }
        // The field fits: it was capped at u16::MAX above.
        field as u16
    }

    /// After consuming received data: queue a window update if the window at least doubles
    /// and grows by the SWS step (the rule Linux applies in `tcp_cleanup_rbuf`).
    pub(super) fn maybe_window_update(&mut self) {
        let (free, current, step) = self.window_growth();
        if free >= current.saturating_add(step) && free >= current.saturating_mul(2) {
            self.rcv.ack_now = true;
        }
    }

    /// The receive window autotuning allows (`tune.rs`; at most 2^30, RFC 7323 §2.3), the one
    /// last advertised, and the receiver SWS step min(space / 2, MSS) (RFC 9293 §3.8.6.2.2).
    fn window_growth(&self) -> (u32, u32, u32) {
        let free = self.offerable_window().min(1 << 30) as u32;
        let step = (self.receive_space() / 2).min(usize::from(self.cfg.mss)) as u32;
        (free, self.rcv.wnd(), step)
    }

    /// Offset in the subflow byte stream (bytes after our SYN) of sequence number `seq`.
    pub(super) fn stream_offset(&self, seq: TcpSeqNumber) -> u64 {
        self.snd.stream_offset(seq)
    }

    /// Bookkeeping for a segment that carried our ACK.
    fn after_ack_sent(&mut self) {
        self.rcv.ack_now = false;
        self.rcv.ack_alone = false;
        self.rcv.ack_delayed = false;
        self.rcv.unacked_bytes = 0;
        self.timers.stop(Timer::DelayedAck);
        self.ts.last_ack_sent = self.rcv.nxt;
    }

    /// Writes a header-only segment and fills its checksum; returns its length.
    fn write_header(&self, buf: &mut [u8], repr: &TcpRepr<'_>) -> usize {
        let len = repr.buffer_len();
        let mut packet = TcpPacket::new_unchecked(&mut buf[..len]);
        repr.emit(&mut packet);
        packet.fill_checksum(self.local.ip(), self.remote.ip());
        len
    }
}

/// A segment without data for [`Connection::emit_bare`]: its hook kind, control bits,
/// sequence number, acknowledgement (none: 0 on the wire), window field, and the time of
/// its timestamps if it carries them.
struct Bare {
    kind: SegmentKind,
    flags: TcpFlags,
    seq: TcpSeqNumber,
    ack: Option<TcpSeqNumber>,
    window: u16,
    ts_at: Option<Instant>,
}
