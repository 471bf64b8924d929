//! Fixed-bucket latency histograms for the shard's timings (connection setup, MPTCP handover
//! stalls), shaped for Prometheus: cumulative buckets with upper bounds in seconds, a sum and
//! a count. Observing is a short scan over 16 bounds, no allocation.

use crate::time::Duration;

/// Upper bounds of the buckets, in microseconds: 100 µs to 10 s in 1-2.5-5 steps. One
/// more bucket (`+Inf`) takes what is longer.
pub const BOUNDS_MICROS: [u64; 16] = [
    100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
    1_000_000, 2_500_000, 5_000_000, 10_000_000,
];

/// Buckets of a histogram: one per bound, and `+Inf`.
pub const BUCKETS: usize = BOUNDS_MICROS.len() + 1;

/// Durations counted by bucket (not cumulative; [`cumulative`](Self::cumulative) is).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Histogram {
    /// Observations per bucket: `counts[i]` took those at most `BOUNDS_MICROS[i]` and above
    /// the bound before; the last, those above every bound.
    pub counts: [u64; BUCKETS],
    /// The sum of the observations, in microseconds.
    pub sum_micros: u64,
}

impl Histogram {
    /// Counts one duration.
    pub fn observe(&mut self, d: Duration) {
        let us = d.total_micros();
        let i = BOUNDS_MICROS.iter().position(|&b| us <= b).unwrap_or(BOUNDS_MICROS.len());
        self.counts[i] += 1;
        self.sum_micros = self.sum_micros.saturating_add(us);
    }

    /// Adds another histogram's observations (another worker's, say).
    pub fn add(&mut self, other: &Histogram) {
        for (n, m) in self.counts.iter_mut().zip(other.counts) {
            *n += m;
        }
        self.sum_micros = self.sum_micros.saturating_add(other.sum_micros);
    }

    /// Observations in all.
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The upper bound of the bucket holding quantile `q` (0 < q <= 1) by nearest rank: the
    /// q-quantile is at most this. `None` when empty, or when it lies past the last bound.
    pub fn quantile_bound(&self, q: f64) -> Option<Duration> {
        let count = self.count();
        let rank = ((q * count as f64).ceil() as u64).clamp(1, count.max(1));
        let i = self.cumulative().iter().position(|&n| n >= rank).filter(|_| count > 0)?;
        BOUNDS_MICROS.get(i).map(|&us| Duration::from_micros(us))
    }

    /// Observations at most each bound (Prometheus `le`), the last being the count.
    pub fn cumulative(&self) -> [u64; BUCKETS] {
        let mut out = self.counts;
        for i in 1..BUCKETS {
            out[i] += out[i - 1];
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_take_their_upper_bound_and_overflow_goes_to_inf() {
        let mut h = Histogram::default();
        for us in [0, 100, 101, 4_800, 10_000_000, 10_000_001] {
            h.observe(Duration::from_micros(us));
        }
        assert_eq!(h.counts[0], 2, "0 and 100 µs: le 100 µs");
        assert_eq!(h.counts[1], 1, "101 µs: le 250 µs");
        assert_eq!(h.counts[5], 1, "4.8 ms: le 5 ms");
        assert_eq!(h.counts[15], 1, "10 s: le 10 s");
        assert_eq!(h.counts[16], 1, "past 10 s: +Inf");
        assert_eq!(h.count(), 6);
        assert_eq!(h.sum_micros, 20_005_002);
        let c = h.cumulative();
        assert_eq!((c[0], c[1], c[5], c[15], c[16]), (2, 3, 4, 5, 6));
        let mut twice = h;
        twice.add(&h);
        assert_eq!((twice.count(), twice.sum_micros, twice.counts[0]), (12, 40_010_004, 4));
    }

    #[test]
    fn quantile_bounds_by_nearest_rank() {
        let mut h = Histogram::default();
        assert_eq!(h.quantile_bound(0.5), None, "empty");
        for _ in 0..98 {
            h.observe(Duration::from_micros(3_000)); // le 5 ms
        }
        h.observe(Duration::from_micros(40_000)); // le 50 ms
        h.observe(Duration::from_secs(20)); // +Inf
        assert_eq!(h.quantile_bound(0.5), Some(Duration::from_millis(5)));
        assert_eq!(h.quantile_bound(0.98), Some(Duration::from_millis(5)));
        assert_eq!(h.quantile_bound(0.99), Some(Duration::from_millis(50)));
        assert_eq!(h.quantile_bound(1.0), None, "past the last bound");
    }
}
