//! Known-answer tests: byte vectors laid out by hand from the RFC 8684 and RFC 6824 figures.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{assert_round_trip, emit_vec};
use crate::wire::mptcp::MptcpVersion::{V0, V1};
use crate::wire::mptcp::*;

const KEY_A: [u8; 8] = [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08];
const KEY_B: [u8; 8] = [0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18];
const A: u64 = 0x0102_0304_0506_0708;
const B: u64 = 0x1112_1314_1516_1718;

/// `head` followed by each of `parts`.
fn cat(head: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut v = head.to_vec();
    parts.iter().for_each(|p| v.extend_from_slice(p));
    v
}

/// MP_CAPABLE, RFC 8684 §3.1 (Figure 4): the v1 SYN is 4 bytes, flags A and H.
#[test]
fn mp_capable_v1_syn() {
    let bytes = [0x1e, 0x04, 0x01, 0x81];
    let flags = MpCapableFlags::CHECKSUM_REQUIRED.with(MpCapableFlags::HMAC_SHA);
    let want = MpCapable::syn(V1, flags, 0);
    assert_eq!(assert_round_trip(&bytes, V0), MptcpOption::MpCapable(want));
    assert!(flags.checksum_required() && flags.hmac_sha() && !flags.extensibility());
    assert_eq!(peek_version(&bytes), Ok(1));
    assert_eq!(subtype(&bytes), Some(MptcpSubtype::MpCapable));
}

/// MP_CAPABLE v1 SYN/ACK (12), third ACK (20), with data-level length (22) and with checksum
/// (24), RFC 8684 §3.1.
#[test]
fn mp_capable_v1_lengths() {
    let h = MpCapableFlags::HMAC_SHA;
    let synack = cat(&[0x1e, 0x0c, 0x01, 0x01], &[&KEY_A]);
    assert_eq!(
        assert_round_trip(&synack, V1),
        MptcpOption::MpCapable(MpCapable::syn_ack(V1, h, A))
    );
    let ack = cat(&[0x1e, 0x14, 0x01, 0x01], &[&KEY_A, &KEY_B]);
    assert_eq!(assert_round_trip(&ack, V1), MptcpOption::MpCapable(MpCapable::ack(V1, h, A, B)));
    let data = cat(&[0x1e, 0x16, 0x01, 0x01], &[&KEY_A, &KEY_B, &[0x05, 0xdc]]);
    let want = MpCapable::ack_with_data(h, A, B, 1500, None);
    assert_eq!(assert_round_trip(&data, V1), MptcpOption::MpCapable(want));
    let csum = cat(&[0x1e, 0x18, 0x01, 0x81], &[&KEY_A, &KEY_B, &[0x00, 0x64, 0xbe, 0xef]]);
    let flags = h.with(MpCapableFlags::CHECKSUM_REQUIRED);
    let want = MpCapable::ack_with_data(flags, A, B, 100, Some(0xbeef));
    assert_eq!(csum.len(), 24);
    assert_eq!(assert_round_trip(&csum, V1), MptcpOption::MpCapable(want));
}

/// MP_CAPABLE v0, RFC 6824 §3.1: SYN and SYN/ACK carry the sender's key (12), the third ACK
/// both keys (20). The C flag of v1 is kept as a bit.
#[test]
fn mp_capable_v0() {
    let syn = cat(&[0x1e, 0x0c, 0x00, 0x81], &[&KEY_A]);
    let flags = MpCapableFlags(0x81);
    assert_eq!(assert_round_trip(&syn, V1), MptcpOption::MpCapable(MpCapable::syn(V0, flags, A)));
    let ack = cat(&[0x1e, 0x14, 0x00, 0xa1], &[&KEY_A, &KEY_B]);
    let MptcpOption::MpCapable(mpc) = assert_round_trip(&ack, V0) else { panic!() };
    assert_eq!((mpc.version, mpc.sender_key(), mpc.receiver_key()), (V0, Some(A), Some(B)));
    assert!(mpc.flags.no_join_to_source());
}

