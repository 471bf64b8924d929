//! Tests for both controllers: RFC rules one by one, known answers for CUBIC's curve, a
//! property test over arbitrary event sequences and a loss-sawtooth model check.

use super::cubic::{self, Cubic};
use super::*;
use proptest::prelude::*;

const MSS: usize = 1000;

fn config(algorithm: Algorithm) -> Config {
    Config { algorithm, ..Config::new(MSS) }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// One round trip of ACK clocking: every segment of the current window is acknowledged
/// separately, spread evenly over `rtt`, with the window kept full. Returns the next round's
/// start.
fn round(cc: &mut dyn CongestionControl, start: Instant, rtt: Duration) -> Instant {
    let segments = (cc.cwnd() / cc.mss()).max(1) as u64;
    for i in 0..segments {
        let at = start + Duration::from_micros(rtt.total_micros() * i / segments);
        let flight = cc.cwnd().saturating_sub(cc.mss());
        cc.on_ack(at, cc.mss(), Some(rtt), flight);
    }
    start + rtt
}

/// Drives `cc` into congestion avoidance at `cwnd` bytes: a loss at that window and the end
/// of its recovery.
fn loss_at(cc: &mut dyn CongestionControl, now: Instant, cwnd: usize) {
    while cc.cwnd() < cwnd {
        let flight = cc.cwnd();
        cc.on_ack(now, MSS.min(cwnd - cc.cwnd()), None, flight);
    }
    assert_eq!(cc.cwnd(), cwnd, "slow start lands exactly on the target");
    cc.on_congestion_event(now, cwnd);
    cc.on_recovery_end(now);
}

// ---- initial window and configuration ----------------------------------------------------

#[test]
fn initial_window_follows_rfc_6928() {
    assert_eq!(initial_window(1460), 14_600);
    assert_eq!(initial_window(536), 5_360);
    assert_eq!(initial_window(4000), 14_600);
    assert_eq!(initial_window(9000), 18_000);
    for algorithm in [Algorithm::NewReno, Algorithm::Cubic] {
        let cc = Controller::new(&Config { algorithm, ..Config::new(1460) });
        assert_eq!(cc.cwnd(), 14_600);
        assert!(cc.in_slow_start());
        assert_eq!(cc.algorithm(), algorithm);
        let small = Config { algorithm, initial_window: Some(1), ..Config::new(1460) };
        assert_eq!(Controller::new(&small).cwnd(), 1460, "configured IW clamped to 1 MSS");
        let big = Config { initial_window: Some(4 * 1460), ..small };
        assert_eq!(Controller::new(&big).cwnd(), 4 * 1460);
    }
}

#[test]
fn mss_is_clamped_and_max_window_fits_two_segments() {
    let cc = Controller::new(&Config { mss: 0, max_window: 0, ..Config::new(0) });
    assert_eq!(cc.mss(), 1);
    assert!(cc.cwnd() >= 1 && cc.cwnd() <= 2);
    let mut cc = Controller::new(&config(Algorithm::NewReno));
    cc.set_mss(usize::MAX);
    assert_eq!(cc.mss(), MAX_MSS);
    assert!(cc.cwnd() >= MAX_MSS);
}

// ---- NewReno -------------------------------------------------------------------------------

#[test]
fn newreno_slow_start_doubles_per_rtt() {
    let mut cc = Controller::new(&config(Algorithm::NewReno));
    let mut now = Instant::ZERO;
    for expected in [20, 40, 80, 160] {
        now = round(&mut cc, now, ms(50));
        assert_eq!(cc.cwnd(), expected * MSS);
    }
}

#[test]
fn newreno_byte_counting_limits_stretch_acks_to_two_segments() {
    // RFC 3465 §2.2: L = 2·SMSS.
    let mut cc = Controller::new(&config(Algorithm::NewReno));
    cc.on_ack(Instant::ZERO, 8 * MSS, None, 2 * MSS);
    assert_eq!(cc.cwnd(), 12 * MSS);
}

#[test]
fn newreno_congestion_avoidance_adds_one_mss_per_rtt() {
    let mut cc = Controller::new(&config(Algorithm::NewReno));
    loss_at(&mut cc, Instant::ZERO, 40 * MSS);
    assert_eq!((cc.cwnd(), cc.ssthresh()), (20 * MSS, 20 * MSS));
    assert!(!cc.in_slow_start());
    let mut now = Instant::from_secs(1);
    for expected in 21..=30 {
        now = round(&mut cc, now, ms(50));
        assert_eq!(cc.cwnd(), expected * MSS);
    }
}

#[test]
fn newreno_halves_once_per_recovery_and_keeps_two_mss() {
    let mut cc = Controller::new(&config(Algorithm::NewReno));
    let now = Instant::ZERO;
    cc.on_congestion_event(now, 10 * MSS);
    assert_eq!((cc.cwnd(), cc.ssthresh()), (5 * MSS, 5 * MSS));
    assert!(cc.in_recovery());
    cc.on_congestion_event(now, 5 * MSS);
    assert_eq!(cc.cwnd(), 5 * MSS, "one reduction per recovery episode");
    cc.on_ack(now, MSS, None, 5 * MSS);
    assert_eq!(cc.cwnd(), 5 * MSS, "no growth during recovery");
    cc.on_recovery_end(now);
    cc.on_congestion_event(now, MSS);
    assert_eq!(cc.cwnd(), 2 * MSS, "max(FlightSize/2, 2·SMSS)");
}

#[test]
fn newreno_rto_collapses_to_one_mss_and_holds_ssthresh_when_repeated() {
    let mut cc = Controller::new(&config(Algorithm::NewReno));
    let now = Instant::ZERO;
    cc.on_retransmission_timeout(now, 30 * MSS);
    assert_eq!((cc.cwnd(), cc.ssthresh()), (MSS, 15 * MSS));
    cc.on_retransmission_timeout(now, MSS);
    assert_eq!((cc.cwnd(), cc.ssthresh()), (MSS, 15 * MSS), "RFC 5681 §3.1: held");
    // RFC 3465 §2.3: L = 1·SMSS in the slow start after an RTO.
    cc.on_ack(now, 4 * MSS, None, 0);
    assert_eq!(cc.cwnd(), 2 * MSS);
}

#[test]
fn application_limited_sender_does_not_grow() {
    for algorithm in [Algorithm::NewReno, Algorithm::Cubic] {
        let mut cc = Controller::new(&config(algorithm));
        cc.on_ack(Instant::ZERO, MSS, None, MSS);
        assert_eq!(cc.cwnd(), 10 * MSS, "{algorithm:?}: 2 of 10 segments in use");
    }
}

#[test]
fn spurious_congestion_is_undone() {
    for algorithm in [Algorithm::NewReno, Algorithm::Cubic] {
        let mut cc = Controller::new(&config(algorithm));
        let (cwnd, ssthresh) = (cc.cwnd(), cc.ssthresh());
        cc.on_congestion_event(Instant::ZERO, cwnd);
        cc.on_spurious_congestion(Instant::ZERO);
        assert_eq!((cc.cwnd(), cc.ssthresh(), cc.in_recovery()), (cwnd, ssthresh, false));
        cc.on_retransmission_timeout(Instant::ZERO, cwnd);
        cc.on_spurious_congestion(Instant::ZERO);
        assert_eq!((cc.cwnd(), cc.ssthresh()), (cwnd, ssthresh), "{algorithm:?}");
    }
}

// ---- CUBIC: the formulas -------------------------------------------------------------------

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * b.abs().max(1.0)
}

