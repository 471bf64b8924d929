//! One client connection spliced to one origin connection.
//!
//! Bytes move zero-copy from one side's receive buffer ([`Connection::readable`]) into the
//! other side's send buffer ([`Connection::send`]) and are consumed only once taken, so the
//! data held per direction is bounded by the two buffers of the connections, and a stalled
//! reader closes the far side's receive window (backpressure) instead of growing memory.

use super::client::{Client, Stream, Tuple};
use crate::mptcp::conn::SubflowId;
use crate::tcp::{CloseReason, ConnEvent, Connection, State, Transmit};
use crate::time::{Duration, Instant};
use crate::wire::tcp::TcpRepr;

/// The splice's timeouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpliceConfig {
    /// How long one origin connect attempt may take before it counts as failed.
    pub connect_timeout: Duration,
    /// How long the pair may move no byte either way before both sides are reset. `None`:
    /// forever.
    pub idle_timeout: Option<Duration>,
    /// Send a PROXY protocol v2 header ([`pp2`](super::pp2)) first on the origin connection.
    pub proxy_protocol: bool,
    /// The origin connections' user timeout ([`tcp::Config::user_timeout`]): an origin that
    /// leaves data unacknowledged this long is given up and the client reset
    /// ([`SpliceEnd::OriginTimeout`]). The shard applies it when it opens the connection;
    /// `None` keeps the origin config's own.
    ///
    /// [`tcp::Config::user_timeout`]: crate::tcp::Config::user_timeout
    pub origin_timeout: Option<Duration>,
}

impl Default for SpliceConfig {
    /// 3 s to connect, 5 minutes idle, the origin config's user timeout.
    fn default() -> Self {
        SpliceConfig {
            connect_timeout: Duration::from_secs(3),
            idle_timeout: Some(Duration::from_secs(300)),
            proxy_protocol: false,
            origin_timeout: None,
        }
    }
}

/// One of the two connections of a splice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The connection accepted from the client.
    Client,
    /// The connection opened toward the origin.
    Origin,
}

/// Why an origin connect attempt failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnectFailure {
    /// The origin answered the SYN with a RST.
    Refused,
    /// SYN retransmissions went unanswered (the connection's own give-up).
    TimedOut,
    /// The splice's connect timeout passed first.
    ConnectTimeout,
    /// The connection ended otherwise before it was established.
    Reset,
}

/// How a splice ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SpliceEnd {
    /// Both directions were closed with FINs.
    Closed,
    /// The client side was reset, aborted or timed out; the origin side was reset.
    ClientReset,
    /// The origin side was reset after connecting; the client side was reset.
    OriginReset,
    /// The origin side gave up after connecting (RFC 9293 §3.8.3 R2: its user timeout,
    /// retransmissions or keepalives went unanswered); the client side was reset.
    OriginTimeout,
    /// No origin could be reached; the client side was reset.
    OriginUnreachable(ConnectFailure),
    /// No byte moved for the idle timeout; both sides were reset.
    IdleTimeout,
    /// The owner aborted both sides ([`Splice::abort`]: the appliance is stopping).
    Aborted,
}

/// What [`Splice::pump`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SpliceStatus {
    /// The origin connection is being opened; client data waits in the client's receive
    /// buffer.
    Connecting,
    /// Both sides are connected and bytes move.
    Open,
    /// The origin connect attempt failed: call [`Splice::retry_origin`] or
    /// [`Splice::give_up`]. Reported until one of them is called.
    OriginFailed(ConnectFailure),
    /// Both connections are CLOSED or in TIME-WAIT. Keep polling transmits (a RST may be
    /// due) and drive the connections until [`Splice::can_drop`].
    Finished(SpliceEnd),
}

/// A client connection and an origin connection, spliced.
#[derive(Debug)]
pub struct Splice {
    cfg: SpliceConfig,
    client: Client,
    origin: Connection,
    /// The origin connection reached ESTABLISHED (or later).
    origin_connected: bool,
    /// When the splice was made (the client connection accepted).
    created: Instant,
    /// From `created` to the origin connection's establishment, until taken.
    setup: Option<Duration>,
    /// When the current origin attempt started.
    origin_started: Instant,
    /// When a byte last moved (or the origin connected).
    last_active: Instant,
    /// A failed origin attempt waiting for the owner's decision.
    failed: Option<ConnectFailure>,
    /// How the splice ends, once decided.
    end: Option<SpliceEnd>,
    /// The side finished cleanly (TIME-WAIT, or CLOSED after both FINs): both of its
    /// directions are complete, so a later RST (one answering a TIME-WAIT ACK, say) changes
    /// nothing for the other side.
    client_done: bool,
    origin_done: bool,
    /// Bytes moved client to origin, and origin to client.
    to_origin: u64,
    to_client: u64,
}

