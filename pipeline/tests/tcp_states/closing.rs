//! The closing states: FIN-WAIT-1, FIN-WAIT-2, CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT
//! (RFC 9293 §3.6, §3.10.4, §3.10.7.4).

use netreaktor_pipeline::tcp::{CloseReason, Config, ConnEvent, State};

use super::harness::*;

const UNA: u32 = ISS + 1;
const NXT: u32 = PEER_ISS + 1;

/// FIN-WAIT-1: we closed, our FIN (at UNA) is out.
fn fin_wait_1(cfg: Config) -> Harness {
    let mut h = Harness::established(cfg);
    h.conn.close(h.now);
    assert_eq!(h.conn.state(), State::FinWait1);
    assert_eq!(h.transmit(), [Seg::new(FIN | ACK, UNA, NXT, OUR_WND)]);
    h
}

fn fin_wait_2() -> Harness {
    let mut h = fin_wait_1(plain());
    h.deliver(&Seg::ack(NXT, UNA + 1, PEER_WND));
    assert_eq!(h.conn.state(), State::FinWait2);
    assert_eq!(h.transmit(), []);
    h
}

fn close_wait() -> Harness {
    let mut h = Harness::established(plain());
    h.deliver(&Seg::new(FIN | ACK, NXT, UNA, PEER_WND));
    assert_eq!(h.transmit(), [Seg::ack(UNA, NXT + 1, OUR_WND)]);
    assert_eq!(h.conn.state(), State::CloseWait);
    h
}

fn time_wait() -> Harness {
    let mut h = fin_wait_2();
    h.deliver(&Seg::new(FIN | ACK, NXT, UNA + 1, PEER_WND));
    assert_eq!(h.conn.state(), State::TimeWait);
    assert_eq!(h.transmit(), [Seg::ack(UNA + 1, NXT + 1, OUR_WND)]);
    h
}

#[test]
fn fin_wait_1_ack_of_fin_enters_fin_wait_2() {
    fin_wait_2();
}

#[test]
fn fin_wait_1_ack_short_of_the_fin_stays() {
    let mut h = Harness::established(plain());
    h.conn.send(b"abc");
    h.conn.close(h.now);
    h.transmit();
    h.deliver(&Seg::ack(NXT, UNA + 3, PEER_WND));
    assert_eq!(h.conn.state(), State::FinWait1);
    assert_eq!(h.transmit(), []);
}

#[test]
fn simultaneous_close_goes_through_closing() {
    let mut h = fin_wait_1(plain());
    // The peer's FIN crosses ours: it does not acknowledge our FIN.
    h.deliver(&Seg::new(FIN | ACK, NXT, UNA, PEER_WND));
    assert_eq!(h.conn.state(), State::Closing);
    assert_eq!(h.transmit(), [Seg::ack(UNA + 1, NXT + 1, OUR_WND)]);
    h.deliver(&Seg::ack(NXT + 1, UNA + 1, PEER_WND));
    assert_eq!(h.conn.state(), State::TimeWait);
    assert_eq!(h.transmit(), []);
    assert_eq!(h.fire(), ms(60_000));
    assert_eq!(h.conn.state(), State::Closed);
    assert_eq!(h.events(), [ConnEvent::PeerFinished, ConnEvent::Closed(CloseReason::Closed)]);
}

#[test]
fn closing_acks_a_retransmitted_fin() {
    let mut h = fin_wait_1(plain());
    h.deliver(&Seg::new(FIN | ACK, NXT, UNA, PEER_WND));
    h.transmit();
    h.deliver(&Seg::new(FIN | ACK, NXT, UNA, PEER_WND));
    assert_eq!(h.transmit(), [Seg::ack(UNA + 1, NXT + 1, OUR_WND)]);
    assert_eq!(h.conn.state(), State::Closing);
}

#[test]
fn fin_that_also_acks_our_fin_goes_straight_to_time_wait() {
    let mut h = fin_wait_1(plain());
    h.deliver(&Seg::new(FIN | ACK, NXT, UNA + 1, PEER_WND));
    assert_eq!(h.conn.state(), State::TimeWait);
    assert_eq!(h.transmit(), [Seg::ack(UNA + 1, NXT + 1, OUR_WND)]);
}

