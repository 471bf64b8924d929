//! Model check: each controller on a path with a fixed RTT, capacity above every window (no
//! queue, so the BDP never changes) and deterministic loss of one segment in `1/p` (the loss
//! model both response functions are derived under), computed in pure arithmetic for 6000
//! round trips. The time-averaged window (segments sent per round trip) must match the
//! prediction. The 1 % cases are the task's; 0.1 % and 0.01 % add larger windows, where the
//! discrete sender approaches the fluid model.
//!
//! Predictions, windows in segments, RTT in seconds:
//! - Reno (Mathis et al., as quoted by RFC 9438 §5.1): the window saws between W/2 and W,
//!   `3W²/8` segments per cycle are sent, so `1/p = 3W²/8` and the average `3W/4` is
//!   `√(3/(2p)) ≈ 1.22/√p`.
//! - CUBIC (RFC 9438 §5.1): one cycle runs from `β·W_max` to `W_max` in `K`
//!   seconds; integrating eq. 1 over `[0, K]` gives `W_max·K·(3+β)/4` window-seconds, i.e.
//!   an average window `W_max·(3+β)/4`, and `1/p = W_max·K·(3+β)/(4·RTT)` packets per cycle.
//!   With `K = ∛(W_max(1−β)/C)` this solves to
//!   `AVG_W_cubic = ∜(C(3+β)/(4(1−β))) · RTT^¾ / p^¾ ≈ 1.054 · (RTT/p)^¾`.
//!   Where the Reno-friendly estimate is larger (§4.3, §5.1), CUBIC runs at
//!   `AVG_W_est = √(3/(2p))` like Reno, since α_cubic = 3(1−β)/(1+β) was chosen for that.
//!
//! Python 3 for the numbers: `(0.4*3.7/(4*0.3))**0.25 * (1.0/0.01)**0.75 = 33.325` (RTT 1 s,
//! p = 1 %); `(3/(2*0.01))**0.5 = 12.247`.

use super::*;

const ROUNDS: usize = 6_000;
const WARMUP: usize = 1_000;

/// Runs the sawtooth and returns the average segments sent per round trip after warm-up.
fn average_window(cc: &mut Controller, rtt: Duration, loss_every: u64) -> f64 {
    let mut now = Instant::ZERO;
    let mut sent = 0u64;
    let mut recovering = false;
    let mut total = 0u64;
    for r in 0..ROUNDS {
        let window = (cc.cwnd() / cc.mss()).max(1) as u64;
        let mut lost_at = None;
        for i in 0..window {
            sent += 1;
            let at = now + Duration::from_micros(rtt.total_micros() * i / window);
            if sent.is_multiple_of(loss_every) && lost_at.is_none() {
                lost_at = Some(at);
            } else if lost_at.is_none() && !recovering {
                let flight = cc.cwnd().saturating_sub(cc.mss());
                cc.on_ack(at, cc.mss(), Some(rtt), flight);
            }
        }
        if recovering {
            // The retransmission was acknowledged: a full ACK ends recovery.
            cc.on_recovery_end(now + rtt);
            recovering = false;
        }
        if let Some(at) = lost_at {
            // Three dup-ACKs later the engine enters fast recovery for one round trip.
            cc.on_congestion_event(at + rtt, window as usize * cc.mss());
            recovering = true;
        }
        if r >= WARMUP {
            total += window;
        }
        now += rtt;
    }
    total as f64 / (ROUNDS - WARMUP) as f64
}

fn controller(algorithm: Algorithm, fast_convergence: bool) -> Controller {
    Controller::new(&Config { algorithm, fast_convergence, ..Config::new(MSS) })
}

/// RFC 9438 §5.1: the Reno (and Reno-friendly CUBIC) average window, `√(3/(2p))`.
fn reno_prediction(p: f64) -> f64 {
    (3.0 / (2.0 * p)).sqrt()
}

/// RFC 9438 §5.1: `AVG_W_cubic = ∜(C(3+β)/(4(1−β))) · RTT^¾ / p^¾`.
fn cubic_prediction(rtt: Duration, p: f64) -> f64 {
    let factor = (cubic::C * (3.0 + cubic::BETA) / (4.0 * (1.0 - cubic::BETA))).powf(0.25);
    factor * (rtt.as_secs_f64() / p).powf(0.75)
}

