//! MPTCP v0 (RFC 6824) beside v1 on one listener (docs/architecture.md, "MPTCP v0"): each
//! SYN answered in its own version with the exact SYN,ACK option iOS requires, a lost v0
//! third ACK replaced by the first DSS, SYN cookies that keep the version, versions turned
//! off per service, and join refusals without MP_TCPRST for a v0 connection.

use std::net::SocketAddr;

use sha1::{Digest, Sha1};

use super::*;
use crate::mptcp::conn::{MptcpConfig, Versions};
use crate::proxy::SpliceConfig;
use crate::tcp::listener::ListenerConfig;
use crate::wire::ethernet::{EtherType, EthernetAddress, EthernetRepr};
use crate::wire::frame::{IpRepr, TcpFrame};
use crate::wire::mptcp::{DataSeq, Dss, DssMapping, MpCapable, MpCapableFlags, MptcpVersion};
use crate::wire::tcp::{TcpFlags, TcpPacket, TcpRepr, TcpSeqNumber};
use crate::wire::tcp_option::{TcpOption, TcpOptions};

const SERVICE: &str = "10.9.0.2:80";
const ORIGIN: &str = "10.10.0.2:8080";
/// The client's key (iOS draws a random one per connection).
const KEY_A: u64 = 0x0123_4567_89ab_cdef;
/// The client's ISN.
const ISN: u32 = 7000;

fn cfg(mptcp: MptcpConfig, listener: ListenerConfig) -> ShardConfig {
    ShardConfig {
        worker: 0,
        workers: 1,
        services: vec![ServiceConfig {
            name: "t".into(),
            listen: vec![SERVICE.parse().unwrap()],
            origins: vec![ORIGIN.parse().unwrap()],
            max_tries: 2,
            health: None,
            max_connections: 10,
            splice: SpliceConfig::default(),
            listener,
            mptcp: Some(mptcp),
        }],
        origin_sources: "10.10.0.1".parse::<std::net::IpAddr>().unwrap().into(),
        origin_ports: 40_000..=40_009,
        origin_tcp: crate::tcp::Config::default(),
        checksums: ChecksumPolicy::Verify,
        buffer_budget: None,
        secret: [7; 32],
    }
}

fn shard_with(mptcp: MptcpConfig) -> Shard {
    Shard::new(cfg(mptcp, ListenerConfig::default()), Instant::ZERO)
}

/// A shard that answers every SYN with a cookie (RFC 4987 §3.6).
fn cookie_shard() -> Shard {
    let listener = ListenerConfig { half_open_max: 0, ..ListenerConfig::default() };
    Shard::new(cfg(MptcpConfig::default(), listener), Instant::ZERO)
}

fn client(port: u16) -> SocketAddr {
    SocketAddr::new("10.1.0.2".parse().unwrap(), port)
}

/// A segment from `from` to `to` with raw TCP `options` (whole options, padded here).
fn segment(from: SocketAddr, to: SocketAddr, seg: (TcpFlags, u32, u32), options: &[u8]) -> Vec<u8> {
    segment_with(from, to, seg, options, &[])
}

fn segment_with(
    from: SocketAddr,
    to: SocketAddr,
    (flags, seq, ack): (TcpFlags, u32, u32),
    options: &[u8],
    payload: &[u8],
) -> Vec<u8> {
    let mut opts = options.to_vec();
    while !opts.len().is_multiple_of(4) {
        opts.push(1); // NOP
    }
    let tcp = TcpRepr {
        src_port: from.port(),
        dst_port: to.port(),
        seq_number: TcpSeqNumber(seq),
        ack_number: TcpSeqNumber(ack),
        flags,
        window_len: 65535,
        urgent_pointer: 0,
        options: TcpOptions::new(&opts),
        payload,
    };
    let ethernet = EthernetRepr {
        src_addr: EthernetAddress([2, 0, 0, 0, 0, 1]),
        dst_addr: EthernetAddress([2, 0, 0, 0, 0, 2]),
        vlan: None,
        ethertype: EtherType::Ipv4,
    };
    let ip = IpRepr::tcp(from.ip(), to.ip()).unwrap();
    let f = TcpFrame { ethernet, ip, tcp };
    let mut out = vec![0u8; f.buffer_len()];
    f.emit(&mut out);
    out
}