/// MP_JOIN, RFC 8684 §3.2 (Figures 5-7).
#[test]
fn mp_join_forms() {
    let syn = [0x1e, 0x0c, 0x11, 0x02, 0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04];
    let want = MpJoin::Syn { backup: true, addr_id: 2, token: 0xdead_beef, nonce: 0x0102_0304 };
    assert_eq!(assert_round_trip(&syn, V1), MptcpOption::MpJoin(want));
    let synack = cat(&[0x1e, 0x10, 0x10, 0x07], &[&KEY_B, &[0xca, 0xfe, 0xba, 0xbe]]);
    let want = MpJoin::SynAck { backup: false, addr_id: 7, hmac: KEY_B, nonce: 0xcafe_babe };
    assert_eq!(assert_round_trip(&synack, V0), MptcpOption::MpJoin(want));
    let hmac: [u8; 20] = core::array::from_fn(|i| i as u8);
    let ack = cat(&[0x1e, 0x18, 0x10, 0x00], &[&hmac]);
    assert_eq!(assert_round_trip(&ack, V1), MptcpOption::MpJoin(MpJoin::Ack { hmac }));
}

/// DSS, RFC 8684 §3.3 (Figure 9): DATA_ACK only, 4 and 8 octets.
#[test]
fn dss_data_ack_only() {
    let short = [0x1e, 0x08, 0x20, 0x01, 0x12, 0x34, 0x56, 0x78];
    let want = Dss::data_ack_only(0x1234_5678, false);
    assert_eq!(assert_round_trip(&short, V1), MptcpOption::Dss(want));
    let wide = cat(&[0x1e, 0x0c, 0x20, 0x03], &[&KEY_A]);
    assert_eq!(assert_round_trip(&wide, V0), MptcpOption::Dss(Dss::data_ack_only(A, true)));
}

/// DSS with everything: 8-octet DATA_ACK and DSN, mapping, checksum, DATA_FIN (length 28).
#[test]
fn dss_full() {
    let tail = [0x00, 0x00, 0x00, 0x01, 0x05, 0xa0, 0x12, 0x34];
    let bytes = cat(&[0x1e, 0x1c, 0x20, 0x1f], &[&KEY_B, &KEY_A, &tail]);
    let mapping = DssMapping::new(A, true, 1, 1440).with_checksum(0x1234);
    let want = Dss::mapping_only(mapping).with_data_ack(B, true).with_data_fin();
    assert_eq!(assert_round_trip(&bytes, V1), MptcpOption::Dss(want));
}

/// DSS mapping with 4-octet DSN, without checksum (14) and with it (16); DATA_FIN alone
/// with its RFC 8684 §3.3.3 mapping.
#[test]
fn dss_short_mappings() {
    let plain = [0x1e, 0x0e, 0x20, 0x04, 0, 0, 0, 9, 0, 0, 0, 5, 0x02, 0x00];
    let want = Dss::mapping_only(DssMapping::new(9, false, 5, 512));
    assert_eq!(assert_round_trip(&plain, V1), MptcpOption::Dss(want));
    let csum = [0x1e, 0x10, 0x20, 0x04, 0, 0, 0, 9, 0, 0, 0, 5, 0x02, 0x00, 0xff, 0xfe];
    let MptcpOption::Dss(dss) = assert_round_trip(&csum, V1) else { panic!() };
    assert_eq!(dss.mapping.and_then(|m| m.checksum), Some(0xfffe));
    let fin = [0x1e, 0x0e, 0x20, 0x14, 0, 0, 0, 7, 0, 0, 0, 0, 0, 1];
    let want = Dss::mapping_only(DssMapping::data_fin_only(7, false)).with_data_fin();
    assert_eq!(assert_round_trip(&fin, V1), MptcpOption::Dss(want));
    let empty = [0x1e, 0x04, 0x20, 0x00];
    assert_eq!(assert_round_trip(&empty, V1), MptcpOption::Dss(Dss::default()));
}

