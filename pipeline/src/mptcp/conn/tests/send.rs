//! Data we send: DSS mappings and DATA_ACKs on every segment (RFC 8684 §3.3.1, §3.3.2),
//! mappings kept on retransmission, and the send buffer released by DATA_ACK alone.

use super::harness::*;
use crate::mptcp::conn::MptcpConfig;
use crate::wire::mptcp::{DataSeq, Dss, DssMapping};

/// A connection with `n` bytes of ours sent in one mapping and polled.
fn sent(n: usize) -> (Harness, Vec<(u8, Seg)>) {
    let mut h = Harness::new(MptcpConfig::default());
    assert_eq!(h.conn.send(&pattern(n)), n);
    let out = h.transmit();
    (h, out)
}

/// RFC 8684 §3.3.1, §3.3.2: every data segment carries the DSS mapping of its run (64-bit
/// DSN from IDSN+1, relative subflow sequence number 1, the run's length) and a 32-bit
/// DATA_ACK (beside a 64-bit DSN iOS misreads a 64-bit one: `tx::no_misread_ack`); segments
/// are cut by MSS within the one mapping.
#[test]
fn every_data_segment_carries_its_mapping_and_a_32_bit_data_ack() {
    let (h, out) = sent(3000);
    let data = pattern(3000);
    let map = DssMapping::new(h.our_dsn(0), true, 1, 3000);
    let seg = |flags, seq: usize, len| {
        let bytes = &data[seq..seq + len];
        let s = Seg::ours(flags, seq as u32, 0, h.peer_dsn(0)).mapping(map).data(bytes);
        (0, s)
    };
    assert_eq!(
        out,
        [seg(ACK, 0, MSS), seg(ACK, MSS, MSS), seg(PSH | ACK, 2 * MSS, 3000 - 2 * MSS)]
    );
}

/// RFC 8684 §3.3.1: a mapping is fixed once sent; the subflow's retransmission after its
/// RTO carries the same DSN, subflow sequence number and length.
#[test]
fn a_retransmission_after_the_rto_carries_its_original_mapping() {
    let (mut h, out) = sent(3000);
    assert_eq!(out.len(), 3);
    h.advance(RTT);
    h.deliver(0, &Seg::ack(0, MSS as u32).dss(Dss::data_ack_only(h.our_dsn(MSS as u64), true)));
    assert_eq!(h.transmit(), []);
    // RFC 6298 §2.3 after a second 100 ms sample: SRTT 100 ms, RTTVAR 37.5 ms.
    assert_eq!(h.fire(), ms(250));
    let map = DssMapping::new(h.our_dsn(0), true, 1, 3000);
    let again = Seg::ours(ACK, MSS as u32, 0, h.peer_dsn(0))
        .mapping(map)
        .data(&pattern(3000)[MSS..2 * MSS]);
    assert_eq!(h.transmit(), [(0, again)]);
}

/// RFC 8684 §3.3.2: the data-level send buffer is freed by DATA_ACK only; subflow ACKs of
/// the same bytes free nothing.
#[test]
fn only_a_data_ack_releases_the_send_buffer() {
    let (mut h, _) = sent(3000);
    h.advance(RTT);
    h.deliver(0, &Seg::ack(0, 3000));
    assert_eq!(h.conn.send_queued(), 3000, "a subflow ACK frees nothing");
    h.deliver(0, &Seg::ack(0, 3000).dss(Dss::data_ack_only(h.our_dsn(1000), true)));
    assert_eq!(h.conn.send_queued(), 2000);
    // A 4-byte DATA_ACK is expanded against the oldest unacknowledged DSN.
    let low = DataSeq::new(h.our_dsn(3000), false);
    h.deliver(0, &Seg::ack(0, 3000).dss(Dss { data_ack: Some(low), ..Dss::default() }));
    assert_eq!(h.conn.send_queued(), 0);
    assert_eq!(h.conn.stats().bad_data_acks, 0);
}

/// RFC 8684 §3.3.2: a DATA_ACK beyond the data sent is ignored and counted; one far off in
/// either direction (half the DSN space away) does no harm either.
#[test]
fn a_data_ack_beyond_what_was_sent_is_ignored() {
    let (mut h, _) = sent(1000);
    h.advance(RTT);
    let ahead = |dsn: u64| Seg::ack(0, 1000).dss(Dss::data_ack_only(dsn, true));
    h.deliver(0, &ahead(h.our_dsn(1001)));
    assert_eq!(h.conn.send_queued(), 1000);
    assert_eq!(h.conn.stats().bad_data_acks, 1);
    h.deliver(0, &ahead(h.our_dsn(1 << 63)));
    h.deliver(0, &ahead(h.our_dsn(u64::MAX)));
    assert_eq!(h.conn.send_queued(), 1000);
    assert_eq!(h.conn.stats().bad_data_acks, 1, "an old DATA_ACK is not counted as bad");
    h.deliver(0, &ahead(h.our_dsn(1000)));
    assert_eq!(h.conn.send_queued(), 0);
}
