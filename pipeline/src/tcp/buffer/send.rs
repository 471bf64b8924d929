//! The send buffer: bytes the application wrote that the peer has not acknowledged yet.
//!
//! RFC 9293 §3.3.1 splits the send sequence space into acknowledged bytes (before SND.UNA),
//! bytes sent but unacknowledged (SND.UNA to SND.NXT) and bytes not yet sent. This buffer holds
//! everything from SND.UNA on, addressed by byte offset from SND.UNA; which of those bytes have
//! been sent, and the sequence numbers, are the engine's business.

use super::ring::Ring;

/// Bytes written by the application and not yet cumulatively acknowledged by the peer.
///
/// Storage is allocated by the first [`write`](Self::write), grows with the data up to
/// [`capacity`](Self::capacity), and is freed as soon as an [`ack`](Self::ack) empties the
/// buffer (unless [`set_release_on_drain`](Self::set_release_on_drain) deferred that), so an
/// idle connection holds no buffer memory.
#[derive(Debug, Clone)]
pub struct SendBuffer {
    ring: Ring,
    /// Bytes held, from SND.UNA on.
    len: usize,
    /// Free the storage as soon as an ack empties the buffer.
    release_on_drain: bool,
}

impl SendBuffer {
    /// An empty send buffer that will hold at most `capacity` bytes. Allocates nothing.
    pub const fn new(capacity: usize) -> Self {
        SendBuffer { ring: Ring::new(capacity), len: 0, release_on_drain: true }
    }

    /// Appends as much of `data` as fits and returns how many bytes were taken. Fewer than
    /// `data.len()` (possibly 0) is backpressure: the application must wait for acks.
    pub fn write(&mut self, data: &[u8]) -> usize {
        let n = data.len().min(self.remaining());
        let written = self.ring.write_at(self.len, &data[..n]);
        self.len += written;
        written
    }

    /// Drops the first `n` bytes, which the peer has cumulatively acknowledged (SND.UNA moved
    /// forward by `n`). `n` is clamped to [`len`](Self::len); returns the bytes dropped. When
    /// this empties the buffer, its storage is freed.
    pub fn ack(&mut self, n: usize) -> usize {
        let n = n.min(self.len);
        self.len -= n;
        if self.len == 0 && self.release_on_drain {
            self.ring.release();
        } else {
            self.ring.advance(n);
        }
        n
    }

    /// The bytes at offsets `offset..offset + len` from SND.UNA, clamped to what is held, as
    /// up to two slices (the second is non-empty only when the span wraps around the ring).
    /// Nothing is copied: the engine writes the slices straight into the outgoing segment.
    pub fn peek(&self, offset: usize, len: usize) -> (&[u8], &[u8]) {
        let len = len.min(self.len.saturating_sub(offset));
        if len == 0 {
            return (&[], &[]);
        }
        self.ring.slices(offset, len)
    }

    /// Chooses whether an ack that empties the buffer frees its storage (the default) or
    /// keeps it for the next burst; with `false`, the engine calls
    /// [`release_if_drained`](Self::release_if_drained) from its idle timer instead.
    pub fn set_release_on_drain(&mut self, on: bool) {
        self.release_on_drain = on;
    }

    /// Frees the storage if the buffer is empty; returns whether it holds none now.
    pub fn release_if_drained(&mut self) -> bool {
        if self.len == 0 {
            self.ring.release();
        }
        self.ring.allocated() == 0
    }

    /// Bytes held (unacknowledged or unsent).
    pub const fn len(&self) -> usize {
        self.len
    }

    /// Whether no byte is held.
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The most bytes the buffer will ever hold (the per-connection budget).
    pub const fn capacity(&self) -> usize {
        self.ring.capacity()
    }

    /// How many more bytes [`write`](Self::write) would accept now.
    pub const fn remaining(&self) -> usize {
        self.ring.capacity().saturating_sub(self.len)
    }

    /// Bytes of storage allocated now, for memory accounting: 0 when empty, never above
    /// [`capacity`](Self::capacity).
    pub fn allocated_bytes(&self) -> usize {
        self.ring.allocated()
    }
}