/// ADD_ADDR v1, RFC 8684 §3.4.1 (Figure 12): IPv4 with HMAC (16), with port (18), echo (8).
#[test]
fn add_addr_v1_ipv4() {
    let ip = Ipv4Addr::new(192, 0, 2, 1);
    let hmac = cat(&[0x1e, 0x10, 0x30, 0x03, 192, 0, 2, 1], &[&KEY_A]);
    let want = AddAddr::announce(3, IpAddr::V4(ip), None, KEY_A);
    assert_eq!(assert_round_trip(&hmac, V1), MptcpOption::AddAddr(want));
    let port = cat(&[0x1e, 0x12, 0x30, 0x03, 192, 0, 2, 1, 0x01, 0xbb], &[&KEY_A]);
    let want = AddAddr::announce(3, IpAddr::V4(ip), Some(443), KEY_A);
    assert_eq!(assert_round_trip(&port, V1), MptcpOption::AddAddr(want));
    let echo = [0x1e, 0x08, 0x31, 0x03, 192, 0, 2, 1];
    let want = AddAddr::echo(3, IpAddr::V4(ip), None);
    assert_eq!(assert_round_trip(&echo, V1), MptcpOption::AddAddr(want));
}

/// ADD_ADDR v1 IPv6: with HMAC and port (30), echo (20).
#[test]
fn add_addr_v1_ipv6() {
    let ip = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
    let hmac = cat(&[0x1e, 0x1e, 0x30, 0x09], &[&ip.octets(), &[0x1f, 0x90], &KEY_B]);
    let want = AddAddr::announce(9, IpAddr::V6(ip), Some(8080), KEY_B);
    assert_eq!(assert_round_trip(&hmac, V1), MptcpOption::AddAddr(want));
    let echo = cat(&[0x1e, 0x14, 0x31, 0x09], &[&ip.octets()]);
    let want = AddAddr::echo(9, IpAddr::V6(ip), None);
    assert_eq!(assert_round_trip(&echo, V1), MptcpOption::AddAddr(want));
}

/// ADD_ADDR v0, RFC 6824 §3.4.1: IPVer nibble, no HMAC. The v0 IPv4 form and the v1 IPv4
/// echo are both 8 bytes: the connection's version picks the reading.
#[test]
fn add_addr_v0_and_the_length_8_ambiguity() {
    let v0 = [0x1e, 0x08, 0x34, 0x01, 10, 1, 2, 3];
    let want = AddAddr::v0(1, IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3)), None);
    assert_eq!(assert_round_trip(&v0, V0), MptcpOption::AddAddr(want));
    assert_eq!(MptcpOption::parse(&v0, V1), Err(crate::wire::Error::Malformed));
    let v1_echo = [0x1e, 0x08, 0x31, 0x01, 10, 1, 2, 3];
    assert_eq!(MptcpOption::parse(&v1_echo, V0), Err(crate::wire::Error::Malformed));
    let ip = Ipv6Addr::LOCALHOST;
    let v6 = cat(&[0x1e, 0x16, 0x36, 0x02], &[&ip.octets(), &[0x00, 0x50]]);
    let want = AddAddr::v0(2, IpAddr::V6(ip), Some(80));
    assert_eq!(assert_round_trip(&v6, V0), MptcpOption::AddAddr(want));
}

/// REMOVE_ADDR, RFC 8684 §3.4.2 (Figure 13): one and several address IDs.
#[test]
fn remove_addr() {
    let one = [0x1e, 0x04, 0x40, 0x05];
    let MptcpOption::RemoveAddr(r) = assert_round_trip(&one, V1) else { panic!() };
    assert_eq!(r.addr_ids(), &[5]);
    let three = [0x1e, 0x06, 0x40, 0x01, 0x02, 0x03];
    let MptcpOption::RemoveAddr(r) = assert_round_trip(&three, V0) else { panic!() };
    assert_eq!(r.addr_ids(), &[1, 2, 3]);
    assert_eq!(emit_vec(&MptcpOption::RemoveAddr(RemoveAddr::new(&[1, 2, 3]).unwrap())), three);
}

