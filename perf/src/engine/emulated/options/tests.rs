//! The option bytes against the strings of docs/ios-emulation.md §2-§3 (taken from xnu).

use super::*;

const KA: u64 = 0x1111_2222_3333_4444;
const KB: u64 = 0xaaaa_bbbb_cccc_dddd;

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

#[test]
fn v0_syn_is_1e0c0001_key() {
    assert_eq!(capable_syn(Version::V0, KA), hex("1e 0c 00 01 1111222233334444"));
}

#[test]
fn v1_syn_is_four_bytes_with_h() {
    assert_eq!(capable_syn(Version::V1, KA), hex("1e 04 01 01"));
}

#[test]
fn third_acks_carry_both_keys() {
    assert_eq!(
        capable_keys(Version::V0, KA, KB),
        hex("1e 14 00 01 1111222233334444 aaaabbbbccccdddd")
    );
    assert_eq!(
        capable_keys(Version::V1, KA, KB),
        hex("1e 14 01 01 1111222233334444 aaaabbbbccccdddd")
    );
}

#[test]
fn v1_first_data_is_22_bytes_with_length() {
    assert_eq!(
        capable_data(KA, KB, 0x05dc, None),
        hex("1e 16 01 01 1111222233334444 aaaabbbbccccdddd 05dc")
    );
    assert_eq!(capable_data(KA, KB, 1, Some(0xbeef)).len(), 24);
}

#[test]
fn dss_forms_of_ios() {
    assert_eq!(dss(0x0102_0304_0506_0708, None, None), hex("1e 08 20 01 05060708"));
    let m = Mapping { dsn: 0xffff_0000_0000_0010, ssn: 1, len: 1448, fin: false };
    assert_eq!(dss(7, Some(m), None), hex("1e 12 20 05 00000007 00000010 00000001 05a8"));
    assert_eq!(dss(7, Some(m), Some(0x1234)).len(), 20);
    let fin = Mapping { dsn: 9, ssn: 0, len: 1, fin: true };
    assert_eq!(dss(7, Some(fin), None), hex("1e 12 20 15 00000007 00000009 00000000 0001"));
}

#[test]
fn join_options() {
    assert_eq!(join_syn(true, 3, 0xa1b2_c3d4, 0x0102_0304), hex("1e 0c 11 03 a1b2c3d4 01020304"));
    assert_eq!(join_syn(false, 0, 1, 2)[2], 0x10);
    let mac: Vec<u8> = (0..32).collect();
    let ack = join_ack(&mac);
    assert_eq!(&ack[..4], &hex("1e 18 10 00")[..]);
    assert_eq!(&ack[4..], &mac[..20]);
}

#[test]
fn parses_a_linux_synack_and_dss() {
    assert_eq!(
        parse(&hex("1e 0c 01 81 aaaabbbbccccdddd")),
        Incoming::Capable { version: 1, flags: 0x81, key: KB }
    );
    assert_eq!(
        parse(&hex("1e 1a 20 0f 0000000000000009 0000000000000010 00000001 05a8")),
        Incoming::Dss { ack: Some((9, true)), map: Some((0x10, true, 1, 1448, false)) }
    );
    assert_eq!(
        parse(&hex("1e 10 10 05 0102030405060708 0a0b0c0d")),
        Incoming::JoinSynAck { hmac64: 0x0102_0304_0506_0708, nonce: 0x0a0b_0c0d }
    );
}

#[test]
fn malformed_options_are_reported_not_panics() {
    for bad in [
        &[][..],
        &[30],
        &[30, 12, 0x01],
        &[30, 9, 0x20, 0x05, 0, 0, 0, 0, 1],
        &[30, 5, 0x20, 0x01, 0],
    ] {
        assert!(matches!(parse(bad), Incoming::Other { malformed: true, .. }), "{bad:?}");
    }
}
