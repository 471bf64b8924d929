//! DSS checksums (RFC 8684 §3.3.1) and what a failure does: ours, MP_FAIL, the infinite
//! mapping (§3.7).

use super::harness::*;
use crate::mptcp::conn::{MptcpConfig, MptcpEnd};
use crate::wire::mptcp::{
    Dss, DssMapping, MpFail, MpFastclose, MpTcpRst, MpTcpRstReason, MptcpOption,
};

/// A client data segment on a subflow at offset 0: `data` mapped from the client's first
/// DSN with `checksum`.
fn with_checksum(h: &Harness, data: &[u8], checksum: u16) -> Seg {
    let map = DssMapping::new(h.peer_dsn(0), true, 1, data.len() as u16).with_checksum(checksum);
    Seg::ack(0, 0).dss(Dss::mapping_only(map).with_data_ack(h.our_dsn(0), true)).data(data)
}

/// RFC 8684 §3.3.1: with checksums negotiated every mapping we send carries the checksum
/// over its pseudo-header (DSN, subflow sequence number, length) and data.
#[test]
fn with_checksums_every_mapping_we_send_carries_the_dss_checksum() {
    let mut h = Harness::with_checksums(MptcpConfig::default());
    let data = pattern(1000);
    h.conn.send(&data);
    let sum = rfc_dss_checksum(h.our_dsn(0), 1, 1000, &data);
    let map = DssMapping::new(h.our_dsn(0), true, 1, 1000).with_checksum(sum);
    let seg = Seg::ours(PSH | ACK, 0, 0, h.peer_dsn(0)).mapping(map).data(&data);
    assert_eq!(h.transmit(), [(0, seg)]);
}

/// RFC 8684 §3.3.1: a received mapping whose checksum verifies is delivered.
#[test]
fn a_received_mapping_with_a_good_checksum_is_delivered() {
    let mut h = Harness::with_checksums(MptcpConfig::default());
    let data = pattern(500);
    let sum = rfc_dss_checksum(h.peer_dsn(0), 1, 500, &data);
    h.deliver(0, &with_checksum(&h, &data, sum));
    assert_eq!(h.read_all(), data);
    assert_eq!(h.transmit(), [(0, Seg::ours(ACK, 0, 500, h.peer_dsn(500)))]);
    assert_eq!(h.conn.stats().bad_checksums, 0);
}

/// RFC 8684 §3.7: a checksum failure on the only subflow. The engine does not fall back to
/// an infinite mapping and sends no MP_FAIL: it resets the connection with MP_FASTCLOSE (on
/// a pure ACK, then, the client's RST arriving, nothing more, §3.5) and delivers nothing of
/// the mapping.
#[test]
fn a_bad_checksum_on_the_only_subflow_resets_the_connection() {
    let mut h = Harness::with_checksums(MptcpConfig::default());
    let data = pattern(500);
    let sum = rfc_dss_checksum(h.peer_dsn(0), 1, 500, &data) ^ 0x0100;
    h.deliver(0, &with_checksum(&h, &data, sum));
    assert_eq!(h.read_all(), []);
    assert_eq!(h.conn.stats().bad_checksums, 1);
    assert_eq!(h.conn.end(), Some(MptcpEnd::Reset));
    let option = MptcpOption::MpFastclose(MpFastclose { receiver_key: CLIENT_KEY });
    let ack = Seg { wnd: WND - 500, ..Seg::new(ACK, 0, 500).opt(option) };
    assert_eq!(h.transmit(), [(0, ack)]);
    h.deliver(0, &Seg::new(RST, 500, 0));
    assert_eq!(h.transmit(), []);
    assert!(h.conn.is_closed());
}

/// RFC 8684 §3.7: a checksum failure with another subflow resets only the subflow that
/// carried the data, with MP_TCPRST 0x01 and no MP_FAIL; the connection goes on.
#[test]
fn a_bad_checksum_with_another_subflow_resets_only_that_subflow() {
    let mut h = Harness::with_checksums(MptcpConfig::default());
    let id = h.join(1, false);
    h.transmit();
    let data = pattern(500);
    let sum = rfc_dss_checksum(h.peer_dsn(0), 1, 500, &data) ^ 0x0100;
    h.deliver(id, &with_checksum(&h, &data, sum));
    assert_eq!(h.read_all(), []);
    assert_eq!(h.conn.stats().bad_checksums, 1);
    let rst = MptcpOption::MpTcpRst(MpTcpRst::new(MpTcpRstReason(0x01), false));
    assert_eq!(h.transmit(), [(id, Seg::rst(0, 500).opt(rst))]);
    assert_eq!(h.conn.end(), None);
    assert_eq!(h.conn.live_subflows(), 1);
}

/// A client pure ACK with a DATA_ACK of our first DSN and MP_FAIL.
fn mp_fail(h: &Harness) -> Seg {
    let option = MptcpOption::MpFail(MpFail { dsn: h.our_dsn(0) });
    Seg::ack(0, 0).dss(Dss::data_ack_only(h.our_dsn(0), true)).opt(option)
}

/// RFC 8684 §3.7: a received MP_FAIL with other subflows resets the subflow it arrived on
/// (MP_TCPRST 0x01).
#[test]
fn a_received_mp_fail_resets_its_subflow_when_others_exist() {
    let mut h = Harness::new(MptcpConfig::default());
    let id = h.join(1, false);
    h.transmit();
    h.deliver(id, &mp_fail(&h));
    let rst = MptcpOption::MpTcpRst(MpTcpRst::new(MpTcpRstReason(0x01), false));
    assert_eq!(h.transmit(), [(id, Seg::rst(0, 0).opt(rst))]);
    assert_eq!(h.conn.stats().mp_fail, 1);
    assert_eq!(h.conn.live_subflows(), 1);
}

/// RFC 8684 §3.7: on the only subflow the engine, having no infinite-mapping fallback, only
/// counts a received MP_FAIL.
#[test]
fn a_received_mp_fail_on_the_only_subflow_is_only_counted() {
    let mut h = Harness::new(MptcpConfig::default());
    h.deliver(0, &mp_fail(&h));
    assert_eq!(h.transmit(), []);
    assert_eq!(h.conn.stats().mp_fail, 1);
    assert_eq!(h.conn.end(), None);
}

/// RFC 8684 §3.7: an infinite mapping (length 0) after the handshake is not supported: it
/// is counted as a bad mapping and its data is not delivered (acknowledged by the subflow,
/// not by the DATA_ACK).
#[test]
fn an_infinite_mapping_is_counted_and_ignored() {
    let mut h = Harness::new(MptcpConfig::default());
    let map = DssMapping::new(h.peer_dsn(0), true, 1, 0);
    let dss = Dss::mapping_only(map).with_data_ack(h.our_dsn(0), true);
    h.deliver(0, &Seg::ack(0, 0).dss(dss).data(&pattern(100)));
    assert_eq!(h.conn.stats().bad_mappings, 1);
    assert_eq!(h.read_all(), []);
    assert_eq!(h.transmit(), [(0, Seg::ours(ACK, 0, 100, h.peer_dsn(0)))]);
}
