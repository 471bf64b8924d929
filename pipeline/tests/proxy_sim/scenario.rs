//! One proxy simulation run: client -- proxy -- origin(s), run to the end, and the checks the
//! scenarios share. A failing run names its scenario and seed; `PROXY_SIM_SEED=<seed>`
//! replays that seed alone.

use std::net::{IpAddr, SocketAddr};

use netreaktor_netsim::hosts::{HostRole, Stream, TcpApp, TcpHost};
use netreaktor_netsim::{Dirs, LinkConfig, Network, NodeId, Rng};
use netreaktor_pipeline::proxy::{SpliceConfig, SpliceEnd};
use netreaktor_pipeline::tcp::listener::ListenerConfig;
use netreaktor_pipeline::tcp::{CloseReason, Config, State};
use netreaktor_pipeline::time::{Duration, Instant};

use super::proxy_node::ProxyNode;

pub(crate) const CLIENT: &str = "10.0.0.1:40000";
pub(crate) const SERVICE: &str = "10.0.0.100:443";
pub(crate) const PROXY_ORIGIN_IP: &str = "10.1.0.100";
pub(crate) const ORIGINS: [&str; 2] = ["10.1.0.1:8080", "10.1.0.2:8080"];

/// What an origin server does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OriginKind {
    /// Accepts and runs the origin application.
    Serve,
    /// Answers every SYN with a RST.
    Refuse,
    /// Its link is cut: nothing reaches it.
    Dead,
}

/// The addresses of a run: the client's, the service's, the proxy's origin-side source
/// and the origins'. Each pair of ends is of one IP version; the two pairs need not be.
#[derive(Debug, Clone)]
pub(crate) struct Addresses {
    pub(crate) client: SocketAddr,
    pub(crate) service: SocketAddr,
    pub(crate) proxy_origin_ip: IpAddr,
    pub(crate) origins: Vec<SocketAddr>,
}

impl Addresses {
    /// IPv4 everywhere.
    pub(crate) fn v4() -> Addresses {
        Addresses {
            client: addr(CLIENT),
            service: addr(SERVICE),
            proxy_origin_ip: PROXY_ORIGIN_IP.parse().expect("address"),
            origins: ORIGINS.iter().map(|s| addr(s)).collect(),
        }
    }

    /// An IPv6 client and service.
    pub(crate) fn with_v6_client(self) -> Addresses {
        Addresses {
            client: addr("[2001:db8::1]:40000"),
            service: addr("[2001:db8::100]:443"),
            ..self
        }
    }

    /// IPv6 origins and origin-side source.
    pub(crate) fn with_v6_origins(self) -> Addresses {
        Addresses {
            proxy_origin_ip: "fd00:1::100".parse().expect("address"),
            origins: vec![addr("[fd00:1::1]:8080"), addr("[fd00:1::2]:8080")],
            ..self
        }
    }
}

/// Everything that defines a run.
#[derive(Debug, Clone)]
pub(crate) struct Spec {
    pub(crate) name: &'static str,
    pub(crate) addresses: Addresses,
    pub(crate) seed: u64,
    pub(crate) client_link: LinkConfig,
    pub(crate) origin_link: LinkConfig,
    pub(crate) cfg: Config,
    pub(crate) proxy_cfg: Config,
    pub(crate) splice: SpliceConfig,
    pub(crate) origins: Vec<OriginKind>,
    pub(crate) max_tries: u32,
    pub(crate) client_app: TcpApp,
    pub(crate) origin_app: TcpApp,
    /// Everything must have finished by this virtual time.
    pub(crate) bound: Duration,
}

impl Spec {
    /// One serving origin; the client sends `up` bytes and the origin `down`.
    pub(crate) fn new(name: &'static str, seed: u64, link: LinkConfig, up: u64, down: u64) -> Spec {
        let (up_stream, down_stream) =
            (Stream::new(seed.wrapping_mul(2)), Stream::new(seed.wrapping_mul(2) + 1));
        Spec {
            name,
            addresses: Addresses::v4(),
            seed,
            client_link: link.clone(),
            origin_link: link,
            cfg: Config::default(),
            proxy_cfg: Config::default(),
            splice: SpliceConfig::default(),
            origins: vec![OriginKind::Serve],
            max_tries: 1,
            client_app: TcpApp::new(up_stream, up, down_stream, down),
            origin_app: TcpApp::new(down_stream, down, up_stream, up),
            bound: Duration::from_secs(60),
        }
    }
}

