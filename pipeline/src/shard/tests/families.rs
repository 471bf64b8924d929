//! Every combination of IP versions through one shard: an IPv4 or IPv6 client to an IPv4 or
//! IPv6 origin, each origin connection leaving from the origin source of its origin's
//! version. Every frame the shard writes is parsed back with its checksums verified (IPv4
//! header, TCP over the pseudo-header of its own version) and the bytes carried both ways
//! are compared exactly.

use std::net::{IpAddr, SocketAddr};

use super::super::*;
use crate::proxy::SpliceConfig;
use crate::tcp::listener::ListenerConfig;
use crate::tcp::{Config, Connection};
use crate::wire::ethernet::{EtherType, EthernetRepr};
use crate::wire::frame::{IpRepr, TcpFrame};
use crate::wire::tcp::{TcpFlags, TcpSeqNumber};

const SOURCE_V4: &str = "10.10.0.1";
const SOURCE_V6: &str = "fd00:10::1";
const CLIENT_MAC: [u8; 6] = [2, 0, 0, 0, 0, 0xc1];
const ORIGIN_MAC: [u8; 6] = [2, 0, 0, 0, 0, 0x0a];

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("a test address")
}

/// A shard serving `service`, forwarding to `origin`, with a source of each version.
fn shard(service: SocketAddr, origin: SocketAddr) -> Shard {
    let cfg = ShardConfig {
        worker: 0,
        workers: 1,
        services: vec![ServiceConfig {
            name: "families".into(),
            listen: vec![service],
            origins: vec![origin],
            max_tries: 1,
            health: None,
            max_connections: 10,
            splice: SpliceConfig::default(),
            listener: ListenerConfig::default(),
            mptcp: None,
        }],
        origin_sources: OriginSources {
            v4: Some(SOURCE_V4.parse().expect("v4")),
            v6: Some(SOURCE_V6.parse().expect("v6")),
        },
        origin_ports: 40_000..=40_009,
        origin_tcp: Config::default(),
        checksums: ChecksumPolicy::Verify,
        buffer_budget: None,
        secret: [9; 32],
    };
    let mut shard = Shard::new(cfg, Instant::ZERO);
    shard.set_link_address(Side::Client, [2, 0, 0, 0, 0, 1]);
    shard.set_link_address(Side::Origin, [2, 0, 0, 0, 0, 2]);
    shard.set_next_hop(origin.ip(), ORIGIN_MAC);
    shard
}

/// The Ethernet frame of `seg` from `src` to `dst`, its EtherType that of their version.
fn frame_of(src: SocketAddr, dst: SocketAddr, mac: [u8; 6], seg: &TcpRepr<'_>) -> Vec<u8> {
    let ethertype = if src.is_ipv4() { EtherType::Ipv4 } else { EtherType::Ipv6 };
    let ethernet = EthernetRepr {
        src_addr: EthernetAddress(mac),
        dst_addr: EthernetAddress([2, 0, 0, 0, 0, 1]),
        vlan: None,
        ethertype,
    };
    let ip = IpRepr::tcp(src.ip(), dst.ip()).expect("one version");
    let f = TcpFrame { ethernet, ip, tcp: *seg };
    let mut out = vec![0u8; f.buffer_len()];
    f.emit(&mut out);
    out
}

/// A client, the shard and an origin, frames moved by hand; every frame the shard writes
/// is checked on the way.
struct Ends {
    shard: Shard,
    client: Connection,
    origin: Option<Connection>,
    origin_addr: SocketAddr,
    /// The first segment the origin received: the SYN of the origin connection.
    origin_syn: Option<(SocketAddr, SocketAddr, TcpFlags)>,
    now: Instant,
}

impl Ends {
    fn new(client: SocketAddr, service: SocketAddr, origin: SocketAddr) -> Ends {
        let now = Instant::ZERO;
        let client = Connection::connect(Config::default(), client, service, TcpSeqNumber(1), now);
        let shard = shard(service, origin);
        Ends { shard, client, origin: None, origin_addr: origin, origin_syn: None, now }
    }

    /// Moves frames until none is left.
    fn shuttle(&mut self) {
        let mut buf = vec![0u8; 2048];
        for _ in 0..10_000 {
            let mut moved = false;
            while let Some(t) = self.client.poll_transmit(self.now, &mut buf, &mut ()) {
                let seg = super::parse(&buf[..t.len]);
                let f = frame_of(self.client.local(), self.client.remote(), CLIENT_MAC, &seg);
                self.shard.handle_frame(self.now, &f, true);
                moved = true;
            }
            if let Some(origin) = &mut self.origin {
                while let Some(t) = origin.poll_transmit(self.now, &mut buf, &mut ()) {
                    let seg = super::parse(&buf[..t.len]);
                    let f = frame_of(origin.local(), origin.remote(), ORIGIN_MAC, &seg);
                    self.shard.handle_frame(self.now, &f, true);
                    moved = true;
                }
            }
            for side in [Side::Client, Side::Origin] {
                while let Some(t) = self.shard.poll_frame(self.now, side, &mut buf) {
                    self.deliver(side, t, &buf[..t.len]);
                    moved = true;
                }
            }
            if !moved {
                return;
            }
        }
        panic!("the frames never settled");
    }