fn assert_within(what: &str, got: f64, predicted: f64, tolerance: f64) {
    let ratio = got / predicted;
    assert!(
        (1.0 - tolerance..=1.0 + tolerance).contains(&ratio),
        "{what}: average window {got:.2} segments, predicted {predicted:.2} (±{:.0}%)",
        tolerance * 100.0
    );
}

#[test]
fn predictions_match_the_hand_computed_values() {
    assert!(close(cubic_prediction(Duration::from_secs(1), 0.01), 33.325, 1e-4));
    assert!(close(cubic_prediction(ms(100), 1e-4), 187.40, 1e-4));
    assert!(close(reno_prediction(0.01), 12.247, 1e-4));
}

#[test]
fn newreno_matches_the_mathis_response_function() {
    // p = 1 %, tolerance 25 %: at ~12 segments the recovery round trip (no growth) and
    // whole-segment windows, which the fluid model ignores, cost ~17 % (measured 10.2).
    let got = average_window(&mut controller(Algorithm::NewReno, false), ms(50), 100);
    assert_within("NewReno p=1%", got, reno_prediction(0.01), 0.25);
    // p = 0.01 %: at ~120 segments those effects vanish; tolerance 10 % (measured 119.7).
    let got = average_window(&mut controller(Algorithm::NewReno, false), ms(50), 10_000);
    assert_within("NewReno p=0.01%", got, reno_prediction(1e-4), 0.10);
}

#[test]
fn cubic_is_reno_friendly_where_the_cubic_curve_is_slower() {
    // p = 1 %, RTT 10 ms: AVG_W_cubic = 1.05 < AVG_W_est = 12.2, so §4.3's W_est sets the
    // average. Tolerance 25 % as for NewReno at this window (measured 9.7).
    for fast_convergence in [false, true] {
        let got = average_window(&mut controller(Algorithm::Cubic, fast_convergence), ms(10), 100);
        assert_within("CUBIC RTT=10ms p=1%", got, reno_prediction(0.01), 0.25);
    }
    // p = 0.1 %, RTT 100 ms: 33.3 (cubic) < 38.7 (Reno-friendly); tolerance 15 % (measured 37.4).
    let got = average_window(&mut controller(Algorithm::Cubic, false), ms(100), 1_000);
    assert_within("CUBIC RTT=100ms p=0.1%", got, reno_prediction(1e-3), 0.15);
}

#[test]
fn cubic_matches_rfc_9438_response_function_in_the_cubic_region() {
    // p = 0.01 %, RTT 100 ms: AVG_W_cubic = 187.4 > AVG_W_est = 122.5; K ≈ 5.3 s, 53 round
    // trips, so the fluid model applies. The §5.1 derivation assumes the window at each loss
    // is W_max, i.e. no fast convergence; with it W_max alternates and the average drops.
    // Tolerance 20 % (measured 207.1 without and 168.7 with fast convergence).
    let predicted = cubic_prediction(ms(100), 1e-4);
    for fast_convergence in [false, true] {
        let got =
            average_window(&mut controller(Algorithm::Cubic, fast_convergence), ms(100), 10_000);
        assert_within("CUBIC RTT=100ms p=0.01%", got, predicted, 0.20);
    }
}

#[test]
fn cubic_at_one_percent_loss_lies_between_the_two_predictions() {
    // p = 1 %, RTT 1 s: AVG_W_cubic = 33.3 but K ≈ 3 s is only three round trips, and each
    // epoch starts one recovery round trip after the loss, so the discrete sender lags the
    // fluid curve. It must still beat the Reno-friendly floor (12.2) and stay under the
    // cubic prediction (measured 20.9).
    let got = average_window(&mut controller(Algorithm::Cubic, false), Duration::from_secs(1), 100);
    let (low, high) = (reno_prediction(0.01), cubic_prediction(Duration::from_secs(1), 0.01));
    assert!(got > low && got < high, "{low:.1} < {got:.2} < {high:.1}");
}
