//! MP_FASTCLOSE (subtype 0x7): RFC 8684 §3.5, same format in RFC 6824 §3.5.
//!
//! ```text
//! +---------------+---------------+-------+-----------------------+
//! |     Kind      |    Length     |Subtype|      (reserved)       |
//! +---------------+---------------+-------+-----------------------+
//! |                      Option Receiver's Key                    |
//! |                            (64 bits)                          |
//! +---------------------------------------------------------------+
//! ```
//!
//! Length 12; the reserved bits are ignored on receipt. The receiver acts on it only if the
//! key is its own (RFC 8684 §3.5): that check is the engine's.

use super::{MptcpSubtype, codec};
use crate::wire::{Error, Result};

/// Offset of the receiver's key.
const KEY: usize = 4;
/// The only MP_FASTCLOSE length.
const LEN: usize = 12;

/// An MP_FASTCLOSE option: the sender closes the whole connection at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MpFastclose {
    /// The key of the host this option is sent to.
    pub receiver_key: u64,
}

impl MpFastclose {
    /// Parses an MP_FASTCLOSE option (whole option bytes, kind first).
    pub fn parse(option: &[u8]) -> Result<MpFastclose> {
        let opt = codec::expect(option, MptcpSubtype::MpFastclose)?;
        if opt.len() != LEN {
            return Err(Error::Malformed);
        }
        Ok(MpFastclose { receiver_key: codec::read_u64(opt, KEY)? })
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
        let buf = codec::write_header(buf, LEN, MptcpSubtype::MpFastclose, 0);
        buf[codec::field::BODY] = 0;
        codec::write_bytes(buf, KEY, &self.receiver_key.to_be_bytes());
    }
}
