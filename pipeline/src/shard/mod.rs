//! One worker's share of the appliance, sans I/O: frames in, frames out, time as a
//! parameter (ARCHITECTURE.md, "Drive API, per worker").
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
//! half-open limit, RFC 4987); the shard opens the origin connection then, from
//! `origin_source` and a port of its own share (RFC 6056 §2.1: the port is the shard's, not
//! random; the range is the operator's), round-robin over the service's origins, retrying the
//! next origin after a refused or timed-out attempt and resetting the client when none
//! answers. Segments for no connection are answered with a RST (RFC 9293 §3.10.7.1) and
//! counted; malformed frames and bad checksums are dropped and counted, never a panic.

mod config;
mod events;
mod histogram;
mod link;
mod mptcp;
mod output;
mod route;
mod stats;
mod table;
mod telemetry;
mod time_wait;

#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;

pub use config::{ServiceConfig, ShardConfig, join_token, port_owner, token_owner};
pub use events::{HandoverSummary, ShardEvent};
pub use histogram::{BOUNDS_MICROS, BUCKETS, Histogram};
pub use link::ETHERNET_HEADER_LEN;
pub use output::ShardTransmit;
pub use route::{Route, Router};
pub use stats::{Census, MptcpCounters, ShardStats};
pub use telemetry::{Counts, EndKind, Fallback, FrameDrop, JoinRefusal, Reason};

use crate::mptcp::conn::MptcpConfig;
use crate::proxy::{Client, OriginPicker, Side, Splice, SpliceConfig, SpliceStatus};
use crate::tcp::isn::IsnGenerator;
use crate::tcp::listener::{Listener, Reply, ReplyOptions, ReplyQueue};
use crate::tcp::syncookie::SynCookies;
use crate::tcp::time_wait::TimeWaitOutcome;
use crate::tcp::{Config, Connection};
use crate::time::Instant;
use crate::wire::Error as WireError;
use crate::wire::ethernet::EthernetAddress;
use crate::wire::frame::{ChecksumPolicy, Frame, FrameError, parse_frame};
use crate::wire::tcp::{TcpFlags, TcpRepr, TcpSeqNumber};

use link::Link;
use output::{ip_header_len, write_ip_header};
use table::{KeyedHasher, Table, side_index};
use time_wait::TimeWaits;

/// RSTs the shard may owe at once per side; past it, more are dropped and counted.
const REPLY_QUEUE: usize = 1024;

/// How long an origin connection stays in TIME-WAIT before its port may be reused
/// (Linux's `tcp_tw_reuse` waits one second too).
const TIME_WAIT_REUSE: crate::time::Duration = crate::time::Duration::from_secs(1);

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

/// A service as the shard runs it.
#[derive(Debug)]
struct Service {
    picker: OriginPicker,
    splice: SpliceConfig,
    max_connections: usize,
    active: usize,
    mptcp: Option<MptcpConfig>,
}

/// One worker's listeners, splices, timers and counters.
#[derive(Debug)]
pub struct Shard {
    worker: u16,
    workers: u16,
    origin_source: std::net::IpAddr,
    origin_ports: std::ops::RangeInclusive<u16>,
    /// The origin connections' config, shared by them.
    origin_tcp: Arc<Config>,
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
}

impl Shard {
    /// A shard for `cfg`, its clock starting at `now`. Services without origins serve no one
    /// (the configuration layer refuses them).
    pub fn new(cfg: ShardConfig, now: Instant) -> Shard {
        let isn = IsnGenerator::new(cfg.secret);
        let mut cookie_key = cfg.secret;
        cookie_key[0] ^= 0x5a;
        let mut services = Vec::new();
        let mut listeners = Vec::new();
        let client_tcp = cfg.services.first().map_or(cfg.origin_tcp, |s| s.listener.tcp);
        for service in &cfg.services {
            let Some(picker) = OriginPicker::new(service.origins.clone(), service.max_tries) else {
                continue;
            };
            for &local in &service.listen {
                let cookies = SynCookies::new(cookie_key);
                let listener = Listener::new(service.listener, local, isn.clone(), cookies);
                listeners.push((listener, services.len()));
            }
            services.push(Service {
                picker,
                splice: service.splice,
                max_connections: service.max_connections,
                active: 0,
                mptcp: service.mptcp.clone(),
            });
        }
        Shard {
            worker: cfg.worker,
            workers: cfg.workers.max(1),
            origin_source: cfg.origin_source,
            origin_ports: cfg.origin_ports.clone(),
            origin_tcp: Arc::new(cfg.origin_tcp),
            checksums: cfg.checksums,
            services,
            listeners,
            table: Table::new(now, KeyedHasher::new(&cfg.secret)),
            mptcp: mptcp::MptcpShard::new(cfg.secret, cfg.worker, KeyedHasher::new(&cfg.secret)),
            draining: false,
            census: Census::default(),
            time_wait: TimeWaits::new(&client_tcp, &cfg.origin_tcp),
            link: Link::new(KeyedHasher::new(&cfg.secret)),
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
            stats: ShardStats::default(),
            expired: Vec::new(),
        }
    }

