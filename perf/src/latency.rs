//! Latency recording: HDR histograms in microseconds, the fixed-rate send schedule, and
//! coordinated-omission correction as wrk2 does it: a request's latency is measured from the
//! time it was *meant* to be sent, so a stalled server is charged for the requests that
//! queued up behind the stall, not only for the one that hit it.

use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

/// The longest latency a histogram holds exactly (one hour, in microseconds).
const MAX_US: u64 = 3_600_000_000;

/// A new histogram for microseconds, 3 significant digits.
pub(crate) fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_US, 3).expect("static bounds 1..1h, 3 digits are valid")
}

/// Records a duration in microseconds (saturating at the histogram's bound).
pub(crate) fn record(h: &mut Histogram<u64>, d: Duration) {
    let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1);
    h.saturating_record(us);
}

/// When the requests of one connection are meant to be sent: every `interval`, from 0.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Schedule {
    interval: Duration,
    phase: Duration,
}

impl Schedule {
    /// `rate` requests per second; `phase` shifts the first send (to spread connections).
    pub(crate) fn new(rate: f64, phase: Duration) -> Self {
        Self { interval: Duration::from_secs_f64(1.0 / rate), phase }
    }

    /// The intended send time of request `i`, as an offset from the start.
    pub(crate) fn intended(&self, i: u32) -> Duration {
        self.phase + self.interval * i
    }
}

/// The corrected latency of a request meant to go at `intended` and answered at `done`
/// (both offsets from the start).
pub(crate) fn corrected(intended: Duration, done: Duration) -> Duration {
    done.saturating_sub(intended)
}

/// Percentiles of a histogram, in microseconds.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub(crate) struct Summary {
    /// Samples.
    pub(crate) count: u64,
    /// Smallest.
    pub(crate) min_us: u64,
    /// Mean.
    pub(crate) mean_us: f64,
    /// Median.
    pub(crate) p50_us: u64,
    /// 90th percentile.
    pub(crate) p90_us: u64,
    /// 99th percentile.
    pub(crate) p99_us: u64,
    /// 99.9th percentile.
    pub(crate) p999_us: u64,
    /// Largest.
    pub(crate) max_us: u64,
}

impl Summary {
    /// The summary of `h` (all zero when empty).
    pub(crate) fn of(h: &Histogram<u64>) -> Self {
        if h.is_empty() {
            return Self {
                count: 0,
                min_us: 0,
                mean_us: 0.0,
                p50_us: 0,
                p90_us: 0,
                p99_us: 0,
                p999_us: 0,
                max_us: 0,
            };
        }
        Self {
            count: h.len(),
            min_us: h.min(),
            mean_us: h.mean(),
            p50_us: h.value_at_quantile(0.5),
            p90_us: h.value_at_quantile(0.9),
            p99_us: h.value_at_quantile(0.99),
            p999_us: h.value_at_quantile(0.999),
            max_us: h.max(),
        }
    }

    /// The table cells: p50, p90, p99, p99.9, max, formatted.
    pub(crate) fn cells(&self) -> Vec<String> {
        [self.p50_us, self.p90_us, self.p99_us, self.p999_us, self.max_us]
            .iter()
            .map(|&us| fmt_us(us))
            .collect()
    }
}

/// A duration in microseconds, human-readable.
pub(crate) fn fmt_us(us: u64) -> String {
    match us {
        0..1_000 => format!("{us} us"),
        1_000..1_000_000 => format!("{:.2} ms", us as f64 / 1e3),
        _ => format!("{:.3} s", us as f64 / 1e6),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A closed-loop client at `rate`/s whose server takes `service(i)` for request i:
    /// returns (corrected, uncorrected) histograms, as the rr scenario would record them.
    fn simulate(
        rate: f64,
        n: u32,
        service: impl Fn(u32) -> Duration,
    ) -> (Histogram<u64>, Histogram<u64>) {
        let schedule = Schedule::new(rate, Duration::ZERO);
        let (mut co, mut raw) = (histogram(), histogram());
        let mut free_at = Duration::ZERO;
        for i in 0..n {
            let intended = schedule.intended(i);
            let sent = intended.max(free_at);
            let done = sent + service(i);
            free_at = done;
            record(&mut co, corrected(intended, done));
            record(&mut raw, done - sent);
        }
        (co, raw)
    }

    #[test]
    fn schedule_is_evenly_spaced() {
        let s = Schedule::new(1000.0, Duration::from_micros(250));
        assert_eq!(s.intended(0), Duration::from_micros(250));
        assert_eq!(s.intended(4), Duration::from_micros(4250));
    }

    #[test]
    fn a_stall_is_charged_to_every_request_queued_behind_it() {
        // 100 req/s (10 ms apart), 1 ms service, request 100 stalls 1 s.
        let service = |i| Duration::from_millis(if i == 100 { 1000 } else { 1 });
        let (co, raw) = simulate(100.0, 1000, service);
        // Uncorrected: one slow sample among 1000, so p99 is 1 ms.
        assert_eq!(raw.count_between(2_000, MAX_US), 1);
        assert!(raw.value_at_quantile(0.99) <= 1_001);
        // Corrected: the requests meant for the stalled second waited too, and the backlog
        // drains 9 ms a request: request k in 101..=210 has latency 1900 - 9k ms (991 ms
        // down to 10 ms), so 111 samples (with request 100 itself) exceed 2 ms.
        assert_eq!(co.count_between(2_000, MAX_US), 111);
        assert!(co.max() >= 1_000_000);
        assert!(co.value_at_quantile(0.95) >= 500_000);
    }

    #[test]
    fn corrected_never_underflows() {
        assert_eq!(corrected(Duration::from_secs(2), Duration::from_secs(1)), Duration::ZERO);
    }

    #[test]
    fn summary_of_known_values() {
        let mut h = histogram();
        for us in 1..=1000 {
            h.record(us).unwrap();
        }
        let s = Summary::of(&h);
        assert_eq!((s.count, s.min_us, s.p50_us, s.max_us), (1000, 1, 500, 1000));
        assert_eq!(s.p99_us, 990);
        assert_eq!(Summary::of(&histogram()).count, 0);
    }
}