#[test]
fn cube_root_is_exact_enough() {
    assert_eq!(cubic::cbrt(27.0), 3.0);
    assert_eq!(cubic::cbrt(-8.0), -2.0);
    assert_eq!(cubic::cbrt(0.0), 0.0);
    for x in [1e-12, 0.001, 0.5, 2.0, 75.0, 1e9, 1e300] {
        let y = cubic::cbrt(x);
        assert!(close(y * y * y, x, 1e-14), "cbrt({x}) = {y}");
    }
    // Python 3: 1.7976931348623157e308 ** (1/3) = 5.643803094122362e+102
    assert!(close(cubic::cbrt(f64::MAX), 5.643803094122362e102, 1e-14));
    let tiny = cubic::cbrt(5e-324);
    assert!(tiny > 1.6e-108 && tiny < 1.8e-108, "cbrt(5e-324) = {tiny}");
    assert!(cubic::cbrt(f64::NAN).is_nan());
}

#[test]
fn k_and_w_cubic_match_rfc_9438_known_answers() {
    // Python 3: C, B = 0.4, 0.7; K = (Wmax*(1-B)/C)**(1/3); W(t) = C*(t-K)**3 + Wmax
    //   Wmax = 100:  K = 4.217163326508746, W(1) = 86.68076383512988, W(2) = 95.64033568663878,
    //                W(5) = 100.1918993394395, W(10) = 177.35399908835427
    //   Wmax = 1000: K = 9.085602964160698, W(1) = 788.555093909846, W(5) = 972.7209984093731
    //   Wmax = 10:   K = 1.9574338205844317, W(5) = 21.26626835427364
    //   alpha_cubic = 3*(1-B)/(1+B) = 0.5294117647058825
    let k100 = cubic::k(100.0, 70.0);
    assert!(close(k100, 4.217163326508746, 1e-13));
    assert!(close(cubic::w_cubic(0.0, k100, 100.0), 70.0, 1e-13));
    assert!(close(cubic::w_cubic(1.0, k100, 100.0), 86.68076383512988, 1e-13));
    assert!(close(cubic::w_cubic(2.0, k100, 100.0), 95.64033568663878, 1e-13));
    assert!(close(cubic::w_cubic(5.0, k100, 100.0), 100.1918993394395, 1e-13));
    assert!(close(cubic::w_cubic(10.0, k100, 100.0), 177.35399908835427, 1e-13));
    let k1000 = cubic::k(1000.0, 700.0);
    assert!(close(k1000, 9.085602964160698, 1e-13));
    assert!(close(cubic::w_cubic(1.0, k1000, 1000.0), 788.555093909846, 1e-13));
    assert!(close(cubic::w_cubic(5.0, k1000, 1000.0), 972.7209984093731, 1e-13));
    let k10 = cubic::k(10.0, 7.0);
    assert!(close(k10, 1.9574338205844317, 1e-13));
    assert!(close(cubic::w_cubic(5.0, k10, 10.0), 21.26626835427364, 1e-13));
    assert!(close(cubic::ALPHA, 0.5294117647058825, 1e-15));
    assert!(cubic::k(50.0, 70.0) < 0.0, "above W_max K is negative (convex from the start)");
}

