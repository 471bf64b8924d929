//! What NetReaktor emits must decode cleanly in Wireshark's tshark, with the values we meant,
//! for both MPTCP versions. This covers what no Linux capture can: MPTCP v0 (RFC 6824, what
//! iOS 11-15 speak), 4-byte data sequence numbers, DATA_FIN, MP_TCPRST with the T flag, and
//! REMOVE_ADDR with several ids. tshark also recomputes tokens and IDSNs from the keys, an
//! independent check of our SHA-1 (v0) derivation.
//!
//! Needs tshark (installed by tests/scripts/setup.sh).

mod support;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddrV4};

use netreaktor_pipeline::mptcp::crypto::{HashAlgo, HmacKeys, KeyMaterial, idsn, token};
use netreaktor_pipeline::wire::ethernet::{EtherType, EthernetAddress, EthernetRepr};
use netreaktor_pipeline::wire::frame::{IpRepr, TcpFrame};
use netreaktor_pipeline::wire::mptcp::{
    AddAddr, Dss, DssMapping, MpCapable, MpCapableFlags, MpFail, MpFastclose, MpJoin, MpPrio,
    MpTcpRst, MpTcpRstReason, MptcpOption, MptcpVersion, RemoveAddr,
};
use netreaktor_pipeline::wire::tcp::{TcpFlags, TcpRepr, TcpSeqNumber};
use netreaktor_pipeline::wire::tcp_option::{TcpOptionWriter, TcpOptions};

const KEY_A: u64 = 0x0123_4567_89ab_cdef; // the client's
const KEY_B: u64 = 0xfedc_ba98_7654_3210; // the server's
const CLIENT: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 40_000);
const CLIENT_CELL: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 0, 1, 1), 40_001);
const SERVER: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 443);
const SERVER_V1: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 8443);

