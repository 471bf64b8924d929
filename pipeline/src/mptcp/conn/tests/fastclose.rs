//! MP_FASTCLOSE both ways (RFC 8684 §3.5).

use super::harness::*;
use crate::mptcp::conn::{FASTCLOSE_RETRIES, MptcpConfig, MptcpEnd, SubflowId};
use crate::wire::mptcp::{Dss, MpFastclose, MptcpOption};

/// A client ACK carrying MP_FASTCLOSE with `key`.
fn fastclose(h: &Harness, key: u64) -> Seg {
    let option = MptcpOption::MpFastclose(MpFastclose { receiver_key: key });
    Seg::ack(0, 0).dss(Dss::data_ack_only(h.our_dsn(0), true)).opt(option)
}

/// RFC 8684 §3.5: MP_FASTCLOSE with our key resets every subflow and ends the connection.
#[test]
fn mp_fastclose_with_our_key_resets_the_connection() {
    let mut h = Harness::new(MptcpConfig::default());
    let id = h.join(1, false);
    h.transmit();
    h.deliver(0, &fastclose(&h, SERVER_KEY));
    assert_eq!(h.conn.end(), Some(MptcpEnd::Reset));
    assert_eq!(h.conn.stats().fastclose_received, 1);
    let rst = Seg::rst(0, 0);
    assert_eq!(h.transmit(), [(0, rst.clone()), (id, rst)]);
    assert!(h.conn.is_closed());
}

/// RFC 8684 §3.5: MP_FASTCLOSE with any other key is ignored (counted).
#[test]
fn mp_fastclose_with_another_key_is_ignored() {
    let mut h = Harness::new(MptcpConfig::default());
    h.deliver(0, &fastclose(&h, SERVER_KEY ^ 1));
    assert_eq!(h.conn.end(), None);
    assert_eq!(h.conn.stats().bad_fastclose, 1);
    assert_eq!(h.transmit(), []);
    assert!(h.conn.subflow(0).expect("kept").tcp().state().is_synchronized());
}

/// Our MP_FASTCLOSE, with the client's key.
fn ours() -> MptcpOption<'static> {
    MptcpOption::MpFastclose(MpFastclose { receiver_key: CLIENT_KEY })
}

/// The pure ACK of our fast close: flags exactly ACK, SEQ `seq`, MP_FASTCLOSE alone.
fn fastclose_ack(seq: u32, ack: u32) -> Seg {
    Seg::new(ACK, seq, ack).opt(ours())
}

/// A connection with two subflows, aborted (what the splice does when the origin resets):
/// its first segments, polled.
fn aborted() -> (Harness, SubflowId, Vec<(SubflowId, Seg)>) {
    let mut h = Harness::new(MptcpConfig::default());
    let id = h.join(1, false);
    h.transmit();
    h.conn.abort(h.now);
    let out = h.transmit();
    (h, id, out)
}

/// RFC 8684 §3.5 (Option A), docs/ios-emulation.md §4 rule 4: the first segment on every subflow
/// after an origin reset is a pure ACK (flags exactly ACK, no data) at SEQ = SND.NXT carrying only
/// MP_FASTCLOSE with the client's key; no RST yet: the subflows wait in FASTCLOSE_WAIT.
#[test]
fn abort_sends_mp_fastclose_on_a_pure_ack_on_every_subflow_then_waits() {
    let (h, id, out) = aborted();
    assert_eq!(out, [(0, fastclose_ack(0, 0)), (id, fastclose_ack(0, 0))]);
    assert_eq!(h.conn.end(), Some(MptcpEnd::Reset));
    assert!(!h.conn.ended(), "FASTCLOSE_WAIT holds the subflows");
    assert!(h.conn.poll_timeout().is_some(), "the wait's timer runs");
}

/// RFC 8684 §3.5: the client's RST on one subflow (iOS answers an accepted MP_FASTCLOSE with
/// one) ends the wait; every other subflow then sends its RST, carrying MP_FASTCLOSE too.
#[test]
fn the_clients_rst_ends_the_wait_and_the_other_subflows_are_reset() {
    let (mut h, id, _) = aborted();
    h.deliver(0, &Seg::new(RST, 0, 0));
    assert_eq!(h.transmit(), [(id, Seg::rst(0, 0).opt(ours()))]);
    assert!(h.conn.is_closed() && h.conn.ended());
    assert_eq!(h.conn.poll_timeout(), None);
    assert_eq!(h.conn.reap(0).is_some(), h.conn.reap(id).is_some());
}

/// RFC 8684 §3.5: with no RST from the client, the ACK goes again after each RTO, three
/// times, then the RST carrying MP_FASTCLOSE releases the subflow.
#[test]
fn an_unanswered_fastclose_ack_is_resent_three_times_then_reset() {
    let mut h = Harness::new(MptcpConfig::default());
    h.conn.abort(h.now);
    assert_eq!(h.transmit(), [(0, fastclose_ack(0, 0))]);
    for _ in 0..FASTCLOSE_RETRIES {
        assert!(h.fire() > ms(0));
        assert_eq!(h.transmit(), [(0, fastclose_ack(0, 0))]);
    }
    assert!(h.fire() > ms(0));
    assert_eq!(h.transmit(), [(0, Seg::rst(0, 0).opt(ours()))]);
    assert!(h.conn.is_closed() && h.conn.ended());
    assert_eq!(h.conn.poll_timeout(), None);
}

/// docs/ios-emulation.md §4 rule 4: iOS takes MP_FASTCLOSE only at SEQ = its RCV.NXT. With data in
/// flight the ACK goes at SND.NXT (where the client is once everything arrived); when a segment was
/// lost, the client's duplicate ACK names its RCV.NXT and the ACK goes again there. An
/// acknowledgement outside what we sent is not the client's and changes nothing.
#[test]
fn with_data_lost_the_fastclose_ack_goes_again_at_the_clients_rcv_nxt() {
    let mut h = Harness::new(MptcpConfig::default());
    assert_eq!(h.conn.send(&pattern(3000)), 3000);
    assert_eq!(h.transmit().len(), 3);
    h.conn.abort(h.now);
    assert_eq!(h.transmit(), [(0, fastclose_ack(3000, 0))], "after the data in flight");
    let data_ack = Dss::data_ack_only(h.our_dsn(0), true);
    h.deliver(0, &Seg::ack(0, 5000).dss(data_ack));
    assert_eq!(h.transmit(), [], "beyond SND.NXT: not the client's");
    // The first segment was lost: the client acknowledges 0 (its RCV.NXT) and again.
    h.deliver(0, &Seg::ack(0, 0).dss(data_ack));
    assert_eq!(h.transmit(), [(0, fastclose_ack(0, 0))]);
    h.deliver(0, &Seg::ack(0, 0).dss(data_ack));
    assert_eq!(h.transmit(), [], "already sent there");
    h.deliver(0, &Seg::new(RST, 0, 0));
    assert_eq!(h.transmit(), []);
    assert!(h.conn.is_closed());
}

/// RFC 8684 §3.5: both sides closing fast at once: the client's MP_FASTCLOSE during our
/// wait is answered with RSTs on every subflow.
#[test]
fn a_fastclose_from_the_client_during_the_wait_is_answered_with_rsts() {
    let (mut h, id, _) = aborted();
    h.deliver(id, &fastclose(&h, SERVER_KEY));
    assert_eq!(h.conn.stats().fastclose_received, 1);
    let rst = Seg::rst(0, 0).opt(ours());
    assert_eq!(h.transmit(), [(0, rst.clone()), (id, rst)]);
    assert!(h.conn.is_closed());
}
