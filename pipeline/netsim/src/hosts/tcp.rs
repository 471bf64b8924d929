//! A simulated TCP end host: one [`Connection`] behind an Ethernet interface, and an
//! application on top.
//!
//! The host does what a kernel around the engine would: it wraps segments in Ethernet and IPv4
//! headers, parses and checksums incoming frames (`parse_frame` with
//! `ChecksumPolicy::Verify`), creates the passive connection on the first SYN (or refuses every
//! SYN), and answers segments for a connection it does not have with a RST (RFC 9293
//! §3.10.7.1). The application sends a seeded stream, reads and verifies the peer's, and then
//! closes; or keeps the connection open, aborts after reading some bytes, pauses its reads, or
//! reads slowly.

use std::collections::VecDeque;
use std::net::SocketAddr;

use netreaktor_pipeline::tcp::cc::CongestionControl;
use netreaktor_pipeline::tcp::{CloseReason, Config, ConnEvent, Connection, State};
use netreaktor_pipeline::time::{Duration, Instant};
use netreaktor_pipeline::wire::frame::{ChecksumPolicy, Frame, parse_frame};
use netreaktor_pipeline::wire::tcp::{TcpFlags, TcpRepr, TcpSeqNumber};

use super::frames::{reset_for, wrap_segment};
use super::stream::Stream;
use crate::{IfaceId, Node, Transmit};

/// What the application on a host does.
#[derive(Debug, Clone)]
pub struct TcpApp {
    /// The stream it sends and its length; the stream it expects and its length.
    pub tx: Stream,
    pub tx_len: u64,
    pub rx: Stream,
    pub rx_len: u64,
    /// It never closes (an idle connection).
    pub hold_open: bool,
    /// It aborts once it has read this many bytes.
    pub abort_after: Option<u64>,
    /// It does not read during `from..until`.
    pub pause: Option<(Instant, Instant)>,
    /// It reads at most this many bytes per this interval.
    pub read_rate: Option<(usize, Duration)>,
    /// It queues at most this many bytes per this interval, the first lot once connected:
    /// an application answering on a schedule of its own (open-loop), so each lot finds
    /// the connection idle.
    pub write_rate: Option<(u64, Duration)>,
}

impl TcpApp {
    /// Sends `tx_len` bytes of `tx`, expects `rx_len` bytes of `rx`, closes when all is sent.
    pub fn new(tx: Stream, tx_len: u64, rx: Stream, rx_len: u64) -> TcpApp {
        TcpApp {
            tx,
            tx_len,
            rx,
            rx_len,
            hold_open: false,
            abort_after: None,
            pause: None,
            read_rate: None,
            write_rate: None,
        }
    }
}

/// What happened on a host, for the checks.
#[derive(Debug, Clone, Default)]
pub struct HostLog {
    /// The first SYN a passive host heard.
    pub first_syn_at: Option<Instant>,
    pub connected_at: Option<Instant>,
    pub peer_fin_at: Option<Instant>,
    /// When the application had queued its whole stream.
    pub sent_all_at: Option<Instant>,
    /// When the application had read the whole expected stream and the peer's FIN.
    pub read_all_at: Option<Instant>,
    pub closed: Option<(Instant, CloseReason)>,
    /// The first byte-stream error seen (mismatch, overrun).
    pub error: Option<String>,
    /// Frames that failed to parse or verify, or were not addressed to the host.
    pub bad_frames: u64,
    /// RSTs the host sent for a connection it did not have.
    pub host_rsts: u64,
}

/// Client, serving host, or refusing host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostRole {
    /// Connects at the first `poll_transmit`.
    Client,
    /// Accepts the first SYN.
    Server,
    /// Answers every SYN with a RST.
    Refuser,
}

/// One simulated TCP end host, on interface 0 of its node.
#[derive(Debug)]
pub struct TcpHost {
    role: HostRole,
    cfg: Config,
    local: SocketAddr,
    remote: SocketAddr,
    iss: TcpSeqNumber,
    /// The connection: from the start on a client, from the first SYN on a server.
    pub conn: Option<Connection>,
    app: TcpApp,
    tx_queued: u64,
    /// Bytes the application has read.
    pub rx_got: u64,
    closed_by_app: bool,
    aborted: bool,
    next_read: Instant,
    /// The slow reader has a turn at `next_read`.
    read_wakeup: bool,
    /// A scheduled writer's next lot (see [`TcpApp::write_rate`]).
    next_write: Option<Instant>,
    /// What happened, for the checks.
    pub log: HostLog,
    /// Host-made frames (RSTs) waiting to go out.
    extra: VecDeque<Vec<u8>>,
    seg: Vec<u8>,
    scratch: Vec<u8>,
    /// Print every segment received (see [`TcpHost::trace`]).
    trace: bool,
    /// The integral of cwnd over time (byte-seconds) and when it was last advanced.
    cwnd_area: f64,
    cwnd_since: Option<Instant>,
}

