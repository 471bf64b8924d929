use super::*;
use proptest::collection::vec;
use proptest::prelude::*;

/// A who-has 192.0.2.1 from 02:00:00:00:00:01 at 192.0.2.2, by RFC 826's packet format.
const REQUEST: [u8; 28] = [
    0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, // htype, ptype, hlen, plen, op
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 192, 0, 2, 2, // sha, spa
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 192, 0, 2, 1, // tha, tpa
];

fn request() -> ArpRepr {
    ArpRepr {
        operation: ArpOperation::Request,
        sender_hardware_addr: EthernetAddress([2, 0, 0, 0, 0, 1]),
        sender_protocol_addr: Ipv4Addr::new(192, 0, 2, 2),
        target_hardware_addr: EthernetAddress([0; 6]),
        target_protocol_addr: Ipv4Addr::new(192, 0, 2, 1),
    }
}

#[test]
fn known_request() {
    // Padded as on Ethernet: the padding is ignored.
    let mut padded = REQUEST.to_vec();
    padded.resize(46, 0);
    let packet = ArpPacket::new_checked(&padded[..]).unwrap();
    assert_eq!(packet.packet_len(), 28);
    assert_eq!(ArpRepr::parse(&packet), Ok(request()));
    let mut out = [0xee; 28];
    request().emit(&mut ArpPacket::new_unchecked(&mut out[..]));
    assert_eq!(out, REQUEST);
}

#[test]
fn other_formats_are_unsupported() {
    for (at, value) in [(1, 6), (3, 0xdd), (4, 8), (5, 16)] {
        let mut bytes = REQUEST.to_vec();
        bytes[at] = value;
        bytes.resize(64, 0);
        let packet = ArpPacket::new_checked(&bytes[..]).unwrap();
        assert_eq!(ArpRepr::parse(&packet), Err(Error::Unsupported));
    }
}

#[test]
fn truncated() {
    assert_eq!(ArpPacket::new_checked(&REQUEST[..7]).err(), Some(Error::Truncated));
    assert_eq!(ArpPacket::new_checked(&REQUEST[..27]).err(), Some(Error::Truncated));
    let mut long = REQUEST;
    long[4] = 255;
    assert_eq!(ArpPacket::new_checked(&long[..]).err(), Some(Error::Truncated));
}

fn arb_repr() -> impl Strategy<Value = ArpRepr> {
    (any::<u16>(), any::<[u8; 6]>(), any::<u32>(), any::<[u8; 6]>(), any::<u32>()).prop_map(
        |(op, sha, spa, tha, tpa)| ArpRepr {
            operation: ArpOperation::from(op),
            sender_hardware_addr: EthernetAddress(sha),
            sender_protocol_addr: Ipv4Addr::from(spa),
            target_hardware_addr: EthernetAddress(tha),
            target_protocol_addr: Ipv4Addr::from(tpa),
        },
    )
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(mut bytes in vec(any::<u8>(), 0..80), eth in any::<bool>()) {
        if eth && bytes.len() >= 6 {
            bytes[..6].copy_from_slice(&REQUEST[..6]);
        }
        if let Ok(packet) = ArpPacket::new_checked(&bytes[..]) {
            let _ = (packet.operation(), packet.sender_hardware_addr());
            let _ = (packet.sender_protocol_addr(), packet.target_hardware_addr());
            let _ = packet.target_protocol_addr();
        }
        let _ = ArpRepr::parse(&ArpPacket::new_unchecked(&bytes[..]));
    }

    #[test]
    fn emit_parse_is_identity(tail in vec(any::<u8>(), 22..40)) {
        let bytes = [&REQUEST[..6], &tail[..]].concat();
        let repr = ArpRepr::parse(&ArpPacket::new_checked(&bytes[..]).unwrap()).unwrap();
        let mut out = [0; 28];
        repr.emit(&mut ArpPacket::new_unchecked(&mut out[..]));
        prop_assert_eq!(&out[..], &bytes[..28]);
    }

    #[test]
    fn parse_emit_is_identity(repr in arb_repr()) {
        let mut out = [0; 28];
        repr.emit(&mut ArpPacket::new_unchecked(&mut out[..]));
        let packet = ArpPacket::new_checked(&out[..]).unwrap();
        prop_assert_eq!(ArpRepr::parse(&packet), Ok(repr));
    }
}
