//! MP_PRIO, change subflow priority (subtype 0x5): RFC 8684 §3.3.8 (v1) and RFC 6824 §3.3.8
//! (v0).
//!
//! ```text
//! +---------------+---------------+-------+-----+-+--------------+
//! |     Kind      |     Length    |Subtype|(rsv)|B| AddrID (opt) |
//! +---------------+---------------+-------+-----+-+--------------+
//! ```
//!
//! v1: length 3, no address ID (RFC 8684 dropped it: the option applies to the subflow it is
//! sent on). v0: length 3, or 4 with the address ID whose subflows change priority. A length
//! 4 MP_PRIO on a v1 connection is `Malformed`. The reserved bits are ignored on receipt.

use super::{MptcpSubtype, MptcpVersion, codec};
use crate::wire::{Error, Result};

/// Field offsets inside an MP_PRIO option.
mod field {
    pub(super) const ADDR_ID: usize = 3;
}

/// The option length without and with the v0 address ID.
mod len {
    pub(super) const BARE: usize = 3;
    pub(super) const WITH_ADDR_ID: usize = 4;
}

/// B: the sender asks that this subflow be used as backup only.
const BACKUP: u8 = 0x01;

/// An MP_PRIO option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MpPrio {
    /// B: backup priority requested.
    pub backup: bool,
    /// v0 only: the address ID the change applies to (absent: this subflow). Must be `None`
    /// for a v1 connection.
    pub addr_id: Option<u8>,
}

impl MpPrio {
    /// An MP_PRIO for the subflow it is sent on (both versions).
    pub const fn new(backup: bool) -> MpPrio {
        MpPrio { backup, addr_id: None }
    }

    /// Parses an MP_PRIO option (whole option bytes, kind first) in the format of `version`.
    pub fn parse(option: &[u8], version: MptcpVersion) -> Result<MpPrio> {
        let opt = codec::expect(option, MptcpSubtype::MpPrio)?;
        let backup = codec::low_nibble(opt)? & BACKUP != 0;
        let addr_id = match (opt.len(), version) {
            (len::BARE, _) => None,
            (len::WITH_ADDR_ID, MptcpVersion::V0) => Some(codec::read_u8(opt, field::ADDR_ID)?),
            _ => return Err(Error::Malformed),
        };
        Ok(MpPrio { backup, addr_id })
    }

    /// The option length: 3, or 4 with an address ID.
    pub const fn buffer_len(&self) -> usize {
        if self.addr_id.is_some() { len::WITH_ADDR_ID } else { len::BARE }
    }

    /// Writes the option (kind and length included) to `buf[..self.buffer_len()]`.
    ///
    /// # Panics
    /// If `buf` is shorter than [`buffer_len`](Self::buffer_len).
    pub fn emit(&self, buf: &mut [u8]) {
        let low = if self.backup { BACKUP } else { 0 };
        let buf = codec::write_header(buf, self.buffer_len(), MptcpSubtype::MpPrio, low);
        if let Some(id) = self.addr_id {
            buf[field::ADDR_ID] = id;
        }
    }
}
