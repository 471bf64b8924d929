//! Failover and the scheduler (RFC 8684 §3.3.6 reinjection, §3.2 and §3.3.8 backup).

use super::harness::*;
use crate::mptcp::conn::MptcpConfig;
use crate::wire::mptcp::{Dss, DssMapping, MptcpOption};

/// RFC 8684 §3.3.6: a subflow with data outstanding and no acknowledgement for its
/// failover time (max(50 ms, 2 × SRTT + 4 × RTTVAR) = 400 ms) is potentially failed: its
/// unacknowledged mapping goes out at once on the other subflow with the same DSN.
#[test]
fn a_stalled_subflow_is_potentially_failed_and_its_data_reinjected_on_the_other() {
    let mut h = Harness::new(MptcpConfig::default());
    let id = h.join(1, false);
    h.transmit();
    let data = pattern(1000);
    h.conn.send(&data);
    let map = DssMapping::new(h.our_dsn(0), true, 1, 1000);
    let first = Seg::ours(PSH | ACK, 0, 0, h.peer_dsn(0)).mapping(map).data(&data);
    assert_eq!(h.transmit(), [(0, first.clone())]);
    assert_eq!(h.fire(), ms(300), "the subflow's RTO");
    assert_eq!(h.transmit(), [(0, first.clone())], "retransmitted with its mapping");
    assert!(!h.conn.subflow(0).expect("subflow 0").is_stalled());
    assert_eq!(h.fire(), ms(100), "the failover time, 400 ms after the data went out");
    assert!(h.conn.subflow(0).expect("subflow 0").is_stalled());
    // The data-level timer (4 × SRTT) is due at the same moment; it ran first and forced a
    // pure ACK on subflow 0, not yet marked stalled then.
    let nudge = Seg::ours(ACK, 1000, 0, h.peer_dsn(0));
    let out = [(0, nudge), (id, first)];
    assert_eq!(h.transmit(), out, "the same mapping on subflow 1: DSN, first byte, length");
    assert_eq!(h.conn.stats().data_timeouts, 1);
    assert_eq!(h.conn.stats().potentially_failed, 1);
    assert_eq!(h.conn.stats().reinjected_bytes, 1000);
}

/// RFC 8684 §3.2: a subflow joined with B=1 is a backup, unused while a non-backup subflow
/// is usable, however much data there is.
#[test]
fn a_backup_subflow_is_not_used_while_the_primary_is_healthy() {
    let mut h = Harness::new(MptcpConfig::default());
    let id = h.join(1, true);
    h.transmit();
    assert!(h.conn.subflow(id).expect("joined").is_backup());
    let mut sent = 0u32;
    for round in 0..4 {
        h.conn.send(&pattern(20_000));
        let out = h.transmit();
        assert!(!out.is_empty(), "round {round} sends");
        assert!(out.iter().all(|(sub, _)| *sub == 0), "round {round}: {out:?}");
        sent += out.iter().map(|(_, s)| s.data.len() as u32).sum::<u32>();
        h.advance(RTT);
        let data_ack = Dss::data_ack_only(h.our_dsn(u64::from(sent)), true);
        h.deliver(0, &Seg::ack(0, sent).dss(data_ack));
    }
    assert_eq!(h.conn.stats().reinjected_bytes, 0);
}

/// A connection with one subflow whose 1000 bytes went out and then stalled (failover after
/// max(50 ms, 0 × SRTT + 4 × RTTVAR) = 200 ms, before the 300 ms RTO), nothing reinjected:
/// the harness, the data, its mapping and the segment that carried it.
fn lone_subflow_stalled() -> (Harness, Vec<u8>, DssMapping, Seg) {
    let mut h = Harness::new(MptcpConfig { failover_rtts: 0, ..MptcpConfig::default() });
    let data = pattern(1000);
    h.conn.send(&data);
    let map = DssMapping::new(h.our_dsn(0), true, 1, 1000);
    let first = Seg::ours(PSH | ACK, 0, 0, h.peer_dsn(0)).mapping(map).data(&data);
    assert_eq!(h.transmit(), [(0, first.clone())]);
    assert_eq!(h.fire(), ms(200));
    assert_eq!(h.conn.stats().potentially_failed, 1);
    assert!(h.conn.subflow(0).expect("subflow 0").is_stalled());
    assert_eq!(h.transmit(), [], "no copy on the same subflow: nowhere to reinject yet");
    (h, data, map, first)
}

/// RFC 8684 §3.3.6: reinjection puts a stalled subflow's data on another subflow. With no
/// other subflow there is nowhere to reinject: the data stays with the subflow, whose own
/// retransmission (its RTO, 300 ms) resends it with its mapping.
#[test]
fn a_stalled_subflow_with_no_other_keeps_its_data() {
    let (mut h, _, _, first) = lone_subflow_stalled();
    assert_eq!(h.fire(), ms(100));
    assert_eq!(h.transmit(), [(0, first)]);
    assert_eq!(h.conn.stats().reinjected_bytes, 0);
}

/// RFC 8684 §3.3.6: data a lone subflow held when it stalled (nowhere to reinject it then)
/// goes on the next subflow that joins, at once: an iPhone in handover mode joins its
/// cellular subflow only once Wi-Fi looks bad, after the stall.
#[test]
fn data_held_by_a_lone_stalled_subflow_moves_to_the_next_join() {
    let (mut h, data, map, _) = lone_subflow_stalled();
    let id = h.join(1, true);
    let out = h.transmit();
    let on_join: Vec<_> = out.iter().filter(|(sub, s)| *sub == id && !s.data.is_empty()).collect();
    assert_eq!(on_join.len(), 1, "{out:?}");
    assert_eq!(on_join[0].1.data, data, "the same bytes");
    let mapped = |o: &MptcpOption<'_>| matches!(o, MptcpOption::Dss(d) if d.mapping == Some(map));
    assert!(on_join[0].1.mptcp.iter().any(mapped), "the same mapping: {:?}", on_join[0].1);
    assert_eq!(h.conn.stats().reinjected_bytes, 1000);
}
