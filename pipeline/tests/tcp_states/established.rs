//! ESTABLISHED (RFC 9293 §3.10.7.4) with the blind-attack rules of RFC 5961 §3-§5.

use netreaktor_pipeline::tcp::{CloseReason, ConnEvent, State};

use super::harness::*;

const UNA: u32 = ISS + 1;
const NXT: u32 = PEER_ISS + 1;

fn est() -> Harness {
    Harness::established(plain())
}

fn data(seq: u32, bytes: &[u8]) -> Seg {
    Seg::new(ACK | PSH, seq, UNA, PEER_WND).data(bytes)
}

#[test]
fn data_in_window_is_delivered_and_acked() {
    let mut h = est();
    let r = h.deliver(&data(NXT, b"hello"));
    assert!(r.accepted);
    assert_eq!(r.data, Some((0, 5)));
    assert_eq!(h.transmit(), [Seg::ack(UNA, NXT + 5, OUR_WND)]);
    assert_eq!(h.events(), [ConnEvent::Readable]);
    assert_eq!(h.read_all(), b"hello");
}

#[test]
fn data_beyond_the_window_is_dropped_with_an_ack() {
    let mut h = est();
    // The window advertised by the third ACK ends at RCV.NXT + 65535.
    for seq in [NXT + u32::from(OUR_WND), NXT + 1_000_000] {
        assert!(!h.deliver(&data(seq, b"x")).accepted);
        assert_eq!(h.transmit(), [Seg::ack(UNA, NXT, OUR_WND)], "seq {seq}");
    }
    assert_eq!(h.read_all(), b"");
    assert_eq!(h.conn.stats().dropped_unacceptable, 2);
}

#[test]
fn old_duplicate_is_acked_and_not_delivered_twice() {
    let mut h = est();
    h.deliver(&data(NXT, b"hello"));
    h.transmit();
    h.read_all();
    assert!(!h.deliver(&data(NXT, b"hello")).accepted);
    assert_eq!(h.transmit(), [Seg::ack(UNA, NXT + 5, OUR_WND)]);
    assert_eq!(h.read_all(), b"");
}

#[test]
fn partly_old_segment_delivers_only_the_new_bytes() {
    let mut h = est();
    h.deliver(&data(NXT, b"hello"));
    h.transmit();
    h.deliver(&data(NXT + 3, b"lo world"));
    assert_eq!(h.transmit(), [Seg::ack(UNA, NXT + 11, OUR_WND)]);
    assert_eq!(h.read_all(), b"hello world");
}

#[test]
fn out_of_order_data_is_held_and_acked_at_once() {
    let mut h = Harness::established(netreaktor_pipeline::tcp::Config {
        delayed_ack: Some(ms(40)),
        ..plain()
    });
    h.deliver(&data(NXT + 5, b"world"));
    // RFC 5681 §4.2: an out-of-order segment is acknowledged at once (a duplicate ACK).
    assert_eq!(h.transmit(), [Seg::ack(UNA, NXT, OUR_WND)]);
    assert_eq!(h.read_all(), b"");
    h.deliver(&data(NXT, b"hello"));
    // Filling the hole is acknowledged at once too.
    assert_eq!(h.transmit(), [Seg::ack(UNA, NXT + 10, OUR_WND)]);
    assert_eq!(h.read_all(), b"helloworld");
}

#[test]
fn segment_without_ack_bit_is_dropped() {
    let mut h = est();
    let r = h.deliver(&Seg::new(PSH, NXT, 0, PEER_WND).data(b"abc"));
    assert!(!r.accepted);
    assert_eq!(h.transmit(), []);
    assert_eq!(h.read_all(), b"");
}

#[test]
fn send_emits_data_with_psh_and_the_ack_frees_it() {
    let mut h = est();
    assert_eq!(h.conn.send(b"hello"), 5);
    assert_eq!(h.transmit(), [data_out(UNA, b"hello", true)]);
    h.deliver(&Seg::ack(NXT, UNA + 5, PEER_WND));
    assert_eq!(h.events(), [ConnEvent::Writable]);
    assert_eq!(h.conn.send_queued(), 0);
    assert_eq!(h.transmit(), []);
}

