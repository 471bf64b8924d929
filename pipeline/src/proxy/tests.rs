use std::net::SocketAddr;

use super::*;
use crate::tcp::{Config, Connection, State};
use crate::time::{Duration, Instant};
use crate::wire::tcp::TcpSeqNumber;

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("test address")
}

#[test]
fn picker_round_robin() {
    let origins = vec![addr("10.1.0.1:80"), addr("10.1.0.2:80"), addr("10.1.0.3:80")];
    let mut picker = OriginPicker::new(origins.clone(), 2, None).expect("origins");
    let picked: Vec<_> = (0..5).map(|_| picker.pick(Instant::ZERO).0).collect();
    assert_eq!(picked, [origins[0], origins[1], origins[2], origins[0], origins[1]]);
}

#[test]
fn picker_retries_next_until_max_tries() {
    let origins = vec![addr("10.1.0.1:80"), addr("10.1.0.2:80")];
    let mut picker = OriginPicker::new(origins.clone(), 3, None).expect("origins");
    let (first, mut attempt) = picker.pick(Instant::ZERO);
    assert_eq!(first, origins[0]);
    assert_eq!(picker.retry(&mut attempt, Instant::ZERO), Some(origins[1]));
    assert_eq!(picker.retry(&mut attempt, Instant::ZERO), Some(origins[0]));
    assert_eq!(attempt.tries(), 3);
    assert_eq!(picker.retry(&mut attempt, Instant::ZERO), None);
}

#[test]
fn picker_needs_an_origin() {
    assert!(OriginPicker::new(Vec::new(), 3, None).is_none());
}

fn conn(local: &str, remote: &str) -> Connection {
    Connection::connect(
        Config::default(),
        addr(local),
        addr(remote),
        TcpSeqNumber(1),
        Instant::ZERO,
    )
}

#[test]
fn connect_timeout_then_give_up_resets_client() {
    let cfg = SpliceConfig {
        connect_timeout: Duration::from_secs(2),
        idle_timeout: None,
        proxy_protocol: false,
        origin_timeout: None,
    };
    let client = conn("10.0.0.2:443", "10.0.0.1:40000");
    let origin = conn("10.1.0.9:50000", "10.1.0.1:80");
    let mut splice = Splice::new(cfg, client, origin, Instant::ZERO);
    assert_eq!(splice.pump(Instant::ZERO), SpliceStatus::Connecting);
    assert!(splice.poll_timeout().is_some_and(|t| t <= Instant::from_secs(2)));
    let failed = splice.handle_timeout(Instant::from_secs(2));
    assert_eq!(failed, SpliceStatus::OriginFailed(ConnectFailure::ConnectTimeout));
    assert_eq!(splice.origin().state(), State::Closed);
    splice.give_up(Instant::from_secs(2));
    let end = SpliceEnd::OriginUnreachable(ConnectFailure::ConnectTimeout);
    assert_eq!(splice.pump(Instant::from_secs(2)), SpliceStatus::Finished(end));
    assert!(splice.can_drop());
}

#[test]
fn retry_replaces_the_origin() {
    let cfg = SpliceConfig {
        connect_timeout: Duration::from_secs(1),
        idle_timeout: None,
        proxy_protocol: false,
        origin_timeout: None,
    };
    let client = conn("10.0.0.2:443", "10.0.0.1:40000");
    let origin = conn("10.1.0.9:50000", "10.1.0.1:80");
    let mut splice = Splice::new(cfg, client, origin, Instant::ZERO);
    let at = Instant::from_secs(1);
    assert!(matches!(splice.handle_timeout(at), SpliceStatus::OriginFailed(_)));
    splice.retry_origin(conn("10.1.0.9:50001", "10.1.0.2:80"), at);
    assert_eq!(splice.pump(at), SpliceStatus::Connecting);
    assert_eq!(splice.origin().remote(), addr("10.1.0.2:80"));
    assert!(splice.poll_timeout().is_some_and(|t| t <= Instant::from_secs(2)));
}

/// A client peer, the splice, and an origin peer, joined by lossless zero-delay wires.
struct Bench {
    now: Instant,
    client: Connection,
    splice: Splice,
    origin: Connection,
}

fn parse(bytes: &[u8]) -> crate::wire::tcp::TcpRepr<'_> {
    let packet = crate::wire::tcp::TcpPacket::new_checked(bytes).expect("segment parses");
    crate::wire::tcp::TcpRepr::parse(&packet).expect("segment parses")
}

impl Bench {
    /// Both handshakes done; the proxy's connections use `proxy_cfg`.
    fn new(proxy_cfg: Config) -> Bench {
        Bench::build(proxy_cfg, false)
    }