impl Splice {
    /// Splices `client` (an accepted TCP connection or an MPTCP connection) with `origin`
    /// (just opened with [`Connection::connect`]). Call [`pump`](Self::pump) and the
    /// transmits after.
    pub fn new(
        cfg: SpliceConfig,
        client: impl Into<Client>,
        origin: Connection,
        now: Instant,
    ) -> Splice {
        Splice {
            cfg,
            client: client.into(),
            origin,
            origin_connected: false,
            created: now,
            setup: None,
            origin_started: now,
            last_active: now,
            failed: None,
            end: None,
            client_done: false,
            origin_done: false,
            to_origin: 0,
            to_client: 0,
        }
    }

    /// The client side.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The client side, mutably (to attach an MPTCP subflow).
    pub fn client_mut(&mut self) -> &mut Client {
        &mut self.client
    }

    /// The origin connection.
    pub fn origin(&self) -> &Connection {
        &self.origin
    }

    /// Ends the origin connection's TIME-WAIT early when it has lasted at least
    /// `at_least` and timestamps are on (RFC 6191), so its 4-tuple can be reused; returns
    /// whether it did.
    pub fn reuse_origin_tuple(&mut self, now: Instant, at_least: Duration) -> bool {
        let old_enough = self.origin.time_wait_elapsed(now).is_some_and(|d| d >= at_least);
        if old_enough && self.origin.timestamps_on() {
            self.origin.end_time_wait(now);
            return true;
        }
        false
    }

