//! The shard's MPTCP handshakes (RFC 8684 §3.1, §3.2; RFC 6824 §3.1, §3.2 for v0): MP_CAPABLE
//! SYNs get our key in the SYN,ACK, in the SYN's own version, and become MPTCP connections on
//! the third ACK (v0: or on the first data, the third ACK being sent once); MP_JOIN SYNs are
//! checked against the token table and the subflow limit, answered with our HMAC, and
//! attached on a third ACK whose HMAC verifies. Anything else gets a RST with MP_TCPRST
//! (§3.6; a plain RST on a v0 connection, which has no MP_TCPRST) and touches no connection.

use std::collections::HashMap;
use std::net::SocketAddr;

use super::table::{FourTuple, KeyedHasher, Table};
use super::telemetry::{Fallback, JoinRefusal};
use super::{Shard, token_owner};
use crate::mptcp::conn::{Checksums, Connection as Mptcp, MptcpConfig};
use crate::mptcp::crypto::{HashAlgo, KeyRng};
use crate::mptcp::handshake::{self, KeyDeriver, SynOffer, ThirdAck};
use crate::proxy::Client;
use crate::tcp::Connection;
use crate::tcp::hooks::{SynAckOptions, SynNote};
use crate::tcp::listener::{Reply, ReplyOptions};
use crate::time::{Duration, Instant};
use crate::wire::mptcp::{Dss, MpTcpRstReason, MptcpOption, MptcpVersion};
use crate::wire::tcp::{TcpRepr, TcpSeqNumber};

/// Joins waiting for their third ACK, at most, per shard.
const PENDING_JOINS_MAX: usize = 4096;

/// How long a pending join is kept: the listener's SYN,ACK retransmissions (5, from 1 s
/// with backoff) are over by then.
const PENDING_JOIN_TTL: Duration = Duration::from_secs(75);

/// A join answered with our SYN,ACK, waiting for its third ACK (RFC 8684 §3.2).
#[derive(Debug, Clone, Copy)]
pub(super) struct PendingJoin {
    token: u32,
    their_nonce: u32,
    our_nonce: u32,
    remote_id: u8,
    backup: bool,
    at: Instant,
}

/// What a completed MP_CAPABLE handshake established.
#[derive(Debug, Clone, Copy)]
struct Keys {
    version: MptcpVersion,
    remote_key: u64,
    /// Our key as the client echoed it; `None` when no third ACK arrived (v0 only).
    local_key: Option<u64>,
    /// DSS checksums asked for by either side.
    checksums: bool,
}

/// The MP_TCPRST reason code of a refused join (RFC 8684 §3.6).
fn rst_reason(why: JoinRefusal) -> MpTcpRstReason {
    match why {
        // Lack of resources.
        JoinRefusal::SubflowLimit | JoinRefusal::TableFull => MpTcpRstReason(0x02),
        // MPTCP-specific error.
        JoinRefusal::UnknownToken | JoinRefusal::BadHmac | JoinRefusal::NoPendingJoin => {
            MpTcpRstReason(0x01)
        }
    }
}

/// The MPTCP state a shard keeps beside its table.
#[derive(Debug)]
pub(super) struct MptcpShard {
    keys: KeyDeriver,
    nonces: KeyRng,
    /// Our token -> the slot of its connection.
    pub(super) tokens: HashMap<u32, usize, KeyedHasher>,
    joins: HashMap<FourTuple, PendingJoin, KeyedHasher>,
}

impl MptcpShard {
    pub(super) fn new(secret: [u8; 32], worker: u16, hasher: KeyedHasher) -> MptcpShard {
        let mut seed = secret;
        seed[0] ^= 0xa5;
        seed[1] ^= worker as u8;
        seed[2] ^= (worker >> 8) as u8;
        MptcpShard {
            keys: KeyDeriver::new(secret),
            nonces: KeyRng::from_seed(seed),
            tokens: HashMap::with_hasher(hasher),
            joins: HashMap::with_hasher(hasher),
        }
    }
}

