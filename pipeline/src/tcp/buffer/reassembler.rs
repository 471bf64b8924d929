//! The receive side: contiguous data waiting for the application, and out-of-order segments
//! held above RCV.NXT until the holes before them fill.
//!
//! - RFC 9293 §3.10.7.4: segment data beyond the receive window is trimmed; data inside it is
//!   kept even when it arrives out of order.
//! - RFC 9293 does not say which copy wins when retransmissions overlap; they must be
//!   equal for a correct peer. Here the **last-received bytes win**: every in-window byte of a
//!   segment that is not dropped is copied over whatever was held above RCV.NXT, which keeps
//!   insertion a single `memcpy`. Bytes already readable (below RCV.NXT) are never rewritten.
//! - Bounded state: at most `max_holes` out-of-order ranges (default 32); a segment that would
//!   open one more hole is dropped whole and counted, and the peer retransmits it. Offsets and
//!   lengths are clamped to the window first, so no peer input can grow memory past the budget
//!   or make the range work larger than `max_holes`.
//! - RFC 2018 §4: the held ranges are reported most recently received first, so the first SACK
//!   block contains the segment that triggered the ACK.
//!
//! Positions are kept internally as 64-bit stream offsets (bytes since the reassembler was
//! created), so neither consuming nor advancing RCV.NXT rewrites the range list. The API speaks
//! in offsets from RCV.NXT.

use super::ring::Ring;

/// The default bound on the number of holes (equivalently, of out-of-order ranges held).
pub const DEFAULT_MAX_HOLES: usize = 32;

/// What [`Reassembler::insert`] did with a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InsertOutcome {
    /// Bytes that became readable (RCV.NXT advanced by this much).
    pub newly_contiguous: usize,
    /// The segment lay wholly inside one range already held above RCV.NXT: it brought nothing
    /// new (it was still copied, last-received wins). RFC 2883 D-SACK material.
    pub duplicate: bool,
    /// Bytes of the segment past the receive window, trimmed (RFC 9293 §3.10.7.4).
    pub dropped_beyond_window: usize,
    /// The segment was dropped whole because holding it would exceed the hole limit; the peer
    /// will retransmit it.
    pub dropped_hole_limit: bool,
}

/// A range of bytes held above RCV.NXT, as offsets from RCV.NXT (`start > 0`, `end > start`).
/// Add RCV.NXT to get the left and right edges of a SACK block (RFC 2018 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HeldRange {
    /// Offset of the first byte held.
    pub start: usize,
    /// Offset one past the last byte held.
    pub end: usize,
}

/// One out-of-order range, in stream positions, with the time it last received data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Held {
    start: u64,
    end: u64,
    /// Value of the insert counter when a segment last landed in this range (RFC 2018 §4).
    stamp: u64,
}

/// Receive-side reassembly with a fixed byte budget and a bounded number of holes.
///
/// The budget covers readable bytes plus held out-of-order bytes; the receive window is what
/// the readable bytes leave of it ([`window_remaining`](Self::window_remaining)). Storage is
/// allocated when the first byte arrives and freed once everything has been consumed and
/// nothing is held, so an idle connection holds no buffer memory.
///
/// Fast path: an in-order segment while nothing is held out of order is one copy into the
/// ring plus a length update; the range list is not touched.
#[derive(Debug, Clone)]
pub struct Reassembler {
    ring: Ring,
    /// Stream position of the first readable byte (logical offset 0 of the ring).
    base: u64,
    /// Bytes readable from `base` on; `base + readable` is RCV.NXT.
    readable: usize,
    /// Out-of-order ranges above RCV.NXT: sorted, disjoint and never adjacent.
    held: Vec<Held>,
    max_holes: usize,
    /// Inserts so far; stamps the ranges for SACK ordering.
    clock: u64,
    dropped_hole_limit: u64,
    /// Free the storage as soon as it is drained.
    release_on_drain: bool,
}

impl Reassembler {
    /// An empty reassembler with a budget of `capacity` bytes and at most
    /// [`DEFAULT_MAX_HOLES`] holes. Allocates nothing.
    pub const fn new(capacity: usize) -> Self {
        Self::with_max_holes(capacity, DEFAULT_MAX_HOLES)
    }

