//! The TCP header: a checked zero-copy view ([`TcpPacket`]), its parsed form ([`TcpRepr`]),
//! sequence-number arithmetic ([`TcpSeqNumber`]), control bits ([`TcpFlags`]) and the
//! segment checksum ([`segment_checksum`]).
//!
//! Implements the header format of RFC 9293 §3.1 and the sequence-number comparison of
//! RFC 9293 §3.4; the IPv6 pseudo-header is that of RFC 8200 §8.1. Options are decoded lazily
//! by [`crate::wire::tcp_option`]. Nothing here interprets a segment against connection
//! state (acceptability, flag combinations, urgent data): that is the TCP engine's job.

mod flags;
mod packet;
mod repr;
mod segment_checksum;
mod seq_number;

#[cfg(test)]
mod tests;

pub use flags::TcpFlags;
pub use packet::TcpPacket;
pub use repr::TcpRepr;
pub use segment_checksum::segment_checksum;
pub use seq_number::TcpSeqNumber;

/// Length of the TCP header without options (RFC 9293 §3.1).
pub const HEADER_LEN: usize = 20;

/// Longest TCP header: a data offset of 15 32-bit words (RFC 9293 §3.1).
pub const MAX_HEADER_LEN: usize = 60;

/// Byte offsets of the TCP header fields (RFC 9293 §3.1 Figure 1).
///
/// Public because checksum offload needs them: a NIC is told where the checksum field is
/// ([`field::CHECKSUM`]).
pub mod field {
    use core::ops::Range;

    /// Source port.
    pub const SRC_PORT: Range<usize> = 0..2;
    /// Destination port.
    pub const DST_PORT: Range<usize> = 2..4;
    /// Sequence number.
    pub const SEQ_NUMBER: Range<usize> = 4..8;
    /// Acknowledgment number.
    pub const ACK_NUMBER: Range<usize> = 8..12;
    /// Data offset (high 4 bits) and control bits (low 12 bits).
    pub const OFFSET_FLAGS: Range<usize> = 12..14;
    /// Window.
    pub const WINDOW: Range<usize> = 14..16;
    /// Checksum.
    pub const CHECKSUM: Range<usize> = 16..18;
    /// Urgent pointer.
    pub const URGENT: Range<usize> = 18..20;
    /// Where the options start.
    pub const OPTIONS: usize = 20;
}