/// What the shard sent by `side`: (destination, TCP segment bytes).
fn sent(shard: &mut Shard, side: Side) -> Vec<(SocketAddr, Vec<u8>)> {
    let mut buf = vec![0u8; 2000];
    let mut out = Vec::new();
    while let Some(t) = shard.poll_transmit(Instant::ZERO, side, &mut buf) {
        out.push((t.remote, buf[ip_header_len(t.remote)..t.len].to_vec()));
    }
    out
}

fn parse(bytes: &[u8]) -> TcpRepr<'_> {
    TcpRepr::parse(&TcpPacket::new_checked(bytes).unwrap()).unwrap()
}

/// The MPTCP options of a segment, raw.
fn mptcp_options(bytes: &[u8]) -> Vec<Vec<u8>> {
    let seg = parse(bytes);
    let opts = seg.options.iter().filter_map(Result::ok);
    opts.filter_map(|o| match o {
        TcpOption::Mptcp(b) => Some(b.to_vec()),
        _ => None,
    })
    .collect()
}

/// The v0 SYN iOS sends: `1e 0c 00 01 <keyA>` (checksums off: H only).
fn v0_syn_option() -> Vec<u8> {
    [&[0x1e, 0x0c, 0x00, 0x01][..], &KEY_A.to_be_bytes()].concat()
}

/// The v1 SYN: `1e 04 01 01`.
const V1_SYN: [u8; 4] = [0x1e, 0x04, 0x01, 0x01];

/// Sends a SYN from `port` with `option` and returns the SYN,ACK: (our ISN, its MPTCP
/// options).
fn syn(shard: &mut Shard, port: u16, option: &[u8]) -> (u32, Vec<Vec<u8>>) {
    let service = SERVICE.parse().unwrap();
    shard.handle_frame(
        Instant::ZERO,
        &segment(client(port), service, (TcpFlags::SYN, ISN, 0), option),
        true,
    );
    let out = sent(shard, Side::Client);
    assert_eq!(out.len(), 1, "one SYN,ACK");
    let seg = parse(&out[0].1);
    assert_eq!(seg.flags, TcpFlags::SYN | TcpFlags::ACK);
    (seg.seq_number.0, mptcp_options(&out[0].1))
}

/// Our key, from a 12-byte MP_CAPABLE SYN,ACK.
fn key_of(option: &[u8]) -> u64 {
    u64::from_be_bytes(option[4..12].try_into().unwrap())
}

/// The SHA-1 token of `key` (RFC 6824 §3.1), computed apart from the engine.
fn sha1_token(key: u64) -> u32 {
    u32::from_be_bytes(Sha1::digest(key.to_be_bytes())[..4].try_into().unwrap())
}

/// RFC 6824 §3.1, docs/ios-emulation.md §1: a v0 SYN gets exactly `1e 0c 00 01 <key>`; a v1 SYN on
/// the same listener, with `no_join_to_source` configured, gets `1e 0c 01 21 <key>` (C set); with
/// checksums required, A (0x80) is added; C is never set in v0 even when configured.
#[test]
fn each_syn_is_answered_in_its_own_version() {
    let mptcp = MptcpConfig { no_join_to_source: true, ..MptcpConfig::default() };
    let mut shard = shard_with(mptcp);
    let (_, v0) = syn(&mut shard, 6000, &v0_syn_option());
    assert_eq!(v0.len(), 1);
    assert_eq!(v0[0][..4], [0x1e, 0x0c, 0x00, 0x01], "v0, H only: no C in v0");
    assert_eq!(v0[0].len(), 12);
    let (_, v1) = syn(&mut shard, 6001, &V1_SYN);
    assert_eq!(v1[0][..4], [0x1e, 0x0c, 0x01, 0x21], "v1 with C as configured");
    assert_eq!(v1[0].len(), 12);
    let required = MptcpConfig {
        checksums: crate::mptcp::conn::Checksums::Required,
        ..MptcpConfig::default()
    };
    let mut shard = shard_with(required);
    let (_, v0) = syn(&mut shard, 6002, &v0_syn_option());
    assert_eq!(v0[0][..4], [0x1e, 0x0c, 0x00, 0x81], "A and H");
    assert_eq!(shard.stats().mptcp.fallback.total(), 0);
}

