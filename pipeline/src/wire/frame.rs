//! From an Ethernet frame to a TCP segment: the first step of the receive path.
//!
//! [`parse_frame`] walks Ethernet (one VLAN tag skipped), then IPv4 or IPv6 (extension headers
//! walked), then the TCP header, and classifies the frame as TCP, ARP or something the
//! pipeline does not handle. It verifies the IPv4 header checksum always and the TCP checksum
//! when asked ([`ChecksumPolicy`]). Options are not decoded here: they stay raw in
//! [`TcpRepr::options`] until the engine looks at them.
//!
//! Every way a frame can be refused is a distinct [`FrameError`], so the caller can keep one
//! drop counter per reason (after Linux's per-reason MIB counters).

use core::fmt;
use core::net::IpAddr;

use super::Error;
use super::arp::{ArpPacket, ArpRepr};
use super::ethernet::{EtherType, EthernetFrame, EthernetRepr};
use super::ip::IpProtocol;
use super::ipv4::{Ipv4Packet, Ipv4Repr};
use super::ipv6::{Ipv6Packet, Ipv6Repr};
use super::tcp::{TcpPacket, TcpRepr};

/// Whether [`parse_frame`] verifies the TCP checksum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChecksumPolicy {
    /// Verify it: the frame came from a NIC or path that did not.
    Verify,
    /// Trust it: the NIC verified it (receive checksum offload).
    Trust,
}

/// The IP header of a TCP segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpRepr<'a> {
    /// IPv4.
    V4(Ipv4Repr<'a>),
    /// IPv6.
    V6(Ipv6Repr<'a>),
}

/// The hop limit (TTL) NetReaktor sends with: Linux's default (`net.ipv4.ip_default_ttl`).
pub const DEFAULT_HOP_LIMIT: u8 = 64;

impl IpRepr<'static> {
    /// The IP header of a TCP segment from `src` to `dst` as NetReaktor sends it: Don't
    /// Fragment set (the pipeline never fragments; RFC 8900), no options or extension headers,
    /// [`DEFAULT_HOP_LIMIT`], best-effort DSCP, no ECN. The payload length is filled in by
    /// [`TcpFrame::emit`]. `None` if the two addresses are of different families.
    pub fn tcp(src: IpAddr, dst: IpAddr) -> Option<IpRepr<'static>> {
        match (src, dst) {
            (IpAddr::V4(src_addr), IpAddr::V4(dst_addr)) => Some(IpRepr::V4(Ipv4Repr {
                src_addr,
                dst_addr,
                next_header: IpProtocol::Tcp,
                payload_len: 0,
                hop_limit: DEFAULT_HOP_LIMIT,
                dscp: 0,
                ecn: 0,
                ident: 0,
                dont_frag: true,
                more_frags: false,
                frag_offset: 0,
                options: &[],
            })),
            (IpAddr::V6(src_addr), IpAddr::V6(dst_addr)) => Some(IpRepr::V6(Ipv6Repr {
                src_addr,
                dst_addr,
                next_header: IpProtocol::Tcp,
                payload_len: 0,
                hop_limit: DEFAULT_HOP_LIMIT,
                dscp: 0,
                ecn: 0,
                flow_label: 0,
                ext_headers: None,
            })),
            _ => None,
        }
    }
}

impl IpRepr<'_> {
    /// The EtherType that carries this header.
    pub fn ethertype(&self) -> EtherType {
        match self {
            IpRepr::V4(_) => EtherType::Ipv4,
            IpRepr::V6(_) => EtherType::Ipv6,
        }
    }

    /// The source address.
    pub fn src_addr(&self) -> IpAddr {
        match self {
            IpRepr::V4(ip) => IpAddr::V4(ip.src_addr),
            IpRepr::V6(ip) => IpAddr::V6(ip.src_addr),
        }
    }

    /// The destination address.
    pub fn dst_addr(&self) -> IpAddr {
        match self {
            IpRepr::V4(ip) => IpAddr::V4(ip.dst_addr),
            IpRepr::V6(ip) => IpAddr::V6(ip.dst_addr),
        }
    }
}

