//! The TCP engine under arbitrary operation sequences: segments with any header fields,
//! flags, options and payload, time advances, and the user calls (send, recv, close, abort),
//! fed to a `Listener`, to an established `Connection` and to a `TimeWaitTable`. Asserts: no
//! panic, no endless transmit loop, every emitted segment parses, and memory and queues stay
//! within their configured bounds.
#![no_main]

use std::net::SocketAddr;

use libfuzzer_sys::fuzz_target;
use netreaktor_pipeline::tcp::config::Config;
use netreaktor_pipeline::tcp::conn::Connection;
use netreaktor_pipeline::tcp::isn::IsnGenerator;
use netreaktor_pipeline::tcp::listener::{Listener, ListenerConfig};
use netreaktor_pipeline::tcp::state::State;
use netreaktor_pipeline::tcp::syncookie::SynCookies;
use netreaktor_pipeline::tcp::time_wait::{TimeWaitConfig, TimeWaitOutcome, TimeWaitTable};
use netreaktor_pipeline::time::{Duration, Instant};
use netreaktor_pipeline::wire::tcp::{TcpFlags, TcpPacket, TcpRepr, TcpSeqNumber};
use netreaktor_pipeline::wire::tcp_option::TcpOptions;

const HALF_OPEN: usize = 4;
const BACKLOG: usize = 2;
const REPLIES: usize = 8;
const TW_CAP: usize = 2;

/// Reads the fuzz input; runs dry as zeros.
struct Input<'a>(&'a [u8]);

impl<'a> Input<'a> {
    fn u8(&mut self) -> u8 {
        let (&b, rest) = self.0.split_first().unwrap_or((&0, &[]));
        self.0 = rest;
        b
    }
    fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }
    fn u32(&mut self) -> u32 {
        u32::from_be_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }
    fn bytes(&mut self, max: usize) -> &'a [u8] {
        let n = usize::from(self.u8()).min(max).min(self.0.len());
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        head
    }
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

fn cfg() -> Config {
    Config { send_buffer: 8192, recv_buffer: 8192, max_holes: 8, ..Config::default() }
}

fn addr(i: u8) -> SocketAddr {
    SocketAddr::from(([10, 0, 0, 1 + (i & 3)], 40000 + u16::from(i & 1)))
}

fn server_addr() -> SocketAddr {
    SocketAddr::from(([10, 0, 0, 100], 80))
}

fn parse(bytes: &[u8]) -> TcpRepr<'_> {
    let packet = TcpPacket::new_checked(bytes).expect("emitted segments are well formed");
    TcpRepr::parse(&packet).expect("emitted segments parse")
}

/// Everything under test.
struct World {
    now: Instant,
    listener: Listener,
    conn: Connection,
    accepted: Vec<Connection>,
    tw: TimeWaitTable,
    /// The last SYN,ACK the listener sent: (to, bytes).
    last_syn_ack: Option<(SocketAddr, Vec<u8>)>,
}

/// A connection established with a scripted handshake (SYN, SYN,ACK, ACK).
fn established(now: Instant) -> Connection {
    let (c, s) = (addr(0), server_addr());
    let mut client = Connection::connect(cfg(), c, s, TcpSeqNumber(1000), now);
    let mut buf = [0u8; 2048];
    let t = client.poll_transmit(now, &mut buf, &mut ()).expect("SYN");
    let syn = buf[..t.len].to_vec();
    let mut server = Connection::accept(cfg(), s, c, TcpSeqNumber(5000), &parse(&syn), now);
    let t = server.poll_transmit(now, &mut buf, &mut ()).expect("SYN,ACK");
    let syn_ack = buf[..t.len].to_vec();
    client.handle_segment(now, &parse(&syn_ack));
    let t = client.poll_transmit(now, &mut buf, &mut ()).expect("ACK");
    let ack = buf[..t.len].to_vec();
    server.handle_segment(now, &parse(&ack));
    assert_eq!(server.state(), State::Established);
    server
}

