//! Timers: retransmission (RFC 6298, RFC 9293 §3.8.3), zero-window probing (§3.8.6.1,
//! MUST-35..37), delayed ACK (§3.8.6.3, MUST-58/59), keepalive (§3.8.4, MUST-24..27) and the
//! challenge-ACK rate limit (RFC 5961 §7).

use netreaktor_pipeline::tcp::{CloseReason, Config, ConnEvent, Keepalive, State};
use netreaktor_pipeline::time::Duration;

use super::harness::*;

const UNA: u32 = ISS + 1;
const NXT: u32 = PEER_ISS + 1;

#[test]
fn rto_retransmits_with_backoff_then_gives_up_with_rst() {
    let mut h = Harness::established(Config { data_retries: 3, ..plain() });
    h.conn.send(b"hello");
    let seg = Seg::new(ACK | PSH, UNA, NXT, OUR_WND).data(b"hello");
    assert_eq!(h.transmit(), std::slice::from_ref(&seg));
    // SRTT 100 ms, RTTVAR 50 ms: RTO 300 ms, doubled on each expiry (RFC 6298 §5.5).
    for wait in [300, 600, 1200] {
        assert_eq!(h.fire(), ms(wait));
        assert_eq!(h.transmit(), std::slice::from_ref(&seg), "after {wait} ms");
    }
    assert_eq!(h.fire(), ms(2400));
    // RFC 9293 §3.8.3 R2: give up; the peer is told with a RST.
    assert_eq!(h.transmit(), [Seg::new(RST | ACK, UNA + 5, NXT, 0)]);
    assert_eq!(h.conn.state(), State::Closed);
    assert_eq!(h.events(), [ConnEvent::Closed(CloseReason::TimedOut)]);
    assert_eq!(h.conn.stats().rtos, 3);
}

#[test]
fn ack_after_a_retransmission_stops_the_timer() {
    let mut h = Harness::established(plain());
    h.conn.send(b"hello");
    h.transmit();
    h.fire();
    h.transmit();
    h.deliver(&Seg::ack(NXT, UNA + 5, PEER_WND));
    assert_eq!(h.conn.poll_timeout(), None);
    assert_eq!(h.transmit(), []);
}

/// Established, then the peer closes its window.
fn zero_window(cfg: Config) -> Harness {
    let mut h = Harness::established(cfg);
    h.deliver(&Seg::ack(NXT, UNA, 0));
    assert_eq!(h.conn.send_window(), 0);
    assert_eq!(h.conn.send(b"hello"), 5);
    assert_eq!(h.transmit(), [], "nothing fits a zero window");
    h
}

/// A zero-window probe: SEG.SEQ = SND.UNA - 1, no data (the peer answers with its window).
fn probe() -> Seg {
    Seg::ack(UNA - 1, NXT, OUR_WND)
}

#[test]
fn zero_window_is_probed_with_backoff_and_never_given_up_while_answered() {
    let mut h = zero_window(Config { data_retries: 3, ..plain() });
    let mut wait = 300;
    for n in 0..10 {
        assert_eq!(h.fire(), ms(wait.min(60_000)), "probe {n}");
        assert_eq!(h.transmit(), [probe()], "probe {n}");
        // The peer answers, window still closed (MUST-37: the connection stays).
        h.deliver(&Seg::ack(NXT, UNA, 0));
        assert_eq!(h.transmit(), []);
        wait *= 2;
    }
    assert_eq!(h.conn.state(), State::Established);
    assert_eq!(h.conn.stats().window_probes, 10);
    h.deliver(&Seg::ack(NXT, UNA, PEER_WND));
    assert_eq!(h.transmit(), [Seg::new(ACK | PSH, UNA, NXT, OUR_WND).data(b"hello")]);
}

#[test]
fn unanswered_zero_window_probes_give_up() {
    let mut h = zero_window(Config { data_retries: 3, ..plain() });
    for wait in [300, 600, 1200] {
        assert_eq!(h.fire(), ms(wait));
        assert_eq!(h.transmit(), [probe()]);
    }
    assert_eq!(h.fire(), ms(2400));
    assert_eq!(h.transmit(), [Seg::new(RST | ACK, UNA, NXT, 0)]);
    assert_eq!(h.events(), [ConnEvent::Closed(CloseReason::TimedOut)]);
}

fn delayed() -> Harness {
    Harness::established(Config { delayed_ack: Some(ms(40)), ..plain() })
}

/// A full-sized segment as our MSS announces it (1460 less 12 bytes of timestamps).
const FULL: usize = 1448;

#[test]
fn delayed_ack_acks_every_second_full_segment_at_once() {
    let mut h = delayed();
    let bytes = vec![7u8; 2 * FULL];
    h.deliver(&Seg::new(ACK, NXT, UNA, PEER_WND).data(&bytes[..FULL]));
    assert_eq!(h.transmit(), []);
    h.deliver(&Seg::new(ACK, NXT + FULL as u32, UNA, PEER_WND).data(&bytes[FULL..]));
    // RFC 9293 §3.8.6.3 (MUST-59) / RFC 5681 §4.2: at least every second full segment.
    assert_eq!(h.transmit(), [Seg::ack(UNA, NXT + 2 * FULL as u32, OUR_WND)]);
    assert_eq!(h.conn.poll_timeout(), None);
}

