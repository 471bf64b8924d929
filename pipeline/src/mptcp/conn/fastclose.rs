//! MP_FASTCLOSE both ways (RFC 8684 §3.5, RFC 6824 §3.5: the same option and rules in v0).
//!
//! Ours is the ACK form ("Option A"), on every subflow at once, since any one of them may be on
//! a dead path:
//!
//! ```text
//!   abort: every live subflow closes at the TCP level (data dropped) and enters
//!          FASTCLOSE_WAIT; a pure ACK carrying MP_FASTCLOSE with the peer's key goes out
//!          with SEQ = SND.NXT
//!   FASTCLOSE_WAIT --(peer's RST on this subflow)--------------> CLOSED; every other
//!                                                               subflow sends its RST
//!   FASTCLOSE_WAIT --(peer's ACK of X, X != our SEQ)-----------> the ACK again, SEQ = X
//!   FASTCLOSE_WAIT --(one RTO (at most 1 s), < 3 ACKs resent)--> the ACK again
//!   FASTCLOSE_WAIT --(one RTO after the 3rd resend, or the
//!                     peer's MP_FASTCLOSE with our key)-------> RST carrying MP_FASTCLOSE
//! ```
//!
//! Why the wait (docs/architecture.md, "MP_FASTCLOSE"): iOS acts on MP_FASTCLOSE only on a
//! segment whose flags are exactly ACK and whose sequence number is exactly its RCV.NXT, and it
//! does not report subflow resets to the application. SND.NXT is that number once our data in
//! flight has arrived (the ACK follows it on the same path), but not when a segment of it was
//! lost: the client's next ACK then names its RCV.NXT, and the fast close goes again there. A
//! RST sent at once would end the subflow before that second chance, leaving the iPhone app
//! to its own timeout. The final RST carries MP_FASTCLOSE too, for peers that act on that
//! form only (RFC 8684 §3.5: "SHOULD send a TCP RST with the MP_FASTCLOSE option itself when
//! it releases state").

use super::{Connection, MptcpEnd, SubflowId};
use crate::tcp::Transmit;
use crate::tcp::hooks::{Outgoing, SegmentHook, SegmentKind};
use crate::time::{Duration, Instant};
use crate::wire::mptcp::{MpFastclose, MptcpOption};
use crate::wire::tcp::{TcpFlags, TcpRepr, TcpSeqNumber};
use crate::wire::tcp_option::TcpOptionWriter;

/// MP_FASTCLOSE ACKs resent after a retransmission timeout each before the RST (RFC 8684
/// §3.5 recommends 3).
pub const FASTCLOSE_RETRIES: u32 = 3;

/// The longest wait between two MP_FASTCLOSE ACKs: the subflow's RTO, backoff included, but
/// no more than this, so a fast close on a dead path holds its state for seconds, not the
/// minutes a backed-off RTO allows.
const FASTCLOSE_RTO_MAX: Duration = Duration::from_secs(1);

/// What a subflow in FASTCLOSE_WAIT sends next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    /// The ACK carrying MP_FASTCLOSE, at the next poll.
    Ack,
    /// Nothing until the timer or the peer.
    Wait,
    /// Our RST carrying MP_FASTCLOSE, at the next poll; the wait is over then.
    Rst,
}

/// A subflow in FASTCLOSE_WAIT (RFC 8684 §3.5). Its TCP connection is closed; the segments
/// it still sends are written with `tcp::Connection::write_bare`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FastcloseWait {
    /// The sequence number of our ACK: the peer's RCV.NXT as far as we know (SND.NXT at the
    /// abort, then the latest acknowledgement it sent).
    seq: TcpSeqNumber,
    /// The acknowledgements the peer may send: from at most SND.UNA at the abort to SND.NXT.
    low: TcpSeqNumber,
    high: TcpSeqNumber,
    next: Next,
    /// When the ACK goes again (or the RST once the resends are spent), while waiting.
    timer: Instant,
    /// ACKs resent on timeouts.
    retries: u32,
}

impl FastcloseWait {
    /// The wait of a subflow whose sequence space is `low..=high` (SND.NXT at the abort is
    /// `high`), its first ACK due now.
    pub(super) fn new(now: Instant, low: TcpSeqNumber, high: TcpSeqNumber) -> FastcloseWait {
        FastcloseWait { seq: high, low, high, next: Next::Ack, timer: now, retries: 0 }
    }

    /// Whether only our RST is left to send: the wait is over.
    pub(super) fn only_rst_left(&self) -> bool {
        self.next == Next::Rst
    }

    /// When its timer fires, while it waits.
    pub(super) fn deadline(&self) -> Option<Instant> {
        (self.next == Next::Wait).then_some(self.timer)
    }
}

/// Writes MP_FASTCLOSE with the receiver's key on the ACKs and RSTs of a fast close.
struct FastcloseHook {
    key: u64,
}

impl SegmentHook for FastcloseHook {
    fn option_space(&self, _: SegmentKind) -> usize {
        0
    }

    fn write_options(&mut self, _: &Outgoing, w: &mut TcpOptionWriter<'_>) {
        let opt = MpFastclose { receiver_key: self.key };
        let _ = w.push_with(opt.buffer_len(), |b| opt.emit(b));
    }
}

