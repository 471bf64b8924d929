//! Two workers' shards (worker 0 and 1 of 2) under operation sequences: fake clients and
//! origins that answer what the shards sent, so handshakes complete (plain TCP, MPTCP with
//! MP_CAPABLE, MP_JOIN with a verified HMAC), data and FINs flow, origins refuse or reset,
//! and time runs on through the timers and TIME-WAIT; arbitrary segments and raw frames in
//! between. Every frame is routed as the worker does (`Router::route`, then the next shard
//! with `last` when the first says `NotHere`). Asserts after every operation: no panic; every
//! packet a shard writes parses with good checksums, from a port of its own worker; each
//! shard's connections and heap stay within the configured limits, and `stats().active` says
//! how many it holds; the census kept as splices settle equals one counted afresh. After the
//! last operation, with every peer silent, the timers must end every connection.
//!
//! Input format (all integers big-endian; the input reads as zeros once it runs dry):
//! - byte 0: the configuration. Bit 0: the plain service sends a PROXY protocol header;
//!   bit 1: the MPTCP service requires DSS checksums; bit 2: no TCP timestamps at the shards.
//! - then operations, at most 512: an opcode byte `op`, `op % 12` choosing, and its fields:
//!   - 0 client SYN: `slot kind iss:u32`. `slot % 16` names the client 4-tuple. `kind`:
//!     bits 0-2 `% 5` = plain, MP_CAPABLE v1, v1 with checksums (A), v0, MP_JOIN; bit 3:
//!     to the plain service (else the MPTCP one); bit 4: timestamps; bit 5: SACK-permitted
//!     and window scale; bit 6: a backup join; bit 7: RSS puts the flow on worker 1. A join
//!     reads `conn nonce:u32` more: `conn % 8` picks a client MPTCP connection whose token
//!     the join carries (a token from the shard's key), or, if it has none, `nonce` is the
//!     token too.
//!   - 1 client handshake ACK: `slot mode` (+ `len data` if mode bit 0): the third ACK,
//!     echoing the MP_CAPABLE keys in the SYN's version (v1: with the data as
//!     `BothWithData` if any; v0: the data mapped by a DSS beside it) or the MP_JOIN
//!     HMAC; mode bit 1 spoils the key or HMAC, bit 2 leaves the MPTCP option out.
//!   - 2 client data: `slot mode len data`. Mode bit 0: a DSS mapping; 1: a DATA_ACK; 2: FIN;
//!     3: DATA_FIN; 4: RSS moves the flow to the other worker; 5: 64-bit DSN; 6: a wrong
//!     DSS checksum; 7: zero window.
//!   - 3 client ACK: `slot mode`. Bit 0: no DATA_ACK; 1: zero window; 2: RSS moves the flow.
//!   - 4 client RST: `slot mode`. Bit 0: MP_FASTCLOSE (on an ACK unless bit 1: on the RST).
//!   - 5 origin SYN,ACK: `idx mode iss:u32` answering the shard's SYN `idx % n` (oldest
//!     first). Bit 0: refuse it with RST,ACK; 1: no timestamps; 7: receive queue.
//!   - 6 origin data: `idx mode len data`. Bit 0: FIN; 7: receive queue.
//!   - 7 origin ACK or RST: `idx mode`. Bit 0: RST; 1: zero window; 7: receive queue.
//!   - 8 raw frame: `queue len bytes`.
//!   - 9 fuzzed segment on a flow: `target flags:u16 seq_off:u16 ack_off:u16 window:u16
//!     len options len payload`; `target` bit 7 picks an origin flow (`% n`; bit 6: receive
//!     queue), else client flow `target % 16` (on its own queue); sequence and acknowledgment
//!     numbers are the flow's plus the offsets.
//!   - 10 time: `mode amount:u16`. `mode % 4`: 0 to the next timer due, 1 `amount` ms,
//!     2 `amount` µs × 16, 3 `amount % 600` seconds.
//!   - 11 stopping: `mode`. Bit 0: `abort_all`, else `drain` (for good); bit 1: worker 1.
//!
//! Every operation also moves the clock 1 ms on. `fuzz/seeds/shard` holds inputs that
//! establish a plain splice on either worker and MPTCP connections (one with a joined
//! subflow, one with DSS checksums, and in v0 one with a join and one whose third ACK is
//! lost), move data both ways and close; `shard/seeds.py` writes them.
#![no_main]

