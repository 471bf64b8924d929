//! The parsed form of a TCP header (RFC 9293 §3.1).

use super::{HEADER_LEN, TcpFlags, TcpPacket, TcpSeqNumber};
use crate::wire::Result;
use crate::wire::tcp_option::{MAX_OPTIONS_LEN, TcpOptions};

/// A TCP segment's header fields, options and data, borrowed from the buffer it came from.
///
/// Every header field is kept as it was on the wire, including the acknowledgment number and
/// urgent pointer when ACK or URG is clear and the reserved bits of `flags`, so that
/// `emit(parse(x)) == x` byte for byte. The checksum is not part of it; see
/// [`TcpRepr::parse`] and [`TcpRepr::emit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpRepr<'a> {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number.
    pub seq_number: TcpSeqNumber,
    /// Acknowledgment number; significant only when `flags` has ACK.
    pub ack_number: TcpSeqNumber,
    /// Control bits.
    pub flags: TcpFlags,
    /// Window, unscaled.
    pub window_len: u16,
    /// Urgent pointer; significant only when `flags` has URG.
    pub urgent_pointer: u16,
    /// The option area, decoded lazily; at most 40 bytes. Its length is rounded up to a
    /// multiple of 4 on emission, the padding being zeros (End of Option List).
    pub options: TcpOptions<'a>,
    /// The data.
    pub payload: &'a [u8],
}

impl<'a> TcpRepr<'a> {
    /// Reads the header of `packet`.
    ///
    /// Checks only what [`TcpPacket::check_len`] checks: it neither decodes the options (that
    /// happens when the caller looks at [`TcpRepr::options`]) nor verifies the checksum. The
    /// caller verifies it with [`TcpPacket::verify_checksum`] unless the NIC already has
    /// (receive checksum offload), which is why it is left out of here.
    ///
    /// # Errors
    /// As [`TcpPacket::check_len`].
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &TcpPacket<&'a T>) -> Result<TcpRepr<'a>> {
        packet.check_len()?;
        let (options, payload) = packet.options_and_payload();
        Ok(TcpRepr {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
            seq_number: packet.seq_number(),
            ack_number: packet.ack_number(),
            flags: packet.flags(),
            window_len: packet.window_len(),
            urgent_pointer: packet.urgent_pointer(),
            options: TcpOptions::new(options),
            payload,
        })
    }

    /// The header length [`TcpRepr::emit`] writes: 20 bytes plus the options padded to a
    /// multiple of 4.
    pub fn header_len(&self) -> usize {
        HEADER_LEN + self.options.len().next_multiple_of(4)
    }

    /// The segment length [`TcpRepr::emit`] writes: header and data.
    pub fn buffer_len(&self) -> usize {
        self.header_len() + self.payload.len()
    }

    /// The sequence space the segment occupies (RFC 9293 §3.4 SEG.LEN).
    pub fn segment_len(&self) -> usize {
        self.payload.len()
            + usize::from(self.flags.contains(TcpFlags::SYN))
            + usize::from(self.flags.contains(TcpFlags::FIN))
    }

    /// Writes the header and the data into `packet`, whose buffer should be exactly
    /// [`TcpRepr::buffer_len`] bytes long.
    ///
    /// The checksum field is left zero. Call [`TcpPacket::fill_checksum`] afterwards, or leave
    /// it to the NIC (transmit checksum offload), so the fast path pays for the checksum only
    /// when it has to.
    ///
    /// # Panics
    /// If the buffer is shorter than [`TcpRepr::buffer_len`], or the options are longer than
    /// 40 bytes (no TCP header can carry them).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut TcpPacket<T>) {
        self.emit_header(packet);
        packet.payload_mut()[..self.payload.len()].copy_from_slice(self.payload);
    }

    /// Writes the header only (fixed fields, options and padding), for a caller that has
    /// already put the data in place after it. The checksum field is left zero.
    ///
    /// # Panics
    /// If the buffer is shorter than [`TcpRepr::header_len`], or the options are longer than
    /// 40 bytes.
    pub fn emit_header<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut TcpPacket<T>) {
        assert!(self.options.len() <= MAX_OPTIONS_LEN, "TCP options exceed 40 bytes");
        packet.set_src_port(self.src_port);
        packet.set_dst_port(self.dst_port);
        packet.set_seq_number(self.seq_number);
        packet.set_ack_number(self.ack_number);
        packet.set_header_len(self.header_len());
        packet.set_flags(self.flags);
        packet.set_window_len(self.window_len);
        packet.set_checksum(0);
        packet.set_urgent_pointer(self.urgent_pointer);
        let (written, padding) = packet.options_mut().split_at_mut(self.options.len());
        written.copy_from_slice(self.options.as_bytes());
        padding.fill(0);
    }
}
