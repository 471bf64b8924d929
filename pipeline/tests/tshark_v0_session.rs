//! A whole MPTCP v0 session (RFC 6824) through a shard, as iOS 11-15 would run it, captured
//! on the client side and decoded by tshark with its MPTCP analysis on: no malformed option
//! in any frame, and Wireshark's own SHA-1 token and IDSN of the key in our SYN,ACK are the
//! token the shard accepted a join for and the first DSN of the data it sent. A v1 session
//! on the same listener is decoded beside it. The client's segments are built here; every
//! segment of ours is what the shard wrote.
//!
//! Needs tshark (installed by tests/scripts/setup.sh).

mod support;

use std::collections::BTreeMap;
use std::net::SocketAddr;

use netreaktor_pipeline::mptcp::conn::MptcpConfig;
use netreaktor_pipeline::mptcp::crypto::{HashAlgo, HmacKeys, KeyMaterial};
use netreaktor_pipeline::proxy::{Side, SpliceConfig};
use netreaktor_pipeline::shard::{ServiceConfig, Shard, ShardConfig};
use netreaktor_pipeline::tcp::listener::ListenerConfig;
use netreaktor_pipeline::tcp::{Config, Connection};
use netreaktor_pipeline::time::Instant;
use netreaktor_pipeline::wire::ethernet::{EtherType, EthernetAddress, EthernetRepr};
use netreaktor_pipeline::wire::frame::{ChecksumPolicy, IpRepr, TcpFrame};
use netreaktor_pipeline::wire::mptcp::{
    DataSeq, Dss, DssMapping, MpCapable, MpCapableFlags, MpJoin, MptcpOption, MptcpVersion,
};
use netreaktor_pipeline::wire::tcp::{TcpFlags, TcpPacket, TcpRepr, TcpSeqNumber};
use netreaktor_pipeline::wire::tcp_option::{TcpOption, TcpOptionWriter, TcpOptions};

const KEY_A: u64 = 0x0123_4567_89ab_cdef;
const SERVICE: &str = "10.9.0.2:443";
const ORIGIN: &str = "10.10.0.2:8080";
const NONCE_A: u32 = 0x1111_2222;

fn shard() -> Shard {
    let cfg = ShardConfig {
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
            listener: ListenerConfig::default(),
            mptcp: Some(MptcpConfig::default()),
        }],
        buffer_budget: None,
        origin_sources: "10.10.0.1".parse::<std::net::IpAddr>().unwrap().into(),
        origin_ports: 40_000..=40_009,
        origin_tcp: Config::default(),
        checksums: ChecksumPolicy::Verify,
        secret: [9; 32],
    };
    Shard::new(cfg, Instant::ZERO)
}

/// Drives one shard, one origin, and a client whose segments the test writes; keeps every
/// client-side packet (IPv4) in order for the capture.
struct Session {
    shard: Shard,
    origin: Option<Connection>,
    captured: Vec<Vec<u8>>,
    now: Instant,
}

impl Session {
    /// The client sends a segment; the shard's answers on both sides are moved.
    fn client(
        &mut self,
        from: SocketAddr,
        tcp: (TcpFlags, u32, u32),
        options: &[MptcpOption<'_>],
        data: &[u8],
    ) {
        let mut area = [0u8; 40];
        let mut w = TcpOptionWriter::new(&mut area);
        for o in options {
            w.push_with(o.buffer_len(), |b| o.emit(b)).expect("fits");
        }
        let len = w.finish();
        let to: SocketAddr = SERVICE.parse().unwrap();
        let repr = TcpRepr {
            src_port: from.port(),
            dst_port: to.port(),
            seq_number: TcpSeqNumber(tcp.1),
            ack_number: TcpSeqNumber(tcp.2),
            flags: tcp.0,
            window_len: 65535,
            urgent_pointer: 0,
            options: TcpOptions::new(&area[..len]),
            payload: data,
        };
        let frame = ethernet_frame(from, to, &repr);
        self.captured.push(frame.clone());
        self.now += netreaktor_pipeline::time::Duration::from_millis(1);
        self.shard.handle_frame(self.now, &frame, true);
        self.settle();
    }

    /// Moves segments between the shard and the origin until quiet; keeps the client side's.
    fn settle(&mut self) {
        let mut buf = vec![0u8; 2000];
        for _ in 0..100 {
            let mut moved = false;
            while let Some(t) = self.shard.poll_transmit(self.now, Side::Client, &mut buf) {
                let mut frame = ethernet_header();
                frame.extend_from_slice(&buf[..t.len]);
                self.captured.push(frame);
            }
            while let Some(t) = self.shard.poll_transmit(self.now, Side::Origin, &mut buf) {
                let seg = parse(&buf[20..t.len]);
                match &mut self.origin {
                    Some(o) => o.handle_segment(self.now, &seg),
                    None => {
                        let to = ORIGIN.parse().unwrap();
                        let isn = TcpSeqNumber(9000);
                        let conn =
                            Connection::accept(Config::default(), to, t.local, isn, &seg, self.now);
                        self.origin = Some(conn);
                        continue;
                    }
                };
                moved = true;
            }
            if let Some(o) = &mut self.origin {
                while let Some(t) = o.poll_transmit(self.now, &mut buf, &mut ()) {
                    let seg = parse(&buf[..t.len]);
                    let frame = ethernet_frame(o.local(), o.remote(), &seg);
                    self.shard.handle_frame(self.now, &frame, true);
                    moved = true;
                }
            }
            if !moved {
                return;
            }
        }
        panic!("never settled");
    }

    /// The last segment the shard sent to the client: (seq, ack, MPTCP options raw).
    fn last_ours(&self) -> (u32, u32, Vec<Vec<u8>>) {
        let frame = self.captured.iter().rev().find(|f| f[26..30] == [10, 9, 0, 2]).expect("ours");
        let seg = parse(&frame[34..]);
        let opts = seg.options.iter().filter_map(Result::ok);
        let mptcp = opts
            .filter_map(|o| match o {
                TcpOption::Mptcp(b) => Some(b.to_vec()),
                _ => None,
            })
            .collect();
        (seg.seq_number.0, seg.ack_number.0, mptcp)
    }
}

fn parse(bytes: &[u8]) -> TcpRepr<'_> {
    TcpRepr::parse(&TcpPacket::new_checked(bytes).unwrap()).unwrap()
}