impl TcpHost {
    /// A client connecting from `local` to `remote` at time zero.
    pub fn client(
        cfg: Config,
        local: SocketAddr,
        remote: SocketAddr,
        iss: u32,
        app: TcpApp,
    ) -> TcpHost {
        let mut host = TcpHost::new(HostRole::Client, cfg, local, iss, app);
        host.remote = remote;
        host.conn = Some(Connection::connect(cfg, local, remote, host.iss, Instant::ZERO));
        host
    }

    /// A host on `local` that accepts the first SYN.
    pub fn server(cfg: Config, local: SocketAddr, iss: u32, app: TcpApp) -> TcpHost {
        TcpHost::passive(HostRole::Server, cfg, local, iss, app)
    }

    /// A host on `local` that accepts the first SYN (`HostRole::Server`) or refuses all
    /// (`HostRole::Refuser`).
    pub fn passive(
        role: HostRole,
        cfg: Config,
        local: SocketAddr,
        iss: u32,
        app: TcpApp,
    ) -> TcpHost {
        assert_ne!(role, HostRole::Client, "a client is made by TcpHost::client");
        TcpHost::new(role, cfg, local, iss, app)
    }

    fn new(role: HostRole, cfg: Config, local: SocketAddr, iss: u32, app: TcpApp) -> TcpHost {
        TcpHost {
            role,
            cfg,
            local,
            remote: local,
            iss: TcpSeqNumber(iss),
            conn: None,
            app,
            tx_queued: 0,
            rx_got: 0,
            closed_by_app: false,
            aborted: false,
            next_read: Instant::ZERO,
            read_wakeup: false,
            next_write: None,
            log: HostLog::default(),
            extra: VecDeque::new(),
            seg: vec![0u8; usize::from(cfg.mss) + 120],
            scratch: vec![0u8; 64 * 1024],
            trace: false,
            cwnd_area: 0.0,
            cwnd_since: None,
        }
    }

    /// Prints every segment the host receives, with its connection's state, to stderr.
    pub fn trace(mut self, on: bool) -> TcpHost {
        self.trace = on;
        self
    }

    /// The connection reached its end (CLOSED or TIME-WAIT).
    pub fn finished(&self) -> bool {
        self.conn.as_ref().is_some_and(|c| c.is_closed() || c.state() == State::TimeWait)
    }

    /// The connection reached its end and the application is done with it: it read the
    /// whole stream, or the connection ended abnormally.
    pub fn done(&self) -> bool {
        let abnormal = self.log.closed.is_some_and(|c| c.1 != CloseReason::Closed);
        self.finished() && (self.log.read_all_at.is_some() || abnormal)
    }

    /// The connection's state (CLOSED before a server's first SYN).
    pub fn state(&self) -> State {
        self.conn.as_ref().map_or(State::Closed, Connection::state)
    }

    /// The time-weighted average cwnd in bytes since the handshake, up to `now`.
    pub fn average_cwnd(&self, now: Instant) -> f64 {
        let (Some(start), Some(conn)) = (self.log.connected_at, self.conn.as_ref()) else {
            return 0.0;
        };
        let last = self.cwnd_since.unwrap_or(now);
        let tail = now.saturating_duration_since(last).as_secs_f64();
        let area = self.cwnd_area + conn.congestion().cwnd() as f64 * tail;
        area / now.saturating_duration_since(start).as_secs_f64().max(1e-9)
    }

    fn on_segment(&mut self, now: Instant, remote: SocketAddr, seg: &TcpRepr<'_>) {
        let is_syn = seg.flags.contains(TcpFlags::SYN) && !seg.flags.contains(TcpFlags::ACK);
        if is_syn && self.role != HostRole::Client {
            self.log.first_syn_at.get_or_insert(now);
        }
        if self.conn.is_none() && self.role == HostRole::Server && is_syn {
            self.remote = remote;
            let conn = Connection::accept(self.cfg, self.local, remote, self.iss, seg, now);
            self.conn = Some(conn);
            return;
        }
        if self.trace {
            self.print_segment(now, seg);
        }
        match self.conn.as_mut() {
            Some(conn) if !conn.is_closed() && remote == self.remote => {
                conn.handle_segment(now, seg);
            }
            _ => {
                if let Some(rst) = reset_for(self.local, remote, seg) {
                    self.extra.push_back(rst);
                    self.log.host_rsts += 1;
                }
            }
        }
    }

