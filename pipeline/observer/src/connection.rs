//! One observed MPTCP connection: what the observer learnt about it, and the bookkeeping
//! the processing steps (in `handshake`, `join`, `dss`, `signal`) share.

use core::net::SocketAddr;

use netreaktor_pipeline::mptcp::crypto::{HashAlgo, HmacKeys, KeyMaterial};
use netreaktor_pipeline::time::Instant;
use netreaktor_pipeline::wire::mptcp::{MpCapable, MpCapableFlags, MptcpVersion};

use super::check::Tallies;
use super::side::PerSide;
use super::subflow::{JoinNonces, SubflowKind, SubflowState};
use super::{
    Check, CheckDetail, CheckKind, Event, EventKind, Fallback, ObservedSubflow, Outcome, Side,
};

/// How far the MP_CAPABLE handshake got (RFC 8684 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Handshake {
    /// The SYN was seen.
    SynSent,
    /// The SYN/ACK was seen (with or without MP_CAPABLE).
    SynAcked,
    /// The initiator's third ACK was seen.
    Established,
}

/// Per-side state of the data sequence space, for the first-mapping and first-DATA_ACK
/// checks and for restoring 32-bit DSNs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct DataState {
    /// The last 64-bit DSN this side mapped: the reference for expanding 4-octet DSNs.
    pub(super) dsn_ref: Option<u64>,
    /// Whether this side has sent a mapping.
    pub(super) mapped: bool,
    /// Whether its first mapping was checked against its IDSN.
    pub(super) first_mapping_checked: bool,
    /// Whether its first DATA_ACK was checked against the peer's IDSN.
    pub(super) first_ack_checked: bool,
    /// Whether its DATA_FIN was seen.
    pub(super) data_fin: bool,
}

/// Caps on what one connection keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Limits {
    pub(super) max_subflows: usize,
    pub(super) max_events: usize,
    pub(super) max_checks: usize,
}

/// An MPTCP connection followed from its MP_CAPABLE SYN.
///
/// Built and updated only by [`Observer`](super::Observer); read through its accessors.
/// Its `Display` prints a few lines: version, tokens, subflows, checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedConnection {
    version: MptcpVersion,
    initiator: SocketAddr,
    listener: SocketAddr,
    opened_at: Instant,
    raw_keys: PerSide<Option<u64>>,
    keys: PerSide<Option<KeyMaterial>>,
    pub(super) flags: PerSide<Option<MpCapableFlags>>,
    pub(super) handshake: Handshake,
    pub(super) fallback: Option<Fallback>,
    pub(super) confirmed: bool,
    pub(super) subflows: Vec<ObservedSubflow>,
    events: Vec<Event>,
    checks: Vec<Check>,
    tallies: Tallies,
    pub(super) data: PerSide<DataState>,
    limits: Limits,
    dropped_events: u64,
    dropped_checks: u64,
    pub(super) tokens_registered: PerSide<bool>,
}

impl ObservedConnection {
    /// A connection whose MP_CAPABLE SYN `mpc` went from `initiator` to `listener` at `now`.
    pub(super) fn new(
        now: Instant,
        (initiator, listener): (SocketAddr, SocketAddr),
        mpc: &MpCapable,
        limits: Limits,
    ) -> Self {
        let mut first = ObservedSubflow::new(
            0,
            (initiator, listener),
            Side::Initiator,
            SubflowKind::Initial,
            now,
        );
        // RFC 8684 §3.4.1: the addresses of the initial subflow have address ID 0.
        first.addr_id = PerSide([Some(0), Some(0)]);
        let mut conn = ObservedConnection {
            version: mpc.version,
            initiator,
            listener,
            opened_at: now,
            raw_keys: PerSide::default(),
            keys: PerSide::default(),
            flags: PerSide([Some(mpc.flags), None]),
            handshake: Handshake::SynSent,
            fallback: None,
            confirmed: false,
            subflows: vec![first],
            events: Vec::new(),
            checks: Vec::new(),
            tallies: Tallies::default(),
            data: PerSide::default(),
            limits,
            dropped_events: 0,
            dropped_checks: 0,
            tokens_registered: PerSide::default(),
        };
        // RFC 6824 §3.1: a v0 SYN carries the initiator's key.
        if let Some(key) = mpc.sender_key() {
            conn.set_key(Side::Initiator, key);
        }
        conn
    }