fn ethernet_header() -> Vec<u8> {
    [&[2, 0, 0, 0, 0, 1][..], &[2, 0, 0, 0, 0, 2], &[0x08, 0x00]].concat()
}

fn ethernet_frame(from: SocketAddr, to: SocketAddr, tcp: &TcpRepr<'_>) -> Vec<u8> {
    let frame = TcpFrame {
        ethernet: EthernetRepr {
            src_addr: EthernetAddress([2, 0, 0, 0, 0, 2]),
            dst_addr: EthernetAddress([2, 0, 0, 0, 0, 1]),
            vlan: None,
            ethertype: EtherType::Ipv4,
        },
        ip: IpRepr::tcp(from.ip(), to.ip()).unwrap(),
        tcp: *tcp,
    };
    let mut out = vec![0u8; frame.buffer_len()];
    frame.emit(&mut out);
    out
}

fn key_of(option: &[u8]) -> u64 {
    u64::from_be_bytes(option[4..12].try_into().unwrap())
}

/// A v0 session: handshake, data both ways, a join; returns our key and first DSN sent.
fn v0_session(s: &mut Session) -> (u64, u64) {
    let client: SocketAddr = "10.1.0.2:50000".parse().unwrap();
    let flags = MpCapableFlags::HMAC_SHA;
    let syn = MptcpOption::MpCapable(MpCapable::syn(MptcpVersion::V0, flags, KEY_A));
    s.client(client, (TcpFlags::SYN, 100, 0), &[syn], &[]);
    let (isn, _, opts) = s.last_ours();
    let key_b = key_of(&opts[0]);
    let third = MptcpOption::MpCapable(MpCapable::ack(MptcpVersion::V0, flags, KEY_A, key_b));
    s.client(client, (TcpFlags::ACK, 101, isn + 1), &[third], &[]);
    let a = KeyMaterial::new(KEY_A, HashAlgo::Sha1);
    let b = KeyMaterial::new(key_b, HashAlgo::Sha1);
    let map = DssMapping::new(u64::from((a.idsn() + 1) as u32), false, 1, 5);
    let dss = Dss {
        data_ack: Some(DataSeq::Low32((b.idsn() + 1) as u32)),
        mapping: Some(map),
        data_fin: false,
    };
    s.client(
        client,
        (TcpFlags::ACK | TcpFlags::PSH, 101, isn + 1),
        &[MptcpOption::Dss(dss)],
        b"hello",
    );
    let origin = s.origin.as_mut().expect("the origin was opened");
    let mut got = [0u8; 16];
    assert_eq!(origin.recv(&mut got), 5);
    assert_eq!(&got[..5], b"hello");
    origin.send(b"world!");
    s.settle();
    let (_, _, opts) = s.last_ours();
    let Ok(MptcpOption::Dss(ours)) = MptcpOption::parse(&opts[0], MptcpVersion::V0) else {
        panic!("our data carries a DSS: {opts:?}");
    };
    let first_dsn = ours.mapping.expect("mapped").dsn;
    let first_dsn = match first_dsn {
        DataSeq::Full64(d) => d,
        DataSeq::Low32(d) => u64::from(d),
    };
    // A join from the cellular address, HMAC-SHA1 (RFC 6824 §3.2).
    let cell: SocketAddr = "10.1.1.2:50001".parse().unwrap();
    let join = MptcpOption::MpJoin(MpJoin::Syn {
        backup: true,
        addr_id: 1,
        token: b.token(),
        nonce: NONCE_A,
    });
    s.client(cell, (TcpFlags::SYN, 500, 0), &[join], &[]);
    let (isn, _, opts) = s.last_ours();
    let Ok(MptcpOption::MpJoin(MpJoin::SynAck { nonce, .. })) =
        MptcpOption::parse(&opts[0], MptcpVersion::V0)
    else {
        panic!("an MP_JOIN SYN,ACK: {opts:?}");
    };
    let hmac = HmacKeys::new(&a, key_b).ack_hmac(NONCE_A, nonce);
    s.client(
        cell,
        (TcpFlags::ACK, 501, isn + 1),
        &[MptcpOption::MpJoin(MpJoin::Ack { hmac })],
        &[],
    );
    assert_eq!(s.shard.stats().mptcp.joins_accepted, 1, "the token and HMAC-SHA1 verified");
    (key_b, first_dsn)
}

