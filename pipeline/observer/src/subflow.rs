//! One subflow of an observed connection: its addresses, state and traffic.

use core::net::SocketAddr;

use netreaktor_pipeline::time::Instant;
use netreaktor_pipeline::wire::tcp::{TcpFlags, TcpRepr, TcpSeqNumber};

use super::Side;
use super::mapping::MappingLog;
use super::side::PerSide;

/// How a subflow came to belong to its connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubflowKind {
    /// The subflow of the MP_CAPABLE handshake (RFC 8684 §3.1).
    Initial,
    /// An MP_JOIN subflow (RFC 8684 §3.2).
    Join {
        /// The token its SYN carried: the responder's token.
        token: u32,
    },
}

/// Where a subflow is in its life.
///
/// ```text
/// Opening --SYN/ACK--> SynAcked --third ACK--> Established            (MP_CAPABLE, RFC 8684 §3.1)
/// Opening --SYN/ACK--> SynAcked --third ACK--> PreEstablished
///                                 --responder's ACK--> Established     (MP_JOIN, RFC 8684 §3.2)
/// Opening --SYN/ACK without MP_JOIN--> Refused                          (MP_JOIN)
/// any state before Established --RST--> Refused                        (MP_JOIN)
/// any other state that is not final --RST--> Reset
/// any state that is not final --FIN seen both ways--> Closed
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubflowState {
    /// The SYN was seen.
    Opening,
    /// The SYN/ACK was seen.
    SynAcked,
    /// MP_JOIN only: the third ACK was seen, the responder's ACK of it not yet
    /// (RFC 8684 §3.2: the subflow is usable once that ACK arrives).
    PreEstablished,
    /// The handshake completed.
    Established,
    /// MP_JOIN only: reset (or answered without MP_JOIN) before it was established.
    Refused,
    /// Reset after it was established.
    Reset,
    /// Both sides sent FIN.
    Closed,
}

/// The nonces of an MP_JOIN handshake (RFC 8684 §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct JoinNonces {
    /// The joining side's nonce, from the SYN.
    pub(super) joiner: u32,
    /// The responder's nonce, from the SYN/ACK.
    pub(super) responder: Option<u32>,
}

/// One subflow: a TCP connection carrying part of an MPTCP connection.
///
/// Per-side values are indexed by the [`Side`] of the MPTCP connection that sent them,
/// whichever side opened this subflow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedSubflow {
    index: usize,
    src: SocketAddr,
    dst: SocketAddr,
    opened_by: Side,
    kind: SubflowKind,
    pub(super) state: SubflowState,
    opened_at: Instant,
    pub(super) established_at: Option<Instant>,
    closed_at: Option<Instant>,
    pub(super) addr_id: PerSide<Option<u8>>,
    pub(super) backup: PerSide<bool>,
    isn: PerSide<Option<TcpSeqNumber>>,
    highest: PerSide<Option<TcpSeqNumber>>,
    bytes: PerSide<u64>,
    retransmitted: PerSide<u64>,
    first_data: PerSide<Option<Instant>>,
    last_data: PerSide<Option<Instant>>,
    fin: PerSide<bool>,
    pub(super) join: Option<JoinNonces>,
    pub(super) mappings: PerSide<MappingLog>,
}

impl ObservedSubflow {
    /// A subflow whose SYN went from `src` to `dst` at `now`, sent by `opened_by`.
    pub(super) fn new(
        index: usize,
        (src, dst): (SocketAddr, SocketAddr),
        opened_by: Side,
        kind: SubflowKind,
        now: Instant,
    ) -> Self {
        ObservedSubflow {
            index,
            src,
            dst,
            opened_by,
            kind,
            state: SubflowState::Opening,
            opened_at: now,
            established_at: None,
            closed_at: None,
            addr_id: PerSide::default(),
            backup: PerSide::default(),
            isn: PerSide::default(),
            highest: PerSide::default(),
            bytes: PerSide::default(),
            retransmitted: PerSide::default(),
            first_data: PerSide::default(),
            last_data: PerSide::default(),
            fin: PerSide::default(),
            join: None,
            mappings: PerSide::default(),
        }
    }

    /// Its position in [`ObservedConnection::subflows`](super::ObservedConnection::subflows).
    pub fn index(&self) -> usize {
        self.index
    }

    /// The address and port that sent the SYN.
    pub fn src(&self) -> SocketAddr {
        self.src
    }

    /// The address and port the SYN went to.
    pub fn dst(&self) -> SocketAddr {
        self.dst
    }

    /// The address and port `side` uses on this subflow.
    pub fn addr(&self, side: Side) -> SocketAddr {
        if side == self.opened_by { self.src } else { self.dst }
    }