fn data_out(seq: u32, bytes: &[u8], psh: bool) -> Seg {
    let flags = if psh { ACK | PSH } else { ACK };
    Seg::new(flags, seq, NXT, OUR_WND).data(bytes)
}

#[test]
fn send_splits_at_the_peer_mss_and_stops_at_its_window() {
    let mut h = est();
    let bytes: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
    assert_eq!(h.conn.send(&bytes), 10_000);
    let out = h.transmit();
    // 8192-byte window, 1000-byte MSS: 8 full segments; the last 192 bytes of window are
    // not used for a small segment (sender SWS avoidance, RFC 9293 §3.8.6.2.1).
    let expected: Vec<Seg> = (0..8)
        .map(|i| data_out(UNA + i * 1000, &bytes[i as usize * 1000..][..1000], false))
        .collect();
    assert_eq!(out, expected);
    // The window opens: the rest goes, the last segment with PSH.
    h.deliver(&Seg::ack(NXT, UNA + 8000, PEER_WND));
    let out = h.transmit();
    assert_eq!(
        out,
        [
            data_out(UNA + 8000, &bytes[8000..9000], false),
            data_out(UNA + 9000, &bytes[9000..], true)
        ]
    );
}

#[test]
fn rst_with_exact_seq_resets() {
    let mut h = est();
    assert!(h.deliver(&Seg::new(RST, NXT, 0, 0)).accepted);
    assert_eq!(h.conn.state(), State::Closed);
    assert_eq!(h.events(), [ConnEvent::Closed(CloseReason::Reset)]);
    assert_eq!(h.transmit(), []);
    assert_eq!(h.conn.poll_timeout(), None);
}

#[test]
fn rst_in_window_but_not_exact_gets_a_challenge_ack() {
    let mut h = est();
    for seq in [NXT + 1, NXT + 100, NXT + u32::from(OUR_WND) - 1] {
        let r = h.deliver(&Seg::new(RST | ACK, seq, UNA, 0));
        assert!(r.challenged && !r.accepted);
        // RFC 5961 §3.2: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>.
        assert_eq!(h.transmit(), [Seg::ack(UNA, NXT, OUR_WND)], "seq {seq}");
        assert_eq!(h.conn.state(), State::Established);
    }
}

#[test]
fn rst_out_of_window_is_dropped_silently() {
    let mut h = est();
    for seq in [NXT - 1, NXT + u32::from(OUR_WND), NXT + 3_000_000_000] {
        let r = h.deliver(&Seg::new(RST, seq, 0, 0));
        assert!(!r.challenged && !r.accepted);
        assert_eq!(h.transmit(), [], "seq {seq}");
    }
    assert_eq!(h.conn.state(), State::Established);
}

#[test]
fn syn_in_a_synchronized_state_gets_a_challenge_ack() {
    let mut h = est();
    // RFC 5961 §4.2: whatever its sequence number, a SYN is answered with an ACK and
    // dropped; the connection stays.
    for seq in [NXT, NXT + 500, PEER_ISS] {
        h.deliver(&Seg::new(SYN, seq, 0, 100));
        assert_eq!(h.transmit(), [Seg::ack(UNA, NXT, OUR_WND)], "seq {seq}");
        assert_eq!(h.conn.state(), State::Established);
    }
    h.deliver(&Seg::new(SYN | ACK, NXT + 9, UNA, 100));
    assert_eq!(h.transmit(), [Seg::ack(UNA, NXT, OUR_WND)]);
    assert_eq!(h.conn.state(), State::Established);
}

#[test]
fn ack_of_unsent_data_is_challenged_and_the_segment_dropped() {
    let mut h = est();
    h.conn.send(b"hello");
    h.transmit();
    // RFC 5961 §5.2: SEG.ACK > SND.NXT: send an ACK, drop the segment (its data too).
    let r = h.deliver(&Seg::new(ACK | PSH, NXT, UNA + 6, PEER_WND).data(b"abc"));
    assert!(r.challenged && !r.accepted);
    assert_eq!(h.transmit(), [Seg::ack(UNA + 5, NXT, OUR_WND)]);
    assert_eq!(h.read_all(), b"");
    assert_eq!(h.conn.stats().acks_unsent, 1);
}

