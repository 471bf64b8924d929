//! The event trace and its running hash, for determinism checks and assertions.

use netreaktor_pipeline::time::Instant;

use super::link::{Direction, LinkId};
use super::stats::DropReason;

/// Something that happened to a frame on a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkEvent {
    /// The sending node offered the frame to the link.
    Sent,
    /// The frame reached the receiving node.
    Delivered,
    /// The link dropped the frame.
    Dropped(DropReason),
    /// The link made an extra copy of the frame.
    Duplicated,
    /// The link held the frame back by the reorder delay.
    Reordered,
}

impl LinkEvent {
    /// A stable small number for hashing.
    const fn code(self) -> u8 {
        match self {
            LinkEvent::Sent => 0,
            LinkEvent::Delivered => 1,
            LinkEvent::Dropped(reason) => 0x10 | reason.code(),
            LinkEvent::Duplicated => 2,
            LinkEvent::Reordered => 3,
        }
    }
}

/// One line of the trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TraceEntry {
    /// When it happened.
    pub time: Instant,
    /// On which link.
    pub link: LinkId,
    /// In which direction.
    pub dir: Direction,
    /// What happened.
    pub event: LinkEvent,
    /// The frame's length in bytes.
    pub len: usize,
}

/// FNV-1a, 64-bit (Fowler, Noll, Vo; draft-eastlake-fnv): a simple, fixed, portable hash.
/// Not collision resistant against an adversary, which a determinism check does not need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fnv64(u64);

impl Fnv64 {
    const OFFSET_BASIS: u64 = 0xCBF2_9CE4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01B3;

    pub(crate) const fn new() -> Self {
        Fnv64(Self::OFFSET_BASIS)
    }

    pub(crate) fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(Self::PRIME);
        }
    }

    pub(crate) fn write_u64(&mut self, x: u64) {
        self.write(&x.to_le_bytes());
    }

    pub(crate) const fn finish(self) -> u64 {
        self.0
    }
}

/// Folds one entry into the hash: every field, little-endian, in declaration order.
pub(crate) fn hash_entry(h: &mut Fnv64, e: &TraceEntry) {
    h.write_u64(e.time.total_micros());
    h.write(&e.link.0.to_le_bytes());
    h.write(&[e.dir.index() as u8, e.event.code()]);
    h.write_u64(e.len as u64);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_known_answers() {
        // Reference values from the FNV authors' test suite.
        let hash = |s: &[u8]| {
            let mut h = Fnv64::new();
            h.write(s);
            h.finish()
        };
        assert_eq!(hash(b""), 0xCBF2_9CE4_8422_2325);
        assert_eq!(hash(b"a"), 0xAF63_DC4C_8601_EC8C);
        assert_eq!(hash(b"foobar"), 0x8594_4171_F739_67E8);
    }
}
