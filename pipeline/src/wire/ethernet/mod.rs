//! Ethernet II frames (IEEE 802.3 §3.2.6 EtherType framing) with IEEE 802.1Q VLAN tags.
//!
//! [`EthernetFrame`] is a checked view of the MAC header. It skips an outer IEEE 802.1ad
//! service tag (TPID `0x88a8`, "QinQ") when the frame starts with one, then one IEEE 802.1Q
//! customer tag (TPID `0x8100`), and reports both tags, the EtherType behind them and the
//! payload. The payload includes any padding to the 60-byte minimum frame: the layer above
//! bounds itself by its own length field (IPv4 Total Length, IPv6 Payload Length).
//!
//! [`EthernetRepr`] models untagged and single-802.1Q-tagged frames, which it round-trips
//! byte for byte. Frames with a service tag, or with more tags behind the customer tag, are
//! readable through the view but [`EthernetRepr::parse`] reports them as
//! [`Error::Unsupported`] rather than dropping a tag that `emit` could not restore.
//!
//! The frame check sequence is not part of the buffer (NICs strip it on receive and add it on
//! transmit).

use core::fmt;

use super::{Error, Result};

mod field {
    use core::ops::Range;

    /// Destination MAC address.
    pub(super) const DESTINATION: Range<usize> = 0..6;
    /// Source MAC address.
    pub(super) const SOURCE: Range<usize> = 6..12;
    /// The EtherType of an untagged frame, or the TPID of the first tag.
    pub(super) const TYPE: usize = 12;
}

/// Length of an untagged Ethernet II header: two addresses and the EtherType.
pub const HEADER_LEN: usize = 14;
/// Length of one VLAN tag: TPID and TCI (IEEE 802.1Q §9.3).
pub const VLAN_TAG_LEN: usize = 4;

/// TPID of an IEEE 802.1Q customer VLAN tag.
const TPID_CTAG: u16 = 0x8100;
/// TPID of an IEEE 802.1ad service VLAN tag.
const TPID_STAG: u16 = 0x88a8;

/// A 48-bit IEEE 802 MAC address.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct EthernetAddress(pub [u8; 6]);

impl EthernetAddress {
    /// The broadcast address `ff:ff:ff:ff:ff:ff`.
    pub const BROADCAST: EthernetAddress = EthernetAddress([0xff; 6]);

    /// The address in `bytes`, or `None` unless it is exactly six bytes long.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(EthernetAddress)
    }

    /// The six address bytes in transmission order.
    pub const fn as_bytes(&self) -> &[u8; 6] {
        &self.0
    }

    /// Whether this is the broadcast address.
    pub const fn is_broadcast(&self) -> bool {
        matches!(self.0, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff])
    }

    /// Whether the I/G bit (least significant bit of the first byte) marks a group address;
    /// broadcast is one.
    pub const fn is_multicast(&self) -> bool {
        self.0[0] & 0x01 != 0
    }

    /// Whether this is an individual (unicast) address.
    pub const fn is_unicast(&self) -> bool {
        !self.is_multicast()
    }

    /// Whether the U/L bit marks a locally administered address.
    pub const fn is_local(&self) -> bool {
        self.0[0] & 0x02 != 0
    }
}

impl fmt::Display for EthernetAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

impl fmt::Debug for EthernetAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The EtherType of a frame: what its payload is.
///
/// `From<u16>` maps every value with a named variant to that variant, so `Unknown(n)` only
/// holds values without one. Values below `0x0600` are IEEE 802.3 length fields (LLC frames)
/// and come out as `Unknown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EtherType {
    /// IPv4, `0x0800`.
    Ipv4,
    /// IPv6, `0x86dd`.
    Ipv6,
    /// ARP, `0x0806`.
    Arp,
    /// An IEEE 802.1Q customer VLAN tag, `0x8100`.
    Vlan,
    /// An IEEE 802.1ad service VLAN tag, `0x88a8`.
    QinQ,
    /// Any other value.
    Unknown(u16),
}

impl From<u16> for EtherType {
    fn from(value: u16) -> Self {
        match value {
            0x0800 => EtherType::Ipv4,
            0x86dd => EtherType::Ipv6,
            0x0806 => EtherType::Arp,
            TPID_CTAG => EtherType::Vlan,
            TPID_STAG => EtherType::QinQ,
            other => EtherType::Unknown(other),
        }
    }
}

