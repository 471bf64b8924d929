//! TCP options: one option ([`TcpOption`]), the option area of a header ([`TcpOptions`]) and a
//! writer that fills the option area of a header being built ([`TcpOptionWriter`]).
//!
//! Implements the option format of RFC 9293 §3.1-§3.2 (End of Option List, No-Operation,
//! Maximum Segment Size), Window Scale and Timestamps of RFC 7323 §2-§3, SACK-Permitted and
//! SACK of RFC 2018 §2-§3, and the framing of the Multipath TCP option (kind 30) of
//! RFC 8684 §3. The contents of an MPTCP option are left to [`crate::wire::mptcp`], because
//! their meaning depends on the MPTCP version negotiated on the connection.
//!
//! Parsing is lazy: a segment's options are carried as the raw bytes of its option area and
//! decoded only when the caller iterates them or asks for one of them. This layer checks
//! framing and the lengths each kind requires; values that are well-formed but out of range
//! (a window scale above 14, say) are passed on for the engine to handle as the RFCs say.

mod option;
mod options;
mod sack;
mod writer;

/// Shared with the tests of [`crate::wire::tcp`], which build headers with options.
#[cfg(test)]
pub(crate) mod tests;

pub use option::TcpOption;
pub use options::{MptcpOptionIter, TcpOptionIter, TcpOptions};
pub use sack::SackBlocks;
pub use writer::TcpOptionWriter;

/// The most option bytes a TCP header can carry: a data offset of 15 words, minus the 20-byte
/// fixed header (RFC 9293 §3.1).
pub const MAX_OPTIONS_LEN: usize = 40;

/// Option kinds (the first byte of every option), from the IANA "TCP Option Kind Numbers"
/// registry.
pub mod kind {
    /// End of Option List: one byte, no length (RFC 9293 §3.1).
    pub const END_OF_LIST: u8 = 0;
    /// No-Operation: one byte, no length (RFC 9293 §3.1).
    pub const NO_OPERATION: u8 = 1;
    /// Maximum Segment Size, length 4 (RFC 9293 §3.1, §3.7.1).
    pub const MAX_SEGMENT_SIZE: u8 = 2;
    /// Window Scale, length 3 (RFC 7323 §2.2).
    pub const WINDOW_SCALE: u8 = 3;
    /// SACK-Permitted, length 2 (RFC 2018 §2).
    pub const SACK_PERMITTED: u8 = 4;
    /// SACK, length 2 + 8n (RFC 2018 §3).
    pub const SACK: u8 = 5;
    /// Timestamps, length 10 (RFC 7323 §3.2).
    pub const TIMESTAMPS: u8 = 8;
    /// Multipath TCP, length at least 3 (RFC 8684 §3).
    pub const MPTCP: u8 = 30;
}
