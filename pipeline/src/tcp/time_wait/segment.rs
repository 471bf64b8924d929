//! A segment for a 4-tuple in TIME-WAIT (RFC 9293 §3.10.7.4; RFC 6191 §2; RFC 7323 §5.3;
//! RFC 5961 §3.2, §4).

use std::net::SocketAddr;

use super::{Entry, Key, TimeWaitTable};
use crate::tcp::listener::{Reply, ReplyOptions};
use crate::time::Instant;
use crate::wire::tcp::{TcpFlags, TcpRepr, TcpSeqNumber};

/// What [`TimeWaitTable::handle_segment`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeWaitOutcome {
    /// No entry for the 4-tuple: hand the segment to the listener.
    NotFound,
    /// An ACK answers it (queued, or dropped if the reply queue was full and counted).
    Acked,
    /// Dropped without an answer.
    Dropped,
    /// A SYN may reopen the 4-tuple (RFC 6191): the entry is gone; hand the SYN to the
    /// listener.
    Reuse,
    /// An exact RST closed the entry.
    Closed,
}

/// Whether `a` is later than `b` on the 32-bit timestamp circle (RFC 7323 §5.2).
fn ts_newer(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}

impl TimeWaitTable {
    /// Processes a segment from `remote` to `local`, checksum verified. Then call
    /// [`poll_transmit`](Self::poll_transmit).
    pub fn handle_segment(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        seg: &TcpRepr<'_>,
    ) -> TimeWaitOutcome {
        let key = (local, remote);
        let Some(&entry) = self.entries.get(&key) else {
            return TimeWaitOutcome::NotFound;
        };
        let flags = seg.flags;
        let rst = flags.contains(TcpFlags::RST);
        if flags.contains(TcpFlags::SYN) && !flags.intersects(TcpFlags::ACK | TcpFlags::RST) {
            return self.on_syn(key, &entry, seg);
        }
        let tsval = seg.options.timestamps().map(|(tsval, _)| tsval);
        // RFC 7323 §5.3 R1 (not for RSTs, §5.2).
        if let (Some((recent, _)), Some(tsval), false) = (entry.ts, tsval, rst)
            && ts_newer(recent, tsval)
        {
            self.stats.paws_rejected += 1;
            return self.ack(now, key, &entry);
        }
        // A retransmission of the peer's FIN: ACK it and restart 2·MSL (§3.10.7.4 "eighth").
        if flags.contains(TcpFlags::FIN)
            && !rst
            && seg.seq_number + seg.segment_len() == entry.rcv_nxt
        {
            return self.on_fin(now, key, entry, tsval);
        }
        if !acceptable(&entry, seg) {
            if rst {
                self.stats.dropped += 1;
                return TimeWaitOutcome::Dropped;
            }
            return self.ack(now, key, &entry);
        }
        self.in_window(now, key, entry, seg, tsval)
    }

    /// An acceptable segment: RST, SYN,ACK, FIN or a stray ACK.
    fn in_window(
        &mut self,
        now: Instant,
        key: Key,
        entry: Entry,
        seg: &TcpRepr<'_>,
        tsval: Option<u32>,
    ) -> TimeWaitOutcome {
        let flags = seg.flags;
        if flags.contains(TcpFlags::RST) {
            // RFC 5961 §3.2: only a RST at exactly RCV.NXT closes; others are challenged.
            if seg.seq_number == entry.rcv_nxt {
                self.remove(key);
                self.stats.reset += 1;
                return TimeWaitOutcome::Closed;
            }
            return self.ack(now, key, &entry);
        }
        if flags.contains(TcpFlags::SYN) {
            return self.ack(now, key, &entry); // RFC 5961 §4: challenge ACK.
        }
        if flags.contains(TcpFlags::FIN) && flags.contains(TcpFlags::ACK) {
            return self.on_fin(now, key, entry, tsval);
        }
        // §3.10.7.4: no new data or ACK can matter in TIME-WAIT; the text is ignored.
        self.stats.dropped += 1;
        TimeWaitOutcome::Dropped
    }

    /// A FIN: ACK it, take its newer TSval (RFC 7323 §4.3), restart 2·MSL.
    fn on_fin(
        &mut self,
        now: Instant,
        key: Key,
        entry: Entry,
        tsval: Option<u32>,
    ) -> TimeWaitOutcome {
        let mut entry = entry;
        if let (Some((recent, offset)), Some(tsval)) = (entry.ts, tsval)
            && ts_newer(tsval, recent)
        {
            entry.ts = Some((tsval, offset));
            if let Some(stored) = self.entries.get_mut(&key) {
                stored.ts = entry.ts;
            }
        }
        self.restart(now, key);
        if self.queue_ack(now, key, &entry) {
            self.stats.fin_acks += 1;
        }
        TimeWaitOutcome::Acked
    }

    /// RFC 6191 §2: may a SYN reopen the 4-tuple?
    fn on_syn(&mut self, key: Key, entry: &Entry, seg: &TcpRepr<'_>) -> TimeWaitOutcome {
        let new_ts = seg.options.timestamps().filter(|_| self.cfg.timestamps).map(|t| t.0);
        let seq_above = seg.seq_number > entry.rcv_nxt;
        let reuse = match (entry.ts, new_ts) {
            (Some((recent, _)), Some(tsval)) => {
                ts_newer(tsval, recent) || (tsval == recent && seq_above)
            }
            (Some(_), None) => seq_above,
            (None, Some(_)) => true,
            (None, None) => seq_above,
        };
        if reuse {
            self.remove(key);
            self.stats.reused += 1;
            return TimeWaitOutcome::Reuse;
        }
        self.stats.syns_dropped += 1;
        TimeWaitOutcome::Dropped
    }

    /// Answers with an ACK, counted in `acks`.
    fn ack(&mut self, now: Instant, key: Key, entry: &Entry) -> TimeWaitOutcome {
        if self.queue_ack(now, key, entry) {
            self.stats.acks += 1;
        }
        TimeWaitOutcome::Acked
    }

    /// Queues <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, with timestamps if in use; false (and
    /// counted) if the reply queue is full.
    fn queue_ack(&mut self, now: Instant, key: Key, entry: &Entry) -> bool {
        let options = match entry.ts {
            Some((recent, offset)) => {
                let tsval = (now.total_millis() as u32).wrapping_add(offset);
                ReplyOptions::Timestamps { tsval, tsecr: recent }
            }
            None => ReplyOptions::None,
        };
        let reply = Reply {
            local: key.0,
            remote: key.1,
            seq: entry.snd_nxt,
            ack: entry.rcv_nxt,
            flags: TcpFlags::ACK,
            window: entry.window,
            options,
        };
        let queued = self.replies.push(reply);
        if !queued {
            self.stats.dropped_reply_queue_full += 1;
        }
        queued
    }
}

/// RFC 9293 §3.10.7.4's acceptability test against RCV.NXT and the window last advertised.
fn acceptable(entry: &Entry, seg: &TcpRepr<'_>) -> bool {
    let nxt = entry.rcv_nxt;
    let wnd = u32::from(entry.window) << entry.wscale.min(14);
    let len = seg.segment_len();
    let in_window = |s: TcpSeqNumber| s - nxt >= 0 && s.offset_from(nxt) < wnd;
    match (len, wnd) {
        (0, 0) => seg.seq_number == nxt,
        (0, _) => in_window(seg.seq_number),
        (_, 0) => false,
        (_, _) => in_window(seg.seq_number) || in_window(seg.seq_number + (len - 1)),
    }
}
