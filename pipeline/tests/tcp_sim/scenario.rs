//! One scenario run: a client and a server host joined by one link, the run to the end, and
//! the checks every scenario shares. A failing run names its scenario and seed, and
//! `TCP_SIM_SEED=<seed>` replays that seed alone.

use std::net::SocketAddr;

use netreaktor_netsim::hosts::{Stream, TcpApp, TcpHost};
use netreaktor_netsim::{Direction, Dirs, LinkConfig, LinkId, Network, NodeId, Rng, secs};
use netreaktor_pipeline::tcp::{CloseReason, Config, State};
use netreaktor_pipeline::time::{Duration, Instant};

/// Which host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Client,
    Server,
}

/// Everything that defines a run.
#[derive(Debug, Clone)]
pub(crate) struct Spec {
    pub(crate) name: &'static str,
    pub(crate) seed: u64,
    pub(crate) client_to_server: LinkConfig,
    pub(crate) server_to_client: LinkConfig,
    pub(crate) cfg: Config,
    /// Bytes the client sends, and the server.
    pub(crate) up: u64,
    pub(crate) down: u64,
    /// This side does not read during `from..from + span`.
    pub(crate) pause: Option<(Side, Instant, Duration)>,
    /// This side aborts after reading this many bytes.
    pub(crate) abort: Option<(Side, u64)>,
    /// Both directions of the link are cut during `from..from + span`.
    pub(crate) cut: Option<(Instant, Duration)>,
    /// Both sides must have finished by this virtual time.
    pub(crate) bound: Duration,
}

impl Spec {
    /// A spec with `link` in both directions, default config, and sizes drawn from `rng` in
    /// `min..=max` bytes.
    pub(crate) fn new(
        name: &'static str,
        seed: u64,
        link: LinkConfig,
        rng: &mut Rng,
        sizes: (u64, u64),
    ) -> Spec {
        Spec {
            name,
            seed,
            client_to_server: link.clone(),
            server_to_client: link,
            cfg: Config::default(),
            up: rng.range_inclusive(sizes.0, sizes.1),
            down: rng.range_inclusive(sizes.0, sizes.1),
            pause: None,
            abort: None,
            cut: None,
            bound: secs(60),
        }
    }
}

/// A finished (or stopped) run.
pub(crate) struct Run {
    pub(crate) spec: Spec,
    pub(crate) net: Network,
    pub(crate) client: NodeId,
    pub(crate) server: NodeId,
    pub(crate) link: LinkId,
    /// Why the run stopped early, if it did.
    pub(crate) stopped: Option<String>,
}

impl Run {
    pub(crate) fn host(&self, side: Side) -> &TcpHost {
        match side {
            Side::Client => self.net.node::<TcpHost>(self.client),
            Side::Server => self.net.node::<TcpHost>(self.server),
        }
    }

    /// Both hosts' logs and counters, for failure messages.
    pub(crate) fn describe(&self) -> String {
        let mut out = String::new();
        for side in [Side::Client, Side::Server] {
            let h = self.host(side);
            let stats = h.conn.as_ref().map(|c| *c.stats());
            out +=
                &format!("{side:?}: {:?} read {} {:?}\n  {stats:?}\n", h.state(), h.rx_got, h.log);
        }
        out
    }

    /// "scenario <name> seed <seed>", for failure messages.
    pub(crate) fn id(&self) -> String {
        format!("scenario {} seed {}", self.spec.name, self.spec.seed)
    }
}

/// Prints the scenario and seed if the thread panics while it is alive.
pub(crate) struct FailureNote(pub(crate) String);

impl Drop for FailureNote {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "tcp_sim FAILED: {} (replay with TCP_SIM_SEED={})",
                self.0,
                self.0.rsplit(' ').next().unwrap_or("?")
            );
        }
    }
}

/// The seeds to run: `0..n` (`0..$TCP_SIM_SEEDS` when set), or only `$TCP_SIM_SEED`.
pub(crate) fn seeds(n: u64) -> Vec<u64> {
    let env = |name: &str| std::env::var(name).ok().and_then(|s| s.parse::<u64>().ok());
    match env("TCP_SIM_SEED") {
        Some(seed) => vec![seed],
        None => (0..env("TCP_SIM_SEEDS").unwrap_or(n)).collect(),
    }
}

