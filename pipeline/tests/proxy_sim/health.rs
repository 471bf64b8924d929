//! Passive origin health through the simulator: origins `[dead, good]`, a client every
//! 600-620 ms (round-robin sends every other one to the dead origin: at 0, 1.2 and 2.4 s, and
//! the third fails at 3.4 s, before the next turn at 3.6 s, so exactly three meet it). The dead origin's three connect timeouts eject it; from then on no client waits a
//! connect timeout and no SYN goes to it until its back-off ends; it recovers meanwhile, and
//! the trial connection after the back-off restores it.

use std::net::SocketAddr;

use netreaktor_netsim::{Dirs, LinkConfig, Network, Rng, ms, secs};
use netreaktor_pipeline::proxy::{HealthChange, HealthConfig, SpliceConfig};
use netreaktor_pipeline::shard::OriginFailure;
use netreaktor_pipeline::tcp::Config;
use netreaktor_pipeline::tcp::listener::ListenerConfig;
use netreaktor_pipeline::time::{Duration, Instant};

use super::fleet::{Fleet, Greeter};
use super::proxy_node::ProxyNode;
use super::scenario::{Addresses, seeds};

const CLIENTS: usize = 60;
const CONNECT_TIMEOUT: Duration = secs(1);
const HEALTH: HealthConfig =
    HealthConfig { failures: 3, backoff: secs(10), max_backoff: secs(300), check: None };
/// When the dead origin's link comes back: before its back-off ends.
const RECOVERS: Instant = Instant::from_secs(8);

struct Outcome {
    net: Network,
    proxy: netreaktor_netsim::NodeId,
    fleet: netreaktor_netsim::NodeId,
    dead: netreaktor_netsim::NodeId,
    origins: [SocketAddr; 2],
}

fn run(seed: u64) -> Outcome {
    let mut r = Rng::stream(seed, 20);
    let link = || LinkConfig::new().delay(ms(1)).rate_mbps(100);
    let a = Addresses::v4();
    let origins = [a.origins[0], a.origins[1]];
    let cfg = Config::default();
    let mut net = Network::new(seed);
    let proxy = ProxyNode::new(
        ListenerConfig { tcp: cfg, ..ListenerConfig::default() },
        a.service,
        a.proxy_origin_ip,
        origins.to_vec(),
        (2, Some(HEALTH)),
        SpliceConfig { connect_timeout: CONNECT_TIMEOUT, ..SpliceConfig::default() },
        r.next_u32() as u8,
    );
    let proxy = net.add_node(proxy);
    let interval = ms(600 + r.range_inclusive(0, 20));
    let fleet = net.add_node(Fleet::new(cfg, a.client.ip(), a.service, (interval, CLIENTS)));
    net.connect(fleet.iface(0), proxy.iface(0), link());
    let dead = net.add_node(Greeter::new(cfg, origins[0]));
    let dead_link = net.connect(proxy.iface(1), dead.iface(0), link());
    net.cut(dead_link, Dirs::Both);
    net.schedule(RECOVERS, move |net| net.restore(dead_link, Dirs::Both));
    let good = net.add_node(Greeter::new(cfg, origins[1]));
    net.connect(proxy.iface(2), good.iface(0), link());
    net.set_step_limit(50_000_000);
    net.run_until(Instant::from_secs(45));
    Outcome { net, proxy, fleet, dead, origins }
}

#[test]
fn a_dead_origin_is_ejected_and_returns_after_its_backoff() {
    for seed in seeds(3) {
        let o = run(seed);
        let id = format!("seed {seed} (PROXY_SIM_SEED={seed})");
        let proxy: &ProxyNode = o.net.node(o.proxy);
        let log = &proxy.log;
        let dead = o.origins[0];
        // Ejected once, after 3 failures; one trial after the back-off; restored by it.
        let changes: Vec<_> = log.health.iter().map(|h| (h.1, h.2)).collect();
        let ejected = HealthChange::Ejected { backoff: secs(10), failures: 3 };
        let expected =
            [(dead, ejected), (dead, HealthChange::Trial), (dead, HealthChange::Restored)];
        assert_eq!(changes, expected, "{id}");
        let (ejected_at, trial_at) = (log.health[0].0, log.health[1].0);
        assert!(trial_at >= ejected_at + secs(10), "{id}: trial at {trial_at}");
        // No SYN to the dead origin while it was ejected; 3 before, all while it was down.
        let to_dead: Vec<Instant> =
            log.attempts.iter().filter(|a| a.1 == dead).map(|a| a.0).collect();
        assert_eq!(to_dead.iter().filter(|&&t| t < ejected_at).count(), 3, "{id}: {to_dead:?}");
        assert!(to_dead.iter().all(|&t| t < ejected_at || t >= trial_at), "{id}: {to_dead:?}");
        // Every client started after the ejection had its greeting within a connect timeout
        // of its start (virtual time); the earlier ones that met the dead origin waited one.
        let fleet: &Fleet = o.net.node(o.fleet);
        assert_eq!(fleet.clients.len(), CLIENTS, "{id}");
        let mut waited_timeout = 0;
        for (i, c) in fleet.clients.iter().enumerate() {
            let greeted = c.greeted.unwrap_or_else(|| panic!("{id}: client {i} not greeted"));
            let wait = greeted.saturating_duration_since(c.started);
            if c.started > ejected_at {
                assert!(wait < CONNECT_TIMEOUT, "{id}: client {i} waited {wait:?}");
            } else if wait >= CONNECT_TIMEOUT {
                waited_timeout += 1;
            }
        }
        assert_eq!(waited_timeout, 3, "{id}: before the ejection");
        // Restored: the dead origin took connections again, and is up at the end.
        let greeter: &Greeter = o.net.node(o.dead);
        assert!(greeter.accepted >= 10, "{id}: the recovered origin took {}", greeter.accepted);
        let (origin, stats, up) = proxy.origins()[0];
        assert_eq!(origin, dead);
        assert!(up, "{id}");
        assert_eq!(stats.failures.get(OriginFailure::ConnectTimeout), 3, "{id}");
        assert_eq!(stats.failures.total(), 3, "{id}");
        assert_eq!(stats.attempts, to_dead.len() as u64, "{id}");
        assert_eq!(stats.established, stats.attempts - 3, "{id}");
        let (_, good, good_up) = proxy.origins()[1];
        assert!(good_up && good.failures.total() == 0, "{id}");
        assert_eq!(good.established + stats.established, CLIENTS as u64, "{id}");
    }
}