#[test]
fn too_old_ack_is_challenged_but_an_old_ack_in_range_is_fine() {
    let mut h = est();
    // RFC 5961 §5.2: acceptable is SND.UNA - MAX.SND.WND <= SEG.ACK <= SND.NXT.
    let r = h.deliver(&Seg::new(ACK | PSH, NXT, UNA.wrapping_sub(8193), PEER_WND).data(b"abc"));
    assert!(r.challenged && !r.accepted);
    assert_eq!(h.transmit(), [Seg::ack(UNA, NXT, OUR_WND)]);
    let r = h.deliver(&Seg::new(ACK | PSH, NXT, UNA.wrapping_sub(8192), PEER_WND).data(b"abc"));
    assert!(r.accepted);
    assert_eq!(h.transmit(), [Seg::ack(UNA, NXT + 3, OUR_WND)]);
    assert_eq!(h.read_all(), b"abc");
}

#[test]
fn fin_in_order_enters_close_wait() {
    let mut h = est();
    h.deliver(&Seg::new(FIN | ACK, NXT, UNA, PEER_WND));
    assert_eq!(h.conn.state(), State::CloseWait);
    assert_eq!(h.transmit(), [Seg::ack(UNA, NXT + 1, OUR_WND)]);
    assert_eq!(h.events(), [ConnEvent::PeerFinished]);
    assert!(h.conn.is_read_closed());
}

#[test]
fn fin_with_data_delivers_then_closes_the_read_side() {
    let mut h = est();
    h.deliver(&Seg::new(FIN | ACK | PSH, NXT, UNA, PEER_WND).data(b"bye"));
    assert_eq!(h.conn.state(), State::CloseWait);
    assert_eq!(h.transmit(), [Seg::ack(UNA, NXT + 4, OUR_WND)]);
    assert!(!h.conn.is_read_closed());
    assert_eq!(h.read_all(), b"bye");
    assert!(h.conn.is_read_closed());
}

#[test]
fn fin_out_of_order_waits_for_the_missing_data() {
    let mut h = est();
    h.deliver(&Seg::new(FIN | ACK, NXT + 3, UNA, PEER_WND));
    assert_eq!(h.conn.state(), State::Established);
    // Out of order: a duplicate ACK at once (RFC 5681 §4.2).
    assert_eq!(h.transmit(), [Seg::ack(UNA, NXT, OUR_WND)]);
    h.deliver(&data(NXT, b"abc"));
    assert_eq!(h.conn.state(), State::CloseWait);
    assert_eq!(h.transmit(), [Seg::ack(UNA, NXT + 4, OUR_WND)]);
    assert_eq!(h.read_all(), b"abc");
}

#[test]
fn close_sends_fin_after_the_queued_data() {
    let mut h = est();
    h.conn.send(b"abc");
    h.conn.close(h.now);
    assert_eq!(h.conn.state(), State::FinWait1);
    let fin = Seg::new(ACK | PSH | FIN, UNA, NXT, OUR_WND).data(b"abc");
    assert_eq!(h.transmit(), [fin]);
    assert_eq!(h.conn.send(b"more"), 0, "no SEND after CLOSE (RFC 9293 §3.10.2)");
}

#[test]
fn abort_sends_rst_and_discards_queued_data() {
    let mut h = est();
    h.conn.send(b"never sent");
    h.conn.abort(h.now);
    // RFC 9293 §3.10.5: <SEQ=SND.NXT><CTL=RST>.
    assert_eq!(h.transmit(), [Seg::new(RST | ACK, UNA, NXT, 0)]);
    assert_eq!(h.conn.state(), State::Closed);
    assert_eq!(h.events(), [ConnEvent::Closed(CloseReason::Aborted)]);
}

#[test]
fn acks_are_aggregated_over_queued_segments() {
    let mut h = est();
    // MUST-58/59: three segments processed before the transmit opportunity: one ACK.
    h.deliver(&data(NXT, b"one "));
    h.deliver(&data(NXT + 4, b"two "));
    h.deliver(&data(NXT + 8, b"three"));
    assert_eq!(h.transmit(), [Seg::ack(UNA, NXT + 13, OUR_WND)]);
    assert_eq!(h.read_all(), b"one two three");
}

