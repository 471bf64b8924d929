//! A simulated host: one [`Connection`] behind an Ethernet interface, and an application on
//! top that sends a seeded byte stream, reads and verifies the peer's, then closes.
//!
//! The host does what a kernel around the engine would: it wraps segments in Ethernet and
//! IPv4 headers, parses and checksums incoming frames (`parse_frame` with
//! `ChecksumPolicy::Verify`), creates the passive connection on the first SYN, and answers
//! segments for a connection it no longer has with a RST (RFC 9293 §3.10.7.1).

use std::collections::VecDeque;
use std::net::SocketAddr;

use netreaktor_netsim::{IfaceId, Node, Transmit};
use netreaktor_pipeline::tcp::cc::CongestionControl;
use netreaktor_pipeline::tcp::{CloseReason, Config, ConnEvent, Connection, State};
use netreaktor_pipeline::time::Instant;
use netreaktor_pipeline::wire::ethernet::{EtherType, EthernetAddress, EthernetRepr};
use netreaktor_pipeline::wire::frame::{ChecksumPolicy, Frame, IpRepr, TcpFrame, parse_frame};
use netreaktor_pipeline::wire::tcp::{TcpFlags, TcpPacket, TcpRepr, TcpSeqNumber};
use netreaktor_pipeline::wire::tcp_option::TcpOptions;

use super::stream::Stream;

/// What the application on a host does.
#[derive(Debug, Clone)]
pub(crate) struct AppPlan {
    /// The stream it sends, and its length.
    pub(crate) tx: Stream,
    pub(crate) tx_len: u64,
    /// The stream it expects from the peer, and its length.
    pub(crate) rx: Stream,
    pub(crate) rx_len: u64,
    /// It does not read during `from..until`.
    pub(crate) pause: Option<(Instant, Instant)>,
    /// It aborts the connection once it has read this many bytes.
    pub(crate) abort_after: Option<u64>,
}

/// What happened on a host, for the checks.
#[derive(Debug, Clone, Default)]
pub(crate) struct Log {
    pub(crate) connected_at: Option<Instant>,
    pub(crate) peer_fin_at: Option<Instant>,
    /// When the application had read the whole expected stream.
    pub(crate) read_all_at: Option<Instant>,
    pub(crate) closed: Option<(Instant, CloseReason)>,
    /// The first byte-stream error seen (mismatch, overrun).
    pub(crate) error: Option<String>,
    /// Frames that failed to parse or verify.
    pub(crate) bad_frames: u64,
    /// RSTs the host sent for a connection it no longer had.
    pub(crate) host_rsts: u64,
}

/// Client or server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Client,
    Server,
}

/// One simulated host.
pub(crate) struct Host {
    role: Role,
    cfg: Config,
    local: SocketAddr,
    remote: SocketAddr,
    iss: TcpSeqNumber,
    pub(crate) conn: Option<Connection>,
    app: AppPlan,
    tx_queued: u64,
    pub(crate) rx_got: u64,
    closed_by_app: bool,
    aborted: bool,
    pub(crate) log: Log,
    /// Host-made frames (RSTs) waiting to go out.
    extra: VecDeque<Vec<u8>>,
    seg: Vec<u8>,
    scratch: Vec<u8>,
    /// `TCP_SIM_TRACE` is set: print every segment received.
    trace: bool,
    /// The integral of cwnd over time (byte-seconds) and when it was last advanced.
    cwnd_area: f64,
    cwnd_since: Option<Instant>,
}

const MAC_CLIENT: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 1]);
const MAC_SERVER: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 2]);

impl Host {
    /// A client that connects from `local` to `remote` at the first `poll_transmit`.
    pub(crate) fn client(
        cfg: Config,
        local: SocketAddr,
        remote: SocketAddr,
        iss: u32,
        app: AppPlan,
    ) -> Host {
        let conn = Connection::connect(cfg, local, remote, TcpSeqNumber(iss), Instant::ZERO);
        let mut host = Host::new(Role::Client, cfg, local, remote, iss, app);
        host.conn = Some(conn);
        host
    }

    /// A server listening on `local`; it accepts the first SYN.
    pub(crate) fn server(cfg: Config, local: SocketAddr, iss: u32, app: AppPlan) -> Host {
        Host::new(Role::Server, cfg, local, local, iss, app)
    }

    fn new(
        role: Role,
        cfg: Config,
        local: SocketAddr,
        remote: SocketAddr,
        iss: u32,
        app: AppPlan,
    ) -> Host {
        Host {
            role,
            cfg,
            local,
            remote,
            iss: TcpSeqNumber(iss),
            conn: None,
            app,
            tx_queued: 0,
            rx_got: 0,
            closed_by_app: false,
            aborted: false,
            log: Log::default(),
            extra: VecDeque::new(),
            seg: vec![0u8; usize::from(cfg.mss) + 120],
            scratch: vec![0u8; 16 * 1024],
            trace: std::env::var_os("TCP_SIM_TRACE").is_some(),
            cwnd_area: 0.0,
            cwnd_since: None,
        }
    }

