//! A fixed-capacity set of disjoint sequence ranges, kept in order from a base (SND.UNA) up.
//!
//! The scoreboard's memory: at most [`MAX_RANGES`] ranges in an inline array, so a peer can
//! never make it grow. Every range lies in `[base, base + 2^31)`, so the modular order of
//! sequence numbers agrees with the order of their offsets from the base; all comparisons
//! here are made on those `u32` offsets.

use crate::wire::tcp::TcpSeqNumber;

/// How many disjoint SACKed ranges a scoreboard remembers (512 bytes of state).
pub const MAX_RANGES: usize = 64;

/// A half-open range of sequence numbers, `start..end` (`end` is the first number past it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SeqRange {
    /// The first sequence number in the range.
    pub start: TcpSeqNumber,
    /// The sequence number just past the range.
    pub end: TcpSeqNumber,
}

impl SeqRange {
    /// The range `start..end`.
    pub const fn new(start: TcpSeqNumber, end: TcpSeqNumber) -> SeqRange {
        SeqRange { start, end }
    }

    /// How many sequence numbers the range holds (modulo 2^32).
    pub const fn len(&self) -> u32 {
        self.end.offset_from(self.start)
    }

    /// Whether the range holds no sequence number.
    pub const fn is_empty(&self) -> bool {
        self.start.0 == self.end.0
    }

    /// Whether `seq` lies in the range.
    pub const fn contains(&self, seq: TcpSeqNumber) -> bool {
        seq.offset_from(self.start) < self.len()
    }
}

/// Sorted, disjoint, non-adjacent ranges above a base, at most [`MAX_RANGES`] of them.
///
/// The storage is allocated by the first insert and freed whenever the set empties, so a
/// connection without SACKed data (nearly all of them, nearly all the time) holds none.
#[derive(Debug, Clone, Default)]
pub(super) struct RangeSet {
    ranges: Vec<SeqRange>,
}

impl RangeSet {
    pub(super) const fn new() -> RangeSet {
        RangeSet { ranges: Vec::new() }
    }

    pub(super) fn as_slice(&self) -> &[SeqRange] {
        &self.ranges
    }

    pub(super) fn clear(&mut self) {
        self.ranges = Vec::new();
    }

    /// Frees the storage once nothing is held.
    fn release_if_empty(&mut self) {
        if self.ranges.is_empty() {
            self.clear();
        }
    }

    /// Adds `start..end` (offsets from `base`, `start < end`), merging it with the ranges it
    /// overlaps or touches. Returns how many of its numbers were not in the set before, or
    /// `None` (and changes nothing) when it touches no range and the set is full.
    pub(super) fn insert(&mut self, base: TcpSeqNumber, start: u32, end: u32) -> Option<u32> {
        let off = |s: TcpSeqNumber| s.offset_from(base);
        let first =
            self.as_slice().iter().position(|r| off(r.end) >= start).unwrap_or(self.ranges.len());
        let (mut lo, mut hi, mut covered, mut last) = (start, end, 0u32, first);
        while let Some(r) = self.as_slice().get(last).filter(|r| off(r.start) <= end) {
            let (rs, re) = (off(r.start), off(r.end));
            covered += end.min(re).saturating_sub(start.max(rs));
            lo = lo.min(rs);
            hi = hi.max(re);
            last += 1;
        }
        let merged = SeqRange::new(base + lo as usize, base + hi as usize);
        if first == last {
            if self.ranges.len() == MAX_RANGES {
                return None;
            }
            // In bounds: `first <= len`.
            self.ranges.insert(first, merged);
        } else {
            // In bounds: `first < last <= len`; ranges `first..last` collapse into one.
            self.ranges.drain(first + 1..last);
            self.ranges[first] = merged;
        }
        Some(end - start - covered)
    }

    /// Forgets everything below `base + cut` (offsets from the old `base`). Returns how many
    /// numbers were removed.
    pub(super) fn trim_below(&mut self, base: TcpSeqNumber, cut: u32) -> u32 {
        let off = |s: TcpSeqNumber| s.offset_from(base);
        let gone = self.as_slice().iter().take_while(|r| off(r.end) <= cut).count();
        let mut removed: u32 = self.as_slice()[..gone].iter().map(SeqRange::len).sum();
        self.ranges.drain(..gone);
        if let Some(first) = self.ranges.first_mut()
            && off(first.start) < cut
        {
            removed += cut - off(first.start);
            first.start = base + cut as usize;
        }
        self.release_if_empty();
        removed
    }

    /// Forgets everything at or above `base + cut` (offsets from `base`). Returns how many
    /// numbers were removed.
    pub(super) fn trim_above(&mut self, base: TcpSeqNumber, cut: u32) -> u32 {
        let off = |s: TcpSeqNumber| s.offset_from(base);
        let keep = self.as_slice().iter().take_while(|r| off(r.start) < cut).count();
        let mut removed: u32 = self.as_slice()[keep..].iter().map(SeqRange::len).sum();
        self.ranges.truncate(keep);
        if let Some(last) = self.ranges.last_mut()
            && off(last.end) > cut
        {
            removed += off(last.end) - cut;
            last.end = base + cut as usize;
        }
        self.release_if_empty();
        removed
    }
}
