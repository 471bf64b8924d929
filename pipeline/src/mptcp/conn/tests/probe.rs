//! A potentially failed subflow (RFC 8684 §3.3.6) between bursts: out of the scheduler's
//! first choice until it shows life, probed meanwhile from max(SRTT, 20 ms) on with a backoff
//! up to 2 s that new data resets, back in use at the first acknowledgement of new data
//! (docs/architecture.md, "Failover").

use super::harness::*;
use crate::mptcp::conn::MptcpConfig;
use crate::wire::mptcp::{Dss, DssMapping};

/// Subflow 0 holds 1000 bytes and stalls (RTO at 300 ms, failover at 400 ms); they go on
/// subflow 1, which the client acknowledges at both levels: the harness, the id of subflow
/// 1, and the segment subflow 0 holds.
fn failed_primary() -> (Harness, u8, Seg) {
    let mut h = Harness::new(MptcpConfig::default());
    let id = h.join(1, false);
    h.transmit();
    let data = pattern(1000);
    h.conn.send(&data);
    let map = DssMapping::new(h.our_dsn(0), true, 1, 1000);
    let first = Seg::ours(PSH | ACK, 0, 0, h.peer_dsn(0)).mapping(map).data(&data);
    assert_eq!(h.transmit(), [(0, first.clone())]);
    assert_eq!(h.fire(), ms(300), "the subflow's RTO");
    h.transmit();
    assert_eq!(h.fire(), ms(100), "the failover time");
    assert!(h.conn.subflow(0).expect("subflow 0").is_stalled());
    let out = h.transmit();
    assert!(out.contains(&(id, first.clone())), "reinjected on subflow 1: {out:?}");
    h.advance(ms(10));
    h.deliver(id, &Seg::ack(0, 1000).dss(Dss::data_ack_only(h.our_dsn(1000), true)));
    assert_eq!(h.transmit(), []);
    (h, id, first)
}

/// The failed subflow's first unacknowledged segment goes out again, with its mapping, one
/// probe interval (its SRTT, 100 ms) after the failover, and again twice that later (the
/// backoff); the bytes are counted, and nothing else is sent.
#[test]
fn a_failed_subflow_is_probed_after_one_srtt_with_its_first_segment() {
    let (mut h, _, first) = failed_primary();
    assert_eq!(h.fire(), ms(90), "100 ms after the failover");
    assert_eq!(h.transmit(), [(0, first.clone())], "the probe: the same segment");
    assert_eq!(h.fire(), ms(200), "backed off");
    assert_eq!(h.transmit(), [(0, first)]);
    assert_eq!(h.conn.stats().probe_bytes, 2000);
    assert_eq!(h.conn.stats().potentially_failed, 1);
}

/// Runs the timers for `span`; returns how many probes the failed subflow 0 sent.
fn probes_over(h: &mut Harness, span: crate::time::Duration) -> u64 {
    let (before, end) = (h.conn.stats().probe_bytes, h.now + span);
    while h.conn.poll_timeout().is_some_and(|at| at <= end) {
        h.fire();
        h.transmit();
    }
    h.now = end;
    (h.conn.stats().probe_bytes - before) / 1000
}

/// An idle connection whose primary is dead costs almost nothing: unanswered probes back off
/// (100, 200, 400, 800, 1600 ms, then every 2 s), about 33 probes in a minute where one
/// every SRTT would be 600.
#[test]
fn probes_back_off_over_a_long_idle_period() {
    let (mut h, _, _) = failed_primary();
    let probes = probes_over(&mut h, ms(60_000));
    assert!((25..=40).contains(&probes), "{probes} probes in 60 s");
    assert_eq!(h.conn.stats().potentially_failed, 1);
}

/// New data resets the backoff: after a long idle period the next probe is due within one
/// SRTT of the burst, so a returning path is noticed about one RTT into the traffic.
#[test]
fn new_data_resets_the_probe_backoff() {
    let (mut h, id, _) = failed_primary();
    probes_over(&mut h, ms(10_000));
    h.conn.send(&pattern(500));
    let out = h.transmit();
    assert!(out.iter().all(|(sub, _)| *sub == id), "the burst on subflow 1: {out:?}");
    let probes = h.conn.stats().probe_bytes;
    assert!(probes_over(&mut h, ms(100)) >= 1, "a probe within one SRTT of the burst");
    assert!(h.conn.stats().probe_bytes > probes);
}

/// A new burst while the failed subflow is idle at the data level (its data DATA_ACKed
/// through the other) goes straight to the other subflow: a failed subflow is not the first
/// choice again just because nothing of the connection is outstanding.
#[test]
fn a_new_burst_skips_the_failed_subflow() {
    let (mut h, id, _) = failed_primary();
    let burst = pattern(500);
    h.conn.send(&burst);
    let out = h.transmit();
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].0, id, "on subflow 1: {out:?}");
    assert_eq!(out[0].1.data, burst);
    assert_eq!(h.conn.stats().potentially_failed, 1, "no second failover");
}

/// The failed subflow's acknowledgement of new data (a probe answered) makes it active at
/// once (the scheduler ranks it by RTT again), and probing stops.
#[test]
fn an_answered_probe_puts_the_subflow_back_in_use() {
    let (mut h, _, _) = failed_primary();
    h.fire();
    h.transmit();
    h.advance(ms(5));
    h.deliver(0, &Seg::ack(0, 1000).dss(Dss::data_ack_only(h.our_dsn(1000), true)));
    assert!(!h.conn.subflow(0).expect("subflow 0").is_stalled());
    let probes = h.conn.stats().probe_bytes;
    h.advance(ms(500));
    assert_eq!(h.transmit(), [], "no probe once it answered");
    assert_eq!(h.conn.stats().probe_bytes, probes);
}

/// The handover's stall, the data level's gap from the data going out to its DATA_ACK
/// through subflow 1 (failover at 400 ms, acknowledged 10 ms later): given once for the
/// histogram, and kept as the connection's longest for its end log (docs/operations.md).
#[test]
fn the_handover_stall_is_given_once_and_kept_as_the_longest() {
    let (mut h, _, _) = failed_primary();
    assert_eq!(h.conn.take_handover_stall(), Some(ms(410)));
    assert_eq!(h.conn.take_handover_stall(), None, "once");
    assert_eq!(h.conn.longest_handover_stall(), Some(ms(410)));
}
