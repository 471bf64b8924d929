//! ARP packets (RFC 826) for IPv4 over Ethernet.
//!
//! [`ArpPacket`] reads the generic layout of RFC 826 ("Packet format"): the address fields
//! follow the eight fixed bytes with the lengths the packet declares. [`ArpRepr`] is the one
//! combination the appliance speaks: hardware type 1 (Ethernet), protocol type `0x0800`
//! (IPv4), 6-byte and 4-byte addresses; anything else is [`Error::Unsupported`].
//!
//! On Ethernet an ARP packet is padded to the 60-byte minimum frame; the view ends at the
//! last address field and the padding is not part of it.

use core::net::Ipv4Addr;

use super::ethernet::{EtherType, EthernetAddress};
use super::{Error, Result, be};

mod field {
    use core::ops::Range;

    /// Hardware address space (`ar$hrd`).
    pub(super) const HTYPE: Range<usize> = 0..2;
    /// Protocol address space (`ar$pro`), an EtherType.
    pub(super) const PTYPE: Range<usize> = 2..4;
    /// Hardware address length (`ar$hln`).
    pub(super) const HLEN: usize = 4;
    /// Protocol address length (`ar$pln`).
    pub(super) const PLEN: usize = 5;
    /// Opcode (`ar$op`).
    pub(super) const OPER: Range<usize> = 6..8;
    /// Start of the four address fields.
    pub(super) const ADDRESSES: usize = 8;
}

/// Hardware type of Ethernet (RFC 826; IANA ARP parameters).
const HTYPE_ETHERNET: u16 = 1;

/// Length of an Ethernet/IPv4 ARP packet.
pub const ETHERNET_IPV4_LEN: usize = 28;

/// The ARP opcode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArpOperation {
    /// `ares_op$REQUEST`, 1.
    Request,
    /// `ares_op$REPLY`, 2.
    Reply,
    /// Any other opcode.
    Unknown(u16),
}

impl From<u16> for ArpOperation {
    fn from(value: u16) -> Self {
        match value {
            1 => ArpOperation::Request,
            2 => ArpOperation::Reply,
            other => ArpOperation::Unknown(other),
        }
    }
}

impl From<ArpOperation> for u16 {
    fn from(value: ArpOperation) -> Self {
        match value {
            ArpOperation::Request => 1,
            ArpOperation::Reply => 2,
            ArpOperation::Unknown(other) => other,
        }
    }
}

/// A read/write view of an ARP packet with any address lengths.
#[derive(Debug, Clone)]
pub struct ArpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> ArpPacket<T> {
    /// Wraps `buffer` without checking it; accessors may panic on a short buffer.
    pub const fn new_unchecked(buffer: T) -> Self {
        ArpPacket { buffer }
    }