#[test]
fn delayed_ack_fires_within_40_ms() {
    let mut h = delayed();
    h.deliver(&Seg::new(ACK | PSH, NXT, UNA, PEER_WND).data(b"x"));
    assert_eq!(h.transmit(), []);
    assert_eq!(h.conn.poll_timeout(), Some(h.now + ms(40)));
    h.advance(ms(39));
    assert_eq!(h.transmit(), []);
    h.advance(ms(1));
    assert_eq!(h.transmit(), [Seg::ack(UNA, NXT + 1, OUR_WND)]);
}

#[test]
fn delayed_ack_rides_on_outgoing_data() {
    let mut h = delayed();
    h.deliver(&Seg::new(ACK | PSH, NXT, UNA, PEER_WND).data(b"q"));
    h.conn.send(b"answer");
    assert_eq!(h.transmit(), [Seg::new(ACK | PSH, UNA, NXT + 1, OUR_WND).data(b"answer")]);
    assert_ne!(h.conn.poll_timeout(), Some(h.now + ms(40)), "delayed-ACK timer stopped");
}

#[test]
fn challenge_acks_are_rate_limited_per_connection() {
    let mut h = Harness::established(Config { challenge_acks_per_sec: 10, ..plain() });
    let mut acks = 0;
    for i in 0..15 {
        // Alternate the three triggers: in-window RST, SYN, ACK of unsent data.
        let seg = match i % 3 {
            0 => Seg::new(RST, NXT + 10, 0, 0),
            1 => Seg::new(SYN, NXT + 10, 0, 0),
            _ => Seg::ack(NXT, UNA + 100, PEER_WND),
        };
        assert!(h.deliver(&seg).challenged);
        acks += h.transmit().len();
    }
    assert_eq!(acks, 10);
    assert_eq!(h.conn.stats().challenge_acks, 10);
    assert_eq!(h.conn.stats().challenge_acks_suppressed, 5);
    h.advance(Duration::from_secs(1));
    h.deliver(&Seg::new(RST, NXT + 10, 0, 0));
    assert_eq!(h.transmit(), [Seg::ack(UNA, NXT, OUR_WND)]);
}

#[test]
fn keepalive_is_off_by_default() {
    let mut h = Harness::established(plain());
    assert_eq!(Config::default().keepalive, None);
    // MUST-28: when turned on without a choice, the idle interval is two hours.
    assert_eq!(Keepalive::default().idle, Duration::from_secs(7200));
    assert_eq!(h.conn.poll_timeout(), None);
    h.advance(Duration::from_secs(3 * 3600));
    assert_eq!(h.transmit(), []);
    assert_eq!(h.conn.state(), State::Established);
}

#[test]
fn keepalive_probes_when_configured_and_gives_up_unanswered() {
    let ka =
        Keepalive { idle: Duration::from_secs(10), interval: Duration::from_secs(1), probes: 2 };
    let mut h = Harness::established(Config { keepalive: Some(ka), ..plain() });
    assert_eq!(h.fire(), Duration::from_secs(10));
    // RFC 9293 §3.8.4: SEG.SEQ = SND.NXT - 1, no data.
    assert_eq!(h.transmit(), [probe()]);
    // Answered: the idle period starts over.
    h.deliver(&Seg::ack(NXT, UNA, PEER_WND));
    assert_eq!(h.fire(), Duration::from_secs(10));
    assert_eq!(h.transmit(), [probe()]);
    assert_eq!(h.fire(), Duration::from_secs(1));
    assert_eq!(h.transmit(), [probe()]);
    assert_eq!(h.fire(), Duration::from_secs(1));
    assert_eq!(h.transmit(), [Seg::new(RST | ACK, UNA, NXT, 0)]);
    assert_eq!(h.events(), [ConnEvent::Closed(CloseReason::TimedOut)]);
    assert_eq!(h.conn.stats().keepalives, 3);
}

#[test]
fn keepalive_is_not_sent_while_data_is_outstanding() {
    let ka =
        Keepalive { idle: Duration::from_secs(10), interval: Duration::from_secs(1), probes: 2 };
    let mut h = Harness::established(Config { keepalive: Some(ka), ..plain() });
    h.conn.send(b"hello");
    h.transmit();
    let end = h.now + Duration::from_secs(30);
    // MUST-26: only retransmissions of the data go out, never a keepalive probe.
    while h.now < end {
        h.fire();
        for seg in h.transmit() {
            assert_eq!((seg.seq, seg.data.as_slice()), (UNA, &b"hello"[..]));
        }
    }
    assert_eq!(h.conn.stats().keepalives, 0);
    assert_eq!(h.conn.state(), State::Established);
}

/// RFC 9293 §3.8.3 USER TIMEOUT / RFC 5482, at 1 s.
fn user_timeout(cfg: Config) -> Config {
    Config { user_timeout: Some(Duration::from_secs(1)), ..cfg }
}

#[test]
fn user_timeout_is_off_by_default() {
    assert_eq!(Config::default().user_timeout, None);
}

