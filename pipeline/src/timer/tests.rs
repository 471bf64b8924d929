//! Tests for the timer wheel: unit cases, large and long-idle cases, and a randomized model
//! test against a plain list of deadlines.

use std::collections::BTreeSet;

use proptest::prelude::*;

use super::*;
use crate::time::{Duration, Instant};

const MS: Duration = Duration::from_millis(1);

fn at_ms(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

fn drain<T>(wheel: &mut TimerWheel<T>, now: Instant) -> Vec<T> {
    let mut out = Vec::new();
    wheel.advance(now, |_, value| out.push(value));
    out
}

#[test]
fn fires_at_deadline_rounded_up_to_a_tick() {
    let mut wheel = TimerWheel::new(Instant::ZERO, MS);
    wheel.insert(Instant::from_micros(2_500), "a");
    assert_eq!(wheel.next_deadline(), Some(at_ms(3)));
    assert!(drain(&mut wheel, Instant::from_micros(2_999)).is_empty());
    assert_eq!(drain(&mut wheel, at_ms(3)), ["a"]);
    assert!(wheel.is_empty());
    assert_eq!(wheel.next_deadline(), None);
}

#[test]
fn fires_in_deadline_order_across_levels() {
    let mut wheel = TimerWheel::new(Instant::ZERO, MS);
    let deadlines = [70_000, 5, 64, 4_096, 63, 262_144, 1, 65, 300_000_000];
    for ms in deadlines {
        wheel.insert(at_ms(ms), ms);
    }
    let mut expected = deadlines.to_vec();
    expected.sort_unstable();
    assert_eq!(drain(&mut wheel, at_ms(u32::MAX.into())), expected);
}

#[test]
fn past_deadlines_fire_at_the_next_poll_first() {
    let mut wheel = TimerWheel::new(at_ms(1_000), MS);
    drain(&mut wheel, at_ms(2_000));
    wheel.insert(at_ms(2_001), "future");
    wheel.insert(at_ms(10), "before origin");
    wheel.insert(at_ms(1_500), "past");
    assert_eq!(wheel.next_deadline(), Some(at_ms(2_000)));
    assert_eq!(drain(&mut wheel, at_ms(2_000)), ["before origin", "past"]);
    assert_eq!(drain(&mut wheel, at_ms(2_001)), ["future"]);
}

#[test]
fn timers_armed_while_draining_fire_in_the_same_drain_if_due() {
    let mut wheel = TimerWheel::new(Instant::ZERO, MS);
    wheel.insert(at_ms(10), 10);
    wheel.insert(at_ms(30), 30);
    let now = at_ms(40);
    let (_, first) = wheel.poll_expired(now).expect("10 is due");
    assert_eq!(first, 10);
    wheel.insert(at_ms(20), 20);
    wheel.insert(at_ms(50), 50);
    let rest: Vec<_> = core::iter::from_fn(|| wheel.poll_expired(now).map(|(_, v)| v)).collect();
    assert_eq!(rest, [20, 30]);
    assert_eq!(wheel.len(), 1);
}

#[test]
fn cancel_and_reset_take_effect() {
    let mut wheel = TimerWheel::new(Instant::ZERO, MS);
    let a = wheel.insert(at_ms(10), 'a');
    let b = wheel.insert(at_ms(20), 'b');
    assert_eq!(wheel.deadline(b), Some(at_ms(20)));
    assert!(wheel.reset(b, at_ms(5)));
    assert_eq!(wheel.deadline(b), Some(at_ms(5)));
    assert_eq!(wheel.cancel(a), Some('a'));
    assert_eq!(drain(&mut wheel, at_ms(100)), ['b']);
}

#[test]
fn stale_handles_never_touch_other_timers() {
    let mut wheel = TimerWheel::new(Instant::ZERO, MS);
    let a = wheel.insert(at_ms(10), "a");
    assert_eq!(wheel.cancel(a), Some("a"));
    assert_eq!(wheel.cancel(a), None);
    // The freed slot is reused by `b`; `a` must stay stale.
    let b = wheel.insert(at_ms(10), "b");
    assert_eq!(b.index, a.index);
    assert_ne!(a, b);
    assert_eq!(wheel.cancel(a), None);
    assert!(!wheel.reset(a, at_ms(1)));
    assert!(!wheel.contains(a) && wheel.contains(b));
    assert_eq!(wheel.deadline(a), None);
    // A fired timer's handle is stale too, and is the handle `insert` returned.
    let (fired, value) = wheel.poll_expired(at_ms(10)).expect("b fires");
    assert_eq!((fired, value), (b, "b"));
    assert_eq!(wheel.cancel(b), None);
    // A forged handle beyond the slab is merely stale.
    assert_eq!(wheel.cancel(TimerHandle { index: usize::MAX, generation: 0 }), None);
}

#[test]
fn many_timers_in_one_slot() {
    const N: usize = 100_000;
    let mut wheel = TimerWheel::new(Instant::ZERO, MS);
    let handles: Vec<_> = (0..N).map(|i| wheel.insert(at_ms(1_000), i)).collect();
    for h in handles.iter().step_by(2) {
        assert!(wheel.cancel(*h).is_some());
    }
    assert_eq!(wheel.len(), N / 2);
    assert!(drain(&mut wheel, at_ms(999)).is_empty());
    let fired = drain(&mut wheel, at_ms(1_000));
    assert_eq!(fired.len(), N / 2);
    assert!(fired.iter().all(|i| i % 2 == 1));
    assert!(wheel.is_empty());
    // The slab is reused, not grown.
    let again = wheel.insert(at_ms(2_000), 0);
    assert!(again.index < N);
}

#[test]
fn long_idle_jumps_fire_everything_in_order() {
    // 1 µs ticks: the wheel spans about 19 hours; days-long timers go through overflow.
    let mut wheel = TimerWheel::new(Instant::ZERO, Duration::from_micros(1));
    let hour = 3_600;
    let secs = [1, 59, 3_601, 7 * hour, 20 * hour, 30 * hour, 3 * 24 * hour, 40 * 24 * hour];
    for s in secs {
        wheel.insert(Instant::from_secs(s), s);
    }
    assert!(wheel.next_deadline().expect("armed") <= Instant::from_secs(1));
    // One jump of 10 hours, then 25 more, then 100 days.
    assert_eq!(drain(&mut wheel, Instant::from_secs(10 * hour)), [1, 59, 3_601, 7 * hour]);
    assert_eq!(drain(&mut wheel, Instant::from_secs(35 * hour)), [20 * hour, 30 * hour]);
    assert!(drain(&mut wheel, Instant::from_secs(3 * 24 * hour - 1)).is_empty());
    assert_eq!(drain(&mut wheel, Instant::from_secs(100 * 24 * hour)), [72 * hour, 960 * hour]);
}

#[test]
fn extreme_deadlines_do_not_overflow() {
    let mut wheel = TimerWheel::new(Instant::from_secs(5), Duration::from_secs(1));
    wheel.insert(Instant::MAX, "never");
    wheel.insert(Instant::MAX - Duration::from_secs(3), "almost never");
    wheel.insert(Instant::ZERO, "past");
    assert_eq!(drain(&mut wheel, Instant::from_secs(1_000_000)), ["past"]);
    assert!(wheel.next_deadline().is_some());
    // Instant::MAX rounded up to a whole second lies beyond Instant::MAX: it never fires.
    assert_eq!(drain(&mut wheel, Instant::MAX), ["almost never"]);
    assert_eq!(wheel.len(), 1);
    // With 1 µs ticks every deadline is reachable, Instant::MAX included.
    let mut fine = TimerWheel::new(Instant::ZERO, Duration::ZERO);
    assert_eq!(fine.tick(), Duration::from_micros(1));
    fine.insert(Instant::MAX, "max");
    fine.insert(Instant::from_micros(3), "3");
    assert_eq!(drain(&mut fine, Instant::from_micros(3)), ["3"]);
    assert_eq!(drain(&mut fine, Instant::MAX), ["max"]);
}

#[test]
fn polling_at_next_deadline_reaches_every_timer_within_a_tick() {
    let tick = Duration::from_micros(1_000);
    let mut wheel = TimerWheel::new(Instant::ZERO, tick);
    let deadlines: Vec<u64> =
        (0..200u64).map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 24).collect();
    for (i, &us) in deadlines.iter().enumerate() {
        wheel.insert(Instant::from_micros(us), i);
    }
    let mut polls = 0;
    while let Some(when) = wheel.next_deadline() {
        polls += 1;
        wheel.advance(when, |_, i| {
            let deadline = Instant::from_micros(deadlines[i]);
            assert!(deadline <= when && when < deadline + tick, "timer {i} fired at {when}");
        });
    }
    // At most one poll per timer and level, plus overflow visits.
    assert!(polls <= 200 * 8, "{polls} polls");
}

