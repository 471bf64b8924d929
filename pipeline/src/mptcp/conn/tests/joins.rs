//! Joined subflows (RFC 8684 §3.2): the proof value, the subflow limit, the fourth ACK, and
//! the redundant scheduler that uses every subflow.

use super::harness::*;
use crate::mptcp::conn::{MptcpConfig, Scheduler};
use crate::mptcp::crypto::{HmacKeys, KeyMaterial};
use crate::wire::mptcp::{DssMapping, MpJoin, MptcpOption};

/// RFC 8684 §3.2: the third ACK of a join is acknowledged at once (with our DATA_ACK), so
/// the client may send data on the subflow.
#[test]
fn the_third_ack_of_a_join_is_acknowledged_at_once() {
    let mut h = Harness::new(MptcpConfig::default());
    let id = h.join(1, false);
    assert_eq!(h.transmit(), [(id, Seg::ours(ACK, 0, 0, h.peer_dsn(0)))]);
    assert_eq!(h.conn.stats().subflows_attached, 2);
}

/// RFC 8684 §3.2: when our ACK of a join's third ACK is lost, the client repeats the third
/// ACK (iOS every 500 ms, docs/ios-emulation.md §7); each repetition, a duplicate pure ACK, is
/// answered.
#[test]
fn a_repeated_third_ack_of_a_join_is_answered() {
    let mut h = Harness::new(MptcpConfig::default());
    let id = h.join(1, false);
    h.transmit(); // lost on the way
    h.advance(ms(500));
    let client = HmacKeys::new(&KeyMaterial::new(h.client_key, h.algo), SERVER_KEY);
    let hmac = client.ack_hmac(CLIENT_NONCE, SERVER_NONCE);
    let third = Seg::ack(0, 0).opt(MptcpOption::MpJoin(MpJoin::Ack { hmac }));
    for _ in 0..2 {
        h.deliver(id, &third);
        assert_eq!(h.transmit(), [(id, Seg::ours(ACK, 0, 0, h.peer_dsn(0)))]);
    }
    assert_eq!(h.conn.stats().subflows_attached, 2);
}

/// RFC 8684 §3.2: a verified HMAC of another connection (another token) attaches nothing.
#[test]
fn a_proof_for_another_connection_is_refused() {
    let mut h = Harness::new(MptcpConfig::default());
    assert!(h.try_join(1, false, SERVER_KEY ^ 0xff).is_err());
    assert_eq!(h.conn.live_subflows(), 1);
    assert_eq!(h.conn.stats().subflows_attached, 1);
    assert_eq!(h.transmit(), []);
}

/// RFC 8684 §3.2: past the subflow limit (the initial subflow counted) a join is refused.
#[test]
fn a_join_past_the_subflow_limit_is_refused() {
    let mut h = Harness::new(MptcpConfig { max_subflows: 2, ..MptcpConfig::default() });
    h.join(1, false);
    assert!(!h.conn.has_room());
    assert!(h.try_join(2, false, SERVER_KEY).is_err());
    assert_eq!(h.conn.live_subflows(), 2);
}

/// The redundant scheduler (a policy RFC 8684 §3.3.8 leaves open): each new run goes out
/// on every usable subflow, each copy with the same mapping.
#[test]
fn the_redundant_scheduler_sends_each_run_on_every_subflow() {
    let cfg = MptcpConfig { scheduler: Scheduler::Redundant, ..MptcpConfig::default() };
    let mut h = Harness::new(cfg);
    let id = h.join(1, false);
    h.transmit();
    let data = pattern(1000);
    h.conn.send(&data);
    let map = DssMapping::new(h.our_dsn(0), true, 1, 1000);
    let seg = Seg::ours(PSH | ACK, 0, 0, h.peer_dsn(0)).mapping(map).data(&data);
    assert_eq!(h.transmit(), [(0, seg.clone()), (id, seg)]);
}
