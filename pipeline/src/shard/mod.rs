//! One worker's share of the appliance, sans I/O: frames in, frames out, time as a
//! parameter (docs/architecture.md, "`shard/`").
//!
//! A [`Shard`] holds the listeners of every service, the splices it accepted (a client
//! connection and its origin connection, [`proxy::Splice`](crate::proxy::Splice)), their
//! timers in one [`TimerWheel`](crate::timer::TimerWheel), and the RSTs it owes. The worker
//! around it:
//! - hands it every frame it owns ([`Router::route`] says which: frames to an origin-side
//!   source port belong to the worker the port was dealt to, [`port_owner`]) with
//!   [`Shard::handle_frame`];
//! - calls [`Shard::handle_timeout`] once [`Shard::poll_timeout`] has passed;
//! - drains [`Shard::poll_transmit`] per interface side into that side's transmit buffers,
//!   each packet starting with its IP header, adding the link-layer header for the next hop;
//! - reads [`Shard::stats`] and [`Shard::poll_event`] for metrics and logs.
//!
//! Per client connection: the listener completes the handshake (SYN cookies past its
//! half-open limit, RFC 4987); the shard opens the origin connection then, from the origin
//! source of the origin's IP version (either version of client reaches either version of
//! origin) and a port of its own share (RFC 6056 §2.1: the port is the shard's, not
//! random; the range is the operator's), round-robin over the service's origins, retrying the
//! next origin after a refused or timed-out attempt and resetting the client when none
//! answers. Origins that failed their last connect attempts are ejected for a back-off
//! (passive health, `origins.rs`), per shard; with active checks on, the shard also sends a
//! SYN to each origin at an interval and feeds the answers to the same health (`checks.rs`). Segments for no connection are answered with a RST (RFC 9293 §3.10.7.1) and
//! counted; malformed frames and bad checksums are dropped and counted, never a panic.
//!
//! This file holds the [`Shard`] and its drive API, which dispatches each input; the rest is
//! by concern:
//! - `admission.rs`: services, `max_connections`, draining, accepting, origin choice and retry;
//! - `ports.rs`: origin-side source ports and their reuse from TIME-WAIT;
//! - `mptcp.rs`: MP_CAPABLE and MP_JOIN handshakes, tokens, pending joins;
//! - `origins.rs`: per-origin counters and passive health reports;
//! - `checks.rs`: active health checks, a SYN to each origin at an interval;
//! - `reconfigure.rs`: a new configuration of the running services (a reload);
//! - `lifecycle.rs`: what follows any input to a splice (settle, census), reaping it;
//! - `replies.rs`: stateless RSTs and their queues;
//! - `table.rs`: the splices by slot and 4-tuple, their timers and transmit queues;
//! - `time_wait.rs`: finished connections as TIME-WAIT entries;
//! - `link.rs`, `route.rs`, `output.rs`: Ethernet headers, frames to workers, IP headers;
//! - `config.rs`, `events.rs`, `stats.rs`, `histogram.rs`, `telemetry.rs`: what goes in and
//!   what is reported.

mod admission;
mod checks;
mod config;
mod events;
mod histogram;
mod lifecycle;
mod link;
mod memory;
mod mptcp;
mod origins;
mod output;
mod ports;
mod reconfigure;
mod replies;
mod route;
mod stats;
mod table;
mod telemetry;
mod time_wait;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_v0;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;

pub use config::{OriginSources, ServiceConfig, ShardConfig, join_token, port_owner, token_owner};
pub use events::{HandoverSummary, ShardEvent};
pub use histogram::{BOUNDS_MICROS, BUCKETS, Histogram};
pub use link::ETHERNET_HEADER_LEN;
pub use memory::{BufferBudget, BufferStats};
pub use origins::{HealthEvent, OriginReport, OriginStats};
pub use output::ShardTransmit;
pub use reconfigure::ReconfigureError;
pub use route::{Route, Router};
pub use stats::{Census, MptcpCounters, ShardStats, SynStats};
pub use telemetry::{
    CheckResult, CookieCheck, Counts, EndKind, Fallback, FrameDrop, JoinRefusal, OriginFailure,
    Reason, SynAnswer, SynDrop,
};

use crate::proxy::{OriginPicker, Side, Splice, SpliceStatus};
use crate::tcp::Config;
use crate::tcp::isn::IsnGenerator;
use crate::tcp::listener::{Listener, ReplyQueue};
use crate::tcp::syncookie::SynCookies;
use crate::tcp::time_wait::TimeWaitOutcome;
use crate::time::Instant;
use crate::wire::Error as WireError;
use crate::wire::ethernet::EthernetAddress;
use crate::wire::frame::{ChecksumPolicy, Frame, FrameError, parse_frame};
use crate::wire::tcp::{TcpFlags, TcpRepr};

