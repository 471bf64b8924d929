//! A reload's new service configuration (`reconfigure.rs`): a connection in flight keeps its
//! origin, new connections go to the new origins, an origin that stays keeps its counters
//! and health, and a change only a restart makes is refused with nothing changed.

use std::net::SocketAddr;

use super::super::*;
use super::{Rig, cfg, client_from};
use crate::proxy::HealthConfig;
use crate::time::Duration;

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

#[test]
fn a_connection_in_flight_keeps_its_origin_and_new_ones_use_the_new_list() {
    let mut rig = Rig::new();
    rig.shuttle();
    rig.client.send(b"before");
    rig.shuttle();
    let first = rig.origin.as_ref().expect("origin connection").local();
    assert_eq!(first, addr("10.10.0.2:8080"));
    let mut new = cfg(0, 1).services;
    new[0].origins = vec![addr("10.10.0.3:8080")];
    rig.shard.reconfigure(new).expect("a live change");
    rig.client.send(b"after");
    rig.shuttle();
    let mut got = [0u8; 32];
    let origin = rig.origin.as_mut().unwrap();
    let n = origin.recv(&mut got);
    assert_eq!(&got[..n], b"beforeafter", "the splice carries on");
    assert_eq!(rig.shard.connections(), 1);
    rig.client = client_from(5556, rig.now);
    rig.origin = None;
    rig.shuttle();
    let second = rig.origin.as_ref().expect("a new origin connection").local();
    assert_eq!(second, addr("10.10.0.3:8080"), "the new connection uses the new origin");
    assert_eq!(rig.shard.connections(), 2);
    let listed: Vec<_> = rig.shard.origins().map(|o| (o.origin, o.stats.established)).collect();
    assert_eq!(listed, [(addr("10.10.0.3:8080"), 1)], "the removed origin is gone");
}

#[test]
fn an_origin_that_stays_keeps_its_counters_and_health() {
    let mut config = cfg(0, 1);
    let health = HealthConfig {
        failures: 3,
        backoff: Duration::from_secs(10),
        max_backoff: Duration::from_secs(60),
        check: None,
    };
    config.services[0].health = Some(health);
    let mut rig = Rig::with(config.clone());
    rig.shuttle();
    let mut new = config.services;
    new[0].origins = vec![addr("10.10.0.9:80"), addr("10.10.0.2:8080")];
    new[0].max_connections = 1;
    rig.shard.reconfigure(new).expect("a live change");
    let listed: Vec<_> = rig
        .shard
        .origins()
        .map(|o| (o.origin, o.stats.attempts, o.stats.established, o.up))
        .collect();
    assert_eq!(listed, [(addr("10.10.0.9:80"), 0, 0, true), (addr("10.10.0.2:8080"), 1, 1, true)]);
    // The new limit applies to new connections: the one held fills it.
    rig.client = client_from(5556, rig.now);
    rig.shuttle();
    assert_eq!(rig.shard.stats().refused_limit, 1);
}

#[test]
fn a_change_only_a_restart_makes_is_refused_and_nothing_changes() {
    let mut rig = Rig::new();
    let running = cfg(0, 1).services;
    let mut more = running.clone();
    more.push(running[0].clone());
    assert_eq!(rig.shard.reconfigure(more), Err(ReconfigureError::Services { running: 1, new: 2 }));
    let refused = |edit: fn(&mut ServiceConfig)| {
        let mut new = cfg(0, 1).services;
        edit(&mut new[0]);
        new[0].origins = vec![addr("10.10.0.3:8080")];
        new
    };
    type Edit = fn(&mut ServiceConfig);
    let cases: [(Edit, &str); 4] = [
        (|s| s.name = "other".into(), "name"),
        (|s| s.listen = vec![addr("10.9.0.2:81")], "listen"),
        (|s| s.listener.tcp.mss = 1200, "listener"),
        (|s| s.listener.synack_retries = 1, "listener"),
    ];
    for (edit, what) in cases {
        let got = rig.shard.reconfigure(refused(edit));
        assert_eq!(got, Err(ReconfigureError::Restart { service: 0, what }));
    }
    let mut empty = running.clone();
    empty[0].origins.clear();
    assert_eq!(
        rig.shard.reconfigure(empty),
        Err(ReconfigureError::Restart { service: 0, what: "origins" })
    );
    let origins: Vec<_> = rig.shard.origins().map(|o| o.origin).collect();
    assert_eq!(origins, [addr("10.10.0.2:8080")], "nothing changed");
    // The listener's limits do change live.
    let mut limits = running;
    limits[0].listener.half_open_max = 3;
    limits[0].listener.syn_cookies = false;
    assert_eq!(rig.shard.reconfigure(limits), Ok(()));
}
