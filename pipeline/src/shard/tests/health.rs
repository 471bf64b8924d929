//! The shard reports every origin attempt's outcome to its service's passive health: a
//! connect timeout ejects (here after one failure), the connection after the back-off is the
//! trial, a trial whose client leaves first lets the next connection be the trial, and a
//! connected trial restores the origin. Counters per origin follow.

use super::super::*;
use super::{Rig, cfg, client_from};
use crate::proxy::{HealthChange, HealthConfig};
use crate::time::Duration;

/// Runs timers until `done` or `limit` past now.
fn run_until(rig: &mut Rig, limit: Duration, done: impl Fn(&Rig) -> bool) {
    let end = rig.now + limit;
    while !done(rig) {
        let next = [rig.shard.poll_timeout(), rig.client.poll_timeout()].into_iter().flatten();
        rig.now = next.min().expect("a timer runs").max(rig.now);
        assert!(rig.now <= end, "not done by {end}");
        rig.shard.handle_timeout(rig.now);
        rig.client.handle_timeout(rig.now);
        rig.shuttle();
    }
}

fn changes(rig: &mut Rig) -> Vec<HealthChange> {
    std::iter::from_fn(|| rig.shard.poll_health_event()).map(|e| e.change).collect()
}

#[test]
fn outcomes_reach_the_origin_health_and_its_counters() {
    let backoff = Duration::from_secs(10);
    let mut config = cfg(0, 1);
    let health =
        HealthConfig { failures: 1, backoff, max_backoff: Duration::from_secs(60), check: None };
    config.services[0].health = Some(health);
    let mut rig = Rig::with(config);
    // 1. The origin does not answer: the connect timeout ejects it; no other origin is
    // left to try, so the client is reset.
    rig.origin_gone = true;
    rig.shuttle();
    run_until(&mut rig, Duration::from_secs(6), |r| r.client.close_reason().is_some());
    let ejected = HealthChange::Ejected { backoff, failures: 1 };
    assert_eq!(changes(&mut rig), [ejected]);
    assert!(!rig.shard.origins().next().expect("one origin").up);
    // 2. After the back-off, the next client is the trial; it leaves before the origin
    // answers, which says nothing of the origin: the next client is the trial again.
    rig.now += backoff;
    rig.client = client_from(5556, rig.now);
    rig.shuttle();
    assert_eq!(changes(&mut rig), [HealthChange::Trial]);
    rig.client.abort(rig.now);
    rig.shuttle();
    assert_eq!(rig.shard.stats().ended.get(EndKind::ClientReset), 1);
    // 3. The origin answers the next trial: restored.
    rig.origin_gone = false;
    rig.client = client_from(5557, rig.now);
    rig.shuttle();
    assert_eq!(changes(&mut rig), [HealthChange::Trial, HealthChange::Restored]);
    let report = rig.shard.origins().next().expect("one origin");
    assert!(report.up);
    let s = report.stats;
    assert_eq!((s.attempts, s.established, s.failures.total()), (3, 1, 1));
    assert_eq!(s.failures.get(OriginFailure::ConnectTimeout), 1);
    assert_eq!(rig.shard.service_name(0), Some("t"));
}
