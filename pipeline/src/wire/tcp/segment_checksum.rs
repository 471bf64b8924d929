//! The TCP checksum over a pseudo-header and the segment (RFC 9293 §3.1, RFC 8200 §8.1).

use core::net::IpAddr;

use crate::wire::checksum;

/// IP protocol number of TCP.
const PROTOCOL_TCP: u8 = 6;

/// The TCP checksum of `segment` (header and data) sent from `src` to `dst`: the ones'
/// complement of the ones'-complement sum over the pseudo-header and the segment
/// (RFC 9293 §3.1 for IPv4, RFC 8200 §8.1 for IPv6).
///
/// Computed over `segment` as it is: to fill in a checksum, zero the checksum field first;
/// over a segment whose checksum field is right, the result is 0.
///
/// Both addresses should be of one family. If they are not, the IPv4 one is taken as its
/// IPv4-mapped IPv6 address (RFC 4291 §2.5.5.2) and the IPv6 pseudo-header is used.
pub fn segment_checksum(src: IpAddr, dst: IpAddr, segment: &[u8]) -> u16 {
    // IP lengths bound a segment far below u32::MAX; the IPv4 pseudo-header's 16-bit length
    // field (RFC 9293 §3.1) is filled by `pseudo_header_v4` from the low 16 bits.
    let len = segment.len() as u32;
    let pseudo = match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => checksum::pseudo_header_v4(s, d, PROTOCOL_TCP, len),
        (s, d) => checksum::pseudo_header_v6(&to_ipv6(s), &to_ipv6(d), PROTOCOL_TCP, len),
    };
    !checksum::combine(&[pseudo, checksum::data(segment)])
}

/// `addr` as an IPv6 address, IPv4 ones mapped.
fn to_ipv6(addr: IpAddr) -> core::net::Ipv6Addr {
    match addr {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    }
}