    /// The connection's state (CLOSED before the server's first SYN).
    pub(crate) fn state(&self) -> State {
        self.conn.as_ref().map_or(State::Closed, Connection::state)
    }

    /// The connection reached its end: CLOSED or TIME-WAIT.
    pub(crate) fn finished(&self) -> bool {
        self.conn.as_ref().is_some_and(|c| c.is_closed() || c.state() == State::TimeWait)
    }

    fn macs(&self) -> (EthernetAddress, EthernetAddress) {
        match self.role {
            Role::Client => (MAC_CLIENT, MAC_SERVER),
            Role::Server => (MAC_SERVER, MAC_CLIENT),
        }
    }

    /// Wraps the TCP segment `seg` in Ethernet and IPv4 headers.
    fn frame(&self, seg: &[u8]) -> Vec<u8> {
        let packet = TcpPacket::new_checked(seg).expect("the engine emits well-formed segments");
        let tcp = TcpRepr::parse(&packet).expect("the engine emits well-formed segments");
        self.wrap(&tcp)
    }

    fn wrap(&self, tcp: &TcpRepr<'_>) -> Vec<u8> {
        let (src, dst) = self.macs();
        let ethernet =
            EthernetRepr { src_addr: src, dst_addr: dst, vlan: None, ethertype: EtherType::Ipv4 };
        let ip = IpRepr::tcp(self.local.ip(), self.remote.ip()).expect("both IPv4");
        let frame = TcpFrame { ethernet, ip, tcp: *tcp };
        let mut out = vec![0u8; frame.buffer_len()];
        frame.emit(&mut out);
        out
    }

    /// RFC 9293 §3.10.7.1: a segment for no connection is answered with a RST.
    fn reply_rst(&mut self, seg: &TcpRepr<'_>) {
        if seg.flags.contains(TcpFlags::RST) {
            return;
        }
        let (seq, ack, flags) = if seg.flags.contains(TcpFlags::ACK) {
            (seg.ack_number, TcpSeqNumber(0), TcpFlags::RST)
        } else {
            (TcpSeqNumber(0), seg.seq_number + seg.segment_len(), TcpFlags::RST | TcpFlags::ACK)
        };
        let rst = TcpRepr {
            src_port: self.local.port(),
            dst_port: self.remote.port(),
            seq_number: seq,
            ack_number: ack,
            flags,
            window_len: 0,
            urgent_pointer: 0,
            options: TcpOptions::EMPTY,
            payload: &[],
        };
        let frame = self.wrap(&rst);
        self.extra.push_back(frame);
        self.log.host_rsts += 1;
    }

    fn on_segment(&mut self, now: Instant, ip: &IpRepr<'_>, seg: &TcpRepr<'_>) {
        if self.conn.is_none() && self.role == Role::Server {
            if seg.flags.contains(TcpFlags::SYN) && !seg.flags.contains(TcpFlags::ACK) {
                self.remote = SocketAddr::new(ip.src_addr(), seg.src_port);
                let conn =
                    Connection::accept(self.cfg, self.local, self.remote, self.iss, seg, now);
                self.conn = Some(conn);
            }
            return;
        }
        let Some(conn) = self.conn.as_mut() else { return };
        if self.trace {
            eprintln!(
                "{now} {:?} <- seq {} ack {} {:?} len {} wnd {} sack {:?} | {:?} cwnd {} ssthresh {} rec {} rto {:?} srtt {:?} tsopt {:?}",
                self.role,
                seg.seq_number.0,
                seg.ack_number.0,
                seg.flags,
                seg.payload.len(),
                seg.window_len,
                seg.options.sack_blocks(),
                conn.state(),
                conn.congestion().cwnd(),
                conn.congestion().ssthresh(),
                conn.congestion().in_recovery(),
                conn.rtt().rto(),
                conn.rtt().srtt(),
                seg.options.timestamps(),
            );
        }
        if conn.is_closed() {
            self.reply_rst(seg);
        } else {
            conn.handle_segment(now, seg);
        }
    }

    /// The application's turn: events, reads, writes, close or abort.
    fn app_step(&mut self, now: Instant) {
        let Some(conn) = self.conn.as_mut() else { return };
        while let Some(ev) = conn.poll_event() {
            match ev {
                ConnEvent::Connected => self.log.connected_at = Some(now),
                ConnEvent::PeerFinished => self.log.peer_fin_at = Some(now),
                ConnEvent::Closed(reason) => self.log.closed = Some((now, reason)),
                ConnEvent::Readable | ConnEvent::Writable => {}
            }
        }
        if self.log.connected_at.is_none() || conn.is_closed() {
            return;
        }
        self.read(now);
        if self.aborted {
            return;
        }
        if self.app.abort_after.is_some_and(|n| self.rx_got >= n) {
            self.aborted = true;
            let conn = self.conn.as_mut().expect("checked above");
            conn.abort(now);
            while let Some(ConnEvent::Closed(reason)) = conn.poll_event() {
                self.log.closed = Some((now, reason));
            }
            return;
        }
        self.write(now);
    }