impl Shard {
    /// A SYN to listener `i`: plain, MP_CAPABLE or MP_JOIN.
    pub(super) fn on_syn(
        &mut self,
        now: Instant,
        i: usize,
        (local, remote): FourTuple,
        seg: &TcpRepr<'_>,
    ) {
        let service = self.listeners[i].1;
        let cfg = self.services.get(service).and_then(|s| s.mptcp.clone());
        let offer = handshake::syn_offer(seg.options);
        let offer = match &cfg {
            Some(cfg) => offer.within(|v| cfg.versions.allows(v)),
            None => offer,
        };
        if self.draining && !matches!(offer, SynOffer::Join { .. }) {
            self.stats.refused_draining += 1;
            return self.push_client_reply(Reply::reset_for(local, remote, seg));
        }
        let extra = match (offer, cfg) {
            (SynOffer::Join { token, nonce, addr_id, backup }, _) => {
                let join = PendingJoin {
                    token,
                    their_nonce: nonce,
                    our_nonce: 0,
                    remote_id: addr_id,
                    backup,
                    at: now,
                };
                match self.join_syn(now, (local, remote), join) {
                    Ok(extra) => extra,
                    Err(why) => return self.refuse_join_syn(local, remote, seg, token, why),
                }
            }
            (SynOffer::Capable { version, checksums, peer_key }, Some(cfg)) => {
                let tuple = (local, remote);
                self.capable_syn_ack(&cfg, tuple, seg.seq_number, version, checksums, peer_key)
            }
            (SynOffer::Declined(why), Some(_)) => {
                self.stats.mptcp.fallback.add(Fallback::from(why));
                SynAckOptions::EMPTY
            }
            _ => SynAckOptions::EMPTY,
        };
        self.listeners[i].0.handle_segment_with(now, local, remote, seg, extra);
        self.accept(now, i, None);
    }

    /// Our MP_CAPABLE SYN,ACK option, in the SYN's `version`: the key this worker derives
    /// for the SYN. It notes what the third ACK may not repeat: the version, and for v0 the
    /// client's key and the checksum choice (RFC 6824 §3.1: the v0 third ACK is sent once).
    fn capable_syn_ack(
        &mut self,
        cfg: &MptcpConfig,
        (local, remote): FourTuple,
        client_isn: TcpSeqNumber,
        version: MptcpVersion,
        peer_checksums: bool,
        peer_key: Option<u64>,
    ) -> SynAckOptions {
        let Some(key) = self.derive_key(local, remote, client_isn, version) else {
            self.stats.mptcp.fallback.add(Fallback::NoKey);
            return SynAckOptions::EMPTY;
        };
        let checksums = peer_checksums || cfg.checksums == Checksums::Required;
        let version0 = version == MptcpVersion::V0;
        handshake::capable_syn_ack(version, key.key(), checksums, cfg.no_join_to_source)
            .with_note(SynNote { peer_key, version0, checksums })
    }

    /// Our key for a connection of `version`: its token, under the version's hash, names
    /// this worker.
    fn derive_key(
        &self,
        local: SocketAddr,
        remote: SocketAddr,
        client_isn: TcpSeqNumber,
        version: MptcpVersion,
    ) -> Option<crate::mptcp::crypto::KeyMaterial> {
        let (worker, workers) = (self.worker, self.workers);
        let owns = |token| token_owner(token, workers) == worker;
        self.mptcp.keys.key(local, remote, client_isn.0, HashAlgo::from(version), owns)
    }