/// A TCP segment with the headers that carried it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpFrame<'a> {
    /// The Ethernet header.
    pub ethernet: EthernetRepr,
    /// The IP header.
    pub ip: IpRepr<'a>,
    /// The TCP header, raw options and payload.
    pub tcp: TcpRepr<'a>,
}

impl TcpFrame<'_> {
    /// The frame length [`TcpFrame::emit`] writes: headers and payload.
    pub fn buffer_len(&self) -> usize {
        self.ethernet.buffer_len() + self.ip_header_len() + self.tcp.buffer_len()
    }

    fn ip_header_len(&self) -> usize {
        match &self.ip {
            IpRepr::V4(ip) => ip.buffer_len(),
            IpRepr::V6(ip) => ip.buffer_len(),
        }
    }

    /// Writes the whole frame into the front of `buf` with correct IPv4 and TCP checksums,
    /// and returns its length. The IP payload length is taken from the TCP segment, whatever
    /// `self.ip` says.
    ///
    /// # Panics
    /// If `buf` is shorter than [`TcpFrame::buffer_len`], or the headers are not representable
    /// (see each `Repr`): both are the caller's mistakes, never the peer's.
    pub fn emit(&self, buf: &mut [u8]) -> usize {
        let len = self.buffer_len();
        let buf = &mut buf[..len];
        let (eth_buf, rest) = buf.split_at_mut(self.ethernet.buffer_len());
        self.ethernet.emit(&mut EthernetFrame::new_unchecked(eth_buf));
        let ip_len = self.ip_header_len();
        let segment_len = rest.len() - ip_len;
        // The IP views are given the whole datagram: their payload accessors span it.
        match self.ip {
            IpRepr::V4(ip) => {
                let ip = Ipv4Repr { payload_len: segment_len, ..ip };
                ip.emit(&mut Ipv4Packet::new_unchecked(&mut *rest));
            }
            IpRepr::V6(ip) => {
                let ip = Ipv6Repr { payload_len: segment_len, ..ip };
                ip.emit(&mut Ipv6Packet::new_unchecked(&mut *rest));
            }
        }
        let tcp_buf = &mut rest[ip_len..];
        let mut tcp = TcpPacket::new_unchecked(tcp_buf);
        self.tcp.emit(&mut tcp);
        tcp.fill_checksum(self.ip.src_addr(), self.ip.dst_addr());
        len
    }
}

/// What a well-formed frame carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A TCP segment: the pipeline's business.
    Tcp(TcpFrame<'a>),
    /// An ARP packet (the appliance leaves ARP to the kernel; the simulator answers it).
    Arp(EthernetRepr, ArpRepr),
    /// An IP packet of another protocol (ICMP, UDP, ...).
    OtherIp(EthernetRepr, IpProtocol),
    /// Another EtherType.
    OtherEthernet(EthernetRepr),
}

/// Why a frame was refused, by layer: one drop counter each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FrameError {
    /// The Ethernet header.
    Ethernet(Error),
    /// The ARP packet.
    Arp(Error),
    /// The IPv4 header (a bad header checksum is `Ipv4(Error::Checksum)`).
    Ipv4(Error),
    /// The IPv6 header or its extension headers.
    Ipv6(Error),
    /// An IP fragment: TCP endpoints that set DF and clamp the MSS never need reassembly, so
    /// the pipeline does not do it (RFC 8900 explains why fragmentation is fragile).
    Fragment,
    /// The TCP header.
    Tcp(Error),
    /// The TCP checksum did not verify.
    TcpChecksum,
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::Ethernet(e) => write!(f, "ethernet: {e}"),
            FrameError::Arp(e) => write!(f, "arp: {e}"),
            FrameError::Ipv4(e) => write!(f, "ipv4: {e}"),
            FrameError::Ipv6(e) => write!(f, "ipv6: {e}"),
            FrameError::Fragment => f.write_str("ip fragment"),
            FrameError::Tcp(e) => write!(f, "tcp: {e}"),
            FrameError::TcpChecksum => f.write_str("tcp: bad checksum"),
        }
    }
}

