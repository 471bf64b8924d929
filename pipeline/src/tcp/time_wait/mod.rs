//! A bounded table of compact TIME-WAIT entries (RFC 9293 §3.4.2, §3.10.7.4 "TIME-WAIT";
//! RFC 6191 for SYNs reusing the 4-tuple; RFC 7323 §5 PAWS; RFC 5961 for RSTs and SYNs).
//!
//! When a [`Connection`] reaches TIME-WAIT, its owner replaces it by an entry here, which
//! keeps only what TIME-WAIT needs: the 4-tuple, SND.NXT, RCV.NXT, the window field, the
//! timestamp state (TS.Recent and our clock offset) and the 2·MSL deadline. The entry:
//!
//! - answers a retransmitted FIN with an ACK and restarts 2·MSL (§3.10.7.4 "eighth");
//! - answers an unacceptable segment (or a PAWS failure, RFC 7323 §5.3) with an ACK
//!   (§3.10.7.4 "first");
//! - closes on a RST at exactly RCV.NXT, and answers another in-window RST or a SYN with
//!   ACK with a challenge ACK (RFC 5961 §3.2, §4);
//! - lets a new SYN for the 4-tuple reopen it per RFC 6191 §2: with timestamps on both
//!   incarnations when the SYN's TSval is newer than TS.Recent (or equal and its sequence
//!   number above RCV.NXT), when the old one had no timestamps and the new one will, or,
//!   without timestamps, when its sequence number is above RCV.NXT; any other SYN is
//!   silently dropped;
//! - sends nothing else.
//!
//! # Memory
//!
//! An entry is its key (two `SocketAddr`s, 64 bytes), an `Entry` (32 bytes) and its place in
//! the deadline index (key and deadline, 72 bytes): [`TimeWaitTable::ENTRY_BYTES`] counts
//! twice that (336 bytes) to cover B-tree nodes. The table holds at most
//! [`TimeWaitConfig::capacity`] entries. When a new entry finds it full, the entry closest to
//! its deadline is evicted early (counted in [`TimeWaitStats::evicted`]): it has served
//! most of its 2·MSL, and PAWS still guards the 4-tuple's next incarnation when timestamps
//! are on. ACKs wait in a bounded reply queue; when it is full they are dropped and counted.

mod segment;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;

pub use segment::TimeWaitOutcome;

use super::conn::Connection;
use super::listener::{AddressedTransmit, ReplyQueue};
use super::state::State;
use crate::time::{Duration, Instant};
use crate::wire::tcp::TcpSeqNumber;

/// The table's tunables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeWaitConfig {
    /// Largest number of entries.
    pub capacity: usize,
    /// 2·MSL, the length of TIME-WAIT (RFC 9293 §3.4.2), restarted by a retransmitted FIN.
    pub time_wait: Duration,
    /// Largest number of ACKs waiting for [`TimeWaitTable::poll_transmit`].
    pub reply_queue: usize,
    /// Whether a new incarnation would use timestamps (our side offers them), for RFC 6191.
    pub timestamps: bool,
}

impl Default for TimeWaitConfig {
    fn default() -> Self {
        TimeWaitConfig {
            capacity: 65_536,
            time_wait: Duration::from_secs(60),
            reply_queue: 256,
            timestamps: true,
        }
    }
}

/// The table's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TimeWaitStats {
    /// Entries inserted.
    pub inserted: u64,
    /// Entries whose 2·MSL ran out.
    pub expired: u64,
    /// Entries evicted before their deadline because the table was full.
    pub evicted: u64,
    /// Retransmitted FINs acknowledged (2·MSL restarted).
    pub fin_acks: u64,
    /// Other ACKs sent (unacceptable segments, PAWS, challenge ACKs).
    pub acks: u64,
    /// Segments dropped by PAWS (RFC 7323 §5.3), answered with an ACK.
    pub paws_rejected: u64,
    /// SYNs that reopened the 4-tuple (RFC 6191).
    pub reused: u64,
    /// SYNs silently dropped (RFC 6191).
    pub syns_dropped: u64,
    /// Entries closed by an exact RST.
    pub reset: u64,
    /// Acceptable segments dropped without an answer.
    pub dropped: u64,
    /// ACKs dropped because the reply queue was full.
    pub dropped_reply_queue_full: u64,
}

/// Table key: (local, remote).
type Key = (SocketAddr, SocketAddr);

/// What a TIME-WAIT entry keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    snd_nxt: TcpSeqNumber,
    rcv_nxt: TcpSeqNumber,
    /// TS.Recent, and the offset from our millisecond clock to our TSval.
    ts: Option<(u32, u32)>,
    deadline: Instant,
    /// The window field of our ACKs, and our shift (RCV.WND = field << shift).
    window: u16,
    wscale: u8,
}

/// A bounded table of TIME-WAIT entries.
#[derive(Debug)]
pub struct TimeWaitTable {
    cfg: TimeWaitConfig,
    entries: BTreeMap<Key, Entry>,
    /// (deadline, key) of every entry: the next to expire or to evict first.
    deadlines: BTreeSet<(Instant, Key)>,
    replies: ReplyQueue,
    stats: TimeWaitStats,
}

