//! IPv6 packets (RFC 8200 §3) and their extension header chain (RFC 8200 §4).
//!
//! [`Ipv6Packet`] is a checked view of the fixed header and the payload, which ends where
//! Payload Length says (Ethernet padding excluded). [`Ipv6Packet::ext_headers`] walks the
//! extension headers to the upper layer (see [`ExtHeaderChain`]). [`Ipv6Repr`] is the parsed
//! header: the fixed fields, the upper-layer protocol and length, and the extension headers
//! kept as raw bytes so that a packet is re-emitted byte for byte.
//!
//! Jumbograms (RFC 2675: Payload Length 0 with a Jumbo Payload option in a Hop-by-Hop
//! header) are [`Error::Unsupported`].

mod ext;

use core::net::Ipv6Addr;

pub use ext::{ExtHeaderChain, Ipv6Fragment, MAX_EXT_HEADERS};

use super::ip::IpProtocol;
use super::{Error, Result};

mod field {
    use core::ops::Range;

    /// Version (4 bits), Traffic Class (8 bits), Flow Label (20 bits).
    pub(super) const VER_TC_FLOW: Range<usize> = 0..4;
    /// Payload Length: bytes after the fixed header, extension headers included.
    pub(super) const LENGTH: Range<usize> = 4..6;
    /// Next Header.
    pub(super) const NXT_HDR: usize = 6;
    /// Hop Limit.
    pub(super) const HOP_LIMIT: usize = 7;
    /// Source Address.
    pub(super) const SRC_ADDR: Range<usize> = 8..24;
    /// Destination Address.
    pub(super) const DST_ADDR: Range<usize> = 24..40;
}

/// Length of the fixed header.
pub const HEADER_LEN: usize = 40;

/// A read/write view of an IPv6 packet.
#[derive(Debug, Clone)]
pub struct Ipv6Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv6Packet<T> {
    /// Wraps `buffer` without checking it; accessors may panic on a short buffer.
    pub const fn new_unchecked(buffer: T) -> Self {
        Ipv6Packet { buffer }
    }

    /// Wraps `buffer` after [`check_len`](Self::check_len).
    pub fn new_checked(buffer: T) -> Result<Self> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks the buffer: [`Error::Truncated`] if it is shorter than the fixed header or
    /// than the header plus Payload Length; [`Error::Malformed`] unless the version is 6.
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        if self.version() != 6 {
            return Err(Error::Malformed);
        }
        if HEADER_LEN + usize::from(self.payload_len()) > len {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    /// The wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn first_word(&self) -> u32 {
        let data = self.buffer.as_ref();
        u32::from_be_bytes([data[0], data[1], data[2], data[3]])
    }

    fn read_addr(&self, at: core::ops::Range<usize>) -> Ipv6Addr {
        let mut octets = [0; 16];
        octets.copy_from_slice(&self.buffer.as_ref()[at]);
        Ipv6Addr::from(octets)
    }