#[test]
fn fin_wait_1_still_receives_data() {
    let mut h = fin_wait_1(plain());
    h.deliver(&Seg::new(ACK | PSH, NXT, UNA, PEER_WND).data(b"late"));
    assert_eq!(h.transmit(), [Seg::ack(UNA + 1, NXT + 4, OUR_WND)]);
    assert_eq!(h.read_all(), b"late");
    assert_eq!(h.conn.state(), State::FinWait1);
}

#[test]
fn fin_wait_1_retransmits_the_fin_on_timeout() {
    let mut h = fin_wait_1(plain());
    assert_eq!(h.fire(), ms(300));
    assert_eq!(h.transmit(), [Seg::new(FIN | ACK, UNA, NXT, OUR_WND)]);
    assert_eq!(h.fire(), ms(600));
    assert_eq!(h.transmit(), [Seg::new(FIN | ACK, UNA, NXT, OUR_WND)]);
}

#[test]
fn fin_wait_1_rst_resets() {
    let mut h = fin_wait_1(plain());
    h.deliver(&Seg::new(RST, NXT, 0, 0));
    assert_eq!(h.conn.state(), State::Closed);
    assert_eq!(h.events(), [ConnEvent::Closed(CloseReason::Reset)]);
    assert_eq!(h.transmit(), []);
}

#[test]
fn fin_wait_2_keeps_receiving_until_the_peer_fin() {
    let mut h = fin_wait_2();
    h.deliver(&Seg::new(ACK | PSH, NXT, UNA + 1, PEER_WND).data(b"still"));
    assert_eq!(h.transmit(), [Seg::ack(UNA + 1, NXT + 5, OUR_WND)]);
    assert_eq!(h.read_all(), b"still");
    h.deliver(&Seg::new(FIN | ACK, NXT + 5, UNA + 1, PEER_WND));
    assert_eq!(h.conn.state(), State::TimeWait);
    assert_eq!(h.transmit(), [Seg::ack(UNA + 1, NXT + 6, OUR_WND)]);
}

#[test]
fn fin_wait_2_challenges_in_window_rst_and_syn() {
    let mut h = fin_wait_2();
    h.deliver(&Seg::new(RST, NXT + 7, 0, 0));
    assert_eq!(h.transmit(), [Seg::ack(UNA + 1, NXT, OUR_WND)]);
    h.deliver(&Seg::new(SYN, NXT + 7, 0, 0));
    assert_eq!(h.transmit(), [Seg::ack(UNA + 1, NXT, OUR_WND)]);
    assert_eq!(h.conn.state(), State::FinWait2);
}

#[test]
fn fin_wait_2_waits_for_ever_without_the_linger_limit() {
    let mut h = Harness::established(Config { fin_wait2_timeout: None, ..plain() });
    h.conn.close(h.now);
    h.transmit();
    h.deliver(&Seg::ack(NXT, UNA + 1, PEER_WND));
    assert_eq!(h.conn.state(), State::FinWait2);
    assert_eq!(h.conn.poll_timeout(), None);
}

#[test]
fn fin_wait_2_linger_limit_closes() {
    let mut h = fin_wait_2();
    // Not RFC 9293: the configurable FIN-WAIT-2 limit (Linux's tcp_fin_timeout).
    assert_eq!(h.fire(), ms(60_000));
    assert_eq!(h.conn.state(), State::Closed);
    assert_eq!(h.events(), [ConnEvent::Closed(CloseReason::TimedOut)]);
}

#[test]
fn fin_wait_2_limit_counts_idle_time_only() {
    let mut h = fin_wait_2();
    // The peer still streams its half: the connection must not time out under it.
    for i in 0..3u32 {
        h.advance(ms(50_000));
        h.deliver(&Seg::new(ACK, NXT + i, UNA + 1, PEER_WND).data(b"x"));
        assert_eq!(h.transmit(), [Seg::ack(UNA + 1, NXT + i + 1, OUR_WND)]);
        assert_eq!(h.conn.state(), State::FinWait2);
    }
    assert_eq!(h.fire(), ms(60_000));
    assert_eq!(h.conn.state(), State::Closed);
}

