//! Tests of the RFC 6298 estimator: sequences computed by hand from the formulas.

use super::*;
use proptest::prelude::*;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn us(n: u64) -> Duration {
    Duration::from_micros(n)
}

fn estimator() -> RttEstimator {
    RttEstimator::new(RttConfig::default())
}

#[test]
fn initial_rto_is_one_second() {
    // RFC 6298 §2.1
    let est = estimator();
    assert_eq!(est.rto(), Duration::from_secs(1));
    assert_eq!(est.srtt(), None);
    assert_eq!(est.rttvar(), None);
    assert_eq!(est.min_rtt(), None);
}

#[test]
fn first_sample_sets_srtt_and_half_rttvar() {
    // RFC 6298 §2.2: SRTT = 100 ms, RTTVAR = 50 ms, RTO = 100 + 4 * 50 = 300 ms.
    let mut est = estimator();
    est.on_sample(ms(100));
    assert_eq!(est.srtt(), Some(ms(100)));
    assert_eq!(est.rttvar(), Some(ms(50)));
    assert_eq!(est.rto(), ms(300));
}

#[test]
fn later_samples_follow_the_section_2_3_formulas() {
    let mut est = estimator();
    est.on_sample(ms(100));
    // RTTVAR = 3/4 * 50 + 1/4 * |100 - 200| = 62.5 ms (old SRTT used);
    // SRTT = 7/8 * 100 + 1/8 * 200 = 112.5 ms; RTO = 112.5 + 250 = 362.5 ms.
    est.on_sample(ms(200));
    assert_eq!(est.rttvar(), Some(us(62_500)));
    assert_eq!(est.srtt(), Some(us(112_500)));
    assert_eq!(est.rto(), us(362_500));
    // RTTVAR = 3/4 * 62.5 + 1/4 * 12.5 = 50 ms; SRTT = (7 * 112.5 + 100) / 8 = 110.9375 ms,
    // truncated to the microsecond; RTO = 110.937 + 200 = 310.937 ms.
    est.on_sample(ms(100));
    assert_eq!(est.rttvar(), Some(ms(50)));
    assert_eq!(est.srtt(), Some(us(110_937)));
    assert_eq!(est.rto(), us(310_937));
    assert_eq!(est.min_rtt(), Some(ms(100)));
    assert_eq!(est.latest_rtt(), Some(ms(100)));
}

#[test]
fn min_rto_floors_small_rtts() {
    // RFC 6298 §2.4: 1 ms RTT gives 1 + 4 * 0.5 = 3 ms, raised to the floor.
    let mut est = estimator();
    est.on_sample(ms(1));
    assert_eq!(est.rto(), ms(200));
    let mut rfc = RttEstimator::new(RttConfig::RFC6298);
    rfc.on_sample(ms(1));
    assert_eq!(rfc.rto(), Duration::from_secs(1));
}

fn no_floor(granularity: Duration) -> RttConfig {
    RttConfig { min_rto: Duration::ZERO, granularity, ..RttConfig::default() }
}

#[test]
fn granularity_floors_the_variance_term() {
    // RFC 6298 §2.3: RTO = SRTT + max(G, K * RTTVAR). 10 ms sample: K * RTTVAR = 20 ms.
    let mut coarse = RttEstimator::new(no_floor(ms(100)));
    coarse.on_sample(ms(10));
    assert_eq!(coarse.rto(), ms(110));
    let mut fine = RttEstimator::new(no_floor(ms(1)));
    fine.on_sample(ms(10));
    assert_eq!(fine.rto(), ms(30));
    // A steady RTT drives RTTVAR to zero; G then keeps RTO above SRTT.
    for _ in 0..100 {
        fine.on_sample(ms(10));
    }
    assert_eq!(fine.rttvar(), Some(Duration::ZERO));
    assert_eq!(fine.rto(), ms(11));
}

#[test]
fn zero_sample_gives_granularity_then_floor() {
    let mut est = RttEstimator::new(no_floor(ms(1)));
    est.on_sample(Duration::ZERO);
    assert_eq!(est.rto(), ms(1));
    let mut floored = estimator();
    floored.on_sample(Duration::ZERO);
    assert_eq!(floored.rto(), ms(200));
    assert_eq!(floored.min_rtt(), Some(Duration::ZERO));
}

#[test]
fn backoff_doubles_and_clamps_at_max() {
    // RFC 6298 §5.5 and §2.5.
    let mut est = estimator();
    let expected = [2, 4, 8, 16, 32, 60, 60, 60];
    for secs in expected {
        est.on_timeout();
        assert_eq!(est.rto(), Duration::from_secs(secs));
    }
    assert_eq!(est.backoffs(), 6, "no further backoff counted once at the ceiling");
    for _ in 0..1000 {
        est.on_timeout();
    }
    assert_eq!(est.rto(), Duration::from_secs(60));
}