    /// The version field (6 after `new_checked`).
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_TC_FLOW.start] >> 4
    }

    /// The Traffic Class (RFC 8200 §7).
    pub fn traffic_class(&self) -> u8 {
        (self.first_word() >> 20) as u8
    }

    /// The Differentiated Services codepoint, the high 6 bits of the Traffic Class
    /// (RFC 2474 §3).
    pub fn dscp(&self) -> u8 {
        self.traffic_class() >> 2
    }

    /// The ECN field, the low 2 bits of the Traffic Class (RFC 3168 §5).
    pub fn ecn(&self) -> u8 {
        self.traffic_class() & 0x03
    }

    /// The Flow Label (RFC 6437).
    pub fn flow_label(&self) -> u32 {
        self.first_word() & 0x000f_ffff
    }

    /// Payload Length: bytes after the fixed header, extension headers included.
    pub fn payload_len(&self) -> u16 {
        let data = self.buffer.as_ref();
        u16::from_be_bytes([data[field::LENGTH.start], data[field::LENGTH.start + 1]])
    }

    /// The Next Header field of the fixed header.
    pub fn next_header(&self) -> IpProtocol {
        IpProtocol::from(self.buffer.as_ref()[field::NXT_HDR])
    }

    /// Hop Limit.
    pub fn hop_limit(&self) -> u8 {
        self.buffer.as_ref()[field::HOP_LIMIT]
    }

    /// The source address.
    pub fn src_addr(&self) -> Ipv6Addr {
        self.read_addr(field::SRC_ADDR)
    }

    /// The destination address.
    pub fn dst_addr(&self) -> Ipv6Addr {
        self.read_addr(field::DST_ADDR)
    }

    /// The payload bytes, cut at the end of the buffer.
    fn payload_bytes(&self) -> &[u8] {
        let data = self.buffer.as_ref();
        let end = HEADER_LEN + usize::from(self.payload_len());
        data.get(HEADER_LEN..end.min(data.len())).unwrap_or(&[])
    }

    /// Walks the extension headers to the upper layer; see [`ExtHeaderChain`] for what it
    /// reports and the `ext` module's `walk` for the errors.
    pub fn ext_headers(&self) -> Result<ExtHeaderChain> {
        ext::walk(self.next_header(), self.payload_bytes())
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Ipv6Packet<&'a T> {
    /// The payload: extension headers and upper-layer data, up to Payload Length.
    pub fn payload(&self) -> &'a [u8] {
        let data = self.buffer.as_ref();
        if data.len() < HEADER_LEN {
            return &[];
        }
        let end = HEADER_LEN + usize::from(Ipv6Packet::new_unchecked(data).payload_len());
        data.get(HEADER_LEN..end.min(data.len())).unwrap_or(&[])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv6Packet<T> {
    fn set_first_word(&mut self, mask: u32, value: u32) {
        let word = (self.first_word() & !mask) | (value & mask);
        self.buffer.as_mut()[field::VER_TC_FLOW].copy_from_slice(&word.to_be_bytes());
    }

    /// Sets the version field.
    pub fn set_version(&mut self, value: u8) {
        self.set_first_word(0xf000_0000, u32::from(value) << 28);
    }

    /// Sets the Traffic Class.
    pub fn set_traffic_class(&mut self, value: u8) {
        self.set_first_word(0x0ff0_0000, u32::from(value) << 20);
    }

    /// Sets the Flow Label (20 bits; higher bits are dropped).
    pub fn set_flow_label(&mut self, value: u32) {
        self.set_first_word(0x000f_ffff, value);
    }

    /// Sets Payload Length.
    pub fn set_payload_len(&mut self, value: u16) {
        self.buffer.as_mut()[field::LENGTH].copy_from_slice(&value.to_be_bytes());
    }

    /// Sets the Next Header field of the fixed header.
    pub fn set_next_header(&mut self, value: IpProtocol) {
        self.buffer.as_mut()[field::NXT_HDR] = value.into();
    }

    /// Sets Hop Limit.
    pub fn set_hop_limit(&mut self, value: u8) {
        self.buffer.as_mut()[field::HOP_LIMIT] = value;
    }

    /// Sets the source address.
    pub fn set_src_addr(&mut self, addr: &Ipv6Addr) {
        self.buffer.as_mut()[field::SRC_ADDR].copy_from_slice(&addr.octets());
    }

    /// Sets the destination address.
    pub fn set_dst_addr(&mut self, addr: &Ipv6Addr) {
        self.buffer.as_mut()[field::DST_ADDR].copy_from_slice(&addr.octets());
    }

    /// The payload, up to Payload Length and the end of the buffer.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let data = self.buffer.as_mut();
        let end = HEADER_LEN + usize::from(u16::from_be_bytes([data[4], data[5]]));
        let end = end.min(data.len());
        data.get_mut(HEADER_LEN..end).unwrap_or(&mut [])
    }
}

/// The extension headers of a parsed packet, kept raw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv6ExtHeaders<'a> {
    /// The Next Header field of the fixed header: the type of the first extension header.
    pub first: IpProtocol,
    /// The extension headers as on the wire, up to the upper-layer payload. Not empty.
    pub bytes: &'a [u8],
    /// The Fragment header among them, if any. Derived from `bytes`: `emit` does not read it.
    pub fragment: Option<Ipv6Fragment>,
}