/// A finished (or stopped) run.
pub(crate) struct Run {
    pub(crate) spec: Spec,
    pub(crate) net: Network,
    pub(crate) client: NodeId,
    pub(crate) proxy: NodeId,
    pub(crate) origins: Vec<NodeId>,
    pub(crate) stopped: Option<String>,
}

impl Run {
    pub(crate) fn client(&self) -> &TcpHost {
        self.net.node::<TcpHost>(self.client)
    }

    /// Origin `i`.
    pub(crate) fn origin(&self, i: usize) -> &TcpHost {
        self.net.node::<TcpHost>(self.origins[i])
    }

    pub(crate) fn proxy(&self) -> &ProxyNode {
        self.net.node::<ProxyNode>(self.proxy)
    }

    /// The serving origin (the last one).
    pub(crate) fn server(&self) -> &TcpHost {
        self.origin(self.origins.len() - 1)
    }

    pub(crate) fn id(&self) -> String {
        format!("scenario {} seed {}", self.spec.name, self.spec.seed)
    }

    pub(crate) fn describe(&self) -> String {
        let mut out = format!("at {} ms\n", self.net.now().total_millis());
        let c = self.client();
        out += &format!("client: {:?} read {} {:?}\n", c.state(), c.rx_got, c.log);
        for i in 0..self.origins.len() {
            let o = self.origin(i);
            out += &format!("origin {i}: {:?} read {} {:?}\n", o.state(), o.rx_got, o.log);
        }
        out += &format!("proxy: {:?}\n", self.proxy().log);
        for s in self.proxy().splices() {
            out += &format!("  splice moved {:?}\n", s.moved());
        }
        out
    }
}

/// Prints the scenario and seed if the thread panics while it is alive.
pub(crate) struct FailureNote(pub(crate) String);

impl Drop for FailureNote {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("proxy_sim FAILED: {}", self.0);
        }
    }
}

/// `0..n` (`0..$PROXY_SIM_SEEDS` when set), or only `$PROXY_SIM_SEED`.
pub(crate) fn seeds(n: u64) -> Vec<u64> {
    let env = |name: &str| std::env::var(name).ok().and_then(|s| s.parse::<u64>().ok());
    match env("PROXY_SIM_SEED") {
        Some(seed) => vec![seed],
        None => (0..env("PROXY_SIM_SEEDS").unwrap_or(n)).collect(),
    }
}

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("address")
}

fn build(spec: Spec) -> Run {
    let mut net = Network::new(spec.seed);
    let mut rng = Rng::stream(spec.seed, 99);
    let a = spec.addresses.clone();
    let client =
        TcpHost::client(spec.cfg, a.client, a.service, rng.next_u32(), spec.client_app.clone());
    let client = net.add_node(client);
    let origin_addrs: Vec<SocketAddr> =
        a.origins.iter().take(spec.origins.len()).copied().collect();
    let listener_cfg = ListenerConfig { tcp: spec.proxy_cfg, ..ListenerConfig::default() };
    let proxy = ProxyNode::new(
        listener_cfg,
        a.service,
        a.proxy_origin_ip,
        origin_addrs.clone(),
        (spec.max_tries, None),
        spec.splice,
        rng.next_u32() as u8,
    );
    let proxy = net.add_node(proxy);
    net.connect(client.iface(0), proxy.iface(0), spec.client_link.clone());
    let mut origins = Vec::new();
    for (i, (kind, local)) in spec.origins.iter().zip(&origin_addrs).enumerate() {
        let role = if *kind == OriginKind::Refuse { HostRole::Refuser } else { HostRole::Server };
        let peer =
            TcpHost::passive(role, spec.cfg, *local, rng.next_u32(), spec.origin_app.clone());
        let node = net.add_node(peer);
        let link = net.connect(proxy.iface(i as u16 + 1), node.iface(0), spec.origin_link.clone());
        if *kind == OriginKind::Dead {
            net.cut(link, Dirs::Both);
        }
        origins.push(node);
    }
    net.set_step_limit(50_000_000);
    Run { spec, net, client, proxy, origins, stopped: None }
}

