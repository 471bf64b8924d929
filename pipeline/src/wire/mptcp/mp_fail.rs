//! MP_FAIL, fallback (subtype 0x6): RFC 8684 §3.7, same format in RFC 6824 §3.6.
//!
//! ```text
//! +---------------+---------------+-------+----------------------+
//! |     Kind      |   Length=12   |Subtype|      (reserved)      |
//! +---------------+---------------+-------+----------------------+
//! |                 Data Sequence Number (8 octets)              |
//! +--------------------------------------------------------------+
//! ```
//!
//! The reserved bits are ignored on receipt; any length but 12 is `Malformed`.

use super::{MptcpSubtype, codec};
use crate::wire::{Error, Result};

/// Offset of the data sequence number.
const DSN: usize = 4;
/// The only MP_FAIL length.
const LEN: usize = 12;

/// An MP_FAIL option: the sender detected a checksum failure and falls back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MpFail {
    /// The full 64-bit DSN of the start of the mapping whose checksum failed (RFC 8684 §3.7).
    pub dsn: u64,
}

impl MpFail {
    /// Parses an MP_FAIL option (whole option bytes, kind first).
    pub fn parse(option: &[u8]) -> Result<MpFail> {
        let opt = codec::expect(option, MptcpSubtype::MpFail)?;
        if opt.len() != LEN {
            return Err(Error::Malformed);
        }
        Ok(MpFail { dsn: codec::read_u64(opt, DSN)? })
    }

    /// The option length: 12.
    pub const fn buffer_len(&self) -> usize {
        LEN
    }

    /// Writes the option (kind and length included) to `buf[..12]`.
    ///
    /// # Panics
    /// If `buf` is shorter than 12 bytes.
    pub fn emit(&self, buf: &mut [u8]) {
        let buf = codec::write_header(buf, LEN, MptcpSubtype::MpFail, 0);
        buf[codec::field::BODY] = 0;
        codec::write_bytes(buf, DSN, &self.dsn.to_be_bytes());
    }
}