    /// A join SYN: the connection must exist here and have room (RFC 8684 §3.2).
    fn join_syn(
        &mut self,
        now: Instant,
        tuple: FourTuple,
        mut join: PendingJoin,
    ) -> Result<SynAckOptions, JoinRefusal> {
        let slot = *self.mptcp.tokens.get(&join.token).ok_or(JoinRefusal::UnknownToken)?;
        if let Some(old) = self.mptcp.joins.get(&tuple).filter(|j| j.token == join.token) {
            join.our_nonce = old.our_nonce; // a retransmitted SYN
        } else {
            let pending = self.mptcp.joins.values().filter(|j| j.token == join.token).count();
            let conn = self.mptcp_conn(slot).ok_or(JoinRefusal::UnknownToken)?;
            if !conn.has_room() || conn.live_subflows() + pending >= self.max_subflows(slot) {
                return Err(JoinRefusal::SubflowLimit);
            }
            self.make_room_for_join(now)?;
            join.our_nonce = self.mptcp.nonces.random_u32();
        }
        let conn = self.mptcp_conn(slot).ok_or(JoinRefusal::UnknownToken)?;
        let mac = conn.hmac().syn_ack_hmac(join.our_nonce, join.their_nonce);
        let addr_id = self.local_addr_id(slot, tuple.0);
        self.mptcp.joins.insert(tuple, join);
        Ok(handshake::join_syn_ack(mac, join.our_nonce, addr_id))
    }

    /// Our id for the address a subflow arrived at: 0 for the service address, the
    /// announced id for an announced one.
    fn local_addr_id(&self, slot: usize, local: SocketAddr) -> u8 {
        let service = self.table.get(slot).map(|e| e.service);
        let cfg = service.and_then(|s| self.services.get(s)).and_then(|s| s.mptcp.as_ref());
        let announced = cfg.and_then(|c| c.announce.iter().find(|(_, a)| *a == local.ip()));
        announced.map_or(0, |&(id, _)| id)
    }

    fn max_subflows(&self, slot: usize) -> usize {
        let service = self.table.get(slot).map(|e| e.service);
        let cfg = service.and_then(|s| self.services.get(s)).and_then(|s| s.mptcp.as_ref());
        cfg.map_or(0, |c| c.max_subflows)
    }

    /// Expired pending joins go; a table still full refuses the join.
    fn make_room_for_join(&mut self, now: Instant) -> Result<(), JoinRefusal> {
        if self.mptcp.joins.len() >= PENDING_JOINS_MAX {
            self.mptcp.joins.retain(|_, j| now.saturating_duration_since(j.at) < PENDING_JOIN_TTL);
        }
        if self.mptcp.joins.len() >= PENDING_JOINS_MAX {
            return Err(JoinRefusal::TableFull);
        }
        Ok(())
    }

    fn mptcp_conn(&self, slot: usize) -> Option<&Mptcp> {
        self.table.get(slot)?.splice.client().mptcp()
    }

    /// A RST answering a join SYN for `token` (RFC 8684 §3.2, §3.6).
    fn refuse_join_syn(
        &mut self,
        local: SocketAddr,
        remote: SocketAddr,
        seg: &TcpRepr<'_>,
        token: u32,
        why: JoinRefusal,
    ) {
        self.count_refusal(why);
        let mut reply = Reply::reset_for(local, remote, seg);
        reply.options = self.refusal_options(token, why);
        self.push_client_reply(reply);
    }

    /// The options of a RST refusing a join for `token`: MP_TCPRST (RFC 8684 §3.6), except
    /// for a v0 connection's token, whose version has no MP_TCPRST (RFC 6824): a plain RST.
    /// A token naming no connection gets MP_TCPRST (a v0 peer ignores an option it does not
    /// know, RFC 6824 §3).
    fn refusal_options(&self, token: u32, why: JoinRefusal) -> ReplyOptions {
        let slot = self.mptcp.tokens.get(&token);
        let conn = slot.and_then(|&slot| self.mptcp_conn(slot));
        if conn.is_some_and(|c| c.version() == MptcpVersion::V0) {
            return ReplyOptions::None;
        }
        ReplyOptions::Reset(handshake::reset_option(rst_reason(why)))
    }

