//! Hand-built frames for `BPF_PROG_TEST_RUN`. Checksums are left zero: the program ignores them.

use std::net::{Ipv4Addr, Ipv6Addr};

pub(super) const ETH_IPV4: u16 = 0x0800;
pub(super) const ETH_IPV6: u16 = 0x86dd;

/// Ethernet II header (broadcast destination) + payload.
pub(super) fn eth(ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut frame = vec![0xff; 6];
    frame.extend_from_slice(&[0x02, 0, 0, 0, 0, 1]);
    frame.extend_from_slice(&ethertype.to_be_bytes());
    frame.extend_from_slice(payload);
    frame
}

/// The 4 bytes of an 802.1Q tag (VLAN 5) followed by `payload`.
pub(super) fn vlan_tag(inner: u16, payload: &[u8]) -> Vec<u8> {
    let mut tagged = vec![0x00, 0x05];
    tagged.extend_from_slice(&inner.to_be_bytes());
    tagged.extend_from_slice(payload);
    tagged
}

/// An Ethernet frame with one 802.1Q tag.
pub(super) fn vlan(inner: u16, payload: &[u8]) -> Vec<u8> {
    eth(0x8100, &vlan_tag(inner, payload))
}

/// IPv4 header with `ihl` words (options zero-filled), fragment field `frag`, protocol TCP.
pub(super) fn ipv4(dst: Ipv4Addr, ihl: u8, frag: u16, payload: &[u8]) -> Vec<u8> {
    let header_len = usize::from(ihl.max(5)) * 4;
    let mut packet = vec![0u8; header_len];
    packet[0] = 0x40 | ihl;
    let total = u16::try_from(header_len + payload.len()).expect("test packets are small");
    packet[2..4].copy_from_slice(&total.to_be_bytes());
    packet[6..8].copy_from_slice(&frag.to_be_bytes());
    packet[8] = 64;
    packet[9] = 6;
    packet[12..16].copy_from_slice(&[10, 9, 9, 9]);
    packet[16..20].copy_from_slice(&dst.octets());
    packet.extend_from_slice(payload);
    packet
}

/// `packet` with its IHL field overwritten (no bytes added).
pub(super) fn claim_ihl(mut packet: Vec<u8>, ihl: u8) -> Vec<u8> {
    packet[0] = 0x40 | ihl;
    packet
}

/// `packet` (IPv4) with MF set: the first fragment of a larger datagram.
pub(super) fn as_fragment(mut packet: Vec<u8>) -> Vec<u8> {
    packet[6] |= 0x20;
    packet
}

/// IPv4 header (IHL 5) with another protocol.
pub(super) fn ipv4_proto(dst: Ipv4Addr, protocol: u8, payload: &[u8]) -> Vec<u8> {
    let mut packet = ipv4(dst, 5, 0, payload);
    packet[9] = protocol;
    packet
}

/// IPv6 header with next header `next`.
pub(super) fn ipv6(dst: Ipv6Addr, next: u8, payload: &[u8]) -> Vec<u8> {
    let mut packet = vec![0u8; 40];
    packet[0] = 0x60;
    let len = u16::try_from(payload.len()).expect("test packets are small");
    packet[4..6].copy_from_slice(&len.to_be_bytes());
    packet[6] = next;
    packet[7] = 64;
    packet[8] = 0xfd;
    packet[24..40].copy_from_slice(&dst.octets());
    packet.extend_from_slice(payload);
    packet
}

/// A 20-byte TCP SYN header from port 50000 to `dst_port`.
pub(super) fn tcp(dst_port: u16) -> Vec<u8> {
    let mut segment = vec![0u8; 20];
    segment[0..2].copy_from_slice(&50000u16.to_be_bytes());
    segment[2..4].copy_from_slice(&dst_port.to_be_bytes());
    segment[12] = 5 << 4;
    segment[13] = 0x02;
    segment
}

/// An 8-byte IPv6 Hop-by-Hop, Destination Options or Routing header (RFC 8200 §4.3, §4.4,
/// §4.6) with next header `next`; for a Routing header, byte 3 is Segments Left.
pub(super) fn ext8(next: u8, byte3: u8) -> Vec<u8> {
    vec![next, 0, 0, byte3, 0, 0, 0, 0]
}

/// An IPv6 Fragment header (RFC 8200 §4.5): `offset` in bytes (a multiple of 8), M flag.
pub(super) fn frag6(next: u8, offset: u16, more: bool) -> Vec<u8> {
    let field = offset | u16::from(more);
    let [hi, lo] = field.to_be_bytes();
    vec![next, 0, hi, lo, 0xde, 0xad, 0xbe, 0xef]
}

/// The concatenation of `parts`.
pub(super) fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}
