//! SYN-SENT (RFC 9293 §3.10.7.3) and CLOSED behaviour.

use netreaktor_pipeline::tcp::{CloseReason, Config, ConnEvent, State};

use super::harness::*;

#[test]
fn active_open_sends_syn_with_mss_sack_ts_and_wscale() {
    let mut h = Harness::client(Config::default());
    assert_eq!(h.conn.state(), State::SynSent);
    let syn = Seg::new(SYN, ISS, 0, 65535).opts(&[
        Opt::Mss(1460),
        Opt::SackPerm,
        Opt::Ts(our_tsval(T0), 0),
        Opt::Nop,
        Opt::Ws(3),
    ]);
    assert_eq!(h.transmit(), [syn]);
    assert_eq!(h.transmit(), []);
}

#[test]
fn acceptable_syn_ack_establishes_and_is_acked() {
    let mut h = Harness::client(plain());
    assert_eq!(h.transmit(), [Seg::new(SYN, ISS, 0, 65535).opts(&[Opt::Mss(1460)])]);
    let r = h.deliver(&Seg::new(SYN | ACK, PEER_ISS, ISS + 1, 4000).opts(&[Opt::Mss(1200)]));
    assert!(r.accepted);
    assert_eq!(h.conn.state(), State::Established);
    assert_eq!(h.transmit(), [Seg::ack(ISS + 1, PEER_ISS + 1, OUR_WND)]);
    assert_eq!(h.events(), [ConnEvent::Connected]);
    assert_eq!(h.conn.send_window(), 4000);
    assert_eq!(h.conn.effective_mss(), 1200);
}

#[test]
fn syn_ack_with_unacceptable_ack_gets_reset_from_its_ack() {
    for bad_ack in [ISS, ISS + 2, ISS - 500] {
        let mut h = Harness::client(plain());
        h.transmit();
        h.deliver(&Seg::new(SYN | ACK, PEER_ISS, bad_ack, 4000));
        // RFC 9293 §3.10.7.3: <SEQ=SEG.ACK><CTL=RST>, and the segment is dropped.
        assert_eq!(h.transmit(), [Seg::new(RST, bad_ack, 0, 0)], "ack {bad_ack}");
        assert_eq!(h.conn.state(), State::SynSent);
    }
}

#[test]
fn rst_with_acceptable_ack_refuses_the_connection() {
    let mut h = Harness::client(plain());
    h.transmit();
    assert!(h.deliver(&Seg::new(RST | ACK, 0, ISS + 1, 0)).accepted);
    assert_eq!(h.conn.state(), State::Closed);
    assert_eq!(h.events(), [ConnEvent::Closed(CloseReason::Refused)]);
    assert_eq!(h.transmit(), []);
}

#[test]
fn rst_without_ack_or_with_a_bad_ack_is_ignored() {
    let mut h = Harness::client(plain());
    h.transmit();
    // §3.10.7.3 "second": without ACK, drop; with an unacceptable ACK, drop (no RST to a RST).
    h.deliver(&Seg::new(RST, PEER_ISS, 0, 0));
    h.deliver(&Seg::new(RST | ACK, PEER_ISS, ISS + 7, 0));
    assert_eq!(h.conn.state(), State::SynSent);
    assert_eq!(h.transmit(), []);
}

#[test]
fn segment_without_syn_or_rst_is_dropped() {
    let mut h = Harness::client(plain());
    h.transmit();
    h.deliver(&Seg::ack(PEER_ISS, ISS + 1, 4000));
    h.deliver(&Seg::new(FIN | ACK, PEER_ISS, ISS + 1, 4000));
    assert_eq!(h.conn.state(), State::SynSent);
    assert_eq!(h.transmit(), []);
}

#[test]
fn simultaneous_open_goes_through_syn_received() {
    let mut h = Harness::client(plain());
    h.transmit();
    // RFC 9293 Figure 8: both SYNs cross.
    assert!(h.deliver(&Seg::new(SYN, PEER_ISS, 0, 4000).opts(&[Opt::Mss(1200)])).accepted);
    assert_eq!(h.conn.state(), State::SynReceived);
    let syn_ack = Seg::new(SYN | ACK, ISS, PEER_ISS + 1, 65535).opts(&[Opt::Mss(1460)]);
    assert_eq!(h.transmit(), [syn_ack]);
    // Line 5 of Figure 8: the peer's SYN,ACK (its SYN again, our SYN acknowledged).
    h.deliver(&Seg::new(SYN | ACK, PEER_ISS, ISS + 1, 4000).opts(&[Opt::Mss(1200)]));
    assert_eq!(h.conn.state(), State::Established);
    assert_eq!(h.events(), [ConnEvent::Connected]);
    assert_eq!(h.transmit(), []);
    assert_eq!(h.conn.send_window(), 4000);
}

