//! Two connections wired back to back through an in-memory queue: the engine's own smoke
//! tests. The state x event tests with exact segments live in `pipeline/tests/tcp_states*`,
//! the simulator scenarios in `pipeline/tests/tcp_sim.rs`.

use std::collections::VecDeque;
use std::net::SocketAddr;

use super::*;
use crate::tcp::state::State;
use crate::time::Duration;
use crate::wire::tcp::{TcpPacket, TcpRepr};

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("test address")
}

/// Decides whether the n-th segment from a to b is lost.
type DropFn = Box<dyn FnMut(u64, &[u8]) -> bool>;

/// Client and server connections and the segments in flight between them.
struct Pair {
    now: Instant,
    a: Connection,
    b: Connection,
    /// (arrival time, to_b, bytes)
    wire: VecDeque<(Instant, bool, Vec<u8>)>,
    delay: Duration,
    /// Drops the n-th segment (0-based) sent from a to b when it returns true.
    drop_ab: DropFn,
    sent_ab: u64,
}

impl Pair {
    fn new(cfg: Config) -> Pair {
        let (ca, sb) = (addr("10.0.0.1:40000"), addr("10.0.0.2:80"));
        let now = Instant::from_millis(1000);
        let mut a = Connection::connect(cfg, ca, sb, TcpSeqNumber(0xffff_f000), now);
        let mut buf = vec![0u8; 2048];
        let t = a.poll_transmit(now, &mut buf, &mut ()).expect("SYN");
        let syn_bytes = buf[..t.len].to_vec();
        let packet = TcpPacket::new_checked(&syn_bytes[..]).expect("SYN parses");
        let syn = TcpRepr::parse(&packet).expect("SYN repr");
        let b = Connection::accept(cfg, sb, ca, TcpSeqNumber(0x7fff_fff0), &syn, now);
        Pair {
            now,
            a,
            b,
            wire: VecDeque::new(),
            delay: Duration::from_millis(10),
            drop_ab: Box::new(|_, _| false),
            sent_ab: 0,
        }
    }

