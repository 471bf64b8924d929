//! What every MPTCP suboption shares: the common header (kind 30, length, subtype nibble) and
//! bounds-checked big-endian field access.
//!
//! RFC 8684 §3 (and RFC 6824 §3): every MPTCP suboption is a TCP option of kind 30 whose
//! third byte carries the 4-bit subtype in its upper nibble; the lower nibble belongs to the
//! subtype (a version, flags, or reserved bits).
//!
//! Readers return [`Error::Truncated`] instead of panicking when a field lies outside the
//! bytes; writers are used by `emit` only, whose callers guarantee the buffer length.

use super::MptcpSubtype;
use crate::wire::{Error, Result};

/// The TCP option kind of every MPTCP suboption (RFC 8684 §3, IANA TCP option kind 30).
pub(super) const KIND: u8 = 30;

/// Offsets of the header every MPTCP suboption starts with.
pub(super) mod field {
    /// TCP option kind (always 30).
    pub(crate) const KIND: usize = 0;
    /// TCP option length: the whole option, kind and length bytes included.
    pub(crate) const LENGTH: usize = 1;
    /// Subtype in the upper nibble, subtype-specific bits in the lower nibble.
    pub(crate) const SUBTYPE: usize = 2;
    /// The first byte after the common header.
    pub(crate) const BODY: usize = 3;
}

/// Checks the kind and length bytes and returns the option cut to its length field.
///
/// A length shorter than the 3-byte common header is `Malformed`; bytes ending before the
/// length field says is `Truncated`. Bytes after the option (if the caller passed a longer
/// slice) are not part of the result.
pub(super) fn trim(option: &[u8]) -> Result<&[u8]> {
    let [kind, len, ..] = *option else {
        return Err(Error::Truncated);
    };
    if kind != KIND {
        return Err(Error::Malformed);
    }
    let len = usize::from(len);
    if len < field::BODY {
        return Err(Error::Malformed);
    }
    option.get(..len).ok_or(Error::Truncated)
}

/// The upper nibble of the subtype byte.
pub(super) fn subtype_nibble(opt: &[u8]) -> Result<u8> {
    Ok(read_u8(opt, field::SUBTYPE)? >> 4)
}

/// The lower nibble of the subtype byte (version, flags or reserved bits, per subtype).
pub(super) fn low_nibble(opt: &[u8]) -> Result<u8> {
    Ok(read_u8(opt, field::SUBTYPE)? & 0x0f)
}

/// [`trim`], then checks that the option carries `subtype`.
pub(super) fn expect(option: &[u8], subtype: MptcpSubtype) -> Result<&[u8]> {
    let opt = trim(option)?;
    if subtype_nibble(opt)? != subtype.nibble() {
        return Err(Error::Malformed);
    }
    Ok(opt)
}

/// The byte at `at`.
pub(super) fn read_u8(bytes: &[u8], at: usize) -> Result<u8> {
    bytes.get(at).copied().ok_or(Error::Truncated)
}

/// The `N` bytes starting at `at`.
pub(super) fn read_array<const N: usize>(bytes: &[u8], at: usize) -> Result<[u8; N]> {
    let end = at.checked_add(N).ok_or(Error::Truncated)?;
    bytes.get(at..end).and_then(|s| <[u8; N]>::try_from(s).ok()).ok_or(Error::Truncated)
}

/// The big-endian `u16` at `at`.
pub(super) fn read_u16(bytes: &[u8], at: usize) -> Result<u16> {
    read_array(bytes, at).map(u16::from_be_bytes)
}

/// The big-endian `u32` at `at`.
pub(super) fn read_u32(bytes: &[u8], at: usize) -> Result<u32> {
    read_array(bytes, at).map(u32::from_be_bytes)
}

/// The big-endian `u64` at `at`.
pub(super) fn read_u64(bytes: &[u8], at: usize) -> Result<u64> {
    read_array(bytes, at).map(u64::from_be_bytes)
}

/// Writes kind, length and subtype byte and returns the first `len` bytes of `buf`.
///
/// # Panics
/// If `buf` is shorter than `len`, or `len` exceeds 255. Both are caller bugs: `emit`
/// documents that the buffer must hold `buffer_len()` bytes, and every `Repr` bounds its
/// own length to what fits the 8-bit length field.
pub(super) fn write_header(
    buf: &mut [u8],
    len: usize,
    subtype: MptcpSubtype,
    low: u8,
) -> &mut [u8] {
    assert!(
        buf.len() >= len,
        "MPTCP option emit: buffer of {} bytes, option needs {len}",
        buf.len()
    );
    let len_byte = u8::try_from(len).expect("every MPTCP Repr keeps its length within 255 bytes");
    let buf = &mut buf[..len];
    buf[field::KIND] = KIND;
    buf[field::LENGTH] = len_byte;
    buf[field::SUBTYPE] = (subtype.nibble() << 4) | (low & 0x0f);
    buf
}

/// Copies `bytes` to `buf[at..]`; `buf` comes from [`write_header`], sized by `buffer_len`.
pub(super) fn write_bytes(buf: &mut [u8], at: usize, bytes: &[u8]) {
    buf[at..at + bytes.len()].copy_from_slice(bytes);
}