use admission::Service;
use link::Link;
use output::{ip_header_len, write_ip_header};
use replies::REPLY_QUEUE;
use table::{KeyedHasher, Table};
use time_wait::TimeWaits;

/// Events kept for [`Shard::poll_event`]; past it, the oldest are dropped.
const EVENT_QUEUE: usize = 4096;

/// What [`Shard::handle_frame`] did with a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameOutcome {
    /// Processed (or dropped and counted).
    Handled,
    /// A client segment for no connection of this shard: another shard may own it.
    NotHere,
}

/// One worker's listeners, splices, timers and counters.
#[derive(Debug)]
pub struct Shard {
    worker: u16,
    workers: u16,
    origin_sources: OriginSources,
    origin_ports: std::ops::RangeInclusive<u16>,
    /// The origin connections' config, before each service's origin timeout.
    origin_tcp: Config,
    checksums: ChecksumPolicy,
    services: Vec<Service>,
    /// Each listener and its service's index.
    listeners: Vec<(Listener, usize)>,
    table: Table,
    /// RSTs owed, per side (client, origin).
    replies: [ReplyQueue; 2],
    isn: IsnGenerator,
    /// The next index into this worker's share of the origin ports.
    next_port: u32,
    events: VecDeque<ShardEvent>,
    /// Origin health changes, for logs ([`Shard::poll_health_event`]).
    health_events: VecDeque<HealthEvent>,
    stats: ShardStats,
    expired: Vec<usize>,
    mptcp: mptcp::MptcpShard,
    /// New connections are refused (the appliance is draining); joins to existing MPTCP
    /// connections are still accepted.
    draining: bool,
    /// The connections by phase and the MPTCP subflows, kept as splices settle.
    census: Census,
    /// Finished connections in TIME-WAIT, without their splices.
    time_wait: TimeWaits,
    /// Our MACs and our peers' next hops.
    link: Link,
    /// When the next active check is sent or times out (`checks.rs`).
    next_check: Option<Instant>,
    /// Active checks waiting for their answer.
    probes: usize,
    /// The splices' buffer bytes against this shard's budget (`memory.rs`).
    memory: BufferBudget,
}

impl Shard {
    /// A shard for `cfg`, its clock starting at `now`. Services without origins serve no one
    /// (the configuration layer refuses them).
    pub fn new(cfg: ShardConfig, now: Instant) -> Shard {
        let isn = IsnGenerator::new(cfg.secret);
        // Each worker's cookies are its own, so that the worker that answered a SYN with a
        // cookie is the one that takes the ACK completing it: another worker passes that ACK
        // on ([`Shard::handle_frame`]) instead of completing a handshake whose MPTCP key it
        // would not derive (keys are dealt to workers by token, docs/architecture.md).
        let mut cookie_key = cfg.secret;
        cookie_key[0] ^= 0x5a;
        for (byte, worker) in cookie_key[1..3].iter_mut().zip(cfg.worker.to_be_bytes()) {
            *byte ^= worker;
        }
        let mut services = Vec::new();
        let mut listeners = Vec::new();
        let client_tcp = cfg.services.first().map_or(cfg.origin_tcp, |s| s.listener.tcp);
        for service in &cfg.services {
            let origins = service.origins.clone();
            let Some(picker) = OriginPicker::new(origins, service.max_tries, service.health) else {
                continue;
            };
            for &local in &service.listen {
                let cookies = SynCookies::new(cookie_key);
                let listener = Listener::new(service.listener, local, isn.clone(), cookies);
                listeners.push((listener, services.len()));
            }
            services.push(Service {
                name: service.name.clone(),
                origin_stats: vec![OriginStats::default(); service.origins.len()],
                checks: vec![checks::CheckSlot::default(); service.origins.len()],
                picker,
                splice: service.splice,
                max_connections: service.max_connections,
                active: 0,
                mptcp: service.mptcp.clone(),
                origin_tcp: Arc::new(origin_tcp(&cfg.origin_tcp, &service.splice)),
            });
        }
        let mut shard = Shard {
            worker: cfg.worker,
            workers: cfg.workers.max(1),
            origin_sources: cfg.origin_sources,
            origin_ports: cfg.origin_ports.clone(),
            origin_tcp: cfg.origin_tcp,
            checksums: cfg.checksums,
            services,
            listeners,
            table: Table::new(now, KeyedHasher::new(&cfg.secret)),
            mptcp: mptcp::MptcpShard::new(cfg.secret, cfg.worker, KeyedHasher::new(&cfg.secret)),
            draining: false,
            census: Census::default(),
            time_wait: TimeWaits::new(&client_tcp, &cfg.origin_tcp),
            link: Link::new(KeyedHasher::new(&cfg.secret)),
            memory: BufferBudget::new(cfg.buffer_budget),
            replies: [ReplyQueue::new(REPLY_QUEUE), ReplyQueue::new(REPLY_QUEUE)],
            isn,
            // A different start each run: a restarted appliance does not reuse first the
            // ports whose connections the origins may still hold in TIME-WAIT.
            next_port: u32::from_le_bytes([
                cfg.secret[4],
                cfg.secret[5],
                cfg.secret[6],
                cfg.secret[7],
            ]),
            events: VecDeque::new(),
            health_events: VecDeque::new(),
            stats: ShardStats::default(),
            expired: Vec::new(),
            next_check: None,
            probes: 0,
        };
        shard.recount_checks();
        shard
    }