    /// The side that sent the SYN.
    pub fn opened_by(&self) -> Side {
        self.opened_by
    }

    /// The MP_CAPABLE subflow or an MP_JOIN one.
    pub fn kind(&self) -> SubflowKind {
        self.kind
    }

    /// Where the subflow is in its life.
    pub fn state(&self) -> SubflowState {
        self.state
    }

    /// When its SYN was seen.
    pub fn opened_at(&self) -> Instant {
        self.opened_at
    }

    /// When its handshake completed.
    pub fn established_at(&self) -> Option<Instant> {
        self.established_at
    }

    /// When it was reset, refused, or its second FIN seen.
    pub fn closed_at(&self) -> Option<Instant> {
        self.closed_at
    }

    /// The address ID `side` gave its address of this subflow (0 on the initial subflow,
    /// RFC 8684 §3.4.1; from the MP_JOIN SYN or SYN/ACK otherwise).
    pub fn addr_id(&self, side: Side) -> Option<u8> {
        *self.addr_id.get(side)
    }

    /// Whether `side` asked for this subflow to be a backup (B bit of its MP_JOIN, or its
    /// latest MP_PRIO).
    pub fn backup(&self, side: Side) -> bool {
        *self.backup.get(side)
    }

    /// Whether either side asked for this subflow to be a backup.
    pub fn is_backup(&self) -> bool {
        Side::BOTH.iter().any(|&side| self.backup(side))
    }

    /// New payload octets `side` sent (sequence space advanced; retransmissions excluded).
    pub fn bytes(&self, side: Side) -> u64 {
        *self.bytes.get(side)
    }

    /// Payload octets `side` sent again (at or below the highest sequence number seen).
    pub fn retransmitted(&self, side: Side) -> u64 {
        *self.retransmitted.get(side)
    }

    /// When `side` first sent new data.
    pub fn first_data(&self, side: Side) -> Option<Instant> {
        *self.first_data.get(side)
    }

    /// When `side` last sent new data.
    pub fn last_data(&self, side: Side) -> Option<Instant> {
        *self.last_data.get(side)
    }

    /// When either side first sent new data.
    pub fn first_data_any(&self) -> Option<Instant> {
        Side::BOTH.iter().filter_map(|&side| self.first_data(side)).min()
    }

    /// When either side last sent new data.
    pub fn last_data_any(&self) -> Option<Instant> {
        Side::BOTH.iter().filter_map(|&side| self.last_data(side)).max()
    }

    /// Whether it was reset, refused or closed.
    pub fn is_finished(&self) -> bool {
        matches!(self.state, SubflowState::Refused | SubflowState::Reset | SubflowState::Closed)
    }

    /// TCP-level bookkeeping of a segment `from` sent: ISN, octets, data times, FIN.
    pub(super) fn on_tcp(&mut self, now: Instant, from: Side, tcp: &TcpRepr<'_>) {
        let syn = tcp.flags.contains(TcpFlags::SYN);
        if syn && self.isn.get(from).is_none() {
            *self.isn.get_mut(from) = Some(tcp.seq_number);
        }
        if !tcp.payload.is_empty() {
            let start = tcp.seq_number + usize::from(syn);
            self.on_data(now, from, start, tcp.payload.len());
        }
        if tcp.flags.contains(TcpFlags::FIN) {
            *self.fin.get_mut(from) = true;
            if Side::BOTH.iter().all(|&side| *self.fin.get(side)) && !self.is_finished() {
                self.finish(SubflowState::Closed, now);
            }
        }
    }

    /// Counts `len` payload octets from `start`, new or retransmitted.
    fn on_data(&mut self, now: Instant, from: Side, start: TcpSeqNumber, len: usize) {
        let end = start + len;
        let len = u64::try_from(len).unwrap_or(u64::MAX);
        let fresh = match *self.highest.get(from) {
            None => len,
            Some(highest) if end > highest => {
                u64::try_from(end - highest).map_or(len, |ahead| ahead.min(len))
            }
            Some(_) => 0,
        };
        if fresh > 0 {
            *self.highest.get_mut(from) = Some(end);
            let bytes = self.bytes.get_mut(from);
            *bytes = bytes.saturating_add(fresh);
            self.first_data.get_mut(from).get_or_insert(now);
            *self.last_data.get_mut(from) = Some(now);
        }
        let again = self.retransmitted.get_mut(from);
        *again = again.saturating_add(len - fresh);
    }

    /// Moves to a final state at `now`.
    pub(super) fn finish(&mut self, state: SubflowState, now: Instant) {
        self.state = state;
        self.closed_at.get_or_insert(now);
    }
}
