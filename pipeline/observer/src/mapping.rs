//! The data sequence mappings one side sent on one subflow, checked for contradictions.
//!
//! RFC 8684 §3.3.1: a mapping ties `data_len` octets starting at a relative subflow sequence
//! number to data sequence numbers starting at a DSN. A sender may repeat a mapping (on a
//! retransmission) or send overlapping ones, but one subflow octet must always map to the
//! same data octet. Consecutive mappings with the same offset (DSN minus subflow sequence
//! number) are merged, so a normal transfer keeps one range; the log keeps at most
//! [`MAX_RANGES`] ranges and forgets the oldest beyond that, which bounds memory and only
//! means very old ranges are no longer compared.

use std::collections::VecDeque;

/// The most ranges kept per subflow and direction.
pub(super) const MAX_RANGES: usize = 32;

/// A mapped range: `len` subflow octets from `ssn` carry data octets from `dsn`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct MapRange {
    pub(super) ssn: u32,
    pub(super) len: u32,
    pub(super) dsn: u64,
}

/// Two mappings that give one subflow octet different data sequence numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Conflict {
    pub(super) ssn: u32,
    pub(super) earlier_dsn: u64,
    pub(super) dsn: u64,
}

/// The recent mappings of one direction of one subflow.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct MappingLog {
    ranges: VecDeque<MapRange>,
}

impl MapRange {
    /// Where `self` and `other` first overlap, as (subflow seq, DSN by `self`, DSN by
    /// `other`); `None` if they do not overlap. Subflow sequence numbers wrap modulo 2^32.
    fn overlap(&self, other: &MapRange) -> Option<(u32, u64, u64)> {
        let ahead = other.ssn.wrapping_sub(self.ssn);
        if ahead < self.len {
            return Some((other.ssn, self.dsn.wrapping_add(u64::from(ahead)), other.dsn));
        }
        let behind = self.ssn.wrapping_sub(other.ssn);
        if behind < other.len {
            return Some((self.ssn, self.dsn, other.dsn.wrapping_add(u64::from(behind))));
        }
        None
    }

    /// Extends `self` by `next` if `next` starts inside or right after it with the same
    /// offset; returns whether it did.
    fn absorb(&mut self, next: &MapRange) -> bool {
        let ahead = next.ssn.wrapping_sub(self.ssn);
        let same_offset = next.dsn.wrapping_sub(self.dsn) == u64::from(ahead);
        if ahead > self.len || !same_offset {
            return false;
        }
        let end = ahead.saturating_add(next.len);
        self.len = self.len.max(end);
        true
    }
}

impl MappingLog {
    /// Adds `range` unless it contradicts a kept range, in which case the contradiction is
    /// returned and the range is not kept.
    pub(super) fn insert(&mut self, range: MapRange) -> Result<(), Conflict> {
        for kept in &self.ranges {
            if let Some((ssn, earlier_dsn, dsn)) = kept.overlap(&range)
                && earlier_dsn != dsn
            {
                return Err(Conflict { ssn, earlier_dsn, dsn });
            }
        }
        if self.ranges.back_mut().is_some_and(|last| last.absorb(&range)) {
            return Ok(());
        }
        if self.ranges.len() >= MAX_RANGES {
            self.ranges.pop_front();
        }
        self.ranges.push_back(range);
        Ok(())
    }

    /// The number of ranges kept.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.ranges.len()
    }
}
