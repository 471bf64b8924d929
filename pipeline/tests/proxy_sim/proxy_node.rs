//! The proxy as a simulated node: a [`Shard`] (the appliance's per-worker engine) serving the
//! service address on interface 0, toward the client, with origin server `i` behind
//! interface `i + 1`. The node only wraps the shard's IP packets in Ethernet and keeps a log
//! from the shard's events and counters.

use std::net::{IpAddr, SocketAddr};

use netreaktor_netsim::{IfaceId, Node, Transmit};
use netreaktor_pipeline::mptcp::conn::MptcpConfig;
use netreaktor_pipeline::proxy::{
    HealthChange, HealthConfig, Side, Splice, SpliceConfig, SpliceEnd,
};
use netreaktor_pipeline::shard::{
    FrameDrop, OriginStats, ServiceConfig, Shard, ShardConfig, ShardEvent,
};
use netreaktor_pipeline::tcp::listener::ListenerConfig;
use netreaktor_pipeline::time::Instant;
use netreaktor_pipeline::wire::ethernet::{EtherType, EthernetAddress, EthernetFrame};
use netreaktor_pipeline::wire::frame::ChecksumPolicy;

/// What happened on the proxy.
#[derive(Debug, Clone, Default)]
pub(crate) struct ProxyLog {
    /// Origin connect attempts, in order: (when, origin).
    pub(crate) attempts: Vec<(Instant, SocketAddr)>,
    /// How each splice ended, in the order they ended.
    pub(crate) ends: Vec<(Instant, SpliceEnd)>,
    /// The most heap the splices' connections held at once (after any step).
    pub(crate) peak_heap: usize,
    /// Segments for no connection, answered with a RST.
    pub(crate) unmatched: u64,
    /// Frames the shard dropped as malformed, with a bad checksum, or not TCP.
    pub(crate) bad_frames: u64,
    /// Origin health changes, in order: (when, origin, change).
    pub(crate) health: Vec<(Instant, SocketAddr, HealthChange)>,
}

/// The proxy node.
pub(crate) struct ProxyNode {
    shard: Shard,
    /// Which interface reaches each origin address.
    routes: Vec<(IpAddr, IfaceId)>,
    pub(crate) log: ProxyLog,
    buf: Vec<u8>,
}

const ETH_LEN: usize = 14;

impl ProxyNode {
    /// A proxy serving `service` and forwarding to `origins` (origin `i` behind interface
    /// `i + 1`) from `origin_ip`.
    pub(crate) fn new(
        listener: ListenerConfig,
        service: SocketAddr,
        origin_ip: IpAddr,
        origins: Vec<SocketAddr>,
        (max_tries, health): (u32, Option<HealthConfig>),
        splice: SpliceConfig,
        secret: u8,
    ) -> ProxyNode {
        let routes = origins.iter().zip(1u16..).map(|(o, i)| (o.ip(), IfaceId(i))).collect();
        let service = ServiceConfig {
            name: "sim".into(),
            listen: vec![service],
            origins,
            max_tries,
            health,
            max_connections: 1000,
            splice,
            listener,
            mptcp: Some(MptcpConfig::default()),
        };
        let cfg = ShardConfig {
            worker: 0,
            workers: 1,
            services: vec![service],
            origin_sources: origin_ip.into(),
            origin_ports: 50_000..=59_999,
            origin_tcp: listener.tcp,
            checksums: ChecksumPolicy::Verify,
            buffer_budget: None,
            secret: [secret; 32],
        };
        ProxyNode {
            shard: Shard::new(cfg, Instant::ZERO),
            routes,
            log: ProxyLog::default(),
            buf: vec![0u8; ETH_LEN + 100 + usize::from(listener.tcp.mss)],
        }
    }

    /// Every splice has finished (and at least one existed).
    pub(crate) fn all_finished(&self) -> bool {
        let stats = self.shard.stats();
        stats.accepted > 0 && stats.ended.total() == stats.accepted
    }

    /// The shard's census of the splices it holds.
    pub(crate) fn census(&self) -> netreaktor_pipeline::shard::Census {
        self.shard.census()
    }

    /// Each origin's counters and whether it takes connections, in configuration order.
    pub(crate) fn origins(&self) -> Vec<(SocketAddr, OriginStats, bool)> {
        self.shard.origins().map(|o| (o.origin, *o.stats, o.up)).collect()
    }

    /// The splices still held (for checks).
    pub(crate) fn splices(&self) -> impl Iterator<Item = &Splice> {
        self.shard.splices()
    }

    /// Copies the shard's events and counters into the log.
    fn settle(&mut self, now: Instant) {
        while let Some(event) = self.shard.poll_event() {
            match event {
                ShardEvent::Accepted { origin, .. } | ShardEvent::Retry { origin, .. } => {
                    self.log.attempts.push((now, origin));
                }
                ShardEvent::Ended { end, .. } => self.log.ends.push((now, end)),
            }
        }
        while let Some(h) = self.shard.poll_health_event() {
            self.log.health.push((h.at, h.origin, h.change));
        }
        let stats = self.shard.stats();
        self.log.unmatched = stats.unmatched;
        self.log.bad_frames =
            stats.dropped.get(FrameDrop::Malformed) + stats.dropped.get(FrameDrop::Checksum);
        self.log.peak_heap = self.log.peak_heap.max(self.shard.heap_bytes());
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
        self.shard.handle_frame(now, frame, true);
        self.settle(now);
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.shard.handle_timeout(now);
        self.settle(now);
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.shard.poll_timeout()
    }

    fn poll_transmit(&mut self, now: Instant) -> Option<Transmit> {
        for side in [Side::Client, Side::Origin] {
            let Some(t) = self.shard.poll_transmit(now, side, &mut self.buf[ETH_LEN..]) else {
                continue;
            };
            let ethertype = if t.remote.is_ipv4() { EtherType::Ipv4 } else { EtherType::Ipv6 };
            let mut eth = EthernetFrame::new_unchecked(&mut self.buf[..ETH_LEN]);
            eth.set_src_addr(EthernetAddress([0x02, 0, 0, 0, 0, 1]));
            eth.set_dst_addr(EthernetAddress([0x02, 0, 0, 0, 0, 2]));
            eth.set_ethertype(ethertype);
            let frame = self.buf[..ETH_LEN + t.len].to_vec();
            self.settle(now);
            return Some(Transmit::new(self.iface_for(side, t.remote), frame));
        }
        None
    }
}
