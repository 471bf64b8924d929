//! MPTCP v0 (RFC 6824) as iOS 11-15 speak it (docs/architecture.md, "MPTCP v0"): SHA-1 keys,
//! the third ACK with both keys or, when it is lost, the first DSS completing the handshake,
//! HMAC-SHA1 joins, ADD_ADDR without HMAC sent once, MP_PRIO with an address id, no
//! MP_TCPRST. Hashes and HMACs are computed here with the `sha1` and `hmac` crates, apart
//! from the engine's crypto module.

use hmac::{Hmac, Mac};
use sha1::{Digest, Sha1};

use super::harness::*;
use crate::mptcp::conn::MptcpConfig;
use crate::wire::mptcp::{
    AddAddr, DataSeq, Dss, DssMapping, MpPrio, MptcpOption, MptcpVersion, RemoveAddr,
};

/// (token, IDSN) of `key` from RFC 6824 §3.1 alone: the most significant 32 bits and the
/// least significant 64 bits of SHA-1 over the key in network byte order.
fn sha1_token_idsn(key: u64) -> (u32, u64) {
    let d = Sha1::digest(key.to_be_bytes());
    let token = u32::from_be_bytes(d[..4].try_into().expect("4 bytes"));
    let idsn = u64::from_be_bytes(d[12..20].try_into().expect("8 bytes"));
    (token, idsn)
}

/// HMAC-SHA1(key1 ‖ key2, nonce1 ‖ nonce2), RFC 6824 §3.2.
fn hmac_sha1(key1: u64, key2: u64, nonce1: u32, nonce2: u32) -> [u8; 20] {
    let mut key = key1.to_be_bytes().to_vec();
    key.extend_from_slice(&key2.to_be_bytes());
    let mut mac = Hmac::<Sha1>::new_from_slice(&key).expect("any key length");
    mac.update(&nonce1.to_be_bytes());
    mac.update(&nonce2.to_be_bytes());
    mac.finalize().into_bytes().into()
}

/// The bytes of an option we sent.
fn bytes(option: &MptcpOption<'_>) -> Vec<u8> {
    let mut out = vec![0u8; option.buffer_len()];
    option.emit(&mut out);
    out
}

/// iOS's data segment (as in docs/ios-emulation.md §2, RFC 6824 §3.3): `1e 12 20 05
/// <ack32><dsn32><ssn32> <len16>`, 4-byte DATA_ACK and DSN, at subflow offset `off`.
fn ios_data(h: &Harness, off: u32, data: &[u8]) -> Seg {
    let (_, client_idsn) = sha1_token_idsn(CLIENT_KEY);
    let dsn = client_idsn.wrapping_add(1).wrapping_add(u64::from(off));
    let map = DssMapping {
        dsn: DataSeq::new(dsn, false),
        subflow_seq: off + 1,
        data_len: data.len() as u16,
        checksum: None,
    };
    Seg::ack(off, 0).dss(Dss::mapping_only(map).with_data_ack(h.our_dsn(0), false)).data(data)
}

fn v0() -> Harness {
    Harness::v0(MptcpConfig::default(), false, Harness::v0_third_ack(false))
}

/// RFC 6824 §3.1: the connection is v0, its token and both IDSNs are SHA-1's; the data
/// we send starts at our IDSN + 1 and the DATA_ACK we send counts from the client's.
#[test]
fn v0_tokens_and_idsns_are_sha1_known_answers() {
    let mut h = v0();
    assert_eq!(h.conn.version(), MptcpVersion::V0);
    let (token, our_idsn) = sha1_token_idsn(SERVER_KEY);
    let (_, client_idsn) = sha1_token_idsn(CLIENT_KEY);
    assert_eq!(h.conn.token(), token);
    assert_eq!((h.our_dsn(0), h.peer_dsn(0)), (our_idsn + 1, client_idsn + 1));
    h.conn.send(&pattern(10));
    let map = DssMapping::new(our_idsn + 1, true, 1, 10);
    let data = Seg::ours(PSH | ACK, 0, 0, client_idsn + 1).mapping(map).data(&pattern(10));
    assert_eq!(h.transmit(), [(0, data)]);
}