#[path = "shard/ops.rs"]
mod ops;
#[path = "shard/peers.rs"]
mod peers;
#[path = "shard/wire.rs"]
mod wire;

use std::net::SocketAddr;

use libfuzzer_sys::fuzz_target;
use netreaktor_pipeline::mptcp::conn::{Checksums, MptcpConfig};
use netreaktor_pipeline::proxy::{Side, SpliceConfig};
use netreaktor_pipeline::shard::{
    FrameOutcome, Route, Router, ServiceConfig, Shard, ShardConfig, port_owner,
};
use netreaktor_pipeline::tcp::Config;
use netreaktor_pipeline::tcp::listener::ListenerConfig;
use netreaktor_pipeline::tcp::time_wait::TimeWaitTable;
use netreaktor_pipeline::time::{Duration, Instant};
use netreaktor_pipeline::wire::frame::ChecksumPolicy;

use peers::Peers;

const PLAIN: &str = "10.9.0.2:80";
const MPTCP: &str = "10.9.0.3:443";
const SOURCE: &str = "10.10.0.1";
const PORTS: std::ops::RangeInclusive<u16> = 40_000..=40_005;
const WORKERS: u16 = 2;
/// Per service and shard.
const MAX_CONNECTIONS: usize = 2;
const SEND_BUFFER: usize = 4096;
const RECV_BUFFER: usize = 4096;
const MPTCP_BUFFER: usize = 8192;
const MAX_SUBFLOWS: usize = 3;
/// Connections a shard may hold beyond those counted against `max_connections`: closing
/// ones, bounded by its origin ports (3 per origin), and a few in transit.
const CONNECTION_SLACK: usize = 8;
/// Segments one drain may take from a shard before it counts as never stopping.
const MAX_BURST: usize = 10_000;
/// After the last operation, with the peers silent, every connection must be gone within
/// this much time: the idle timeout (120 s) and TIME-WAIT (2·MSL) with room to spare.
const WIND_DOWN: Duration = Duration::from_secs(600);
/// Timer runs allowed meanwhile: 200 a second on average. A potentially failed subflow of an
/// idle connection is probed every max(SRTT, 20 ms) until the idle timeout while another
/// subflow looks usable (docs/architecture.md, "Failover"): about 115 runs a second with the
/// TCP timers; a timer that fires on every run (a deadline never moved) still fails.
const WIND_DOWN_RUNS: usize = 120_000;

/// Reads the fuzz input; runs dry as zeros.
pub struct Input<'a>(&'a [u8]);

impl<'a> Input<'a> {
    pub fn u8(&mut self) -> u8 {
        let (&b, rest) = self.0.split_first().unwrap_or((&0, &[]));
        self.0 = rest;
        b
    }
    pub fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }
    pub fn u32(&mut self) -> u32 {
        u32::from_be_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }
    /// A length byte, then up to that many bytes (at most `max`).
    pub fn bytes(&mut self, max: usize) -> &'a [u8] {
        let n = usize::from(self.u8()).min(max).min(self.0.len());
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        head
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("a constant address")
}

fn tcp_config(flags: u8) -> Config {
    let timestamps = flags & 4 == 0;
    let c = Config { send_buffer: SEND_BUFFER, recv_buffer: RECV_BUFFER, ..Config::default() };
    Config { max_holes: 4, timestamps, ..c }
}