impl Connection {
    /// Resets the connection with MP_FASTCLOSE (RFC 8684 §3.5): every live subflow stops at
    /// once and enters FASTCLOSE_WAIT (see the module documentation), which ends with the
    /// peer's RST or ours. Keep polling transmits and timeouts until [`ended`](Self::ended).
    /// After a clean end, the subflows still closing are reset without it.
    pub fn abort(&mut self, now: Instant) {
        if self.end.is_none() {
            self.end = Some(MptcpEnd::Reset);
            self.fastclose_out = true;
        }
        let fast = self.fastclose_out;
        for s in self.subflows.iter_mut().flatten() {
            if s.ended() || s.fastclose.is_some() {
                continue;
            }
            if fast {
                s.begin_fastclose(now);
            } else {
                s.tcp.abort(now);
            }
        }
    }

    /// The earliest FASTCLOSE_WAIT timer.
    pub(super) fn fastclose_deadline(&self) -> Option<Instant> {
        let waits = self.subflows.iter().flatten().filter_map(|s| s.fastclose);
        waits.filter_map(|w| w.deadline()).min()
    }

    /// FASTCLOSE_WAIT timers due by `now`: the ACK goes again, up to [`FASTCLOSE_RETRIES`]
    /// times, then the RST.
    pub(super) fn fastclose_timeout(&mut self, now: Instant) {
        for s in self.subflows.iter_mut().flatten() {
            let Some(w) = s.fastclose.as_mut() else { continue };
            if w.deadline().is_none_or(|at| at > now) {
                continue;
            }
            if w.retries < FASTCLOSE_RETRIES {
                w.retries += 1;
                w.next = Next::Ack;
            } else {
                w.next = Next::Rst;
            }
        }
    }

    /// A segment on subflow `id` while it is in FASTCLOSE_WAIT; returns false when it is not.
    /// The peer's RST ends the wait (any RST: a forged one only ends early what ends anyway),
    /// and every other subflow then sends its RST. An acknowledgement is the peer's RCV.NXT:
    /// when it is not where our ACK was, the ACK goes again there.
    pub(super) fn fastclose_wait_segment(&mut self, id: SubflowId, seg: &TcpRepr<'_>) -> bool {
        let Some(s) = self.subflow_mut(id) else { return false };
        let Some(w) = s.fastclose.as_mut() else { return false };
        if seg.flags.contains(TcpFlags::RST) {
            s.fastclose = None;
            self.reset_waiting();
            return true;
        }
        let ack = seg.ack_number;
        let plausible = ack - w.low >= 0 && w.high - ack >= 0;
        if seg.flags.contains(TcpFlags::ACK) && plausible && ack != w.seq && w.next != Next::Rst {
            w.seq = ack;
            w.next = Next::Ack;
        }
        true
    }

    /// Every subflow still in FASTCLOSE_WAIT sends its RST: the peer reset one (RFC 8684
    /// §3.5: the connection is torn down), or both sides closed fast at once.
    pub(super) fn reset_waiting(&mut self) {
        for s in self.subflows.iter_mut().flatten() {
            if let Some(w) = s.fastclose.as_mut() {
                w.next = Next::Rst;
            }
        }
    }

    /// The next segment of subflow `id` in FASTCLOSE_WAIT, if it is in it and one is due.
    pub(super) fn poll_fastclose(
        &mut self,
        now: Instant,
        id: SubflowId,
        buf: &mut [u8],
    ) -> Option<Transmit> {
        let mut hook = FastcloseHook { key: self.remote.key() };
        let s = self.subflow_mut(id)?;
        let mut w = s.fastclose?;
        let reset = match w.next {
            Next::Ack => false,
            Next::Rst => true,
            Next::Wait => return None,
        };
        let t = s.tcp.write_bare(now, buf, &mut hook, w.seq, reset);
        if reset || t.is_none() {
            s.fastclose = None;
        } else {
            w.next = Next::Wait;
            w.timer = now + s.tcp.rtt().rto().min(FASTCLOSE_RTO_MAX);
            s.fastclose = Some(w);
        }
        t
    }

    /// An MP_FASTCLOSE with our key (RFC 8684 §3.5): every subflow is reset and the
    /// connection is over; ours in FASTCLOSE_WAIT answer with their RSTs (both sides closed
    /// fast at once). One with another key is ignored (counted).
    pub(super) fn fastclose_in(&mut self, now: Instant, seg: &TcpRepr<'_>) -> bool {
        let version = self.version();
        let key = seg.options.mptcp().find_map(|b| match MptcpOption::parse(b, version) {
            Ok(MptcpOption::MpFastclose(f)) => Some(f.receiver_key),
            _ => None,
        });
        let Some(key) = key else {
            return false;
        };
        if key != self.local.key() {
            self.stats.bad_fastclose += 1;
            return false;
        }
        self.stats.fastclose_received += 1;
        self.end.get_or_insert(MptcpEnd::Reset);
        self.reset_waiting();
        for s in self.subflows.iter_mut().flatten() {
            if !s.ended() && s.fastclose.is_none() {
                s.tcp.abort(now);
            }
        }
        true
    }
}
