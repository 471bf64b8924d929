//! IPv4 headers (RFC 791 §3.1).
//!
//! [`Ipv4Packet`] is a checked view of the header and its payload; the payload ends where
//! Total Length says, so Ethernet padding after it is excluded. [`Ipv4Repr`] is the parsed
//! header. Options (RFC 791 §3.1 "Options") are not interpreted: their bytes are carried raw
//! so that a header is re-emitted byte for byte.
//!
//! Fragments (RFC 791 §2.3, §3.2) are recognised and reported ([`Ipv4Packet::is_fragment`]) but
//! not reassembled here. The reserved flag bit (RFC 791 §3.1 "Flags", bit 0, "must be zero")
//! is readable through the view; [`Ipv4Repr::parse`] rejects a header that sets it as
//! [`Error::Malformed`], so that every parsed header is re-emitted exactly.

use core::net::Ipv4Addr;

mod repr;

pub use repr::Ipv4Repr;

use super::checksum;
use super::ip::IpProtocol;
use super::{Error, Result, be};

mod field {
    use core::ops::Range;

    /// Version (4 bits) and Internet Header Length in 32-bit words (4 bits).
    pub(super) const VER_IHL: usize = 0;
    /// DSCP (6 bits, RFC 2474 §3) and ECN (2 bits, RFC 3168 §5).
    pub(super) const DSCP_ECN: usize = 1;
    /// Total Length of header and data in bytes.
    pub(super) const LENGTH: Range<usize> = 2..4;
    /// Identification.
    pub(super) const IDENT: Range<usize> = 4..6;
    /// Flags (3 bits) and Fragment Offset in 8-byte units (13 bits).
    pub(super) const FLAGS_FRAG: Range<usize> = 6..8;
    /// Time to Live.
    pub(super) const TTL: usize = 8;
    /// Protocol.
    pub(super) const PROTOCOL: usize = 9;
    /// Header Checksum.
    pub(super) const CHECKSUM: Range<usize> = 10..12;
    /// Source Address.
    pub(super) const SRC_ADDR: Range<usize> = 12..16;
    /// Destination Address.
    pub(super) const DST_ADDR: Range<usize> = 16..20;
}

/// Length of a header without options.
pub const HEADER_LEN: usize = 20;
/// Most option bytes a header can carry (IHL is at most 15 words).
pub const MAX_OPTIONS_LEN: usize = 40;

/// Flag bits in the high byte of [`field::FLAGS_FRAG`] (RFC 791 §3.1 "Flags").
const FLAG_RESERVED: u8 = 0x80;
const FLAG_DONT_FRAG: u8 = 0x40;
const FLAG_MORE_FRAGS: u8 = 0x20;

/// A read/write view of an IPv4 packet.
#[derive(Debug, Clone)]
pub struct Ipv4Packet<T: AsRef<[u8]>> {
    buffer: T,
}

/// The bytes of `data` in `start..end`, cut at its end: never panics.
fn clamp(data: &[u8], start: usize, end: usize) -> &[u8] {
    data.get(start..end.min(data.len())).unwrap_or(&[])
}

/// [`clamp`] for writing.
fn clamp_mut(data: &mut [u8], start: usize, end: usize) -> &mut [u8] {
    let end = end.min(data.len());
    data.get_mut(start..end).unwrap_or(&mut [])
}

impl<T: AsRef<[u8]>> Ipv4Packet<T> {
    /// Wraps `buffer` without checking it; accessors may panic on a short buffer.
    pub const fn new_unchecked(buffer: T) -> Self {
        Ipv4Packet { buffer }
    }

    /// Wraps `buffer` after [`check_len`](Self::check_len).
    pub fn new_checked(buffer: T) -> Result<Self> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks the buffer against the header's length fields (RFC 791 §3.1):
    /// [`Error::Truncated`] if it is shorter than 20 bytes or than Total Length;
    /// [`Error::Malformed`] unless the version is 4, IHL is at least 5 and the header fits in
    /// Total Length.
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let (header_len, total_len) = (self.header_len(), usize::from(self.total_len()));
        if self.version() != 4 || usize::from(header_len) < HEADER_LEN {
            return Err(Error::Malformed);
        }
        if usize::from(header_len) > total_len {
            return Err(Error::Malformed);
        }
        if total_len > len {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    /// The wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn read_addr(&self, at: core::ops::Range<usize>) -> Ipv4Addr {
        let data = self.buffer.as_ref();
        Ipv4Addr::new(data[at.start], data[at.start + 1], data[at.start + 2], data[at.start + 3])
    }

