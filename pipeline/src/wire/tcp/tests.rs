use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::collection::vec;
use proptest::prelude::*;

use super::*;
use crate::wire::Error;
use crate::wire::tcp_option::tests::{arb_models, write_area};
use crate::wire::tcp_option::{TcpOption, TcpOptions};

const V4_SRC: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 168, 1, 2));
const V4_DST: IpAddr = IpAddr::V4(Ipv4Addr::new(93, 184, 216, 34));
const V6_SRC: IpAddr = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1));
const V6_DST: IpAddr = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2));

/// A SYN from 192.168.1.2:54321 to 93.184.216.34:443 with Linux's SYN options. Laid out by
/// hand from RFC 9293 §3.1; checksum 0x34af computed separately (Python, RFC 1071 sum).
const V4_SYN: [u8; 40] = [
    0xd4, 0x31, 0x01, 0xbb, // ports 54321 -> 443
    0x12, 0x34, 0x56, 0x78, // seq
    0x00, 0x00, 0x00, 0x00, // ack
    0xa0, 0x02, 0xfa, 0xf0, // data offset 10, SYN, window 64240
    0x34, 0xaf, 0x00, 0x00, // checksum, urgent
    0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0x00, 0x01, 0xe2, 0x40, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x03, 0x03, 0x07,
];

/// PSH|ACK with "hello" over IPv6 from 2001:db8::1 to 2001:db8::2, NOP NOP TS. Checksum
/// 0xbf5d computed separately (Python, RFC 8200 §8.1 pseudo-header).
const V6_DATA: [u8; 37] = [
    0x01, 0xbb, 0xd4, 0x31, 0xde, 0xad, 0xbe, 0xef, 0x12, 0x34, 0x56, 0x79, // ports, seq, ack
    0x80, 0x18, 0x01, 0xf6, 0xbf, 0x5d, 0x00, 0x00, // offset 8, PSH|ACK, window 502, csum
    0x01, 0x01, 0x08, 0x0a, 0x00, 0x01, 0xe2, 0x41, 0x89, 0xab, 0xcd, 0xef, // NOP NOP TS
    b'h', b'e', b'l', b'l', b'o',
];

/// `repr` emitted into a fresh buffer, checksummed for `src` -> `dst`.
fn emit(repr: &TcpRepr<'_>, src: IpAddr, dst: IpAddr) -> Vec<u8> {
    let mut packet = TcpPacket::new_unchecked(vec![0xaa; repr.buffer_len()]);
    repr.emit(&mut packet);
    packet.fill_checksum(src, dst);
    packet.into_inner()
}

#[test]
fn ipv4_syn_known_answer() {
    let packet = TcpPacket::new_checked(&V4_SYN[..]).unwrap();
    assert!(packet.verify_checksum(V4_SRC, V4_DST));
    assert!(!packet.verify_checksum(V4_SRC, IpAddr::V4(Ipv4Addr::new(93, 184, 216, 35))));
    let repr = TcpRepr::parse(&packet).unwrap();
    assert_eq!(repr.src_port, 54321);
    assert_eq!(repr.dst_port, 443);
    assert_eq!(repr.seq_number, TcpSeqNumber(0x1234_5678));
    assert_eq!(repr.ack_number, TcpSeqNumber(0));
    assert_eq!(repr.flags, TcpFlags::SYN);
    assert_eq!(repr.window_len, 64240);
    assert_eq!(repr.header_len(), 40);
    assert_eq!(repr.segment_len(), 1);
    assert_eq!(packet.segment_len(), 1);
    assert_eq!(repr.options.mss(), Some(1460));
    assert_eq!(repr.options.window_scale(), Some(7));
    assert_eq!(repr.options.timestamps(), Some((123_456, 0)));
    assert!(repr.payload.is_empty());
    assert_eq!(emit(&repr, V4_SRC, V4_DST), V4_SYN);
}