/// MP_PRIO, RFC 8684 §3.3.8 (length 3) and RFC 6824 §3.3.8 (optional address ID).
#[test]
fn mp_prio() {
    let v1 = [0x1e, 0x03, 0x51];
    assert_eq!(assert_round_trip(&v1, V1), MptcpOption::MpPrio(MpPrio::new(true)));
    assert_eq!(assert_round_trip(&v1, V0), MptcpOption::MpPrio(MpPrio::new(true)));
    let v0 = [0x1e, 0x04, 0x50, 0x07];
    let want = MpPrio { backup: false, addr_id: Some(7) };
    assert_eq!(assert_round_trip(&v0, V0), MptcpOption::MpPrio(want));
    assert_eq!(MptcpOption::parse(&v0, V1), Err(crate::wire::Error::Malformed));
}

/// MP_FAIL (RFC 8684 §3.7) and MP_FASTCLOSE (RFC 8684 §3.5), both length 12.
#[test]
fn mp_fail_and_fastclose() {
    let fail = cat(&[0x1e, 0x0c, 0x60, 0x00], &[&KEY_A]);
    assert_eq!(assert_round_trip(&fail, V1), MptcpOption::MpFail(MpFail { dsn: A }));
    let close = cat(&[0x1e, 0x0c, 0x70, 0x00], &[&KEY_B]);
    let want = MpFastclose { receiver_key: B };
    assert_eq!(assert_round_trip(&close, V0), MptcpOption::MpFastclose(want));
}

/// MP_TCPRST, RFC 8684 §3.6 (Figure 15): T set, reason 0x02 "lack of resources"; on a v0
/// connection the same bytes are an unknown option.
#[test]
fn mp_tcprst() {
    let bytes = [0x1e, 0x04, 0x81, 0x02];
    let want = MpTcpRst::new(MpTcpRstReason::LACK_OF_RESOURCES, true);
    assert_eq!(assert_round_trip(&bytes, V1), MptcpOption::MpTcpRst(want));
    assert!(want.flags.transient());
    assert_eq!(want.reason.name(), Some("lack of resources"));
    assert_eq!(MpTcpRstReason(0x42).name(), None);
    let MptcpOption::Unknown(u) = assert_round_trip(&bytes, V0) else { panic!() };
    assert_eq!((u.subtype(), u.body()), (8, &bytes[2..]));
}

/// MP_EXPERIMENTAL (0xf) and an unassigned subtype are kept as raw bytes.
#[test]
fn unknown_subtypes() {
    let exp = [0x1e, 0x05, 0xf3, 0xaa, 0xbb];
    let option = assert_round_trip(&exp, V1);
    assert_eq!(option.subtype(), Some(MptcpSubtype::Experimental));
    let unassigned = [0x1e, 0x03, 0x90];
    let option = assert_round_trip(&unassigned, V1);
    assert_eq!(option.subtype(), None);
    assert_eq!(subtype(&unassigned), None);
}

/// `DataSeq::expand` restores the upper 32 bits nearest to the reference (RFC 8684 §3.3.1).
#[test]
fn data_seq_expand() {
    assert_eq!(DataSeq::Low32(5).expand(0x1_0000_0000), 0x1_0000_0005);
    assert_eq!(DataSeq::Low32(0xffff_fff0).expand(0x1_0000_0010), 0xffff_fff0);
    assert_eq!(DataSeq::Low32(0x10).expand(0x1_ffff_fff0), 0x2_0000_0010);
    assert_eq!(DataSeq::Full64(7).expand(u64::MAX), 7);
    assert_eq!(DataSeq::new(0x1_0000_0002, false), DataSeq::Low32(2));
}
