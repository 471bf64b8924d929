//! Passive origin health: the state table of `health.rs` and the picker that follows it.

use std::net::SocketAddr;

use super::*;
use crate::time::{Duration, Instant};

const CFG: HealthConfig = HealthConfig {
    failures: 3,
    backoff: Duration::from_secs(10),
    max_backoff: Duration::from_secs(35),
    check: None,
};

fn origins(n: u8) -> Vec<SocketAddr> {
    (1..=n).map(|i| SocketAddr::from(([10, 1, 0, i], 80))).collect()
}

fn picker(n: u8) -> OriginPicker {
    OriginPicker::new(origins(n), u32::from(n), Some(CFG)).expect("origins")
}

fn secs(s: u64) -> Instant {
    Instant::from_secs(s)
}

/// The indexes of `n` consecutive picks at `now`.
fn picks(p: &mut OriginPicker, n: usize, now: Instant) -> Vec<usize> {
    (0..n).map(|_| p.pick(now).1.index()).collect()
}

fn changes(p: &mut OriginPicker) -> Vec<(usize, HealthChange)> {
    std::iter::from_fn(|| p.poll_change()).collect()
}

/// Ejects origin `index` of `p` with CFG.failures failures at `now`.
fn eject(p: &mut OriginPicker, index: usize, now: Instant) {
    for _ in 0..CFG.failures {
        p.report(index, HealthInput::Failure, now);
    }
}

#[test]
fn ejected_after_n_consecutive_failures() {
    let mut p = picker(2);
    p.report(0, HealthInput::Failure, secs(0));
    p.report(0, HealthInput::Failure, secs(0));
    assert!(p.health(0).is_some_and(OriginHealth::is_up));
    assert_eq!(changes(&mut p), []);
    p.report(0, HealthInput::Failure, secs(1));
    let backoff = Duration::from_secs(10);
    assert_eq!(changes(&mut p), [(0, HealthChange::Ejected { backoff, failures: 3 })]);
    assert_eq!(
        p.health(0).map(OriginHealth::state),
        Some(HealthState::Ejected { until: secs(11), backoff })
    );
}

#[test]
fn a_success_resets_the_failure_count() {
    let mut p = picker(2);
    for _ in 0..5 {
        p.report(0, HealthInput::Failure, secs(0));
        p.report(0, HealthInput::Failure, secs(0));
        p.report(0, HealthInput::Success, secs(0));
    }
    assert_eq!(p.health(0).map(OriginHealth::state), Some(HealthState::Up { failures: 0 }));
    assert_eq!(changes(&mut p), []);
}

#[test]
fn none_picked_while_ejected() {
    let mut p = picker(3);
    eject(&mut p, 1, secs(0));
    assert_eq!(picks(&mut p, 6, secs(5)), [0, 2, 0, 2, 0, 2]);
    // Until the back-off has passed, to the microsecond.
    let almost = secs(10) - Duration::from_micros(1);
    assert!(picks(&mut p, 10, almost).iter().all(|&i| i != 1));
}

#[test]
fn a_retry_skips_ejected_origins_and_never_repeats_one() {
    let mut p = picker(4);
    eject(&mut p, 1, secs(0));
    let (_, mut attempt) = p.pick(secs(1));
    assert_eq!(attempt.index(), 0);
    assert_eq!(p.retry(&mut attempt, secs(1)).map(|_| attempt.index()), Some(2));
    eject(&mut p, 3, secs(1));
    // 3 is ejected and 0, 1, 2 were passed: the fallback is the next position, 3 itself.
    assert_eq!(p.retry(&mut attempt, secs(1)).map(|_| attempt.index()), Some(3));
    // Every origin was passed (1 skipped): no second try of 0, though a try is left.
    assert_eq!(attempt.tries(), 3);
    assert_eq!(p.retry(&mut attempt, secs(1)), None);
}

#[test]
fn every_origin_ejected_falls_back_to_round_robin() {
    let mut p = picker(2);
    eject(&mut p, 0, secs(0));
    eject(&mut p, 1, secs(0));
    assert_eq!(picks(&mut p, 4, secs(1)), [0, 1, 0, 1]);
    // A fallback pick is no trial: the states stay as they were.
    assert!(!p.health(0).is_some_and(OriginHealth::is_up));
    assert_eq!(changes(&mut p).len(), 2, "the two ejections only");
}

#[test]
fn after_the_backoff_one_trial_then_restored() {
    let mut p = picker(2);
    eject(&mut p, 0, secs(0));
    changes(&mut p);
    // The back-off passed: the next connection that reaches 0 in turn is its trial, and
    // no other goes to it while the trial is out.
    assert_eq!(picks(&mut p, 4, secs(10)), [0, 1, 1, 1]);
    assert_eq!(changes(&mut p), [(0, HealthChange::Trial)]);
    assert!(matches!(p.health(0).map(OriginHealth::state), Some(HealthState::Trial { .. })));
    p.report(0, HealthInput::Success, secs(11));
    assert_eq!(changes(&mut p), [(0, HealthChange::Restored)]);
    assert_eq!(picks(&mut p, 4, secs(11)), [0, 1, 0, 1]);
}