#[test]
fn user_timeout_gives_up_before_the_rto_schedule_would() {
    // 15 retries would take minutes; the user timeout fires 1 s after the send, between the
    // RTO at 900 ms and the next one at 2100 ms (so it is a timer of its own).
    let mut h = Harness::established(user_timeout(plain()));
    h.conn.send(b"hello");
    let seg = Seg::new(ACK | PSH, UNA, NXT, OUR_WND).data(b"hello");
    assert_eq!(h.transmit(), std::slice::from_ref(&seg));
    for wait in [300, 600] {
        assert_eq!(h.fire(), ms(wait));
        assert_eq!(h.transmit(), std::slice::from_ref(&seg), "after {wait} ms");
        assert_eq!(h.conn.state(), State::Established);
    }
    assert_eq!(h.fire(), ms(100));
    // Given up as after `data_retries`: RST, TimedOut.
    assert_eq!(h.transmit(), [Seg::new(RST | ACK, UNA + 5, NXT, 0)]);
    assert_eq!(h.events(), [ConnEvent::Closed(CloseReason::TimedOut)]);
    assert_eq!(h.conn.stats().rtos, 2);
}

#[test]
fn user_timeout_restarts_when_snd_una_advances() {
    let mut h = Harness::established(user_timeout(plain()));
    h.conn.send(b"hello");
    h.transmit();
    h.conn.send(b"world");
    h.transmit();
    h.advance(ms(250));
    // Only "hello" is acknowledged: the clock restarts for "world" at 250 ms.
    h.deliver(&Seg::ack(NXT, UNA + 5, PEER_WND));
    let acked = h.now;
    while h.conn.state() != State::Closed {
        h.fire();
        h.transmit();
    }
    assert_eq!(h.now, acked + Duration::from_secs(1));
    assert_eq!(h.events(), [ConnEvent::Writable, ConnEvent::Closed(CloseReason::TimedOut)]);
}

#[test]
fn user_timeout_stops_once_everything_is_acknowledged() {
    let mut h = Harness::established(user_timeout(plain()));
    h.conn.send(b"hello");
    h.transmit();
    h.advance(ms(900));
    h.transmit();
    h.deliver(&Seg::ack(NXT, UNA + 5, PEER_WND));
    assert_eq!(h.conn.poll_timeout(), None);
    // A later send starts a fresh clock.
    h.advance(Duration::from_secs(5));
    h.conn.send(b"again");
    h.transmit();
    let sent = h.now;
    while h.conn.state() != State::Closed {
        h.fire();
        h.transmit();
    }
    assert_eq!(h.now, sent + Duration::from_secs(1));
}

#[test]
fn longer_user_timeout_leaves_the_retry_limit_first() {
    let cfg = Config { user_timeout: Some(Duration::from_secs(10)), data_retries: 3, ..plain() };
    let mut h = Harness::established(cfg);
    h.conn.send(b"hello");
    h.transmit();
    for wait in [300, 600, 1200, 2400] {
        assert_eq!(h.fire(), ms(wait));
        h.transmit();
    }
    assert_eq!(h.conn.state(), State::Closed);
    assert_eq!(h.events(), [ConnEvent::Closed(CloseReason::TimedOut)]);
}

#[test]
fn answered_zero_window_probes_outlast_the_user_timeout() {
    let mut h = zero_window(user_timeout(plain()));
    let mut wait = 300;
    for n in 0..8 {
        assert_eq!(h.fire(), ms(wait), "probe {n}");
        assert_eq!(h.transmit(), [probe()], "probe {n}");
        h.deliver(&Seg::ack(NXT, UNA, 0));
        wait *= 2;
    }
    assert_eq!(h.conn.state(), State::Established);
    h.deliver(&Seg::ack(NXT, UNA, PEER_WND));
    assert_eq!(h.transmit(), [Seg::new(ACK | PSH, UNA, NXT, OUR_WND).data(b"hello")]);
}

#[test]
fn unanswered_zero_window_probes_count_from_the_first_probe() {
    let mut h = zero_window(user_timeout(plain()));
    assert_eq!(h.fire(), ms(300));
    assert_eq!(h.transmit(), [probe()]);
    assert_eq!(h.fire(), ms(600));
    assert_eq!(h.transmit(), [probe()]);
    // 1 s after the first probe, before the third (at 2100 ms).
    assert_eq!(h.fire(), ms(400));
    assert_eq!(h.transmit(), [Seg::new(RST | ACK, UNA, NXT, 0)]);
    assert_eq!(h.events(), [ConnEvent::Closed(CloseReason::TimedOut)]);
}

#[test]
fn a_zero_window_ack_keeps_outstanding_data_alive() {
    // Data in flight, the peer acknowledges none of it but says its window is zero: alive.
    let mut h = Harness::established(user_timeout(plain()));
    h.conn.send(b"hello");
    h.transmit();
    for _ in 0..4 {
        h.advance(ms(800));
        h.transmit();
        h.deliver(&Seg::ack(NXT, UNA, 0));
    }
    assert_eq!(h.conn.state(), State::Established);
}