    /// A connection the listener established: MPTCP, a joined subflow, or plain TCP.
    /// `offered`: its SYN,ACKs carried our MP_CAPABLE, with what we noted of the SYN.
    pub(super) fn accept_one(
        &mut self,
        now: Instant,
        service: usize,
        client: Connection,
        establishing: Option<&TcpRepr<'_>>,
        offered: Option<SynNote>,
    ) {
        let tuple = (client.local(), client.remote());
        let third = establishing.map_or(ThirdAck::Plain, |s| handshake::third_ack(s.options));
        let cfg = self.services.get(service).and_then(|s| s.mptcp.clone());
        match (third, cfg, establishing) {
            (ThirdAck::Join { hmac }, _, _) => self.attach_join(now, client, &hmac),
            (_, _, _) if self.mptcp.joins.contains_key(&tuple) => {
                let token = self.mptcp.joins.remove(&tuple).map(|j| j.token);
                self.refuse_subflow(&client, token, JoinRefusal::NoPendingJoin);
            }
            (
                ThirdAck::Capable { version, remote_key, local_key, checksums },
                Some(cfg),
                Some(seg),
            ) => {
                let answered = offered.map(|n| n.version0);
                let same_key = offered.and_then(|n| n.peer_key).is_none_or(|k| k == remote_key);
                if answered.is_some_and(|v0| v0 != (version == MptcpVersion::V0)) || !same_key {
                    // RFC 6824 §3.1, RFC 8684 §3.1: the third ACK repeats the SYN's version
                    // and key; anything else is not the handshake we answered.
                    self.stats.mptcp.fallback.add(Fallback::VersionMismatch);
                    self.start(now, service, Client::from(client));
                    return;
                }
                let keys = Keys { version, remote_key, local_key: Some(local_key), checksums };
                self.start_mptcp(now, service, cfg, client, keys, seg)
            }
            (ThirdAck::Plain, Some(cfg), Some(seg)) if offered.is_some_and(|n| n.version0) => {
                self.v0_first_data(now, service, cfg, client, offered.unwrap_or_default(), seg)
            }
            (ThirdAck::Plain, Some(_), _) if offered.is_some() => {
                // RFC 8684 §3.1: our MP_CAPABLE SYN,ACK was answered without the option (a
                // middlebox stripped it): plain TCP.
                self.stats.mptcp.fallback.add(Fallback::NoOptionOnThirdAck);
                self.start(now, service, Client::from(client));
            }
            _ => {
                self.start(now, service, Client::from(client));
            }
        }
    }

    /// A v0 handshake completed by a segment without MP_CAPABLE: the client's third ACK,
    /// sent once and never retransmitted (RFC 6824 §3.1), was lost, and its first data
    /// arrived with a DSS. The connection starts with the client's key from its SYN. Under a
    /// SYN cookie that key is unknown: plain TCP, counted (docs/architecture.md, "MPTCP v0").
    /// Without a DSS, a middlebox stripped the options: plain TCP as in v1.
    fn v0_first_data(
        &mut self,
        now: Instant,
        service: usize,
        cfg: MptcpConfig,
        client: Connection,
        note: SynNote,
        seg: &TcpRepr<'_>,
    ) {
        let dss = seg.options.mptcp().any(|b| {
            matches!(MptcpOption::parse(b, MptcpVersion::V0), Ok(MptcpOption::Dss(Dss { .. })))
        });
        let reason = match (dss, note.peer_key) {
            (true, Some(remote_key)) => {
                let version = MptcpVersion::V0;
                let keys = Keys { version, remote_key, local_key: None, checksums: note.checksums };
                return self.start_mptcp(now, service, cfg, client, keys, seg);
            }
            (true, None) => Fallback::V0KeyLost,
            (false, _) => Fallback::NoOptionOnThirdAck,
        };
        self.stats.mptcp.fallback.add(reason);
        self.start(now, service, Client::from(client));
    }

    /// The MP_CAPABLE third ACK (RFC 8684 §3.1), or a v0 handshake's first data: the echoed
    /// key, if any, must be the one we derive, and its token free.
    fn start_mptcp(
        &mut self,
        now: Instant,
        service: usize,
        cfg: MptcpConfig,
        client: Connection,
        keys: Keys,
        seg: &TcpRepr<'_>,
    ) {
        let irs = client.irs().unwrap_or_default();
        let key = self.derive_key(client.local(), client.remote(), irs, keys.version);
        let key = match key {
            Some(k)
                if keys.local_key.is_none_or(|echoed| echoed == k.key())
                    && !self.mptcp.tokens.contains_key(&k.token()) =>
            {
                k
            }
            _ => {
                self.stats.mptcp.fallback.add(Fallback::KeyMismatch);
                self.start(now, service, Client::from(client));
                return;
            }
        };
        let checksums = keys.checksums || cfg.checksums == Checksums::Required;
        let mut conn = Mptcp::new(cfg, key, keys.remote_key, checksums, client, now);
        conn.on_established(now, seg);
        self.stats.mptcp.connections += 1;
        let token = conn.token();
        if let Some(slot) = self.start(now, service, Client::from(conn)) {
            self.mptcp.tokens.insert(token, slot);
        }
    }

