//! The run-to-completion loop: frames from the tap to the connections, timers, frames out
//! by the radios. The pipeline's time is a parameter: microseconds since the loop started.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, SocketAddrV4};
use std::sync::Arc;

use anyhow::Result;
use netreaktor_pipeline::tcp::Config;
use netreaktor_pipeline::time::Instant;
use netreaktor_pipeline::wire::ip::IpProtocol;
use netreaktor_pipeline::wire::ipv4::{Ipv4Packet, Ipv4Repr};
use netreaktor_pipeline::wire::tcp::{TcpPacket, TcpRepr};

use super::Settings;
use super::conn::{MpConn, Service, Shared};
use super::io::{Guard, PORTS, Radio, Tap};
use super::ios::VersionCache;

/// Frames handled before timers and transmissions get their turn.
const RX_BATCH: usize = 256;
/// Cellular joins tried per connection (a refused join is tried again, up to this).
const MAX_JOIN_ATTEMPTS: usize = 3;

/// The emulated phone: radios, tap, connections.
#[derive(Debug)]
pub(crate) struct Phone {
    radios: Vec<Radio>,
    tap: Tap,
    _guard: Guard,
    server: SocketAddrV4,
    settings: Settings,
    cfg: Arc<Config>,
    cache: VersionCache,
    /// Connections by index; `None` once removed.
    pub(crate) conns: Vec<Option<MpConn>>,
    /// Local port -> (connection, subflow).
    by_port: HashMap<u16, (usize, usize)>,
    next_port: u16,
    epoch: std::time::Instant,
    rx_buf: Vec<u8>,
    tx_buf: Vec<u8>,
    ip_buf: Vec<u8>,
    /// Frames dropped as malformed or not ours.
    pub(crate) dropped: u64,
}

impl Phone {
    /// Opens the radios and the tap and installs the guard for `server`.
    pub(crate) fn new(settings: Settings, server: SocketAddrV4) -> Result<Self> {
        let mut radios = vec![Radio::open(&settings.wifi)?];
        if let Some(cell) = &settings.cell {
            radios.push(Radio::open(cell)?);
        }
        let guard = Guard::install(server)?;
        let cfg = Config { syn_retries: 6, ..Config::default() };
        Ok(Self {
            radios,
            tap: Tap::open(std::time::Duration::from_millis(1))?,
            _guard: guard,
            server,
            cache: VersionCache::new(settings.generation),
            settings,
            cfg: Arc::new(cfg),
            conns: Vec::new(),
            by_port: HashMap::new(),
            // A random start: a run right after another must not reuse a 4-tuple the server
            // may still hold (its side of a blackholed subflow, TIME-WAIT).
            next_port: PORTS.start()
                + (super::keys::random_u32() % u32::from(PORTS.end() - PORTS.start())) as u16,
            epoch: std::time::Instant::now(),
            rx_buf: vec![0; 65536],
            tx_buf: vec![0; 65536],
            ip_buf: Vec::with_capacity(65536),
            dropped: 0,
        })
    }