#[test]
fn a_failed_trial_doubles_the_backoff_up_to_the_cap() {
    let mut p = picker(2);
    eject(&mut p, 0, secs(0));
    let mut now = secs(0);
    let mut seen = Vec::new();
    for _ in 0..4 {
        let Some(HealthState::Ejected { until, .. }) = p.health(0).map(OriginHealth::state) else {
            panic!("ejected")
        };
        now = until;
        let trial = (0..2).map(|_| p.pick(now).1).find(|a| a.index() == 0).expect("a trial");
        p.report(trial.index(), HealthInput::Failure, now);
        let ejections = changes(&mut p).into_iter().filter_map(|(_, c)| match c {
            HealthChange::Ejected { backoff, failures } => Some((backoff, failures)),
            _ => None,
        });
        seen.extend(ejections);
    }
    let s = Duration::from_secs;
    assert_eq!(seen[0], (s(10), 3));
    assert_eq!(&seen[1..], [(s(20), 1), (s(35), 1), (s(35), 1), (s(35), 1)]);
    let _ = now;
}

#[test]
fn an_abandoned_trial_lets_the_next_connection_be_the_trial() {
    let mut p = picker(2);
    eject(&mut p, 0, secs(0));
    assert_eq!(p.pick(secs(10)).1.index(), 0);
    assert_eq!(picks(&mut p, 2, secs(10)), [1, 1], "the trial is out");
    p.report(0, HealthInput::Abandoned, secs(10));
    assert_eq!(p.pick(secs(10)).1.index(), 0, "the next trial");
}

#[test]
fn a_trial_unanswered_for_max_backoff_is_retried() {
    let mut p = picker(2);
    eject(&mut p, 0, secs(0));
    assert_eq!(p.pick(secs(10)).1.index(), 0);
    assert_eq!(picks(&mut p, 2, secs(44)), [1, 1]);
    assert_eq!(picks(&mut p, 2, secs(45)), [0, 1]);
}

#[test]
fn late_results_while_ejected() {
    let mut p = picker(2);
    eject(&mut p, 0, secs(0));
    changes(&mut p);
    // A failure of an attempt started before the ejection changes nothing...
    p.report(0, HealthInput::Failure, secs(1));
    assert_eq!(changes(&mut p), []);
    // ...a success restores the origin at once.
    p.report(0, HealthInput::Success, secs(2));
    assert_eq!(changes(&mut p), [(0, HealthChange::Restored)]);
    assert_eq!(picks(&mut p, 2, secs(2)), [0, 1]);
}

#[test]
fn health_off_never_ejects() {
    let mut p = OriginPicker::new(origins(2), 2, None).expect("origins");
    for _ in 0..10 {
        p.report(0, HealthInput::Failure, secs(0));
    }
    assert_eq!(changes(&mut p), []);
    assert_eq!(picks(&mut p, 4, secs(0)), [0, 1, 0, 1]);
}

/// Every state x input pair of the declared table.
#[test]
fn the_whole_transition_table() {
    use HealthChange::{Ejected as Ej, Restored, Trial as Tr};
    use HealthInput::{Abandoned, Failure, Picked, Success};
    use HealthState::{Ejected, Trial, Up};
    let b = Duration::from_secs(10);
    let now = secs(100);
    let up1 = Up { failures: 1 };
    let up2 = Up { failures: 2 };
    let passed = Ejected { until: secs(100), backoff: b };
    let waiting = Ejected { until: secs(105), backoff: b };
    let trial = Trial { since: secs(99), backoff: b };
    let stale = Trial { since: secs(65), backoff: b };
    let rows = [
        (up1, Failure, up2, None),
        (
            up2,
            Failure,
            Ejected { until: secs(110), backoff: b },
            Some(Ej { backoff: b, failures: 3 }),
        ),
        (up2, Success, Up { failures: 0 }, None),
        (up1, Abandoned, up1, None),
        (up1, Picked, up1, None),
        (waiting, Failure, waiting, None),
        (waiting, Success, Up { failures: 0 }, Some(Restored)),
        (waiting, Abandoned, waiting, None),
        (waiting, Picked, waiting, None),
        (passed, Picked, Trial { since: now, backoff: b }, Some(Tr)),
        (
            trial,
            Failure,
            Ejected { until: secs(120), backoff: b.saturating_mul(2) },
            Some(Ej { backoff: b.saturating_mul(2), failures: 1 }),
        ),
        (trial, Success, Up { failures: 0 }, Some(Restored)),
        (trial, Abandoned, Ejected { until: now, backoff: b }, None),
        (trial, Picked, trial, None),
        (stale, Picked, Trial { since: now, backoff: b }, Some(Tr)),
    ];
    for (from, input, to, change) in rows {
        let mut h = OriginHealth::default();
        h.set(from);
        assert_eq!(h.on(input, now, &CFG), change, "{from:?} {input:?}");
        assert_eq!(h.state(), to, "{from:?} {input:?}");
    }
}

/// With active checks on, the end of the back-off sends no client as a trial: the ejected
/// origin is skipped until a success (a check's) restores it.
#[test]
fn with_checks_on_an_ejected_origin_waits_for_a_success_not_a_trial() {
    let check = HealthCheck { interval: Duration::from_secs(2), timeout: Duration::from_secs(1) };
    let cfg = HealthConfig { check: Some(check), ..CFG };
    let mut p = OriginPicker::new(origins(2), 2, Some(cfg)).expect("origins");
    for _ in 0..CFG.failures {
        p.report(0, HealthInput::Failure, secs(0));
    }
    let _ = changes(&mut p);
    assert_eq!(picks(&mut p, 4, secs(100)), [1, 1, 1, 1], "long past the back-off: no trial");
    assert_eq!(changes(&mut p), []);
    p.report(0, HealthInput::Success, secs(101));
    assert_eq!(changes(&mut p), [(0, HealthChange::Restored)]);
    assert_eq!(picks(&mut p, 2, secs(101)), [0, 1]);
}