    /// The MPTCP version: the SYN's, then the SYN/ACK's once seen (the negotiated one).
    pub fn version(&self) -> MptcpVersion {
        self.version
    }

    /// The initiator's address and port on the initial subflow (the client).
    pub fn initiator(&self) -> SocketAddr {
        self.initiator
    }

    /// The listener's address and port on the initial subflow (the server).
    pub fn listener(&self) -> SocketAddr {
        self.listener
    }

    /// When the MP_CAPABLE SYN was seen.
    pub fn opened_at(&self) -> Instant {
        self.opened_at
    }

    /// `side`'s 64-bit key, once seen in clear (RFC 8684 §3.1).
    pub fn key(&self, side: Side) -> Option<u64> {
        *self.raw_keys.get(side)
    }

    /// `side`'s token, derived from its key.
    pub fn token(&self, side: Side) -> Option<u32> {
        self.keys.get(side).map(|k| k.token())
    }

    /// `side`'s initial data sequence number, derived from its key.
    pub fn idsn(&self, side: Side) -> Option<u64> {
        self.keys.get(side).map(|k| k.idsn())
    }

    /// The MP_CAPABLE flags `side` sent in its SYN or SYN/ACK.
    pub fn flags(&self, side: Side) -> Option<MpCapableFlags> {
        *self.flags.get(side)
    }

    /// Whether DSS checksums are in use: either side set the A bit (RFC 8684 §3.1).
    pub fn checksums(&self) -> bool {
        Side::BOTH.iter().any(|&side| self.flags(side).is_some_and(|f| f.checksum_required()))
    }

    /// Whether the MP_CAPABLE handshake completed (the third ACK was seen).
    pub fn is_established(&self) -> bool {
        self.handshake == Handshake::Established
    }

    /// Whether the listener confirmed MPTCP by sending a DSS, or a join completed.
    pub fn is_confirmed(&self) -> bool {
        self.confirmed
    }

    /// Why the connection is plain TCP, if it is. [`Fallback::NotConfirmed`] is reported
    /// while the handshake completed without confirmation, and may go away with more frames.
    pub fn fallback(&self) -> Option<Fallback> {
        self.fallback.or_else(|| {
            (self.is_established() && !self.confirmed).then_some(Fallback::NotConfirmed)
        })
    }

    /// The subflows, the MP_CAPABLE one first, then in the order their SYNs were seen.
    pub fn subflows(&self) -> &[ObservedSubflow] {
        &self.subflows
    }

    /// The events, in the order seen (at most the configured number; see
    /// [`dropped_events`](Self::dropped_events)).
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// The checks made, in the order made: every failure and every outcome except the
    /// passes of [`CheckKind::MappingConsistency`], which are only counted (see
    /// [`check_count`](Self::check_count)). Capped like the events.
    pub fn checks(&self) -> &[Check] {
        &self.checks
    }

    /// The overall outcome of `kind`: `Fail` if any check of it failed, else `Pass` if any
    /// passed, else `NotSeen`. Exact even when the check list was capped.
    pub fn verdict(&self, kind: CheckKind) -> Outcome {
        self.tallies.verdict(kind)
    }

    /// How many checks of `kind` had `outcome`.
    pub fn check_count(&self, kind: CheckKind, outcome: Outcome) -> u64 {
        self.tallies.count(kind, outcome)
    }

    /// Events not kept because the event list was full.
    pub fn dropped_events(&self) -> u64 {
        self.dropped_events
    }