impl TimeWaitTable {
    /// Upper bound of the bytes one entry takes (see the module docs).
    pub const ENTRY_BYTES: usize = 2
        * (core::mem::size_of::<Key>()
            + core::mem::size_of::<Entry>()
            + core::mem::size_of::<(Instant, Key)>());

    /// An empty table.
    pub fn new(cfg: TimeWaitConfig) -> TimeWaitTable {
        TimeWaitTable {
            replies: ReplyQueue::new(cfg.reply_queue),
            cfg,
            entries: BTreeMap::new(),
            deadlines: BTreeSet::new(),
            stats: TimeWaitStats::default(),
        }
    }

    /// Counters.
    pub fn stats(&self) -> &TimeWaitStats {
        &self.stats
    }

    /// Entries held (never above the capacity).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether the table holds an entry for this 4-tuple.
    pub fn contains(&self, local: SocketAddr, remote: SocketAddr) -> bool {
        self.entries.contains_key(&(local, remote))
    }

    /// Takes over `conn`, which must be in TIME-WAIT (the owner then drops it); its 2·MSL
    /// deadline carries over. Returns false, and keeps nothing, for any other state. When
    /// the table is full, the entry nearest its deadline is evicted.
    pub fn insert(&mut self, now: Instant, conn: &Connection) -> bool {
        if conn.state() != State::TimeWait || self.cfg.capacity == 0 {
            return false;
        }
        let key = (conn.local(), conn.remote());
        self.remove(key);
        while self.entries.len() >= self.cfg.capacity {
            let Some(&(_, oldest)) = self.deadlines.first() else { break };
            self.remove(oldest);
            self.stats.evicted += 1;
        }
        let now_ms = now.total_millis() as u32;
        let ts = conn.ts_recent().zip(conn.ts_clock(now)).map(|(r, c)| (r, c.wrapping_sub(now_ms)));
        let entry = Entry {
            snd_nxt: conn.snd_nxt(),
            rcv_nxt: conn.rcv_nxt(),
            ts,
            deadline: conn.poll_timeout().unwrap_or(now + self.cfg.time_wait),
            window: conn.rcv_window_field(),
            wscale: conn.rcv_wscale(),
        };
        self.deadlines.insert((entry.deadline, key));
        self.entries.insert(key, entry);
        self.stats.inserted += 1;
        true
    }

    /// Removes the entry of `key`, if any.
    fn remove(&mut self, key: Key) -> Option<Entry> {
        let entry = self.entries.remove(&key)?;
        self.deadlines.remove(&(entry.deadline, key));
        Some(entry)
    }

    /// Moves the deadline of `key` to `now` + 2·MSL.
    fn restart(&mut self, now: Instant, key: Key) {
        if let Some(entry) = self.entries.get_mut(&key) {
            self.deadlines.remove(&(entry.deadline, key));
            entry.deadline = now + self.cfg.time_wait;
            self.deadlines.insert((entry.deadline, key));
        }
    }

    /// Ends the entry of `(local, remote)` early, silently, so an active open of ours can
    /// reuse the 4-tuple (RFC 6191 §2, as Linux's `tcp_tw_reuse`): only when timestamps were
    /// on (PAWS then guards the new incarnation, RFC 7323 §5) and it has been in TIME-WAIT for
    /// at least `at_least`. Returns whether it did.
    pub fn reuse(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        at_least: Duration,
    ) -> bool {
        let key = (local, remote);
        let Some(entry) = self.entries.get(&key) else {
            return false;
        };
        let left = entry.deadline.saturating_duration_since(now).min(self.cfg.time_wait);
        if entry.ts.is_none() || self.cfg.time_wait - left < at_least {
            return false;
        }
        self.remove(key);
        self.stats.reused += 1;
        true
    }

    /// The earliest deadline, for [`handle_timeout`](Self::handle_timeout).
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadlines.first().map(|(at, _)| *at)
    }

    /// Drops the entries whose 2·MSL has run out by `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(&(at, key)) = self.deadlines.first() {
            if at > now {
                break;
            }
            self.remove(key);
            self.stats.expired += 1;
        }
    }

    /// The destination of the next ACK [`poll_transmit`](Self::poll_transmit) writes.
    pub fn front_remote(&self) -> Option<SocketAddr> {
        self.replies.front_remote()
    }

    /// Writes the next ACK to send into `buf` (at least 60 bytes). Call until `None` after
    /// every [`handle_segment`](Self::handle_segment).
    pub fn poll_transmit(&mut self, _now: Instant, buf: &mut [u8]) -> Option<AddressedTransmit> {
        self.replies.poll(buf)
    }

    /// Bytes held beyond the struct: entries ([`ENTRY_BYTES`](Self::ENTRY_BYTES) each) and
    /// queued ACKs.
    pub fn heap_bytes(&self) -> usize {
        self.entries.len() * Self::ENTRY_BYTES + self.replies.heap_bytes()
    }
}