    /// Wraps `buffer` after [`check_len`](Self::check_len).
    pub fn new_checked(buffer: T) -> Result<Self> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks that the buffer holds the fixed fields and the four addresses of the declared
    /// lengths; [`Error::Truncated`] otherwise.
    pub fn check_len(&self) -> Result<()> {
        let data = self.buffer.as_ref();
        if data.len() < field::ADDRESSES || data.len() < self.packet_len() {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    /// The wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The hardware type (1 for Ethernet).
    pub fn hardware_type(&self) -> u16 {
        be::read_u16(self.buffer.as_ref(), field::HTYPE)
    }

    /// The protocol type, an EtherType (`Ipv4` for IPv4).
    pub fn protocol_type(&self) -> EtherType {
        EtherType::from(be::read_u16(self.buffer.as_ref(), field::PTYPE))
    }

    /// The hardware address length.
    pub fn hardware_len(&self) -> u8 {
        self.buffer.as_ref()[field::HLEN]
    }

    /// The protocol address length.
    pub fn protocol_len(&self) -> u8 {
        self.buffer.as_ref()[field::PLEN]
    }

    /// The opcode.
    pub fn operation(&self) -> ArpOperation {
        ArpOperation::from(be::read_u16(self.buffer.as_ref(), field::OPER))
    }

    /// Length of the packet the length fields declare: 8 + 2 × (hlen + plen) bytes.
    /// (Reads zero lengths from a buffer too short to hold them.)
    pub fn packet_len(&self) -> usize {
        let data = self.buffer.as_ref();
        let hlen = usize::from(data.get(field::HLEN).copied().unwrap_or(0));
        let plen = usize::from(data.get(field::PLEN).copied().unwrap_or(0));
        field::ADDRESSES + 2 * (hlen + plen)
    }

    /// The byte range of address field `index` (0 sha, 1 spa, 2 tha, 3 tpa); callers pass
    /// `index < 4`, and `% 4` keeps the lookup total regardless.
    fn address(&self, index: usize) -> core::ops::Range<usize> {
        let hlen = usize::from(self.hardware_len());
        let plen = usize::from(self.protocol_len());
        let lens = [hlen, plen, hlen, plen];
        let start = field::ADDRESSES + lens.iter().take(index).sum::<usize>();
        start..start + lens[index % 4]
    }

    /// The bytes of address field `index`; empty if the buffer cannot hold it.
    fn address_bytes(&self, index: usize) -> &[u8] {
        self.buffer.as_ref().get(self.address(index)).unwrap_or(&[])
    }

    /// The sender hardware address (`ar$sha`).
    pub fn sender_hardware_addr(&self) -> &[u8] {
        self.address_bytes(0)
    }

    /// The sender protocol address (`ar$spa`).
    pub fn sender_protocol_addr(&self) -> &[u8] {
        self.address_bytes(1)
    }

    /// The target hardware address (`ar$tha`).
    pub fn target_hardware_addr(&self) -> &[u8] {
        self.address_bytes(2)
    }

    /// The target protocol address (`ar$tpa`).
    pub fn target_protocol_addr(&self) -> &[u8] {
        self.address_bytes(3)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> ArpPacket<T> {
    /// Sets the hardware type.
    pub fn set_hardware_type(&mut self, value: u16) {
        be::write_u16(self.buffer.as_mut(), field::HTYPE, value);
    }

    /// Sets the protocol type.
    pub fn set_protocol_type(&mut self, value: EtherType) {
        be::write_u16(self.buffer.as_mut(), field::PTYPE, value.into());
    }

    /// Sets the hardware address length.
    pub fn set_hardware_len(&mut self, value: u8) {
        self.buffer.as_mut()[field::HLEN] = value;
    }

    /// Sets the protocol address length.
    pub fn set_protocol_len(&mut self, value: u8) {
        self.buffer.as_mut()[field::PLEN] = value;
    }

    /// Sets the opcode.
    pub fn set_operation(&mut self, value: ArpOperation) {
        be::write_u16(self.buffer.as_mut(), field::OPER, value.into());
    }

    /// Writes address field `index`.
    ///
    /// # Panics
    /// If `value` is not as long as the declared length or the buffer cannot hold it.
    fn set_address(&mut self, index: usize, value: &[u8]) {
        let range = self.address(index);
        self.buffer.as_mut()[range].copy_from_slice(value);
    }

    /// Sets the sender hardware address; `value` must have the declared length.
    pub fn set_sender_hardware_addr(&mut self, value: &[u8]) {
        self.set_address(0, value);
    }

    /// Sets the sender protocol address; `value` must have the declared length.
    pub fn set_sender_protocol_addr(&mut self, value: &[u8]) {
        self.set_address(1, value);
    }

    /// Sets the target hardware address; `value` must have the declared length.
    pub fn set_target_hardware_addr(&mut self, value: &[u8]) {
        self.set_address(2, value);
    }

    /// Sets the target protocol address; `value` must have the declared length.
    pub fn set_target_protocol_addr(&mut self, value: &[u8]) {
        self.set_address(3, value);
    }
}

/// An ARP packet for IPv4 over Ethernet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ArpRepr {
    /// Request, reply or another opcode.
    pub operation: ArpOperation,
    /// Sender hardware address (`ar$sha`).
    pub sender_hardware_addr: EthernetAddress,
    /// Sender protocol address (`ar$spa`).
    pub sender_protocol_addr: Ipv4Addr,
    /// Target hardware address (`ar$tha`); zero in a request.
    pub target_hardware_addr: EthernetAddress,
    /// Target protocol address (`ar$tpa`).
    pub target_protocol_addr: Ipv4Addr,
}

/// The four bytes of an IPv4 address field, or unspecified if it is not four bytes long
/// (which `ArpRepr::parse` has ruled out).
fn ipv4(bytes: &[u8]) -> Ipv4Addr {
    <[u8; 4]>::try_from(bytes).map_or(Ipv4Addr::UNSPECIFIED, Ipv4Addr::from)
}

/// The six bytes of a MAC address field, or zero if it is not six bytes long (which
/// `ArpRepr::parse` has ruled out).
fn mac(bytes: &[u8]) -> EthernetAddress {
    EthernetAddress::from_slice(bytes).unwrap_or_default()
}

impl ArpRepr {
    /// Parses an Ethernet/IPv4 ARP packet.
    ///
    /// [`Error::Unsupported`] for any other hardware or protocol type or address length.
    pub fn parse<T: AsRef<[u8]>>(packet: &ArpPacket<T>) -> Result<ArpRepr> {
        packet.check_len()?;
        if packet.hardware_type() != HTYPE_ETHERNET
            || packet.protocol_type() != EtherType::Ipv4
            || packet.hardware_len() != 6
            || packet.protocol_len() != 4
        {
            return Err(Error::Unsupported);
        }
        Ok(ArpRepr {
            operation: packet.operation(),
            sender_hardware_addr: mac(packet.sender_hardware_addr()),
            sender_protocol_addr: ipv4(packet.sender_protocol_addr()),
            target_hardware_addr: mac(packet.target_hardware_addr()),
            target_protocol_addr: ipv4(packet.target_protocol_addr()),
        })
    }

    /// Length of the packet `emit` writes: 28 bytes.
    pub const fn buffer_len(&self) -> usize {
        ETHERNET_IPV4_LEN
    }

    /// Writes the packet into the start of `packet`.
    ///
    /// # Panics
    /// If the buffer is shorter than [`buffer_len`](Self::buffer_len).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut ArpPacket<T>) {
        packet.set_hardware_type(HTYPE_ETHERNET);
        packet.set_protocol_type(EtherType::Ipv4);
        packet.set_hardware_len(6);
        packet.set_protocol_len(4);
        packet.set_operation(self.operation);
        packet.set_sender_hardware_addr(self.sender_hardware_addr.as_bytes());
        packet.set_sender_protocol_addr(&self.sender_protocol_addr.octets());
        packet.set_target_hardware_addr(self.target_hardware_addr.as_bytes());
        packet.set_target_protocol_addr(&self.target_protocol_addr.octets());
    }
}

#[cfg(test)]
mod tests;