/// RFC 6824 §3.1, §3.3: after the third ACK with both keys, iOS's data with 4-byte DSN and
/// DATA_ACK is read and acknowledged.
#[test]
fn after_the_v0_third_ack_ios_data_is_read_and_data_acked() {
    let mut h = v0();
    let data = pattern(300);
    h.deliver(0, &ios_data(&h, 0, &data));
    assert_eq!(h.read_all(), data);
    assert_eq!(h.transmit(), [(0, Seg::ours(ACK, 0, 300, h.peer_dsn(300)))]);
}

/// RFC 6824 §3.1: the third ACK is sent once and never retransmitted; when it is lost, the
/// client's first data segment completes the handshake and its DSS maps the data.
#[test]
fn the_first_dss_establishes_when_the_v0_third_ack_is_lost() {
    let data = pattern(200);
    let probe = v0();
    let first = ios_data(&probe, 0, &data);
    let mut h = Harness::v0(MptcpConfig::default(), false, first);
    assert_eq!(h.conn.version(), MptcpVersion::V0);
    assert_eq!(h.read_all(), data);
    assert_eq!(h.transmit(), [(0, Seg::ours(ACK, 0, 200, h.peer_dsn(200)))]);
    let more = pattern(50);
    h.deliver(0, &ios_data(&h, 200, &more));
    assert_eq!(h.read_all(), more);
}

/// RFC 6824 §3.2: the join HMACs are HMAC-SHA1: our SYN,ACK carries the leftmost 64 bits
/// keyed keyB ‖ keyA over R_B ‖ R_A; the client's third ACK carries all 160 bits keyed
/// keyA ‖ keyB over R_A ‖ R_B. A forged one does not verify.
#[test]
fn v0_joins_use_hmac_sha1() {
    let mut h = v0();
    let ours = hmac_sha1(SERVER_KEY, CLIENT_KEY, SERVER_NONCE, CLIENT_NONCE);
    let truncated = u64::from_be_bytes(ours[..8].try_into().expect("8 bytes"));
    assert_eq!(h.conn.hmac().syn_ack_hmac(SERVER_NONCE, CLIENT_NONCE), truncated);
    let theirs = hmac_sha1(CLIENT_KEY, SERVER_KEY, CLIENT_NONCE, SERVER_NONCE);
    let proof = h.conn.hmac().verify_ack_hmac(SERVER_NONCE, CLIENT_NONCE, &theirs);
    assert!(proof.is_ok(), "the client's HMAC-SHA1 verifies");
    let mut forged = theirs;
    forged[19] ^= 1;
    assert!(h.conn.hmac().verify_ack_hmac(SERVER_NONCE, CLIENT_NONCE, &forged).is_err());
    let id = h.join(2, true);
    assert!(h.conn.subflow(id).expect("joined").is_backup());
}

/// RFC 6824 §3.4.1: a v0 ADD_ADDR has no HMAC and, from us, no port: `1e 08 34 <id> <v4>`
/// and `1e 14 36 <id> <v6>`. v0 has no echo: each goes out once.
#[test]
fn v0_add_addr_has_no_hmac_and_is_sent_once() {
    let cases: [(&str, Vec<u8>); 2] = [
        ("192.0.2.2", vec![0x1e, 0x08, 0x34, 1, 192, 0, 2, 2]),
        ("2001:db8::2", vec![0x1e, 0x14, 0x36, 1]),
    ];
    for (addr, head) in cases {
        let cfg = MptcpConfig { announce: vec![(1, ip(addr))], ..MptcpConfig::default() };
        let mut h = Harness::v0(cfg, false, Harness::v0_third_ack(false));
        let sent = h.transmit();
        assert_eq!(sent.len(), 1, "{addr}: one pure ACK");
        let (id, seg) = &sent[0];
        assert_eq!((*id, seg.data.len()), (0, 0));
        let add = seg.mptcp.iter().find(|o| matches!(o, MptcpOption::AddAddr(_)));
        let wire = bytes(add.expect("an ADD_ADDR"));
        let mut expected = head;
        if let std::net::IpAddr::V6(v6) = ip(addr) {
            expected.extend_from_slice(&v6.octets());
        }
        assert_eq!(wire, expected, "{addr}");
        assert_eq!(h.conn.poll_timeout(), None, "{addr}: no retransmission");
        h.advance(ms(10_000));
        assert_eq!(h.transmit(), [], "{addr}");
        assert_eq!(h.conn.stats().add_addr_sent, 1);
    }
}