    /// As [`new`](Self::new), with at most `max_holes` holes (at least 1 is allowed).
    pub const fn with_max_holes(capacity: usize, max_holes: usize) -> Self {
        let max_holes = if max_holes == 0 { 1 } else { max_holes };
        Reassembler {
            ring: Ring::new(capacity),
            base: 0,
            readable: 0,
            held: Vec::new(),
            max_holes,
            clock: 0,
            dropped_hole_limit: 0,
            release_on_drain: true,
        }
    }

    /// Stores a segment whose first byte is `offset` bytes past RCV.NXT. The engine trims the
    /// part before RCV.NXT (already received) before calling. Bytes past the receive window
    /// are dropped; a segment that would open a hole past the limit is dropped whole.
    pub fn insert(&mut self, offset: usize, data: &[u8]) -> InsertOutcome {
        let window = self.window_remaining();
        let take = data.len().min(window.saturating_sub(offset));
        let mut outcome =
            InsertOutcome { dropped_beyond_window: data.len() - take, ..Default::default() };
        if take == 0 {
            return outcome;
        }
        self.clock = self.clock.wrapping_add(1);
        let data = &data[..take];
        if offset == 0 && self.held.is_empty() {
            // The fast path: one copy, O(1) bookkeeping.
            self.ring.write_at(self.readable, data);
            self.readable += take;
            outcome.newly_contiguous = take;
            return outcome;
        }
        self.insert_slow(offset, data, &mut outcome);
        outcome
    }

    /// Out-of-order data, or in-order data while ranges are held: copy, merge, advance.
    fn insert_slow(&mut self, offset: usize, data: &[u8], outcome: &mut InsertOutcome) {
        let start = self.rcv_nxt() + offset as u64;
        let end = start + data.len() as u64;
        let (first, last) = self.touching(start, end);
        let within = |h: &Held| h.start <= start && end <= h.end;
        if let Some(h) = self.held[first..last].iter_mut().find(|h| within(h)) {
            // Already held entirely: refresh its recency (RFC 2018 §4: the ACK this triggers
            // reports it first). The copy below keeps the policy uniform: last-received wins.
            h.stamp = self.clock;
            outcome.duplicate = true;
            self.ring.write_at(self.readable + offset, data);
            return;
        }
        if first == last && offset > 0 && self.held.len() >= self.max_holes {
            self.dropped_hole_limit = self.dropped_hole_limit.saturating_add(1);
            outcome.dropped_hole_limit = true;
            return;
        }
        self.ring.write_at(self.readable + offset, data);
        self.merge(first, last, start, end);
        outcome.newly_contiguous = self.advance_contiguous();
    }

    /// The index range `first..last` of held ranges that overlap or touch `start..end`.
    fn touching(&self, start: u64, end: u64) -> (usize, usize) {
        let first = self.held.partition_point(|h| h.end < start);
        let last = first + self.held[first..].partition_point(|h| h.start <= end);
        (first, last)
    }

    /// Replaces held ranges `first..last` with their union with `start..end`.
    fn merge(&mut self, first: usize, last: usize, start: u64, end: u64) {
        let mut merged = Held { start, end, stamp: self.clock };
        if first < last {
            // `first < last <= held.len()`, so both indices are in bounds.
            merged.start = merged.start.min(self.held[first].start);
            merged.end = merged.end.max(self.held[last - 1].end);
        }
        if self.held.capacity() == 0 {
            self.held.reserve_exact(self.max_holes.min(DEFAULT_MAX_HOLES));
        }
        self.held.splice(first..last, core::iter::once(merged));
    }

    /// If the lowest held range starts at RCV.NXT, makes it readable; returns the bytes gained.
    fn advance_contiguous(&mut self) -> usize {
        let nxt = self.rcv_nxt();
        match self.held.first() {
            Some(h) if h.start <= nxt => {
                // Held ranges lie inside the budget, so the gain fits in usize.
                let gained = (h.end - nxt) as usize;
                self.held.remove(0);
                self.readable += gained;
                if self.held.is_empty() {
                    self.held = Vec::new();
                }
                gained
            }
            _ => 0,
        }
    }