#[test]
fn simultaneous_open_completes_on_a_plain_ack() {
    let mut h = Harness::client(plain());
    h.transmit();
    h.deliver(&Seg::new(SYN, PEER_ISS, 0, 4000));
    h.transmit();
    h.deliver(&Seg::ack(PEER_ISS + 1, ISS + 1, 4000));
    assert_eq!(h.conn.state(), State::Established);
    assert_eq!(h.transmit(), []);
}

#[test]
fn syn_is_retransmitted_with_backoff_then_gives_up_without_rst() {
    let mut h = Harness::client(Config { syn_retries: 3, ..plain() });
    let syn = Seg::new(SYN, ISS, 0, 65535).opts(&[Opt::Mss(1460)]);
    assert_eq!(h.transmit(), std::slice::from_ref(&syn));
    // RFC 6298 §2.1 initial RTO 1 s, §5.5 doubling.
    for wait in [1000, 2000, 4000] {
        assert_eq!(h.fire(), ms(wait));
        assert_eq!(h.transmit(), std::slice::from_ref(&syn), "after {wait} ms");
    }
    assert_eq!(h.fire(), ms(8000));
    // RFC 9293 §3.8.3: the peer never synchronized, so no RST.
    assert_eq!(h.transmit(), []);
    assert_eq!(h.conn.state(), State::Closed);
    assert_eq!(h.events(), [ConnEvent::Closed(CloseReason::TimedOut)]);
}

#[test]
fn default_syn_retries_keep_trying_for_three_minutes() {
    // RFC 9293 §3.8.3 MUST-23: R2 for a SYN covers at least 3 minutes.
    let mut h = Harness::client(plain());
    h.transmit();
    let mut total = ms(0);
    while h.conn.state() == State::SynSent {
        total += h.fire();
        h.transmit();
    }
    assert!(total >= ms(180_000), "gave up after {total:?}");
    assert_eq!(h.events(), [ConnEvent::Closed(CloseReason::TimedOut)]);
}

#[test]
fn close_and_abort_in_syn_sent_delete_the_tcb_silently() {
    let mut h = Harness::client(plain());
    h.transmit();
    h.conn.close(h.now);
    assert_eq!(h.conn.state(), State::Closed);
    assert_eq!(h.transmit(), []);
    let mut h = Harness::client(plain());
    h.transmit();
    h.conn.abort(h.now);
    assert_eq!(h.conn.state(), State::Closed);
    assert_eq!(h.events(), [ConnEvent::Closed(CloseReason::Aborted)]);
    assert_eq!(h.transmit(), []);
}

#[test]
fn data_queued_in_syn_sent_goes_after_the_handshake() {
    let mut h = Harness::client(plain());
    assert_eq!(h.conn.send(b"early"), 5);
    assert_eq!(h.transmit().len(), 1, "the SYN alone");
    h.deliver(&Seg::new(SYN | ACK, PEER_ISS, ISS + 1, 4000));
    let data = Seg::new(ACK | PSH, ISS + 1, PEER_ISS + 1, OUR_WND).data(b"early");
    assert_eq!(h.transmit(), [data]);
}

#[test]
fn closed_connection_ignores_segments_and_user_calls() {
    let mut h = Harness::established(plain());
    h.conn.abort(h.now);
    h.transmit();
    h.events();
    assert!(!h.deliver(&Seg::ack(PEER_ISS + 1, ISS + 1, 100)).accepted);
    assert!(!h.deliver(&Seg::new(SYN, 9000, 0, 100)).accepted);
    assert_eq!(h.conn.send(b"x"), 0);
    h.conn.close(h.now);
    h.conn.abort(h.now);
    assert_eq!(h.transmit(), []);
    assert_eq!(h.events(), []);
    assert_eq!(h.conn.poll_timeout(), None);
}

#[test]
fn rst_in_syn_received_after_an_active_open_means_refused() {
    let mut h = Harness::client(plain());
    h.transmit();
    h.deliver(&Seg::new(SYN, PEER_ISS, 0, 4000));
    h.transmit();
    // MUST-11: SYN-RECEIVED remembers it came from an active OPEN.
    h.deliver(&Seg::new(RST, PEER_ISS + 1, 0, 0));
    assert_eq!(h.conn.state(), State::Closed);
    assert_eq!(h.events(), [ConnEvent::Closed(CloseReason::Refused)]);
}
