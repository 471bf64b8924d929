//! A bounded FIFO of UMEM frames, the [`Slab`] the `xdp` crate's rings fill (RX) and drain
//! (TX). Allocated once at the largest size it will hold; a per-call `limit` bounds how many
//! frames a ring operation moves. Pushing and popping never allocate.

use std::collections::VecDeque;

use xdp::Packet;
use xdp::slab::Slab;

/// Frames in ring order: the crate pushes with `push_front` and pops with `pop_back`, and
/// this queue is first in, first out whatever the names say.
pub(super) struct Batch {
    frames: VecDeque<Packet>,
    capacity: usize,
    limit: usize,
}

impl Batch {
    /// An empty batch that can hold `capacity` frames.
    pub(super) fn with_capacity(capacity: usize) -> Batch {
        Batch { frames: VecDeque::with_capacity(capacity), capacity, limit: capacity }
    }

    /// Bounds the frames the next ring operation may push (at most the capacity).
    pub(super) fn set_limit(&mut self, limit: usize) {
        self.limit = limit.min(self.capacity);
    }

    /// The oldest frame.
    pub(super) fn pop(&mut self) -> Option<Packet> {
        self.frames.pop_front()
    }

    /// Appends a frame (callers check [`Slab::available`] first).
    pub(super) fn push(&mut self, frame: Packet) -> Option<Packet> {
        Slab::push_front(self, frame)
    }
}

impl Slab for Batch {
    fn available(&self) -> usize {
        self.limit.saturating_sub(self.frames.len())
    }

    fn len(&self) -> usize {
        self.frames.len()
    }

    fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    fn push_front(&mut self, frame: Packet) -> Option<Packet> {
        if self.available() == 0 {
            return Some(frame);
        }
        self.frames.push_back(frame);
        None
    }

    fn pop_back(&mut self) -> Option<Packet> {
        self.frames.pop_front()
    }
}
