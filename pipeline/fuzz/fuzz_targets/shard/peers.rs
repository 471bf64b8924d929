//! The fake clients and origins of the shard target: just enough state per flow (sequence
//! numbers, timestamps, MPTCP keys and data sequence numbers) for the next operation to
//! answer what the shard sent, so handshakes complete and data flows.

use std::net::SocketAddr;

use netreaktor_pipeline::mptcp::crypto::{HashAlgo, idsn, token};
use netreaktor_pipeline::wire::tcp::TcpFlags;

use super::wire::Seen;

/// Client flows, each on its own 4-tuple (`client_addr`).
pub const CLIENTS: usize = 16;
/// MPTCP connections the clients remember.
pub const CONNS: usize = 8;
/// Origin flows remembered (the shard's SYNs toward origins).
pub const ORIGINS: usize = 8;

/// The address and port of client flow `slot`.
pub fn client_addr(slot: usize) -> SocketAddr {
    let host = 1 + (slot / 4) as u8;
    SocketAddr::from(([10, 1, 0, host], 5000 + (slot % 4) as u16))
}

/// An MPTCP connection as the client sees it (RFC 8684 §3.1; v0, RFC 6824, with SHA-1).
#[derive(Debug, Clone, Copy)]
pub struct MpConn {
    pub key: u64,
    /// The version's hash: SHA-1 for v0, SHA-256 for v1.
    pub algo: HashAlgo,
    pub server_key: Option<u64>,
    pub checksums: bool,
    /// The data sequence number of our next byte.
    pub dsn_nxt: u64,
    /// The data sequence number we expect next from the shard.
    pub data_rcv: u64,
}

impl MpConn {
    pub fn new(key: u64, checksums: bool, algo: HashAlgo) -> MpConn {
        let dsn_nxt = idsn(key, algo).wrapping_add(1);
        MpConn { key, algo, server_key: None, checksums, dsn_nxt, data_rcv: 0 }
    }

    /// The token naming the connection at the shard, once its key is known.
    pub fn token(&self) -> Option<u32> {
        self.server_key.map(|k| token(k, self.algo))
    }
}

/// What a client SYN offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offer {
    Plain,
    Capable,
    Join { nonce: u32, server_nonce: Option<u32> },
}

/// One client flow.
#[derive(Debug, Clone, Copy)]
pub struct Client {
    pub addr: SocketAddr,
    pub service: SocketAddr,
    /// The worker whose receive queue RSS puts the flow on.
    pub queue: usize,
    pub iss: u32,
    pub snd_nxt: u32,
    /// The shard's ISS and next expected byte, once its SYN,ACK came.
    pub irs: Option<u32>,
    pub rcv_nxt: u32,
    pub ts_recent: Option<u32>,
    pub offer: Offer,
    /// Index into the MPTCP connections, for MP_CAPABLE and MP_JOIN flows.
    pub conn: Option<usize>,
}

impl Client {
    /// The flow's view of a segment the shard sent it.
    pub fn on_seen(&mut self, seen: &Seen, conns: &mut [Option<MpConn>; CONNS]) {
        if seen.tsval.is_some() {
            self.ts_recent = seen.tsval;
        }
        let conn = self.conn.and_then(|i| conns[i].as_mut());
        if seen.flags.contains(TcpFlags::SYN | TcpFlags::ACK) {
            self.irs = Some(seen.seq);
            self.rcv_nxt = seen.seq.wrapping_add(1);
            if let (Some(key), Some(conn)) = (seen.key, conn) {
                conn.server_key = Some(key);
                conn.data_rcv = idsn(key, conn.algo).wrapping_add(1);
            } else if let Offer::Join { nonce, .. } = self.offer {
                self.offer = Offer::Join { nonce, server_nonce: seen.join_nonce };
            }
            return;
        }
        if !in_order(seen.seq, self.rcv_nxt) {
            return;
        }
        if ahead(seen.end(), self.rcv_nxt) {
            self.rcv_nxt = seen.end();
        }
        // A mapping's data-level length counts its DATA_FIN (RFC 8684 §3.3.3), which may come
        // on a segment without data.
        if let (Some(m), Some(conn)) = (seen.dss.and_then(|d| d.mapping), conn) {
            let end = m.dsn.expand(conn.data_rcv).wrapping_add(u64::from(m.data_len));
            if (end.wrapping_sub(conn.data_rcv) as i64) > 0 {
                conn.data_rcv = end;
            }
        }
    }
}

/// One origin connection the shard opened.
#[derive(Debug, Clone, Copy)]
pub struct Origin {
    /// The shard's address and port.
    pub shard: SocketAddr,
    pub addr: SocketAddr,
    pub snd_nxt: u32,
    pub rcv_nxt: u32,
    /// The shard's latest TSval.
    pub ts_recent: Option<u32>,
    /// Whether both SYNs carried timestamps (RFC 7323 §3.2).
    pub ts: bool,
}

impl Origin {
    /// The origin's view of a segment the shard sent it (not a SYN: that opens a new one).
    pub fn on_seen(&mut self, seen: &Seen) {
        if seen.tsval.is_some() {
            self.ts_recent = seen.tsval;
        }
        if in_order(seen.seq, self.rcv_nxt) && ahead(seen.end(), self.rcv_nxt) {
            self.rcv_nxt = seen.end();
        }
    }
}

/// Whether `seq` is at or before `rcv_nxt` (the segment starts in what we have).
fn in_order(seq: u32, rcv_nxt: u32) -> bool {
    (rcv_nxt.wrapping_sub(seq) as i32) >= 0
}

/// Whether `end` is past `rcv_nxt`.
fn ahead(end: u32, rcv_nxt: u32) -> bool {
    (end.wrapping_sub(rcv_nxt) as i32) > 0
}

/// The peers around the two shards.
pub struct Peers {
    pub clients: [Option<Client>; CLIENTS],
    pub conns: [Option<MpConn>; CONNS],
    /// Oldest first; a new SYN from the shard replaces the oldest past `ORIGINS`.
    pub origins: Vec<Origin>,
}

impl Peers {
    pub fn new() -> Peers {
        Peers { clients: [None; CLIENTS], conns: [None; CONNS], origins: Vec::new() }
    }

    /// Hands a segment the shard sent to the peer it is for.
    pub fn on_seen(&mut self, seen: &Seen) {
        use netreaktor_pipeline::proxy::Side;
        match seen.side {
            Side::Client => {
                let flow = self.clients.iter_mut().flatten();
                let mut flow = flow.filter(|c| c.addr == seen.remote && c.service == seen.local);
                if let Some(c) = flow.next() {
                    c.on_seen(seen, &mut self.conns);
                }
            }
            Side::Origin => self.on_origin_seen(seen),
        }
    }

    fn on_origin_seen(&mut self, seen: &Seen) {
        let same = |o: &Origin| o.shard == seen.local && o.addr == seen.remote;
        if seen.flags.contains(TcpFlags::SYN) && !seen.flags.contains(TcpFlags::ACK) {
            self.origins.retain(|o| !same(o));
            if self.origins.len() >= ORIGINS {
                self.origins.remove(0);
            }
            let rcv_nxt = seen.seq.wrapping_add(1);
            let origin = Origin {
                shard: seen.local,
                addr: seen.remote,
                snd_nxt: 0,
                rcv_nxt,
                ts_recent: seen.tsval,
                ts: false,
            };
            self.origins.push(origin);
        } else if let Some(o) = self.origins.iter_mut().find(|o| same(o)) {
            o.on_seen(seen);
        }
    }
}
