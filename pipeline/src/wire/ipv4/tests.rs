use super::*;
use proptest::collection::vec;
use proptest::prelude::*;

/// A UDP header of 115 bytes total, DF set, TTL 64, 192.168.0.1 -> 192.168.0.199; its
/// checksum 0xb861 worked out by hand with RFC 1071's method.
const UDP_HEADER: [u8; 20] = [
    0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 192, 168, 0, 1, 192,
    168, 0, 199,
];

/// IHL 6 with a Router Alert option (RFC 2113: 0x94 0x04 0x0000), DSCP 46, a middle
/// fragment (MF, offset 185 × 8 = 1480) of TCP, TTL 255, 198.51.100.1 -> 203.0.113.5,
/// Total Length 44; checksum 0x82d5.
const FRAGMENT_HEADER: [u8; 24] = [
    0x46, 0xb8, 0x00, 0x2c, 0x1c, 0x46, 0x20, 0xb9, 0xff, 0x06, 0x82, 0xd5, 198, 51, 100, 1, 203,
    0, 113, 5, 0x94, 0x04, 0x00, 0x00,
];

fn with_payload(header: &[u8], payload_len: usize, padding: usize) -> Vec<u8> {
    let mut bytes = header.to_vec();
    bytes.resize(header.len() + payload_len, 0xab);
    bytes.resize(header.len() + payload_len + padding, 0);
    bytes
}

#[test]
fn known_udp_header() {
    let bytes = with_payload(&UDP_HEADER, 95, 0);
    let packet = Ipv4Packet::new_checked(&bytes[..]).unwrap();
    assert!(packet.verify_checksum());
    let repr = Ipv4Repr::parse(&packet).unwrap();
    assert_eq!(repr.src_addr, Ipv4Addr::new(192, 168, 0, 1));
    assert_eq!(repr.dst_addr, Ipv4Addr::new(192, 168, 0, 199));
    assert_eq!(repr.next_header, IpProtocol::Udp);
    assert_eq!((repr.payload_len, repr.hop_limit, repr.ident), (95, 64, 0));
    assert!(repr.dont_frag && !repr.is_fragment());
    assert_eq!(repr.options, &[]);
    let mut out = [0; 20];
    repr.emit(&mut Ipv4Packet::new_unchecked(&mut out[..]));
    assert_eq!(out, UDP_HEADER);
}

#[test]
fn known_fragment_with_options() {
    // Ethernet pads short frames; the payload stops at Total Length.
    let bytes = with_payload(&FRAGMENT_HEADER, 20, 2);
    let packet = Ipv4Packet::new_checked(&bytes[..]).unwrap();
    assert_eq!(packet.payload(), &[0xab; 20]);
    assert_eq!(packet.options(), &[0x94, 0x04, 0x00, 0x00]);
    assert!(packet.is_fragment() && packet.more_frags() && !packet.dont_frag());
    let repr = Ipv4Repr::parse(&packet).unwrap();
    assert_eq!((repr.dscp, repr.ecn, repr.frag_offset), (46, 0, 1480));
    assert_eq!((repr.ident, repr.hop_limit, repr.payload_len), (0x1c46, 255, 20));
    assert_eq!(repr.next_header, IpProtocol::Tcp);
    assert!(repr.is_fragment());
    let mut out = [0; 24];
    repr.emit(&mut Ipv4Packet::new_unchecked(&mut out[..]));
    assert_eq!(out, FRAGMENT_HEADER);
}

fn patched(at: usize, value: u8) -> Vec<u8> {
    let mut bytes = with_payload(&UDP_HEADER, 95, 0);
    bytes[at] = value;
    bytes
}

#[test]
fn length_checks() {
    let check = |bytes: &[u8]| Ipv4Packet::new_checked(bytes).err();
    assert_eq!(check(&UDP_HEADER[..19]), Some(Error::Truncated));
    assert_eq!(check(&UDP_HEADER), Some(Error::Truncated)); // Total Length 115 > 20
    assert_eq!(check(&patched(0, 0x65)), Some(Error::Malformed)); // version 6
    assert_eq!(check(&patched(0, 0x44)), Some(Error::Malformed)); // IHL 4
    let mut short_total = patched(3, 0x10); // Total Length 16 < IHL 20
    short_total[2] = 0;
    assert_eq!(check(&short_total), Some(Error::Malformed));
    let mut ihl_over_total = FRAGMENT_HEADER.to_vec();
    ihl_over_total[3] = 22; // Total Length 22 < header 24
    assert_eq!(check(&ihl_over_total), Some(Error::Malformed));
}

#[test]
fn checksum_and_reserved_flag() {
    let bytes = patched(8, 63);
    let packet = Ipv4Packet::new_checked(&bytes[..]).unwrap();
    assert_eq!(Ipv4Repr::parse(&packet), Err(Error::Checksum));

    let mut bytes = with_payload(&UDP_HEADER, 95, 0);
    let mut packet = Ipv4Packet::new_unchecked(&mut bytes[..]);
    packet.set_reserved_flag(true);
    packet.fill_checksum();
    let packet = Ipv4Packet::new_checked(&bytes[..]).unwrap();
    assert!(packet.reserved_flag() && packet.verify_checksum());
    assert_eq!(Ipv4Repr::parse(&packet), Err(Error::Malformed));
}

