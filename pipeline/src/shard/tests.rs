//! The shard's own rules: port ownership, routing by port, garbage counted and never a
//! panic, RSTs for strays. The splicing itself is proven in `tests/proxy_sim.rs`, whose proxy
//! node is a shard.

use std::net::{IpAddr, SocketAddr};

use super::*;
use crate::proxy::SpliceConfig;
use crate::tcp::listener::ListenerConfig;
use crate::wire::ethernet::{EtherType, EthernetAddress, EthernetRepr};
use crate::wire::frame::{IpRepr, TcpFrame};
use crate::wire::tcp::{TcpFlags, TcpPacket, TcpRepr, TcpSeqNumber};
use crate::wire::tcp_option::TcpOptions;

const SERVICE: &str = "10.9.0.2:80";
const SOURCE: &str = "10.10.0.1";

fn cfg(worker: u16, workers: u16) -> ShardConfig {
    ShardConfig {
        worker,
        workers,
        services: vec![ServiceConfig {
            name: "t".into(),
            listen: vec![SERVICE.parse().unwrap()],
            origins: vec!["10.10.0.2:8080".parse().unwrap()],
            max_tries: 2,
            health: None,
            max_connections: 10,
            splice: SpliceConfig::default(),
            listener: ListenerConfig::default(),
            mptcp: Some(crate::mptcp::conn::MptcpConfig::default()),
        }],
        origin_sources: SOURCE.parse::<IpAddr>().unwrap().into(),
        origin_ports: 40_000..=40_009,
        origin_tcp: crate::tcp::Config::default(),
        checksums: ChecksumPolicy::Verify,
        buffer_budget: None,
        secret: [7; 32],
    }
}

fn frame(src: SocketAddr, dst: SocketAddr, flags: TcpFlags) -> Vec<u8> {
    let tcp = TcpRepr {
        src_port: src.port(),
        dst_port: dst.port(),
        seq_number: TcpSeqNumber(1000),
        ack_number: TcpSeqNumber(2000),
        flags,
        window_len: 1000,
        urgent_pointer: 0,
        options: TcpOptions::EMPTY,
        payload: &[],
    };
    frame_with(src, dst, &tcp)
}

#[test]
fn ports_are_dealt_to_workers_in_turn() {
    let range = 40_000..=40_009;
    let owners: Vec<_> = (40_000..=40_009).map(|p| port_owner(&range, 3, p).unwrap()).collect();
    assert_eq!(owners, [0, 1, 2, 0, 1, 2, 0, 1, 2, 0]);
    assert_eq!(port_owner(&range, 3, 39_999), None);
    assert_eq!(port_owner(&range, 3, 40_010), None);
}

#[test]
fn router_hands_origin_replies_to_the_port_owner() {
    let source: IpAddr = SOURCE.parse().unwrap();
    let router = Router::new(0, 2, source.into(), 40_000..=40_009);
    let origin: SocketAddr = "10.10.0.2:8080".parse().unwrap();
    let to = |port| frame(origin, SocketAddr::new(source, port), TcpFlags::ACK);
    assert_eq!(router.route(&to(40_000)), Route::Local);
    assert_eq!(router.route(&to(40_001)), Route::Worker(1));
    assert_eq!(router.route(&to(50_001)), Route::Local, "outside the range");
    let client: SocketAddr = "10.1.0.2:5555".parse().unwrap();
    let service: SocketAddr = SERVICE.parse().unwrap();
    assert_eq!(router.route(&frame(client, service, TcpFlags::SYN)), Route::Local);
    assert_eq!(router.route(&[0u8; 3]), Route::Local, "garbage stays local (dropped there)");
}

