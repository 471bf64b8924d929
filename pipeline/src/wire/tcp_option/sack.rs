//! The blocks of a SACK option (RFC 2018 §3), held inline without allocation.

use core::fmt;

/// The 1 to 4 `(left edge, right edge)` pairs of a SACK option (RFC 2018 §3).
///
/// Each block covers the sequence numbers `left..right` (the right edge is the sequence number
/// just past the block). Edges are raw 32-bit sequence numbers as they appear on the wire; this
/// type does not check that a block is non-empty or lies in the window, which the engine does
/// against its own state.
///
/// Stored in a fixed array with a count, so the type is `Copy` and never allocates. Equality
/// and hashing look only at the blocks in use.
#[derive(Clone, Copy)]
pub struct SackBlocks {
    blocks: [(u32, u32); SackBlocks::MAX],
    count: u8,
}

impl SackBlocks {
    /// The most blocks an option can hold: `2 + 8 * 4 = 34` bytes fit in 40 (RFC 2018 §3).
    pub const MAX: usize = 4;

    /// The blocks in `blocks`, or `None` unless there are 1 to [`SackBlocks::MAX`] of them.
    pub fn new(blocks: &[(u32, u32)]) -> Option<SackBlocks> {
        if blocks.is_empty() || blocks.len() > Self::MAX {
            return None;
        }
        let mut out = SackBlocks { blocks: [(0, 0); Self::MAX], count: 0 };
        for &block in blocks {
            out.blocks[usize::from(out.count)] = block;
            out.count += 1;
        }
        Some(out)
    }

    /// The blocks in use, in wire order.
    pub fn as_slice(&self) -> &[(u32, u32)] {
        // `count` is at most `MAX` by construction (`new` is the only constructor).
        &self.blocks[..usize::from(self.count)]
    }

    /// The option's length on the wire: kind, length and 8 bytes per block.
    pub(super) fn option_len(&self) -> usize {
        2 + 8 * usize::from(self.count)
    }
}

impl PartialEq for SackBlocks {
    fn eq(&self, other: &SackBlocks) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for SackBlocks {}

impl core::hash::Hash for SackBlocks {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state);
    }
}

impl fmt::Debug for SackBlocks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}