// ---- CUBIC: the controller -----------------------------------------------------------------

fn cubic_after_loss(w_max_segments: usize, fast_convergence: bool) -> Cubic {
    let mut cc = Cubic::new(&Config { fast_convergence, ..Config::new(MSS) });
    loss_at(&mut cc, Instant::ZERO, w_max_segments * MSS);
    cc
}

#[test]
fn cubic_multiplicative_decrease_is_0_7() {
    let cc = cubic_after_loss(100, true);
    assert_eq!((cc.cwnd(), cc.ssthresh()), (70 * MSS, 70 * MSS));
    assert_eq!(cc.w_max(), 100.0);
    let mut small = Cubic::new(&Config::new(MSS));
    small.on_congestion_event(Instant::ZERO, 2 * MSS);
    assert_eq!(small.cwnd(), 2 * MSS, "cwnd = max(ssthresh, 2·SMSS)");
}

#[test]
fn cubic_epoch_k_matches_formula() {
    let mut cc = cubic_after_loss(100, true);
    cc.on_ack(Instant::from_secs(1), MSS, Some(ms(100)), 70 * MSS);
    assert!(close(cc.k(), 4.217163326508746, 1e-13), "K = {}", cc.k());
    assert_eq!(cc.min_rtt(), Some(ms(100)));
}

