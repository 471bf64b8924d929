//! A shard's counters: what came in, what was dropped and why, how splices ended.

use super::histogram::Histogram;
use super::telemetry::{
    CookieCheck, Counts, EndKind, Fallback, FrameDrop, JoinRefusal, SynAnswer, SynDrop,
};
use crate::proxy::{SpliceEnd, SplicePhase, SpliceStatus};
use crate::tcp::listener::ListenerStats;

/// Counters of one shard, monotonic except `active`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ShardStats {
    /// Frames handed to [`Shard::handle_frame`](super::Shard::handle_frame).
    pub frames: u64,
    /// Frames dropped before any connection saw them, by reason.
    pub dropped: Counts<FrameDrop>,
    /// TCP segments other than a SYN for no connection, half-open or not (answered with a
    /// RST unless RSTs, RFC 9293 §3.10.7.1-2).
    pub unmatched: u64,
    /// MP_JOINs refused, all reasons together (by reason: [`MptcpCounters::joins_refused`]).
    pub joins_refused: u64,
    /// Client connections accepted (handshake complete).
    pub accepted: u64,
    /// Client connections reset because their service was at `max_connections`.
    pub refused_limit: u64,
    /// SYNs answered with a RST because the appliance is draining ([`Shard::drain`]).
    ///
    /// [`Shard::drain`]: super::Shard::drain
    pub refused_draining: u64,
    /// Splices held now.
    pub active: u64,
    /// Origin connect attempts, and how many of them were retries.
    pub origin_attempts: u64,
    /// Retries after a failed origin connect.
    pub origin_retries: u64,
    /// No free origin-side source port: the client was reset.
    pub ports_exhausted: u64,
    /// Origin-side ports taken over from a connection in TIME-WAIT (RFC 6191).
    pub time_wait_reused: u64,
    /// Splice ends by kind.
    pub ended: Counts<EndKind>,
    /// Bytes moved client -> origin.
    pub bytes_to_origin: u64,
    /// Bytes moved origin -> client.
    pub bytes_to_client: u64,
    /// Segments written by [`Shard::poll_transmit`](super::Shard::poll_transmit).
    pub segments_out: u64,
    /// Replies (RSTs) not sent because the reply queue was full.
    pub replies_dropped: u64,
    /// Packets not sent: no next-hop MAC known for their destination
    /// ([`Shard::poll_frame`](super::Shard::poll_frame)). TCP retransmits them.
    pub no_neighbour: u64,
    /// MPTCP: handshakes, fallbacks, joins.
    pub mptcp: MptcpCounters,
    /// From a client connection's acceptance to its origin connection's establishment.
    pub setup: Histogram,
}

/// A shard's MPTCP counters (RFC 8684 handshakes, fallbacks, joins, failover).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MptcpCounters {
    /// MPTCP connections established (MP_CAPABLE handshake complete).
    pub connections: u64,
    /// Clients that offered MPTCP and got plain TCP, by reason.
    pub fallback: Counts<Fallback>,
    /// Subflows joined (HMAC verified, attached).
    pub joins_accepted: u64,
    /// Joins refused with a RST (MP_TCPRST, except for a v0 connection), by reason.
    pub joins_refused: Counts<JoinRefusal>,
    /// Subflows marked potentially failed (no progress past the failover time), summed
    /// over connections once they ended.
    pub potentially_failed: u64,
    /// Bytes reinjected on another subflow, summed over ended connections.
    pub reinjected_bytes: u64,
    /// Bytes resent to probe potentially failed subflows, summed over ended connections.
    pub probe_bytes: u64,
    /// MPTCP options that did not parse, summed over ended connections.
    pub malformed_options: u64,
    /// MP_FASTCLOSE received, summed over ended connections.
    pub fastclose_received: u64,
    /// Connections reset because the client never DATA_ACKed our DATA_FIN.
    pub data_fin_gave_up: u64,
    /// Handover stalls: how long the data level made no progress across a subflow's
    /// failure or end (see [`Connection::take_handover_stall`]).
    ///
    /// [`Connection::take_handover_stall`]: crate::mptcp::conn::Connection::take_handover_stall
    pub handover_stall: Histogram,
}

impl MptcpCounters {
    /// Adds an ended connection's own counters.
    pub(crate) fn add_connection(&mut self, s: &crate::mptcp::conn::MptcpStats) {
        self.potentially_failed += s.potentially_failed;
        self.reinjected_bytes += s.reinjected_bytes;
        self.probe_bytes += s.probe_bytes;
        self.malformed_options += s.malformed_options;
        self.fastclose_received += s.fastclose_received;
        self.data_fin_gave_up += s.data_fin_gave_up;
    }
}

/// What a shard's listeners did with SYNs and cookie ACKs, summed over its services
/// ([`Shard::syn_stats`](super::Shard::syn_stats)). Every new SYN is answered or dropped by
/// reason: `received` is the sum of `answered` and `dropped`. A SYN retransmitted for a
/// half-open connection is answered by that connection and counted in none of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SynStats {
    /// New SYNs (no half-open or held connection of their 4-tuple).
    pub received: u64,
    /// SYN,ACKs sent for them, by kind.
    pub answered: Counts<SynAnswer>,
    /// SYNs left unanswered, by reason.
    pub dropped: Counts<SynDrop>,
    /// ACKs in LISTEN whose cookie was checked, by result.
    pub cookies: Counts<CookieCheck>,
    /// Half-open connections held now.
    pub half_open: usize,
}

impl SynStats {
    /// Adds a listener's counters and its half-open connections.
    pub(crate) fn add(&mut self, s: &ListenerStats, half_open: usize) {
        self.received += s.syns;
        self.answered.add_n(SynAnswer::Table, s.half_open_created);
        self.answered.add_n(SynAnswer::Cookie, s.cookies_sent);
        self.dropped.add_n(SynDrop::HalfOpenFull, s.dropped_half_open_full);
        self.dropped.add_n(SynDrop::ReplyQueueFull, s.dropped_syn_reply_queue_full);
        self.cookies.add_n(CookieCheck::Valid, s.cookies_valid);
        self.cookies.add_n(CookieCheck::Invalid, s.cookies_invalid);
        self.half_open += half_open;
    }
}

/// The connections a shard holds now ([`Shard::census`](super::Shard::census)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Census {
    /// Splices by phase, in [`SplicePhase::ALL`] order.
    pub phases: [usize; SplicePhase::ALL.len()],
    /// Splices whose client side is MPTCP.
    pub mptcp_connections: usize,
    /// Their subflows not ended.
    pub subflows: usize,
}

/// The end a status reports, if it is final.
pub(crate) fn finished(status: SpliceStatus) -> Option<SpliceEnd> {
    match status {
        SpliceStatus::Finished(end) => Some(end),
        _ => None,
    }
}
