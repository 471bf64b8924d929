//! MPTCP suboptions this implementation does not decode: MP_EXPERIMENTAL (subtype 0xf,
//! reserved for private use by RFC 8684 §7.2 and RFC 6824 §8), the unassigned subtypes
//! 0x9..=0xe, and MP_TCPRST on a v0 connection (RFC 6824 does not define it). The bytes are
//! kept so that they can be logged or forwarded unchanged.

use super::codec;
use crate::wire::{Error, Result};

/// An MPTCP option kept as raw bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UnknownOption<'a> {
    /// The bytes after kind and length, starting with the subtype byte.
    body: &'a [u8],
}

impl<'a> UnknownOption<'a> {
    /// An option whose bytes after kind and length are `body` (subtype byte first);
    /// `Malformed` if `body` is empty or longer than 253 bytes.
    pub const fn new(body: &'a [u8]) -> Result<UnknownOption<'a>> {
        if body.is_empty() || body.len() > u8::MAX as usize - 2 {
            return Err(Error::Malformed);
        }
        Ok(UnknownOption { body })
    }

    /// Takes any MPTCP option (whole option bytes, kind first) as raw bytes.
    pub fn parse(option: &'a [u8]) -> Result<UnknownOption<'a>> {
        let opt = codec::trim(option)?;
        UnknownOption::new(opt.get(codec::field::SUBTYPE..).ok_or(Error::Truncated)?)
    }

    /// The 4-bit subtype.
    pub const fn subtype(&self) -> u8 {
        match self.body.first() {
            Some(byte) => *byte >> 4,
            None => 0,
        }
    }

    /// The bytes after kind and length, subtype byte first.
    pub const fn body(&self) -> &'a [u8] {
        self.body
    }

    /// The option length: 2 plus the body.
    pub const fn buffer_len(&self) -> usize {
        codec::field::SUBTYPE + self.body.len()
    }

    /// Writes the option (kind and length included) to `buf[..self.buffer_len()]`.
    ///
    /// # Panics
    /// If `buf` is shorter than [`buffer_len`](Self::buffer_len).
    pub fn emit(&self, buf: &mut [u8]) {
        let len = self.buffer_len();
        assert!(
            buf.len() >= len,
            "MPTCP option emit: buffer of {} bytes, option needs {len}",
            buf.len()
        );
        let len_byte = u8::try_from(len).expect("UnknownOption::new bounds the body to 253 bytes");
        buf[codec::field::KIND] = codec::KIND;
        buf[codec::field::LENGTH] = len_byte;
        codec::write_bytes(buf, codec::field::SUBTYPE, self.body);
    }
}
