//! A checked zero-copy view of a TCP segment (RFC 9293 §3.1).

use core::net::IpAddr;

use super::{HEADER_LEN, MAX_HEADER_LEN, TcpFlags, TcpSeqNumber, field, segment_checksum};
use crate::wire::{Error, Result, be};

/// A TCP segment (header, options and data) in a byte buffer.
///
/// The buffer must end where the segment ends, that is, at the end of the IP payload as the
/// IP header's length says (not at the end of a padded Ethernet frame): [`payload`] is
/// everything after the header and the checksum covers the whole buffer.
///
/// After [`TcpPacket::new_checked`] succeeds no accessor can panic. On a view made with
/// [`TcpPacket::new_unchecked`], accessors panic if the buffer is shorter than the fields
/// they read.
///
/// [`payload`]: TcpPacket::payload
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> TcpPacket<T> {
    /// Wraps `buffer` without checking it, for a buffer about to be filled.
    pub const fn new_unchecked(buffer: T) -> TcpPacket<T> {
        TcpPacket { buffer }
    }

    /// Wraps `buffer` after [`TcpPacket::check_len`].
    ///
    /// # Errors
    /// As [`TcpPacket::check_len`].
    pub fn new_checked(buffer: T) -> Result<TcpPacket<T>> {
        let packet = TcpPacket::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks that the fixed header and the options the data offset announces fit the buffer.
    ///
    /// # Errors
    /// [`Error::Truncated`] if the buffer is shorter than 20 bytes or than the header length;
    /// [`Error::Malformed`] if the data offset is below 5 words (RFC 9293 §3.1).
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let header_len = self.header_len();
        if header_len < HEADER_LEN {
            return Err(Error::Malformed);
        }
        if header_len > len {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    /// The buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The source port.
    pub fn src_port(&self) -> u16 {
        be::read_u16(self.buffer.as_ref(), field::SRC_PORT)
    }

    /// The destination port.
    pub fn dst_port(&self) -> u16 {
        be::read_u16(self.buffer.as_ref(), field::DST_PORT)
    }

    /// The sequence number.
    pub fn seq_number(&self) -> TcpSeqNumber {
        TcpSeqNumber(be::read_u32(self.buffer.as_ref(), field::SEQ_NUMBER))
    }

    /// The acknowledgment number, whether or not ACK is set.
    pub fn ack_number(&self) -> TcpSeqNumber {
        TcpSeqNumber(be::read_u32(self.buffer.as_ref(), field::ACK_NUMBER))
    }

    /// The header length in bytes, options included: the data offset times 4.
    pub fn header_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[field::OFFSET_FLAGS.start] >> 4) * 4
    }

    /// The control bits, reserved bits included.
    pub fn flags(&self) -> TcpFlags {
        TcpFlags::from_bits(be::read_u16(self.buffer.as_ref(), field::OFFSET_FLAGS))
    }

    /// The window, unscaled.
    pub fn window_len(&self) -> u16 {
        be::read_u16(self.buffer.as_ref(), field::WINDOW)
    }

    /// The checksum field.
    pub fn checksum(&self) -> u16 {
        be::read_u16(self.buffer.as_ref(), field::CHECKSUM)
    }

    /// The urgent pointer, whether or not URG is set.
    pub fn urgent_pointer(&self) -> u16 {
        be::read_u16(self.buffer.as_ref(), field::URGENT)
    }

    /// The raw option bytes, padding included; see
    /// [`TcpOptions`](crate::wire::tcp_option::TcpOptions) to decode them.
    pub fn options(&self) -> &[u8] {
        &self.buffer.as_ref()[field::OPTIONS..self.header_len()]
    }

    /// The data after the header.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_len()..]
    }

    /// The sequence space the segment occupies (RFC 9293 §3.4 SEG.LEN): its data, plus one
    /// for SYN and one for FIN.
    pub fn segment_len(&self) -> usize {
        let flags = self.flags();
        self.payload().len()
            + usize::from(flags.contains(TcpFlags::SYN))
            + usize::from(flags.contains(TcpFlags::FIN))
    }

    /// Whether the checksum is right for a segment from `src` to `dst` (RFC 9293 §3.1).
    pub fn verify_checksum(&self, src: IpAddr, dst: IpAddr) -> bool {
        segment_checksum(src, dst, self.buffer.as_ref()) == 0
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> TcpPacket<&'a T> {
    /// The option bytes and the payload, borrowed for as long as the buffer is.
    pub(super) fn options_and_payload(&self) -> (&'a [u8], &'a [u8]) {
        let data: &'a [u8] = self.buffer.as_ref();
        let (header, payload) = data.split_at(self.header_len());
        (&header[field::OPTIONS..], payload)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> TcpPacket<T> {
    /// Sets the source port.
    pub fn set_src_port(&mut self, port: u16) {
        be::write_u16(self.buffer.as_mut(), field::SRC_PORT, port);
    }

    /// Sets the destination port.
    pub fn set_dst_port(&mut self, port: u16) {
        be::write_u16(self.buffer.as_mut(), field::DST_PORT, port);
    }

    /// Sets the sequence number.
    pub fn set_seq_number(&mut self, seq: TcpSeqNumber) {
        be::write_u32(self.buffer.as_mut(), field::SEQ_NUMBER, seq.0);
    }

    /// Sets the acknowledgment number.
    pub fn set_ack_number(&mut self, ack: TcpSeqNumber) {
        be::write_u32(self.buffer.as_mut(), field::ACK_NUMBER, ack.0);
    }

    /// Sets the data offset to `len / 4`. `len` should be a multiple of 4 from 20 to 60;
    /// other values write a data offset that does not match it.
    pub fn set_header_len(&mut self, len: usize) {
        debug_assert!(len.is_multiple_of(4) && (HEADER_LEN..=MAX_HEADER_LEN).contains(&len));
        let byte = &mut self.buffer.as_mut()[field::OFFSET_FLAGS.start];
        *byte = (*byte & 0x0f) | (((len / 4) as u8) << 4);
    }

    /// Sets the control bits, leaving the data offset alone.
    pub fn set_flags(&mut self, flags: TcpFlags) {
        let offset = u16::from(self.buffer.as_ref()[field::OFFSET_FLAGS.start] & 0xf0) << 8;
        be::write_u16(self.buffer.as_mut(), field::OFFSET_FLAGS, offset | flags.bits());
    }

    /// Sets the window.
    pub fn set_window_len(&mut self, window: u16) {
        be::write_u16(self.buffer.as_mut(), field::WINDOW, window);
    }

    /// Sets the checksum field; see also [`TcpPacket::fill_checksum`].
    pub fn set_checksum(&mut self, checksum: u16) {
        be::write_u16(self.buffer.as_mut(), field::CHECKSUM, checksum);
    }

    /// Sets the urgent pointer.
    pub fn set_urgent_pointer(&mut self, urgent: u16) {
        be::write_u16(self.buffer.as_mut(), field::URGENT, urgent);
    }

    /// The option bytes, to write, as far as the data offset says.
    pub fn options_mut(&mut self) -> &mut [u8] {
        let header_len = self.header_len();
        &mut self.buffer.as_mut()[field::OPTIONS..header_len]
    }

    /// The data after the header, to write.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let header_len = self.header_len();
        &mut self.buffer.as_mut()[header_len..]
    }

    /// Computes the checksum of the whole buffer for a segment from `src` to `dst` and writes
    /// it into the checksum field (RFC 9293 §3.1).
    pub fn fill_checksum(&mut self, src: IpAddr, dst: IpAddr) {
        self.set_checksum(0);
        let checksum = segment_checksum(src, dst, self.buffer.as_ref());
        self.set_checksum(checksum);
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for TcpPacket<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}