    /// The pipeline time now.
    pub(crate) fn now(&self) -> Instant {
        Instant::from_micros(u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX))
    }

    fn port(&mut self) -> Option<u16> {
        for _ in PORTS {
            let p = self.next_port;
            self.next_port = if p == *PORTS.end() { *PORTS.start() } else { p + 1 };
            if !self.by_port.contains_key(&p) {
                return Some(p);
            }
        }
        None
    }

    /// Opens a connection over Wi-Fi; returns its index.
    pub(crate) fn open(&mut self) -> Result<usize> {
        let now = self.now();
        let offered =
            self.settings.mptcp.then(|| self.cache.choose(IpAddr::V4(*self.server.ip()), now));
        let shared = Shared {
            generation: self.settings.generation,
            service: self.settings.service,
            habits: self.settings.habits,
            offered,
            mptcp: false,
            fallback: None,
            key_a: 0,
            key_b: 0,
            idsn_a: 0,
            idsn_b: 0,
            data_ack: 0,
            first_data_acked: false,
        };
        let port = self.port().ok_or_else(|| anyhow::anyhow!("out of source ports"))?;
        let local = SocketAddr::new(IpAddr::V4(self.radios[0].addr), port);
        let conn =
            MpConn::connect(shared, Arc::clone(&self.cfg), 0, local, self.server.into(), now);
        let idx = self.conns.len();
        self.conns.push(Some(conn));
        self.by_port.insert(port, (idx, 0));
        Ok(idx)
    }

    /// Records a finished connection's result in the version cache and forgets its ports.
    pub(crate) fn retire(&mut self, idx: usize) -> Option<MpConn> {
        let conn = self.conns.get_mut(idx)?.take()?;
        for s in &conn.subflows {
            self.by_port.remove(&s.tcp.local().port());
        }
        if let Some(v) = conn.shared.offered {
            self.cache.record(IpAddr::V4(*self.server.ip()), v, conn.shared.mptcp, self.now());
        }
        Some(conn)
    }

    /// One turn of the loop: frames in (waiting at most until the next timer, or `idle`
    /// when nothing is due), timers, joins, frames out.
    pub(crate) fn turn(&mut self) -> Result<()> {
        self.receive()?;
        let now = self.now();
        for i in 0..self.conns.len() {
            let Some(c) = self.conns[i].as_mut() else { continue };
            if c.poll_timeout().is_some_and(|t| t <= now) {
                c.handle_timeout(now);
            }
            c.check_subflows(now);
        }
        self.open_cellular(now);
        self.transmit()
    }

    /// docs/ios-emulation.md §5: interactive and aggregate open the cellular subflow as soon
    /// as MPTCP is up; handover when the Wi-Fi subflow has had 2 RTOs with data pending.
    fn open_cellular(&mut self, now: Instant) {
        if self.radios.len() < 2 {
            return;
        }
        let cell = self.radios[1].addr;
        let backup =
            self.settings.habits.backup_cell && self.settings.service != Service::Aggregate;
        for i in 0..self.conns.len() {
            let Some(c) = self.conns[i].as_ref() else { continue };
            let wifi = &c.subflows[0].tcp;
            let since = c.subflows[0].mp.progress.0;
            let bad_wifi = wifi.stats().rtos >= since + 2 && wifi.send_queued() > 0;
            let want = c.shared.mptcp
                && c.fully_established()
                && c.joins_open() < MAX_JOIN_ATTEMPTS
                && !c.has_live_join()
                && wifi.state() == netreaktor_pipeline::tcp::State::Established
                && (self.settings.service != Service::Handover || bad_wifi);
            if !want {
                continue;
            }
            let Some(port) = self.port() else { return };
            let local = SocketAddr::new(IpAddr::V4(cell), port);
            if let Some(c) = self.conns[i].as_mut() {
                c.join(1, local, backup, now);
                self.by_port.insert(port, (i, c.subflows.len() - 1));
            }
        }
    }

    /// Reads frames until none is waiting (at most a batch), handing ours to connections.
    fn receive(&mut self) -> Result<()> {
        let wait = self.next_wait();
        self.tap.set_wait(wait)?;
        for k in 0..RX_BATCH {
            if k == 1 {
                self.tap.set_wait(None)?;
            }
            let Some(n) = self.tap.recv(&mut self.rx_buf)? else { break };
            let now = self.now();
            let frame = std::mem::take(&mut self.rx_buf);
            self.dispatch(&frame[..n], now);
            self.rx_buf = frame;
        }
        Ok(())
    }

    /// How long the tap may wait: until the next timer, 1 ms at most.
    fn next_wait(&self) -> Option<std::time::Duration> {
        let now = self.now();
        let next = self.conns.iter().flatten().filter_map(MpConn::poll_timeout).min();
        let max = std::time::Duration::from_millis(1);
        match next {
            Some(t) if t <= now => None,
            Some(t) => Some(max.min(std::time::Duration::from_micros(
                t.saturating_duration_since(now).total_micros(),
            ))),
            None => Some(max),
        }
    }

    /// One IPv4 packet from the tap: ours if it comes from the server to one of our ports.
    fn dispatch(&mut self, packet: &[u8], now: Instant) {
        let Ok(ip) = Ipv4Packet::new_checked(packet) else { return self.drop_frame() };
        let Ok(ip) = Ipv4Repr::parse(&ip) else { return self.drop_frame() };
        if ip.next_header != IpProtocol::Tcp || ip.src_addr != *self.server.ip() {
            return;
        }
        if !self.radios.iter().any(|r| r.addr == ip.dst_addr) {
            return;
        }
        let start = packet.len().saturating_sub(ip.payload_len);
        let Ok(tcp) = TcpPacket::new_checked(&packet[start..]) else { return self.drop_frame() };
        if tcp.src_port() != self.server.port() {
            return;
        }
        let Some(&(c, s)) = self.by_port.get(&tcp.dst_port()) else { return };
        if !tcp.verify_checksum(IpAddr::V4(ip.src_addr), IpAddr::V4(ip.dst_addr)) {
            return self.drop_frame();
        }
        let Ok(repr) = TcpRepr::parse(&tcp) else { return self.drop_frame() };
        if let Some(conn) = self.conns.get_mut(c).and_then(Option::as_mut) {
            conn.handle_segment(s, now, &repr);
        }
    }

    fn drop_frame(&mut self) {
        self.dropped += 1;
    }

    /// Every connection's segments out.
    fn transmit(&mut self) -> Result<()> {
        let now = self.now();
        let dst = *self.server.ip();
        for i in 0..self.conns.len() {
            let Some(c) = self.conns[i].as_mut() else { continue };
            for s in 0..c.subflows.len() {
                let radio = c.subflows[s].mp.radio;
                while let Some(t) = c.poll_transmit(s, now, &mut self.tx_buf) {
                    self.radios[radio].send(dst, &self.tx_buf[..t.len], &mut self.ip_buf)?;
                }
            }
        }
        Ok(())
    }
}