    /// Like [`Bench::new`], with or without the PROXY protocol header.
    fn build(proxy_cfg: Config, proxy_protocol: bool) -> Bench {
        let now = Instant::ZERO;
        let (c, s, p, o) = (
            addr("10.0.0.1:40000"),
            addr("10.0.0.2:443"),
            addr("10.1.0.9:50000"),
            addr("10.1.0.1:80"),
        );
        let mut client = Connection::connect(Config::default(), c, s, TcpSeqNumber(100), now);
        let mut buf = vec![0u8; 1600];
        let t = client.poll_transmit(now, &mut buf, &mut ()).expect("SYN");
        let syn = parse(&buf[..t.len]);
        let proxy_client = Connection::accept(proxy_cfg, s, c, TcpSeqNumber(200), &syn, now);
        let mut proxy_origin = Connection::connect(proxy_cfg, p, o, TcpSeqNumber(300), now);
        let t = proxy_origin.poll_transmit(now, &mut buf, &mut ()).expect("SYN");
        let syn = parse(&buf[..t.len]);
        let origin = Connection::accept(Config::default(), o, p, TcpSeqNumber(400), &syn, now);
        let connect_timeout = Duration::from_secs(3);
        let cfg = SpliceConfig { connect_timeout, proxy_protocol, ..SpliceConfig::default() };
        let splice = Splice::new(cfg, proxy_client, proxy_origin, now);
        let mut bench = Bench { now, client, splice, origin };
        bench.shuttle();
        bench
    }

    /// Moves segments until none is left; returns the splice's status.
    fn shuttle(&mut self) -> SpliceStatus {
        let mut buf = vec![0u8; 1600];
        let mut status = self.splice.pump(self.now);
        loop {
            let mut moved = false;
            while let Some(t) = self.client.poll_transmit(self.now, &mut buf, &mut ()) {
                status =
                    self.splice.handle_segment(self.now, Side::Client, 0, &parse(&buf[..t.len]));
                moved = true;
            }
            while let Some(t) = self.origin.poll_transmit(self.now, &mut buf, &mut ()) {
                status =
                    self.splice.handle_segment(self.now, Side::Origin, 0, &parse(&buf[..t.len]));
                moved = true;
            }
            while let Some((side, _, t)) = self.splice.poll_transmit(self.now, &mut buf) {
                let seg = parse(&buf[..t.len]);
                match side {
                    Side::Client => self.client.handle_segment(self.now, &seg),
                    Side::Origin => self.origin.handle_segment(self.now, &seg),
                };
                moved = true;
            }
            if !moved {
                return status;
            }
        }
    }
}

fn pattern(len: usize, salt: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(salt)).collect()
}

#[test]
fn bytes_pass_both_ways_within_the_buffers_and_fins_pass_through() {
    let proxy_cfg = Config { send_buffer: 4096, recv_buffer: 4096, ..Config::default() };
    let budget = 2 * (proxy_cfg.send_buffer + proxy_cfg.recv_buffer);
    let mut b = Bench::new(proxy_cfg);
    assert_eq!(b.splice.pump(b.now), SpliceStatus::Open);
    let (up, down) = (pattern(100_000, 1), pattern(70_000, 2));
    let (mut sent_up, mut sent_down) = (0, 0);
    let (mut got_up, mut got_down) = (Vec::new(), Vec::new());
    let mut scratch = vec![0u8; 8192];
    for _ in 0..10_000 {
        sent_up += b.client.send(&up[sent_up..]);
        sent_down += b.origin.send(&down[sent_down..]);
        if sent_up == up.len() {
            b.client.close(b.now);
        }
        if sent_down == down.len() {
            b.origin.close(b.now);
        }
        b.shuttle();
        assert!(b.splice.heap_bytes() <= budget, "{} over {budget}", b.splice.heap_bytes());
        let n = b.origin.recv(&mut scratch);
        got_up.extend_from_slice(&scratch[..n]);
        let n = b.client.recv(&mut scratch);
        got_down.extend_from_slice(&scratch[..n]);
        b.now += Duration::from_millis(1);
        for conn in [&mut b.client, &mut b.origin] {
            if conn.poll_timeout().is_some_and(|t| t <= b.now) {
                conn.handle_timeout(b.now);
            }
        }
        b.splice.handle_timeout(b.now);
        if b.client.is_read_closed() && b.origin.is_read_closed() {
            break;
        }
    }
    assert!(got_up == up && got_down == down, "up {} down {}", got_up.len(), got_down.len());
    assert!(b.client.is_read_closed() && b.origin.is_read_closed());
}

#[test]
fn origin_reset_resets_client_and_client_reset_resets_origin() {
    for origin_first in [true, false] {
        let mut b = Bench::new(Config::default());
        let now = b.now;
        if origin_first {
            b.origin.abort(now)
        } else {
            b.client.abort(now)
        };
        let status = b.shuttle();
        let (end, reset_side) = if origin_first {
            (SpliceEnd::OriginReset, &b.client)
        } else {
            (SpliceEnd::ClientReset, &b.origin)
        };
        assert_eq!(status, SpliceStatus::Finished(end));
        assert_eq!(reset_side.close_reason(), Some(crate::tcp::CloseReason::Reset));
    }
}

#[test]
fn proxy_protocol_header_goes_first_to_the_origin() {
    let mut b = Bench::build(Config::default(), true);
    b.client.send(b"GET / HTTP/1.0\r\n\r\n");
    b.shuttle();
    let mut got = vec![0u8; 200];
    let n = b.origin.recv(&mut got);
    let mut header = [0u8; pp2::MAX_LEN];
    let len = pp2::header(addr("10.0.0.1:40000"), addr("10.0.0.2:443"), &mut header).unwrap();
    assert_eq!(&got[..len], &header[..len], "the header first");
    assert_eq!(&got[len..n], b"GET / HTTP/1.0\r\n\r\n", "then the client's bytes");
}