impl std::error::Error for FrameError {}

/// Parses `bytes`, a whole Ethernet frame, down to its TCP segment if it carries one.
///
/// Trailing Ethernet padding is ignored (the IP length bounds the segment). Never panics.
pub fn parse_frame(bytes: &[u8], checksums: ChecksumPolicy) -> Result<Frame<'_>, FrameError> {
    let eth = EthernetFrame::new_checked(bytes).map_err(FrameError::Ethernet)?;
    let ethernet = EthernetRepr::parse(&eth).map_err(FrameError::Ethernet)?;
    let payload = eth.payload();
    let (ip, segment) = match ethernet.ethertype {
        EtherType::Ipv4 => parse_ipv4(payload)?,
        EtherType::Ipv6 => parse_ipv6(payload)?,
        EtherType::Arp => return parse_arp(ethernet, payload),
        _ => return Ok(Frame::OtherEthernet(ethernet)),
    };
    let protocol = match ip {
        IpRepr::V4(v4) => v4.next_header,
        IpRepr::V6(v6) => v6.next_header,
    };
    if protocol != IpProtocol::Tcp {
        return Ok(Frame::OtherIp(ethernet, protocol));
    }
    let tcp = parse_tcp(&ip, segment, checksums)?;
    Ok(Frame::Tcp(TcpFrame { ethernet, ip, tcp }))
}

fn parse_arp(ethernet: EthernetRepr, payload: &[u8]) -> Result<Frame<'_>, FrameError> {
    let packet = ArpPacket::new_checked(payload).map_err(FrameError::Arp)?;
    let arp = ArpRepr::parse(&packet).map_err(FrameError::Arp)?;
    Ok(Frame::Arp(ethernet, arp))
}

/// The IPv4 header and the bytes it carries (Ethernet padding cut off).
fn parse_ipv4(bytes: &[u8]) -> Result<(IpRepr<'_>, &[u8]), FrameError> {
    let packet = Ipv4Packet::new_checked(bytes).map_err(FrameError::Ipv4)?;
    let ip = Ipv4Repr::parse(&packet).map_err(FrameError::Ipv4)?;
    if ip.more_frags || ip.frag_offset != 0 {
        return Err(FrameError::Fragment);
    }
    Ok((IpRepr::V4(ip), packet.payload()))
}

/// The IPv6 header and the upper-layer bytes after its extension headers.
fn parse_ipv6(bytes: &[u8]) -> Result<(IpRepr<'_>, &[u8]), FrameError> {
    let packet = Ipv6Packet::new_checked(bytes).map_err(FrameError::Ipv6)?;
    let ip = Ipv6Repr::parse(&packet).map_err(FrameError::Ipv6)?;
    if ip.ext_headers.is_some_and(|ext| ext.fragment.is_some()) {
        return Err(FrameError::Fragment);
    }
    let upper = packet.payload().get(ip.ext_header_bytes().len()..).unwrap_or(&[]);
    Ok((IpRepr::V6(ip), upper))
}

fn parse_tcp<'a>(
    ip: &IpRepr<'a>,
    segment: &'a [u8],
    checksums: ChecksumPolicy,
) -> Result<TcpRepr<'a>, FrameError> {
    let packet = TcpPacket::new_checked(segment).map_err(FrameError::Tcp)?;
    if checksums == ChecksumPolicy::Verify && !packet.verify_checksum(ip.src_addr(), ip.dst_addr())
    {
        return Err(FrameError::TcpChecksum);
    }
    TcpRepr::parse(&packet).map_err(FrameError::Tcp)
}

#[cfg(test)]
mod tests;