fn plan(spec: &Spec, side: Side) -> TcpApp {
    let (up, down) =
        (Stream::new(spec.seed.wrapping_mul(2)), Stream::new(spec.seed.wrapping_mul(2) + 1));
    let (tx, tx_len, rx, rx_len) = match side {
        Side::Client => (up, spec.up, down, spec.down),
        Side::Server => (down, spec.down, up, spec.up),
    };
    let pause = spec.pause.filter(|p| p.0 == side).map(|(_, from, span)| (from, from + span));
    let abort_after = spec.abort.filter(|a| a.0 == side).map(|a| a.1);
    TcpApp { pause, abort_after, ..TcpApp::new(tx, tx_len, rx, rx_len) }
}

/// The network of `spec`: client, server, one link, and the scheduled cut.
pub(crate) fn build(spec: Spec) -> Run {
    let mut net = Network::new(spec.seed);
    let c_addr: SocketAddr = "10.0.0.1:40000".parse().expect("address");
    let s_addr: SocketAddr = "10.0.0.2:443".parse().expect("address");
    let (c_iss, s_iss) = (net.rng().next_u32(), net.rng().next_u32());
    let client_app = plan(&spec, Side::Client);
    // TCP_SIM_TRACE set: every host prints every segment it receives.
    let trace = std::env::var_os("TCP_SIM_TRACE").is_some();
    let client = TcpHost::client(spec.cfg, c_addr, s_addr, c_iss, client_app).trace(trace);
    let server = TcpHost::server(spec.cfg, s_addr, s_iss, plan(&spec, Side::Server)).trace(trace);
    let (client, server) = (net.add_node(client), net.add_node(server));
    let link = net.connect(client.iface(0), server.iface(0), spec.client_to_server.clone());
    net.set_config(link, Direction::BToA, spec.server_to_client.clone());
    if let Some((from, span)) = spec.cut {
        net.schedule_cut(link, Dirs::Both, from, from + span);
    }
    net.set_step_limit(20_000_000);
    Run { spec, net, client, server, link, stopped: None }
}

/// Builds the network of `spec` and runs it until both connections end, the step limit, or
/// twice the bound of virtual time.
pub(crate) fn run(spec: Spec) -> Run {
    let mut run = build(spec);
    let (client, server) = (run.client, run.server);
    let limit = Instant::ZERO + run.spec.bound + run.spec.bound;
    let result = run.net.try_run_while(|net| {
        let done = net.node::<TcpHost>(client).finished() && net.node::<TcpHost>(server).finished();
        !done && net.now() < limit
    });
    run.stopped = result.err().map(|e| e.to_string());
    if std::env::var_os("TCP_SIM_VERBOSE").is_some() {
        eprintln!("{}: {} ms\n{}", run.id(), run.net.now().total_millis(), run.describe());
    }
    run
}

/// The checks of a complete transfer: every byte both ways, in order; both ends closed
/// cleanly (one in TIME-WAIT or CLOSED, the other CLOSED); within the bound.
pub(crate) fn check_complete(run: &Run) {
    let id = run.id();
    check_common(run);
    for side in [Side::Client, Side::Server] {
        let h = run.host(side);
        let want = if side == Side::Client { run.spec.down } else { run.spec.up };
        assert_eq!(h.rx_got, want, "{id}: {side:?} read {} of {want} bytes", h.rx_got);
        assert!(h.log.read_all_at.is_some(), "{id}: {side:?} did not see the end of the stream");
        let state = h.state();
        let clean =
            state == State::TimeWait || h.log.closed.is_some_and(|c| c.1 == CloseReason::Closed);
        assert!(clean, "{id}: {side:?} ended in {state:?}, {:?}\n{}", h.log.closed, run.describe());
    }
    let end = run.net.now();
    assert!(
        end <= Instant::ZERO + run.spec.bound,
        "{id}: finished at {} ms, over the bound of {} ms",
        end.total_millis(),
        run.spec.bound.total_millis()
    );
}

/// What every run must satisfy: it ended on its own, frames verified, streams intact so far.
pub(crate) fn check_common(run: &Run) {
    let id = run.id();
    assert!(run.stopped.is_none(), "{id}: {:?}", run.stopped);
    for side in [Side::Client, Side::Server] {
        let h = run.host(side);
        assert_eq!(h.log.error, None, "{id}: {side:?} stream error");
        assert_eq!(h.log.bad_frames, 0, "{id}: {side:?} got frames that failed to verify");
        assert!(
            h.finished(),
            "{id}: {side:?} did not finish: {:?} at {} ms, read {} bytes, {:?}",
            h.state(),
            run.net.now().total_millis(),
            h.rx_got,
            h.conn.as_ref().map(|c| *c.stats())
        );
    }
}