    fn print_segment(&self, now: Instant, seg: &TcpRepr<'_>) {
        let Some(conn) = self.conn.as_ref() else { return };
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
        if self.log.connected_at.is_none() || conn.is_closed() || self.aborted {
            return;
        }
        self.read(now);
        if self.app.abort_after.is_some_and(|n| self.rx_got >= n) {
            self.aborted = true;
            let conn = self.conn.as_mut().expect("app_step checked");
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
        let mut budget = usize::MAX;
        if let Some((bytes, _)) = self.app.read_rate {
            if now < self.next_read {
                self.read_wakeup = true;
                return;
            }
            budget = bytes;
        }
        let mut scratch = std::mem::take(&mut self.scratch);
        let mut read = 0;
        while read < budget {
            let want = (budget - read).min(scratch.len());
            let conn = self.conn.as_mut().expect("app_step checked");
            let n = conn.recv(&mut scratch[..want]);
            if n == 0 {
                break;
            }
            read += n;
            self.check(&scratch[..n]);
        }
        self.scratch = scratch;
        // A slow reader that read something waits for its next turn, then looks again.
        self.read_wakeup = false;
        if let Some((_, every)) = self.app.read_rate.filter(|_| read > 0) {
            self.next_read = now + every;
            self.read_wakeup = true;
        }
        let conn = self.conn.as_ref().expect("app_step checked");
        if self.rx_got == self.app.rx_len && conn.is_read_closed() {
            self.log.read_all_at.get_or_insert(now);
        }
    }

    fn check(&mut self, got: &[u8]) {
        let n = got.len() as u64;
        if self.rx_got + n > self.app.rx_len {
            let msg = format!("received {} bytes of {}", self.rx_got + n, self.app.rx_len);
            self.log.error.get_or_insert(msg);
        } else if let Some(p) = self.app.rx.mismatch(self.rx_got, got) {
            self.log.error.get_or_insert(format!("byte {} differs", self.rx_got + p as u64));
        }
        self.rx_got += n;
    }

    fn write(&mut self, now: Instant) {
        let (allowed, next) = self.write_allowance(now);
        self.next_write = next;
        let conn = self.conn.as_mut().expect("app_step checked");
        while self.tx_queued < allowed {
            let room = conn.send_capacity().min(self.scratch.len());
            let n = room.min((allowed - self.tx_queued) as usize);
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
        if self.tx_queued == self.app.tx_len {
            self.log.sent_all_at.get_or_insert(now);
            if !self.closed_by_app && !self.app.hold_open {
                self.closed_by_app = true;
                conn.close(now);
            }
        }
    }

    /// Bytes of its stream the application has produced by `now` (all of them, or the lots
    /// of its write rate due so far), and when its next lot is due.
    fn write_allowance(&self, now: Instant) -> (u64, Option<Instant>) {
        let (Some((bytes, every)), Some(start)) = (self.app.write_rate, self.log.connected_at)
        else {
            return (self.app.tx_len, None);
        };
        let every = every.total_micros().max(1);
        let lots = now.saturating_duration_since(start).total_micros() / every + 1;
        let allowed = bytes.saturating_mul(lots).min(self.app.tx_len);
        let next = (allowed < self.app.tx_len)
            .then(|| start + Duration::from_micros(every.saturating_mul(lots)));
        (allowed, next)
    }

    /// When the next lot of a scheduled writer is due, while it is still writing.
    fn write_deadline(&self) -> Option<Instant> {
        let open = self.conn.as_ref().is_some_and(|c| !c.is_closed()) && !self.aborted;
        self.next_write.filter(|_| open)
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

    /// When the application's read pause ends, if it is still ahead.
    fn pause_end(&self) -> Option<Instant> {
        self.app.pause.map(|(_, until)| until).filter(|_| self.log.connected_at.is_some())
    }

    /// The slow reader's next read, while it is still reading.
    fn read_deadline(&self) -> Option<Instant> {
        let open = self.conn.as_ref().is_some_and(|c| !c.is_closed());
        (self.read_wakeup && open && !self.aborted).then_some(self.next_read)
    }
}

impl Node for TcpHost {
    fn handle_frame(&mut self, now: Instant, _iface: IfaceId, frame: &[u8]) {
        self.sample_cwnd(now);
        match parse_frame(frame, ChecksumPolicy::Verify) {
            Ok(Frame::Tcp(f)) => {
                let remote = SocketAddr::new(f.ip.src_addr(), f.tcp.src_port);
                let local = SocketAddr::new(f.ip.dst_addr(), f.tcp.dst_port);
                if local == self.local {
                    self.on_segment(now, remote, &f.tcp);
                } else {
                    self.log.bad_frames += 1;
                }
            }
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
        let own = [self.pause_end(), self.read_deadline(), self.write_deadline()];
        own.into_iter().flatten().chain(conn).min()
    }

    fn poll_transmit(&mut self, now: Instant) -> Option<Transmit> {
        self.app_step(now);
        if let Some(frame) = self.extra.pop_front() {
            return Some(Transmit::new(IfaceId(0), frame));
        }
        let conn = self.conn.as_mut()?;
        let t = conn.poll_transmit(now, &mut self.seg, &mut ())?;
        let frame = wrap_segment(conn.local(), conn.remote(), &self.seg[..t.len]);
        Some(Transmit::new(IfaceId(0), frame))
    }
}