#[test]
fn ipv6_data_known_answer() {
    let packet = TcpPacket::new_checked(&V6_DATA[..]).unwrap();
    assert!(packet.verify_checksum(V6_SRC, V6_DST));
    assert!(!packet.verify_checksum(V6_SRC, V6_SRC));
    assert_eq!(packet.header_len(), 32);
    assert_eq!(packet.flags(), TcpFlags::PSH | TcpFlags::ACK);
    assert_eq!(packet.ack_number(), TcpSeqNumber(0x1234_5679));
    assert_eq!(packet.payload(), b"hello");
    assert_eq!(packet.segment_len(), 5);
    let repr = TcpRepr::parse(&packet).unwrap();
    assert_eq!(repr.options.timestamps(), Some((123_457, 0x89ab_cdef)));
    assert_eq!(repr.options.iter().count(), 3);
    assert_eq!(emit(&repr, V6_SRC, V6_DST), V6_DATA);
}

#[test]
fn mixed_families_use_the_mapped_address() {
    // An IPv4-mapped address adds 0xffff, a ones'-complement zero, to the IPv4 sum.
    let IpAddr::V4(v4) = V4_SRC else { unreachable!() };
    let mapped = IpAddr::V6(v4.to_ipv6_mapped());
    assert_eq!(
        segment_checksum(mapped, V4_DST, &V4_SYN),
        segment_checksum(V4_SRC, V4_DST, &V4_SYN)
    );
    assert_eq!(segment_checksum(V4_SRC, V4_DST, &V4_SYN), 0);
}

#[test]
fn check_len_rejects_bad_lengths() {
    let short = &V4_SYN[..19];
    assert_eq!(TcpPacket::new_checked(short).unwrap_err(), Error::Truncated);
    let mut bytes = V4_SYN;
    bytes[12] = 0x40; // data offset 4
    assert_eq!(TcpPacket::new_checked(&bytes[..]).unwrap_err(), Error::Malformed);
    bytes[12] = 0x00;
    assert_eq!(TcpPacket::new_checked(&bytes[..]).unwrap_err(), Error::Malformed);
    bytes[12] = 0xa0; // 40 bytes of header in a 39-byte buffer
    assert_eq!(TcpPacket::new_checked(&bytes[..39]).unwrap_err(), Error::Truncated);
    bytes[12] = 0x50;
    let packet = TcpPacket::new_checked(&bytes[..]).unwrap();
    assert!(packet.options().is_empty());
    assert_eq!(packet.payload().len(), 20);
}

#[test]
fn reserved_bits_survive_a_round_trip() {
    let mut bytes = V4_SYN;
    bytes[12] |= 0x0e; // the three reserved bits
    bytes[13] |= 0x01; // and FIN
    let packet = TcpPacket::new_checked(&bytes[..]).unwrap();
    let flags = packet.flags();
    assert!(flags.contains(TcpFlags::RESERVED | TcpFlags::SYN | TcpFlags::FIN));
    assert_eq!(packet.segment_len(), 2);
    let repr = TcpRepr::parse(&packet).unwrap();
    let again = emit(&repr, V4_SRC, V4_DST);
    assert_eq!(again[12..14], bytes[12..14]);
    assert_eq!(TcpPacket::new_checked(&again[..]).unwrap().header_len(), 40);
}

#[test]
fn setters_write_what_getters_read() {
    let mut packet = TcpPacket::new_unchecked([0u8; 24]);
    packet.set_header_len(24);
    packet.set_flags(TcpFlags::AE | TcpFlags::RST);
    packet.set_src_port(1);
    packet.set_dst_port(2);
    packet.set_seq_number(TcpSeqNumber(3));
    packet.set_ack_number(TcpSeqNumber(4));
    packet.set_window_len(5);
    packet.set_urgent_pointer(6);
    packet.options_mut().copy_from_slice(&[1, 1, 1, 0]);
    packet.check_len().unwrap();
    assert_eq!(packet.header_len(), 24);
    assert_eq!(packet.flags(), TcpFlags::AE | TcpFlags::RST);
    assert_eq!((packet.src_port(), packet.dst_port()), (1, 2));
    assert_eq!((packet.seq_number().0, packet.ack_number().0), (3, 4));
    assert_eq!((packet.window_len(), packet.urgent_pointer()), (5, 6));
    assert_eq!(packet.options(), &[1, 1, 1, 0]);
    assert_eq!(packet.as_ref()[12], 0x61);
}