    /// Checks a frame the shard wrote (EtherType, IP header, checksums, addresses) and
    /// hands its segment to its peer.
    fn deliver(&mut self, side: Side, t: ShardTransmit, frame: &[u8]) {
        let Ok(Frame::Tcp(f)) = parse_frame(frame, ChecksumPolicy::Verify) else {
            panic!("the shard wrote a malformed frame to {}: {frame:02x?}", t.remote);
        };
        let v4 = t.remote.is_ipv4();
        let ethertype = if v4 { EtherType::Ipv4 } else { EtherType::Ipv6 };
        assert_eq!(f.ethernet.ethertype, ethertype);
        let header = if v4 { 20 } else { 40 };
        let seg_len = f.tcp.buffer_len();
        assert_eq!(frame.len(), ETHERNET_HEADER_LEN + header + seg_len, "no stray bytes");
        assert_eq!((f.ip.src_addr(), f.ip.dst_addr()), (t.local.ip(), t.remote.ip()));
        assert_eq!((f.tcp.src_port, f.tcp.dst_port), (t.local.port(), t.remote.port()));
        match side {
            Side::Client => {
                self.client.handle_segment(self.now, &f.tcp);
            }
            Side::Origin => {
                assert_eq!(t.remote, self.origin_addr);
                match &mut self.origin {
                    Some(origin) => {
                        origin.handle_segment(self.now, &f.tcp);
                    }
                    None => {
                        self.origin_syn = Some((t.local, t.remote, f.tcp.flags));
                        let iss = TcpSeqNumber(9000);
                        let cfg = Config::default();
                        let conn =
                            Connection::accept(cfg, t.remote, t.local, iss, &f.tcp, self.now);
                        self.origin = Some(conn);
                    }
                }
            }
        }
    }
}

/// Test bytes, different from one position to the next.
fn pattern(len: usize, salt: u8) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8 ^ salt).collect()
}

/// Reads everything `conn` has received.
fn read_all(conn: &mut Connection) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = conn.recv(&mut buf);
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&buf[..n]);
    }
}

/// A client of one version through a service of that version to an origin of `origin`'s:
/// the origin's SYN is a SYN from the source of its own version, and 100 kB go each way
/// byte for byte.
fn carries_both_ways(client: &str, service: &str, origin: &str) {
    let mut ends = Ends::new(addr(client), addr(service), addr(origin));
    ends.shuttle();
    let (local, remote, flags) = ends.origin_syn.expect("the origin connection was opened");
    assert_eq!(flags, TcpFlags::SYN, "a bare SYN");
    assert_eq!(remote, addr(origin));
    let source: IpAddr = if remote.is_ipv4() { SOURCE_V4 } else { SOURCE_V6 }.parse().unwrap();
    assert_eq!(local.ip(), source, "the source of the origin's version");
    let (up, down) = (pattern(100_000, 0x5a), pattern(100_000, 0xa5));
    let (mut got_up, mut got_down) = (Vec::new(), Vec::new());
    let (mut sent_up, mut sent_down) = (0, 0);
    for _ in 0..1000 {
        sent_up += ends.client.send(&up[sent_up..]);
        let origin = ends.origin.as_mut().expect("connected");
        sent_down += origin.send(&down[sent_down..]);
        ends.shuttle();
        got_up.extend(read_all(ends.origin.as_mut().expect("connected")));
        got_down.extend(read_all(&mut ends.client));
        if got_up.len() == up.len() && got_down.len() == down.len() {
            break;
        }
        ends.now += crate::time::Duration::from_millis(10);
        ends.shard.handle_timeout(ends.now);
        ends.client.handle_timeout(ends.now);
    }
    assert!(got_up == up, "client to origin, byte for byte");
    assert!(got_down == down, "origin to client, byte for byte");
    assert_eq!(ends.shard.stats().dropped.get(FrameDrop::Checksum), 0);
}

#[test]
fn an_ipv6_client_reaches_an_ipv4_origin() {
    carries_both_ways("[2001:db8:1::2]:5555", "[2001:db8:9::2]:80", "10.10.0.2:8080");
}

#[test]
fn an_ipv4_client_reaches_an_ipv6_origin() {
    carries_both_ways("10.1.0.2:5555", "10.9.0.2:80", "[fd00:10::2]:8080");
}

#[test]
fn same_version_ends_still_work() {
    carries_both_ways("10.1.0.2:5555", "10.9.0.2:80", "10.10.0.2:8080");
    carries_both_ways("[2001:db8:1::2]:5555", "[2001:db8:9::2]:80", "[fd00:10::2]:8080");
}

/// An origin of a version with no source is not reachable: the client is refused, counted
/// as no port to open it from, rather than sent from an address of the wrong version.
#[test]
fn an_origin_of_a_version_without_a_source_is_refused() {
    let (service, origin) = (addr("10.9.0.2:80"), addr("[fd00:10::2]:8080"));
    let mut ends = Ends::new(addr("10.1.0.2:5555"), service, origin);
    let mut cfg_shard = shard(service, origin);
    cfg_shard.origin_sources.v6 = None;
    ends.shard = cfg_shard;
    ends.shuttle();
    assert!(ends.origin.is_none(), "nothing was sent toward the origin");
    assert_eq!(ends.shard.stats().ports_exhausted, 1);
    assert_eq!(ends.client.close_reason(), Some(crate::tcp::CloseReason::Reset));
}