impl From<EtherType> for u16 {
    fn from(value: EtherType) -> Self {
        match value {
            EtherType::Ipv4 => 0x0800,
            EtherType::Ipv6 => 0x86dd,
            EtherType::Arp => 0x0806,
            EtherType::Vlan => TPID_CTAG,
            EtherType::QinQ => TPID_STAG,
            EtherType::Unknown(other) => other,
        }
    }
}

/// The tag control information of a VLAN tag (IEEE 802.1Q §9.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct VlanTag {
    /// Priority code point, 3 bits.
    pub pcp: u8,
    /// Drop eligible indicator.
    pub dei: bool,
    /// VLAN identifier, 12 bits.
    pub vid: u16,
}

impl VlanTag {
    /// The tag whose TCI is `tci`.
    pub const fn from_tci(tci: u16) -> Self {
        VlanTag { pcp: (tci >> 13) as u8, dei: tci & 0x1000 != 0, vid: tci & 0x0fff }
    }

    /// The TCI of this tag; `pcp` and `vid` are masked to their 3 and 12 bits.
    pub const fn tci(self) -> u16 {
        ((self.pcp as u16 & 0x7) << 13) | ((self.dei as u16) << 12) | (self.vid & 0x0fff)
    }
}

/// Where the tags and the EtherType sit in a frame, read from the TPIDs.
#[derive(Debug, Clone, Copy)]
struct Layout {
    /// Offset of the service tag's TCI.
    outer_tag: Option<usize>,
    /// Offset of the customer tag's TCI.
    vlan_tag: Option<usize>,
    /// Offset of the EtherType.
    ethertype: usize,
}

impl Layout {
    /// The layout of `data`; a TPID the buffer cuts off counts as no tag, and `check_len`
    /// then finds the EtherType out of bounds.
    fn of(data: &[u8]) -> Self {
        let mut at = field::TYPE;
        let outer_tag = (read_u16(data, at) == Some(TPID_STAG)).then(|| {
            at += VLAN_TAG_LEN;
            at - 2
        });
        let vlan_tag = (read_u16(data, at) == Some(TPID_CTAG)).then(|| {
            at += VLAN_TAG_LEN;
            at - 2
        });
        Layout { outer_tag, vlan_tag, ethertype: at }
    }

    fn header_len(&self) -> usize {
        self.ethertype + 2
    }
}

/// The big-endian `u16` at `at`, or `None` past the end of `data`.
fn read_u16(data: &[u8], at: usize) -> Option<u16> {
    match data.get(at..at.checked_add(2)?)? {
        &[hi, lo] => Some(u16::from_be_bytes([hi, lo])),
        _ => None,
    }
}

/// Writes `value` big-endian at `at`.
///
/// # Panics
/// If `data` ends before `at + 2`; `emit` and `set_ethertype` document what they need.
fn write_u16(data: &mut [u8], at: usize, value: u16) {
    data[at..at + 2].copy_from_slice(&value.to_be_bytes());
}

/// A read/write view of an Ethernet II frame.
#[derive(Debug, Clone)]
pub struct EthernetFrame<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> EthernetFrame<T> {
    /// Wraps `buffer` without checking it; accessors may panic on a short buffer.
    pub const fn new_unchecked(buffer: T) -> Self {
        EthernetFrame { buffer }
    }

    /// Wraps `buffer` after [`check_len`](Self::check_len).
    pub fn new_checked(buffer: T) -> Result<Self> {
        let frame = Self::new_unchecked(buffer);
        frame.check_len()?;
        Ok(frame)
    }

