//! The IP header in front of a segment the engines wrote, and what a shard reports for each
//! packet it writes.

use std::net::SocketAddr;

use crate::proxy::Side;
use crate::wire::frame::IpRepr;
use crate::wire::ipv4::Ipv4Packet;
use crate::wire::ipv6::Ipv6Packet;

/// A packet [`Shard::poll_transmit`](super::Shard::poll_transmit) wrote at the start of the
/// caller's buffer: an IP header and a TCP segment, checksums filled in. The caller adds the
/// link-layer header for the next hop toward `remote`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardTransmit {
    /// The interface side it leaves by.
    pub side: Side,
    /// Source address and port.
    pub local: SocketAddr,
    /// Destination address and port.
    pub remote: SocketAddr,
    /// Bytes written: IP header and segment.
    pub len: usize,
}

/// Bytes of the IP header [`write_ip_header`] puts in front of a segment to `remote`.
pub(crate) fn ip_header_len(remote: SocketAddr) -> usize {
    match remote {
        SocketAddr::V4(_) => 20,
        SocketAddr::V6(_) => 40,
    }
}

/// Puts the IP header in front of a `segment_len`-byte TCP segment an engine wrote at
/// `buf[written_at..]`, where `written_at` was a guess of the header's length. The two ends
/// of one splice may be of different IP versions (an IPv6 client to an IPv4 origin), and so
/// may the subflows of one MPTCP connection (RFC 8684 §3.2: a join may use any address
/// pair), so the guess can be wrong: then the segment moves to where the header of its own
/// version ends. Returns the packet length, or `None` if `buf` is too short.
pub(crate) fn place_ip_header(
    buf: &mut [u8],
    written_at: usize,
    local: SocketAddr,
    remote: SocketAddr,
    segment_len: usize,
) -> Option<usize> {
    let at = ip_header_len(remote);
    if at != written_at {
        let end = written_at.checked_add(segment_len)?;
        if at.checked_add(segment_len)? > buf.len() || end > buf.len() {
            return None;
        }
        buf.copy_within(written_at..end, at);
    }
    write_ip_header(buf, local, remote, segment_len)
}

/// Writes the IP header for a `segment_len`-byte TCP segment from `local` to `remote` into
/// `buf[..ip_header_len(remote)]` (the segment follows it). Returns the packet length, or
/// `None` if the addresses' families differ or `buf` is short (both caller mistakes that
/// drop the packet rather than panic).
pub(crate) fn write_ip_header(
    buf: &mut [u8],
    local: SocketAddr,
    remote: SocketAddr,
    segment_len: usize,
) -> Option<usize> {
    let total = ip_header_len(remote).checked_add(segment_len)?;
    let packet = buf.get_mut(..total)?;
    match IpRepr::tcp(local.ip(), remote.ip())? {
        IpRepr::V4(ip) => {
            let ip = crate::wire::ipv4::Ipv4Repr { payload_len: segment_len, ..ip };
            ip.emit(&mut Ipv4Packet::new_unchecked(packet));
        }
        IpRepr::V6(ip) => {
            let ip = crate::wire::ipv6::Ipv6Repr { payload_len: segment_len, ..ip };
            ip.emit(&mut Ipv6Packet::new_unchecked(packet));
        }
    }
    Some(total)
}
