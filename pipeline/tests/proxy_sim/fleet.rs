//! Many connections through the proxy: a [`Fleet`] of clients on one host, one new
//! connection every `interval` from a port of its own, each waiting for a greeting; and a
//! [`Greeter`] origin that accepts every SYN, sends a greeting and closes. Both are the
//! pipeline's TCP engine; the origin-health scenario uses them to see, per client, how long it
//! waited for its first byte.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use netreaktor_netsim::hosts::{reset_for, wrap_segment};
use netreaktor_netsim::{IfaceId, Node, Transmit};
use netreaktor_pipeline::tcp::{Config, ConnEvent, Connection};
use netreaktor_pipeline::time::{Duration, Instant};
use netreaktor_pipeline::wire::frame::{ChecksumPolicy, Frame, parse_frame};
use netreaktor_pipeline::wire::tcp::{TcpFlags, TcpRepr, TcpSeqNumber};

/// The greeting's length.
pub(crate) const GREETING: usize = 100;

/// One client connection of a fleet.
pub(crate) struct Client {
    pub(crate) conn: Connection,
    pub(crate) started: Instant,
    /// When the whole greeting had arrived.
    pub(crate) greeted: Option<Instant>,
    got: usize,
}

/// Clients opening one connection every `interval`, `count` in all, to `service`.
pub(crate) struct Fleet {
    cfg: Config,
    ip: std::net::IpAddr,
    service: SocketAddr,
    interval: Duration,
    count: usize,
    pub(crate) clients: Vec<Client>,
    buf: Vec<u8>,
}

impl Fleet {
    pub(crate) fn new(
        cfg: Config,
        ip: std::net::IpAddr,
        service: SocketAddr,
        (interval, count): (Duration, usize),
    ) -> Fleet {
        let buf = vec![0u8; usize::from(cfg.mss) + 120];
        Fleet { cfg, ip, service, interval, count, clients: Vec::new(), buf }
    }

    /// When the next client starts, if one is still to start.
    fn next_start(&self) -> Option<Instant> {
        let n = self.clients.len();
        (n < self.count).then(|| Instant::ZERO + self.interval.saturating_mul(n as u64))
    }

    fn start_due(&mut self, now: Instant) {
        while self.next_start().is_some_and(|at| at <= now) {
            let n = self.clients.len() as u16;
            let local = SocketAddr::new(self.ip, 20_000 + n);
            let iss = TcpSeqNumber(0x1000_0000u32.wrapping_mul(u32::from(n) + 1));
            let conn = Connection::connect(self.cfg, local, self.service, iss, now);
            self.clients.push(Client { conn, started: now, greeted: None, got: 0 });
        }
    }

    /// Reads what arrived; a client that has its greeting closes.
    fn app_step(&mut self, now: Instant) {
        for c in &mut self.clients {
            while c.conn.poll_event().is_some() {}
            let n = c.conn.recv(&mut self.buf);
            c.got += n;
            if c.got >= GREETING && c.greeted.is_none() {
                c.greeted = Some(now);
                c.conn.close(now);
            }
        }
    }
}

impl Node for Fleet {
    fn handle_frame(&mut self, now: Instant, _iface: IfaceId, frame: &[u8]) {
        let Ok(Frame::Tcp(f)) = parse_frame(frame, ChecksumPolicy::Verify) else { return };
        let port = f.tcp.dst_port;
        let client = port.checked_sub(20_000).and_then(|i| self.clients.get_mut(usize::from(i)));
        if let Some(c) = client {
            c.conn.handle_segment(now, &f.tcp);
        }
        self.app_step(now);
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.start_due(now);
        for c in &mut self.clients {
            if c.conn.poll_timeout().is_some_and(|t| t <= now) {
                c.conn.handle_timeout(now);
            }
        }
        self.app_step(now);
    }

    fn poll_timeout(&self) -> Option<Instant> {
        let conns = self.clients.iter().filter_map(|c| c.conn.poll_timeout());
        conns.chain(self.next_start()).min()
    }

    fn poll_transmit(&mut self, now: Instant) -> Option<Transmit> {
        self.start_due(now);
        for c in &mut self.clients {
            if let Some(t) = c.conn.poll_transmit(now, &mut self.buf, &mut ()) {
                let frame = wrap_segment(c.conn.local(), c.conn.remote(), &self.buf[..t.len]);
                return Some(Transmit::new(IfaceId(0), frame));
            }
        }
        None
    }
}

/// An origin that accepts every connection, sends [`GREETING`] bytes and closes.
pub(crate) struct Greeter {
    cfg: Config,
    local: SocketAddr,
    conns: BTreeMap<SocketAddr, Connection>,
    /// Connections accepted.
    pub(crate) accepted: usize,
    rsts: Vec<Vec<u8>>,
    buf: Vec<u8>,
}

impl Greeter {
    pub(crate) fn new(cfg: Config, local: SocketAddr) -> Greeter {
        let buf = vec![0u8; usize::from(cfg.mss) + 120];
        Greeter { cfg, local, conns: BTreeMap::new(), accepted: 0, rsts: Vec::new(), buf }
    }

    fn on_segment(&mut self, now: Instant, remote: SocketAddr, seg: &TcpRepr<'_>) {
        let syn = seg.flags.contains(TcpFlags::SYN) && !seg.flags.contains(TcpFlags::ACK);
        if let Some(conn) = self.conns.get_mut(&remote).filter(|c| !c.is_closed()) {
            conn.handle_segment(now, seg);
        } else if syn {
            let iss = TcpSeqNumber(0x2000_0000 ^ u32::from(remote.port()));
            let conn = Connection::accept(self.cfg, self.local, remote, iss, seg, now);
            self.conns.insert(remote, conn);
            self.accepted += 1;
        } else if let Some(rst) = reset_for(self.local, remote, seg) {
            self.rsts.push(rst);
        }
    }

    fn app_step(&mut self, now: Instant) {
        for conn in self.conns.values_mut() {
            while let Some(ev) = conn.poll_event() {
                if ev == ConnEvent::Connected {
                    conn.send(&[0x5a; GREETING]);
                    conn.close(now);
                }
            }
            while conn.recv(&mut self.buf) > 0 {}
        }
    }
}

impl Node for Greeter {
    fn handle_frame(&mut self, now: Instant, _iface: IfaceId, frame: &[u8]) {
        let Ok(Frame::Tcp(f)) = parse_frame(frame, ChecksumPolicy::Verify) else { return };
        let remote = SocketAddr::new(f.ip.src_addr(), f.tcp.src_port);
        self.on_segment(now, remote, &f.tcp);
        self.app_step(now);
    }

    fn handle_timeout(&mut self, now: Instant) {
        for conn in self.conns.values_mut() {
            if conn.poll_timeout().is_some_and(|t| t <= now) {
                conn.handle_timeout(now);
            }
        }
        self.app_step(now);
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.conns.values().filter_map(Connection::poll_timeout).min()
    }

    fn poll_transmit(&mut self, now: Instant) -> Option<Transmit> {
        if let Some(rst) = self.rsts.pop() {
            return Some(Transmit::new(IfaceId(0), rst));
        }
        for conn in self.conns.values_mut() {
            if let Some(t) = conn.poll_transmit(now, &mut self.buf, &mut ()) {
                let frame = wrap_segment(conn.local(), conn.remote(), &self.buf[..t.len]);
                return Some(Transmit::new(IfaceId(0), frame));
            }
        }
        None
    }
}