/// Per-RTT cwnd samples (segments) of CUBIC after a loss at 1000 segments, RTT 100 ms.
fn cubic_trajectory(seconds: u64) -> Vec<f64> {
    let mut cc = cubic_after_loss(1000, true);
    let mut now = Instant::from_secs(1);
    let mut samples = Vec::new();
    for _ in 0..seconds * 10 {
        now = round(&mut cc, now, ms(100));
        samples.push(cc.cwnd() as f64 / MSS as f64);
    }
    samples
}

#[test]
fn cubic_grows_concave_then_convex_around_w_max() {
    // K = 9.0856 s = ~91 rounds of 100 ms.
    let w = cubic_trajectory(16);
    let growth = |i: usize| w[i + 1] - w[i];
    assert!(growth(10) > growth(40) && growth(40) > growth(80), "concave below W_max");
    assert!(growth(95) < growth(120) && growth(120) < growth(150), "convex above W_max");
    assert!(close(w[90], 1000.0, 0.01), "plateau at W_max near t = K: {}", w[90]);
    // The curve itself, one RTT ahead: W_cubic(t + RTT) at the end of round 30 (t ≈ 3 s).
    let expected = cubic::w_cubic(3.1, 9.085602964160698, 1000.0);
    assert!(close(w[29], expected, 0.02), "{} vs {expected}", w[29]);
}

#[test]
fn cubic_reno_friendly_region_dominates_at_small_rtt() {
    let mut cc = cubic_after_loss(100, true);
    let mut now = Instant::from_secs(1);
    let start = now;
    for _ in 0..100 {
        now = round(&mut cc, now, ms(1));
    }
    // After 100 RTTs of 1 ms the curve has barely moved: W_cubic(0.1 s) = 72.1.
    let t = (now - start).as_secs_f64();
    let curve = cubic::w_cubic(t, cc.k(), cc.w_max());
    let cwnd = cc.cwnd() as f64 / MSS as f64;
    assert!(curve < 73.0 && cwnd > 110.0, "cwnd {cwnd} follows W_est {}", cc.w_est());
    assert!(close(cwnd, cc.w_est(), 0.01));
}

#[test]
fn cubic_fast_convergence_lowers_w_max() {
    for (fast, expected) in [(true, 90.0 * 0.85), (false, 90.0)] {
        let mut cc = cubic_after_loss(100, fast);
        loss_at(&mut cc, Instant::from_secs(1), 90 * MSS);
        assert!(close(cc.w_max(), expected, 1e-12), "fast {fast}: {}", cc.w_max());
        assert_eq!(cc.cwnd(), 63 * MSS);
    }
}

#[test]
fn cubic_timeout_restarts_the_curve_at_the_new_window() {
    let mut cc = cubic_after_loss(100, true);
    cc.on_retransmission_timeout(Instant::from_secs(1), 70 * MSS);
    assert_eq!((cc.cwnd(), cc.ssthresh()), (MSS, 49 * MSS));
    let mut now = Instant::from_secs(2);
    while cc.in_slow_start() {
        now = round(&mut cc, now, ms(10));
    }
    round(&mut cc, now, ms(10));
    // RFC 9438 §4.8: K = 0, W_max = W_est = cwnd at the start of congestion avoidance.
    assert_eq!(cc.k(), 0.0);
    assert!(cc.w_max() >= 49.0 && cc.w_max() < 100.0, "W_max {}", cc.w_max());
}

#[test]
fn cubic_mss_change_keeps_w_max_in_bytes() {
    let mut cc = cubic_after_loss(100, true);
    cc.set_mss(500);
    assert_eq!(cc.w_max(), 200.0);
    assert_eq!(cc.cwnd(), 70 * MSS);
}