impl World {
    fn new() -> World {
        let now = Instant::from_secs(1000);
        let lcfg = ListenerConfig {
            tcp: cfg(),
            half_open_max: HALF_OPEN,
            accept_backlog: BACKLOG,
            reply_queue: REPLIES,
            syn_cookies: true,
            synack_retries: 2,
        };
        let tw_cfg =
            TimeWaitConfig { capacity: TW_CAP, reply_queue: REPLIES, ..Default::default() };
        World {
            now,
            listener: Listener::new(
                lcfg,
                server_addr(),
                IsnGenerator::new([1; 32]),
                SynCookies::new([2; 32]),
            ),
            conn: established(now),
            accepted: Vec::new(),
            tw: TimeWaitTable::new(tw_cfg),
            last_syn_ack: None,
        }
    }

    /// A segment whose header fields, flags, options and payload come from the input;
    /// sequence numbers are relative to the connection's so some land in the window.
    fn segment<'a>(
        &self,
        input: &mut Input<'a>,
        options: &'a [u8],
        payload: &'a [u8],
    ) -> TcpRepr<'a> {
        let mode = input.u8();
        let (seq_off, ack_off) = (input.u16() as i16, input.u16() as i16);
        let (seq, ack) = if mode & 1 == 0 {
            (self.conn.rcv_nxt() + i32::from(seq_off), self.conn.snd_nxt() + i32::from(ack_off))
        } else {
            (TcpSeqNumber(input.u32()), TcpSeqNumber(input.u32()))
        };
        TcpRepr {
            src_port: 40000,
            dst_port: 80,
            seq_number: seq,
            ack_number: ack,
            flags: TcpFlags::from_bits(input.u16()),
            window_len: input.u16(),
            urgent_pointer: input.u16(),
            options: TcpOptions::new(options),
            payload,
        }
    }

    fn step(&mut self, input: &mut Input<'_>) {
        let op = input.u8();
        match op % 10 {
            0 | 1 => {
                let from = addr(input.u8());
                let options = input.bytes(40);
                let payload = input.bytes(200);
                let mut seg = self.segment(input, options, payload);
                seg.src_port = from.port();
                let local = if op & 0x80 == 0 { server_addr() } else { addr(9) };
                if self.tw.handle_segment(self.now, local, from, &seg) == TimeWaitOutcome::NotFound
                {
                    self.listener.handle_segment(self.now, local, from, &seg);
                }
                while let Some(c) = self.listener.poll_accept() {
                    if self.accepted.len() < 4 {
                        self.accepted.push(c);
                    }
                }
            }
            2 | 3 => {
                let options = input.bytes(40);
                let payload = input.bytes(200);
                let seg = self.segment(input, options, payload);
                self.conn.handle_segment(self.now, &seg);
            }
            4 => self.now += Duration::from_millis(u64::from(input.u16()) << (input.u8() % 8)),
            5 => {
                let data = input.bytes(255);
                self.conn.send(data);
            }
            6 => {
                let mut out = [0u8; 512];
                let n = usize::from(input.u16()) % out.len();
                self.conn.recv(&mut out[..n]);
            }
            7 => match input.u8() % 3 {
                0 => self.conn.close(self.now),
                1 => self.conn.abort(self.now),
                _ => {
                    if self.tw.insert(self.now, &self.conn) {
                        self.conn = established(self.now);
                    }
                }
            },
            8 => self.ack_last_syn_ack(input),
            _ => {
                let n = input.u8();
                let stamped = input.u8() & 1 == 0;
                for c in self.accepted.iter_mut() {
                    c.send(&[n; 100]);
                    if stamped {
                        c.close(self.now);
                    }
                }
            }
        }
        self.run_timers();
        self.drain();
        self.check_bounds();
    }

    /// Completes (or mangles) the handshake of the last SYN,ACK the listener sent.
    fn ack_last_syn_ack(&mut self, input: &mut Input<'_>) {
        let Some((to, bytes)) = self.last_syn_ack.clone() else { return };
        let sa = parse(&bytes);
        let mut opts = [1u8, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 0];
        let tsecr = sa.options.timestamps().map_or(0, |(tsval, _)| tsval);
        opts[8..12].copy_from_slice(&tsecr.to_be_bytes());
        let use_ts = sa.options.timestamps().is_some();
        let flip = input.u8();
        let payload = input.bytes(64);
        let mut ack = TcpRepr {
            src_port: to.port(),
            dst_port: 80,
            seq_number: sa.ack_number,
            ack_number: sa.seq_number + 1usize,
            flags: TcpFlags::ACK,
            window_len: 500,
            urgent_pointer: 0,
            options: TcpOptions::new(if use_ts { &opts[..] } else { &[] }),
            payload,
        };
        if flip & 0x80 != 0 {
            ack.ack_number = ack.ack_number + usize::from(flip & 0x7f);
        }
        self.listener.handle_segment(self.now, server_addr(), to, &ack);
        while let Some(c) = self.listener.poll_accept() {
            if self.accepted.len() < 4 {
                self.accepted.push(c);
            }
        }
    }

    fn run_timers(&mut self) {
        let now = self.now;
        if self.listener.poll_timeout().is_some_and(|t| t <= now) {
            self.listener.handle_timeout(now);
        }
        if self.conn.poll_timeout().is_some_and(|t| t <= now) {
            self.conn.handle_timeout(now);
        }
        for c in &mut self.accepted {
            if c.poll_timeout().is_some_and(|t| t <= now) {
                c.handle_timeout(now);
            }
        }
        self.tw.handle_timeout(now);
        self.accepted.retain(|c| !c.is_closed());
    }

    /// Polls every transmit; a bounded number per call, or the engine loops.
    fn drain(&mut self) {
        let mut buf = [0u8; 2048];
        let now = self.now;
        for _ in 0..10_000 {
            let Some(t) = self.listener.poll_transmit(now, &mut buf) else {
                return self.drain_rest();
            };
            let seg = parse(&buf[..t.transmit.len]);
            if seg.flags.contains(TcpFlags::SYN | TcpFlags::ACK) {
                self.last_syn_ack = Some((t.remote, buf[..t.transmit.len].to_vec()));
            }
        }
        panic!("the listener never stops transmitting");
    }

    fn drain_rest(&mut self) {
        let mut buf = [0u8; 2048];
        let now = self.now;
        let mut sent = 0;
        while let Some(t) = self.conn.poll_transmit(now, &mut buf, &mut ()) {
            parse(&buf[..t.len]);
            sent += 1;
            assert!(sent < 10_000, "the connection never stops transmitting");
        }
        for c in &mut self.accepted {
            while let Some(t) = c.poll_transmit(now, &mut buf, &mut ()) {
                parse(&buf[..t.len]);
                sent += 1;
                assert!(sent < 20_000, "an accepted connection never stops transmitting");
            }
        }
        while let Some(t) = self.tw.poll_transmit(now, &mut buf) {
            parse(&buf[..t.transmit.len]);
        }
    }

    fn check_bounds(&self) {
        let c = cfg();
        let conn_bound = c.send_buffer + c.recv_buffer + 64 * c.max_holes;
        assert!(
            self.conn.heap_bytes() <= conn_bound,
            "connection holds {}",
            self.conn.heap_bytes()
        );
        assert!(self.conn.send_queued() <= c.send_buffer);
        for a in &self.accepted {
            assert!(a.heap_bytes() <= conn_bound);
        }
        assert!(self.listener.half_open_len() <= HALF_OPEN);
        assert!(self.listener.accept_queue_len() <= BACKLOG);
        assert!(self.listener.reply_queue_len() <= REPLIES);
        let listener_bound = HALF_OPEN * Listener::HALF_OPEN_ENTRY_BYTES
            + BACKLOG * (core::mem::size_of::<Connection>() + conn_bound)
            + 64 * 1024;
        assert!(
            self.listener.heap_bytes() <= listener_bound,
            "listener holds {}",
            self.listener.heap_bytes()
        );
        assert!(self.tw.len() <= TW_CAP);
        assert!(self.tw.heap_bytes() <= TW_CAP * TimeWaitTable::ENTRY_BYTES + 64 * 1024);
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    let mut world = World::new();
    let mut steps = 0;
    while !input.is_empty() && steps < 512 {
        world.step(&mut input);
        steps += 1;
    }
});
