//! Option negotiation and use: MSS (RFC 9293 §3.7.1), window scale (RFC 7323 §2), PAWS
//! (RFC 7323 §5), SACK (RFC 2018).

use netreaktor_pipeline::tcp::{Config, State};

use super::harness::*;

const UNA: u32 = ISS + 1;
const NXT: u32 = PEER_ISS + 1;
/// Our window field once scaled: 256 KiB >> 3.
const SCALED_WND: u16 = 32768;

/// A client that completed the handshake against a SYN,ACK carrying `opts`; returns it
/// with its third ACK.
fn handshake(cfg: Config, wnd: u16, opts: &[Opt]) -> (Harness, Vec<Seg>) {
    let mut h = Harness::client(cfg);
    h.transmit();
    h.deliver(&Seg::new(SYN | ACK, PEER_ISS, UNA, wnd).opts(opts));
    assert_eq!(h.conn.state(), State::Established);
    let out = h.transmit();
    (h, out)
}

/// No delayed ACK, and the whole receive buffer offered at once (no autotuning).
fn no_delay() -> Config {
    Config { delayed_ack: None, initial_rcv_space: usize::MAX, ..Config::default() }
}

#[test]
fn window_scale_is_not_applied_to_the_syn_but_to_what_follows() {
    let (mut h, out) = handshake(no_delay(), 1000, &[Opt::Mss(1000), Opt::Nop, Opt::Ws(7)]);
    // RFC 7323 §2.2: the window of a SYN is never scaled.
    assert_eq!(h.conn.send_window(), 1000);
    // Our own window field is now scaled by 3.
    assert_eq!(out, [Seg::ack(UNA, NXT, SCALED_WND)]);
    h.deliver(&Seg::ack(NXT, UNA, 1000));
    assert_eq!(h.conn.send_window(), 1000 << 7);
}

#[test]
fn window_scale_is_off_when_the_peer_does_not_offer_it() {
    let (mut h, out) = handshake(no_delay(), 1000, &[Opt::Mss(1000)]);
    assert_eq!(out, [Seg::ack(UNA, NXT, OUR_WND)]);
    h.deliver(&Seg::ack(NXT, UNA, 1000));
    assert_eq!(h.conn.send_window(), 1000);
}

#[test]
fn window_scale_above_14_is_taken_as_14() {
    let (mut h, _) = handshake(no_delay(), 1000, &[Opt::Nop, Opt::Ws(20)]);
    h.deliver(&Seg::ack(NXT, UNA, 1));
    // RFC 7323 §2.3.
    assert_eq!(h.conn.send_window(), 1 << 14);
}

#[test]
fn mss_defaults_to_536_without_the_option() {
    let (mut h, _) = handshake(plain(), 8192, &[]);
    assert_eq!(h.conn.effective_mss(), 536);
    let bytes: Vec<u8> = (0..2000u32).map(|i| i as u8).collect();
    h.conn.send(&bytes);
    let sizes: Vec<(u32, usize)> = h.transmit().iter().map(|s| (s.seq, s.data.len())).collect();
    assert_eq!(sizes, [(UNA, 536), (UNA + 536, 536), (UNA + 1072, 536), (UNA + 1608, 392)]);
}

#[test]
fn mss_is_bounded_by_ours_and_leaves_room_for_timestamps() {
    let ts = Opt::Ts(100, our_tsval(T0));
    let (h, _) = handshake(no_delay(), 8192, &[Opt::Mss(9000), Opt::Nop, Opt::Nop, ts]);
    // min(9000, 1460) less 12 bytes of timestamp option.
    assert_eq!(h.conn.effective_mss(), 1448);
}

/// Established with timestamps (peer TSval 100).
fn with_timestamps() -> Harness {
    let opts = [Opt::Mss(1000), Opt::Nop, Opt::Nop, Opt::Ts(100, our_tsval(T0))];
    let (h, out) = handshake(no_delay(), 8192, &opts);
    assert_eq!(out, [Seg::ack(UNA, NXT, OUR_WND).opts(&[Opt::Nop, Opt::Nop, ts_out(&h, 100)])]);
    h
}