#[test]
fn unpadded_options_are_padded_on_emission() {
    let options = [3, 3, 7];
    let repr = TcpRepr {
        src_port: 1,
        dst_port: 2,
        seq_number: TcpSeqNumber(0),
        ack_number: TcpSeqNumber(0),
        flags: TcpFlags::SYN,
        window_len: 0,
        urgent_pointer: 0,
        options: TcpOptions::new(&options),
        payload: b"x",
    };
    assert_eq!(repr.header_len(), 24);
    let bytes = emit(&repr, V4_SRC, V4_DST);
    assert_eq!(bytes[20..], [3, 3, 7, 0, b'x']);
}

#[test]
fn flags_debug_names_bits() {
    assert_eq!(format!("{:?}", TcpFlags::SYN | TcpFlags::ACK), "SYN|ACK");
    assert_eq!(format!("{:?}", TcpFlags::NONE), "(empty)");
    assert_eq!(format!("{:?}", TcpFlags::from_bits(0x0901)), "FIN|AE|0x800");
    assert_eq!(TcpFlags::from_bits(0xf101), TcpFlags::FIN | TcpFlags::AE);
    assert_eq!(format!("{:?}", TcpFlags::ALL), "FIN|SYN|RST|PSH|ACK|URG|ECE|CWR|AE|0xe00");
}

#[test]
fn flags_set_and_clear() {
    let mut flags = TcpFlags::SYN;
    flags |= TcpFlags::ACK;
    assert!(flags.contains(TcpFlags::SYN | TcpFlags::ACK));
    assert!(!flags.contains(TcpFlags::SYN | TcpFlags::FIN));
    assert!(flags.intersects(TcpFlags::SYN | TcpFlags::FIN));
    flags.set(TcpFlags::SYN, false);
    flags.remove(TcpFlags::ACK);
    assert!(flags.is_empty());
    assert_eq!((TcpFlags::ALL & TcpFlags::ECE).bits(), 0x040);
}

#[test]
fn seq_numbers_wrap() {
    let near_end = TcpSeqNumber(u32::MAX - 1);
    assert_eq!(near_end + 3usize, TcpSeqNumber(1));
    assert_eq!(near_end + 3, TcpSeqNumber(1)); // an untyped literal is an i32
    assert_eq!(TcpSeqNumber(1) - 3, near_end);
    assert_eq!(TcpSeqNumber(1) + -3, near_end);
    assert_eq!(TcpSeqNumber(1) - 3usize, near_end);
    assert_eq!(TcpSeqNumber(1) - near_end, 3);
    assert_eq!(near_end - TcpSeqNumber(1), -3);
    assert_eq!(TcpSeqNumber(1).offset_from(near_end), 3);
    let mut seq = near_end;
    seq += 2usize;
    seq -= -1;
    assert_eq!(seq, TcpSeqNumber(1));
}

#[test]
fn seq_numbers_compare_modulo_2_32() {
    let (a, b) = (TcpSeqNumber(u32::MAX - 10), TcpSeqNumber(5));
    assert!(a < b);
    assert!(b > a);
    assert!(a <= TcpSeqNumber(a.0));
    assert_eq!(a.max(b), b);
    assert_eq!(b.min(a), a);
    // RFC 9293 §3.4: numbers 2^31 apart are neither before nor after each other.
    let half = TcpSeqNumber(0x8000_0000);
    assert_eq!(TcpSeqNumber(0).partial_cmp(&half), None);
    assert_eq!(half.partial_cmp(&TcpSeqNumber(0)), None);
    let (before, after) = (TcpSeqNumber(0) < half, TcpSeqNumber(0) > half);
    assert!(!before && !after);
    assert!(TcpSeqNumber(0) < TcpSeqNumber(0x7fff_ffff));
    assert!(TcpSeqNumber(0) > TcpSeqNumber(0x8000_0001));
}

fn arb_addresses() -> impl Strategy<Value = (IpAddr, IpAddr)> {
    prop_oneof![
        any::<([u8; 4], [u8; 4])>().prop_map(|(s, d)| (IpAddr::from(s), IpAddr::from(d))),
        any::<([u8; 16], [u8; 16])>().prop_map(|(s, d)| (IpAddr::from(s), IpAddr::from(d))),
    ]
}

/// A segment's header fields (with any reserved bits) and data.
#[allow(clippy::type_complexity)]
fn arb_fields() -> impl Strategy<Value = ((u16, u16, u32, u32), (u16, u16, u16), Vec<u8>)> {
    (any::<(u16, u16, u32, u32)>(), any::<(u16, u16, u16)>(), vec(any::<u8>(), 0..64))
}