/// RFC 6824 §3.4.1: a client's v0 ADD_ADDR is unauthenticated and has no echo: ignored (the
/// server opens no subflows), nothing sent, nothing counted as bad.
#[test]
fn a_received_v0_add_addr_is_ignored() {
    let mut h = v0();
    let add = MptcpOption::AddAddr(AddAddr::v0(4, ip("203.0.113.50"), None));
    h.deliver(0, &Seg::ack(0, 0).dss(Dss::data_ack_only(h.our_dsn(0), false)).opt(add));
    assert_eq!(h.transmit(), []);
    assert_eq!(h.conn.stats().bad_add_addr, 0);
}

/// RFC 6824 §3.3.8: a v0 MP_PRIO with an address id sets the backup state of every subflow
/// from that address, whichever subflow carries it.
#[test]
fn a_v0_mp_prio_with_an_address_id_applies_to_that_address() {
    let mut h = v0();
    let two = h.join(2, false);
    let three = h.join(3, false);
    h.transmit();
    let prio = MptcpOption::MpPrio(MpPrio { backup: true, addr_id: Some(2) });
    h.deliver(0, &Seg::ack(0, 0).dss(Dss::data_ack_only(h.our_dsn(0), false)).opt(prio));
    assert!(h.conn.subflow(two).expect("joined").is_backup());
    assert!(!h.conn.subflow(three).expect("joined").is_backup());
    assert!(!h.conn.subflow(0).expect("initial").is_backup());
}

/// RFC 6824 has no MP_TCPRST: a subflow we reset on a v0 connection (here after the client's
/// REMOVE_ADDR) gets a plain RST.
#[test]
fn a_v0_subflow_is_reset_without_mp_tcprst() {
    let mut h = v0();
    let two = h.join(2, false);
    h.transmit();
    let remove = MptcpOption::RemoveAddr(RemoveAddr::new(&[2]).expect("one id"));
    h.deliver(0, &Seg::ack(0, 0).dss(Dss::data_ack_only(h.our_dsn(0), false)).opt(remove));
    assert_eq!(h.transmit(), [(two, Seg::rst(0, 0))]);
    assert_eq!(h.conn.live_subflows(), 1);
}

/// RFC 6824 §3.3.3: DATA_FIN as in v1: the client's is acknowledged with its DSN + 1, ours
/// follows our data.
#[test]
fn v0_data_fin_both_ways() {
    let mut h = v0();
    let map = DssMapping::data_fin_only(h.peer_dsn(0), false);
    let dss = Dss::mapping_only(map).with_data_ack(h.our_dsn(0), false).with_data_fin();
    h.deliver(0, &Seg::ack(0, 0).dss(dss));
    assert_eq!(h.transmit(), [(0, Seg::ours(ACK, 0, 0, h.peer_dsn(1)))]);
    assert!(h.conn.is_read_closed());
    h.conn.close(h.now);
    let fin = Dss::data_ack_only(h.peer_dsn(1), false).with_data_fin();
    let fin = Dss { mapping: Some(DssMapping::data_fin_only(h.our_dsn(0), true)), ..fin };
    assert_eq!(h.transmit(), [(0, Seg::new(ACK, 0, 0).dss(fin))]);
    h.deliver(0, &Seg::ack(0, 0).dss(Dss::data_ack_only(h.our_dsn(1), false)));
    assert!(h.conn.streams_done());
}

/// RFC 6824 §3.3: checksums negotiated in v0 (A=1) are checked and sent as in v1.
#[test]
fn v0_checksums_are_sent() {
    let mut h = Harness::v0(MptcpConfig::default(), true, Harness::v0_third_ack(true));
    h.conn.send(&pattern(10));
    let sent = h.transmit();
    let Some(MptcpOption::Dss(dss)) = sent[0].1.mptcp.first() else { panic!("a DSS") };
    let map = dss.mapping.expect("mapped");
    let expected = rfc_dss_checksum(h.our_dsn(0), 1, 10, &pattern(10));
    assert_eq!(map.checksum, Some(expected));
}
