//! Data we receive: DSS mappings with 4- and 8-byte DSNs (RFC 8684 §3.3.1), reassembly in
//! data sequence order across subflows, duplicates, contradicting mappings.

use super::harness::*;
use crate::mptcp::conn::MptcpConfig;
use crate::wire::mptcp::{DataSeq, Dss, DssMapping};

/// A client data segment on a subflow: `data` at subflow offset `off`, mapped from DSN
/// `dsn` (`wide`: 8 bytes) at relative subflow sequence number `ssn` for `len` bytes, with a
/// DATA_ACK of our first DSN.
fn mapped(h: &Harness, off: u32, dsn: u64, wide: bool, ssn: u32, len: u16, data: &[u8]) -> Seg {
    let map = DssMapping {
        dsn: DataSeq::new(dsn, wide),
        subflow_seq: ssn,
        data_len: len,
        checksum: None,
    };
    Seg::ack(off, 0).dss(Dss::mapping_only(map).with_data_ack(h.our_dsn(0), true)).data(data)
}

/// Our acknowledgement on subflow `id`: subflow ACK `ack`, DATA_ACK `data_ack`.
fn our_ack(id: u8, ack: u32, data_ack: u64) -> (u8, Seg) {
    (id, Seg::ours(ACK, 0, ack, data_ack))
}

/// RFC 8684 §3.3.1: a mapping with an 8-byte DSN places its data; the DATA_ACK we send
/// covers it.
#[test]
fn a_mapping_with_an_8_byte_dsn_delivers_its_data() {
    let mut h = Harness::new(MptcpConfig::default());
    let data = pattern(100);
    h.deliver(0, &mapped(&h, 0, h.peer_dsn(0), true, 1, 100, &data));
    assert_eq!(h.read_all(), data);
    assert_eq!(h.transmit(), [our_ack(0, 100, h.peer_dsn(100))]);
}

/// RFC 8684 §3.1: data on the third ACK, with MP_CAPABLE carrying its data-level length,
/// is mapped from the client's IDSN + 1 at subflow sequence number 1.
#[test]
fn data_on_the_third_ack_is_mapped_from_the_idsn_plus_one() {
    let data = pattern(50);
    let mut h = Harness::with_third_ack_data(MptcpConfig::default(), &data);
    assert_eq!(h.read_all(), data);
    assert_eq!(h.transmit(), [our_ack(0, 50, h.peer_dsn(50))]);
}

/// RFC 8684 §3.3.1: a 4-byte DSN is the low half of the 64-bit one, expanded against the
/// next DSN expected.
#[test]
fn a_mapping_with_a_4_byte_dsn_is_expanded_against_the_next_expected_dsn() {
    let mut h = Harness::new(MptcpConfig::default());
    let data = pattern(300);
    h.deliver(0, &mapped(&h, 0, h.peer_dsn(0), false, 1, 100, &data[..100]));
    assert_eq!(h.transmit(), [our_ack(0, 100, h.peer_dsn(100))]);
    h.deliver(0, &mapped(&h, 100, h.peer_dsn(100), false, 101, 200, &data[100..]));
    assert_eq!(h.transmit(), [our_ack(0, 300, h.peer_dsn(300))]);
    assert_eq!(h.read_all(), data);
}

/// RFC 8684 §3.3.1: 4-byte DSNs are expanded across a 2^32 boundary: the client's IDSN ends
/// in 0xffff_fe40, so its byte 447 has DSN 0x7e68_40f9_0000_0000 and low half 0.
#[test]
fn four_byte_dsns_expand_across_a_2_32_wrap() {
    let mut h = Harness::with_client_key(MptcpConfig::default(), WRAPPING_CLIENT_KEY);
    assert_eq!(h.peer_dsn(0), 0x7e68_40f8_ffff_fe41);
    let data = pattern(1000);
    h.deliver(0, &mapped(&h, 0, h.peer_dsn(0), false, 1, 447, &data[..447]));
    assert_eq!(h.transmit(), [our_ack(0, 447, 0x7e68_40f9_0000_0000)]);
    h.deliver(0, &mapped(&h, 447, 0x7e68_40f9_0000_0000, false, 448, 553, &data[447..]));
    assert_eq!(h.transmit(), [our_ack(0, 1000, 0x7e68_40f9_0000_0229)]);
    assert_eq!(h.read_all(), data);
}

/// RFC 8684 §3.3.1: bytes are read in data sequence order whatever subflow carried them:
/// the second half, first on a joined subflow, waits for the first half on the initial one.
#[test]
fn data_is_delivered_in_data_sequence_order_across_two_subflows() {
    let mut h = Harness::new(MptcpConfig::default());
    let id = h.join(1, false);
    assert_eq!(h.transmit(), [our_ack(id, 0, h.peer_dsn(0))], "the join's third ACK acked");
    let data = pattern(2000);
    h.deliver(id, &mapped(&h, 0, h.peer_dsn(1000), true, 1, 1000, &data[1000..]));
    assert_eq!(h.read_all(), []);
    assert_eq!(h.transmit(), [our_ack(id, 1000, h.peer_dsn(0))]);
    h.deliver(0, &mapped(&h, 0, h.peer_dsn(0), true, 1, 1000, &data[..1000]));
    assert_eq!(h.read_all(), data);
    assert_eq!(h.transmit(), [our_ack(0, 1000, h.peer_dsn(2000))]);
}

/// RFC 8684 §3.3.6: the same data sent on two subflows (a reinjection) is delivered once;
/// the second copy is counted as duplicate bytes.
#[test]
fn the_same_bytes_on_two_subflows_are_delivered_once() {
    let mut h = Harness::new(MptcpConfig::default());
    let id = h.join(1, false);
    h.transmit();
    let data = pattern(1000);
    h.deliver(0, &mapped(&h, 0, h.peer_dsn(0), true, 1, 1000, &data));
    h.deliver(id, &mapped(&h, 0, h.peer_dsn(0), true, 1, 1000, &data));
    assert_eq!(h.read_all(), data);
    assert_eq!(h.conn.stats().duplicate_bytes, 1000);
    let acks = [our_ack(0, 1000, h.peer_dsn(1000)), our_ack(id, 1000, h.peer_dsn(1000))];
    assert_eq!(h.transmit(), acks);
}

/// RFC 8684 §3.3.1: mappings must be consistent; one that maps bytes already mapped to
/// other DSNs is counted (`bad_mappings`) and ignored, the bytes read by the first.
#[test]
fn a_mapping_that_contradicts_one_held_is_counted_and_ignored() {
    let mut h = Harness::new(MptcpConfig::default());
    let data = pattern(2000);
    h.deliver(0, &mapped(&h, 0, h.peer_dsn(0), true, 1, 2000, &data[..1000]));
    assert_eq!(h.transmit(), [our_ack(0, 1000, h.peer_dsn(1000))]);
    h.deliver(0, &mapped(&h, 1000, h.peer_dsn(5000), true, 1001, 1000, &data[1000..]));
    assert_eq!(h.conn.stats().bad_mappings, 1);
    assert_eq!(h.transmit(), [our_ack(0, 2000, h.peer_dsn(2000))]);
    assert_eq!(h.read_all(), data, "read by the first mapping, at DSNs 0..2000");
}