/// A v1 SYN on the same listener and its third ACK.
fn v1_session(s: &mut Session) -> u64 {
    let client: SocketAddr = "10.1.0.3:50002".parse().unwrap();
    let flags = MpCapableFlags::HMAC_SHA;
    let syn = MptcpOption::MpCapable(MpCapable::syn(MptcpVersion::V1, flags, 0));
    s.client(client, (TcpFlags::SYN, 100, 0), &[syn], &[]);
    let (isn, _, opts) = s.last_ours();
    let key_b = key_of(&opts[0]);
    let third = MptcpOption::MpCapable(MpCapable::ack(MptcpVersion::V1, flags, KEY_A, key_b));
    s.client(client, (TcpFlags::ACK, 101, isn + 1), &[third], &[]);
    key_b
}

const FIELDS: &[&str] = &[
    "_ws.malformed",
    "ip.src",
    "tcp.flags",
    "tcp.options.mptcp.subtype",
    "tcp.options.mptcp.version",
    "tcp.options.mptcp.sendkey",
    "tcp.options.mptcp.recvtok",
    "tcp.options.mptcp.rawdataseqno",
    "mptcp.expected_token",
    "mptcp.expected_idsn",
];

fn decode(frames: &[Vec<u8>]) -> Vec<BTreeMap<String, String>> {
    let prefs = [
        "mptcp.analyze_mptcp:TRUE",
        "mptcp.analyze_mappings:TRUE",
        "mptcp.intersubflows_retransmission:TRUE",
    ];
    support::tshark_fields("tshark-v0", frames, &prefs, FIELDS)
}

#[test]
fn tshark_confirms_a_v0_session_through_the_shard() {
    let mut s = Session { shard: shard(), origin: None, captured: Vec::new(), now: Instant::ZERO };
    let (key_v0, first_dsn) = v0_session(&mut s);
    let key_v1 = v1_session(&mut s);
    let rows = decode(&s.captured);
    assert_eq!(rows.len(), s.captured.len(), "tshark saw every frame");
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row.get("_ws.malformed"), None, "frame {}: {row:?}", i + 1);
    }
    let synack_of = |key: u64| {
        rows.iter()
            .find(|r| {
                r.get("tcp.options.mptcp.sendkey") == Some(&key.to_string())
                    && r.get("ip.src").map(String::as_str) == Some("10.9.0.2")
            })
            .expect("our SYN,ACK")
    };
    let v0 = synack_of(key_v0);
    assert_eq!(v0.get("tcp.options.mptcp.version").map(String::as_str), Some("0"));
    let token: u32 = v0["mptcp.expected_token"].parse().expect("Wireshark's token");
    let idsn: u64 = v0["mptcp.expected_idsn"].parse().expect("Wireshark's IDSN");
    // The join the shard accepted named Wireshark's SHA-1 token of our key.
    let join = rows.iter().find(|r| r.contains_key("tcp.options.mptcp.recvtok")).expect("join SYN");
    assert_eq!(join["tcp.options.mptcp.recvtok"], token.to_string());
    // Our first data-level byte is Wireshark's SHA-1 IDSN of our key + 1.
    assert_eq!(first_dsn, idsn.wrapping_add(1));
    let v1 = synack_of(key_v1);
    assert_eq!(v1.get("tcp.options.mptcp.version").map(String::as_str), Some("1"));
    assert_ne!(v1["mptcp.expected_token"], token.to_string());
}
