//! Virtual time for the pipeline.
//!
//! The pipeline never reads a clock. The caller (a worker in the appliance, or the simulator)
//! reads its clock once per batch and passes the [`Instant`] into every call. Both types count
//! microseconds in a `u64`, which covers more than half a million years, so arithmetic saturates
//! instead of wrapping and nothing here can panic.

use core::fmt;
use core::ops::{Add, AddAssign, Sub, SubAssign};

/// A point in time, in microseconds since an arbitrary epoch chosen by the caller.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant {
    micros: u64,
}

/// A span of time, in microseconds.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration {
    micros: u64,
}

impl Instant {
    /// The epoch: time zero.
    pub const ZERO: Instant = Instant { micros: 0 };
    /// The latest representable instant; useful as "never".
    pub const MAX: Instant = Instant { micros: u64::MAX };

    /// An instant `micros` microseconds after the epoch.
    pub const fn from_micros(micros: u64) -> Self {
        Instant { micros }
    }

    /// An instant `millis` milliseconds after the epoch.
    pub const fn from_millis(millis: u64) -> Self {
        Instant { micros: millis.saturating_mul(1_000) }
    }

    /// An instant `secs` seconds after the epoch.
    pub const fn from_secs(secs: u64) -> Self {
        Instant { micros: secs.saturating_mul(1_000_000) }
    }

    /// Microseconds since the epoch.
    pub const fn total_micros(self) -> u64 {
        self.micros
    }

    /// Milliseconds since the epoch, rounded down.
    pub const fn total_millis(self) -> u64 {
        self.micros / 1_000
    }

    /// The time from `earlier` to `self`, or zero if `earlier` is later.
    pub const fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration { micros: self.micros.saturating_sub(earlier.micros) }
    }

    /// `self + d`, or `None` past [`Instant::MAX`].
    pub const fn checked_add(self, d: Duration) -> Option<Instant> {
        match self.micros.checked_add(d.micros) {
            Some(micros) => Some(Instant { micros }),
            None => None,
        }
    }
}

impl Duration {
    /// No time at all.
    pub const ZERO: Duration = Duration { micros: 0 };
    /// The longest representable span.
    pub const MAX: Duration = Duration { micros: u64::MAX };

    /// A span of `micros` microseconds.
    pub const fn from_micros(micros: u64) -> Self {
        Duration { micros }
    }

    /// A span of `millis` milliseconds.
    pub const fn from_millis(millis: u64) -> Self {
        Duration { micros: millis.saturating_mul(1_000) }
    }

    /// A span of `secs` seconds.
    pub const fn from_secs(secs: u64) -> Self {
        Duration { micros: secs.saturating_mul(1_000_000) }
    }

    /// The span in microseconds.
    pub const fn total_micros(self) -> u64 {
        self.micros
    }

    /// The span in milliseconds, rounded down.
    pub const fn total_millis(self) -> u64 {
        self.micros / 1_000
    }

    /// The span in seconds as a float, for reports.
    pub fn as_secs_f64(self) -> f64 {
        self.micros as f64 / 1e6
    }

    /// `self * n`, saturating.
    pub const fn saturating_mul(self, n: u64) -> Duration {
        Duration { micros: self.micros.saturating_mul(n) }
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, rhs: Duration) -> Instant {
        Instant { micros: self.micros.saturating_add(rhs.micros) }
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, rhs: Duration) {
        *self = *self + rhs;
    }
}

impl Sub<Duration> for Instant {
    type Output = Instant;
    fn sub(self, rhs: Duration) -> Instant {
        Instant { micros: self.micros.saturating_sub(rhs.micros) }
    }
}

impl SubAssign<Duration> for Instant {
    fn sub_assign(&mut self, rhs: Duration) {
        *self = *self - rhs;
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    /// Saturates at zero when `rhs` is later than `self`.
    fn sub(self, rhs: Instant) -> Duration {
        self.saturating_duration_since(rhs)
    }
}

impl Add for Duration {
    type Output = Duration;
    fn add(self, rhs: Duration) -> Duration {
        Duration { micros: self.micros.saturating_add(rhs.micros) }
    }
}

impl AddAssign for Duration {
    fn add_assign(&mut self, rhs: Duration) {
        *self = *self + rhs;
    }
}

impl Sub for Duration {
    type Output = Duration;
    fn sub(self, rhs: Duration) -> Duration {
        Duration { micros: self.micros.saturating_sub(rhs.micros) }
    }
}

impl From<core::time::Duration> for Duration {
    fn from(d: core::time::Duration) -> Self {
        Duration { micros: u64::try_from(d.as_micros()).unwrap_or(u64::MAX) }
    }
}

impl From<Duration> for core::time::Duration {
    fn from(d: Duration) -> Self {
        core::time::Duration::from_micros(d.micros)
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:06}s", self.micros / 1_000_000, self.micros % 1_000_000)
    }
}

impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl fmt::Debug for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.micros {
            m if m >= 1_000_000 => write!(f, "{}.{:06}s", m / 1_000_000, m % 1_000_000),
            m if m >= 1_000 => write!(f, "{}.{:03}ms", m / 1_000, m % 1_000),
            m => write!(f, "{m}us"),
        }
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates_instead_of_wrapping() {
        assert_eq!(Instant::MAX + Duration::from_secs(1), Instant::MAX);
        assert_eq!(Instant::ZERO - Duration::from_secs(1), Instant::ZERO);
        assert_eq!(Instant::ZERO - Instant::from_secs(3), Duration::ZERO);
        assert_eq!(Instant::ZERO.checked_add(Duration::MAX), Some(Instant::MAX));
        assert_eq!(Instant::from_micros(1).checked_add(Duration::MAX), None);
    }

    #[test]
    fn units_convert() {
        assert_eq!(Instant::from_millis(1500).total_micros(), 1_500_000);
        assert_eq!(Duration::from_secs(2).total_millis(), 2_000);
        assert_eq!(Instant::from_secs(1) - Instant::from_millis(250), Duration::from_millis(750));
        let std: core::time::Duration = Duration::from_millis(40).into();
        assert_eq!(Duration::from(std), Duration::from_millis(40));
    }

    #[test]
    fn debug_is_readable() {
        assert_eq!(format!("{:?}", Duration::from_micros(40_000)), "40.000ms");
        assert_eq!(format!("{:?}", Duration::from_micros(7)), "7us");
        assert_eq!(format!("{:?}", Instant::from_micros(1_000_001)), "1.000001s");
    }
}