/// Runs until the client and the proxy's splices are done and every origin that connected
/// is done, or twice the bound.
pub(crate) fn run(spec: Spec) -> Run {
    let mut run = build(spec);
    let (client, proxy, origins) = (run.client, run.proxy, run.origins.clone());
    let limit = Instant::ZERO + run.spec.bound + run.spec.bound;
    let result = run.net.try_run_while(|net| {
        let origins_done = origins.iter().all(|&o| {
            let peer = net.node::<TcpHost>(o);
            peer.conn.is_none() || peer.done()
        });
        let done = net.node::<TcpHost>(client).done()
            && net.node::<ProxyNode>(proxy).all_finished()
            && origins_done;
        !done && net.now() < limit
    });
    run.stopped = result.err().map(|e| e.to_string());
    if std::env::var_os("PROXY_SIM_VERBOSE").is_some() {
        eprintln!("{}:\n{}", run.id(), run.describe());
    }
    run
}

/// A clean end: CLOSED with `Closed`, or TIME-WAIT.
fn clean(peer: &TcpHost) -> bool {
    peer.state() == State::TimeWait || peer.log.closed.is_some_and(|c| c.1 == CloseReason::Closed)
}

/// Every byte both ways, both ends closed cleanly, the splice ended `Closed`, in the bound.
pub(crate) fn check_complete(run: &Run) {
    let id = run.id();
    check_common(run);
    let (client, server) = (run.client(), run.server());
    let d = run.describe();
    assert_eq!(client.rx_got, run.spec.client_app.rx_len, "{id}: client short\n{d}");
    assert_eq!(server.rx_got, run.spec.origin_app.rx_len, "{id}: origin short\n{d}");
    assert!(client.log.read_all_at.is_some(), "{id}: client saw no end of stream\n{d}");
    assert!(server.log.read_all_at.is_some(), "{id}: origin saw no end of stream\n{d}");
    assert!(clean(client) && clean(server), "{id}: unclean end\n{d}");
    assert_eq!(
        run.proxy().log.ends.iter().map(|e| e.1).collect::<Vec<_>>(),
        [SpliceEnd::Closed],
        "{id}\n{d}"
    );
    let end = run.net.now();
    assert!(
        end <= Instant::ZERO + run.spec.bound,
        "{id}: finished at {} ms\n{d}",
        end.total_millis()
    );
}

/// Every run: it ended on its own, frames verified, streams intact so far.
pub(crate) fn check_common(run: &Run) {
    let id = run.id();
    let d = run.describe();
    assert!(run.stopped.is_none(), "{id}: {:?}", run.stopped);
    let peers = std::iter::once(run.client()).chain((0..run.origins.len()).map(|i| run.origin(i)));
    for peer in peers {
        assert_eq!(peer.log.error, None, "{id}: stream error\n{d}");
        assert_eq!(peer.log.bad_frames, 0, "{id}: bad frames\n{d}");
    }
    assert_eq!(run.proxy().log.bad_frames, 0, "{id}: proxy got bad frames\n{d}");
    assert!(run.client().finished(), "{id}: client did not finish\n{d}");
    assert!(run.proxy().all_finished(), "{id}: splice did not finish\n{d}");
    // Every splice held is finished, and the census kept as they settled says so.
    let census = run.proxy().census();
    let held = run.proxy().splices().count();
    let time_wait = census.phases[netreaktor_pipeline::proxy::SplicePhase::TimeWait.index()];
    assert_eq!(
        (census.phases.iter().sum::<usize>(), time_wait),
        (held, held),
        "{id}: {census:?}\n{d}"
    );
}
