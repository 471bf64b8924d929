//! A passive-open endpoint for one local address and port, sans I/O: the LISTEN state of
//! RFC 9293 §3.10.7.2 for every segment that matches no connection, a bounded table of
//! half-open connections, SYN cookies when it is full (RFC 4987 §3.6), and an accept queue.
//!
//! # Design
//!
//! A SYN creates a [`Connection`] at once with [`Connection::accept`] and keeps it in the
//! half-open table until it is ESTABLISHED: the connection already knows how to send and
//! retransmit its SYN,ACK, answer a retransmitted SYN, and give up after
//! [`ListenerConfig::synack_retries`]. Its send and receive buffers are allocated lazily by the
//! first byte (see [`buffer`](super::buffer)), so a half-open entry allocates no buffer: it
//! costs `size_of::<Connection>()` (1200 bytes on x86-64 today) plus its 64-byte key, a flag
//! and B-tree node overhead. [`Listener::HALF_OPEN_ENTRY_BYTES`] bounds it at twice the
//! entry (3472 bytes today), so the default 1024 entries stay under 3.5 MiB; a compact
//! entry rebuilt into a connection on the ACK would be smaller, at the cost of
//! re-implementing SYN,ACK retransmission here. The table is a `BTreeMap` (no hasher seeded
//! from the OS, which the pipeline never reads); every operation on it is O(log n) except
//! [`Listener::poll_timeout`] and [`Listener::handle_timeout`], which scan the at most
//! `half_open_max` entries.
//!
//! When the table is full (or its size is 0), a SYN is answered with a cookie SYN,ACK written
//! by the listener itself and nothing is kept (RFC 4987 §3.6); the ACK completing that
//! handshake is verified and turned into a connection by [`Connection::from_cookie`]. A
//! cookie can hold window scale and SACK-permitted only with timestamps (in the TSval's low
//! bits); without them the SYN,ACK offers neither.
//!
//! Completed connections wait in a bounded accept queue for [`Listener::poll_accept`]. When
//! the queue is full the ACK completing a handshake is dropped (counted): a half-open
//! connection stays and retransmits its SYN,ACK, as Linux does by default.
//!
//! Replies the listener writes itself (RSTs, cookie SYN,ACKs) wait in a bounded queue: when
//! it is full, further replies are dropped and counted, so no flood grows memory.
//!
//! Driving it:
//! - [`handle_segment`](Listener::handle_segment) for every segment (checksum verified) to
//!   this port that matches no connection the owner holds;
//! - [`handle_timeout`](Listener::handle_timeout) once [`poll_timeout`](Listener::poll_timeout)
//!   has passed;
//! - [`poll_transmit`](Listener::poll_transmit) until `None` after each of those calls;
//! - [`poll_accept`](Listener::poll_accept) until `None` after each segment; the owner then
//!   routes the connection's segments to it and drives it.

mod cookie;
mod half_open;
mod reply;

#[cfg(test)]
pub(crate) mod testnet;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;

pub use reply::AddressedTransmit;
pub(crate) use reply::{Reply, ReplyOptions, ReplyQueue};

use self::half_open::HalfOpen;
use super::config::Config;
use super::conn::Connection;
use super::hooks::{SynAckOptions, SynNote};
use super::isn::IsnGenerator;
use super::syncookie::SynCookies;
use crate::time::Instant;
use crate::wire::tcp::{TcpFlags, TcpRepr};

/// A listener's tunables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListenerConfig {
    /// The configuration of the connections it creates.
    pub tcp: Config,
    /// Largest number of half-open connections kept; past it SYNs get cookies. 0 means
    /// cookies always.
    pub half_open_max: usize,
    /// Largest number of established connections waiting for [`Listener::poll_accept`].
    pub accept_backlog: usize,
    /// Largest number of RSTs and cookie SYN,ACKs waiting for [`Listener::poll_transmit`].
    pub reply_queue: usize,
    /// Answer SYNs with cookies when the half-open table is full (otherwise drop them).
    pub syn_cookies: bool,
    /// SYN,ACK retransmissions before a half-open connection is dropped (Linux's
    /// `tcp_synack_retries`, 5: about 63 s with backoff from 1 s).
    pub synack_retries: u32,
}