/// A parsed IPv6 header and extension header chain.
///
/// Representable: `dscp < 64`, `ecn < 4`, `flow_label < 2^20`, extension header bytes plus
/// `payload_len` at most 65 535; with `ext_headers`, its `bytes` must be a chain that starts
/// with `first`, ends in `next_header`, holds `fragment`, and is accepted by
/// [`Ipv6Packet::ext_headers`] (as every `Repr` from [`parse`](Self::parse) is).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv6Repr<'a> {
    /// Source address.
    pub src_addr: Ipv6Addr,
    /// Destination address.
    pub dst_addr: Ipv6Addr,
    /// The upper-layer protocol: the Next Header value that ends the extension header chain
    /// (the fixed header's when there is none).
    pub next_header: IpProtocol,
    /// Length of the upper-layer payload, after the extension headers.
    pub payload_len: usize,
    /// Hop Limit.
    pub hop_limit: u8,
    /// Differentiated Services codepoint (RFC 2474 §3).
    pub dscp: u8,
    /// ECN field (RFC 3168 §5).
    pub ecn: u8,
    /// Flow Label (RFC 6437).
    pub flow_label: u32,
    /// The extension headers, or `None` if the upper layer follows the fixed header.
    pub ext_headers: Option<Ipv6ExtHeaders<'a>>,
}

impl<'a> Ipv6Repr<'a> {
    /// Parses the fixed header of `packet` and walks its extension headers.
    ///
    /// Errors: those of [`Ipv6Packet::check_len`] and [`Ipv6Packet::ext_headers`];
    /// [`Error::Unsupported`] for a jumbogram (RFC 2675 §3: Payload Length 0 with a
    /// Hop-by-Hop header).
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Ipv6Packet<&'a T>) -> Result<Ipv6Repr<'a>> {
        packet.check_len()?;
        let first = packet.next_header();
        if packet.payload_len() == 0 && first == IpProtocol::HopByHop {
            return Err(Error::Unsupported);
        }
        let payload = packet.payload();
        let chain = packet.ext_headers()?;
        let (ext_bytes, upper) = payload.split_at_checked(chain.len).ok_or(Error::Truncated)?;
        let ext_headers = (!ext_bytes.is_empty()).then_some(Ipv6ExtHeaders {
            first,
            bytes: ext_bytes,
            fragment: chain.fragment,
        });
        Ok(Ipv6Repr {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            next_header: chain.upper_layer,
            payload_len: upper.len(),
            hop_limit: packet.hop_limit(),
            dscp: packet.dscp(),
            ecn: packet.ecn(),
            flow_label: packet.flow_label(),
            ext_headers,
        })
    }

    /// The raw extension header bytes; empty without extension headers.
    pub fn ext_header_bytes(&self) -> &'a [u8] {
        self.ext_headers.map_or(&[], |ext| ext.bytes)
    }

    /// The Fragment header's fields, if the chain has one.
    pub fn fragment(&self) -> Option<Ipv6Fragment> {
        self.ext_headers.and_then(|ext| ext.fragment)
    }

    /// Whether this is a fragment that needs reassembly: a Fragment header that is not
    /// atomic (RFC 6946 §4: atomic fragments are processed as whole packets).
    pub fn is_fragment(&self) -> bool {
        self.fragment().is_some_and(|f| !f.is_atomic())
    }

    /// Length of what `emit` writes: the fixed header and the extension headers. The
    /// upper-layer payload starts at this offset.
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN + self.ext_header_bytes().len()
    }

    /// Writes the fixed header and the extension headers into the start of `packet`; the
    /// upper-layer payload is left alone. Out-of-range `dscp`, `ecn` and `flow_label` bits
    /// are dropped.
    ///
    /// # Panics
    /// If the buffer is shorter than [`buffer_len`](Self::buffer_len), or if extension
    /// headers and payload exceed 65 535 bytes (a jumbogram, which this does not write).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Ipv6Packet<T>) {
        let ext = self.ext_header_bytes();
        let payload_len = ext
            .len()
            .checked_add(self.payload_len)
            .and_then(|len| u16::try_from(len).ok())
            .expect("IPv6 Payload Length is at most 65535 without a jumbogram (RFC 8200 §3)");
        packet.set_version(6);
        packet.set_traffic_class((self.dscp << 2) | (self.ecn & 0x03));
        packet.set_flow_label(self.flow_label);
        packet.set_payload_len(payload_len);
        packet.set_next_header(self.ext_headers.map_or(self.next_header, |ext| ext.first));
        packet.set_hop_limit(self.hop_limit);
        packet.set_src_addr(&self.src_addr);
        packet.set_dst_addr(&self.dst_addr);
        packet.payload_mut()[..ext.len()].copy_from_slice(ext);
    }
}

#[cfg(test)]
mod tests;