    /// The counters.
    pub fn stats(&self) -> &ShardStats {
        &self.stats
    }

    /// What the listeners did with SYNs, summed over the services.
    pub fn syn_stats(&self) -> SynStats {
        let mut syns = SynStats::default();
        for (listener, _) in &self.listeners {
            syns.add(listener.stats(), listener.half_open_len());
        }
        syns
    }

    /// Splices held (connecting, open, or closing).
    pub fn connections(&self) -> usize {
        self.table.len()
    }

    /// The next event, oldest first.
    pub fn poll_event(&mut self) -> Option<ShardEvent> {
        self.events.pop_front()
    }

    /// Processes one received frame (a whole Ethernet frame). Then drain
    /// [`poll_transmit`](Self::poll_transmit).
    ///
    /// `last` says whether this shard is the last to see the frame. A client segment other
    /// than a SYN that matches nothing here may belong to another shard: the NIC moved its
    /// flow to another queue (an RSS indirection change, or a veth peer that re-hashed the
    /// flow after a retransmission timeout). Unless `last`, such a segment is left untouched
    /// and [`FrameOutcome::NotHere`] returned, for the caller to pass it on; the last shard
    /// answers it as RFC 9293 §3.10.7.2 says (a RST).
    pub fn handle_frame(&mut self, now: Instant, frame: &[u8], last: bool) -> FrameOutcome {
        match parse_frame(frame, self.checksums) {
            Ok(Frame::Tcp(f)) => {
                let local = SocketAddr::new(f.ip.dst_addr(), f.tcp.dst_port);
                let remote = SocketAddr::new(f.ip.src_addr(), f.tcp.src_port);
                if !last && self.elsewhere(now, local, remote, &f.tcp) {
                    return FrameOutcome::NotHere;
                }
                self.stats.frames += 1;
                self.link.learn(self.side_of(local), remote.ip(), f.ethernet.src_addr);
                self.on_segment(now, local, remote, &f.tcp);
                return FrameOutcome::Handled;
            }
            Ok(_) => self.stats.dropped.add(FrameDrop::NotTcp),
            Err(FrameError::TcpChecksum | FrameError::Ipv4(WireError::Checksum)) => {
                self.stats.dropped.add(FrameDrop::Checksum);
            }
            Err(_) => self.stats.dropped.add(FrameDrop::Malformed),
        }
        self.stats.frames += 1;
        FrameOutcome::Handled
    }

    /// The side a segment to `local` arrived on: origin connections leave from the
    /// origin sources, everything else is a service address.
    fn side_of(&self, local: SocketAddr) -> Side {
        if self.origin_sources.contains(local.ip()) { Side::Origin } else { Side::Client }
    }

    /// Sets our MAC on `side`: the source address of every frame
    /// [`poll_frame`](Self::poll_frame) writes for it.
    pub fn set_link_address(&mut self, side: Side, mac: [u8; 6]) {
        self.link.set_ours(side, EthernetAddress(mac));
    }

    /// Sets the next hop toward `dst` (an origin's, from the kernel's neighbour table), for
    /// packets to a destination no frame has come from yet.
    pub fn set_next_hop(&mut self, dst: std::net::IpAddr, mac: [u8; 6]) {
        self.link.set_next_hop(dst, EthernetAddress(mac));
    }

