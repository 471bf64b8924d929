//! The walk of an IPv6 extension header chain (RFC 8200 §4) to the upper-layer header.
//!
//! The walk reads only what it needs to find the next header: the Next Header and length
//! bytes of Hop-by-Hop, Routing and Destination Options headers (RFC 8200 §4.3, §4.4,
//! §4.6: `(Hdr Ext Len + 1) × 8` bytes), the fixed 8 bytes of a Fragment header (§4.5), and
//! the Payload Length of an Authentication Header, which counts 4-byte words minus 2
//! (RFC 4302 §2.2). It stops at No Next Header (59, §4.7), at ESP (50, RFC 4303, whose
//! contents are encrypted), at any other value, after a non-first fragment's header, and
//! after [`MAX_EXT_HEADERS`] headers.
//!
//! Options inside Hop-by-Hop and Destination Options headers and the contents of Routing
//! headers are not interpreted.

use crate::wire::ip::IpProtocol;
use crate::wire::{Error, Result};

/// Most extension headers the walk follows before reporting [`Error::Unsupported`]. RFC 8200
/// §4.1 orders at most seven distinct headers before the upper layer.
pub const MAX_EXT_HEADERS: usize = 8;

const HOP_BY_HOP: u8 = 0;
const ROUTING: u8 = 43;
const FRAGMENT: u8 = 44;
const AUTH: u8 = 51;
const DEST_OPTS: u8 = 60;
/// Length of a Fragment header (RFC 8200 §4.5).
const FRAGMENT_LEN: usize = 8;
/// Length of an Authentication Header without Integrity Check Value (RFC 4302 §2).
const AUTH_MIN_LEN: usize = 12;

/// The Fragment header's fields (RFC 8200 §4.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv6Fragment {
    /// Fragment offset in bytes (the field counts 8-byte units).
    pub offset: u16,
    /// The M flag: more fragments follow.
    pub more_frags: bool,
    /// Identification.
    pub ident: u32,
}

impl Ipv6Fragment {
    /// Whether this is the first fragment (offset 0), which carries the rest of the header
    /// chain (RFC 8200 §4.5, RFC 7112).
    pub const fn is_first(&self) -> bool {
        self.offset == 0
    }

    /// Whether this is an atomic fragment: offset 0 and no more fragments (RFC 6946).
    pub const fn is_atomic(&self) -> bool {
        self.offset == 0 && !self.more_frags
    }
}

/// What the walk of an extension header chain found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExtHeaderChain {
    /// The Next Header value that ends the chain: the upper-layer protocol, No Next Header,
    /// ESP (`Unknown(50)`), or for a non-first fragment the protocol of the fragmented
    /// payload.
    pub upper_layer: IpProtocol,
    /// Total length of the extension headers: the offset of the upper-layer payload from
    /// the end of the fixed header.
    pub len: usize,
    /// The Fragment header, if the chain has one.
    pub fragment: Option<Ipv6Fragment>,
}

impl ExtHeaderChain {
    /// Offset of the upper-layer payload from the start of the IPv6 packet.
    pub const fn payload_offset(&self) -> usize {
        super::HEADER_LEN + self.len
    }
}

/// One extension header: what follows it and how long it is.
struct ExtHeader {
    next: u8,
    len: usize,
    fragment: Option<Ipv6Fragment>,
}

/// Whether the walk continues past a header of type `kind`.
const fn is_extension(kind: u8) -> bool {
    matches!(kind, HOP_BY_HOP | ROUTING | FRAGMENT | AUTH | DEST_OPTS)
}

/// Parses the extension header of type `kind` at the start of `rest`.
fn parse_one(kind: u8, rest: &[u8]) -> Result<ExtHeader> {
    let (&next, after) = rest.split_first().ok_or(Error::Truncated)?;
    let len_byte = usize::from(*after.first().ok_or(Error::Truncated)?);
    let len = match kind {
        // RFC 4302 §2.2: Payload Length is the AH length in 4-byte words, minus 2.
        AUTH => (len_byte + 2) * 4,
        FRAGMENT => FRAGMENT_LEN,
        // RFC 8200 §4.3-§4.6: Hdr Ext Len in 8-byte units, not counting the first 8.
        _ => (len_byte + 1) * 8,
    };
    let header = rest.get(..len).ok_or(Error::Truncated)?;
    if kind == AUTH && len < AUTH_MIN_LEN {
        return Err(Error::Malformed);
    }
    let fragment = match header {
        [_, _, off_hi, off_lo, id @ ..] if kind == FRAGMENT => Some(Ipv6Fragment {
            // The offset's 13 bits sit above 2 reserved bits and M: masking them off
            // leaves the offset times 8.
            offset: u16::from_be_bytes([*off_hi, *off_lo]) & 0xfff8,
            more_frags: off_lo & 0x01 != 0,
            ident: id.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b)),
        }),
        _ => None,
    };
    Ok(ExtHeader { next, len, fragment })
}

/// Walks the extension headers at the start of `payload` (the IPv6 payload, bounded by
/// Payload Length), starting from the fixed header's Next Header `first`.
///
/// Errors: [`Error::Truncated`] if a header does not fit in `payload`;
/// [`Error::Malformed`] for a Hop-by-Hop header that is not first (RFC 8200 §4.3), a second
/// Fragment header, or an Authentication Header shorter than 12 bytes;
/// [`Error::Unsupported`] past [`MAX_EXT_HEADERS`] headers.
pub(super) fn walk(first: IpProtocol, payload: &[u8]) -> Result<ExtHeaderChain> {
    let mut chain = ExtHeaderChain { upper_layer: first, len: 0, fragment: None };
    for index in 0..MAX_EXT_HEADERS {
        let kind = u8::from(chain.upper_layer);
        if !is_extension(kind) {
            return Ok(chain);
        }
        // RFC 8200 §4.3: Hop-by-Hop Options only immediately after the IPv6 header.
        if kind == HOP_BY_HOP && index != 0 {
            return Err(Error::Malformed);
        }
        let header = parse_one(kind, payload.get(chain.len..).unwrap_or(&[]))?;
        chain.len += header.len;
        chain.upper_layer = IpProtocol::from(header.next);
        if let Some(fragment) = header.fragment {
            if chain.fragment.replace(fragment).is_some() {
                return Err(Error::Malformed);
            }
            // RFC 8200 §4.5: a non-first fragment carries fragment data, not headers.
            if !fragment.is_first() {
                return Ok(chain);
            }
        }
    }
    if is_extension(u8::from(chain.upper_layer)) {
        return Err(Error::Unsupported);
    }
    Ok(chain)
}