/// The origin's side of a splice: accepts the shard's SYN and returns what it reads.
struct Origin(crate::tcp::Connection);

impl Origin {
    /// Moves segments between the shard and a new origin connection until quiet.
    fn serve(shard: &mut Shard) -> Origin {
        let out = sent(shard, Side::Origin);
        assert_eq!(out.len(), 1, "a SYN to the origin");
        let syn = parse(&out[0].1);
        let from = SocketAddr::new("10.10.0.1".parse().unwrap(), syn.src_port);
        let cfg = crate::tcp::Config::default();
        let to = ORIGIN.parse().unwrap();
        let conn =
            crate::tcp::Connection::accept(cfg, to, from, TcpSeqNumber(9000), &syn, Instant::ZERO);
        let mut origin = Origin(conn);
        origin.shuttle(shard);
        origin
    }

    fn shuttle(&mut self, shard: &mut Shard) {
        let mut buf = vec![0u8; 2000];
        for _ in 0..100 {
            let mut moved = false;
            while let Some(t) = self.0.poll_transmit(Instant::ZERO, &mut buf, &mut ()) {
                let seg = parse(&buf[..t.len]);
                let f = segment_with(
                    self.0.local(),
                    self.0.remote(),
                    (seg.flags, seg.seq_number.0, seg.ack_number.0),
                    &[],
                    seg.payload,
                );
                shard.handle_frame(Instant::ZERO, &f, true);
                moved = true;
            }
            for (_, bytes) in sent(shard, Side::Origin) {
                self.0.handle_segment(Instant::ZERO, &parse(&bytes));
                moved = true;
            }
            if !moved {
                return;
            }
        }
    }

    fn read(&mut self) -> Vec<u8> {
        let mut got = vec![0u8; 4096];
        let n = self.0.recv(&mut got);
        got.truncate(n);
        got
    }
}

/// iOS's first data (`1e 12 20 05 <ack32><dsn32><ssn32><len16>`), completing a handshake
/// whose v0 third ACK was lost; `our_isn` from the SYN,ACK.
fn first_data(port: u16, our_isn: u32, data: &[u8]) -> Vec<u8> {
    let client_idsn =
        u64::from_be_bytes(Sha1::digest(KEY_A.to_be_bytes())[12..20].try_into().unwrap());
    let map = DssMapping {
        dsn: DataSeq::new(client_idsn + 1, false),
        subflow_seq: 1,
        data_len: data.len() as u16,
        checksum: None,
    };
    let dss = Dss::mapping_only(map).with_data_ack(0, false);
    let mut option = vec![0u8; dss.buffer_len()];
    dss.emit(&mut option);
    assert_eq!(option[..4], [0x1e, 0x12, 0x20, 0x05], "iOS's data DSS");
    let flags = TcpFlags::ACK | TcpFlags::PSH;
    let service = SERVICE.parse().unwrap();
    segment_with(client(port), service, (flags, ISN + 1, our_isn + 1), &option, data)
}

/// RFC 6824 §3.1, docs/ios-emulation.md §2: the v0 third ACK is a pure ACK sent once; when it is
/// lost the first data with a DSS completes the handshake with the key the SYN carried, and the
/// data reaches the origin byte for byte. The connection's token is SHA-1's.
#[test]
fn a_lost_v0_third_ack_is_replaced_by_the_first_dss() {
    let mut shard = shard_with(MptcpConfig::default());
    let (our_isn, synack) = syn(&mut shard, 6000, &v0_syn_option());
    let data = b"GET / HTTP/1.1\r\n\r\n";
    shard.handle_frame(Instant::ZERO, &first_data(6000, our_isn, data), true);
    assert_eq!(shard.stats().mptcp.connections, 1);
    assert_eq!(shard.stats().mptcp.fallback.total(), 0);
    let token = sha1_token(key_of(&synack[0]));
    assert!(shard.mptcp.tokens.contains_key(&token), "the SHA-1 token names the connection");
    let mut origin = Origin::serve(&mut shard);
    assert_eq!(origin.read(), data);
}