impl Default for ListenerConfig {
    fn default() -> Self {
        ListenerConfig {
            tcp: Config::default(),
            half_open_max: 1024,
            accept_backlog: 128,
            reply_queue: 256,
            syn_cookies: true,
            synack_retries: 5,
        }
    }
}

/// Why a segment was dropped without an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// A RST matching no connection (RFC 9293 §3.10.7.1, §3.10.7.2: ignored).
    Rst,
    /// Neither SYN, ACK nor RST in LISTEN (§3.10.7.2 "fourth, other control or text").
    NoSynNoAck,
    /// The half-open table is full and SYN cookies are off.
    HalfOpenFull,
    /// The accept queue is full: the handshake's ACK is dropped.
    AcceptQueueFull,
    /// The reply queue is full: the answer (RST or SYN,ACK) was not queued.
    ReplyQueueFull,
    /// A valid cookie ACK that still did not establish a connection.
    CookieNotEstablished,
}

/// What [`Listener::handle_segment`] did with a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ListenerOutcome {
    /// A SYN created a half-open connection; its SYN,ACK is due.
    HalfOpen,
    /// A SYN was answered with a SYN cookie; nothing was kept.
    CookieSent,
    /// A half-open or not yet accepted connection took the segment.
    Delivered,
    /// A connection is established and waits for [`Listener::poll_accept`].
    Established,
    /// A RST answers the segment (§3.10.7.1 / §3.10.7.2, or a refused cookie).
    Reset,
    /// The segment was dropped.
    Dropped(DropReason),
}

/// A listener's counters, one per outcome and drop reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ListenerStats {
    /// SYNs that reached LISTEN.
    pub syns: u64,
    /// Half-open connections created.
    pub half_open_created: u64,
    /// Half-open connections that timed out (SYN,ACK retransmissions exhausted).
    pub half_open_expired: u64,
    /// Half-open connections closed by the peer (a RST) or otherwise.
    pub half_open_closed: u64,
    /// Cookie SYN,ACKs queued.
    pub cookies_sent: u64,
    /// Cookie ACKs verified.
    pub cookies_valid: u64,
    /// ACKs in LISTEN whose cookie did not verify (forged, modified or stale), reset.
    pub cookies_invalid: u64,
    /// Connections that reached the accept queue.
    pub established: u64,
    /// RSTs queued (forged or stale ACKs, SYN,ACKs, closed port).
    pub resets: u64,
    /// Segments for another address or port (a closed port, §3.10.7.1).
    pub closed_port: u64,
    /// RSTs ignored.
    pub dropped_rst: u64,
    /// Segments without SYN, ACK or RST.
    pub dropped_no_syn_no_ack: u64,
    /// SYNs dropped: table full and cookies off.
    pub dropped_half_open_full: u64,
    /// Handshake ACKs dropped: accept queue full.
    pub dropped_accept_queue_full: u64,
    /// Replies dropped: reply queue full (cookie SYN,ACKs and RSTs).
    pub dropped_reply_queue_full: u64,
    /// Of those, cookie SYN,ACKs: new SYNs left unanswered.
    pub dropped_syn_reply_queue_full: u64,
    /// Valid cookie ACKs that did not establish a connection.
    pub dropped_cookie_not_established: u64,
}

/// Table key: (local, remote).
type Key = (SocketAddr, SocketAddr);

/// A passive-open endpoint for one local address and port.
#[derive(Debug)]
pub struct Listener {
    cfg: ListenerConfig,
    /// The config of the connections it makes, shared by them: a half-open one's (SYN,ACK
    /// retries `synack_retries`), and one rebuilt from a cookie (`cfg.tcp` as it is).
    tcp: [Arc<Config>; 2],
    local: SocketAddr,
    isn: IsnGenerator,
    cookies: SynCookies,
    half_open: BTreeMap<Key, HalfOpen>,
    /// Half-open keys that may have something to send, each at most once.
    dirty: VecDeque<Key>,
    accept: VecDeque<Connection>,
    /// Per queued connection, in the same order: whether its SYN,ACKs carried upper-layer
    /// options (so the owner can tell a third ACK that lost them, RFC 8684 §3.1).
    offered: VecDeque<Option<SynNote>>,
    replies: ReplyQueue,
    stats: ListenerStats,
    /// No later than the earliest timer of any half-open or queued connection (`None`: no
    /// timer armed). Kept by taking the minimum with every connection's deadline after each
    /// change to it, O(1); only [`handle_timeout`](Self::handle_timeout) scans the table and
    /// makes it exact again. So a SYN flood costs no scan per SYN.
    timer_hint: Option<Instant>,
}

