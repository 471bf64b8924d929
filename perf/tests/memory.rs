//! What an idle connection costs a worker, in resident memory: 10,000 MPTCP v1 connections
//! (one subflow each, handshakes complete on both sides, no data) are opened through one shard
//! in this process, and the growth of the process's RSS (`/proc/self/statm`) divided by their
//! number is the cost of one: its splice, its table entry and index, its timers, its token.
//! The hosts around the shard are the benchmark's hand-written client and a stateless origin;
//! their few bytes per connection are allocated before the first reading.
//!
//! The bound asserted is the design target (docs/performance.md, "Memory"): at most 4 KiB per
//! idle MPTCP connection. A connection in TIME-WAIT is a compact entry of at most 400 bytes,
//! asserted where it is made (`netreaktor-pipeline`'s TIME-WAIT table and shard tests).

#[path = "../benches/endpoint/hosts.rs"]
#[allow(dead_code)] // The forwarding rig is the benchmark's; this test uses the hosts only.
mod hosts;

use std::net::SocketAddr;

use netreaktor_pipeline::proxy::Side;
use netreaktor_pipeline::shard::Shard;
use netreaktor_pipeline::time::Instant;
use netreaktor_pipeline::wire::frame::{ChecksumPolicy, Frame, parse_frame};
use netreaktor_pipeline::wire::tcp::{TcpFlags, TcpRepr, TcpSeqNumber};
use netreaktor_pipeline::wire::tcp_option::TcpOptions;

use hosts::{Client, ORIGIN, addr, frame, shard_config, shard_with_link};

const CONNECTIONS: usize = 10_000;
const FIRST_PORT: u16 = 20_000;

/// Resident bytes of this process.
fn rss() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
    let pages: usize = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).expect("RSS");
    pages * 4096
}

/// One shard, its clients, and the origin's answers (a SYN,ACK to each SYN, nothing else).
struct Fleet {
    shard: Shard,
    clients: Vec<Client>,
    now: Instant,
    buf: Vec<u8>,
}

impl Fleet {
    fn new(connections: usize) -> Fleet {
        let mut cfg = shard_config(true);
        cfg.services[0].max_connections = connections + 1;
        cfg.services[0].listener.accept_backlog = connections;
        cfg.origin_ports = 10_000..=60_000;
        let now = Instant::from_secs(1);
        let ports = FIRST_PORT..FIRST_PORT + connections as u16;
        Fleet {
            shard: shard_with_link(cfg, now),
            clients: ports.map(|p| Client::new(true, p)).collect(),
            now,
            buf: vec![0u8; 4096],
        }
    }

    /// Opens connection `i` on both sides.
    fn open(&mut self, i: usize) {
        let syn = self.clients[i].syn();
        self.shard.handle_frame(self.now, &syn, true);
        self.drain();
        let ack = self.clients[i].third_ack();
        self.shard.handle_frame(self.now, &ack, true);
        self.drain();
    }

    /// Delivers every frame the shard has: client segments to their client, origin SYNs
    /// answered with a SYN,ACK (its ACK then goes back to the origin and is dropped there).
    fn drain(&mut self) {
        loop {
            let mut moved = false;
            while let Some(t) = self.shard.poll_frame(self.now, Side::Client, &mut self.buf) {
                let Ok(Frame::Tcp(f)) = parse_frame(&self.buf[..t.len], ChecksumPolicy::Verify)
                else {
                    panic!("the shard sent a frame that does not parse");
                };
                let i = usize::from(t.remote.port() - FIRST_PORT);
                self.clients[i].on_segment(&f.tcp);
                moved = true;
            }
            let mut answers = Vec::new();
            while let Some(t) = self.shard.poll_frame(self.now, Side::Origin, &mut self.buf) {
                let Ok(Frame::Tcp(f)) = parse_frame(&self.buf[..t.len], ChecksumPolicy::Verify)
                else {
                    panic!("the shard sent a frame that does not parse");
                };
                if f.tcp.flags.contains(TcpFlags::SYN) {
                    answers.push(syn_ack(t.local, f.tcp.seq_number));
                }
            }
            for a in &answers {
                self.shard.handle_frame(self.now, a, true);
                moved = true;
            }
            if !moved {
                return;
            }
        }
    }
}

/// The origin's SYN,ACK to a SYN from `to` with sequence number `seq`.
fn syn_ack(to: SocketAddr, seq: TcpSeqNumber) -> Vec<u8> {
    let origin = addr(ORIGIN);
    let tcp = TcpRepr {
        src_port: origin.port(),
        dst_port: to.port(),
        seq_number: TcpSeqNumber(5_000),
        ack_number: seq + 1,
        flags: TcpFlags::SYN | TcpFlags::ACK,
        window_len: u16::MAX,
        urgent_pointer: 0,
        options: TcpOptions::new(&[2, 4, 0x05, 0xb4]),
        payload: &[],
    };
    frame(origin, to, &tcp)
}

#[test]
fn an_idle_mptcp_connection_costs_at_most_4_kib_of_rss() {
    let mut fleet = Fleet::new(CONNECTIONS);
    let before = rss();
    for i in 0..CONNECTIONS {
        fleet.open(i);
    }
    let after = rss();
    assert_eq!(fleet.shard.connections(), CONNECTIONS);
    let census = fleet.shard.census();
    assert_eq!((census.mptcp_connections, census.subflows), (CONNECTIONS, CONNECTIONS));
    let idle = (after - before) / CONNECTIONS;
    eprintln!("memory: {idle} bytes of RSS per idle MPTCP connection ({CONNECTIONS} held)");
    assert!(idle <= 4096, "{idle} bytes per idle MPTCP connection");
}