#[test]
fn half_close_data_keeps_flowing_in_close_wait() {
    let mut h = close_wait();
    assert_eq!(h.conn.send(b"more data"), 9);
    let out = Seg::new(ACK | PSH, UNA, NXT + 1, OUR_WND).data(b"more data");
    assert_eq!(h.transmit(), [out]);
    h.deliver(&Seg::ack(NXT + 1, UNA + 9, PEER_WND));
    assert_eq!(h.conn.state(), State::CloseWait);
    assert_eq!(h.conn.send_queued(), 0);
    assert_eq!(h.transmit(), []);
}

#[test]
fn close_wait_acks_a_retransmitted_fin() {
    let mut h = close_wait();
    h.deliver(&Seg::new(FIN | ACK, NXT, UNA, PEER_WND));
    assert_eq!(h.transmit(), [Seg::ack(UNA, NXT + 1, OUR_WND)]);
    assert_eq!(h.conn.state(), State::CloseWait);
}

#[test]
fn close_wait_close_enters_last_ack_and_its_ack_closes() {
    let mut h = close_wait();
    h.conn.close(h.now);
    assert_eq!(h.conn.state(), State::LastAck);
    assert_eq!(h.transmit(), [Seg::new(FIN | ACK, UNA, NXT + 1, OUR_WND)]);
    h.deliver(&Seg::ack(NXT + 1, UNA + 1, PEER_WND));
    assert_eq!(h.conn.state(), State::Closed);
    assert_eq!(h.events(), [ConnEvent::PeerFinished, ConnEvent::Closed(CloseReason::Closed)]);
    assert_eq!(h.transmit(), []);
    assert_eq!(h.conn.poll_timeout(), None);
}

#[test]
fn last_ack_retransmits_the_fin_and_acks_the_peer_fin_again() {
    let mut h = close_wait();
    h.conn.close(h.now);
    h.transmit();
    h.deliver(&Seg::new(FIN | ACK, NXT, UNA, PEER_WND));
    assert_eq!(h.transmit(), [Seg::ack(UNA + 1, NXT + 1, OUR_WND)]);
    assert_eq!(h.fire(), ms(300));
    assert_eq!(h.transmit(), [Seg::new(FIN | ACK, UNA, NXT + 1, OUR_WND)]);
    assert_eq!(h.conn.state(), State::LastAck);
}

#[test]
fn last_ack_rst_closes() {
    let mut h = close_wait();
    h.conn.close(h.now);
    h.transmit();
    h.deliver(&Seg::new(RST, NXT + 1, 0, 0));
    assert_eq!(h.conn.state(), State::Closed);
    assert_eq!(h.transmit(), []);
}

#[test]
fn time_wait_ends_after_two_msl() {
    let mut h = time_wait();
    assert_eq!(h.conn.poll_timeout(), Some(h.now + ms(60_000)));
    assert_eq!(h.fire(), ms(60_000));
    assert_eq!(h.conn.state(), State::Closed);
    assert_eq!(h.transmit(), []);
}

#[test]
fn time_wait_retransmitted_fin_is_acked_and_restarts_two_msl() {
    let mut h = time_wait();
    h.advance(ms(30_000));
    h.deliver(&Seg::new(FIN | ACK, NXT, UNA + 1, PEER_WND));
    assert_eq!(h.transmit(), [Seg::ack(UNA + 1, NXT + 1, OUR_WND)]);
    assert_eq!(h.conn.state(), State::TimeWait);
    // RFC 9293 §3.10.7.4 TIME-WAIT: "Acknowledge it, and restart the 2 MSL timeout".
    assert_eq!(h.conn.poll_timeout(), Some(h.now + ms(60_000)));
}

#[test]
fn time_wait_rst_closes_and_abort_sends_nothing() {
    let mut h = time_wait();
    h.deliver(&Seg::new(RST, NXT + 1, 0, 0));
    assert_eq!(h.conn.state(), State::Closed);
    let mut h = time_wait();
    h.conn.abort(h.now);
    assert_eq!(h.conn.state(), State::Closed);
    assert_eq!(h.transmit(), []);
}

#[test]
fn time_wait_challenges_a_syn() {
    let mut h = time_wait();
    h.deliver(&Seg::new(SYN, NXT + 100, 0, 100));
    assert_eq!(h.transmit(), [Seg::ack(UNA + 1, NXT + 1, OUR_WND)]);
    assert_eq!(h.conn.state(), State::TimeWait);
}