#[test]
fn ttl_decrement_updates_checksum_incrementally() {
    let mut bytes = UDP_HEADER;
    let old = u16::from_be_bytes([bytes[8], bytes[9]]);
    let mut packet = Ipv4Packet::new_unchecked(&mut bytes[..]);
    packet.set_hop_limit(63);
    let new = u16::from_be_bytes([63, 0x11]);
    let updated = checksum::update_u16(packet.checksum(), old, new);
    packet.fill_checksum();
    assert_eq!(packet.checksum(), updated);
}

/// Valid packets: random fields with version, IHL, Total Length, reserved flag and checksum
/// made consistent, followed by random link-layer padding.
fn arb_packet() -> impl Strategy<Value = Vec<u8>> {
    (any::<[u8; 20]>(), vec(any::<u32>(), 0..=10), vec(any::<u8>(), 0..64), 0usize..8).prop_map(
        |(fixed, options, payload, padding)| {
            let options: Vec<u8> = options.iter().flat_map(|w| w.to_be_bytes()).collect();
            let header = [&fixed[..], &options[..]].concat();
            let mut bytes = with_payload(&header, payload.len(), padding);
            bytes[header.len()..][..payload.len()].copy_from_slice(&payload);
            let total_len = (header.len() + payload.len()) as u16;
            let mut packet = Ipv4Packet::new_unchecked(&mut bytes[..]);
            packet.set_version(4);
            packet.set_header_len(header.len() as u8);
            packet.set_total_len(total_len);
            packet.set_reserved_flag(false);
            packet.fill_checksum();
            bytes
        },
    )
}

/// Option bytes for generated headers: No Operation options ending in End of Option List
/// (RFC 791 §3.1), of which the last `4 × words` are used.
static OPTIONS: [u8; 40] = {
    let mut bytes = [0x01; 40];
    bytes[39] = 0x00;
    bytes
};

fn arb_repr() -> impl Strategy<Value = Ipv4Repr<'static>> {
    let addrs = (any::<u32>(), any::<u32>(), any::<u8>(), 0usize..65_000, any::<u8>());
    let fields = (0u8..64, 0u8..4, any::<u16>(), any::<bool>(), any::<bool>(), 0u16..8192);
    (addrs, fields, 0usize..=10).prop_map(|((src, dst, proto, len, ttl), f, words)| {
        let (dscp, ecn, ident, dont_frag, more_frags, offset) = f;
        let options = &OPTIONS[40 - words * 4..];
        Ipv4Repr {
            src_addr: Ipv4Addr::from(src),
            dst_addr: Ipv4Addr::from(dst),
            next_header: IpProtocol::from(proto),
            payload_len: len.min(65_535 - 20 - options.len()),
            hop_limit: ttl,
            dscp,
            ecn,
            ident,
            dont_frag,
            more_frags,
            frag_offset: offset << 3,
            options,
        }
    })
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(mut bytes in vec(any::<u8>(), 0..100), v4 in any::<bool>()) {
        if v4 && !bytes.is_empty() {
            bytes[0] = 0x40 | (bytes[0] & 0x0f);
        }
        if let Ok(packet) = Ipv4Packet::new_checked(&bytes[..]) {
            let _ = (packet.options(), packet.payload(), packet.verify_checksum());
            let _ = (packet.src_addr(), packet.dst_addr(), packet.is_fragment());
            let _ = (packet.next_header(), packet.ecn(), packet.dscp(), packet.ident());
        }
        let _ = Ipv4Repr::parse(&Ipv4Packet::new_unchecked(&bytes[..]));
        let _ = Ipv4Packet::new_unchecked(&bytes[..]).payload();
        let _ = Ipv4Packet::new_unchecked(&bytes[..]).options();
    }

    #[test]
    fn emit_parse_is_identity(bytes in arb_packet()) {
        let packet = Ipv4Packet::new_checked(&bytes[..]).unwrap();
        let repr = Ipv4Repr::parse(&packet).unwrap();
        prop_assert_eq!(repr.payload_len, packet.payload().len());
        let mut out = vec![0; repr.buffer_len()];
        repr.emit(&mut Ipv4Packet::new_unchecked(&mut out[..]));
        prop_assert_eq!(&out[..], &bytes[..repr.buffer_len()]);
    }

    #[test]
    fn parse_emit_is_identity(repr in arb_repr()) {
        let mut out = vec![0; repr.buffer_len() + repr.payload_len];
        repr.emit(&mut Ipv4Packet::new_unchecked(&mut out[..]));
        let packet = Ipv4Packet::new_checked(&out[..]).unwrap();
        prop_assert_eq!(Ipv4Repr::parse(&packet), Ok(repr));
    }
}