/// The v0 third ACK `1e 14 00 01 <keyA><keyB>`: an MPTCP connection.
fn v0_third_ack(port: u16, our_isn: u32, key_b: u64) -> Vec<u8> {
    let capable = MpCapable::ack(MptcpVersion::V0, MpCapableFlags::HMAC_SHA, KEY_A, key_b);
    let mut option = vec![0u8; capable.buffer_len()];
    capable.emit(&mut option);
    assert_eq!(option[..4], [0x1e, 0x14, 0x00, 0x01]);
    let service = SERVICE.parse().unwrap();
    segment(client(port), service, (TcpFlags::ACK, ISN + 1, our_isn + 1), &option)
}

/// A v1 third ACK (RFC 8684 §3.1: both keys) from `port`, of the SYN,ACK whose ISN was
/// `our_isn` and whose key was `key_b`.
fn v1_third_ack(port: u16, our_isn: u32, key_b: u64) -> Vec<u8> {
    let capable = MpCapable::ack(MptcpVersion::V1, MpCapableFlags::HMAC_SHA, KEY_A, key_b);
    let mut option = vec![0u8; capable.buffer_len()];
    capable.emit(&mut option);
    let service = SERVICE.parse().unwrap();
    segment(client(port), service, (TcpFlags::ACK, ISN + 1, our_isn + 1), &option)
}

/// RFC 4987 §3.6 with v0: the cookie keeps the version, and the v0 third ACK (both keys)
/// completes the handshake. A v0 handshake completed by data under a cookie has no client
/// key: plain TCP, counted `v0_key_lost` (docs/architecture.md, "MPTCP v0").
#[test]
fn under_syn_cookies_a_v0_third_ack_works_and_data_first_falls_back() {
    let mut shard = cookie_shard();
    let (isn, synack) = syn(&mut shard, 6000, &v0_syn_option());
    assert_eq!(synack[0][..4], [0x1e, 0x0c, 0x00, 0x01]);
    shard.handle_frame(Instant::ZERO, &v0_third_ack(6000, isn, key_of(&synack[0])), true);
    assert_eq!(shard.stats().mptcp.connections, 1);
    let (isn, _) = syn(&mut shard, 6001, &v0_syn_option());
    shard.handle_frame(Instant::ZERO, &first_data(6001, isn, b"hello"), true);
    assert_eq!(shard.stats().mptcp.connections, 1);
    assert_eq!(shard.stats().mptcp.fallback.get(Fallback::V0KeyLost), 1);
    assert_eq!(shard.connections(), 2, "the second as plain TCP");
}

/// RFC 4987 §3.6 with v1: the third ACK of a handshake a cookie answered, echoing the key of
/// that cookie SYN,ACK, completes an MPTCP connection (a flood must not downgrade v1 clients).
#[test]
fn under_syn_cookies_a_v1_third_ack_completes_mptcp() {
    let mut shard = cookie_shard();
    let (isn, synack) = syn(&mut shard, 6000, &V1_SYN);
    assert_eq!(synack[0][..4], [0x1e, 0x0c, 0x01, 0x01]);
    let ack = v1_third_ack(6000, isn, key_of(&synack[0]));
    shard.handle_frame(Instant::ZERO, &ack, true);
    assert_eq!(shard.stats().mptcp.fallback.total(), 0, "{:?}", shard.stats().mptcp.fallback);
    assert_eq!(shard.stats().mptcp.connections, 1);
}

/// With two workers, a cookie is its worker's own: the ACK completing it is taken by that
/// worker (not passed round the ring to one that would derive another MPTCP key and fall
/// back, as every kernel client did under cookies), and passed on by the other.
#[test]
fn a_cookie_ack_is_taken_by_the_worker_that_answered_the_syn() {
    let listener = ListenerConfig { half_open_max: 0, ..ListenerConfig::default() };
    let shard = |worker| {
        let c = ShardConfig { worker, workers: 2, ..cfg(MptcpConfig::default(), listener) };
        Shard::new(c, Instant::ZERO)
    };
    let (mut answering, mut other) = (shard(0), shard(1));
    let (isn, synack) = syn(&mut answering, 6000, &V1_SYN);
    let ack = v1_third_ack(6000, isn, key_of(&synack[0]));
    assert_eq!(other.handle_frame(Instant::ZERO, &ack, false), FrameOutcome::NotHere);
    assert_eq!(answering.handle_frame(Instant::ZERO, &ack, false), FrameOutcome::Handled);
    assert_eq!(answering.stats().mptcp.fallback.total(), 0);
    assert_eq!(answering.stats().mptcp.connections, 1);
}