    /// Moves segments, fires timers and advances time until `done` or `limit` of virtual time.
    fn run(&mut self, limit: Duration, mut done: impl FnMut(&mut Pair) -> bool) {
        let end = self.now + limit;
        let mut buf = vec![0u8; 2048];
        while self.now < end && !done(self) {
            while let Some(t) = self.a.poll_transmit(self.now, &mut buf, &mut ()) {
                let n = self.sent_ab;
                self.sent_ab += 1;
                if !(self.drop_ab)(n, &buf[..t.len]) {
                    self.wire.push_back((self.now + self.delay, true, buf[..t.len].to_vec()));
                }
            }
            while let Some(t) = self.b.poll_transmit(self.now, &mut buf, &mut ()) {
                self.wire.push_back((self.now + self.delay, false, buf[..t.len].to_vec()));
            }
            let next_wire = self.wire.front().map(|w| w.0);
            let next = [next_wire, self.a.poll_timeout(), self.b.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            let Some(next) = next else { break };
            self.now = next.max(self.now);
            while self.wire.front().is_some_and(|w| w.0 <= self.now) {
                let (_, to_b, bytes) = self.wire.pop_front().expect("front checked");
                let packet = TcpPacket::new_checked(&bytes[..]).expect("our segments parse");
                let seg = TcpRepr::parse(&packet).expect("our segments parse");
                let target = if to_b { &mut self.b } else { &mut self.a };
                target.handle_segment(self.now, &seg);
            }
            self.a.handle_timeout(self.now);
            self.b.handle_timeout(self.now);
        }
    }
}

fn drain(conn: &mut Connection, into: &mut Vec<u8>) {
    let mut buf = [0u8; 4096];
    loop {
        let n = conn.recv(&mut buf);
        if n == 0 {
            break;
        }
        into.extend_from_slice(&buf[..n]);
    }
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

#[test]
fn handshake_reaches_established_on_both_sides() {
    let mut p = Pair::new(Config::default());
    p.run(Duration::from_secs(1), |p| {
        p.a.state() == State::Established && p.b.state() == State::Established
    });
    assert_eq!(p.a.state(), State::Established);
    assert_eq!(p.b.state(), State::Established);
    assert_eq!(p.a.poll_event(), Some(ConnEvent::Connected));
    assert_eq!(p.b.poll_event(), Some(ConnEvent::Connected));
    assert_eq!(p.a.effective_mss(), 1448);
    assert!(p.a.rtt().srtt().is_some());
}

#[test]
fn bulk_transfer_both_ways_then_orderly_close() {
    let mut p = Pair::new(Config::default());
    let (up, down) = (pattern(300_000), pattern(200_011));
    let (mut at_b, mut at_a) = (Vec::new(), Vec::new());
    let (mut sent_up, mut sent_down) = (0, 0);
    p.run(Duration::from_secs(60), |p| {
        sent_up += p.a.send(&up[sent_up..]);
        sent_down += p.b.send(&down[sent_down..]);
        if sent_up == up.len() {
            p.a.close(p.now);
        }
        if sent_down == down.len() {
            p.b.close(p.now);
        }
        drain(&mut p.b, &mut at_b);
        drain(&mut p.a, &mut at_a);
        p.a.is_closed() && p.b.state() == State::Closed
    });
    assert!(at_b == up, "upload arrived intact ({} of {} bytes)", at_b.len(), up.len());
    assert!(at_a == down, "download arrived intact ({} of {} bytes)", at_a.len(), down.len());
    // One side lingers in TIME-WAIT until 2·MSL, then closes.
    assert!(p.a.is_closed() || p.a.state() == State::TimeWait);
    assert_eq!(p.a.stats().retransmits, 0);
}

#[test]
fn transfer_survives_dropped_segments() {
    let mut p = Pair::new(Config::default());
    p.drop_ab = Box::new(|n, _| n % 17 == 5 || n == 40 || n == 41);
    let up = pattern(500_000);
    let mut at_b = Vec::new();
    let mut sent = 0;
    p.run(Duration::from_secs(120), |p| {
        sent += p.a.send(&up[sent..]);
        drain(&mut p.b, &mut at_b);
        at_b.len() == up.len()
    });
    assert!(at_b == up, "{} of {} bytes", at_b.len(), up.len());
    assert!(p.a.stats().fast_recoveries > 0);
}

/// An idle connection whose buffers hold data (the receiver does not read) runs no release
/// timer: nothing can drain them before a segment or a read, which arm it again. A read
/// that drains the receive buffer frees it one period after the last segment.
#[test]
fn buffers_holding_data_run_no_release_timer() {
    let mut p = Pair::new(Config::default());
    let data = pattern(10_000);
    p.a.send(&data);
    p.run(Duration::from_secs(5), |p| p.a.send_queued() == 0);
    p.run(Duration::from_secs(2), |_| false);
    assert!(p.b.heap_bytes() > 0, "unread data keeps its storage");
    assert_eq!(p.b.timers.get(Timer::Release), None, "no timer for storage in use");
    assert_eq!(p.a.heap_bytes(), 0, "the drained send buffer was released");
    let mut got = Vec::new();
    drain(&mut p.b, &mut got);
    assert_eq!(got, data);
    assert!(p.b.timers.get(Timer::Release).is_some(), "the read armed it");
    p.run(Duration::from_secs(2), |_| false);
    assert_eq!(p.b.heap_bytes(), 0, "released after the read");
}

#[test]
fn an_idle_established_connection_holds_no_buffer_memory() {
    let mut p = Pair::new(Config::default());
    let data = pattern(10_000);
    let mut got = Vec::new();
    p.a.send(&data);
    p.run(Duration::from_secs(5), |p| {
        drain(&mut p.b, &mut got);
        got.len() == data.len() && p.a.send_queued() == 0
    });
    assert_eq!(got, data);
    assert!(p.a.heap_bytes() > 0, "kept while the connection is busy");
    p.run(Duration::from_secs(2), |_| false);
    assert_eq!(p.a.heap_bytes(), 0, "drained buffers are released");
    assert_eq!(p.b.heap_bytes(), 0, "drained buffers are released");
    let size = std::mem::size_of::<Connection>();
    println!("size_of::<Connection>() = {size} bytes");
    assert!(size <= 2048, "an idle connection is {size} bytes");
}

#[test]
fn a_lost_tail_is_recovered_by_a_probe_not_the_rto() {
    let mut p = Pair::new(Config::default());
    let mut dropped = false;
    p.drop_ab = Box::new(move |_, bytes| {
        let packet = TcpPacket::new_checked(bytes).expect("our segments parse");
        let tail = packet.flags().contains(crate::wire::tcp::TcpFlags::PSH);
        let drop = tail && !dropped;
        dropped |= drop;
        drop
    });
    p.run(Duration::from_secs(1), |p| p.a.state() == State::Established);
    let data = pattern(30_000);
    p.a.send(&data);
    let mut got = Vec::new();
    p.run(Duration::from_secs(10), |p| {
        drain(&mut p.b, &mut got);
        got.len() == data.len()
    });
    assert_eq!(got, data);
    assert_eq!(p.a.stats().rtos, 0, "{:?}", p.a.stats());
    assert_eq!(p.a.stats().tail_probes, 1, "{:?}", p.a.stats());
}

/// The idle size of a connection that docs/architecture.md states ("Memory").
#[test]
fn an_idle_connection_is_1232_bytes() {
    assert_eq!(core::mem::size_of::<Connection>(), 1232);
}

/// Stream offsets are 64-bit: past 4 GiB on one connection, SND.UNA's offset keeps counting
/// where sequence numbers wrap (the MPTCP layer matches its mappings against these offsets,
/// RFC 8684 §3.3.1).
#[test]
fn send_stream_offsets_count_past_4_gib() {
    use super::seq::SendSeq;
    use crate::tcp::buffer::SendBuffer;
    let iss = TcpSeqNumber(u32::MAX - 10);
    let mut snd = SendSeq::new(iss, SendBuffer::new(1024), 1460);
    snd.set_una(iss + 1usize);
    assert_eq!(snd.stream_offset(iss + 1usize), 0, "the first byte after the SYN");
    let step = 1usize << 30;
    for _ in 0..5 {
        let next = snd.una + step;
        snd.set_una(next);
    }
    let una = snd.una;
    assert_eq!(snd.stream_offset(una), 5 << 30);
    assert_eq!(snd.stream_offset(una + 1448usize), (5 << 30) + 1448);
    assert_eq!(snd.stream_offset(una - 1usize), (5 << 30) - 1, "a retransmission below");
}

/// The right edge of the window `conn` advertises now (RFC 9293 §3.3.1 RCV.NXT + RCV.WND).
fn right_edge(conn: &Connection) -> TcpSeqNumber {
    conn.rcv_nxt() + (usize::from(conn.rcv_window_field()) << conn.rcv_wscale())
}

/// A receiver that never reads holds no more than its initial receive space, not its whole
/// configured buffer (docs/operations.md, "Memory model").
#[test]
fn a_reader_that_never_reads_holds_only_the_initial_space() {
    let cfg = Config { recv_buffer: 4 << 20, send_buffer: 4 << 20, ..Config::default() };
    let mut p = Pair::new(cfg);
    let data = pattern(1 << 20);
    let mut sent = 0;
    p.run(Duration::from_secs(10), |p| {
        sent += p.a.send(&data[sent..]);
        false
    });
    let held = p.b.readable().0.len() + p.b.readable().1.len();
    // The space, less what window scaling and SWS avoidance round off.
    assert!((INITIAL_RCV_SPACE - 2048..=INITIAL_RCV_SPACE).contains(&held), "{held}");
    assert!(p.b.heap_bytes() <= INITIAL_RCV_SPACE, "{}", p.b.heap_bytes());
    assert_eq!(p.b.receive_space(), INITIAL_RCV_SPACE);
}

/// Dynamic right-sizing: a reader that drains every segment sees its space grow past the
/// initial one, up to the configured buffer, and the transfer completes byte-exact.
#[test]
fn a_draining_reader_grows_its_receive_space_up_to_the_buffer() {
    let cfg = Config { recv_buffer: 1 << 20, send_buffer: 1 << 20, ..Config::default() };
    let mut p = Pair::new(cfg);
    let data = pattern(8 << 20);
    let (mut sent, mut got) = (0, Vec::new());
    p.run(Duration::from_secs(60), |p| {
        sent += p.a.send(&data[sent..]);
        drain(&mut p.b, &mut got);
        got.len() == data.len()
    });
    assert!(got == data, "{} of {} bytes", got.len(), data.len());
    assert!(p.b.receive_space() > INITIAL_RCV_SPACE, "{}", p.b.receive_space());
    assert!(p.b.receive_space() <= 1 << 20);
}

/// Memory pressure mid-transfer: the space falls to the minimum, the right edge already
/// advertised is never retracted (RFC 9293 §3.8.6.2.2), and the transfer still completes.
#[test]
fn pressure_shrinks_the_window_without_retracting_its_right_edge() {
    let cfg = Config { recv_buffer: 1 << 20, send_buffer: 1 << 20, ..Config::default() };
    let mut p = Pair::new(cfg);
    let data = pattern(4 << 20);
    let (mut sent, mut got) = (0, Vec::new());
    p.run(Duration::from_secs(2), |p| {
        sent += p.a.send(&data[sent..]);
        drain(&mut p.b, &mut got);
        false
    });
    assert!(p.b.receive_space() > MIN_BUFFER);
    p.b.set_memory_pressure(true);
    p.a.set_memory_pressure(true);
    assert_eq!(p.b.receive_space(), MIN_BUFFER);
    assert_eq!(p.a.send_limit(), MIN_BUFFER);
    let mut edge = right_edge(&p.b);
    let mut retracted = false;
    p.run(Duration::from_secs(120), |p| {
        sent += p.a.send(&data[sent..]);
        // Read a little at a time: the window is what limits the sender.
        let mut buf = [0u8; 1000];
        let n = p.b.recv(&mut buf);
        got.extend_from_slice(&buf[..n]);
        let now_edge = right_edge(&p.b);
        retracted |= now_edge < edge;
        edge = if now_edge > edge { now_edge } else { edge };
        assert!(p.b.heap_bytes() <= 1 << 20);
        got.len() == data.len()
    });
    assert!(!retracted, "an advertised right edge moved left");
    assert!(got == data, "{} of {} bytes", got.len(), data.len());
    assert!(p.b.receive_space() <= MIN_BUFFER);
}

/// The send limit follows the path: twice the smaller of cwnd and the peer's largest window,
/// at least the minimum, at most the configured buffer; `send_capacity` honours it.
#[test]
fn the_send_limit_follows_the_congestion_and_peer_windows() {
    let cfg = Config { recv_buffer: 4 << 20, send_buffer: 4 << 20, ..Config::default() };
    let mut p = Pair::new(cfg);
    p.run(Duration::from_secs(1), |p| p.a.state() == State::Established);
    let limit = p.a.send_limit();
    assert!((MIN_BUFFER..=4 << 20).contains(&limit), "{limit}");
    assert!(limit <= 2 * INITIAL_RCV_SPACE, "{limit}: the peer offered 64 KiB");
    assert_eq!(p.a.send_capacity(), limit);
    p.a.send(&pattern(limit / 2));
    assert_eq!(p.a.send_capacity(), limit - limit / 2);
}