    /// The counters.
    pub fn stats(&self) -> &ShardStats {
        &self.stats
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
                if !last && self.elsewhere(local, remote, &f.tcp) {
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

    /// The side a segment to `local` arrived on: origin connections leave from
    /// `origin_source`, everything else is a service address.
    fn side_of(&self, local: SocketAddr) -> Side {
        if local.ip() == self.origin_source { Side::Origin } else { Side::Client }
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

    /// Whether a segment to a listener is a non-SYN matching nothing here.
    fn elsewhere(&self, local: SocketAddr, remote: SocketAddr, seg: &TcpRepr<'_>) -> bool {
        let syn = seg.flags.contains(TcpFlags::SYN) && !seg.flags.contains(TcpFlags::ACK);
        if syn || self.table.find(local, remote).is_some() {
            return false;
        }
        if self.time_wait.find((local, remote)).is_some() {
            return false;
        }
        self.listeners.iter().any(|(l, _)| l.local() == local && !l.knows(remote))
    }

    /// When [`handle_timeout`](Self::handle_timeout) is due next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let deadlines = [self.table.next_deadline(), self.listener_deadline()];
        deadlines.into_iter().chain([self.time_wait.poll_timeout()]).flatten().min()
    }

    /// The listeners' earliest timer (each listener answers in O(1)).
    fn listener_deadline(&self) -> Option<Instant> {
        self.listeners.iter().filter_map(|l| l.0.poll_timeout()).min()
    }

    /// Runs every timer due by `now`. Then drain [`poll_transmit`](Self::poll_transmit).
    pub fn handle_timeout(&mut self, now: Instant) {
        self.time_wait.handle_timeout(now);
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

    fn poll_replies(&mut self, side: Side, buf: &mut [u8]) -> Option<ShardTransmit> {
        let queue = &mut self.replies[side_index(side)];
        let ip_len = ip_header_len(queue.front_remote()?);
        let t = queue.poll(buf.get_mut(ip_len..)?)?;
        let len = write_ip_header(buf, t.local, t.remote, t.transmit.len)?;
        Some(ShardTransmit { side, local: t.local, remote: t.remote, len })
    }

    /// The ACKs owed for connections in TIME-WAIT.
    fn poll_time_wait(
        &mut self,
        now: Instant,
        side: Side,
        buf: &mut [u8],
    ) -> Option<ShardTransmit> {
        let room = buf.len().checked_sub(ip_header_len(self.any_local(side)))?;
        let ip_len = buf.len() - room;
        let t = self.time_wait.poll_transmit(now, side, buf.get_mut(ip_len..)?)?;
        let len = write_ip_header(buf, t.local, t.remote, t.transmit.len)?;
        Some(ShardTransmit { side, local: t.local, remote: t.remote, len })
    }

    /// An address of ours on `side`, for the IP header's length (one family per side).
    fn any_local(&self, side: Side) -> SocketAddr {
        match (side, self.listeners.first()) {
            (Side::Client, Some((l, _))) => l.local(),
            _ => SocketAddr::new(self.origin_source, 0),
        }
    }

    /// The splices queued on `side`, front first; an entry leaves the queue once it has
    /// nothing more to send there, and the shard once both its connections are closed.
    fn poll_splices(&mut self, now: Instant, side: Side, buf: &mut [u8]) -> Option<ShardTransmit> {
        loop {
            let slot = self.table.queued_front(side)?;
            if let Some(e) = self.table.get_mut(slot) {
                // Every 4-tuple of a splice is of one IP version: the service's.
                let ip_len = ip_header_len(e.splice.client().tuple().0);
                let seg = buf.get_mut(ip_len..)?;
                if let Some(((local, remote), t)) = e.splice.poll_transmit_side(now, side, seg) {
                    let len = write_ip_header(buf, local, remote, t.len)?;
                    return Some(ShardTransmit { side, local, remote, len });
                }
            }
            self.table.dequeue_front(side);
            self.reap_subflows(slot);
            if self.table.droppable(slot) {
                self.drop_entry(slot);
            } else if self.table.retirable(slot) {
                self.retire(now, slot);
            }
        }
    }

    /// Hands the connections of a finished splice that are in TIME-WAIT to the TIME-WAIT
    /// tables and frees its entry.
    fn retire(&mut self, now: Instant, slot: usize) {
        if let Some(e) = self.table.get(slot) {
            self.time_wait.retire(now, &e.splice);
        }
        self.drop_entry(slot);
    }

    fn drop_entry(&mut self, slot: usize) {
        self.forget_token(slot);
        if let Some(e) = self.table.remove(slot) {
            if let Some((phase, subflows)) = e.census {
                let c = &mut self.census;
                c.phases[phase.index()] -= 1;
                c.subflows -= subflows;
                c.mptcp_connections -= usize::from(e.splice.client().mptcp().is_some());
            }
            if !e.released
                && let Some(service) = self.services.get_mut(e.service)
            {
                service.active = service.active.saturating_sub(1);
            }
            self.stats.active = self.table.len() as u64;
        }
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
        } else {
            self.unmatched(local, remote, seg);
        }
    }

    /// Queues a RST toward a client.
    fn push_client_reply(&mut self, reply: Reply) {
        if !self.replies[0].push(reply) {
            self.stats.replies_dropped += 1;
        }
    }

    /// RFC 9293 §3.10.7.1: a segment for no connection is answered with a RST (a RST is
    /// not answered).
    fn unmatched(&mut self, local: SocketAddr, remote: SocketAddr, seg: &TcpRepr<'_>) {
        self.stats.unmatched += 1;
        if seg.flags.contains(TcpFlags::RST) {
            return;
        }
        let side = self.side_of(local);
        if !self.replies[side_index(side)].push(Reply::reset_for(local, remote, seg)) {
            self.stats.replies_dropped += 1;
        }
    }

    /// Takes the connections listener `i` established and splices each to an origin.
    /// `establishing` is the segment just given to the listener: the one that completed a
    /// handshake, if any did, whose MPTCP options decide what the connection is.
    fn accept(&mut self, now: Instant, i: usize, establishing: Option<&TcpRepr<'_>>) {
        while let Some((client, offered)) = self.listeners[i].0.poll_accept_offered() {
            let service = self.listeners[i].1;
            let seg = establishing.filter(|s| s.src_port == client.remote().port());
            self.accept_one(now, service, client, seg, offered);
        }
    }

    /// Splices an accepted client to an origin; returns its slot.
    fn start(&mut self, now: Instant, service: usize, client: Client) -> Option<usize> {
        let svc = self.services.get_mut(service)?;
        if svc.active >= svc.max_connections {
            self.stats.refused_limit += 1;
            self.refuse(&client);
            return None;
        }
        let (origin, attempt) = svc.picker.pick();
        let splice_cfg = svc.splice;
        let Some(origin_conn) = self.open_origin(now, origin) else {
            self.stats.ports_exhausted += 1;
            self.refuse(&client);
            return None;
        };
        let event = ShardEvent::Accepted { client: client.tuple().1, service, origin };
        let splice = Splice::new(splice_cfg, client, origin_conn, now);
        let slot = self.table.insert(splice, service, attempt);
        self.services[service].active += 1;
        self.stats.accepted += 1;
        self.stats.active = self.table.len() as u64;
        self.push_event(event);
        if let Some(e) = self.table.get_mut(slot) {
            e.status = e.splice.pump(now);
        }
        self.settle(now, slot);
        Some(slot)
    }

    /// Resets an accepted client connection the shard will not keep (an MPTCP one on its
    /// initial subflow, the only one it has yet).
    fn refuse(&mut self, client: &Client) {
        let client = match client {
            Client::Tcp(c) => c,
            Client::Mptcp(m) => match m.subflow(0) {
                Some(s) => s.tcp(),
                None => return,
            },
        };
        self.reset_accepted(client, ReplyOptions::None);
    }

    /// Queues a RST, with `options`, for an accepted connection the shard drops: <SEQ=SND.NXT>.
    fn reset_accepted(&mut self, conn: &Connection, options: ReplyOptions) {
        let reply = Reply {
            local: conn.local(),
            remote: conn.remote(),
            seq: conn.snd_nxt(),
            ack: TcpSeqNumber(0),
            flags: TcpFlags::RST,
            window: 0,
            options,
        };
        self.push_client_reply(reply);
    }

    /// A new origin connection to `origin` from a free port of this worker's share.
    fn open_origin(&mut self, now: Instant, origin: SocketAddr) -> Option<Connection> {
        let local = self.free_port(now, origin)?;
        self.stats.origin_attempts += 1;
        let iss = self.isn.isn(now, local, origin);
        Some(Connection::connect(Arc::clone(&self.origin_tcp), local, origin, iss, now))
    }

    /// The next port of this worker's share (`first + worker + k * workers`) not in use
    /// toward `origin`, round-robin. A port whose previous connection to `origin` has been
    /// in TIME-WAIT for a second, with timestamps, is reused (RFC 6191, Linux's
    /// `tcp_tw_reuse`): an appliance that closes origin connections first would otherwise
    /// hold each port for the whole TIME-WAIT and run out at a few hundred connections a
    /// second.
    fn free_port(&mut self, now: Instant, origin: SocketAddr) -> Option<SocketAddr> {
        let first = u32::from(*self.origin_ports.start());
        let last = u32::from(*self.origin_ports.end());
        let (worker, workers) = (u32::from(self.worker), u32::from(self.workers));
        let share = (last + 1).checked_sub(first + worker)?.div_ceil(workers);
        for _ in 0..share {
            let k = self.next_port % share;
            self.next_port = self.next_port.wrapping_add(1);
            let port = u16::try_from(first + worker + k * workers).ok()?;
            let local = SocketAddr::new(self.origin_source, port);
            let tuple = (local, origin);
            let free = if self.table.contains(&tuple) {
                self.reuse(now, tuple)
            } else {
                !self.time_wait.contains(Side::Origin, tuple) || self.reuse_retired(now, tuple)
            };
            if free {
                return Some(local);
            }
        }
        None
    }

    /// Frees a 4-tuple held by an origin connection in TIME-WAIT, if it may be reused.
    fn reuse(&mut self, now: Instant, tuple: table::FourTuple) -> bool {
        let Some((slot, Side::Origin, _)) = self.table.find(tuple.0, tuple.1) else {
            return false;
        };
        let reused = self
            .table
            .get_mut(slot)
            .is_some_and(|e| e.splice.reuse_origin_tuple(now, TIME_WAIT_REUSE));
        if reused {
            self.table.unindex(slot, &tuple);
            self.stats.time_wait_reused += 1;
            self.table.touch(slot);
        }
        reused
    }

    /// Frees a 4-tuple held by a TIME-WAIT entry, if it may be reused.
    fn reuse_retired(&mut self, now: Instant, tuple: table::FourTuple) -> bool {
        let reused = self.time_wait.reuse_origin(now, tuple, TIME_WAIT_REUSE);
        self.stats.time_wait_reused += u64::from(reused);
        reused
    }

    /// After any input to a splice: retries or gives up a failed origin, counts bytes and
    /// ends, queues it for transmission and re-arms its timer.
    fn settle(&mut self, now: Instant, slot: usize) {
        self.retry_failed(now, slot);
        let Some(e) = self.table.get_mut(slot) else {
            return;
        };
        let (up, down) = e.splice.moved();
        self.stats.bytes_to_origin += up - e.counted.0;
        self.stats.bytes_to_client += down - e.counted.1;
        e.counted = (up, down);
        let phase = e.splice.phase();
        let subflows = e.splice.client().mptcp().map_or(0, |m| m.live_subflows());
        if e.census != Some((phase, subflows)) {
            let c = &mut self.census;
            match e.census {
                Some((was, had)) => {
                    c.phases[was.index()] -= 1;
                    c.subflows -= had;
                }
                None => c.mptcp_connections += usize::from(e.splice.client().mptcp().is_some()),
            }
            c.phases[phase.index()] += 1;
            c.subflows += subflows;
            e.census = Some((phase, subflows));
        }
        // A closing or ended connection no longer counts toward max_connections: it carries
        // no more bytes, and the last acknowledgements and TIME-WAIT may keep it a while.
        if !e.released && !phase.counts_toward_limit() {
            e.released = true;
            if let Some(service) = self.services.get_mut(e.service) {
                service.active = service.active.saturating_sub(1);
            }
        }
        if let Some(setup) = e.splice.take_setup_time() {
            self.stats.setup.observe(setup);
        }
        let stall = e.splice.client_mut().mptcp_mut().and_then(|m| m.take_handover_stall());
        if let Some(stall) = stall {
            self.stats.mptcp.handover_stall.observe(stall);
        }
        let end = stats::finished(e.status).filter(|_| !e.ended);
        if let Some(end) = end {
            e.ended = true;
            let client = e.splice.client().tuple().1;
            self.stats.ended.add(EndKind::from(end));
            let mptcp = e.splice.client().mptcp().map(|m| {
                let s = m.stats();
                self.stats.mptcp.add_connection(s);
                HandoverSummary {
                    subflows: s.subflows_attached,
                    potentially_failed: s.potentially_failed,
                    reinjected_bytes: s.reinjected_bytes,
                    subflows_closed: s.subflows_closed,
                }
            });
            self.push_event(ShardEvent::Ended { client, end, moved: (up, down), mptcp });
            self.forget_token(slot);
        }
        self.table.touch(slot);
    }

    /// RFC-free policy: a failed origin attempt moves to the next origin while tries remain.
    fn retry_failed(&mut self, now: Instant, slot: usize) {
        while let Some(e) = self.table.get_mut(slot) {
            let SpliceStatus::OriginFailed(failure) = e.status else {
                return;
            };
            let (service, mut attempt) = (e.service, e.attempt);
            let client = e.splice.client().tuple().1;
            let next = self.services.get(service).and_then(|s| s.picker.retry(&mut attempt));
            let conn = next.and_then(|origin| Some((origin, self.open_origin(now, origin)?)));
            self.table.unindex_origin(slot);
            let Some(e) = self.table.get_mut(slot) else {
                return;
            };
            e.attempt = attempt;
            match conn {
                Some((origin, conn)) => {
                    e.splice.retry_origin(conn, now);
                    self.stats.origin_retries += 1;
                    self.push_event(ShardEvent::Retry { client, origin, after: failure });
                }
                None => e.splice.give_up(now),
            }
            if let Some(e) = self.table.get_mut(slot) {
                e.status = e.splice.pump(now);
            }
            self.table.index_origin(slot);
        }
    }

    fn push_event(&mut self, event: ShardEvent) {
        if self.events.len() >= EVENT_QUEUE {
            self.events.pop_front();
        }
        self.events.push_back(event);
    }

    /// Stops taking new connections: from now on a SYN that would open one is answered with
    /// a RST (counted in `refused_draining`), so the client retries elsewhere at once. The
    /// connections held carry on, MPTCP joins to them included. Call
    /// [`unfinished`](Self::unfinished) to learn when they are done.
    pub fn drain(&mut self) {
        self.draining = true;
    }

    /// The connections held, by phase, and the MPTCP connections with their live subflows,
    /// as of each connection's latest input or timeout (kept as they happen: O(1)).
    pub fn census(&self) -> Census {
        self.census
    }

    /// The census counted afresh over the whole table, O(connections), to check the kept
    /// [`census`](Self::census) (tests and fuzzing).
    pub fn census_by_scan(&self) -> Census {
        let mut census = Census::default();
        for e in self.table.slots().filter_map(|s| self.table.get(s)) {
            census.phases[e.splice.phase().index()] += 1;
            if let Some(m) = e.splice.client().mptcp() {
                census.mptcp_connections += 1;
                census.subflows += m.live_subflows();
            }
        }
        census
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