proptest! {
    #[test]
    fn parse_of_emit_is_identity(
        ((src_port, dst_port, seq, ack), (flags, window_len, urgent_pointer), payload)
            in arb_fields(),
        models in arb_models(),
        (src, dst) in arb_addresses(),
    ) {
        let options = write_area(&models);
        let repr = TcpRepr {
            src_port,
            dst_port,
            seq_number: TcpSeqNumber(seq),
            ack_number: TcpSeqNumber(ack),
            flags: TcpFlags::from_bits(flags),
            window_len,
            urgent_pointer,
            options: TcpOptions::new(&options),
            payload: &payload,
        };
        let bytes = emit(&repr, src, dst);
        prop_assert_eq!(bytes.len(), repr.buffer_len());
        let packet = TcpPacket::new_checked(&bytes[..]).unwrap();
        prop_assert!(packet.verify_checksum(src, dst));
        let parsed = TcpRepr::parse(&packet).unwrap();
        prop_assert_eq!(parsed, repr);
        let decoded: Vec<TcpOption<'_>> = parsed.options.iter().map(Result::unwrap).collect();
        prop_assert_eq!(&decoded[..models.len()], &models.iter().map(|m| m.option()).collect::<Vec<_>>()[..]);
    }

    #[test]
    fn emit_of_parse_is_identity(
        header in any::<[u8; 20]>(),
        option_words in 0..=10usize,
        options in vec(any::<u8>(), 40),
        payload in vec(any::<u8>(), 0..64),
        (src, dst) in arb_addresses(),
    ) {
        // Any option bytes at all: parsing a header does not decode its options.
        let mut bytes = header.to_vec();
        bytes[12] = (bytes[12] & 0x0f) | ((5 + option_words as u8) << 4);
        bytes.extend_from_slice(&options[..4 * option_words]);
        bytes.extend_from_slice(&payload);
        let mut original = TcpPacket::new_checked(bytes).unwrap();
        original.fill_checksum(src, dst);
        let original = original.into_inner();
        let repr = TcpRepr::parse(&TcpPacket::new_checked(&original[..]).unwrap()).unwrap();
        prop_assert_eq!(emit(&repr, src, dst), original);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..100), (src, dst) in arb_addresses()) {
        let Ok(packet) = TcpPacket::new_checked(&bytes[..]) else { return Ok(()) };
        let _ = (packet.src_port(), packet.dst_port(), packet.seq_number(), packet.ack_number());
        let _ = (packet.flags(), packet.window_len(), packet.checksum(), packet.urgent_pointer());
        prop_assert_eq!(20 + packet.options().len() + packet.payload().len(), bytes.len());
        prop_assert!(packet.segment_len() <= packet.payload().len() + 2);
        let _ = packet.verify_checksum(src, dst);
        let repr = TcpRepr::parse(&packet).unwrap();
        prop_assert!(repr.options.iter().count() <= repr.options.len() + 1);
        let _ = (repr.options.mss(), repr.options.timestamps(), repr.options.mptcp().count());
    }

    #[test]
    fn a_flipped_bit_fails_the_checksum(
        payload in vec(any::<u8>(), 0..64),
        bit in any::<prop::sample::Index>(),
        (src, dst) in arb_addresses(),
    ) {
        let mut bytes = V4_SYN.to_vec();
        bytes.extend_from_slice(&payload);
        let mut packet = TcpPacket::new_unchecked(&mut bytes[..]);
        packet.fill_checksum(src, dst);
        let bit = bit.index(packet.as_ref().len() * 8);
        bytes[bit / 8] ^= 1 << (bit % 8);
        prop_assert!(!TcpPacket::new_unchecked(&bytes[..]).verify_checksum(src, dst));
    }

    #[test]
    fn seq_order_follows_the_distance(a: u32, d in 1..0x8000_0000u32) {
        let (a, b) = (TcpSeqNumber(a), TcpSeqNumber(a.wrapping_add(d)));
        prop_assert!(a < b);
        prop_assert!(b > a);
        prop_assert_ne!(a, b);
        prop_assert_eq!(b - a, d as i32);
        prop_assert_eq!(b.offset_from(a), d);
        prop_assert_eq!(a + d as usize, b);
        prop_assert_eq!(b - d as usize, a);
    }
}