    /// Every TCP connection of the splice with its side: the client's (each subflow's, for
    /// MPTCP), then the origin's.
    pub fn connections(&self) -> impl Iterator<Item = (Side, &Connection)> + '_ {
        let client: Vec<&Connection> = match &self.client {
            Client::Tcp(c) => vec![c],
            Client::Mptcp(m) => m.subflows().map(|(_, s)| s.tcp()).collect(),
        };
        let client = client.into_iter().map(|c| (Side::Client, c));
        client.chain(std::iter::once((Side::Origin, &self.origin)))
    }

    /// The connection setup time, once: from the client connection's acceptance to the
    /// origin connection's establishment (retries on other origins included).
    pub fn take_setup_time(&mut self) -> Option<Duration> {
        self.setup.take()
    }

    /// When the splice was made (the client connection accepted).
    pub fn created(&self) -> Instant {
        self.created
    }

    /// Whether the origin connection reached ESTABLISHED (or later).
    pub fn origin_connected(&self) -> bool {
        self.origin_connected
    }

    /// Bytes moved so far: (client to origin, origin to client).
    pub fn moved(&self) -> (u64, u64) {
        (self.to_origin, self.to_client)
    }

    /// Heap bytes of both connections: never more than the two connections' configured send
    /// and receive buffers together.
    pub fn heap_bytes(&self) -> usize {
        self.client.heap_bytes() + self.origin.heap_bytes()
    }

    /// Tells both connections whether the owner's buffer budget is under pressure: their
    /// windows and send limits fall to [`MIN_BUFFER`](crate::tcp::MIN_BUFFER), so the splice
    /// moves no more than that into a slow reader's send buffer (docs/operations.md,
    /// "Memory model").
    pub fn set_memory_pressure(&mut self, on: bool) {
        self.client.set_memory_pressure(on);
        self.origin.set_memory_pressure(on);
    }

    /// Whether both connections are CLOSED (TIME-WAIT over) and the splice can be dropped
    /// once [`poll_transmit`](Self::poll_transmit) returned `None`.
    pub fn can_drop(&self) -> bool {
        self.client.is_closed() && self.origin.is_closed() && self.failed.is_none()
    }

    /// Processes a segment of `side`'s 4-tuple (checksum verified; `sub` names the client's
    /// MPTCP subflow), then [`pump`](Self::pump)s.
    pub fn handle_segment(
        &mut self,
        now: Instant,
        side: Side,
        sub: SubflowId,
        seg: &TcpRepr<'_>,
    ) -> SpliceStatus {
        match side {
            Side::Client => self.client.handle_segment(now, sub, seg),
            Side::Origin => {
                self.origin.handle_segment(now, seg);
            }
        }
        self.pump(now)
    }

    /// The earliest time [`handle_timeout`](Self::handle_timeout) must be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let own = self.own_deadline();
        [self.client.poll_timeout(), self.origin.poll_timeout(), own].into_iter().flatten().min()
    }

    /// Runs the connections' timers and the splice's own (connect, idle) due by `now`, then
    /// [`pump`](Self::pump)s.
    pub fn handle_timeout(&mut self, now: Instant) -> SpliceStatus {
        self.client.handle_timeout(now);
        if self.origin.poll_timeout().is_some_and(|at| at <= now) {
            self.origin.handle_timeout(now);
        }
        self.pump(now)
    }

    /// The next segment of either side, written into `buf` (TCP header on), with the side
    /// and the 4-tuple whose IP header goes in front. Call until `None` after every call
    /// above.
    pub fn poll_transmit(
        &mut self,
        now: Instant,
        buf: &mut [u8],
    ) -> Option<(Side, Tuple, Transmit)> {
        if let Some((tuple, t)) = self.client.poll_transmit(now, buf) {
            return Some((Side::Client, tuple, t));
        }
        self.poll_transmit_side(now, Side::Origin, buf).map(|(tuple, t)| (Side::Origin, tuple, t))
    }

    /// The next segment of `side` only, written into `buf` like
    /// [`poll_transmit`](Self::poll_transmit): for an owner that writes each side's frames
    /// straight into that side's interface buffers.
    pub fn poll_transmit_side(
        &mut self,
        now: Instant,
        side: Side,
        buf: &mut [u8],
    ) -> Option<(Tuple, Transmit)> {
        match side {
            Side::Client => self.client.poll_transmit(now, buf),
            Side::Origin => {
                let t = self.origin.poll_transmit(now, buf, &mut ())?;
                Some(((self.origin.local(), self.origin.remote()), t))
            }
        }
    }

    /// Replaces a failed origin connection with a new attempt, after
    /// [`SpliceStatus::OriginFailed`].
    pub fn retry_origin(&mut self, origin: Connection, now: Instant) {
        self.origin = origin;
        self.origin_connected = false;
        self.origin_started = now;
        self.failed = None;
    }

    /// Gives up on the origin after [`SpliceStatus::OriginFailed`]: the client is reset.
    pub fn give_up(&mut self, now: Instant) {
        if let Some(failure) = self.failed.take() {
            self.end.get_or_insert(SpliceEnd::OriginUnreachable(failure));
            self.client.abort(now);
        }
    }

    /// Resets both sides now (RFC 9293 §3.10.5 ABORT): the appliance is stopping and will not
    /// carry the connection further. Keep polling transmits to send the RSTs.
    pub fn abort(&mut self, now: Instant) {
        self.failed = None;
        self.end.get_or_insert(SpliceEnd::Aborted);
        self.client.abort(now);
        self.origin.abort(now);
    }

    /// Moves what can move and applies closes, resets and timeouts; call after every input
    /// to either connection (the methods above do). Returns where the splice stands. The
    /// splice takes the connections' events ([`Connection::poll_event`]); the owner learns
    /// what happened from the status.
    pub fn pump(&mut self, now: Instant) -> SpliceStatus {
        self.drain_events(now);
        self.client_done |= self.client.done_cleanly();
        self.origin_done |= done_cleanly(&self.origin);
        if self.failed.is_none() && self.end.is_none() {
            self.check_ends(now);
        }
        if self.failed.is_none() && self.end.is_none() && self.origin_connected {
            self.forward(now);
            self.check_idle(now);
        }
        self.status()
    }

    /// Takes the connections' events; the origin's `Connected` starts the open phase.
    fn drain_events(&mut self, now: Instant) {
        self.client.drain_events();
        while let Some(ev) = self.origin.poll_event() {
            if ev == ConnEvent::Connected {
                self.origin_connected = true;
                self.setup = Some(now.saturating_duration_since(self.created));
                self.last_active = now;
                self.send_proxy_header();
            }
        }
    }

    /// The PROXY protocol header goes first on a just-connected origin connection; its send
    /// buffer is empty then, so the whole header fits.
    fn send_proxy_header(&mut self) {
        if !self.cfg.proxy_protocol {
            return;
        }
        let mut header = [0u8; super::pp2::MAX_LEN];
        let (service, client) = self.client.tuple();
        if let Some(len) = super::pp2::header(client, service, &mut header) {
            self.origin.send(&header[..len]);
        }
    }

    /// Connect failures and timeouts, and reset propagation (RFC 9293 §3.10.5 ABORT).
    fn check_ends(&mut self, now: Instant) {
        if !self.client_done && self.client.close_reason().is_some_and(|r| r != CloseReason::Closed)
        {
            self.origin.abort(now);
            self.end = Some(SpliceEnd::ClientReset);
            return;
        }
        if !self.origin_connected {
            self.check_connect(now);
            return;
        }
        let end = match self.origin.close_reason() {
            _ if self.origin_done => return,
            None | Some(CloseReason::Closed) => return,
            Some(CloseReason::TimedOut) => SpliceEnd::OriginTimeout,
            Some(_) => SpliceEnd::OriginReset,
        };
        self.client.abort(now);
        self.end = Some(end);
    }

    /// An origin that ended before connecting, or a connect attempt past its timeout.
    fn check_connect(&mut self, now: Instant) {
        let failure = match self.origin.close_reason() {
            Some(CloseReason::Refused) => ConnectFailure::Refused,
            Some(CloseReason::TimedOut) => ConnectFailure::TimedOut,
            Some(_) => ConnectFailure::Reset,
            None if now >= self.origin_started + self.cfg.connect_timeout => {
                self.origin.abort(now);
                ConnectFailure::ConnectTimeout
            }
            None => return,
        };
        self.failed = Some(failure);
    }

    /// Resets both sides once no byte has moved for the idle timeout.
    fn check_idle(&mut self, now: Instant) {
        if self.idle_deadline().is_some_and(|at| now >= at) {
            self.client.abort(now);
            self.origin.abort(now);
            self.end = Some(SpliceEnd::IdleTimeout);
        }
    }

    /// Both directions: bytes, then the half-close once a side's stream has ended.
    fn forward(&mut self, now: Instant) {
        let up = copy(&mut self.client, &mut self.origin);
        let down = copy(&mut self.origin, &mut self.client);
        self.to_origin += up as u64;
        self.to_client += down as u64;
        if up + down > 0 {
            self.last_active = now;
        }
        // RFC 9293 §3.10.4: the FIN follows the data already queued. A read-closed side has
        // delivered its FIN in order and all its bytes were taken.
        if self.client.is_read_closed() {
            self.origin.close(now);
        }
        if self.origin.is_read_closed() {
            self.client.close(now);
        }
    }

    fn own_deadline(&self) -> Option<Instant> {
        if self.failed.is_some() || self.end.is_some() {
            return None;
        }
        if self.origin_connected {
            self.idle_deadline()
        } else {
            Some(self.origin_started + self.cfg.connect_timeout)
        }
    }

    fn idle_deadline(&self) -> Option<Instant> {
        self.cfg.idle_timeout.map(|idle| self.last_active + idle)
    }

    fn status(&self) -> SpliceStatus {
        if let Some(failure) = self.failed {
            return SpliceStatus::OriginFailed(failure);
        }
        if self.client.ended() && ended(&self.origin) {
            return SpliceStatus::Finished(self.end.unwrap_or(SpliceEnd::Closed));
        }
        if self.origin_connected { SpliceStatus::Open } else { SpliceStatus::Connecting }
    }
}

/// CLOSED or TIME-WAIT: nothing more will pass.
pub(super) fn ended(conn: &Connection) -> bool {
    conn.is_closed() || conn.state() == State::TimeWait
}

/// TIME-WAIT, or CLOSED after both FINs.
fn done_cleanly(conn: &Connection) -> bool {
    conn.state() == State::TimeWait || conn.close_reason() == Some(CloseReason::Closed)
}

/// Moves as many readable bytes of `from` as the send buffer of `to` takes, without an
/// intermediate copy, and consumes exactly what was taken. Returns the bytes moved.
fn copy(from: &mut impl Stream, to: &mut impl Stream) -> usize {
    let mut moved = 0;
    loop {
        let (first, _) = from.readable();
        let n = first.len().min(to.send_capacity());
        if n == 0 {
            return moved;
        }
        let taken = to.send(&first[..n]);
        from.consume(taken);
        moved += taken;
        if taken == 0 {
            return moved;
        }
    }
}
