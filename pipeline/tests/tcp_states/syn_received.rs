//! SYN-RECEIVED (RFC 9293 §3.10.7.2 LISTEN hands over, §3.10.7.4 in SYN-RECEIVED).

use netreaktor_pipeline::tcp::{CloseReason, Config, ConnEvent, State};

use super::harness::*;

fn peer_syn() -> Seg {
    Seg::new(SYN, PEER_ISS, 0, 4000).opts(&[Opt::Mss(1200)])
}

fn syn_ack() -> Seg {
    Seg::new(SYN | ACK, ISS, PEER_ISS + 1, 65535).opts(&[Opt::Mss(1460)])
}

/// A server that has sent its SYN,ACK.
fn server() -> Harness {
    let mut h = Harness::server(plain(), &peer_syn());
    assert_eq!(h.conn.state(), State::SynReceived);
    assert_eq!(h.transmit(), [syn_ack()]);
    h
}

#[test]
fn syn_ack_echoes_every_option_the_syn_offered() {
    let syn = Seg::new(SYN, PEER_ISS, 0, 4000).opts(&[
        Opt::Mss(1200),
        Opt::SackPerm,
        Opt::Ts(777, 0),
        Opt::Nop,
        Opt::Ws(7),
    ]);
    let mut h = Harness::server(Config::default(), &syn);
    let expected = Seg::new(SYN | ACK, ISS, PEER_ISS + 1, 65535).opts(&[
        Opt::Mss(1460),
        Opt::SackPerm,
        Opt::Ts(our_tsval(T0), 777),
        Opt::Nop,
        Opt::Ws(3),
    ]);
    assert_eq!(h.transmit(), [expected]);
}

#[test]
fn syn_ack_carries_only_mss_when_the_syn_offered_nothing() {
    // RFC 7323 §2.2, §3.2 and RFC 2018 §2: no window scale, timestamps or SACK-permitted in
    // a SYN,ACK whose SYN did not offer them.
    let mut h = Harness::server(Config::default(), &Seg::new(SYN, PEER_ISS, 0, 4000));
    assert_eq!(h.transmit(), [syn_ack()]);
    h.deliver(&Seg::ack(PEER_ISS + 1, ISS + 1, 4000));
    assert_eq!(h.conn.state(), State::Established);
    // Without the option the peer's MSS is 536 (RFC 9293 §3.7.1, MUST-15).
    assert_eq!(h.conn.effective_mss(), 536);
}

#[test]
fn ack_of_syn_establishes() {
    let mut h = server();
    assert!(h.deliver(&Seg::ack(PEER_ISS + 1, ISS + 1, 4000)).accepted);
    assert_eq!(h.conn.state(), State::Established);
    assert_eq!(h.events(), [ConnEvent::Connected]);
    assert_eq!(h.transmit(), []);
    assert_eq!(h.conn.send_window(), 4000);
    assert_eq!(h.conn.effective_mss(), 1200);
}

#[test]
fn ack_of_syn_with_data_delivers_it() {
    let mut h = server();
    h.deliver(&Seg::new(ACK | PSH, PEER_ISS + 1, ISS + 1, 4000).data(b"GET /"));
    assert_eq!(h.conn.state(), State::Established);
    assert_eq!(h.read_all(), b"GET /");
    assert_eq!(h.transmit(), [Seg::ack(ISS + 1, PEER_ISS + 6, OUR_WND)]);
}

#[test]
fn unacceptable_ack_gets_reset_from_its_ack() {
    let mut h = server();
    for bad in [ISS, ISS + 2, ISS + 100_000] {
        h.deliver(&Seg::ack(PEER_ISS + 1, bad, 4000));
        // RFC 9293 §3.10.7.4 SYN-RECEIVED: <SEQ=SEG.ACK><CTL=RST>.
        assert_eq!(h.transmit(), [Seg::new(RST, bad, 0, 0)], "ack {bad}");
        assert_eq!(h.conn.state(), State::SynReceived);
    }
}

#[test]
fn rst_with_exact_seq_deletes_the_tcb() {
    let mut h = server();
    assert!(h.deliver(&Seg::new(RST, PEER_ISS + 1, 0, 0)).accepted);
    assert_eq!(h.conn.state(), State::Closed);
    // Passive open: note 1 of Figure 5, the listener carries on; this TCB is reset.
    assert_eq!(h.events(), [ConnEvent::Closed(CloseReason::Reset)]);
    assert_eq!(h.transmit(), []);
}

#[test]
fn rst_in_window_but_not_exact_is_challenged() {
    let mut h = server();
    let r = h.deliver(&Seg::new(RST, PEER_ISS + 10, 0, 0));
    assert!(r.challenged);
    assert_eq!(h.conn.state(), State::SynReceived);
    // RFC 5961 §3.2 asks for <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>; before our SYN is
    // acknowledged the engine answers with its SYN,ACK, which carries the same ACK.
    let out = h.transmit();
    assert_eq!(out.len(), 1);
    assert_eq!((out[0].ack, out[0].flags.contains(ACK)), (PEER_ISS + 1, true));
}

#[test]
fn rst_out_of_window_is_dropped_silently() {
    let mut h = server();
    h.deliver(&Seg::new(RST, PEER_ISS + 1_000_000, 0, 0));
    assert_eq!(h.conn.state(), State::SynReceived);
    assert_eq!(h.transmit(), []);
}

#[test]
fn retransmitted_syn_gets_the_syn_ack_again() {
    let mut h = server();
    h.deliver(&peer_syn());
    assert_eq!(h.transmit(), [syn_ack()]);
    assert_eq!(h.conn.state(), State::SynReceived);
}

#[test]
fn close_in_syn_received_sends_fin_once_established() {
    let mut h = server();
    h.conn.close(h.now);
    // RFC 9293 §3.10.4 SYN-RECEIVED: the FIN waits for ESTABLISHED.
    assert_eq!(h.conn.state(), State::SynReceived);
    assert_eq!(h.transmit(), []);
    h.deliver(&Seg::ack(PEER_ISS + 1, ISS + 1, 4000));
    assert_eq!(h.conn.state(), State::FinWait1);
    assert_eq!(h.transmit(), [Seg::new(FIN | ACK, ISS + 1, PEER_ISS + 1, OUR_WND)]);
}

#[test]
fn abort_in_syn_received_sends_rst() {
    let mut h = server();
    h.conn.abort(h.now);
    assert_eq!(h.transmit(), [Seg::new(RST | ACK, ISS + 1, PEER_ISS + 1, 0)]);
    assert_eq!(h.conn.state(), State::Closed);
}

#[test]
fn syn_ack_is_retransmitted_then_gives_up_with_rst() {
    let mut h = Harness::server(Config { syn_retries: 2, ..plain() }, &peer_syn());
    assert_eq!(h.transmit(), [syn_ack()]);
    for wait in [1000, 2000] {
        assert_eq!(h.fire(), ms(wait));
        assert_eq!(h.transmit(), [syn_ack()]);
    }
    assert_eq!(h.fire(), ms(4000));
    assert_eq!(h.transmit(), [Seg::new(RST | ACK, ISS + 1, PEER_ISS + 1, 0)]);
    assert_eq!(h.conn.state(), State::Closed);
    assert_eq!(h.events(), [ConnEvent::Closed(CloseReason::TimedOut)]);
}