fn ts_out(h: &Harness, echo: u32) -> Opt {
    Opt::Ts(our_tsval(h.now), echo)
}

fn ts_data(seq: u32, tsval: u32, bytes: &[u8]) -> Seg {
    Seg::new(ACK | PSH, seq, UNA, 8192).opts(&[Opt::Nop, Opt::Nop, Opt::Ts(tsval, 0)]).data(bytes)
}

#[test]
fn timestamps_are_echoed_from_in_order_segments() {
    let mut h = with_timestamps();
    h.advance(ms(5));
    h.deliver(&ts_data(NXT, 200, b"abc"));
    let ack = Seg::ack(UNA, NXT + 3, OUR_WND).opts(&[Opt::Nop, Opt::Nop, ts_out(&h, 200)]);
    assert_eq!(h.transmit(), [ack]);
}

#[test]
fn paws_drops_a_segment_with_an_old_timestamp() {
    let mut h = with_timestamps();
    h.deliver(&ts_data(NXT, 200, b"abc"));
    h.transmit();
    // RFC 7323 §5.3 R1: TSval 150 < TS.Recent 200: acknowledge and drop.
    let r = h.deliver(&ts_data(NXT + 3, 150, b"def"));
    assert!(!r.accepted);
    let ack = Seg::ack(UNA, NXT + 3, OUR_WND).opts(&[Opt::Nop, Opt::Nop, ts_out(&h, 200)]);
    assert_eq!(h.transmit(), [ack]);
    assert_eq!(h.read_all(), b"abc");
    assert_eq!(h.conn.stats().dropped_paws, 1);
    // The same data with a fresh timestamp is accepted.
    h.deliver(&ts_data(NXT + 3, 201, b"def"));
    assert_eq!(h.read_all(), b"def");
}

#[test]
fn paws_does_not_apply_to_rst() {
    let mut h = with_timestamps();
    h.deliver(&ts_data(NXT, 200, b"abc"));
    h.transmit();
    let rst = Seg::new(RST, NXT + 3, 0, 0).opts(&[Opt::Nop, Opt::Nop, Opt::Ts(1, 0)]);
    assert!(h.deliver(&rst).accepted);
    assert_eq!(h.conn.state(), State::Closed);
}

#[test]
fn sack_blocks_report_out_of_order_data() {
    let cfg = Config { timestamps: false, ..no_delay() };
    let (mut h, _) = handshake(cfg, 8192, &[Opt::Mss(1000), Opt::SackPerm]);
    h.deliver(&Seg::new(ACK, NXT + 5, UNA, 8192).data(b"world"));
    // RFC 2018 §4: the block holding the segment just received comes first.
    let ack = Seg::ack(UNA, NXT, OUR_WND).opts(&[Opt::Nop, Opt::Nop, Opt::Sack(NXT + 5, NXT + 10)]);
    assert_eq!(h.transmit(), [ack]);
}

#[test]
fn mss_defaults_to_1220_over_ipv6() {
    use netreaktor_pipeline::tcp::Connection;
    use netreaktor_pipeline::wire::tcp::{TcpPacket, TcpRepr, TcpSeqNumber};
    let (local, remote) = (
        "[2001:db8::1]:40000".parse().expect("address"),
        "[2001:db8::2]:80".parse().expect("address"),
    );
    let mut conn = Connection::connect(plain(), local, remote, TcpSeqNumber(ISS), T0);
    let mut buf = [0u8; 2048];
    assert!(conn.poll_transmit(T0, &mut buf, &mut ()).is_some());
    // The engine takes segments whose checksum the caller verified; this one's is for IPv4.
    let bytes = Seg::new(SYN | ACK, PEER_ISS, UNA, 8192).to_bytes();
    let packet = TcpPacket::new_checked(&bytes[..]).expect("parses");
    conn.handle_segment(T0, &TcpRepr::parse(&packet).expect("parses"));
    assert_eq!(conn.state(), State::Established);
    // RFC 9293 §3.7.1 (MUST-15): 1280 - 60.
    assert_eq!(conn.effective_mss(), 1220);
}