/// A v1 third ACK for a handshake our cookie answered in v0 is refused as MPTCP (counted).
#[test]
fn a_third_ack_in_the_other_version_is_not_the_handshake_answered() {
    let mut shard = cookie_shard();
    let (isn, synack) = syn(&mut shard, 6000, &v0_syn_option());
    let ack = v1_third_ack(6000, isn, key_of(&synack[0]));
    shard.handle_frame(Instant::ZERO, &ack, true);
    assert_eq!(shard.stats().mptcp.connections, 0);
    assert_eq!(shard.stats().mptcp.fallback.get(Fallback::VersionMismatch), 1);
}

/// `mptcp_versions` without 0: a v0 SYN gets plain TCP, counted `version0`; without 1, a
/// v1 SYN gets plain TCP, counted `version1`; the other version is still served.
#[test]
fn a_version_not_listed_gets_plain_tcp_and_is_counted() {
    let only_v1 =
        MptcpConfig { versions: Versions { v0: false, v1: true }, ..MptcpConfig::default() };
    let mut shard = shard_with(only_v1);
    assert_eq!(syn(&mut shard, 6000, &v0_syn_option()).1, Vec::<Vec<u8>>::new());
    assert_eq!(shard.stats().mptcp.fallback.get(Fallback::Version0), 1);
    assert_eq!(syn(&mut shard, 6001, &V1_SYN).1[0][..3], [0x1e, 0x0c, 0x01]);
    let only_v0 =
        MptcpConfig { versions: Versions { v0: true, v1: false }, ..MptcpConfig::default() };
    let mut shard = shard_with(only_v0);
    assert_eq!(syn(&mut shard, 6000, &V1_SYN).1, Vec::<Vec<u8>>::new());
    assert_eq!(shard.stats().mptcp.fallback.get(Fallback::Version1), 1);
    assert_eq!(syn(&mut shard, 6001, &v0_syn_option()).1[0][..3], [0x1e, 0x0c, 0x00]);
}

/// RFC 6824 has no MP_TCPRST: a join refused for a v0 connection's token (over the subflow
/// limit) gets a plain RST; the same refusal for a v1 connection carries MP_TCPRST.
#[test]
fn a_join_refused_for_a_v0_connection_gets_a_plain_rst() {
    for (option, port) in [(v0_syn_option(), 6000), (V1_SYN.to_vec(), 6100)] {
        let one = MptcpConfig { max_subflows: 1, ..MptcpConfig::default() };
        let mut shard = shard_with(one);
        let (isn, synack) = syn(&mut shard, port, &option);
        let key_b = key_of(&synack[0]);
        let v0 = option[2] == 0;
        let third =
            if v0 { v0_third_ack(port, isn, key_b) } else { v1_third_ack(port, isn, key_b) };
        shard.handle_frame(Instant::ZERO, &third, true);
        assert_eq!(shard.stats().mptcp.connections, 1);
        sent(&mut shard, Side::Client);
        let token = *shard.mptcp.tokens.keys().next().expect("a token");
        if v0 {
            assert_eq!(token, sha1_token(key_b));
        }
        let t = token.to_be_bytes();
        let join = [0x1e, 12, 0x10, 3, t[0], t[1], t[2], t[3], 0xde, 0xad, 0xbe, 0xef];
        let service = SERVICE.parse().unwrap();
        shard.handle_frame(
            Instant::ZERO,
            &segment(client(port + 1), service, (TcpFlags::SYN, 1, 0), &join),
            true,
        );
        let out = sent(&mut shard, Side::Client);
        assert_eq!(out.len(), 1);
        assert!(parse(&out[0].1).flags.contains(TcpFlags::RST));
        let options = mptcp_options(&out[0].1);
        match v0 {
            true => assert_eq!(options, Vec::<Vec<u8>>::new(), "v0: no MP_TCPRST"),
            false => assert_eq!(options[0][2] >> 4, 0x8, "v1: MP_TCPRST"),
        }
        assert_eq!(shard.stats().mptcp.joins_refused.get(JoinRefusal::SubflowLimit), 1);
    }
}