#[test]
fn sender_is_robust_against_a_shrinking_window() {
    let mut h = est();
    h.conn.send(&[1u8; 8000]);
    assert_eq!(h.transmit().len(), 8);
    // MUST-34: the peer moves its right edge left (from UNA + 8192 to UNA + 1000 + 0):
    // the usable window is negative; nothing is sent and nothing breaks.
    h.deliver(&Seg::ack(NXT, UNA + 1000, 0));
    assert_eq!(h.transmit(), []);
    assert_eq!(h.conn.state(), State::Established);
    h.deliver(&Seg::ack(NXT, UNA + 8000, PEER_WND));
    assert_eq!(h.transmit(), []);
    assert_eq!(h.conn.send_queued(), 0);
}

#[test]
fn unknown_options_are_ignored() {
    let mut h = est();
    // MUST-6: an option we do not implement, with a length field, is skipped.
    let seg = data(NXT, b"abc").opts(&[Opt::Unknown(99, &[1, 2, 3, 4, 5, 6]), Opt::Nop, Opt::Nop]);
    assert!(h.deliver(&seg).accepted);
    assert_eq!(h.transmit(), [Seg::ack(UNA, NXT + 3, OUR_WND)]);
    assert_eq!(h.read_all(), b"abc");
}

#[test]
fn illegal_option_length_does_not_break_the_handshake() {
    let mut h = Harness::client(plain());
    h.transmit();
    // MUST-7: an MSS option with length 0. Its options are not used (the MSS stays 536);
    // RFC 9293 suggests a reset, the engine carries on without them.
    h.deliver(&Seg::new(SYN | ACK, PEER_ISS, UNA, 4000).opts(&[Opt::Raw(&[2, 0, 5, 0xb4])]));
    assert_eq!(h.conn.state(), State::Established);
    assert_eq!(h.conn.effective_mss(), 536);
    assert_eq!(h.transmit(), [Seg::ack(UNA, NXT, OUR_WND)]);
}

/// A client with a receive buffer of `buf` bytes, established; the third ACK is checked.
fn small_buffer(buf: usize) -> Harness {
    let mut h = Harness::client(netreaktor_pipeline::tcp::Config { recv_buffer: buf, ..plain() });
    h.transmit();
    h.deliver(&Seg::new(SYN | ACK, PEER_ISS, UNA, PEER_WND));
    assert_eq!(h.transmit(), [Seg::ack(UNA, NXT, buf as u16)]);
    h
}

#[test]
fn rst_is_processed_with_a_zero_receive_window() {
    let mut h = small_buffer(1000);
    h.deliver(&data(NXT, &[9u8; 1000]));
    assert_eq!(h.transmit(), [Seg::ack(UNA, NXT + 1000, 0)]);
    // Zero window: data is not acceptable, an ACK answers it.
    h.deliver(&data(NXT + 1000, b"x"));
    assert_eq!(h.transmit(), [Seg::ack(UNA, NXT + 1000, 0)]);
    // MUST-66: the RST is still processed.
    assert!(h.deliver(&Seg::new(RST, NXT + 1000, 0, 0)).accepted);
    assert_eq!(h.conn.state(), State::Closed);
}

#[test]
fn receiver_sws_avoidance_holds_small_window_updates() {
    let mut h = small_buffer(4000);
    h.deliver(&data(NXT, &[9u8; 2000]));
    assert_eq!(h.transmit(), [Seg::ack(UNA, NXT + 2000, 2000)]);
    let mut buf = [0u8; 1000];
    // MUST-39: 1000 bytes freed is less than min(buffer / 2, MSS) = 1460: no update.
    assert_eq!(h.conn.recv(&mut buf), 1000);
    assert_eq!(h.transmit(), []);
    assert_eq!(h.conn.recv(&mut buf), 1000);
    assert_eq!(h.transmit(), [Seg::ack(UNA, NXT + 2000, 4000)]);
}