/// `frame` (IPv6, from `frame_with`) with an 8-byte header of type `kind` (Hop-by-Hop or
/// Destination Options, one PadN option) between the IPv6 and TCP headers (RFC 8200 §4.3,
/// §4.6).
fn with_v6_ext_header(mut frame: Vec<u8>, kind: u8) -> Vec<u8> {
    const IP: usize = 14;
    frame[12..14].copy_from_slice(&0x86ddu16.to_be_bytes());
    let next = std::mem::replace(&mut frame[IP + 6], kind);
    let len = u16::from_be_bytes([frame[IP + 4], frame[IP + 5]]) + 8;
    frame[IP + 4..IP + 6].copy_from_slice(&len.to_be_bytes());
    let at = IP + 40;
    frame.splice(at..at, [next, 0, 1, 4, 0, 0, 0, 0]);
    frame
}

#[test]
fn router_walks_ipv6_extension_headers() {
    let source: IpAddr = "fd00:10::1".parse().unwrap();
    let router = Router::new(0, 2, source.into(), 40_000..=40_009);
    let origin: SocketAddr = "[fd00:10::2]:8080".parse().unwrap();
    let to = |port, kind| {
        with_v6_ext_header(frame(origin, SocketAddr::new(source, port), TcpFlags::ACK), kind)
    };
    assert_eq!(router.route(&to(40_001, 0)), Route::Worker(1), "hop-by-hop");
    assert_eq!(router.route(&to(40_001, 60)), Route::Worker(1), "destination options");
    assert_eq!(router.route(&to(40_000, 60)), Route::Local);
    let mut fragment = to(40_001, 44);
    fragment[14 + 40 + 3] = 1; // Fragment header, M set: not routed by port.
    assert_eq!(router.route(&fragment), Route::Local);
}

#[test]
fn a_tcp_segment_behind_ipv6_extension_headers_is_handled() {
    let now = Instant::ZERO;
    let mut cfg = cfg(0, 1);
    cfg.services[0].listen = vec!["[fd00:9::2]:80".parse().unwrap()];
    let mut shard = Shard::new(cfg, now);
    let client: SocketAddr = "[fd00:1::2]:5555".parse().unwrap();
    let syn = frame(client, "[fd00:9::2]:80".parse().unwrap(), TcpFlags::SYN);
    let syn = with_v6_ext_header(with_v6_ext_header(syn, 60), 0);
    assert_eq!(shard.handle_frame(now, &syn, true), FrameOutcome::Handled);
    let mut buf = [0u8; 2048];
    let sent = shard.poll_frame(now, Side::Client, &mut buf).expect("a SYN/ACK");
    let Ok(Frame::Tcp(reply)) = parse_frame(&buf[..sent.len], ChecksumPolicy::Verify) else {
        panic!("a TCP reply");
    };
    assert_eq!(reply.tcp.flags, TcpFlags::SYN | TcpFlags::ACK);
    assert_eq!(reply.tcp.dst_port, 5555);
}

#[test]
fn a_shard_opens_origin_connections_from_its_own_ports_only() {
    let now = Instant::ZERO;
    let mut shard = Shard::new(cfg(1, 2), now);
    let client: SocketAddr = "10.1.0.2:5555".parse().unwrap();
    let origin = "10.10.0.2:8080".parse().unwrap();
    for _ in 0..5 {
        let local = shard.free_port(now, origin).unwrap();
        assert_eq!(port_owner(&(40_000..=40_009), 2, local.port()), Some(1));
    }
    // A whole handshake: SYN, then the client's ACK of the SYN,ACK, opens the origin.
    shard.handle_frame(now, &frame(client, SERVICE.parse().unwrap(), TcpFlags::SYN), true);
    let mut buf = vec![0u8; 2000];
    let synack = shard.poll_transmit(now, Side::Client, &mut buf).unwrap();
    assert_eq!((synack.local, synack.remote), (SERVICE.parse().unwrap(), client));
    assert!(shard.poll_transmit(now, Side::Client, &mut buf).is_none());
}