    /// [`poll_transmit`](Self::poll_transmit) with the Ethernet header in front: writes the
    /// next frame leaving by `side` into `buf` (at least 114 bytes plus an MSS) and returns it,
    /// its `len` counting the [`ETHERNET_HEADER_LEN`] bytes of the header. The header goes to
    /// the address the destination's frames came from (or its next hop, see
    /// [`set_next_hop`](Self::set_next_hop)); a packet to a destination with none known is
    /// dropped and counted (`no_neighbour`), and the next one taken.
    pub fn poll_frame(
        &mut self,
        now: Instant,
        side: Side,
        buf: &mut [u8],
    ) -> Option<ShardTransmit> {
        loop {
            let t = self.poll_transmit(now, side, buf.get_mut(ETHERNET_HEADER_LEN..)?)?;
            if self.link.write_header(side, t.remote.ip(), buf) {
                return Some(ShardTransmit { len: ETHERNET_HEADER_LEN + t.len, ..t });
            }
            self.stats.no_neighbour += 1;
        }
    }

    /// Whether a segment to a listener is a non-SYN matching nothing here: no connection,
    /// TIME-WAIT entry or half-open connection of its 4-tuple, and no cookie of this
    /// worker's listener in it.
    fn elsewhere(
        &self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        seg: &TcpRepr<'_>,
    ) -> bool {
        let syn = seg.flags.contains(TcpFlags::SYN) && !seg.flags.contains(TcpFlags::ACK);
        if syn || self.table.find(local, remote).is_some() {
            return false;
        }
        if self.time_wait.find((local, remote)).is_some() {
            return false;
        }
        self.listeners.iter().any(|(l, _)| {
            l.local() == local && !l.knows(remote) && !l.issued_cookie(now, local, remote, seg)
        })
    }

