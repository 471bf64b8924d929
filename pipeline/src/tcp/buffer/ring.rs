//! A lazily allocated byte ring with a fixed budget, shared by [`super::SendBuffer`] and
//! [`super::Reassembler`].
//!
//! The ring knows nothing about which bytes are valid: its owner tracks that. It offers
//! positional writes and reads at offsets from its head, moves the head forward, and grows its
//! storage on demand (doubling, at least [`MIN_ALLOC`] bytes, never past the budget). Growing
//! copies the old storage once in logical order, so the cost is amortised over the bytes that
//! caused it. Reads never copy: a span that wraps comes back as two slices.

/// The smallest storage the ring allocates: one 1448-byte segment and some room to spare, so
/// a request/response exchange does not grow the ring several times.
pub(crate) const MIN_ALLOC: usize = 2048;

/// A byte ring with a budget of `capacity` bytes, allocated only while in use.
#[derive(Debug, Clone)]
pub(crate) struct Ring {
    /// The storage; empty while released. `storage.len()` is the allocated size.
    storage: Vec<u8>,
    /// Index in `storage` of logical offset 0. Always `< storage.len()`, or 0 when released.
    head: usize,
    /// The most bytes `storage` may ever hold.
    capacity: usize,
}

impl Ring {
    /// A released ring that may grow to `capacity` bytes.
    pub(crate) const fn new(capacity: usize) -> Self {
        Ring { storage: Vec::new(), head: 0, capacity }
    }

    /// The budget: the most bytes the ring will ever allocate.
    pub(crate) const fn capacity(&self) -> usize {
        self.capacity
    }

    /// Bytes currently allocated for storage (0 while released).
    pub(crate) fn allocated(&self) -> usize {
        self.storage.len()
    }

    /// Frees the storage. Every byte the ring held is forgotten.
    pub(crate) fn release(&mut self) {
        self.storage = Vec::new();
        self.head = 0;
    }

    /// Copies `data` to logical offset `offset`, growing the storage as needed. Bytes that
    /// would land at or past the budget are not written; returns how many were written.
    pub(crate) fn write_at(&mut self, offset: usize, data: &[u8]) -> usize {
        let room = self.capacity.saturating_sub(offset);
        let n = data.len().min(room);
        if n == 0 {
            return 0;
        }
        // `offset + n <= capacity` by the clamp above, so this cannot overflow.
        self.reserve(offset + n);
        let (first, second) = self.spans_mut(offset, n);
        let (a, b) = data[..n].split_at(first.len());
        first.copy_from_slice(a);
        second.copy_from_slice(b);
        n
    }

    /// The bytes at logical offsets `offset..offset + len`, as up to two slices (the second is
    /// non-empty only when the span wraps). Clamped to the allocated storage.
    pub(crate) fn slices(&self, offset: usize, len: usize) -> (&[u8], &[u8]) {
        let size = self.storage.len();
        if offset >= size {
            return (&[], &[]);
        }
        let len = len.min(size - offset);
        let start = self.index(offset);
        let first = len.min(size - start);
        (&self.storage[start..start + first], &self.storage[..len - first])
    }

    /// Moves logical offset 0 forward by `n` bytes (the first `n` bytes are given up).
    pub(crate) fn advance(&mut self, n: usize) {
        let size = self.storage.len();
        if size == 0 {
            return;
        }
        self.head = self.index(n % size);
    }

    /// Makes sure logical offsets `0..end` are backed by storage (`end` clamped to the budget).
    fn reserve(&mut self, end: usize) {
        let end = end.min(self.capacity);
        let size = self.storage.len();
        if end <= size {
            return;
        }
        let target =
            end.checked_next_power_of_two().unwrap_or(end).max(MIN_ALLOC).min(self.capacity);
        let mut grown = Vec::with_capacity(target);
        let (a, b) = self.slices(0, size);
        grown.extend_from_slice(a);
        grown.extend_from_slice(b);
        grown.resize(target, 0);
        self.storage = grown;
        self.head = 0;
    }

    /// Mutable spans for logical offsets `offset..offset + len`, which must lie inside the
    /// allocated storage (callers reserve first).
    fn spans_mut(&mut self, offset: usize, len: usize) -> (&mut [u8], &mut [u8]) {
        let size = self.storage.len();
        let start = self.index(offset);
        let first = len.min(size - start);
        let (low, high) = self.storage.split_at_mut(start);
        (&mut high[..first], &mut low[..len - first])
    }

    /// The storage index of logical offset `offset`, for `offset < storage.len()`.
    fn index(&self, offset: usize) -> usize {
        let size = self.storage.len();
        // head < size and offset < size, so the sum is below 2 * size: one subtraction wraps it.
        let i = self.head + offset;
        if i >= size { i - size } else { i }
    }
}