    fn read(&mut self, now: Instant) {
        if self.app.pause.is_some_and(|(from, until)| now >= from && now < until) {
            return;
        }
        let conn = self.conn.as_mut().expect("app_step checked");
        loop {
            let n = conn.recv(&mut self.scratch);
            if n == 0 {
                break;
            }
            let got = &self.scratch[..n];
            if self.rx_got + n as u64 > self.app.rx_len {
                self.log.error.get_or_insert(format!(
                    "received {} bytes, more than the {} sent",
                    self.rx_got + n as u64,
                    self.app.rx_len
                ));
            } else if let Some(p) = self.app.rx.mismatch(self.rx_got, got) {
                self.log.error.get_or_insert(format!("byte {} differs", self.rx_got + p as u64));
            }
            self.rx_got += n as u64;
        }
        if self.rx_got == self.app.rx_len && conn.is_read_closed() && self.log.read_all_at.is_none()
        {
            self.log.read_all_at = Some(now);
        }
    }

    fn write(&mut self, now: Instant) {
        let conn = self.conn.as_mut().expect("app_step checked");
        while self.tx_queued < self.app.tx_len {
            let room = conn.send_capacity().min(self.scratch.len());
            let n = room.min((self.app.tx_len - self.tx_queued) as usize);
            if n == 0 {
                break;
            }
            self.app.tx.fill(self.tx_queued, &mut self.scratch[..n]);
            let sent = conn.send(&self.scratch[..n]);
            self.tx_queued += sent as u64;
            if sent == 0 {
                break;
            }
        }
        if self.tx_queued == self.app.tx_len && !self.closed_by_app {
            self.closed_by_app = true;
            conn.close(now);
        }
    }

    /// Advances the cwnd integral to `now` (from the handshake on).
    fn sample_cwnd(&mut self, now: Instant) {
        let Some(conn) = self.conn.as_ref() else { return };
        if self.log.connected_at.is_none() {
            return;
        }
        let since = self.cwnd_since.unwrap_or(now);
        let dt = now.saturating_duration_since(since).as_secs_f64();
        self.cwnd_area += conn.congestion().cwnd() as f64 * dt;
        self.cwnd_since = Some(now);
    }

    /// The time-weighted average cwnd in bytes since the handshake, up to `now`.
    pub(crate) fn average_cwnd(&self, now: Instant) -> f64 {
        let (Some(start), Some(conn)) = (self.log.connected_at, self.conn.as_ref()) else {
            return 0.0;
        };
        let last = self.cwnd_since.unwrap_or(now);
        let tail = now.saturating_duration_since(last).as_secs_f64();
        let area = self.cwnd_area + conn.congestion().cwnd() as f64 * tail;
        area / now.saturating_duration_since(start).as_secs_f64().max(1e-9)
    }

    /// When the application's read pause ends, if it is still ahead.
    fn pause_end(&self) -> Option<Instant> {
        self.app.pause.map(|(_, until)| until).filter(|_| self.log.connected_at.is_some())
    }
}

impl Node for Host {
    fn handle_frame(&mut self, now: Instant, _iface: IfaceId, frame: &[u8]) {
        self.sample_cwnd(now);
        match parse_frame(frame, ChecksumPolicy::Verify) {
            Ok(Frame::Tcp(f)) => self.on_segment(now, &f.ip, &f.tcp),
            _ => self.log.bad_frames += 1,
        }
        self.app_step(now);
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.sample_cwnd(now);
        if let Some(conn) =
            self.conn.as_mut().filter(|c| c.poll_timeout().is_some_and(|t| t <= now))
        {
            conn.handle_timeout(now);
        }
        if self.pause_end().is_some_and(|t| t <= now) {
            self.app.pause = None;
        }
        self.app_step(now);
    }

    fn poll_timeout(&self) -> Option<Instant> {
        let conn = self.conn.as_ref().and_then(Connection::poll_timeout);
        [conn, self.pause_end()].into_iter().flatten().min()
    }

    fn poll_transmit(&mut self, now: Instant) -> Option<Transmit> {
        self.app_step(now);
        if let Some(frame) = self.extra.pop_front() {
            return Some(Transmit::new(IfaceId(0), frame));
        }
        let conn = self.conn.as_mut()?;
        let mut seg = std::mem::take(&mut self.seg);
        let t = conn.poll_transmit(now, &mut seg, &mut ());
        let out = t.map(|t| Transmit::new(IfaceId(0), self.frame(&seg[..t.len])));
        self.seg = seg;
        out
    }
}