#[test]
fn garbage_is_counted_and_strays_get_a_reset() {
    let now = Instant::ZERO;
    let mut shard = Shard::new(cfg(0, 1), now);
    let client: SocketAddr = "10.1.0.2:5555".parse().unwrap();
    let service: SocketAddr = SERVICE.parse().unwrap();
    let mut bad = frame(client, service, TcpFlags::SYN);
    let last = bad.len() - 1;
    bad[last] ^= 0xff; // the TCP checksum
    shard.handle_frame(now, &bad, true);
    shard.handle_frame(now, &bad[..30], true);
    shard.handle_frame(now, &[0xffu8; 60], true);
    let stray: SocketAddr = "10.10.0.1:40003".parse().unwrap();
    shard.handle_frame(now, &frame("10.10.0.2:8080".parse().unwrap(), stray, TcpFlags::ACK), true);
    let s = *shard.stats();
    assert_eq!(s.frames, 4);
    assert_eq!(s.dropped.get(FrameDrop::Checksum), 1);
    assert_eq!(s.dropped.get(FrameDrop::Malformed) + s.dropped.get(FrameDrop::NotTcp), 2);
    assert_eq!(s.unmatched, 1);
    let mut buf = vec![0u8; 2000];
    let rst = shard.poll_transmit(now, Side::Origin, &mut buf).unwrap();
    assert_eq!(rst.local, stray);
    assert!(shard.poll_transmit(now, Side::Client, &mut buf).is_none());
}

#[test]
fn a_client_segment_for_another_shard_is_passed_on_unless_last() {
    let now = Instant::ZERO;
    let mut shard = Shard::new(cfg(0, 2), now);
    let client: SocketAddr = "10.1.0.2:5555".parse().unwrap();
    let service: SocketAddr = SERVICE.parse().unwrap();
    let ack = frame(client, service, TcpFlags::ACK);
    assert_eq!(shard.handle_frame(now, &ack, false), FrameOutcome::NotHere);
    assert_eq!(shard.stats().frames, 0, "left untouched");
    let mut buf = vec![0u8; 2000];
    assert!(shard.poll_transmit(now, Side::Client, &mut buf).is_none());
    // A SYN is always taken here; and the last shard answers the stray ACK with a RST.
    let syn = frame("10.1.0.2:5556".parse().unwrap(), service, TcpFlags::SYN);
    assert_eq!(shard.handle_frame(now, &syn, false), FrameOutcome::Handled);
    assert_eq!(shard.handle_frame(now, &ack, true), FrameOutcome::Handled);
    let mut remotes = Vec::new();
    while let Some(t) = shard.poll_transmit(now, Side::Client, &mut buf) {
        remotes.push(t.remote.port());
    }
    remotes.sort();
    assert_eq!(remotes, [5555, 5556], "a RST for the stray, a SYN,ACK for the SYN");
}

/// A client and an origin (plain `Connection`s) around a shard, frames moved by hand.
struct Rig {
    shard: Shard,
    client: crate::tcp::Connection,
    origin: Option<crate::tcp::Connection>,
    /// The origin is black-holed: what the shard sends it is lost.
    origin_gone: bool,
    now: Instant,
}

/// A client connecting to the service from `port`.
fn client_from(port: u16, now: Instant) -> crate::tcp::Connection {
    let local = SocketAddr::new("10.1.0.2".parse().unwrap(), port);
    let cfg = crate::tcp::Config::default();
    crate::tcp::Connection::connect(cfg, local, SERVICE.parse().unwrap(), TcpSeqNumber(1), now)
}

impl Rig {
    fn new() -> Rig {
        Rig::with(cfg(0, 1))
    }

    fn with(cfg: ShardConfig) -> Rig {
        let now = Instant::ZERO;
        let shard = Shard::new(cfg, now);
        Rig { shard, client: client_from(5555, now), origin: None, origin_gone: false, now }
    }

    /// Moves segments until none is left.
    fn shuttle(&mut self) {
        self.shuttle_with(true);
    }

