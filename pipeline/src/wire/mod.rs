//! Wire formats: checked zero-copy views and their high-level `Repr`s.
//!
//! Every format follows the same two-level shape (after smoltcp's `wire` module):
//!
//! - A **view**, e.g. [`Ipv4Packet<T: AsRef<[u8]>>`](ipv4::Ipv4Packet), wraps a byte buffer
//!   without copying. `new_checked` verifies once that every fixed field and every length field
//!   fits inside the buffer; after that no accessor can panic or read out of bounds, whatever
//!   the bytes are. `new_unchecked` exists for buffers the caller is about to fill. Field
//!   offsets are named constants in a `field` module next to each view.
//! - A **`Repr`**, e.g. [`Ipv4Repr`](ipv4::Ipv4Repr), is the parsed meaning of the header:
//!   `Repr::parse(&view) -> Result<Repr>` validates the semantics (lengths, versions, option
//!   formats), `repr.buffer_len()` says how many bytes `emit` writes, and
//!   `repr.emit(&mut view)` writes exactly those bytes. For every valid input
//!   `emit(parse(x)) == x`, and for every representable `r`, `parse(emit(r)) == r`; both are
//!   property-tested.
//!
//! Parsing never panics: input from the network is reported as [`Error`] and the caller
//! decides whether to drop and count it. Options are iterated lazily from the header bytes so
//! that the fast path parses only what it looks at.
//!
//! MPTCP suboptions ([`mptcp`]) are parsed in a second step because their meaning depends on
//! the MPTCP version negotiated on the connection: a TCP option of kind 30 reaches the caller
//! as raw bytes ([`TcpOption::Mptcp`](tcp_option::TcpOption::Mptcp)) and
//! [`MptcpOption::parse`](mptcp::MptcpOption::parse) decodes it for a given version.

pub mod arp;
mod be;
pub mod checksum;
pub mod ethernet;
pub mod frame;
pub mod ip;
pub mod ipv4;
pub mod ipv6;
pub mod mptcp;
pub mod tcp;
pub mod tcp_option;

use core::fmt;

/// Why bytes from the wire could not be parsed.
///
/// The variants keep apart what the caller counts separately: a buffer cut short, a
/// self-inconsistent header, a checksum mismatch, and a well-formed value this implementation
/// does not handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Error {
    /// The buffer ends before a header, a field or a length-delimited element does.
    Truncated,
    /// A field contradicts the format: a length too small for its header, an option whose
    /// length does not fit its kind, reserved bits set where they must not be, and so on.
    Malformed,
    /// A checksum over the header or segment does not verify.
    Checksum,
    /// A well-formed value outside what is implemented (an unknown MPTCP version, say).
    Unsupported,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Error::Truncated => "truncated",
            Error::Malformed => "malformed",
            Error::Checksum => "bad checksum",
            Error::Unsupported => "unsupported",
        })
    }
}

impl std::error::Error for Error {}

/// The result of parsing wire bytes.
pub type Result<T> = core::result::Result<T, Error>;