/// One step of the randomized model test.
#[derive(Debug, Clone)]
enum Op {
    /// Arm a timer `offset` µs from now (negative: in the past).
    Insert(i64),
    /// Cancel the n-th known handle (live or stale).
    Cancel(usize),
    /// Move the n-th known handle to `offset` µs from now.
    Reset(usize, i64),
    /// Move time forward by this many µs and drain.
    Advance(u64),
}

fn offset() -> impl Strategy<Value = i64> {
    prop_oneof![-5_000i64..0, 0i64..200, 0i64..100_000, 0i64..1 << 40, 0i64..1 << 45]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => offset().prop_map(Op::Insert),
        1 => any::<usize>().prop_map(Op::Cancel),
        1 => (any::<usize>(), offset()).prop_map(|(n, o)| Op::Reset(n, o)),
        3 => prop_oneof![0u64..50, 0u64..100_000, 0u64..1 << 38, 0u64..1 << 46].prop_map(Op::Advance),
    ]
}

/// The reference: every live timer with its deadline and the tick it must fire in.
struct Model {
    tick: u64,
    now: u64,
    live: Vec<(TimerHandle, u64, u64)>,
    handles: Vec<TimerHandle>,
}

impl Model {
    fn due_tick(&self, deadline: u64) -> u64 {
        deadline.div_ceil(self.tick).max(self.now / self.tick)
    }