    /// The contiguous bytes ready for the application, as up to two slices (the second is
    /// non-empty only when the data wraps around the ring). Nothing is copied.
    pub fn readable(&self) -> (&[u8], &[u8]) {
        if self.readable == 0 {
            return (&[], &[]);
        }
        self.ring.slices(0, self.readable)
    }

    /// How many bytes [`readable`](Self::readable) returns.
    pub const fn readable_len(&self) -> usize {
        self.readable
    }

    /// Gives up the first `n` readable bytes (clamped); returns how many. The window opens by
    /// that much. Frees the storage when nothing is left.
    pub fn consume(&mut self, n: usize) -> usize {
        let n = n.min(self.readable);
        self.readable -= n;
        self.base = self.base.wrapping_add(n as u64);
        if self.release_on_drain && self.is_drained() {
            self.ring.release();
        } else {
            self.ring.advance(n);
        }
        n
    }

    /// Chooses whether consuming the last byte frees the storage (the default) or keeps it for
    /// the next segment; with `false`, the engine calls
    /// [`release_if_drained`](Self::release_if_drained) from its idle timer instead.
    pub fn set_release_on_drain(&mut self, on: bool) {
        self.release_on_drain = on;
    }

    /// Frees the storage if nothing is readable or held; returns whether it holds none now.
    pub fn release_if_drained(&mut self) -> bool {
        if self.is_drained() {
            self.ring.release();
        }
        self.ring.allocated() == 0
    }

    /// Whether nothing is readable and nothing is held out of order.
    fn is_drained(&self) -> bool {
        self.readable == 0 && self.held.is_empty()
    }

    /// The receive window: bytes past RCV.NXT the reassembler can still accept (RCV.WND).
    pub const fn window_remaining(&self) -> usize {
        self.ring.capacity().saturating_sub(self.readable)
    }

    /// The ranges held above RCV.NXT, lowest first.
    pub fn held_ranges(&self) -> impl Iterator<Item = HeldRange> + '_ {
        let nxt = self.rcv_nxt();
        self.held.iter().map(move |h| HeldRange {
            start: (h.start - nxt) as usize,
            end: (h.end - nxt) as usize,
        })
    }

    /// Fills `out` with the held ranges most recently received first (RFC 2018 §4: the first
    /// SACK block holds the segment that triggered the ACK, the others follow by recency) and
    /// returns how many were written. Pass a slice of 3 or 4 for the SACK option.
    pub fn sack_ranges(&self, out: &mut [HeldRange]) -> usize {
        let mut written = 0;
        let mut below = u64::MAX;
        while written < out.len() {
            let next = self.held.iter().filter(|h| h.stamp < below).max_by_key(|h| h.stamp);
            let Some(h) = next else { break };
            let nxt = self.rcv_nxt();
            out[written] =
                HeldRange { start: (h.start - nxt) as usize, end: (h.end - nxt) as usize };
            below = h.stamp;
            written += 1;
        }
        written
    }

    /// The number of holes (out-of-order ranges held).
    pub fn holes(&self) -> usize {
        self.held.len()
    }

    /// Segments dropped so far because they would have opened a hole past the limit.
    pub const fn dropped_hole_limit(&self) -> u64 {
        self.dropped_hole_limit
    }

    /// The byte budget: readable plus held bytes never exceed it.
    pub const fn capacity(&self) -> usize {
        self.ring.capacity()
    }

    /// Bytes of storage allocated now, for memory accounting: 0 when idle, never above
    /// [`capacity`](Self::capacity). The range list (at most 24 bytes per hole) is freed with
    /// it and not counted.
    pub fn allocated_bytes(&self) -> usize {
        self.ring.allocated()
    }

    /// RCV.NXT as a stream position. Stream positions are 64-bit and start at 0: wrapping
    /// would take 2^64 bytes, about 46 years at 100 Gbit/s, so the `+` on them cannot overflow.
    pub fn rcv_nxt(&self) -> u64 {
        self.base.wrapping_add(self.readable as u64)
    }
}
