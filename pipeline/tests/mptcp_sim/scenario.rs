//! One MPTCP simulation run: the client host (wifi on interface 0, cell on interface 1, each
//! its own link to the proxy), the proxy node, one origin; run to the end, and the checks
//! the scenarios share. `MPTCP_SIM_SEED=<seed>` replays one seed, `MPTCP_SIM_SEEDS=<n>`
//! changes the count, `MPTCP_SIM_VERBOSE=1` prints every run.

use std::net::{IpAddr, SocketAddr};

use netreaktor_netsim::hosts::{HostRole, Stream, TcpApp, TcpHost};
use netreaktor_netsim::{Dirs, IfaceId, LinkConfig, LinkId, Network, NodeId, Rng};
use netreaktor_pipeline::mptcp::conn::MptcpConfig;
use netreaktor_pipeline::proxy::SpliceEnd;
use netreaktor_pipeline::shard::FrameDrop;
use netreaktor_pipeline::tcp::listener::ListenerConfig;
use netreaktor_pipeline::tcp::{CloseReason, Config, State};
use netreaktor_pipeline::time::{Duration, Instant};

use super::client::{ClientCfg, MpClient, Offer, Sched};
use super::server_node::ServerNode;

pub(crate) const WIFI: &str = "10.0.0.1";
pub(crate) const CELL: &str = "10.0.1.1";
pub(crate) const SERVICE: &str = "10.0.0.100:443";
pub(crate) const SECOND: &str = "10.0.0.101:443";
const ORIGIN: &str = "10.1.0.1:8080";
const PROXY_ORIGIN_IP: &str = "10.1.0.100";

pub(crate) fn addr(s: &str) -> SocketAddr {
    s.parse().expect("address")
}

pub(crate) fn ip(s: &str) -> IpAddr {
    s.parse().expect("address")
}

/// The IP MTU of the client's links: 1504, not 1500, because the server's full-size MPTCP
/// segments are 1502 bytes (server bug, see `full_size_segments_fit_a_1500_mtu`).
pub(crate) const CLIENT_MTU: usize = 1504;

/// `link` with the client links' MTU.
pub(crate) fn client_link(link: LinkConfig) -> LinkConfig {
    link.mtu(CLIENT_MTU)
}

/// Everything that defines a run.
#[derive(Debug, Clone)]
pub(crate) struct Spec {
    pub(crate) name: &'static str,
    pub(crate) seed: u64,
    pub(crate) wifi: LinkConfig,
    pub(crate) cell: LinkConfig,
    pub(crate) origin_link: LinkConfig,
    pub(crate) client: ClientCfg,
    pub(crate) mptcp: MptcpConfig,
    pub(crate) listen: Vec<SocketAddr>,
    /// Blackholes: (0 wifi / 1 cell, from, until).
    pub(crate) cuts: Vec<(usize, Instant, Instant)>,
    pub(crate) bound: Duration,
    /// The origin writes this many bytes per this interval (see `TcpApp::write_rate`).
    pub(crate) origin_write_rate: Option<(u64, Duration)>,
    /// The origin resets its connection once it has read this many bytes.
    pub(crate) origin_abort_after: Option<u64>,
}

impl Spec {
    /// The client uploads `up` bytes, the origin sends `down`.
    pub(crate) fn new(name: &'static str, seed: u64, up: u64, down: u64) -> Spec {
        let (up_s, down_s) = (Stream::new(seed.wrapping_mul(2)), Stream::new(seed * 2 + 1));
        let link = client_link(LinkConfig::new().delay(Duration::from_millis(10)).rate_mbps(50));
        Spec {
            name,
            seed,
            wifi: link.clone(),
            cell: link.clone(),
            origin_link: LinkConfig::new().delay(Duration::from_millis(2)).rate_mbps(1000),
            client: ClientCfg {
                tcp: Config::default(),
                offer: Offer::Mptcp,
                sched: Sched::RoundRobin,
                ips: vec![ip(WIFI), ip(CELL)],
                service: addr(SERVICE),
                actions: Vec::new(),
                join_announced_from: None,
                mute_data_fin: false,
                tx: up_s,
                tx_len: up,
                rx: down_s,
                rx_len: down,
            },
            mptcp: MptcpConfig::default(),
            listen: vec![addr(SERVICE)],
            cuts: Vec::new(),
            bound: Duration::from_secs(60),
            origin_write_rate: None,
            origin_abort_after: None,
        }
    }

    pub(crate) fn origin_app(&self) -> TcpApp {
        let c = &self.client;
        TcpApp {
            write_rate: self.origin_write_rate,
            abort_after: self.origin_abort_after,
            ..TcpApp::new(c.rx, c.rx_len, c.tx, c.tx_len)
        }
    }
}