impl Listener {
    /// Upper bound of the memory one half-open entry takes: the connection (no buffers), its
    /// key, its place in the dirty queue, and B-tree node overhead (estimated at the size of
    /// an entry again, which is generous).
    pub const HALF_OPEN_ENTRY_BYTES: usize =
        2 * (core::mem::size_of::<Key>() + core::mem::size_of::<HalfOpen>());

    /// A listener on `local`. `isn` makes the ISNs of half-open connections (RFC 6528),
    /// `cookies` the SYN cookies; both must be keyed with secret random keys.
    pub fn new(
        cfg: ListenerConfig,
        local: SocketAddr,
        isn: IsnGenerator,
        cookies: SynCookies,
    ) -> Listener {
        let half_open = Config { syn_retries: cfg.synack_retries, ..cfg.tcp };
        Listener {
            replies: ReplyQueue::new(cfg.reply_queue),
            tcp: [Arc::new(half_open), Arc::new(cfg.tcp)],
            cfg,
            local,
            isn,
            cookies,
            half_open: BTreeMap::new(),
            dirty: VecDeque::new(),
            accept: VecDeque::new(),
            offered: VecDeque::new(),
            stats: ListenerStats::default(),
            timer_hint: None,
        }
    }

    /// Its configuration.
    pub fn config(&self) -> &ListenerConfig {
        &self.cfg
    }

    /// Replaces the limits of a running listener (a configuration reload): `half_open_max`,
    /// `accept_backlog` and `syn_cookies` apply from the next segment; connections it holds
    /// keep theirs. Returns false, changing nothing, when `cfg` differs otherwise (the
    /// connections' `tcp`, `reply_queue`, `synack_retries`: a new listener is needed).
    pub fn set_limits(&mut self, cfg: ListenerConfig) -> bool {
        let same = ListenerConfig {
            half_open_max: self.cfg.half_open_max,
            accept_backlog: self.cfg.accept_backlog,
            syn_cookies: self.cfg.syn_cookies,
            ..cfg
        };
        if same != self.cfg {
            return false;
        }
        self.cfg = cfg;
        true
    }

    /// The address and port listened on.
    pub fn local(&self) -> SocketAddr {
        self.local
    }

    /// Counters.
    pub fn stats(&self) -> &ListenerStats {
        &self.stats
    }

    /// Half-open connections held now (never above `half_open_max`).
    pub fn half_open_len(&self) -> usize {
        self.half_open.len()
    }

    /// Connections waiting for [`poll_accept`](Self::poll_accept) (never above the backlog).
    pub fn accept_queue_len(&self) -> usize {
        self.accept.len()
    }

    /// Replies waiting for [`poll_transmit`](Self::poll_transmit) (never above the bound).
    pub fn reply_queue_len(&self) -> usize {
        self.replies.len()
    }

    /// Whether a half-open or not yet accepted connection from `remote` exists here.
    pub fn knows(&self, remote: SocketAddr) -> bool {
        self.half_open.contains_key(&(self.local, remote))
            || self.accept.iter().any(|c| c.remote() == remote)
    }

    /// Processes a segment from `remote` to `local` that matches no connection the owner
    /// holds, after its checksum was verified. Then call [`poll_transmit`](Self::poll_transmit)
    /// and [`poll_accept`](Self::poll_accept).
    pub fn handle_segment(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        seg: &TcpRepr<'_>,
    ) -> ListenerOutcome {
        self.handle_segment_with(now, local, remote, seg, SynAckOptions::EMPTY)
    }

