//! Big-endian field access for the header views (network byte order, RFC 791 §3.1).
//!
//! The views call these with their named field ranges after `check_len` has passed, which is
//! what makes the indexing in-bounds.

use core::ops::Range;

/// The 16-bit big-endian value at `at.start`.
pub(crate) fn read_u16(data: &[u8], at: Range<usize>) -> u16 {
    u16::from_be_bytes([data[at.start], data[at.start + 1]])
}

/// The 32-bit big-endian value at `at.start`.
pub(crate) fn read_u32(data: &[u8], at: Range<usize>) -> u32 {
    u32::from_be_bytes([data[at.start], data[at.start + 1], data[at.start + 2], data[at.start + 3]])
}

/// Writes `value` big-endian into `at` (two bytes).
pub(crate) fn write_u16(data: &mut [u8], at: Range<usize>, value: u16) {
    data[at].copy_from_slice(&value.to_be_bytes());
}

/// Writes `value` big-endian into `at` (four bytes).
pub(crate) fn write_u32(data: &mut [u8], at: Range<usize>, value: u32) {
    data[at].copy_from_slice(&value.to_be_bytes());
}