#[test]
fn huge_acks_saturate_at_the_ceiling() {
    for algorithm in [Algorithm::NewReno, Algorithm::Cubic] {
        for max_window in [usize::MAX, 1 << 20] {
            let config = Config { algorithm, max_window, ..Config::new(MAX_MSS) };
            let mut cc = Controller::new(&config);
            let mut now = Instant::ZERO;
            cc.on_congestion_event(now, usize::MAX);
            cc.on_recovery_end(now);
            for _ in 0..1000 {
                now += Duration::from_secs(3600);
                cc.on_ack(now, usize::MAX, Some(Duration::MAX), usize::MAX);
                assert!(cc.cwnd() >= MAX_MSS && cc.cwnd() <= max_window);
            }
            if max_window == 1 << 20 {
                assert_eq!(cc.cwnd(), 1 << 20, "{algorithm:?}");
            }
        }
    }
}

#[test]
fn cubic_is_deterministic() {
    assert_eq!(cubic_trajectory(3), cubic_trajectory(3));
}

// ---- bounds under arbitrary events ---------------------------------------------------------

#[derive(Clone, Debug)]
enum Event {
    Ack { dt: u64, acked: usize, rtt: Option<u64>, flight: usize },
    Congestion { flight: usize },
    RecoveryEnd,
    Timeout { flight: usize },
    Spurious,
    SetMss(usize),
}

fn event() -> impl Strategy<Value = Event> {
    let size = prop_oneof![0..100_000usize, any::<usize>()];
    prop_oneof![
        6 => (0..2_000_000u64, size.clone(), proptest::option::of(0..10_000_000u64), size.clone())
            .prop_map(|(dt, acked, rtt, flight)| Event::Ack { dt, acked, rtt, flight }),
        1 => size.clone().prop_map(|flight| Event::Congestion { flight }),
        1 => Just(Event::RecoveryEnd),
        1 => size.clone().prop_map(|flight| Event::Timeout { flight }),
        1 => Just(Event::Spurious),
        1 => prop_oneof![0..10_000usize, any::<usize>()].prop_map(Event::SetMss),
    ]
}

fn apply(cc: &mut Controller, now: &mut Instant, event: &Event) {
    match *event {
        Event::Ack { dt, acked, rtt, flight } => {
            *now += Duration::from_micros(dt);
            cc.on_ack(*now, acked, rtt.map(Duration::from_micros), flight);
        }
        Event::Congestion { flight } => cc.on_congestion_event(*now, flight),
        Event::RecoveryEnd => cc.on_recovery_end(*now),
        Event::Timeout { flight } => cc.on_retransmission_timeout(*now, flight),
        Event::Spurious => cc.on_spurious_congestion(*now),
        Event::SetMss(mss) => cc.set_mss(mss),
    }
}

fn check_bounds(cc: &Controller, max_window: usize, event: &Event, was_recovering: bool) {
    let mss = cc.mss();
    assert!(cc.cwnd() >= mss && cc.cwnd() <= max_window, "{event:?} -> {}", cc.cwnd());
    match event {
        Event::Congestion { .. } if !was_recovering => assert!(cc.cwnd() >= 2 * mss),
        Event::Timeout { .. } => assert_eq!(cc.cwnd(), mss),
        _ => {}
    }
}

proptest! {
    #[test]
    fn any_event_sequence_keeps_cwnd_in_bounds(
        cubic in any::<bool>(),
        mss in prop_oneof![1..10_000usize, Just(MAX_MSS)],
        max_window in prop_oneof![0..1_000_000usize, Just(usize::MAX)],
        events in proptest::collection::vec(event(), 1..200),
    ) {
        let algorithm = if cubic { Algorithm::Cubic } else { Algorithm::NewReno };
        let mut cc = Controller::new(&Config { algorithm, max_window, ..Config::new(mss) });
        let mut bound = max_window.max(2 * cc.mss());
        let mut now = Instant::ZERO;
        for event in &events {
            let was_recovering = cc.in_recovery();
            apply(&mut cc, &mut now, event);
            bound = bound.max(2 * cc.mss());
            check_bounds(&cc, bound, event, was_recovering);
        }
    }
}

mod model;