/// A finished (or stopped) run.
pub(crate) struct Run {
    pub(crate) spec: Spec,
    pub(crate) net: Network,
    pub(crate) client: NodeId,
    pub(crate) proxy: NodeId,
    pub(crate) origin: NodeId,
    pub(crate) links: [LinkId; 2],
    pub(crate) stopped: Option<String>,
    /// When the client, the splice and the origin were done.
    pub(crate) finished_at: Instant,
}

impl Run {
    pub(crate) fn client(&self) -> &MpClient {
        self.net.node::<MpClient>(self.client)
    }

    pub(crate) fn proxy(&self) -> &ServerNode {
        self.net.node::<ServerNode>(self.proxy)
    }

    pub(crate) fn origin(&self) -> &TcpHost {
        self.net.node::<TcpHost>(self.origin)
    }

    pub(crate) fn id(&self) -> String {
        format!(
            "scenario {} seed {} (MPTCP_SIM_SEED={})",
            self.spec.name, self.spec.seed, self.spec.seed
        )
    }

    pub(crate) fn describe(&self) -> String {
        let c = self.client();
        let mut out = format!(
            "at {} ms\nclient: {:?} mode {:?}\n",
            self.net.now().total_millis(),
            c.log,
            c.mode
        );
        out += &format!(
            "  snd_una {} snd_nxt {} wnd_end {} fin_acked {} rcv_nxt {} peer_fin {:?} reinject {:?}\n",
            c.snd_una, c.snd_nxt, c.wnd_end, c.fin_acked, c.rcv_nxt, c.peer_fin, c.reinject
        );
        for (i, s) in c.subs.iter().enumerate() {
            out += &format!(
                "  sub {i} {:?} iface {} {:?} joined {} rx {} stalled {} rst {:?} tx {:?} queued {} wnd {} {:?}\n",
                s.tcp.state(),
                s.iface,
                s.kind,
                s.joined,
                s.rx_bytes,
                s.stalled,
                s.rst,
                s.tx,
                s.tcp.send_queued(),
                s.tcp.send_window(),
                s.tcp.stats()
            );
        }
        let o = self.origin();
        out += &format!("origin: {:?} read {} {:?}\n", o.state(), o.rx_got, o.log);
        let p = self.proxy();
        out += &format!(
            "proxy: {:?}\n  mptcp {:?}\n  conns {:?}\n",
            p.log.ends,
            p.stats().mptcp,
            p.log.conns
        );
        out += &format!("  connections {}\n", p.shard.connections());
        out
    }
}

/// Prints the scenario and seed if the thread panics while it is alive.
pub(crate) struct FailureNote(pub(crate) String);

impl Drop for FailureNote {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("mptcp_sim FAILED: {}", self.0);
        }
    }
}

/// `0..n` (`0..$MPTCP_SIM_SEEDS` when set), or only `$MPTCP_SIM_SEED`.
pub(crate) fn seeds(n: u64) -> Vec<u64> {
    let env = |name: &str| std::env::var(name).ok().and_then(|s| s.parse::<u64>().ok());
    match env("MPTCP_SIM_SEED") {
        Some(seed) => vec![seed],
        None => (0..env("MPTCP_SIM_SEEDS").unwrap_or(n)).collect(),
    }
}

/// The network of a run, before it starts: a test may schedule more events on it.
pub(crate) fn build(spec: Spec) -> Run {
    let mut net = Network::new(spec.seed);
    let mut rng = Rng::stream(spec.seed, 99);
    let client = net.add_node(MpClient::new(spec.client.clone(), spec.seed));
    let listener = ListenerConfig { tcp: Config::default(), ..ListenerConfig::default() };
    let routes = vec![(ip(WIFI), IfaceId(0)), (ip(CELL), IfaceId(1))];
    let proxy = ServerNode::new(
        listener,
        spec.listen.clone(),
        Some(spec.mptcp.clone()),
        addr(ORIGIN),
        ip(PROXY_ORIGIN_IP),
        routes,
        rng.next_u32() as u8,
    );
    let proxy = net.add_node(proxy);
    let wifi = net.connect(client.iface(0), proxy.iface(0), spec.wifi.clone());
    let cell = net.connect(client.iface(1), proxy.iface(1), spec.cell.clone());
    let origin = TcpHost::passive(
        HostRole::Server,
        Config::default(),
        addr(ORIGIN),
        rng.next_u32(),
        spec.origin_app(),
    );
    let origin = net.add_node(origin);
    net.connect(proxy.iface(2), origin.iface(0), spec.origin_link.clone());
    let links = [wifi, cell];
    for &(which, from, until) in &spec.cuts {
        net.schedule_cut(links[which], Dirs::Both, from, until);
    }
    net.set_step_limit(50_000_000);
    Run { spec, net, client, proxy, origin, links, stopped: None, finished_at: Instant::ZERO }
}

