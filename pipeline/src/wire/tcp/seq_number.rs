//! TCP sequence numbers and their modular arithmetic (RFC 9293 §3.4).

use core::cmp::Ordering;
use core::fmt;
use core::ops::{Add, AddAssign, Sub, SubAssign};

/// A TCP sequence or acknowledgment number (RFC 9293 §3.4).
///
/// Arithmetic wraps modulo 2^32. Comparison is the modular comparison of RFC 9293 §3.4
/// ("a < b" when `b - a`, taken modulo 2^32, is between 1 and 2^31 - 1), which is meaningful
/// only between numbers less than 2^31 apart, as all numbers within one window are.
///
/// **This is not a total order.** Across larger distances it is not transitive (a < b < c < a
/// is possible), so the type implements `PartialOrd` but not `Ord`, and must not be used as a
/// key in sorted collections. Two numbers exactly 2^31 apart are incomparable:
/// `partial_cmp` returns `None` and every comparison operator returns `false`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TcpSeqNumber(pub u32);

impl TcpSeqNumber {
    /// How far `self` is ahead of `base`, modulo 2^32: the number of sequence numbers from
    /// `base` up to `self` when `self` is at or after `base`.
    pub const fn offset_from(self, base: TcpSeqNumber) -> u32 {
        self.0.wrapping_sub(base.0)
    }

    /// The later of the two by the modular order (`self` if they are incomparable).
    pub fn max(self, other: TcpSeqNumber) -> TcpSeqNumber {
        if other > self { other } else { self }
    }

    /// The earlier of the two by the modular order (`self` if they are incomparable).
    pub fn min(self, other: TcpSeqNumber) -> TcpSeqNumber {
        if other < self { other } else { self }
    }
}

impl PartialOrd for TcpSeqNumber {
    fn partial_cmp(&self, other: &TcpSeqNumber) -> Option<Ordering> {
        // RFC 9293 §3.4: compare through the signed 32-bit difference.
        match self.0.wrapping_sub(other.0) {
            0 => Some(Ordering::Equal),
            0x8000_0000 => None,
            d if d < 0x8000_0000 => Some(Ordering::Greater),
            _ => Some(Ordering::Less),
        }
    }
}

/// The signed distance from `rhs` to `self`: positive when `self` is after `rhs`. Wraps
/// modulo 2^32 (two numbers 2^31 apart give `i32::MIN`).
impl Sub for TcpSeqNumber {
    type Output = i32;
    fn sub(self, rhs: TcpSeqNumber) -> i32 {
        self.0.wrapping_sub(rhs.0) as i32
    }
}

// `usize` and `i32` amounts are reduced modulo 2^32 (the `as u32` casts), as the arithmetic is.
impl Add<usize> for TcpSeqNumber {
    type Output = TcpSeqNumber;
    fn add(self, rhs: usize) -> TcpSeqNumber {
        TcpSeqNumber(self.0.wrapping_add(rhs as u32))
    }
}

impl Sub<usize> for TcpSeqNumber {
    type Output = TcpSeqNumber;
    fn sub(self, rhs: usize) -> TcpSeqNumber {
        TcpSeqNumber(self.0.wrapping_sub(rhs as u32))
    }
}

impl Add<i32> for TcpSeqNumber {
    type Output = TcpSeqNumber;
    fn add(self, rhs: i32) -> TcpSeqNumber {
        TcpSeqNumber(self.0.wrapping_add_signed(rhs))
    }
}

impl Sub<i32> for TcpSeqNumber {
    type Output = TcpSeqNumber;
    fn sub(self, rhs: i32) -> TcpSeqNumber {
        TcpSeqNumber(self.0.wrapping_sub(rhs as u32))
    }
}

impl AddAssign<usize> for TcpSeqNumber {
    fn add_assign(&mut self, rhs: usize) {
        *self = *self + rhs;
    }
}

impl SubAssign<usize> for TcpSeqNumber {
    fn sub_assign(&mut self, rhs: usize) {
        *self = *self - rhs;
    }
}

impl AddAssign<i32> for TcpSeqNumber {
    fn add_assign(&mut self, rhs: i32) {
        *self = *self + rhs;
    }
}

impl SubAssign<i32> for TcpSeqNumber {
    fn sub_assign(&mut self, rhs: i32) {
        *self = *self - rhs;
    }
}

impl fmt::Display for TcpSeqNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}