    /// Checks that the buffer holds both addresses, every tag the TPIDs announce, and the
    /// EtherType; [`Error::Truncated`] otherwise.
    pub fn check_len(&self) -> Result<()> {
        let data = self.buffer.as_ref();
        if data.len() < Layout::of(data).header_len() {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    /// The wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn layout(&self) -> Layout {
        Layout::of(self.buffer.as_ref())
    }

    /// Length of the header: 14 bytes plus 4 for each tag.
    pub fn header_len(&self) -> usize {
        self.layout().header_len()
    }

    /// The destination address.
    pub fn dst_addr(&self) -> EthernetAddress {
        let mut addr = [0; 6];
        addr.copy_from_slice(&self.buffer.as_ref()[field::DESTINATION]);
        EthernetAddress(addr)
    }

    /// The source address.
    pub fn src_addr(&self) -> EthernetAddress {
        let mut addr = [0; 6];
        addr.copy_from_slice(&self.buffer.as_ref()[field::SOURCE]);
        EthernetAddress(addr)
    }

    /// The IEEE 802.1ad service tag (TPID `0x88a8`) when the frame starts with one.
    pub fn outer_tag(&self) -> Option<VlanTag> {
        let at = self.layout().outer_tag?;
        read_u16(self.buffer.as_ref(), at).map(VlanTag::from_tci)
    }

    /// The IEEE 802.1Q customer tag (TPID `0x8100`), after the service tag if any.
    pub fn vlan_tag(&self) -> Option<VlanTag> {
        let at = self.layout().vlan_tag?;
        read_u16(self.buffer.as_ref(), at).map(VlanTag::from_tci)
    }

    /// The EtherType behind the tags. (Zero, that is `Unknown(0)`, if a write after
    /// `new_checked` announced a tag the buffer cannot hold.)
    pub fn ethertype(&self) -> EtherType {
        EtherType::from(read_u16(self.buffer.as_ref(), self.layout().ethertype).unwrap_or(0))
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> EthernetFrame<&'a T> {
    /// The bytes after the header, padding included.
    pub fn payload(&self) -> &'a [u8] {
        let data = self.buffer.as_ref();
        data.get(Layout::of(data).header_len()..).unwrap_or(&[])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> EthernetFrame<T> {
    /// Sets the destination address.
    pub fn set_dst_addr(&mut self, addr: EthernetAddress) {
        self.buffer.as_mut()[field::DESTINATION].copy_from_slice(&addr.0);
    }

    /// Sets the source address.
    pub fn set_src_addr(&mut self, addr: EthernetAddress) {
        self.buffer.as_mut()[field::SOURCE].copy_from_slice(&addr.0);
    }

    /// Sets the EtherType behind the tags the frame has now. Writing a TPID value here adds
    /// a tag to the layout, which the buffer must then be long enough to hold.
    ///
    /// # Panics
    /// If the buffer ends before the EtherType field.
    pub fn set_ethertype(&mut self, ethertype: EtherType) {
        let at = self.layout().ethertype;
        write_u16(self.buffer.as_mut(), at, ethertype.into());
    }

    /// The bytes after the header, padding included.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let start = self.layout().header_len();
        self.buffer.as_mut().get_mut(start..).unwrap_or(&mut [])
    }
}

/// The parsed header of an untagged or single-802.1Q-tagged Ethernet II frame.
///
/// Representable: `vlan` with `pcp < 8` and `vid < 4096`, and an `ethertype` that is neither
/// `Vlan` nor `QinQ` when `vlan` is `None` (it would read as a tag) nor `Unknown` of a named
/// value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EthernetRepr {
    /// Source address.
    pub src_addr: EthernetAddress,
    /// Destination address.
    pub dst_addr: EthernetAddress,
    /// The IEEE 802.1Q tag, if the frame has one.
    pub vlan: Option<VlanTag>,
    /// The EtherType behind the tag.
    pub ethertype: EtherType,
}

impl EthernetRepr {
    /// Parses the header of `frame`.
    ///
    /// [`Error::Unsupported`] for a service (802.1ad) tag, or for a second tag behind the
    /// customer tag: the `Repr` models at most one tag.
    pub fn parse<T: AsRef<[u8]>>(frame: &EthernetFrame<T>) -> Result<EthernetRepr> {
        frame.check_len()?;
        if frame.outer_tag().is_some() {
            return Err(Error::Unsupported);
        }
        let ethertype = frame.ethertype();
        if frame.vlan_tag().is_some() && matches!(ethertype, EtherType::Vlan | EtherType::QinQ) {
            return Err(Error::Unsupported);
        }
        Ok(EthernetRepr {
            src_addr: frame.src_addr(),
            dst_addr: frame.dst_addr(),
            vlan: frame.vlan_tag(),
            ethertype,
        })
    }

    /// Length of the header `emit` writes: 14 bytes, 18 with a tag.
    pub const fn buffer_len(&self) -> usize {
        match self.vlan {
            Some(_) => HEADER_LEN + VLAN_TAG_LEN,
            None => HEADER_LEN,
        }
    }

    /// Writes the header into the start of `frame`; the payload is left alone.
    ///
    /// # Panics
    /// If the buffer is shorter than [`buffer_len`](Self::buffer_len).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, frame: &mut EthernetFrame<T>) {
        frame.set_dst_addr(self.dst_addr);
        frame.set_src_addr(self.src_addr);
        let data = frame.buffer.as_mut();
        let mut at = field::TYPE;
        if let Some(tag) = self.vlan {
            write_u16(data, at, TPID_CTAG);
            write_u16(data, at + 2, tag.tci());
            at += VLAN_TAG_LEN;
        }
        write_u16(data, at, self.ethertype.into());
    }
}

#[cfg(test)]
mod tests;