    /// Checks not kept because the check list was full (still counted in the verdicts).
    pub fn dropped_checks(&self) -> u64 {
        self.dropped_checks
    }

    /// The side whose token is `token`.
    pub(super) fn side_with_token(&self, token: u32) -> Option<Side> {
        Side::BOTH.into_iter().find(|&side| self.token(side) == Some(token))
    }

    /// Records `side`'s key and derives its token and IDSN for the current version.
    pub(super) fn set_key(&mut self, side: Side, key: u64) {
        *self.raw_keys.get_mut(side) = Some(key);
        *self.keys.get_mut(side) = Some(KeyMaterial::new(key, HashAlgo::from(self.version)));
    }

    /// Switches to the negotiated `version`, deriving the known keys again.
    pub(super) fn set_version(&mut self, version: MptcpVersion) {
        if version == self.version {
            return;
        }
        self.version = version;
        for side in Side::BOTH {
            if let Some(key) = self.key(side) {
                self.set_key(side, key);
            }
        }
    }

    /// The HMAC states seen from `local`, once both keys are known.
    pub(super) fn hmac_keys(&self, local: Side) -> Option<HmacKeys> {
        let local_key = self.keys.get(local).as_ref()?;
        Some(HmacKeys::new(local_key, self.key(local.peer())?))
    }

    /// Adds an MP_JOIN subflow opened by `joiner`; `None` beyond the subflow limit.
    pub(super) fn add_join(
        &mut self,
        now: Instant,
        addrs: (SocketAddr, SocketAddr),
        joiner: Side,
        join: (u32, bool, u8, u32),
    ) -> Option<usize> {
        let (token, backup, addr_id, nonce) = join;
        let index = self.subflows.len();
        if index >= self.limits.max_subflows {
            return None;
        }
        let mut subflow =
            ObservedSubflow::new(index, addrs, joiner, SubflowKind::Join { token }, now);
        *subflow.addr_id.get_mut(joiner) = Some(addr_id);
        *subflow.backup.get_mut(joiner) = backup;
        subflow.join = Some(JoinNonces { joiner: nonce, responder: None });
        self.subflows.push(subflow);
        let detail = Some(CheckDetail::Token(token));
        self.record(now, index, joiner, CheckKind::JoinToken, Outcome::Pass, detail);
        Some(index)
    }

    /// Records a check; mapping-consistency passes are only counted.
    pub(super) fn record(
        &mut self,
        at: Instant,
        subflow: usize,
        from: Side,
        kind: CheckKind,
        outcome: Outcome,
        detail: Option<CheckDetail>,
    ) {
        self.tallies.add(kind, outcome);
        if kind == CheckKind::MappingConsistency && outcome == Outcome::Pass {
            return;
        }
        if self.checks.len() >= self.limits.max_checks {
            self.dropped_checks = self.dropped_checks.saturating_add(1);
            return;
        }
        self.checks.push(Check { kind, outcome, at, subflow, from, detail });
    }

    /// Appends an event, unless the event list is full.
    pub(super) fn push_event(&mut self, at: Instant, subflow: usize, from: Side, kind: EventKind) {
        if self.events.len() >= self.limits.max_events {
            self.dropped_events = self.dropped_events.saturating_add(1);
            return;
        }
        self.events.push(Event { at, subflow, from, kind });
    }

    /// Records the first reason the connection fell back to TCP.
    pub(super) fn fall_back(&mut self, at: Instant, subflow: usize, from: Side, why: Fallback) {
        if self.fallback.is_none() {
            self.fallback = Some(why);
            self.push_event(at, subflow, from, EventKind::FellBack(why));
        }
    }

    /// Marks a subflow established at `now`.
    pub(super) fn establish(&mut self, subflow: usize, now: Instant) {
        if let Some(sub) = self.subflows.get_mut(subflow) {
            sub.state = SubflowState::Established;
            sub.established_at.get_or_insert(now);
        }
    }
}
