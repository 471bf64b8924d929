//! The proxy as a simulated node for the MPTCP simulation: a [`Shard`] serving one service
//! (MPTCP on) on one or more addresses. The client's wifi address is behind interface 0,
//! its cell address behind interface 1, the origin behind interface 2. The node keeps the
//! shard's events, counters, and the per-connection MPTCP counters while connections live.

use std::net::{IpAddr, SocketAddr};

use netreaktor_netsim::{IfaceId, Node, Transmit};
use netreaktor_pipeline::mptcp::conn::{MptcpConfig, MptcpStats};
use netreaktor_pipeline::proxy::{Side, SpliceConfig, SpliceEnd};
use netreaktor_pipeline::shard::{ServiceConfig, Shard, ShardConfig, ShardEvent, ShardStats};
use netreaktor_pipeline::tcp::listener::ListenerConfig;
use netreaktor_pipeline::time::Instant;
use netreaktor_pipeline::wire::ethernet::{EtherType, EthernetAddress, EthernetFrame};
use netreaktor_pipeline::wire::frame::ChecksumPolicy;

const ETH_LEN: usize = 14;

/// What happened on the proxy.
#[derive(Debug, Clone, Default)]
pub(crate) struct ServerLog {
    pub(crate) ends: Vec<(Instant, SpliceEnd)>,
    /// The last MPTCP counters seen of each connection while it lived (by token).
    pub(crate) conns: Vec<(u32, MptcpStats)>,
    /// Most subflows one connection had at once.
    pub(crate) max_subflows: usize,
}

/// The proxy node.
pub(crate) struct ServerNode {
    pub(crate) shard: Shard,
    /// Client addresses and the interface behind which each is.
    client_routes: Vec<(IpAddr, IfaceId)>,
    pub(crate) log: ServerLog,
    buf: Vec<u8>,
}

impl ServerNode {
    pub(crate) fn new(
        listener: ListenerConfig,
        listen: Vec<SocketAddr>,
        mptcp: Option<MptcpConfig>,
        origin: SocketAddr,
        origin_ip: IpAddr,
        client_routes: Vec<(IpAddr, IfaceId)>,
        secret: u8,
    ) -> ServerNode {
        let service = ServiceConfig {
            name: "sim".into(),
            listen,
            origins: vec![origin],
            max_tries: 1,
            health: None,
            max_connections: 1000,
            splice: SpliceConfig::default(),
            listener,
            mptcp,
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
        ServerNode {
            shard: Shard::new(cfg, Instant::ZERO),
            client_routes,
            log: ServerLog::default(),
            buf: vec![0u8; ETH_LEN + 100 + usize::from(listener.tcp.mss)],
        }
    }

    pub(crate) fn stats(&self) -> &ShardStats {
        self.shard.stats()
    }

    /// Every splice has finished (and at least one existed).
    pub(crate) fn all_finished(&self) -> bool {
        let stats = self.shard.stats();
        stats.accepted > 0 && stats.ended.total() == stats.accepted
    }

    fn settle(&mut self, now: Instant) {
        while let Some(event) = self.shard.poll_event() {
            if let ShardEvent::Ended { end, .. } = event {
                self.log.ends.push((now, end));
            }
        }
        for splice in self.shard.splices() {
            let Some(m) = splice.client().mptcp() else { continue };
            self.log.max_subflows = self.log.max_subflows.max(m.live_subflows());
            let token = m.token();
            match self.log.conns.iter_mut().find(|c| c.0 == token) {
                Some(c) => c.1 = *m.stats(),
                None => self.log.conns.push((token, *m.stats())),
            }
        }
    }

    fn iface_for(&self, side: Side, remote: SocketAddr) -> IfaceId {
        match side {
            Side::Client => {
                self.client_routes.iter().find(|r| r.0 == remote.ip()).map_or(IfaceId(0), |r| r.1)
            }
            Side::Origin => IfaceId(2),
        }
    }
}

impl Node for ServerNode {
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
