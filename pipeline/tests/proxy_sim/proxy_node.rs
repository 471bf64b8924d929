//! The proxy as a simulated node: a listener on the service address (interface 0, toward the
//! client), and one interface per origin server. For each accepted client connection it
//! opens an origin connection from its own origin-side address with a source port it
//! allocates, and splices the two. Segments are demultiplexed by 4-tuple.

use std::net::{IpAddr, SocketAddr};

use netreaktor_pipeline::netsim::{IfaceId, Node, Transmit};
use netreaktor_pipeline::proxy::{
    Attempt, OriginPicker, Side, Splice, SpliceConfig, SpliceEnd, SpliceStatus,
};
use netreaktor_pipeline::tcp::isn::IsnGenerator;
use netreaktor_pipeline::tcp::listener::{Listener, ListenerConfig};
use netreaktor_pipeline::tcp::syncookie::SynCookies;
use netreaktor_pipeline::tcp::{Config, Connection};
use netreaktor_pipeline::time::Instant;
use netreaktor_pipeline::wire::frame::{ChecksumPolicy, Frame, parse_frame};
use netreaktor_pipeline::wire::tcp::{TcpPacket, TcpRepr};

use super::frames::wrap_segment;

/// What happened on the proxy.
#[derive(Debug, Clone, Default)]
pub(crate) struct ProxyLog {
    /// Origin connect attempts, in order: (when, origin).
    pub(crate) attempts: Vec<(Instant, SocketAddr)>,
    /// How each splice ended, in the order they ended.
    pub(crate) ends: Vec<(Instant, SpliceEnd)>,
    /// The most heap the splices' connections held at once (after any step).
    pub(crate) peak_heap: usize,
    /// Segments for no connection on the origin side, dropped.
    pub(crate) unmatched: u64,
    pub(crate) bad_frames: u64,
}

struct Entry {
    splice: Splice,
    attempt: Attempt,
    status: SpliceStatus,
    /// Its end is in the log.
    logged: bool,
}

/// The proxy node.
pub(crate) struct ProxyNode {
    listener: Listener,
    picker: OriginPicker,
    splice_cfg: SpliceConfig,
    origin_cfg: Config,
    /// The proxy's address on the origin side.
    origin_ip: IpAddr,
    next_port: u16,
    isn: IsnGenerator,
    entries: Vec<Entry>,
    /// Which interface reaches each origin address.
    routes: Vec<(IpAddr, IfaceId)>,
    pub(crate) log: ProxyLog,
    seg: Vec<u8>,
    /// `PROXY_SIM_TRACE` is set: print every segment in and out.
    trace: bool,
}

fn trace(now: Instant, dir: &str, src: SocketAddr, dst: SocketAddr, seg: &TcpRepr<'_>) {
    eprintln!(
        "{now} {dir} {src} -> {dst} seq {} ack {} {:?} len {} wnd {}",
        seg.seq_number.0,
        seg.ack_number.0,
        seg.flags,
        seg.payload.len(),
        seg.window_len
    );
}

impl ProxyNode {
    /// A proxy serving `service` and forwarding to the picker's origins (origin `i` behind
    /// interface `i + 1`) from `origin_ip`.
    pub(crate) fn new(
        listener_cfg: ListenerConfig,
        service: SocketAddr,
        origin_ip: IpAddr,
        picker: OriginPicker,
        splice_cfg: SpliceConfig,
        secret: u8,
    ) -> ProxyNode {
        let routes =
            picker.origins().iter().zip(1u16..).map(|(o, i)| (o.ip(), IfaceId(i))).collect();
        let isn = IsnGenerator::new([secret; 32]);
        let cookies = SynCookies::new([secret ^ 0x5a; 32]);
        ProxyNode {
            listener: Listener::new(listener_cfg, service, isn.clone(), cookies),
            picker,
            splice_cfg,
            origin_cfg: listener_cfg.tcp,
            origin_ip,
            next_port: 50_000,
            isn,
            entries: Vec::new(),
            routes,
            log: ProxyLog::default(),
            seg: vec![0u8; usize::from(listener_cfg.tcp.mss) + 120],
            trace: std::env::var_os("PROXY_SIM_TRACE").is_some(),
        }
    }

    /// Every splice has finished (and at least one existed).
    pub(crate) fn all_finished(&self) -> bool {
        !self.log.ends.is_empty()
            && self.entries.iter().all(|e| matches!(e.status, SpliceStatus::Finished(_)))
    }

    /// The splices still held (for checks).
    pub(crate) fn splices(&self) -> impl Iterator<Item = &Splice> {
        self.entries.iter().map(|e| &e.splice)
    }

    /// A new origin connection to `remote` from a fresh source port.
    fn open(&mut self, now: Instant, remote: SocketAddr) -> Connection {
        let local = SocketAddr::new(self.origin_ip, self.next_port);
        self.next_port = self.next_port.checked_add(1).unwrap_or(50_000);
        self.log.attempts.push((now, remote));
        let iss = self.isn.isn(now, local, remote);
        Connection::connect(self.origin_cfg, local, remote, iss, now)
    }

