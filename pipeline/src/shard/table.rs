//! The splices a shard holds: a slab of entries, an index from 4-tuple to entry and side, one
//! timer per entry in the shard's timer wheel, and per side a queue of the entries that may
//! have segments to send.
//!
//! The index is a hash map keyed by peer-chosen 4-tuples, so its hasher is keyed with the
//! shard's secret ([`KeyedHasher`]): a peer cannot aim connections at one bucket.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hasher};
use std::net::SocketAddr;

use crate::mptcp::conn::SubflowId;
use crate::proxy::{Attempt, Side, Splice, SplicePhase, SpliceStatus};
use crate::time::{Duration, Instant};
use crate::timer::{TimerHandle, TimerWheel};

/// A connection's two addresses, ours first.
pub(crate) type FourTuple = (SocketAddr, SocketAddr);

/// The timer wheel's tick: a timer fires at most this late.
pub(crate) const TICK: Duration = Duration::from_millis(1);

/// One spliced pair and what the shard knows about it.
#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) splice: Splice,
    /// Index of its service.
    pub(crate) service: usize,
    pub(crate) attempt: Attempt,
    pub(crate) status: SpliceStatus,
    /// Its end is counted.
    pub(crate) ended: bool,
    /// It no longer counts toward its service's `max_connections` (it is closing).
    pub(crate) released: bool,
    /// Its phase and live MPTCP subflows as last counted in the shard's census (`None`:
    /// not counted yet).
    pub(crate) census: Option<(SplicePhase, usize)>,
    /// Bytes already counted, per direction.
    pub(crate) counted: (u64, u64),
    /// Its buffers' bytes as last accounted in the shard's budget (`memory.rs`).
    pub(crate) buffer_bytes: usize,
    timer: Option<TimerHandle>,
    /// Queued in the transmit queue of the side (index 0 client, 1 origin).
    queued: [bool; 2],
}

/// SipHash (std's `DefaultHasher`) with a secret prefix: the state after the prefix is as
/// unknown to a peer as a key would be.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeyedHasher {
    salt: [u64; 2],
}

impl KeyedHasher {
    pub(crate) fn new(secret: &[u8; 32]) -> KeyedHasher {
        let word = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&secret[i..i + 8]);
            u64::from_le_bytes(b)
        };
        KeyedHasher { salt: [word(16) ^ 0x6e72_7368_6172_6400, word(24)] }
    }
}

impl BuildHasher for KeyedHasher {
    type Hasher = DefaultHasher;

    fn build_hasher(&self) -> DefaultHasher {
        let mut h = DefaultHasher::new();
        h.write_u64(self.salt[0]);
        h.write_u64(self.salt[1]);
        h
    }
}

/// The 4-tuples of a splice's connections: every client subflow's, then the origin's.
fn tuples(splice: &Splice) -> Vec<(FourTuple, Side, SubflowId)> {
    let mut out: Vec<_> =
        splice.client().tuples().into_iter().map(|(id, t)| (t, Side::Client, id)).collect();
    let origin = splice.origin();
    out.push(((origin.local(), origin.remote()), Side::Origin, 0));
    out
}

fn origin_tuple(splice: &Splice) -> FourTuple {
    (splice.origin().local(), splice.origin().remote())
}

/// Where `side` is kept in per-side arrays: client 0, origin 1.
pub(crate) fn side_index(side: Side) -> usize {
    match side {
        Side::Client => 0,
        Side::Origin => 1,
    }
}

/// The entries, their index, timers and transmit queues.
#[derive(Debug)]
pub(crate) struct Table {
    slots: Vec<Option<Entry>>,
    free: Vec<usize>,
    index: HashMap<FourTuple, (usize, Side, SubflowId), KeyedHasher>,
    wheel: TimerWheel<usize>,
    queues: [VecDeque<usize>; 2],
    live: usize,
}

impl Table {
    pub(crate) fn new(now: Instant, hasher: KeyedHasher) -> Table {
        Table {
            slots: Vec::new(),
            free: Vec::new(),
            index: HashMap::with_hasher(hasher),
            wheel: TimerWheel::new(now, TICK),
            queues: [VecDeque::new(), VecDeque::new()],
            live: 0,
        }
    }

    /// Entries held.
    pub(crate) fn len(&self) -> usize {
        self.live
    }

    /// The entry, side and client subflow a segment from `remote` to `local` belongs to.
    pub(crate) fn find(
        &self,
        local: SocketAddr,
        remote: SocketAddr,
    ) -> Option<(usize, Side, SubflowId)> {
        self.index.get(&(local, remote)).copied()
    }

    /// Whether a 4-tuple is taken (an origin-side port must not be reused while it is).
    pub(crate) fn contains(&self, tuple: &FourTuple) -> bool {
        self.index.contains_key(tuple)
    }

    pub(crate) fn get(&self, slot: usize) -> Option<&Entry> {
        self.slots.get(slot).and_then(Option::as_ref)
    }

    pub(crate) fn get_mut(&mut self, slot: usize) -> Option<&mut Entry> {
        self.slots.get_mut(slot).and_then(Option::as_mut)
    }

