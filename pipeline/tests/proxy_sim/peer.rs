//! A simulated end host for the proxy simulation: the client (it connects to the service
//! address) or an origin server (it accepts the first SYN, or refuses every SYN with a RST).
//! Its application sends a seeded stream, reads and verifies the peer's, and then closes; or
//! keeps the connection open, aborts after reading some bytes, or reads slowly.

use std::collections::VecDeque;
use std::net::SocketAddr;

use netreaktor_netsim::{IfaceId, Node, Transmit};
use netreaktor_pipeline::tcp::{CloseReason, Config, ConnEvent, Connection, State};
use netreaktor_pipeline::time::{Duration, Instant};
use netreaktor_pipeline::wire::frame::{ChecksumPolicy, Frame, parse_frame};
use netreaktor_pipeline::wire::tcp::{TcpFlags, TcpRepr, TcpSeqNumber};

use super::frames::{reset_for, wrap_segment};
use super::stream::Stream;

/// What the application does.
#[derive(Debug, Clone)]
pub(crate) struct App {
    /// The stream it sends and its length; the stream it expects and its length.
    pub(crate) tx: Stream,
    pub(crate) tx_len: u64,
    pub(crate) rx: Stream,
    pub(crate) rx_len: u64,
    /// It never closes (the idle scenario).
    pub(crate) hold_open: bool,
    /// It aborts once it has read this many bytes.
    pub(crate) abort_after: Option<u64>,
    /// It reads at most this many bytes per this interval.
    pub(crate) read_rate: Option<(usize, Duration)>,
}

impl App {
    /// Sends `tx_len` bytes of `tx`, expects `rx_len` bytes of `rx`, closes when all is sent.
    pub(crate) fn new(tx: Stream, tx_len: u64, rx: Stream, rx_len: u64) -> App {
        App { tx, tx_len, rx, rx_len, hold_open: false, abort_after: None, read_rate: None }
    }
}

/// What happened on a host.
#[derive(Debug, Clone, Default)]
pub(crate) struct Log {
    pub(crate) first_syn_at: Option<Instant>,
    pub(crate) connected_at: Option<Instant>,
    pub(crate) peer_fin_at: Option<Instant>,
    pub(crate) sent_all_at: Option<Instant>,
    pub(crate) read_all_at: Option<Instant>,
    pub(crate) closed: Option<(Instant, CloseReason)>,
    pub(crate) error: Option<String>,
    pub(crate) bad_frames: u64,
    pub(crate) host_rsts: u64,
}

/// Client, serving origin, or refusing origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Client,
    Server,
    Refuser,
}

/// One end host.
pub(crate) struct Peer {
    role: Role,
    cfg: Config,
    local: SocketAddr,
    remote: SocketAddr,
    iss: TcpSeqNumber,
    pub(crate) conn: Option<Connection>,
    app: App,
    tx_queued: u64,
    pub(crate) rx_got: u64,
    closed_by_app: bool,
    aborted: bool,
    next_read: Instant,
    /// The slow reader has a turn at `next_read`.
    read_wakeup: bool,
    pub(crate) log: Log,
    extra: VecDeque<Vec<u8>>,
    seg: Vec<u8>,
    scratch: Vec<u8>,
}

impl Peer {
    /// A client connecting from `local` to `remote` at time zero.
    pub(crate) fn client(
        cfg: Config,
        local: SocketAddr,
        remote: SocketAddr,
        iss: u32,
        app: App,
    ) -> Peer {
        let mut peer = Peer::new(Role::Client, cfg, local, iss, app);
        peer.remote = remote;
        peer.conn = Some(Connection::connect(cfg, local, remote, peer.iss, Instant::ZERO));
        peer
    }

    /// An origin on `local` accepting the first SYN (`Role::Server`) or refusing all.
    pub(crate) fn origin(role: Role, cfg: Config, local: SocketAddr, iss: u32, app: App) -> Peer {
        Peer::new(role, cfg, local, iss, app)
    }

    fn new(role: Role, cfg: Config, local: SocketAddr, iss: u32, app: App) -> Peer {
        Peer {
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
            log: Log::default(),
            extra: VecDeque::new(),
            seg: vec![0u8; usize::from(cfg.mss) + 120],
            scratch: vec![0u8; 64 * 1024],
        }
    }

    /// The connection reached its end (CLOSED or TIME-WAIT).
    pub(crate) fn finished(&self) -> bool {
        self.conn.as_ref().is_some_and(|c| c.is_closed() || c.state() == State::TimeWait)
    }

    /// The connection reached its end and the application is done with it: it read the
    /// whole stream, or the connection ended abnormally.
    pub(crate) fn done(&self) -> bool {
        let abnormal = self.log.closed.is_some_and(|c| c.1 != CloseReason::Closed);
        self.finished() && (self.log.read_all_at.is_some() || abnormal)
    }

    /// CLOSED before the origin's first SYN.
    pub(crate) fn state(&self) -> State {
        self.conn.as_ref().map_or(State::Closed, Connection::state)
    }

    fn on_segment(&mut self, now: Instant, remote: SocketAddr, seg: &TcpRepr<'_>) {
        let is_syn = seg.flags.contains(TcpFlags::SYN) && !seg.flags.contains(TcpFlags::ACK);
        if is_syn && self.role != Role::Client {
            self.log.first_syn_at.get_or_insert(now);
        }
        if self.conn.is_none() && self.role == Role::Server && is_syn {
            self.remote = remote;
            let conn = Connection::accept(self.cfg, self.local, remote, self.iss, seg, now);
            self.conn = Some(conn);
            return;
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
            if let Some(ConnEvent::Closed(reason)) = conn.poll_event() {
                self.log.closed = Some((now, reason));
            }
            return;
        }
        self.write(now);
    }

    fn read(&mut self, now: Instant) {
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
        if self.tx_queued == self.app.tx_len {
            self.log.sent_all_at.get_or_insert(now);
            if !self.closed_by_app && !self.app.hold_open {
                self.closed_by_app = true;
                conn.close(now);
            }
        }
    }

    /// The slow reader's next read, while it is still reading.
    fn read_deadline(&self) -> Option<Instant> {
        let open = self.conn.as_ref().is_some_and(|c| !c.is_closed());
        (self.read_wakeup && open && !self.aborted).then_some(self.next_read)
    }
}

impl Node for Peer {
    fn handle_frame(&mut self, now: Instant, _iface: IfaceId, frame: &[u8]) {
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
        if let Some(conn) =
            self.conn.as_mut().filter(|c| c.poll_timeout().is_some_and(|t| t <= now))
        {
            conn.handle_timeout(now);
        }
        self.app_step(now);
    }

    fn poll_timeout(&self) -> Option<Instant> {
        let conn = self.conn.as_ref().and_then(Connection::poll_timeout);
        [conn, self.read_deadline()].into_iter().flatten().min()
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
