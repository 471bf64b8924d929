//! REMOVE_ADDR (subtype 0x4): RFC 8684 §3.4.2, same format in RFC 6824 §3.4.2.
//!
//! ```text
//! +---------------+---------------+-------+-------+---------------+
//! |     Kind      |  Length = 3+n |Subtype|(resvd)|   Address ID  | ...
//! +---------------+---------------+-------+-------+---------------+
//!                            (followed by n-1 Address IDs, if required)
//! ```
//!
//! At least one address ID (length 4 and up). The reserved bits are ignored on receipt.
//! REMOVE_ADDR is not authenticated (RFC 8684 §3.4.2): it may only close subflows.

use super::{MptcpSubtype, codec};
use crate::wire::{Error, Result};

/// Offset of the first address ID.
const IDS: usize = codec::field::BODY;
/// The most address IDs an option can carry: the length field is 8 bits.
const MAX_IDS: usize = u8::MAX as usize - IDS;

/// A REMOVE_ADDR option: the address IDs, borrowed from the option bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RemoveAddr<'a> {
    addr_ids: &'a [u8],
}

impl<'a> RemoveAddr<'a> {
    /// A REMOVE_ADDR for `addr_ids`; `Malformed` if there are none or more than 252.
    pub const fn new(addr_ids: &'a [u8]) -> Result<RemoveAddr<'a>> {
        if addr_ids.is_empty() || addr_ids.len() > MAX_IDS {
            return Err(Error::Malformed);
        }
        Ok(RemoveAddr { addr_ids })
    }

    /// The removed address IDs (one or more).
    pub const fn addr_ids(&self) -> &'a [u8] {
        self.addr_ids
    }

    /// Parses a REMOVE_ADDR option (whole option bytes, kind first). `Malformed` if it
    /// carries no address ID.
    pub fn parse(option: &'a [u8]) -> Result<RemoveAddr<'a>> {
        let opt = codec::expect(option, MptcpSubtype::RemoveAddr)?;
        RemoveAddr::new(opt.get(IDS..).ok_or(Error::Truncated)?)
    }

    /// The option length: 3 plus the number of address IDs.
    pub const fn buffer_len(&self) -> usize {
        IDS + self.addr_ids.len()
    }

    /// Writes the option (kind and length included) to `buf[..self.buffer_len()]`.
    ///
    /// # Panics
    /// If `buf` is shorter than [`buffer_len`](Self::buffer_len).
    pub fn emit(&self, buf: &mut [u8]) {
        let buf = codec::write_header(buf, self.buffer_len(), MptcpSubtype::RemoveAddr, 0);
        codec::write_bytes(buf, IDS, self.addr_ids);
    }
}
