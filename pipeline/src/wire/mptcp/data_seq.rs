//! A data-level sequence number as a DSS option carries it: all 64 bits, or only the low 32
//! (RFC 8684 §3.3: the `a` and `m` flags choose 8-octet or 4-octet DATA_ACK and DSN).

/// A DATA_ACK or data sequence number as carried on the wire.
///
/// RFC 8684 §3.3.1: a 4-octet value is the least significant 32 bits of the 64-bit sequence
/// number; the receiver restores the upper bits from its own state
/// ([`expand`](Self::expand)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataSeq {
    /// The low 32 bits only (flag `a` or `m` clear): 4 octets.
    Low32(u32),
    /// The whole 64-bit value (flag `a` or `m` set): 8 octets.
    Full64(u64),
}

impl DataSeq {
    /// `value` sent as 8 octets when `wide`, else as its low 32 bits.
    pub const fn new(value: u64, wide: bool) -> DataSeq {
        if wide { DataSeq::Full64(value) } else { DataSeq::Low32(value as u32) }
    }

    /// Whether this is sent as 8 octets (the `a` / `m` flag).
    pub const fn is_wide(self) -> bool {
        matches!(self, DataSeq::Full64(_))
    }

    /// The number of octets on the wire: 4 or 8.
    pub const fn wire_len(self) -> usize {
        match self {
            DataSeq::Low32(_) => 4,
            DataSeq::Full64(_) => 8,
        }
    }

    /// The low 32 bits, whichever form.
    pub const fn low32(self) -> u32 {
        match self {
            DataSeq::Low32(v) => v,
            DataSeq::Full64(v) => v as u32,
        }
    }

    /// The 64-bit value: itself when wide; otherwise the value with these low 32 bits that
    /// lies nearest to `reference` (modulo 2^64), e.g. the last DATA_ACK or expected DSN.
    pub const fn expand(self, reference: u64) -> u64 {
        match self {
            DataSeq::Full64(v) => v,
            DataSeq::Low32(v) => {
                let delta = v.wrapping_sub(reference as u32) as i32;
                reference.wrapping_add_signed(delta as i64)
            }
        }
    }
}