    /// As [`handle_segment`](Self::handle_segment); a new SYN's SYN,ACKs (kept or cookie)
    /// carry `extra` after the listener's own options. A retransmitted SYN of a half-open
    /// connection keeps the options first given.
    pub fn handle_segment_with(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        seg: &TcpRepr<'_>,
        extra: SynAckOptions,
    ) -> ListenerOutcome {
        if local != self.local {
            self.stats.closed_port += 1;
            return self.closed(local, remote, seg);
        }
        if let Some(conn) = self.accept.iter_mut().find(|c| c.remote() == remote) {
            conn.handle_segment(now, seg);
            let deadline = conn.poll_timeout();
            self.note_deadline(deadline);
            return ListenerOutcome::Delivered;
        }
        if self.half_open.contains_key(&(local, remote)) {
            return self.deliver_half_open(now, (local, remote), seg);
        }
        self.listen(now, local, remote, seg, extra)
    }

    /// RFC 9293 §3.10.7.1 (CLOSED): a RST is dropped, anything else answered with a RST.
    fn closed(
        &mut self,
        local: SocketAddr,
        remote: SocketAddr,
        seg: &TcpRepr<'_>,
    ) -> ListenerOutcome {
        if seg.flags.contains(TcpFlags::RST) {
            self.stats.dropped_rst += 1;
            return ListenerOutcome::Dropped(DropReason::Rst);
        }
        self.reset(Reply::reset_for(local, remote, seg))
    }

    /// RFC 9293 §3.10.7.2 (LISTEN).
    fn listen(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        seg: &TcpRepr<'_>,
        extra: SynAckOptions,
    ) -> ListenerOutcome {
        let flags = seg.flags;
        // "first, check for a RST": ignore it.
        if flags.contains(TcpFlags::RST) {
            self.stats.dropped_rst += 1;
            return ListenerOutcome::Dropped(DropReason::Rst);
        }
        // "second, check for an ACK": <SEQ=SEG.ACK><CTL=RST>, unless it carries a valid
        // cookie (RFC 4987 §3.6).
        if flags.contains(TcpFlags::ACK) {
            if !flags.contains(TcpFlags::SYN) && self.cfg.syn_cookies {
                return self.cookie_ack(now, local, remote, seg);
            }
            return self.reset(Reply::reset_for(local, remote, seg));
        }
        // "third, check for a SYN".
        if flags.contains(TcpFlags::SYN) {
            return self.on_syn(now, local, remote, seg, extra);
        }
        // "fourth, other control or text": drop.
        self.stats.dropped_no_syn_no_ack += 1;
        ListenerOutcome::Dropped(DropReason::NoSynNoAck)
    }

    /// A new SYN: a half-open connection if there is room, else a cookie.
    fn on_syn(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        seg: &TcpRepr<'_>,
        extra: SynAckOptions,
    ) -> ListenerOutcome {
        self.stats.syns += 1;
        if self.half_open.len() < self.cfg.half_open_max {
            let iss = self.isn.isn(now, local, remote);
            let cfg = Arc::clone(&self.tcp[0]);
            let conn = Connection::accept(cfg, local, remote, iss, seg, now);
            self.insert_half_open((local, remote), conn, extra);
            self.stats.half_open_created += 1;
            return ListenerOutcome::HalfOpen;
        }
        if !self.cfg.syn_cookies {
            self.stats.dropped_half_open_full += 1;
            return ListenerOutcome::Dropped(DropReason::HalfOpenFull);
        }
        let reply = self.cookie_syn_ack(now, local, remote, seg, extra);
        if !self.replies.push(reply) {
            self.stats.dropped_reply_queue_full += 1;
            self.stats.dropped_syn_reply_queue_full += 1;
            return ListenerOutcome::Dropped(DropReason::ReplyQueueFull);
        }
        self.stats.cookies_sent += 1;
        ListenerOutcome::CookieSent
    }

    /// Queues a RST.
    fn reset(&mut self, reply: Reply) -> ListenerOutcome {
        if !self.replies.push(reply) {
            self.stats.dropped_reply_queue_full += 1;
            return ListenerOutcome::Dropped(DropReason::ReplyQueueFull);
        }
        self.stats.resets += 1;
        ListenerOutcome::Reset
    }

