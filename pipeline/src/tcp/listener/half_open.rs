//! The half-open table: connections in SYN-RECEIVED (RFC 9293 §3.10.7.2 "third, check for a
//! SYN"), driven by the listener until the handshake completes or gives up.

use super::{AddressedTransmit, DropReason, Key, Listener, ListenerOutcome};
use crate::tcp::conn::Connection;
use crate::tcp::hooks::SynAckOptions;
use crate::tcp::state::State;
use crate::time::Instant;
use crate::wire::tcp::{TcpFlags, TcpRepr};

/// One half-open connection. Its buffers are allocated only by data, so it holds none.
#[derive(Debug)]
pub(super) struct HalfOpen {
    pub(super) conn: Connection,
    /// The upper layer's options for its SYN,ACKs.
    pub(super) extra: SynAckOptions,
    /// The key is in the dirty queue.
    dirty: bool,
}

impl Listener {
    pub(super) fn insert_half_open(&mut self, key: Key, conn: Connection, extra: SynAckOptions) {
        self.note_deadline(conn.poll_timeout());
        self.half_open.insert(key, HalfOpen { conn, extra, dirty: false });
        self.mark_dirty(key);
    }

    fn mark_dirty(&mut self, key: Key) {
        if let Some(entry) = self.half_open.get_mut(&key).filter(|e| !e.dirty) {
            entry.dirty = true;
            self.dirty.push_back(key);
        }
    }

    /// A segment for a half-open connection (a retransmitted SYN, the ACK completing the
    /// handshake, a RST...).
    pub(super) fn deliver_half_open(
        &mut self,
        now: Instant,
        key: Key,
        seg: &TcpRepr<'_>,
    ) -> ListenerOutcome {
        let completes = seg.flags.contains(TcpFlags::ACK)
            && !seg.flags.intersects(TcpFlags::SYN | TcpFlags::RST);
        if completes && self.accept_full() {
            // Linux's default: drop the ACK; our SYN,ACK retransmission makes the peer ACK
            // again, by when the owner may have accepted.
            self.stats.dropped_accept_queue_full += 1;
            return ListenerOutcome::Dropped(DropReason::AcceptQueueFull);
        }
        let Some(entry) = self.half_open.get_mut(&key) else {
            return ListenerOutcome::Delivered;
        };
        entry.conn.handle_segment(now, seg);
        let state = entry.conn.state();
        let deadline = entry.conn.poll_timeout();
        self.note_deadline(deadline);
        if state.is_synchronized()
            && let Some(entry) = self.half_open.remove(&key)
        {
            let offered = (!entry.extra.is_empty()).then(|| entry.extra.note());
            return self.enqueue_accept(entry.conn, offered);
        }
        if state == State::Closed {
            // Closed by the peer's RST: nothing is left to send.
            self.half_open.remove(&key);
            self.stats.half_open_closed += 1;
            return ListenerOutcome::Delivered;
        }
        self.mark_dirty(key);
        ListenerOutcome::Delivered
    }

    /// Polls the half-open connections that may have something to send; drops those that
    /// closed once they have sent their last segment.
    pub(super) fn poll_half_open(
        &mut self,
        now: Instant,
        buf: &mut [u8],
    ) -> Option<AddressedTransmit> {
        while let Some(&key) = self.dirty.front() {
            let Some(entry) = self.half_open.get_mut(&key) else {
                self.dirty.pop_front();
                continue;
            };
            if let Some(transmit) = entry.conn.poll_transmit(now, buf, &mut entry.extra) {
                let deadline = entry.conn.poll_timeout();
                self.note_deadline(deadline);
                return Some(AddressedTransmit { local: key.0, remote: key.1, transmit });
            }
            entry.dirty = false;
            self.dirty.pop_front();
            if entry.conn.is_closed() {
                self.half_open.remove(&key);
                self.stats.half_open_expired += 1;
            }
        }
        None
    }

    /// Runs the expired timers of half-open connections.
    pub(super) fn half_open_timeouts(&mut self, now: Instant) {
        let Listener { half_open, dirty, .. } = self;
        for (key, entry) in half_open.iter_mut() {
            if entry.conn.poll_timeout().is_some_and(|at| at <= now) {
                entry.conn.handle_timeout(now);
                if !entry.dirty {
                    entry.dirty = true;
                    dirty.push_back(*key);
                }
            }
        }
    }
}
