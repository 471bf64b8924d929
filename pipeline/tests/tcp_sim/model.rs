//! RFC 9438 §5.1's response functions: the average congestion window, in segments, that
//! CUBIC and AIMD reach under a steady loss (congestion-event) rate `p`.

/// RFC 9438 §4.2: C = 0.4.
const C: f64 = 0.4;
/// RFC 9438 §4.6: β_cubic = 0.7.
const BETA: f64 = 0.7;

/// RFC 9438 §5.1: `AVG_W_cubic = (C (3 + β) / (4 (1 - β)))^(1/4) · RTT^(3/4) / p^(3/4)`,
/// RTT in seconds.
pub(crate) fn avg_w_cubic(p: f64, rtt_s: f64) -> f64 {
    (C * (3.0 + BETA) / (4.0 * (1.0 - BETA))).powf(0.25) * rtt_s.powf(0.75) / p.powf(0.75)
}

/// The Reno-friendly region (RFC 9438 §4.3, §5.1): AIMD with α_cubic = 3(1-β)/(1+β) and
/// β_cubic averages `sqrt(α (1 + β) / (2 (1 - β) p))` segments, which for this α is Reno's
/// `sqrt(3 / (2p))`.
pub(crate) fn avg_w_reno_friendly(p: f64) -> f64 {
    let alpha = 3.0 * (1.0 - BETA) / (1.0 + BETA);
    (alpha * (1.0 + BETA) / (2.0 * (1.0 - BETA) * p)).sqrt()
}

/// CUBIC's window is the larger of the two (RFC 9438 §4.3: W_est wins while it is larger).
pub(crate) fn avg_w(p: f64, rtt_s: f64) -> f64 {
    avg_w_cubic(p, rtt_s).max(avg_w_reno_friendly(p))
}

#[test]
fn known_values() {
    // Reno: 1.22 / sqrt(p).
    assert!((avg_w_reno_friendly(0.01) - 12.247).abs() < 0.01);
    // RFC 9438 §5.1 Figure: at RTT 0.1 s and p = 1% CUBIC is in the Reno-friendly region.
    assert!(avg_w_cubic(0.01, 0.1) < avg_w_reno_friendly(0.01));
    assert!(avg_w_cubic(0.01, 1.0) > avg_w_reno_friendly(0.01));
}