    /// Moves segments until none is left; what the client sends is lost unless `client_heard`.
    fn shuttle_with(&mut self, client_heard: bool) {
        let mut buf = vec![0u8; 2000];
        for _ in 0..1000 {
            let mut moved = false;
            while let Some(t) = self.client.poll_transmit(self.now, &mut buf, &mut ()) {
                let seg = parse(&buf[..t.len]);
                let f = frame_with(self.client.local(), self.client.remote(), &seg);
                if client_heard {
                    self.shard.handle_frame(self.now, &f, true);
                    moved = true;
                }
            }
            if let Some(origin) = &mut self.origin {
                while let Some(t) = origin.poll_transmit(self.now, &mut buf, &mut ()) {
                    let seg = parse(&buf[..t.len]);
                    let f = frame_with(origin.local(), origin.remote(), &seg);
                    self.shard.handle_frame(self.now, &f, true);
                    moved = true;
                }
            }
            for side in [Side::Client, Side::Origin] {
                while let Some(t) = self.shard.poll_transmit(self.now, side, &mut buf) {
                    let seg = parse(&buf[ip_header_len(t.remote)..t.len]);
                    self.deliver(side, t.local, t.remote, &seg);
                    moved = true;
                }
            }
            if !moved {
                return;
            }
        }
        panic!("the segments never settled");
    }

    fn deliver(&mut self, side: Side, local: SocketAddr, remote: SocketAddr, seg: &TcpRepr<'_>) {
        match side {
            Side::Client => {
                self.client.handle_segment(self.now, seg);
            }
            Side::Origin if self.origin_gone => {}
            Side::Origin => match &mut self.origin {
                Some(origin) => {
                    origin.handle_segment(self.now, seg);
                }
                None => {
                    let cfg = crate::tcp::Config::default();
                    let isn = TcpSeqNumber(9000);
                    let conn =
                        crate::tcp::Connection::accept(cfg, remote, local, isn, seg, self.now);
                    self.origin = Some(conn);
                }
            },
        }
    }
}

fn parse(bytes: &[u8]) -> TcpRepr<'_> {
    let packet = crate::wire::tcp::TcpPacket::new_checked(bytes).unwrap();
    TcpRepr::parse(&packet).unwrap()
}

fn frame_with(src: SocketAddr, dst: SocketAddr, tcp: &TcpRepr<'_>) -> Vec<u8> {
    let ethernet = EthernetRepr {
        src_addr: EthernetAddress([2, 0, 0, 0, 0, 1]),
        dst_addr: EthernetAddress([2, 0, 0, 0, 0, 2]),
        vlan: None,
        ethertype: EtherType::Ipv4,
    };
    let ip = IpRepr::tcp(src.ip(), dst.ip()).unwrap();
    let f = TcpFrame { ethernet, ip, tcp: *tcp };
    let mut out = vec![0u8; f.buffer_len()];
    f.emit(&mut out);
    out
}

#[test]
fn stopping_resets_both_sides_of_every_splice() {
    let mut rig = Rig::new();
    rig.shuttle();
    rig.client.send(b"hello");
    rig.shuttle();
    let origin = rig.origin.as_mut().expect("the shard opened the origin connection");
    let mut got = [0u8; 16];
    assert_eq!(origin.recv(&mut got), 5, "data went through");
    assert_eq!(rig.shard.connections(), 1);
    rig.shard.abort_all(rig.now);
    rig.shuttle();
    use crate::tcp::CloseReason;
    assert_eq!(rig.client.close_reason(), Some(CloseReason::Reset));
    assert_eq!(rig.origin.as_ref().unwrap().close_reason(), Some(CloseReason::Reset));
    assert_eq!(rig.shard.stats().ended.get(EndKind::Aborted), 1);
    assert_eq!(rig.shard.connections(), 0, "both sides closed: the splice is gone");
}

