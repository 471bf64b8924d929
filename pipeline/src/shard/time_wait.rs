//! Finished connections as compact TIME-WAIT entries (RFC 9293 §3.4.2, §3.10.7.4), one
//! bounded [`TimeWaitTable`] per side.
//!
//! A splice whose connections are all CLOSED or in TIME-WAIT carries nothing more. Rather than
//! hold its whole table entry (both connections with their buffers and timers) for 2·MSL, the
//! shard hands each connection still in TIME-WAIT to the table of its side and frees the entry
//! at once: an entry costs [`TimeWaitTable::ENTRY_BYTES`] instead. The tables answer what
//! TIME-WAIT must (retransmitted FINs, RFC 5961 challenge ACKs, PAWS), let a client's new SYN
//! reopen its 4-tuple per RFC 6191 §2, and let an origin-side port be reused after a second
//! when timestamps are on (as Linux's `tcp_tw_reuse` does).

use crate::proxy::{Side, Splice};
use crate::tcp::Config;
use crate::tcp::listener::AddressedTransmit;
use crate::tcp::time_wait::{TimeWaitConfig, TimeWaitOutcome, TimeWaitStats, TimeWaitTable};
use crate::time::{Duration, Instant};
use crate::wire::tcp::TcpRepr;

use super::table::{FourTuple, side_index};

/// Entries per side and shard. A full table evicts the entry nearest its deadline (see
/// [`TimeWaitTable`]); at ~336 bytes each this bounds a side's table near 44 MB.
pub(crate) const CAPACITY: usize = 131_072;

/// ACKs a side's table may owe at once.
const REPLY_QUEUE: usize = 1024;

/// The TIME-WAIT tables of a shard: client side, origin side.
#[derive(Debug)]
pub(crate) struct TimeWaits {
    sides: [TimeWaitTable; 2],
}

fn table(cfg: &Config) -> TimeWaitTable {
    TimeWaitTable::new(TimeWaitConfig {
        capacity: CAPACITY,
        time_wait: cfg.time_wait,
        reply_queue: REPLY_QUEUE,
        timestamps: cfg.timestamps,
    })
}

impl TimeWaits {
    /// Tables for client connections of `client` and origin connections of `origin`.
    pub(crate) fn new(client: &Config, origin: &Config) -> TimeWaits {
        TimeWaits { sides: [table(client), table(origin)] }
    }

    fn side(&self, side: Side) -> &TimeWaitTable {
        &self.sides[side_index(side)]
    }

    fn side_mut(&mut self, side: Side) -> &mut TimeWaitTable {
        &mut self.sides[side_index(side)]
    }

    /// Whether `side` holds the 4-tuple.
    pub(crate) fn contains(&self, side: Side, (local, remote): FourTuple) -> bool {
        self.side(side).contains(local, remote)
    }

    /// The side whose table holds the 4-tuple, if one does (the two sides' 4-tuples never
    /// meet: a client's ends at a service address, an origin's at an origin-side port).
    pub(crate) fn find(&self, tuple: FourTuple) -> Option<Side> {
        [Side::Client, Side::Origin].into_iter().find(|&side| self.contains(side, tuple))
    }

    /// Takes over every connection of `splice` that is in TIME-WAIT (the caller then drops the
    /// splice). Returns how many it took.
    pub(crate) fn retire(&mut self, now: Instant, splice: &Splice) -> usize {
        let mut taken = 0;
        for (side, conn) in splice.connections() {
            taken += usize::from(self.side_mut(side).insert(now, conn));
        }
        taken
    }

    /// A segment for a 4-tuple of `side` that no splice holds.
    pub(crate) fn handle_segment(
        &mut self,
        now: Instant,
        side: Side,
        (local, remote): FourTuple,
        seg: &TcpRepr<'_>,
    ) -> TimeWaitOutcome {
        self.side_mut(side).handle_segment(now, local, remote, seg)
    }

    /// Frees an origin-side 4-tuple in TIME-WAIT for a new connection of ours (RFC 6191).
    pub(crate) fn reuse_origin(
        &mut self,
        now: Instant,
        (local, remote): FourTuple,
        at_least: Duration,
    ) -> bool {
        self.side_mut(Side::Origin).reuse(now, local, remote, at_least)
    }

    /// The earliest 2·MSL deadline of either side.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.sides.iter().filter_map(TimeWaitTable::poll_timeout).min()
    }

    /// Drops the entries whose 2·MSL ran out.
    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        for t in &mut self.sides {
            t.handle_timeout(now);
        }
    }

    /// The destination of the next ACK `side`'s table owes.
    pub(crate) fn front_remote(&self, side: Side) -> Option<std::net::SocketAddr> {
        self.side(side).front_remote()
    }

    /// The next ACK `side`'s table owes, a TCP segment written into `buf`.
    pub(crate) fn poll_transmit(
        &mut self,
        now: Instant,
        side: Side,
        buf: &mut [u8],
    ) -> Option<AddressedTransmit> {
        self.side_mut(side).poll_transmit(now, buf)
    }

    /// Entries held, both sides.
    pub(crate) fn len(&self) -> usize {
        self.sides.iter().map(TimeWaitTable::len).sum()
    }

    /// Bytes held, both sides.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.sides.iter().map(TimeWaitTable::heap_bytes).sum()
    }

    /// The counters of `side`'s table.
    pub(crate) fn stats(&self, side: Side) -> &TimeWaitStats {
        self.side(side).stats()
    }
}