    fn deadline(&self, offset: i64) -> u64 {
        self.now.saturating_add_signed(offset)
    }

    fn position(&self, handle: TimerHandle) -> Option<usize> {
        self.live.iter().position(|(h, ..)| *h == handle)
    }
}

fn run_model(tick: u64, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut wheel = TimerWheel::new(Instant::ZERO, Duration::from_micros(tick));
    let mut model = Model { tick, now: 0, live: Vec::new(), handles: Vec::new() };
    let mut next_id = 0u64;
    for op in ops {
        match op {
            Op::Insert(offset) => {
                let deadline = model.deadline(offset);
                let handle = wheel.insert(Instant::from_micros(deadline), next_id);
                model.live.push((handle, deadline, next_id));
                model.handles.push(handle);
                next_id += 1;
            }
            Op::Cancel(n) => {
                let Some(&handle) = model.handles.get(n % model.handles.len().max(1)) else {
                    continue;
                };
                let expected = model.position(handle).map(|i| model.live.swap_remove(i).2);
                prop_assert_eq!(wheel.cancel(handle), expected);
            }
            Op::Reset(n, offset) => {
                let Some(&handle) = model.handles.get(n % model.handles.len().max(1)) else {
                    continue;
                };
                let deadline = model.deadline(offset);
                let pos = model.position(handle);
                prop_assert_eq!(wheel.reset(handle, Instant::from_micros(deadline)), pos.is_some());
                if let Some(i) = pos {
                    model.live[i].1 = deadline;
                }
            }
            Op::Advance(delta) => advance_and_check(&mut wheel, &mut model, delta)?,
        }
        check_next_deadline(&wheel, &model)?;
    }
    advance_and_check(&mut wheel, &mut model, u64::MAX)
}

fn advance_and_check(
    wheel: &mut TimerWheel<u64>,
    model: &mut Model,
    delta: u64,
) -> Result<(), TestCaseError> {
    let now = model.now.saturating_add(delta);
    let mut fired = Vec::new();
    wheel.advance(Instant::from_micros(now), |h, id| fired.push((h, id)));
    let due: BTreeSet<u64> = model
        .live
        .iter()
        .filter(|(_, d, _)| model.due_tick(*d) <= now / model.tick)
        .map(|(.., id)| *id)
        .collect();
    let got: BTreeSet<u64> = fired.iter().map(|(_, id)| *id).collect();
    prop_assert_eq!(&got, &due, "fire set at {}", now);
    prop_assert_eq!(got.len(), fired.len(), "a timer fired twice");
    let mut last_tick = 0;
    for (handle, id) in &fired {
        let i = model.position(*handle).expect("fired handle is live");
        let (_, deadline, live_id) = model.live.swap_remove(i);
        prop_assert_eq!(*id, live_id);
        prop_assert!(deadline <= now, "timer {} fired early", id);
        let tick = model.due_tick(deadline);
        prop_assert!(tick >= last_tick, "timer {} out of order", id);
        last_tick = tick;
    }
    for (_, deadline, id) in &model.live {
        prop_assert!(deadline.saturating_add(model.tick) > now, "timer {} is late", id);
    }
    model.now = now;
    Ok(())
}

fn check_next_deadline(wheel: &TimerWheel<u64>, model: &Model) -> Result<(), TestCaseError> {
    prop_assert_eq!(wheel.len(), model.live.len());
    let earliest = model.live.iter().map(|(_, d, _)| model.due_tick(*d)).min();
    match (wheel.next_deadline(), earliest) {
        (None, None) => {}
        (Some(next), Some(tick)) => {
            let exact = Instant::from_micros(tick.saturating_mul(model.tick));
            prop_assert!(next <= exact, "next_deadline {} after earliest {}", next, exact);
        }
        (next, tick) => prop_assert!(false, "next_deadline {:?} vs earliest tick {:?}", next, tick),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn wheel_matches_model(
        tick in prop_oneof![Just(1u64), Just(7), Just(1_000)],
        ops in prop::collection::vec(op(), 1..200),
    ) {
        run_model(tick, ops)?;
    }
}