    /// Stores a new splice and indexes both its connections. Returns its slot.
    pub(crate) fn insert(&mut self, splice: Splice, service: usize, attempt: Attempt) -> usize {
        let status = SpliceStatus::Connecting;
        let entry = Entry {
            splice,
            service,
            attempt,
            status,
            ended: false,
            released: false,
            census: None,
            counted: (0, 0),
            buffer_bytes: 0,
            timer: None,
            queued: [false; 2],
        };
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slots[slot] = Some(entry);
                slot
            }
            None => {
                self.slots.push(Some(entry));
                self.slots.len() - 1
            }
        };
        self.live += 1;
        if let Some(e) = self.get(slot) {
            for (t, side, id) in tuples(&e.splice) {
                self.index.insert(t, (slot, side, id));
            }
        }
        slot
    }

    /// Indexes a client subflow joined to the entry in `slot`.
    pub(crate) fn index_subflow(&mut self, slot: usize, id: SubflowId, tuple: FourTuple) {
        self.index.insert(tuple, (slot, Side::Client, id));
    }

    /// Forgets a 4-tuple of the entry in `slot` (a subflow that closed).
    pub(crate) fn unindex(&mut self, slot: usize, tuple: &FourTuple) {
        if self.index.get(tuple).is_some_and(|&(s, _, _)| s == slot) {
            self.index.remove(tuple);
        }
    }

    /// Forgets the origin connection's 4-tuple (before it is replaced by a retry).
    pub(crate) fn unindex_origin(&mut self, slot: usize) {
        if let Some(e) = self.get(slot) {
            let key = origin_tuple(&e.splice);
            self.index.remove(&key);
        }
    }

    /// Indexes the (new) origin connection.
    pub(crate) fn index_origin(&mut self, slot: usize) {
        if let Some(e) = self.get(slot) {
            self.index.insert(origin_tuple(&e.splice), (slot, Side::Origin, 0));
        }
    }

    /// Queues the entry for transmission on both sides and re-arms its timer.
    pub(crate) fn touch(&mut self, slot: usize) {
        for side in [Side::Client, Side::Origin] {
            let i = side_index(side);
            if let Some(e) = self.slots.get_mut(slot).and_then(Option::as_mut)
                && !e.queued[i]
            {
                e.queued[i] = true;
                self.queues[i].push_back(slot);
            }
        }
        self.rearm(slot);
    }

    /// Sets the entry's timer to its splice's next deadline.
    fn rearm(&mut self, slot: usize) {
        let Some(e) = self.slots.get_mut(slot).and_then(Option::as_mut) else {
            return;
        };
        let deadline = e.splice.poll_timeout();
        match (e.timer, deadline) {
            (Some(h), Some(at)) if self.wheel.reset(h, at) => {}
            (Some(h), None) => {
                self.wheel.cancel(h);
                e.timer = None;
            }
            (_, Some(at)) => e.timer = Some(self.wheel.insert(at, slot)),
            (None, None) => {}
        }
    }

    /// The next entry queued for transmission on `side`, left at the front of the queue.
    pub(crate) fn queued_front(&self, side: Side) -> Option<usize> {
        self.queues[side_index(side)].front().copied()
    }

    /// Takes the front entry off `side`'s queue (it has nothing more to send there). Returns
    /// whether the entry can now be dropped: both queues left, both connections closed.
    pub(crate) fn dequeue_front(&mut self, side: Side) -> Option<usize> {
        let i = side_index(side);
        let slot = self.queues[i].pop_front()?;
        let e = self.slots.get_mut(slot).and_then(Option::as_mut)?;
        e.queued[i] = false;
        if e.queued == [false; 2] {
            self.rearm(slot);
        }
        Some(slot)
    }

    /// Whether the entry is in no transmit queue and its splice can go.
    pub(crate) fn droppable(&self, slot: usize) -> bool {
        self.get(slot).is_some_and(|e| e.queued == [false; 2] && e.splice.can_drop())
    }

    /// Whether the entry is in no transmit queue and its splice carries nothing more: both
    /// connections CLOSED or in TIME-WAIT, its end counted. Its TIME-WAIT connections may
    /// then go to the TIME-WAIT tables and the entry with them.
    pub(crate) fn retirable(&self, slot: usize) -> bool {
        self.get(slot).is_some_and(|e| {
            e.queued == [false; 2] && e.ended && e.splice.phase() == SplicePhase::TimeWait
        })
    }

    /// Removes the entry: its index entries, its timer, its slot.
    pub(crate) fn remove(&mut self, slot: usize) -> Option<Entry> {
        let e = self.slots.get_mut(slot)?.take()?;
        for (key, _, _) in tuples(&e.splice) {
            self.unindex(slot, &key);
        }
        if let Some(h) = e.timer {
            self.wheel.cancel(h);
        }
        self.free.push(slot);
        self.live -= 1;
        Some(e)
    }

    /// The earliest timer of any entry (rounded to the wheel's tick).
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.wheel.next_deadline()
    }

    /// The slots whose timers are due by `now`, appended to `out`; their timers are
    /// disarmed (re-armed by [`touch`](Self::touch)).
    pub(crate) fn expired(&mut self, now: Instant, out: &mut Vec<usize>) {
        while let Some((_, slot)) = self.wheel.poll_expired(now) {
            if let Some(e) = self.slots.get_mut(slot).and_then(Option::as_mut) {
                e.timer = None;
                out.push(slot);
            }
        }
    }

    /// Every entry's slot (for statistics and teardown).
    pub(crate) fn slots(&self) -> impl Iterator<Item = usize> + '_ {
        self.slots.iter().enumerate().filter(|(_, e)| e.is_some()).map(|(i, _)| i)
    }
}