/// One segment to emit and what tshark must say about its MPTCP option.
struct Case {
    from: SocketAddrV4,
    to: SocketAddrV4,
    flags: TcpFlags,
    option: MptcpOption<'static>,
    payload: &'static [u8],
    expect: Vec<(&'static str, String)>,
}

fn case(
    (from, to): (SocketAddrV4, SocketAddrV4),
    flags: TcpFlags,
    option: MptcpOption<'static>,
    expect: &[(&'static str, String)],
) -> Case {
    Case { from, to, flags, option, payload: &[], expect: expect.to_vec() }
}

fn v0_connection() -> Vec<Case> {
    let v0 = MptcpVersion::V0;
    let sha1 = MpCapableFlags::HMAC_SHA;
    let (a, b) = (KeyMaterial::new(KEY_A, HashAlgo::Sha1), KeyMaterial::new(KEY_B, HashAlgo::Sha1));
    let client_keys = HmacKeys::new(&a, KEY_B);
    let server_keys = HmacKeys::new(&b, KEY_A);
    let (r_a, r_b) = (0x1111_2222, 0x3333_4444);
    let syn_ack_hmac = server_keys.syn_ack_hmac(r_b, r_a);
    let ack_hmac = client_keys.ack_hmac(r_a, r_b);
    let up = (CLIENT, SERVER);
    let down = (SERVER, CLIENT);
    let data_dsn = (a.idsn() + 1) as u32;
    let mut data = case(
        up,
        TcpFlags::ACK | TcpFlags::PSH,
        MptcpOption::Dss(Dss {
            data_ack: Some(netreaktor_pipeline::wire::mptcp::DataSeq::Low32((b.idsn() + 1) as u32)),
            mapping: Some(DssMapping::new(u64::from(data_dsn), false, 1, 5)),
            data_fin: false,
        }),
        &[
            ("tcp.options.mptcp.rawdataseqno", data_dsn.to_string()),
            ("tcp.options.mptcp.subflowseqno", "1".into()),
            ("tcp.options.mptcp.datalvllen", "5".into()),
            ("tcp.options.mptcp.rawdataack", ((b.idsn() + 1) as u32).to_string()),
        ],
    );
    data.payload = b"hello";
    vec![
        case(
            up,
            TcpFlags::SYN,
            MptcpOption::MpCapable(MpCapable::syn(v0, sha1, KEY_A)),
            &[
                ("tcp.options.mptcp.version", "0".into()),
                ("tcp.options.mptcp.sendkey", KEY_A.to_string()),
                ("mptcp.expected_token", token(KEY_A, HashAlgo::Sha1).to_string()),
                ("mptcp.expected_idsn", idsn(KEY_A, HashAlgo::Sha1).to_string()),
            ],
        ),
        case(
            down,
            TcpFlags::SYN | TcpFlags::ACK,
            MptcpOption::MpCapable(MpCapable::syn_ack(v0, sha1, KEY_B)),
            &[
                ("tcp.options.mptcp.version", "0".into()),
                ("tcp.options.mptcp.sendkey", KEY_B.to_string()),
                ("mptcp.expected_token", token(KEY_B, HashAlgo::Sha1).to_string()),
            ],
        ),
        case(
            up,
            TcpFlags::ACK,
            MptcpOption::MpCapable(MpCapable::ack(v0, sha1, KEY_A, KEY_B)),
            &[
                ("tcp.options.mptcp.sendkey", KEY_A.to_string()),
                ("tcp.options.mptcp.recvkey", KEY_B.to_string()),
            ],
        ),
        data,
        case(
            down,
            TcpFlags::ACK,
            MptcpOption::AddAddr(AddAddr::v0(
                3,
                IpAddr::V4(Ipv4Addr::new(10, 0, 0, 3)),
                Some(8443),
            )),
            &[
                ("tcp.options.mptcp.addrid", "3".into()),
                ("tcp.options.mptcp.ipv4", "10.0.0.3".into()),
                ("tcp.options.mptcp.port", "8443".into()),
            ],
        ),
        // Our v0 IPv6 announcement as it goes out beside a 32-bit DATA_ACK (no port).
        case(
            down,
            TcpFlags::ACK,
            MptcpOption::AddAddr(AddAddr::v0(1, v6(), None)),
            &[
                ("tcp.options.mptcp.addrid", "1".into()),
                ("tcp.options.mptcp.ipv6", "2001:db8:71::1".into()),
            ],
        ),
        case(
            (CLIENT_CELL, SERVER),
            TcpFlags::SYN,
            MptcpOption::MpJoin(MpJoin::Syn {
                backup: true,
                addr_id: 1,
                token: b.token(),
                nonce: r_a,
            }),
            &[
                ("tcp.options.mptcp.recvtok", b.token().to_string()),
                ("tcp.options.mptcp.sendrand", r_a.to_string()),
                ("tcp.options.mptcp.backup.flag", "1".into()),
            ],
        ),
        case(
            (SERVER, CLIENT_CELL),
            TcpFlags::SYN | TcpFlags::ACK,
            MptcpOption::MpJoin(MpJoin::SynAck {
                backup: false,
                addr_id: 0,
                hmac: syn_ack_hmac.to_be_bytes(),
                nonce: r_b,
            }),
            &[("tcp.options.mptcp.sendtrunchmac", syn_ack_hmac.to_string())],
        ),
        case(
            (CLIENT_CELL, SERVER),
            TcpFlags::ACK,
            MptcpOption::MpJoin(MpJoin::Ack { hmac: ack_hmac }),
            &[("tcp.options.mptcp.sendhmac", support::hex(&ack_hmac))],
        ),
        case(
            up,
            TcpFlags::ACK,
            MptcpOption::MpPrio(MpPrio { backup: true, addr_id: Some(1) }),
            &[
                ("tcp.options.mptcp.backup.flag", "1".into()),
                ("tcp.options.mptcp.addrid", "1".into()),
            ],
        ),
        case(
            down,
            TcpFlags::ACK,
            MptcpOption::MpFail(MpFail { dsn: 0x0102_0304_0506_0708 }),
            &[("tcp.options.mptcp.rawdataseqno", 0x0102_0304_0506_0708_u64.to_string())],
        ),
        case(
            up,
            TcpFlags::ACK,
            MptcpOption::MpFastclose(MpFastclose { receiver_key: KEY_B }),
            &[("tcp.options.mptcp.recvkey", KEY_B.to_string())],
        ),
    ]
}

fn v1_shapes_linux_does_not_send() -> Vec<Case> {
    let v1 = MptcpVersion::V1;
    let flags = MpCapableFlags::HMAC_SHA.with(MpCapableFlags::CHECKSUM_REQUIRED);
    let up = (CLIENT, SERVER_V1);
    let down = (SERVER_V1, CLIENT);
    let ids: &'static [u8] = &[2, 5, 9];
    let server_keys = HmacKeys::new(&KeyMaterial::new(KEY_B, HashAlgo::Sha256), KEY_A);
    let v6_hmac = server_keys.add_addr_hmac(1, v6(), None).expect("v1 HMAC");
    vec![
        case(
            up,
            TcpFlags::SYN,
            MptcpOption::MpCapable(MpCapable::syn(v1, flags, 0)),
            &[
                ("tcp.options.mptcp.version", "1".into()),
                ("tcp.options.mptcp.checksumreq.flags", "1".into()),
            ],
        ),
        case(
            down,
            TcpFlags::SYN | TcpFlags::ACK,
            MptcpOption::MpCapable(MpCapable::syn_ack(v1, flags, KEY_B)),
            &[
                ("tcp.options.mptcp.sendkey", KEY_B.to_string()),
                ("mptcp.expected_token", token(KEY_B, HashAlgo::Sha256).to_string()),
                ("mptcp.expected_idsn", idsn(KEY_B, HashAlgo::Sha256).to_string()),
            ],
        ),
        case(
            down,
            TcpFlags::ACK | TcpFlags::FIN,
            MptcpOption::Dss(Dss {
                data_ack: Some(netreaktor_pipeline::wire::mptcp::DataSeq::Low32(7)),
                mapping: Some(DssMapping::new(0x8000_0001, false, 0, 1).with_checksum(0xbeef)),
                data_fin: true,
            }),
            &[
                ("tcp.options.mptcp.datafin.flag", "1".into()),
                ("tcp.options.mptcp.dseqn8.flag", "0".into()),
                ("tcp.options.mptcp.dataack8.flag", "0".into()),
                ("tcp.options.mptcp.rawdataseqno", 0x8000_0001_u32.to_string()),
                ("tcp.options.mptcp.rawdataack", "7".into()),
            ],
        ),
        case(
            down,
            TcpFlags::ACK,
            MptcpOption::RemoveAddr(RemoveAddr::new(ids).expect("three ids")),
            &[("tcp.options.mptcp.addrid", "2,5,9".into()), ("mptcp.rm_addr.count", "3".into())],
        ),
        // Our v1 IPv6 announcement with its HMAC: 28 bytes, on a pure ACK of its own.
        case(
            down,
            TcpFlags::ACK,
            MptcpOption::AddAddr(AddAddr::announce(1, v6(), None, v6_hmac.to_be_bytes())),
            &[
                ("tcp.options.mptcp.echo", "0".into()),
                ("tcp.options.mptcp.ipv6", "2001:db8:71::1".into()),
                ("tcp.options.mptcp.addaddrtrunchmac", v6_hmac.to_string()),
            ],
        ),
        // RFC 8684 §3.5 "Option A": MP_FASTCLOSE on a pure ACK, the form iOS acts on (Linux
        // sends it only on RSTs).
        case(
            down,
            TcpFlags::ACK,
            MptcpOption::MpFastclose(MpFastclose { receiver_key: KEY_A }),
            &[("tcp.options.mptcp.recvkey", KEY_A.to_string())],
        ),
        case(
            up,
            TcpFlags::RST,
            MptcpOption::MpTcpRst(MpTcpRst::new(MpTcpRstReason::UNACCEPTABLE_PERFORMANCE, true)),
            &[
                ("tcp.options.mptcp.flag_T.flag", "1".into()),
                ("tcp.options.mptcp.rst_reason", "0x05".into()),
            ],
        ),
    ]
}

/// The IPv6 address an IPv4 service announces (docs/ios-emulation.md §6).
fn v6() -> IpAddr {
    "2001:db8:71::1".parse().expect("address")
}

fn emit(case: &Case, seq: u32) -> Vec<u8> {
    let mut options = [0u8; 40];
    let mut writer = TcpOptionWriter::new(&mut options);
    writer.push_with(case.option.buffer_len(), |area| case.option.emit(area)).expect("fits");
    let options_len = writer.finish();
    let frame = TcpFrame {
        ethernet: EthernetRepr {
            src_addr: EthernetAddress([2, 0, 0, 0, 0, case.from.ip().octets()[3]]),
            dst_addr: EthernetAddress([2, 0, 0, 0, 0, case.to.ip().octets()[3]]),
            vlan: None,
            ethertype: EtherType::Ipv4,
        },
        ip: IpRepr::tcp((*case.from.ip()).into(), (*case.to.ip()).into()).expect("IPv4"),
        tcp: TcpRepr {
            src_port: case.from.port(),
            dst_port: case.to.port(),
            seq_number: TcpSeqNumber(seq),
            ack_number: TcpSeqNumber(if case.flags.contains(TcpFlags::ACK) { 1 } else { 0 }),
            flags: case.flags,
            window_len: 1000,
            urgent_pointer: 0,
            options: TcpOptions::new(&options[..options_len]),
            payload: case.payload,
        },
    };
    let mut bytes = vec![0; frame.buffer_len()];
    frame.emit(&mut bytes);
    bytes
}

const FIELDS: &[&str] = &[
    "_ws.malformed",
    "_ws.expert.message",
    "tcp.options.mptcp.subtype",
    "tcp.options.mptcp.version",
    "tcp.options.mptcp.checksumreq.flags",
    "tcp.options.mptcp.sendkey",
    "tcp.options.mptcp.recvkey",
    "tcp.options.mptcp.recvtok",
    "tcp.options.mptcp.sendrand",
    "tcp.options.mptcp.sendtrunchmac",
    "tcp.options.mptcp.sendhmac",
    "tcp.options.mptcp.backup.flag",
    "tcp.options.mptcp.addrid",
    "tcp.options.mptcp.ipv4",
    "tcp.options.mptcp.ipv6",
    "tcp.options.mptcp.echo",
    "tcp.options.mptcp.addaddrtrunchmac",
    "tcp.options.mptcp.port",
    "tcp.options.mptcp.datafin.flag",
    "tcp.options.mptcp.dseqn8.flag",
    "tcp.options.mptcp.dataack8.flag",
    "tcp.options.mptcp.rawdataseqno",
    "tcp.options.mptcp.rawdataack",
    "tcp.options.mptcp.subflowseqno",
    "tcp.options.mptcp.datalvllen",
    "tcp.options.mptcp.flag_T.flag",
    "tcp.options.mptcp.rst_reason",
    "mptcp.rm_addr.count",
    "mptcp.expected_token",
    "mptcp.expected_idsn",
];

/// Writes the cases to a pcap and returns tshark's fields, one map per frame.
fn decode_with_tshark(cases: &[Case]) -> Vec<BTreeMap<String, String>> {
    let frames: Vec<Vec<u8>> =
        cases.iter().enumerate().map(|(i, case)| emit(case, 1000 * i as u32)).collect();
    let prefs = ["mptcp.analyze_mptcp:TRUE", "tcp.analyze_sequence_numbers:FALSE"];
    support::tshark_fields("tshark", &frames, &prefs, FIELDS)
}

#[test]
fn tshark_decodes_what_we_emit_in_both_versions() {
    let mut cases = v0_connection();
    cases.extend(v1_shapes_linux_does_not_send());
    let rows = decode_with_tshark(&cases);
    assert_eq!(rows.len(), cases.len(), "tshark saw every frame");
    for (i, (case, row)) in cases.iter().zip(&rows).enumerate() {
        let context = format!("frame {} ({:?})", i + 1, case.option.subtype());
        assert_eq!(row.get("_ws.malformed"), None, "{context}: malformed in tshark: {row:?}");
        let subtype = case.option.subtype().expect("a known subtype").nibble().to_string();
        assert_eq!(row.get("tcp.options.mptcp.subtype"), Some(&subtype), "{context}: {row:?}");
        for (field, value) in &case.expect {
            assert_eq!(row.get(*field), Some(value), "{context}: {field} in {row:?}");
        }
    }
}