/// The end event names the service, the origin, how long the connection lasted and how it
/// ended, for the connection-end log line.
#[test]
fn the_end_event_names_the_service_the_origin_and_the_duration() {
    use crate::time::Duration;
    let mut rig = Rig::new();
    rig.shuttle();
    rig.client.send(b"hello");
    rig.shuttle();
    rig.now += Duration::from_millis(1500);
    rig.shard.abort_all(rig.now);
    rig.shuttle();
    let events: Vec<ShardEvent> = std::iter::from_fn(|| rig.shard.poll_event()).collect();
    let ended: Vec<&ShardEvent> =
        events.iter().filter(|e| matches!(e, ShardEvent::Ended { .. })).collect();
    assert_eq!(
        ended,
        [&ShardEvent::Ended {
            client: "10.1.0.2:5555".parse().unwrap(),
            service: 0,
            origin: "10.10.0.2:8080".parse().unwrap(),
            duration: Duration::from_millis(1500),
            end: crate::proxy::SpliceEnd::Aborted,
            moved: (5, 0),
            mptcp: None,
        }]
    );
}

/// `forward.origin_timeout`: an origin that stops answering mid-transfer is given up after
/// the service's origin timeout (RFC 9293 §3.8.3 USER TIMEOUT on the origin connection), not
/// after 15 backed-off retransmissions, and the client is reset then.
#[test]
fn a_silent_origin_is_given_up_after_the_origin_timeout_and_the_client_reset() {
    use crate::tcp::CloseReason;
    use crate::time::Duration;
    let origin_timeout = Duration::from_secs(2);
    let mut config = cfg(0, 1);
    config.services[0].splice.origin_timeout = Some(origin_timeout);
    let mut rig = Rig::with(config);
    rig.shuttle();
    rig.client.send(b"hello");
    rig.shuttle();
    let mut got = [0u8; 16];
    let origin = rig.origin.as_mut().expect("connected");
    assert_eq!(origin.recv(&mut got), 5);
    // Its ACK goes now, not after the delayed-ACK timer: "hello" is acknowledged.
    origin.send_ack_now();
    rig.shuttle();
    // The origin goes silent; the client's next bytes reach the shard and no further.
    rig.now += Duration::from_secs(1);
    rig.origin_gone = true;
    rig.client.send(b"more");
    rig.shuttle();
    let sent = rig.now;
    while rig.client.close_reason().is_none() {
        let next = [rig.shard.poll_timeout(), rig.client.poll_timeout()].into_iter().flatten();
        rig.now = next.min().expect("a timer runs");
        rig.shard.handle_timeout(rig.now);
        rig.client.handle_timeout(rig.now);
        rig.shuttle();
        assert!(rig.now <= sent + Duration::from_secs(60), "never given up");
    }
    // The user timeout is a timer of its own: exactly on time, between two retransmissions.
    assert_eq!(rig.now, sent + origin_timeout);
    assert_eq!(rig.client.close_reason(), Some(CloseReason::Reset));
    assert_eq!(rig.shard.stats().ended.get(EndKind::OriginTimeout), 1);
    assert_eq!(rig.shard.connections(), 0);
}

/// An MP_JOIN SYN option (RFC 8684 §3.2, length 12) for `token`.
fn join_option(token: u32) -> [u8; 12] {
    let t = token.to_be_bytes();
    [30, 12, 0x10, 3, t[0], t[1], t[2], t[3], 0xde, 0xad, 0xbe, 0xef]
}

fn join_syn(client: SocketAddr, options: &[u8; 12]) -> Vec<u8> {
    let tcp = TcpRepr {
        src_port: client.port(),
        dst_port: 80,
        seq_number: TcpSeqNumber(77),
        ack_number: TcpSeqNumber(0),
        flags: TcpFlags::SYN,
        window_len: 1000,
        urgent_pointer: 0,
        options: TcpOptions::new(options),
        payload: &[],
    };
    frame_with(client, SERVICE.parse().unwrap(), &tcp)
}

#[test]
fn an_mp_join_syn_goes_to_the_worker_its_token_names() {
    assert_eq!(join_token(&join_option(0x0102_0304)), Some(0x0102_0304));
    assert_eq!(join_token(&[1, 1, 2, 4, 5, 180]), None, "NOPs and an MSS: no join");
    let source: IpAddr = SOURCE.parse().unwrap();
    let router = Router::new(0, 3, source.into(), 40_000..=40_009);
    let client: SocketAddr = "10.1.0.2:6000".parse().unwrap();
    for token in [30u32, 31, 32] {
        let expected = match token_owner(token, 3) {
            0 => Route::Local,
            n => Route::Worker(n),
        };
        assert_eq!(router.route(&join_syn(client, &join_option(token))), expected);
    }
}