    /// Hands a connection to the accept queue; `offered`: its SYN,ACKs carried extra options,
    /// with the note they remembered of the SYN.
    fn enqueue_accept(&mut self, conn: Connection, offered: Option<SynNote>) -> ListenerOutcome {
        self.note_deadline(conn.poll_timeout());
        self.accept.push_back(conn);
        self.offered.push_back(offered);
        self.stats.established += 1;
        ListenerOutcome::Established
    }

    /// The accept queue has no room.
    fn accept_full(&self) -> bool {
        self.accept.len() >= self.cfg.accept_backlog
    }

    /// The oldest established connection, to be driven by the owner from now on: it may have
    /// a segment to send (an ACK of data that came with the handshake), so call its
    /// `poll_transmit`.
    pub fn poll_accept(&mut self) -> Option<Connection> {
        self.poll_accept_offered().map(|(conn, _)| conn)
    }

    /// As [`poll_accept`](Self::poll_accept), with whether the connection's SYN,ACKs carried
    /// the extra options given to [`handle_segment_with`](Self::handle_segment_with) and the
    /// [`SynNote`] they held: `Some` when they did (for a cookie, when the cookie recorded an
    /// MPTCP offer; its note keeps the version but no key).
    pub fn poll_accept_offered(&mut self) -> Option<(Connection, Option<SynNote>)> {
        let conn = self.accept.pop_front()?;
        Some((conn, self.offered.pop_front().flatten()))
    }

    /// Writes the next segment to send into `buf` (header and options; the caller puts the IP
    /// header for `local` -> `remote` in front) and returns what it wrote. Call until `None`
    /// after every [`handle_segment`](Self::handle_segment) and
    /// [`handle_timeout`](Self::handle_timeout). `buf` should hold at least 60 bytes plus an
    /// MSS (a queued connection may send data).
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<AddressedTransmit> {
        if let Some(t) = self.replies.poll(buf) {
            return Some(t);
        }
        if let Some(t) = self.poll_half_open(now, buf) {
            return Some(t);
        }
        let (transmit, deadline) = self.accept.iter_mut().find_map(|conn| {
            let transmit = conn.poll_transmit(now, buf, &mut ())?;
            let t = AddressedTransmit { local: conn.local(), remote: conn.remote(), transmit };
            Some((t, conn.poll_timeout()))
        })?;
        self.note_deadline(deadline);
        Some(transmit)
    }

    /// The earliest time [`handle_timeout`](Self::handle_timeout) must be called, if any:
    /// O(1), and possibly earlier than needed (a call then finds nothing due and makes the
    /// answer exact).
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timer_hint
    }

    /// Lowers the timer hint to a connection's (new) deadline.
    pub(super) fn note_deadline(&mut self, deadline: Option<Instant>) {
        if let Some(at) = deadline {
            self.timer_hint = Some(self.timer_hint.map_or(at, |hint| hint.min(at)));
        }
    }

    /// Runs the timers of half-open and queued connections due by `now` (SYN,ACK
    /// retransmissions, giving up). Then call [`poll_transmit`](Self::poll_transmit).
    pub fn handle_timeout(&mut self, now: Instant) {
        self.half_open_timeouts(now);
        for conn in &mut self.accept {
            if conn.poll_timeout().is_some_and(|at| at <= now) {
                conn.handle_timeout(now);
            }
        }
        let half_open = self.half_open.values().filter_map(|h| h.conn.poll_timeout());
        let queued = self.accept.iter().filter_map(|c| c.poll_timeout());
        self.timer_hint = half_open.chain(queued).min();
    }

    /// Bytes this listener holds beyond its own struct: half-open entries
    /// ([`HALF_OPEN_ENTRY_BYTES`](Self::HALF_OPEN_ENTRY_BYTES) each), queued connections and
    /// their buffers, queued replies. Bounded by the configured sizes.
    pub fn heap_bytes(&self) -> usize {
        let half_open: usize = self
            .half_open
            .values()
            .map(|h| Self::HALF_OPEN_ENTRY_BYTES + h.conn.heap_bytes())
            .sum();
        let dirty = self.dirty.capacity() * core::mem::size_of::<Key>();
        let accept_slots = self.accept.capacity() * core::mem::size_of::<Connection>();
        let accepted: usize = self.accept.iter().map(Connection::heap_bytes).sum();
        half_open + dirty + accept_slots + accepted + self.replies.heap_bytes()
    }
}