fn service(name: &str, listen: &str, origins: &[&str], flags: u8) -> ServiceConfig {
    let listener = ListenerConfig {
        tcp: tcp_config(flags),
        half_open_max: 2,
        accept_backlog: 2,
        reply_queue: 8,
        syn_cookies: true,
        synack_retries: 2,
    };
    let splice = SpliceConfig {
        connect_timeout: Duration::from_secs(3),
        idle_timeout: Some(Duration::from_secs(120)),
        proxy_protocol: false,
        origin_timeout: Some(Duration::from_secs(30)),
    };
    ServiceConfig {
        name: name.into(),
        listen: vec![addr(listen)],
        origins: origins.iter().map(|o| addr(o)).collect(),
        max_tries: 2,
        health: None,
        max_connections: MAX_CONNECTIONS,
        splice,
        listener,
        mptcp: None,
    }
}

/// The configuration of `worker`: a plain TCP service with two origins and an MPTCP service
/// with one, small limits so tables fill.
fn shard_config(worker: u16, flags: u8) -> ShardConfig {
    let mut plain = service("plain", PLAIN, &["10.10.0.2:8080", "10.10.0.3:8080"], flags);
    plain.splice.proxy_protocol = flags & 1 != 0;
    let mut mptcp = service("mptcp", MPTCP, &["10.10.0.2:8081"], flags);
    let checksums = if flags & 2 != 0 { Checksums::Required } else { Checksums::IfPeerAsks };
    mptcp.mptcp = Some(MptcpConfig {
        max_subflows: MAX_SUBFLOWS,
        checksums,
        recv_buffer: MPTCP_BUFFER,
        send_buffer: MPTCP_BUFFER,
        ..MptcpConfig::default()
    });
    ShardConfig {
        worker,
        workers: WORKERS,
        services: vec![plain, mptcp],
        origin_sources: SOURCE.parse::<std::net::IpAddr>().expect("a constant address").into(),
        origin_ports: PORTS,
        origin_tcp: tcp_config(flags),
        checksums: ChecksumPolicy::Verify,
        // A budget small enough that a few connections put the shard under pressure, or none.
        buffer_budget: (flags & 8 != 0).then_some(64 * 1024),
        secret: [7; 32],
    }
}

/// The two shards, their routers, and the peers around them.
pub struct World {
    pub now: Instant,
    shards: [Shard; 2],
    routers: [Router; 2],
    pub peers: Peers,
    buf: Vec<u8>,
}

impl World {
    fn new(flags: u8) -> World {
        let now = Instant::from_secs(1000);
        let source = SOURCE.parse::<std::net::IpAddr>().expect("a constant address").into();
        World {
            now,
            shards: [0, 1].map(|w| Shard::new(shard_config(w, flags), now)),
            routers: [0, 1].map(|w| Router::new(w, WORKERS, source, PORTS)),
            peers: Peers::new(),
            buf: vec![0; 2048],
        }
    }

    /// The peers' clock, for TSvals.
    pub fn tsval(&self) -> u32 {
        self.now.total_millis() as u32
    }

    /// A frame received on worker `queue`'s receive queue, routed as the worker does: to the
    /// owner it names, or to the next shard (the last to see it) if this one says `NotHere`.
    pub fn deliver(&mut self, queue: usize, frame: &[u8]) {
        let rx = queue & 1;
        match self.routers[rx].route(frame) {
            Route::Worker(owner) => {
                let owner = usize::from(owner);
                assert!(owner < self.shards.len(), "routed to worker {owner}");
                self.shards[owner].handle_frame(self.now, frame, true);
            }
            Route::Local => {
                if self.shards[rx].handle_frame(self.now, frame, false) == FrameOutcome::NotHere {
                    self.shards[1 - rx].handle_frame(self.now, frame, true);
                }
            }
        }
    }

    /// Moves the clock by `d`.
    pub fn advance(&mut self, d: Duration) {
        self.now = self.now.checked_add(d).unwrap_or(self.now);
    }

    /// Stops worker `w`: resets every connection, or refuses new ones from now on.
    pub fn stop(&mut self, w: usize, abort: bool) {
        let shard = &mut self.shards[w & 1];
        if abort {
            shard.abort_all(self.now);
        } else {
            shard.drain();
        }
    }