    fn accept(&mut self, now: Instant) {
        while let Some(client) = self.listener.poll_accept() {
            let (origin, attempt) = self.picker.pick();
            let origin = self.open(now, origin);
            let mut splice = Splice::new(self.splice_cfg, client, origin, now);
            let status = splice.pump(now);
            self.entries.push(Entry { splice, attempt, status, logged: false });
        }
    }

    fn on_segment(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        seg: &TcpRepr<'_>,
    ) {
        let found = self.entries.iter_mut().find_map(|e| {
            let side = [Side::Client, Side::Origin].into_iter().find(|&side| {
                let c = e.splice.conn(side);
                c.local() == local && c.remote() == remote
            })?;
            Some((e, side))
        });
        if let Some((e, side)) = found {
            e.status = e.splice.handle_segment(now, side, seg);
        } else if local == self.listener.local() {
            self.listener.handle_segment(now, local, remote, seg);
            self.accept(now);
        } else {
            self.log.unmatched += 1;
        }
    }

    /// Reacts to failed origin attempts (retry the next origin or give up) and records ends.
    fn settle(&mut self, now: Instant) {
        for i in 0..self.entries.len() {
            while let SpliceStatus::OriginFailed(_) = self.entries[i].status {
                let mut attempt = self.entries[i].attempt;
                match self.picker.retry(&mut attempt) {
                    Some(next) => {
                        let origin = self.open(now, next);
                        self.entries[i].splice.retry_origin(origin, now);
                    }
                    None => self.entries[i].splice.give_up(now),
                }
                self.entries[i].attempt = attempt;
                self.entries[i].status = self.entries[i].splice.pump(now);
            }
            if let SpliceStatus::Finished(end) = self.entries[i].status
                && !self.entries[i].logged
            {
                self.entries[i].logged = true;
                self.log.ends.push((now, end));
            }
        }
        let heap: usize = self.entries.iter().map(|e| e.splice.heap_bytes()).sum();
        self.log.peak_heap = self.log.peak_heap.max(heap);
    }

    fn iface_for(&self, side: Side, remote: SocketAddr) -> IfaceId {
        match side {
            Side::Client => IfaceId(0),
            Side::Origin => {
                self.routes.iter().find(|r| r.0 == remote.ip()).map_or(IfaceId(1), |r| r.1)
            }
        }
    }
}

impl Node for ProxyNode {
    fn handle_frame(&mut self, now: Instant, _iface: IfaceId, frame: &[u8]) {
        match parse_frame(frame, ChecksumPolicy::Verify) {
            Ok(Frame::Tcp(f)) => {
                let local = SocketAddr::new(f.ip.dst_addr(), f.tcp.dst_port);
                let remote = SocketAddr::new(f.ip.src_addr(), f.tcp.src_port);
                if self.trace {
                    trace(now, "in ", remote, local, &f.tcp);
                }
                self.on_segment(now, local, remote, &f.tcp);
            }
            _ => self.log.bad_frames += 1,
        }
        self.settle(now);
    }

    fn handle_timeout(&mut self, now: Instant) {
        if self.listener.poll_timeout().is_some_and(|t| t <= now) {
            self.listener.handle_timeout(now);
            self.accept(now);
        }
        for e in &mut self.entries {
            if e.splice.poll_timeout().is_some_and(|t| t <= now) {
                e.status = e.splice.handle_timeout(now);
            }
        }
        self.settle(now);
    }

    fn poll_timeout(&self) -> Option<Instant> {
        let splices = self.entries.iter().filter_map(|e| e.splice.poll_timeout());
        splices.chain(self.listener.poll_timeout()).min()
    }

    fn poll_transmit(&mut self, now: Instant) -> Option<Transmit> {
        if let Some(t) = self.listener.poll_transmit(now, &mut self.seg) {
            let frame = wrap_segment(t.local, t.remote, &self.seg[..t.transmit.len]);
            return Some(Transmit::new(IfaceId(0), frame));
        }
        for i in 0..self.entries.len() {
            let Some((side, t)) = self.entries[i].splice.poll_transmit(now, &mut self.seg) else {
                continue;
            };
            let conn = self.entries[i].splice.conn(side);
            let (local, remote) = (conn.local(), conn.remote());
            let frame = wrap_segment(local, remote, &self.seg[..t.len]);
            if self.trace {
                let packet = TcpPacket::new_checked(&self.seg[..t.len]).expect("engine output");
                let tcp = TcpRepr::parse(&packet).expect("engine output");
                trace(now, "out", local, remote, &tcp);
            }
            return Some(Transmit::new(self.iface_for(side, remote), frame));
        }
        None
    }
}