    /// When [`handle_timeout`](Self::handle_timeout) is due next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let deadlines = [self.table.next_deadline(), self.listener_deadline()];
        let others = [self.time_wait.poll_timeout(), self.checks_deadline()];
        deadlines.into_iter().chain(others).flatten().min()
    }

    /// The listeners' earliest timer (each listener answers in O(1)).
    fn listener_deadline(&self) -> Option<Instant> {
        self.listeners.iter().filter_map(|l| l.0.poll_timeout()).min()
    }

    /// Runs every timer due by `now`. Then drain [`poll_transmit`](Self::poll_transmit).
    pub fn handle_timeout(&mut self, now: Instant) {
        self.time_wait.handle_timeout(now);
        self.run_checks(now);
        if self.listener_deadline().is_some_and(|at| at <= now) {
            for i in 0..self.listeners.len() {
                if self.listeners[i].0.poll_timeout().is_some_and(|at| at <= now) {
                    self.listeners[i].0.handle_timeout(now);
                    self.accept(now, i, None);
                }
            }
        }
        let mut expired = std::mem::take(&mut self.expired);
        self.table.expired(now, &mut expired);
        for &slot in &expired {
            if let Some(e) = self.table.get_mut(slot) {
                e.status = e.splice.handle_timeout(now);
                self.settle(now, slot);
            }
        }
        expired.clear();
        self.expired = expired;
    }

    /// Writes the next packet leaving by `side` into `buf`: IP header, TCP header, options
    /// and data. `buf` should hold 100 bytes plus an MSS. Call until `None` for both sides
    /// after every `handle_*` call.
    pub fn poll_transmit(
        &mut self,
        now: Instant,
        side: Side,
        buf: &mut [u8],
    ) -> Option<ShardTransmit> {
        let out = self.poll_listeners(now, side, buf);
        let out = out.or_else(|| self.poll_replies(side, buf));
        let out = out.or_else(|| self.poll_time_wait(now, side, buf));
        let out = out.or_else(|| self.poll_splices(now, side, buf));
        if out.is_some() {
            self.stats.segments_out += 1;
        }
        out
    }

    /// The listeners' SYN,ACKs and RSTs (client side only).
    fn poll_listeners(
        &mut self,
        now: Instant,
        side: Side,
        buf: &mut [u8],
    ) -> Option<ShardTransmit> {
        if side != Side::Client {
            return None;
        }
        for (listener, _) in &mut self.listeners {
            let ip_len = ip_header_len(listener.local());
            let Some(t) = listener.poll_transmit(now, buf.get_mut(ip_len..)?) else {
                continue;
            };
            let len = write_ip_header(buf, t.local, t.remote, t.transmit.len)?;
            return Some(ShardTransmit { side, local: t.local, remote: t.remote, len });
        }
        None
    }

    /// The ACKs owed for connections in TIME-WAIT.
    fn poll_time_wait(
        &mut self,
        now: Instant,
        side: Side,
        buf: &mut [u8],
    ) -> Option<ShardTransmit> {
        // The IP header's length by the ACK's own family, as for the other replies.
        let ip_len = ip_header_len(self.time_wait.front_remote(side)?);
        let t = self.time_wait.poll_transmit(now, side, buf.get_mut(ip_len..)?)?;
        let len = write_ip_header(buf, t.local, t.remote, t.transmit.len)?;
        Some(ShardTransmit { side, local: t.local, remote: t.remote, len })
    }

    fn on_segment(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        seg: &TcpRepr<'_>,
    ) {
        if let Some((slot, side, sub)) = self.table.find(local, remote) {
            if let Some(e) = self.table.get_mut(slot) {
                e.status = e.splice.handle_segment(now, side, sub, seg);
            }
            self.settle(now, slot);
        } else if let Some(side) = self.time_wait.find((local, remote)) {
            // RFC 6191 §2: a SYN that may reopen the 4-tuple goes on to the listener.
            if self.time_wait.handle_segment(now, side, (local, remote), seg)
                == TimeWaitOutcome::Reuse
            {
                self.on_segment(now, local, remote, seg);
            }
        } else if let Some(i) = self.listeners.iter().position(|l| l.0.local() == local) {
            let syn = seg.flags.contains(TcpFlags::SYN) && !seg.flags.contains(TcpFlags::ACK);
            if syn {
                return self.on_syn(now, i, (local, remote), seg);
            }
            if !self.listeners[i].0.knows(remote) {
                self.stats.unmatched += 1;
            }
            self.listeners[i].0.handle_segment(now, local, remote, seg);
            self.accept(now, i, Some(seg));
        } else if !self.check_answer(now, (local, remote), seg) {
            self.unmatched(local, remote, seg);
        }
    }

    fn push_event(&mut self, event: ShardEvent) {
        if self.events.len() >= EVENT_QUEUE {
            self.events.pop_front();
        }
        self.events.push_back(event);
    }

    /// The connections held, by phase, and the MPTCP connections with their live subflows,
    /// as of each connection's latest input or timeout (kept as they happen: O(1)).
    pub fn census(&self) -> Census {
        self.census
    }

    /// Connections still carrying data or closing (those whose connections are all CLOSED or
    /// in TIME-WAIT do not count). O(connections).
    pub fn unfinished(&self) -> usize {
        let slots = self.table.slots().filter_map(|s| self.table.get(s));
        slots.filter(|e| !matches!(e.status, SpliceStatus::Finished(_))).count()
    }

    /// Resets every connection (both sides): the appliance is stopping. Then drain
    /// [`poll_transmit`](Self::poll_transmit) to send the RSTs.
    pub fn abort_all(&mut self, now: Instant) {
        let slots: Vec<usize> = self.table.slots().collect();
        for slot in slots {
            if let Some(e) = self.table.get_mut(slot) {
                e.splice.abort(now);
                e.status = e.splice.pump(now);
            }
            self.settle(now, slot);
        }
    }

    /// Bytes the splices' connections hold in buffers.
    pub fn heap_bytes(&self) -> usize {
        let slots = self.table.slots();
        let splices: usize =
            slots.filter_map(|s| self.table.get(s)).map(|e| e.splice.heap_bytes()).sum();
        splices + self.time_wait.heap_bytes() + self.link.heap_bytes()
    }

    /// The splices' buffer bytes, the budget and its pressure state, kept as splices settle
    /// (O(1)).
    pub fn buffer_stats(&self) -> BufferStats {
        self.memory.stats()
    }

    /// Sets this shard's share of the buffer budget (`None`: unlimited), as a reload does.
    pub fn set_buffer_budget(&mut self, budget: Option<usize>) {
        self.memory.set_limit(budget);
    }

    /// Connections held as TIME-WAIT entries (their splices are gone), both sides.
    pub fn time_wait_entries(&self) -> usize {
        self.time_wait.len()
    }

    /// The counters of `side`'s TIME-WAIT table.
    pub fn time_wait_stats(&self, side: Side) -> &crate::tcp::time_wait::TimeWaitStats {
        self.time_wait.stats(side)
    }

    /// Splices held, for inspection (tests, debugging).
    pub fn splices(&self) -> impl Iterator<Item = &Splice> + '_ {
        self.table.slots().filter_map(|s| self.table.get(s)).map(|e| &e.splice)
    }
}

/// A service's origin connection config: the shard's, with the service's origin timeout as
/// the user timeout (RFC 9293 §3.8.3) when it sets one.
fn origin_tcp(shared: &Config, splice: &crate::proxy::SpliceConfig) -> Config {
    Config { user_timeout: splice.origin_timeout.or(shared.user_timeout), ..*shared }
}