    /// The earliest timer of either shard.
    pub fn next_timeout(&self) -> Option<Instant> {
        self.shards.iter().filter_map(Shard::poll_timeout).min()
    }

    /// With every peer silent, runs the timers until no connection and no TIME-WAIT entry is
    /// left: none may be held forever (each has a timer that ends it: idle, retransmission,
    /// TIME-WAIT).
    fn wind_down(&mut self) {
        let until = self.now + WIND_DOWN;
        for _ in 0..WIND_DOWN_RUNS {
            if self.shards.iter().all(|s| s.connections() == 0 && s.time_wait_entries() == 0) {
                return;
            }
            let Some(at) = self.next_timeout() else { break };
            if at > until {
                break;
            }
            self.now = self.now.max(at);
            self.settle();
        }
        for (w, shard) in self.shards.iter().enumerate() {
            let (n, census) = (shard.connections(), shard.census());
            assert_eq!(n, 0, "worker {w} holds {n} connections for good: {census:?}");
            let tw = shard.time_wait_entries();
            assert_eq!(tw, 0, "worker {w} holds {tw} TIME-WAIT entries past 2·MSL");
        }
    }

    /// Runs the timers due, drains what the shards send to the peers, checks the bounds.
    fn settle(&mut self) {
        for shard in &mut self.shards {
            if shard.poll_timeout().is_some_and(|at| at <= self.now) {
                shard.handle_timeout(self.now);
            }
        }
        for w in 0..self.shards.len() {
            for side in [Side::Client, Side::Origin] {
                self.drain(w, side);
            }
        }
        for shard in &self.shards {
            check_bounds(shard);
        }
    }

    fn drain(&mut self, w: usize, side: Side) {
        for _ in 0..MAX_BURST {
            let Some(t) = self.shards[w].poll_transmit(self.now, side, &mut self.buf) else {
                return;
            };
            assert_eq!(t.side, side);
            let seen = wire::read(&t, &self.buf[..t.len]);
            if side == Side::Origin {
                let owner = port_owner(&PORTS, WORKERS, t.local.port());
                assert!(owner.is_none_or(|o| usize::from(o) == w), "sent from {}", t.local);
            }
            self.peers.on_seen(&seen);
        }
        panic!("worker {w} never stops transmitting on {side:?}");
    }
}

/// Bytes allowed beside the splices and TIME-WAIT entries: the learnt MACs of the few
/// addresses used here, and ACKs queued by the TIME-WAIT tables.
const LINK_SLACK: usize = 64 * 1024;

/// Connections, memory and the census of one shard.
fn check_bounds(shard: &Shard) {
    let limit = 2 * MAX_CONNECTIONS + CONNECTION_SLACK;
    assert!(shard.connections() <= limit, "{} connections", shard.connections());
    assert_eq!(shard.stats().active, shard.connections() as u64, "stats.active drifted");
    let tcp = SEND_BUFFER + RECV_BUFFER;
    let splice = MAX_SUBFLOWS * tcp + 2 * MPTCP_BUFFER + tcp;
    // TIME-WAIT entries replace finished splices; the learnt link-layer addresses are a
    // handful here (LINK_SLACK covers their table and queued TIME-WAIT ACKs).
    let time_wait = shard.time_wait_entries() * TimeWaitTable::ENTRY_BYTES;
    let bound = shard.connections() * splice + time_wait + LINK_SLACK;
    let heap = shard.heap_bytes();
    assert!(heap <= bound, "{heap} bytes in {} connections", shard.connections());
    assert_eq!(shard.census(), shard.census_by_scan(), "the kept census drifted");
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    let mut world = World::new(input.u8());
    let mut steps = 0;
    while !input.is_empty() && steps < 512 {
        ops::step(&mut world, &mut input);
        world.advance(Duration::from_millis(1));
        world.settle();
        steps += 1;
    }
    world.wind_down();
});