    /// The version field (4 after `new_checked`).
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_IHL] >> 4
    }

    /// The header length in bytes: IHL × 4, options included.
    pub fn header_len(&self) -> u8 {
        (self.buffer.as_ref()[field::VER_IHL] & 0x0f) * 4
    }

    /// The Differentiated Services codepoint (RFC 2474 §3).
    pub fn dscp(&self) -> u8 {
        self.buffer.as_ref()[field::DSCP_ECN] >> 2
    }

    /// The ECN field (RFC 3168 §5).
    pub fn ecn(&self) -> u8 {
        self.buffer.as_ref()[field::DSCP_ECN] & 0x03
    }

    /// Total Length: header and data in bytes.
    pub fn total_len(&self) -> u16 {
        be::read_u16(self.buffer.as_ref(), field::LENGTH)
    }

    /// Identification.
    pub fn ident(&self) -> u16 {
        be::read_u16(self.buffer.as_ref(), field::IDENT)
    }

    fn flags(&self) -> u8 {
        self.buffer.as_ref()[field::FLAGS_FRAG.start]
    }

    /// The reserved flag bit, which RFC 791 §3.1 says must be zero.
    pub fn reserved_flag(&self) -> bool {
        self.flags() & FLAG_RESERVED != 0
    }

    /// Don't Fragment.
    pub fn dont_frag(&self) -> bool {
        self.flags() & FLAG_DONT_FRAG != 0
    }

    /// More Fragments.
    pub fn more_frags(&self) -> bool {
        self.flags() & FLAG_MORE_FRAGS != 0
    }

    /// The fragment offset in bytes (the field counts 8-byte units).
    pub fn frag_offset(&self) -> u16 {
        (be::read_u16(self.buffer.as_ref(), field::FLAGS_FRAG) & 0x1fff) << 3
    }

    /// Whether this is a fragment of a larger datagram: More Fragments set or a non-zero
    /// offset (RFC 791 §2.3).
    pub fn is_fragment(&self) -> bool {
        self.more_frags() || self.frag_offset() != 0
    }

    /// Time to Live.
    pub fn hop_limit(&self) -> u8 {
        self.buffer.as_ref()[field::TTL]
    }

    /// The Protocol field.
    pub fn next_header(&self) -> IpProtocol {
        IpProtocol::from(self.buffer.as_ref()[field::PROTOCOL])
    }

    /// The Header Checksum field.
    pub fn checksum(&self) -> u16 {
        be::read_u16(self.buffer.as_ref(), field::CHECKSUM)
    }

    /// The source address.
    pub fn src_addr(&self) -> Ipv4Addr {
        self.read_addr(field::SRC_ADDR)
    }

    /// The destination address.
    pub fn dst_addr(&self) -> Ipv4Addr {
        self.read_addr(field::DST_ADDR)
    }

    /// The header bytes, options included.
    fn header(&self) -> &[u8] {
        clamp(self.buffer.as_ref(), 0, usize::from(self.header_len()))
    }

    /// Whether the header checksum verifies: the header, checksum included, sums to `0xFFFF`
    /// (RFC 791 §3.1 "Header Checksum", RFC 1071 §1).
    pub fn verify_checksum(&self) -> bool {
        checksum::data(self.header()) == 0xFFFF
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Ipv4Packet<&'a T> {
    /// The option bytes between the fixed header and the payload, uninterpreted.
    pub fn options(&self) -> &'a [u8] {
        let data = self.buffer.as_ref();
        let header_len = data.get(field::VER_IHL).map_or(0, |b| usize::from(b & 0x0f) * 4);
        clamp(data, HEADER_LEN, header_len)
    }

    /// The payload: from the end of the header to Total Length, so link-layer padding is
    /// excluded.
    pub fn payload(&self) -> &'a [u8] {
        let data = self.buffer.as_ref();
        let packet = Ipv4Packet::new_unchecked(data);
        if data.len() < HEADER_LEN {
            return &[];
        }
        clamp(data, usize::from(packet.header_len()), usize::from(packet.total_len()))
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv4Packet<T> {
    fn set_flag(&mut self, flag: u8, value: bool) {
        let byte = &mut self.buffer.as_mut()[field::FLAGS_FRAG.start];
        *byte = if value { *byte | flag } else { *byte & !flag };
    }

    /// Sets the version field.
    pub fn set_version(&mut self, value: u8) {
        let byte = &mut self.buffer.as_mut()[field::VER_IHL];
        *byte = (*byte & 0x0f) | (value << 4);
    }

    /// Sets IHL from a header length in bytes (a multiple of 4, at most 60).
    pub fn set_header_len(&mut self, len: u8) {
        let byte = &mut self.buffer.as_mut()[field::VER_IHL];
        *byte = (*byte & 0xf0) | ((len / 4) & 0x0f);
    }

    /// Sets the DSCP (6 bits; higher bits are dropped).
    pub fn set_dscp(&mut self, value: u8) {
        let byte = &mut self.buffer.as_mut()[field::DSCP_ECN];
        *byte = (*byte & 0x03) | (value << 2);
    }

    /// Sets the ECN field (2 bits; higher bits are dropped).
    pub fn set_ecn(&mut self, value: u8) {
        let byte = &mut self.buffer.as_mut()[field::DSCP_ECN];
        *byte = (*byte & 0xfc) | (value & 0x03);
    }

    /// Sets Total Length.
    pub fn set_total_len(&mut self, value: u16) {
        be::write_u16(self.buffer.as_mut(), field::LENGTH, value);
    }

    /// Sets Identification.
    pub fn set_ident(&mut self, value: u16) {
        be::write_u16(self.buffer.as_mut(), field::IDENT, value);
    }

    /// Sets the reserved flag bit.
    pub fn set_reserved_flag(&mut self, value: bool) {
        self.set_flag(FLAG_RESERVED, value);
    }

    /// Sets Don't Fragment.
    pub fn set_dont_frag(&mut self, value: bool) {
        self.set_flag(FLAG_DONT_FRAG, value);
    }

    /// Sets More Fragments.
    pub fn set_more_frags(&mut self, value: bool) {
        self.set_flag(FLAG_MORE_FRAGS, value);
    }

    /// Sets the fragment offset from bytes (the low 3 bits are dropped).
    pub fn set_frag_offset(&mut self, offset: u16) {
        let flags = be::read_u16(self.buffer.as_ref(), field::FLAGS_FRAG) & 0xe000;
        be::write_u16(self.buffer.as_mut(), field::FLAGS_FRAG, flags | (offset >> 3));
    }

    /// Sets Time to Live.
    pub fn set_hop_limit(&mut self, value: u8) {
        self.buffer.as_mut()[field::TTL] = value;
    }

    /// Sets the Protocol field.
    pub fn set_next_header(&mut self, value: IpProtocol) {
        self.buffer.as_mut()[field::PROTOCOL] = value.into();
    }

    /// Sets the Header Checksum field.
    pub fn set_checksum(&mut self, value: u16) {
        be::write_u16(self.buffer.as_mut(), field::CHECKSUM, value);
    }

    /// Sets the source address.
    pub fn set_src_addr(&mut self, addr: Ipv4Addr) {
        self.buffer.as_mut()[field::SRC_ADDR].copy_from_slice(&addr.octets());
    }

    /// Sets the destination address.
    pub fn set_dst_addr(&mut self, addr: Ipv4Addr) {
        self.buffer.as_mut()[field::DST_ADDR].copy_from_slice(&addr.octets());
    }

    /// Computes the header checksum and stores it (RFC 791 §3.1 "Header Checksum").
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let checksum = !checksum::data(self.header());
        self.set_checksum(checksum);
    }

    /// The option bytes, as long as IHL and the buffer allow.
    pub fn options_mut(&mut self) -> &mut [u8] {
        let header_len = usize::from(self.header_len());
        clamp_mut(self.buffer.as_mut(), HEADER_LEN, header_len)
    }

    /// The payload, up to Total Length and the end of the buffer.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let (start, end) = (usize::from(self.header_len()), usize::from(self.total_len()));
        clamp_mut(self.buffer.as_mut(), start, end)
    }
}

#[cfg(test)]
mod tests;