#[test]
fn an_mp_join_for_no_connection_is_reset_and_never_reaches_an_origin() {
    let now = Instant::ZERO;
    let mut shard = Shard::new(cfg(0, 1), now);
    let client: SocketAddr = "10.1.0.2:6000".parse().unwrap();
    let outcome = shard.handle_frame(now, &join_syn(client, &join_option(9)), true);
    assert_eq!(outcome, FrameOutcome::Handled);
    assert_eq!(shard.stats().joins_refused, 1);
    let mut buf = vec![0u8; 2000];
    let rst = shard.poll_transmit(now, Side::Client, &mut buf).expect("a RST");
    let seg = parse(&buf[ip_header_len(rst.remote)..rst.len]);
    assert!(seg.flags.contains(TcpFlags::RST));
    assert_eq!(seg.ack_number, TcpSeqNumber(78), "<SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>");
    assert!(shard.poll_transmit(now, Side::Client, &mut buf).is_none(), "no SYN,ACK");
    assert_eq!(shard.connections(), 0);
}

#[test]
fn a_draining_shard_refuses_new_connections_with_a_reset() {
    let now = Instant::ZERO;
    let mut shard = Shard::new(cfg(0, 1), now);
    let service: SocketAddr = SERVICE.parse().unwrap();
    let before: SocketAddr = "10.1.0.2:5555".parse().unwrap();
    let after: SocketAddr = "10.1.0.2:5556".parse().unwrap();
    let mut buf = vec![0u8; 2000];
    shard.handle_frame(now, &frame(before, service, TcpFlags::SYN), true);
    let synack = shard.poll_transmit(now, Side::Client, &mut buf).unwrap();
    assert_eq!(synack.remote, before);
    shard.drain();
    shard.handle_frame(now, &frame(after, service, TcpFlags::SYN), true);
    let rst = shard.poll_transmit(now, Side::Client, &mut buf).unwrap();
    assert_eq!(rst.remote, after);
    let seg = TcpPacket::new_checked(&buf[20..rst.len]).unwrap();
    assert!(seg.flags().contains(TcpFlags::RST));
    assert_eq!(shard.stats().refused_draining, 1);
    assert_eq!(shard.unfinished(), 0, "a half-open connection is not held by the shard");
}

/// `max_connections` counts connections that may still carry bytes: one whose streams are
/// both complete and whose last FIN waits for the client's ACK (LAST-ACK) leaves room, and
/// the census reports it as closing.
#[test]
fn a_closing_connection_leaves_room_under_max_connections() {
    use crate::proxy::SplicePhase;
    let mut one = cfg(0, 1);
    one.services[0].max_connections = 1;
    let mut rig = Rig::with(one);
    rig.shuttle();
    assert_eq!(rig.shard.census().phases[SplicePhase::Open.index()], 1);
    assert_eq!(rig.shard.census(), rig.shard.census_by_scan());
    // A second client while the first is open: over the limit, reset.
    let first = std::mem::replace(&mut rig.client, client_from(5556, rig.now));
    rig.shuttle();
    assert_eq!(rig.shard.stats().refused_limit, 1);
    rig.client = first;
    // Both sides close; the client's ACK of our FIN is lost.
    rig.client.close(rig.now);
    rig.shuttle();
    assert_eq!(rig.shard.census().phases[SplicePhase::HalfClosed.index()], 1);
    rig.origin.as_mut().expect("connected").close(rig.now);
    rig.shuttle_with(false);
    let census = rig.shard.census();
    assert_eq!(census.phases[SplicePhase::Closing.index()], 1, "{census:?}");
    assert_eq!(census, rig.shard.census_by_scan());
    // A third client gets in.
    rig.client = client_from(5557, rig.now);
    rig.origin = None;
    rig.shuttle();
    assert_eq!(rig.shard.stats().refused_limit, 1, "no more refusals");
    assert_eq!(rig.shard.stats().accepted, 2, "the refused one is not counted");
    let census = rig.shard.census();
    assert_eq!(census.phases[SplicePhase::Open.index()], 1, "{census:?}");
    assert_eq!(census.phases[SplicePhase::Closing.index()], 1, "{census:?}");
    assert_eq!(census, rig.shard.census_by_scan());
    assert_eq!(rig.shard.stats().setup.count(), 2, "one setup time per origin connected");
}

