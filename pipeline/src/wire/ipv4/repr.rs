//! The parsed IPv4 header ([`Ipv4Repr`]): parse with validation, emit with checksum.

use core::net::Ipv4Addr;

use super::{HEADER_LEN, Ipv4Packet, MAX_OPTIONS_LEN};
use crate::wire::ip::IpProtocol;
use crate::wire::{Error, Result};

/// A parsed IPv4 header.
///
/// Representable: `dscp < 64`, `ecn < 4`, `frag_offset` a multiple of 8, `options` a
/// multiple of 4 bytes and at most 40, and `buffer_len() + payload_len <= 65535`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv4Repr<'a> {
    /// Source address.
    pub src_addr: Ipv4Addr,
    /// Destination address.
    pub dst_addr: Ipv4Addr,
    /// The Protocol field.
    pub next_header: IpProtocol,
    /// Length of the payload: Total Length minus the header length.
    pub payload_len: usize,
    /// Time to Live.
    pub hop_limit: u8,
    /// Differentiated Services codepoint (RFC 2474 §3).
    pub dscp: u8,
    /// ECN field (RFC 3168 §5).
    pub ecn: u8,
    /// Identification.
    pub ident: u16,
    /// Don't Fragment.
    pub dont_frag: bool,
    /// More Fragments.
    pub more_frags: bool,
    /// Fragment offset in bytes.
    pub frag_offset: u16,
    /// The option bytes, uninterpreted (padding included).
    pub options: &'a [u8],
}

impl<'a> Ipv4Repr<'a> {
    /// Parses and validates the header of `packet`.
    ///
    /// Errors: those of [`Ipv4Packet::check_len`]; [`Error::Checksum`] if the header
    /// checksum does not verify; [`Error::Malformed`] if the reserved flag is set.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Ipv4Packet<&'a T>) -> Result<Ipv4Repr<'a>> {
        packet.check_len()?;
        if !packet.verify_checksum() {
            return Err(Error::Checksum);
        }
        // RFC 791 §3.1: the first flag bit is reserved and must be zero.
        if packet.reserved_flag() {
            return Err(Error::Malformed);
        }
        let header_len = usize::from(packet.header_len());
        Ok(Ipv4Repr {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            next_header: packet.next_header(),
            payload_len: usize::from(packet.total_len()).saturating_sub(header_len),
            hop_limit: packet.hop_limit(),
            dscp: packet.dscp(),
            ecn: packet.ecn(),
            ident: packet.ident(),
            dont_frag: packet.dont_frag(),
            more_frags: packet.more_frags(),
            frag_offset: packet.frag_offset(),
            options: packet.options(),
        })
    }

    /// Length of the header `emit` writes: 20 bytes plus the options.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN + self.options.len()
    }

    /// Whether this is a fragment: More Fragments set or a non-zero offset.
    pub const fn is_fragment(&self) -> bool {
        self.more_frags || self.frag_offset != 0
    }

    /// Writes the header, checksum included, into the start of `packet`; the payload is
    /// left alone. Out-of-range `dscp`, `ecn` and `frag_offset` bits are dropped.
    ///
    /// # Panics
    /// If the buffer is shorter than [`buffer_len`](Self::buffer_len), if `options` is not
    /// a multiple of 4 bytes or longer than 40, or if header and payload exceed 65 535 bytes;
    /// [`parse`](Self::parse) never produces such a `Repr`.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Ipv4Packet<T>) {
        assert!(
            self.options.len().is_multiple_of(4) && self.options.len() <= MAX_OPTIONS_LEN,
            "IPv4 options must be padded to 4 bytes and fit in 40"
        );
        let total_len = u16::try_from(self.buffer_len().saturating_add(self.payload_len))
            .expect("an IPv4 datagram is at most 65535 bytes (RFC 791 §3.1 Total Length)");
        packet.set_version(4);
        // buffer_len() <= 60 by the assertion above.
        packet.set_header_len(self.buffer_len() as u8);
        packet.set_dscp(self.dscp);
        packet.set_ecn(self.ecn);
        packet.set_total_len(total_len);
        packet.set_ident(self.ident);
        packet.set_reserved_flag(false);
        packet.set_dont_frag(self.dont_frag);
        packet.set_more_frags(self.more_frags);
        packet.set_frag_offset(self.frag_offset);
        packet.set_hop_limit(self.hop_limit);
        packet.set_next_header(self.next_header);
        packet.set_src_addr(self.src_addr);
        packet.set_dst_addr(self.dst_addr);
        packet.options_mut().copy_from_slice(self.options);
        packet.fill_checksum();
    }
}