#[test]
fn new_sample_collapses_backoff() {
    // RFC 6298 §5, after rule 5.7: a new measurement recomputes RTO from SRTT and RTTVAR.
    let mut est = estimator();
    est.on_sample(ms(100));
    est.on_timeout();
    est.on_timeout();
    assert_eq!(est.rto(), ms(1200));
    est.on_sample(ms(100));
    assert_eq!(est.backoffs(), 0);
    // RTTVAR = 3/4 * 50 = 37.5 ms, SRTT = 100 ms: RTO = 250 ms.
    assert_eq!(est.rto(), ms(250));
}

#[test]
fn karn_drops_samples_of_retransmitted_segments() {
    // RFC 6298 §3: no sample from a retransmitted segment; the backoff stays.
    let mut est = estimator();
    est.on_sample(ms(100));
    est.on_timeout();
    assert!(!est.on_ack(ms(5), SampleOrigin::Retransmitted));
    assert_eq!(est.srtt(), Some(ms(100)));
    assert_eq!(est.min_rtt(), Some(ms(100)));
    assert_eq!(est.rto(), ms(600));
    assert_eq!(est.backoffs(), 1);
    // A segment sent once, or a timestamp echo (RFC 7323 §4.1), is a valid sample.
    assert!(est.on_ack(ms(100), SampleOrigin::FirstTransmission));
    assert_eq!(est.backoffs(), 0);
    assert!(est.on_ack(ms(100), SampleOrigin::Timestamp));
    assert_eq!(est.srtt(), Some(ms(100)));
}

#[test]
fn syn_timeout_sets_three_seconds_for_data() {
    // RFC 6298 §5.7.
    let mut est = estimator();
    est.on_timeout();
    est.on_handshake_complete(true);
    assert_eq!(est.rto(), Duration::from_secs(3));
    assert_eq!(est.backoffs(), 0);
    let mut clean = estimator();
    clean.on_handshake_complete(false);
    assert_eq!(clean.rto(), Duration::from_secs(1));
    let small = RttConfig { max_rto: ms(2000), ..RttConfig::default() };
    let mut capped = RttEstimator::new(small);
    capped.on_handshake_complete(true);
    assert_eq!(capped.rto(), ms(2000));
}

#[test]
fn extreme_samples_do_not_overflow() {
    let mut est = estimator();
    est.on_sample(Duration::MAX);
    assert_eq!(est.rto(), Duration::from_secs(60));
    assert_eq!(est.srtt(), Some(Duration::MAX));
    est.on_sample(Duration::ZERO);
    est.on_sample(Duration::from_secs(5 * 3600));
    est.on_sample(Duration::MAX);
    assert_eq!(est.rto(), Duration::from_secs(60));
    assert_eq!(est.min_rtt(), Some(Duration::ZERO));
    let huge = RttConfig { max_rto: Duration::MAX, ..RttConfig::default() };
    let mut unbounded = RttEstimator::new(huge);
    unbounded.on_sample(Duration::MAX);
    assert_eq!(unbounded.rto(), Duration::MAX);
    for _ in 0..200 {
        unbounded.on_timeout();
    }
    assert_eq!(unbounded.rto(), Duration::MAX);
}

#[test]
fn one_hour_sample_is_exact() {
    let hour = Duration::from_secs(3600);
    let mut est = RttEstimator::new(RttConfig { max_rto: Duration::MAX, ..RttConfig::default() });
    est.on_sample(hour);
    assert_eq!(est.rto(), Duration::from_secs(3 * 3600));
}

#[test]
fn ceiling_wins_when_bounds_cross() {
    let crossed = RttConfig { min_rto: ms(500), max_rto: ms(100), ..RttConfig::default() };
    let mut est = RttEstimator::new(crossed);
    assert_eq!(est.rto(), ms(100));
    est.on_sample(ms(1));
    assert_eq!(est.rto(), ms(100));
}

#[derive(Debug, Clone)]
enum Event {
    Sample(u64),
    Retransmitted(u64),
    Timeout,
    Handshake(bool),
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        any::<u64>().prop_map(Event::Sample),
        (0u64..10_000_000).prop_map(Event::Sample),
        any::<u64>().prop_map(Event::Retransmitted),
        Just(Event::Timeout),
        any::<bool>().prop_map(Event::Handshake),
    ]
}

proptest! {
    #[test]
    fn rto_stays_within_bounds(events in proptest::collection::vec(event(), 0..64)) {
        let mut est = estimator();
        let mut min_seen: Option<u64> = None;
        for e in events {
            match e {
                Event::Sample(r) => {
                    est.on_sample(us(r));
                    min_seen = Some(min_seen.map_or(r, |m| m.min(r)));
                }
                Event::Retransmitted(r) => {
                    prop_assert!(!est.on_ack(us(r), SampleOrigin::Retransmitted));
                }
                Event::Timeout => est.on_timeout(),
                Event::Handshake(t) => est.on_handshake_complete(t),
            }
            prop_assert!(est.rto() >= ms(200) && est.rto() <= Duration::from_secs(60));
            prop_assert_eq!(est.min_rtt(), min_seen.map(us));
        }
    }
}