/// RFC 9293 §3.4.2 and RFC 6191 §2: a finished splice leaves only compact TIME-WAIT entries
/// (its table entry is freed at once), and a client's new SYN on the same 4-tuple, newer by
/// its timestamp, opens a new connection.
#[test]
fn a_finished_splice_leaves_a_time_wait_entry_whose_tuple_a_new_syn_reopens() {
    let mut rig = Rig::new();
    rig.shuttle();
    // The origin closes first, so our client-side connection ends in TIME-WAIT.
    rig.origin.as_mut().expect("connected").close(rig.now);
    rig.shuttle();
    rig.client.close(rig.now);
    rig.shuttle();
    assert_eq!(rig.client.state(), crate::tcp::State::Closed, "the client got our last ACK");
    assert_eq!(rig.shard.connections(), 0, "the splice is gone");
    assert_eq!(rig.shard.time_wait_entries(), 1);
    let entry = crate::tcp::time_wait::TimeWaitTable::ENTRY_BYTES;
    assert_eq!(rig.shard.heap_bytes() - rig.shard.link.heap_bytes(), entry);
    assert_eq!(rig.shard.census(), rig.shard.census_by_scan());
    let client: SocketAddr = "10.1.0.2:5555".parse().unwrap();
    // A retransmission of the client's FIN is acknowledged from the entry (RFC 9293
    // §3.10.7.4), its IP header written for the client's family.
    let template = frame(client, SERVICE.parse().unwrap(), TcpFlags::FIN | TcpFlags::ACK);
    let fin = TcpRepr {
        seq_number: rig.client.snd_nxt() - 1usize,
        ack_number: rig.client.rcv_nxt(),
        ..parse(&template[34..])
    };
    rig.shard.handle_frame(rig.now, &frame_with(client, SERVICE.parse().unwrap(), &fin), true);
    let mut buf = vec![0u8; 2000];
    let ack = rig.shard.poll_transmit(rig.now, Side::Client, &mut buf).expect("an ACK");
    let seg = parse(&buf[ip_header_len(ack.remote)..ack.len]);
    assert_eq!(
        (ack.remote, seg.flags, seg.ack_number),
        (client, TcpFlags::ACK, fin.seq_number + 1)
    );
    // Two seconds later the same client port connects again.
    rig.now += crate::time::Duration::from_secs(2);
    rig.client = client_from(client.port(), rig.now);
    rig.origin = None;
    rig.shuttle();
    assert_eq!(rig.client.state(), crate::tcp::State::Established);
    assert_eq!(rig.shard.stats().accepted, 2);
    assert_eq!(rig.shard.time_wait_stats(Side::Client).reused, 1);
    assert_eq!(rig.shard.time_wait_entries(), 0);
}

