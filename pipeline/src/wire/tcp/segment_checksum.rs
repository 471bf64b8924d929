//! The TCP checksum over a pseudo-header and the segment (RFC 9293 §3.1, RFC 8200 §8.1).

use core::net::{IpAddr, Ipv6Addr};

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
    // The IPv4 pseudo-header's length field is 16 bits (RFC 9293 §3.1) and the IPv6 one's
    // 32 bits (RFC 8200 §8.1); segments never exceed either since IP lengths bound them.
    let len = segment.len() as u32;
    let sum = match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let mut pseudo = [0; 12];
            pseudo[..4].copy_from_slice(&s.octets());
            pseudo[4..8].copy_from_slice(&d.octets());
            pseudo[9] = PROTOCOL_TCP;
            pseudo[10..].copy_from_slice(&(len as u16).to_be_bytes());
            checksum_fallback(&[&pseudo, segment])
        }
        (s, d) => {
            let mut pseudo = [0; 40];
            pseudo[..16].copy_from_slice(&to_ipv6(s).octets());
            pseudo[16..32].copy_from_slice(&to_ipv6(d).octets());
            pseudo[32..36].copy_from_slice(&len.to_be_bytes());
            pseudo[39] = PROTOCOL_TCP;
            checksum_fallback(&[&pseudo, segment])
        }
    };
    !sum
}

/// `addr` as an IPv6 address, IPv4 ones mapped.
fn to_ipv6(addr: IpAddr) -> Ipv6Addr {
    match addr {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    }
}

/// The 16-bit ones'-complement sum (RFC 1071 §1) of the concatenation of `parts`, not
/// complemented. Every part but the last must have even length; an odd last byte is summed
/// as if followed by a zero byte.
///
/// A stand-in for `crate::wire::checksum`, which replaces it.
fn checksum_fallback(parts: &[&[u8]]) -> u16 {
    // 64-bit accumulator: 2^48 words of 0xffff would be needed to overflow it.
    let mut sum: u64 = 0;
    for part in parts {
        let (words, tail) = part.as_chunks::<2>();
        for &word in words {
            sum += u64::from(u16::from_be_bytes(word));
        }
        if let [last] = tail {
            sum += u64::from(u16::from_be_bytes([*last, 0]));
        }
    }
    // RFC 1071 §4.1: fold the carries back in until the sum fits 16 bits.
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 1071 §3's worked example: the sum of 00 01 f2 03 f4 f5 f6 f7 is ddf2.
    #[test]
    fn rfc1071_example() {
        let bytes = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(checksum_fallback(&[&bytes]), 0xddf2);
        assert_eq!(checksum_fallback(&[&bytes[..4], &bytes[4..]]), 0xddf2);
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(checksum_fallback(&[&[0x12, 0x34, 0x56]]), 0x1234 + 0x5600);
    }
}