    /// Frees the token of the MPTCP connection in `slot` once it takes no more joins (it
    /// ended), so that a new connection may derive it while this one waits out its
    /// TIME-WAITs. A token already taken over by another slot stays.
    pub(super) fn forget_token(&mut self, slot: usize) {
        let token = self.table.get(slot).and_then(|e| e.splice.client().mptcp()).map(|m| m.token());
        if let Some(token) = token
            && self.mptcp.tokens.get(&token) == Some(&slot)
        {
            self.mptcp.tokens.remove(&token);
        }
    }

    /// The third ACK of a join: its HMAC must verify before the subflow is attached.
    fn attach_join(&mut self, now: Instant, client: Connection, hmac: &[u8; 20]) {
        let tuple = (client.local(), client.remote());
        let Some(join) = self.mptcp.joins.remove(&tuple) else {
            return self.refuse_subflow(&client, None, JoinRefusal::NoPendingJoin);
        };
        let token = Some(join.token);
        let Some(&slot) = self.mptcp.tokens.get(&join.token) else {
            return self.refuse_subflow(&client, token, JoinRefusal::UnknownToken);
        };
        let Some(conn) = self.mptcp_conn(slot) else {
            return self.refuse_subflow(&client, token, JoinRefusal::UnknownToken);
        };
        let Ok(proof) = conn.hmac().verify_ack_hmac(join.our_nonce, join.their_nonce, hmac) else {
            return self.refuse_subflow(&client, token, JoinRefusal::BadHmac);
        };
        let attached = self
            .table
            .get_mut(slot)
            .and_then(|e| e.splice.client_mut().mptcp_mut())
            .map(|m| m.attach(client, proof, join.remote_id, join.backup, now));
        match attached {
            Some(Ok(id)) => {
                self.stats.mptcp.joins_accepted += 1;
                self.table.index_subflow(slot, id, tuple);
                if let Some(e) = self.table.get_mut(slot) {
                    e.status = e.splice.pump(now);
                }
                self.settle(now, slot);
            }
            Some(Err(client)) => self.refuse_subflow(&client, token, JoinRefusal::SubflowLimit),
            None => {}
        }
    }

    /// Resets an accepted subflow that joins the connection of `token` (if known), with
    /// MP_TCPRST unless that connection is v0; no connection is touched (RFC 8684 §3.2).
    fn refuse_subflow(&mut self, client: &Connection, token: Option<u32>, why: JoinRefusal) {
        self.count_refusal(why);
        let options = match token {
            Some(token) => self.refusal_options(token, why),
            None => ReplyOptions::Reset(handshake::reset_option(rst_reason(why))),
        };
        self.reset_accepted(client, options);
    }

    fn count_refusal(&mut self, why: JoinRefusal) {
        self.stats.joins_refused += 1;
        self.stats.mptcp.joins_refused.add(why);
    }

    /// Forgets the token and closed subflows of the entry in `slot`.
    pub(super) fn reap_subflows(&mut self, slot: usize) {
        let slots = mptcp_in(&mut self.table, slot).map_or(0, |m| m.subflow_slots());
        for id in 0..slots {
            if let Some(tuple) = mptcp_in(&mut self.table, slot).and_then(|m| m.reap(id)) {
                self.table.unindex(slot, &tuple);
            }
        }
    }
}

/// The MPTCP connection of the splice in `slot`, if its client is one.
fn mptcp_in(table: &mut Table, slot: usize) -> Option<&mut Mptcp> {
    table.get_mut(slot).and_then(|e| e.splice.client_mut().mptcp_mut())
}