/// Runs until the client, the proxy's splice and the origin are done, or twice the bound.
pub(crate) fn run(spec: Spec) -> Run {
    finish(build(spec))
}

/// Runs a built network until the client, the proxy's splice and the origin are done, or
/// twice the bound.
pub(crate) fn finish(mut run: Run) -> Run {
    let (client, proxy, origin) = (run.client, run.proxy, run.origin);
    let limit = Instant::ZERO + run.spec.bound + run.spec.bound;
    let result = run.net.try_run_while(|net| {
        let o = net.node::<TcpHost>(origin);
        let done = net.node::<MpClient>(client).done()
            && net.node::<ServerNode>(proxy).all_finished()
            && (o.conn.is_none() || o.done());
        !done && net.now() < limit
    });
    run.stopped = result.err().map(|e| e.to_string());
    run.finished_at = run.net.now();
    // The shard keeps an entry until its connections leave TIME-WAIT: give it that time,
    // so "nothing leaks" can be checked.
    let drain_until = run.net.now() + Duration::from_secs(300);
    let _ = run.net.try_run_while(|net| {
        net.node::<ServerNode>(proxy).shard.connections() > 0 && net.now() < drain_until
    });
    if std::env::var_os("MPTCP_SIM_VERBOSE").is_some() {
        eprintln!("{}:\n{}", run.id(), run.describe());
    }
    run
}

/// Every run: it ended on its own, no oracle error, frames verified, nothing leaked.
pub(crate) fn check_common(run: &Run) {
    let (id, d) = (run.id(), run.describe());
    assert!(run.stopped.is_none(), "{id}: {:?}", run.stopped);
    let c = run.client();
    assert_eq!(c.log.error, None, "{id}: client oracle\n{d}");
    assert_eq!(c.log.bad_frames, 0, "{id}\n{d}");
    assert_eq!(run.origin().log.error, None, "{id}: origin stream\n{d}");
    assert!(c.done(), "{id}: client not done\n{d}");
    assert!(run.proxy().all_finished(), "{id}: splice not finished\n{d}");
    assert_eq!(run.proxy().shard.connections(), 0, "{id}: connections leaked\n{d}");
    let census = run.proxy().shard.census();
    assert_eq!(census, Default::default(), "{id}: the census drifted\n{d}");
    let s = run.proxy().stats();
    assert_eq!(
        s.dropped.get(FrameDrop::Malformed) + s.dropped.get(FrameDrop::Checksum),
        0,
        "{id}: proxy bad frames\n{d}"
    );
}

/// Byte-exact both ways, clean ends, `Closed`, in the bound; `mptcp` says whether the
/// connection was MPTCP (else it fell back to TCP).
pub(crate) fn check_complete(run: &Run, mptcp: bool) {
    check_common(run);
    let (id, d) = (run.id(), run.describe());
    let (c, o) = (run.client(), run.origin());
    assert_eq!(c.rcv_nxt, c.cfg.rx_len, "{id}: client short\n{d}");
    assert!(c.log.read_all_at.is_some() && c.fin_acked, "{id}: client not finished\n{d}");
    assert_eq!(o.rx_got, c.cfg.tx_len, "{id}: origin short\n{d}");
    assert!(o.log.read_all_at.is_some(), "{id}: origin saw no end\n{d}");
    let clean = |p: &TcpHost| {
        p.state() == State::TimeWait || p.log.closed.is_some_and(|c| c.1 == CloseReason::Closed)
    };
    assert!(clean(o), "{id}: origin unclean\n{d}");
    let ends: Vec<_> = run.proxy().log.ends.iter().map(|e| e.1).collect();
    assert_eq!(ends, [SpliceEnd::Closed], "{id}\n{d}");
    let want = if mptcp { "mptcp" } else { "fallback" };
    if c.cfg.offer != Offer::Plain {
        assert_eq!(c.log.mode, Some(want), "{id}\n{d}");
    }
    assert_eq!(run.proxy().stats().mptcp.connections, u64::from(mptcp), "{id}\n{d}");
    let end = run.finished_at;
    assert!(end <= Instant::ZERO + run.spec.bound, "{id}: ended at {} ms\n{d}", end.total_millis());
}
