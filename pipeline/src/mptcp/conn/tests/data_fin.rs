//! DATA_FIN both ways (RFC 8684 §3.3.3).

use super::harness::*;
use crate::mptcp::conn::{MptcpConfig, MptcpEnd};
use crate::wire::mptcp::{Dss, DssMapping};

/// RFC 8684 §3.3.3: the client's DATA_FIN on its last data (the mapping's length counts it)
/// is acknowledged at once with DATA_ACK = DSN of the DATA_FIN + 1, and ends our read side.
#[test]
fn a_data_fin_with_data_is_acknowledged_with_its_dsn_plus_one() {
    let mut h = Harness::new(MptcpConfig::default());
    let data = pattern(100);
    let map = DssMapping::new(h.peer_dsn(0), true, 1, 101);
    let dss = Dss::mapping_only(map).with_data_ack(h.our_dsn(0), true).with_data_fin();
    h.deliver(0, &Seg::ack(0, 0).dss(dss).data(&data));
    assert_eq!(h.transmit(), [(0, Seg::ours(ACK, 0, 100, h.peer_dsn(101)))]);
    assert_eq!(h.read_all(), data);
    assert!(h.conn.is_read_closed());
}

/// RFC 8684 §3.3.3: a DATA_FIN without data (subflow sequence number 0, length 1) after
/// every byte is acknowledged at once with DATA_ACK = its DSN + 1.
#[test]
fn a_data_fin_without_data_is_acknowledged_with_its_dsn_plus_one() {
    let mut h = Harness::new(MptcpConfig::default());
    let map = DssMapping::data_fin_only(h.peer_dsn(0), true);
    let dss = Dss::mapping_only(map).with_data_ack(h.our_dsn(0), true).with_data_fin();
    h.deliver(0, &Seg::ack(0, 0).dss(dss));
    assert_eq!(h.transmit(), [(0, Seg::ours(ACK, 0, 0, h.peer_dsn(1)))]);
    assert!(h.conn.is_read_closed());
}

/// Our DATA_FIN, sent once all data is mapped: DSS with F set and a DATA_FIN-only mapping.
fn our_data_fin(h: &Harness, seq: u32, dsn: u64) -> (u8, Seg) {
    // Beside the DATA_FIN's 64-bit DSN the DATA_ACK is 32 bits (`tx::no_misread_ack`).
    let dss = Dss::data_ack_only(h.peer_dsn(0), false).with_data_fin();
    let dss = Dss { mapping: Some(DssMapping::data_fin_only(dsn, true)), ..dss };
    (0, Seg::new(ACK, seq, 0).dss(dss))
}

/// RFC 8684 §3.3.3: when we close, the DATA_FIN follows the data (DSN one past the last
/// byte, subflow sequence number 0, length 1) and is sent again by the data-level timer
/// until DATA_ACKed; a DATA_ACK of DSN + 1 stops it. The data was queued unmapped at the
/// close, so the DATA_FIN goes out with the next input once the data is mapped: here the
/// client's ACK of the data.
#[test]
fn our_data_fin_is_sent_after_the_data_and_again_until_acknowledged() {
    let mut h = Harness::new(MptcpConfig::default());
    h.conn.send(&pattern(100));
    h.conn.close(h.now);
    let map = DssMapping::new(h.our_dsn(0), true, 1, 100);
    let data = Seg::ours(PSH | ACK, 0, 0, h.peer_dsn(0)).mapping(map).data(&pattern(100));
    assert_eq!(h.transmit(), [(0, data)]);
    h.advance(RTT);
    h.deliver(0, &Seg::ack(0, 100).dss(Dss::data_ack_only(h.our_dsn(100), true)));
    assert_eq!(h.transmit(), [our_data_fin(&h, 100, h.our_dsn(100))]);
    // The data-level timeout: max(200 ms, 4 × SRTT 100 ms) from the last progress.
    assert_eq!(h.fire(), ms(400));
    assert_eq!(h.transmit(), [our_data_fin(&h, 100, h.our_dsn(100))]);
    assert_eq!(h.fire(), ms(800), "backed off");
    assert_eq!(h.transmit(), [our_data_fin(&h, 100, h.our_dsn(100))]);
    h.deliver(0, &Seg::ack(0, 100).dss(Dss::data_ack_only(h.our_dsn(101), true)));
    h.advance(ms(10_000));
    assert_eq!(h.transmit(), []);
    assert_eq!(h.conn.stats().data_timeouts, 2);
}

/// RFC 8684 §3.3.3: with both DATA_FINs acknowledged the connection is closed cleanly and
/// every subflow closes with a FIN.
#[test]
fn both_data_fins_acknowledged_close_the_connection_and_its_subflows() {
    let mut h = Harness::new(MptcpConfig::default());
    h.conn.close(h.now);
    assert_eq!(h.transmit(), [our_data_fin(&h, 0, h.our_dsn(0))]);
    let map = DssMapping::data_fin_only(h.peer_dsn(0), true);
    let dss = Dss::mapping_only(map).with_data_ack(h.our_dsn(1), true).with_data_fin();
    h.deliver(0, &Seg::ack(0, 0).dss(dss));
    assert_eq!(h.conn.end(), Some(MptcpEnd::Closed));
    assert_eq!(h.transmit(), [(0, Seg::ours(FIN | ACK, 0, 0, h.peer_dsn(1)))]);
}

/// RFC 9293 §3.8.1, §3.10.4: after the clean end, a subflow's FIN is retransmitted until
/// acknowledged, and the connection is not over (its owner would drop the subflow, leaving
/// the client in FIN-WAIT-2) before every subflow is CLOSED or in TIME-WAIT.
#[test]
fn a_lost_subflow_fin_after_the_clean_end_is_retransmitted() {
    let mut h = Harness::new(MptcpConfig::default());
    h.conn.close(h.now);
    h.transmit();
    let map = DssMapping::data_fin_only(h.peer_dsn(0), true);
    let dss = Dss::mapping_only(map).with_data_ack(h.our_dsn(1), true).with_data_fin();
    h.deliver(0, &Seg::ack(0, 0).dss(dss));
    assert_eq!(h.conn.end(), Some(MptcpEnd::Closed));
    let data_ack = h.peer_dsn(1);
    let fin = || (0, Seg::ours(FIN | ACK, 0, 0, data_ack));
    assert_eq!(h.transmit(), [fin()], "lost");
    assert!(!h.conn.ended(), "the subflow's FIN is not acknowledged");
    assert_eq!(h.fire(), ms(300), "the subflow's RTO");
    assert_eq!(h.transmit(), [fin()], "sent again");
    assert_eq!(h.fire(), ms(600), "backed off");
    assert_eq!(h.transmit(), [fin()]);
    assert!(!h.conn.ended());
    h.deliver(0, &Seg::new(FIN | ACK, 0, 1).dss(Dss::data_ack_only(h.our_dsn(1), true)));
    assert!(h.conn.ended(), "TIME-WAIT once the client's FIN acknowledged ours");
}