/// An origin-side port whose last connection is in TIME-WAIT, as an entry, is reused after a
/// second when timestamps are on (RFC 6191 §2), and not before.
#[test]
fn an_origin_port_in_time_wait_is_reused_after_a_second() {
    let mut one_port = cfg(0, 1);
    one_port.origin_ports = 40_000..=40_000;
    let mut rig = Rig::with(one_port);
    rig.shuttle();
    // We close the origin side first: our origin connection ends in TIME-WAIT.
    rig.client.close(rig.now);
    rig.shuttle();
    rig.origin.as_mut().expect("connected").close(rig.now);
    rig.shuttle();
    assert_eq!(rig.shard.connections(), 0);
    assert_eq!(rig.shard.time_wait_stats(Side::Origin).inserted, 1);
    let origin: SocketAddr = "10.10.0.2:8080".parse().unwrap();
    assert_eq!(rig.shard.free_port(rig.now, origin), None, "the only port is in TIME-WAIT");
    rig.now += crate::time::Duration::from_secs(1);
    let port = rig.shard.free_port(rig.now, origin).map(|a| a.port());
    assert_eq!(port, Some(40_000));
    assert_eq!(rig.shard.time_wait_stats(Side::Origin).reused, 1);
}

/// The link layer both ways: a reply goes to the MAC its request came from, from our MAC on
/// that side; an origin no frame came from yet gets the next hop set for it, and a packet
/// with no next hop known is dropped and counted, never sent to a guessed address.
#[test]
fn frames_go_to_the_mac_their_peer_sent_from() {
    use crate::wire::ethernet::EthernetFrame;
    let now = Instant::ZERO;
    let mut shard = Shard::new(cfg(0, 1), now);
    shard.set_link_address(Side::Client, [2, 0, 0, 0, 0, 0xc1]);
    shard.set_link_address(Side::Origin, [2, 0, 0, 0, 0, 0x01]);
    let client: SocketAddr = "10.1.0.2:5555".parse().unwrap();
    let service: SocketAddr = SERVICE.parse().unwrap();
    // frame_with sends from 02:00:00:00:00:01.
    shard.handle_frame(now, &frame(client, service, TcpFlags::SYN), true);
    let mut buf = vec![0u8; 2000];
    let synack = shard.poll_frame(now, Side::Client, &mut buf).expect("a SYN,ACK");
    let eth = EthernetFrame::new_checked(&buf[..synack.len]).unwrap();
    assert_eq!(eth.dst_addr(), EthernetAddress([2, 0, 0, 0, 0, 1]));
    assert_eq!(eth.src_addr(), EthernetAddress([2, 0, 0, 0, 0, 0xc1]));
    let seg = parse(&buf[ETHERNET_HEADER_LEN + 20..synack.len]);
    assert!(seg.flags.contains(TcpFlags::SYN | TcpFlags::ACK));
    // The client's ACK completes the handshake; the origin SYN has no next hop yet.
    let template = frame(client, service, TcpFlags::ACK);
    let ack = TcpRepr {
        seq_number: TcpSeqNumber(1001),
        ack_number: seg.seq_number + 1,
        ..parse(&template[34..])
    };
    shard.handle_frame(now, &frame_with(client, service, &ack), true);
    assert_eq!(shard.poll_frame(now, Side::Origin, &mut buf), None);
    assert_eq!(shard.stats().no_neighbour, 1, "the origin SYN was dropped and counted");
    // With the next hop set, the SYN's retransmission goes out to it.
    let origin: IpAddr = "10.10.0.2".parse().unwrap();
    shard.set_next_hop(origin, [2, 0, 0, 0, 0, 0x0e]);
    let mut syn = None;
    while syn.is_none() {
        let at = shard.poll_timeout().expect("the SYN's retransmission timer");
        assert!(at < now + crate::time::Duration::from_secs(2), "no retransmission");
        shard.handle_timeout(at);
        while shard.poll_frame(at, Side::Client, &mut buf).is_some() {}
        syn = shard.poll_frame(at, Side::Origin, &mut buf);
    }
    let syn = syn.expect("the SYN again");
    let eth = EthernetFrame::new_checked(&buf[..syn.len]).unwrap();
    assert_eq!(eth.dst_addr(), EthernetAddress([2, 0, 0, 0, 0, 0x0e]));
    assert_eq!(eth.src_addr(), EthernetAddress([2, 0, 0, 0, 0, 0x01]));
    assert_eq!(syn.remote, "10.10.0.2:8080".parse().unwrap());
}

mod checks;
mod families;
mod health;
mod memory;
mod reconfigure;
mod syns;
