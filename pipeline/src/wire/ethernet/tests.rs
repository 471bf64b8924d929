use super::*;
use proptest::collection::vec;
use proptest::prelude::*;

const DST: [u8; 6] = [0x00, 0x11, 0x22, 0x33, 0x44, 0x55];
const SRC: [u8; 6] = [0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb];

fn frame(middle: &[u8], payload: &[u8]) -> Vec<u8> {
    [&DST[..], &SRC[..], middle, payload].concat()
}

#[test]
fn untagged_ipv4() {
    let bytes = frame(&[0x08, 0x00], &[0x45, 0x00]);
    let frame = EthernetFrame::new_checked(&bytes[..]).unwrap();
    assert_eq!(frame.dst_addr(), EthernetAddress(DST));
    assert_eq!(frame.src_addr(), EthernetAddress(SRC));
    assert_eq!(frame.outer_tag(), None);
    assert_eq!(frame.vlan_tag(), None);
    assert_eq!(frame.ethertype(), EtherType::Ipv4);
    assert_eq!(frame.header_len(), 14);
    assert_eq!(frame.payload(), &[0x45, 0x00]);
    let repr = EthernetRepr::parse(&frame).unwrap();
    assert_eq!(repr.vlan, None);
    assert_eq!(repr.buffer_len(), 14);
}

#[test]
fn one_8021q_tag() {
    // TPID 0x8100, TCI 0xa07b: PCP 5, DEI 0, VID 123; then IPv6.
    let bytes = frame(&[0x81, 0x00, 0xa0, 0x7b, 0x86, 0xdd], &[0x60]);
    let frame = EthernetFrame::new_checked(&bytes[..]).unwrap();
    let tag = VlanTag { pcp: 5, dei: false, vid: 123 };
    assert_eq!(frame.vlan_tag(), Some(tag));
    assert_eq!(frame.ethertype(), EtherType::Ipv6);
    assert_eq!(frame.payload(), &[0x60]);
    let repr = EthernetRepr::parse(&frame).unwrap();
    assert_eq!(repr.vlan, Some(tag));
    let mut out = vec![0; repr.buffer_len()];
    repr.emit(&mut EthernetFrame::new_unchecked(&mut out[..]));
    assert_eq!(out, bytes[..18]);
}

#[test]
fn qinq_is_read_but_not_represented() {
    // 802.1ad S-tag VID 100, 802.1Q C-tag DEI set VID 200, then IPv4.
    let bytes = frame(&[0x88, 0xa8, 0x00, 0x64, 0x81, 0x00, 0x10, 0xc8, 0x08, 0x00], &[]);
    let frame = EthernetFrame::new_checked(&bytes[..]).unwrap();
    assert_eq!(frame.outer_tag(), Some(VlanTag { pcp: 0, dei: false, vid: 100 }));
    assert_eq!(frame.vlan_tag(), Some(VlanTag { pcp: 0, dei: true, vid: 200 }));
    assert_eq!(frame.ethertype(), EtherType::Ipv4);
    assert_eq!(frame.header_len(), 22);
    assert_eq!(EthernetRepr::parse(&frame), Err(Error::Unsupported));

    // Two stacked 802.1Q tags: the inner one is reported as the EtherType.
    let bytes = frame_with(&[0x81, 0x00, 0x00, 0x01, 0x81, 0x00, 0x00, 0x02, 0x08, 0x00]);
    let frame = EthernetFrame::new_checked(&bytes[..]).unwrap();
    assert_eq!(frame.ethertype(), EtherType::Vlan);
    assert_eq!(EthernetRepr::parse(&frame), Err(Error::Unsupported));
}

fn frame_with(middle: &[u8]) -> Vec<u8> {
    frame(middle, &[])
}

#[test]
fn truncated_headers() {
    assert_eq!(EthernetFrame::new_checked(&[0u8; 13][..]).err(), Some(Error::Truncated));
    let tagged = frame_with(&[0x81, 0x00, 0x00, 0x01, 0x08]);
    assert_eq!(EthernetFrame::new_checked(&tagged[..]).err(), Some(Error::Truncated));
    let stag = frame_with(&[0x88, 0xa8, 0x00, 0x01, 0x81, 0x00, 0x00, 0x02]);
    assert_eq!(EthernetFrame::new_checked(&stag[..]).err(), Some(Error::Truncated));
}

#[test]
fn addresses() {
    let addr = EthernetAddress([0x02, 0x00, 0x5e, 0x10, 0xab, 0xcd]);
    assert_eq!(addr.to_string(), "02:00:5e:10:ab:cd");
    assert!(addr.is_unicast() && addr.is_local() && !addr.is_multicast());
    assert!(EthernetAddress::BROADCAST.is_broadcast() && EthernetAddress::BROADCAST.is_multicast());
    assert!(EthernetAddress([0x01, 0x00, 0x5e, 0, 0, 1]).is_multicast());
    assert_eq!(
        EthernetAddress::from_slice(&[1, 2, 3, 4, 5, 6]),
        Some(EthernetAddress([1, 2, 3, 4, 5, 6]))
    );
    assert_eq!(EthernetAddress::from_slice(&[1, 2, 3]), None);
}

#[test]
fn ethertypes_round_trip() {
    for n in [0x0800, 0x86dd, 0x0806, 0x8100, 0x88a8, 0x1234, 0x0000] {
        assert_eq!(u16::from(EtherType::from(n)), n);
    }
}

fn arb_tag() -> impl Strategy<Value = VlanTag> {
    (0u8..8, any::<bool>(), 0u16..4096).prop_map(|(pcp, dei, vid)| VlanTag { pcp, dei, vid })
}

fn arb_repr() -> impl Strategy<Value = EthernetRepr> {
    (any::<[u8; 6]>(), any::<[u8; 6]>(), proptest::option::of(arb_tag()), any::<u16>())
        .prop_map(|(src, dst, vlan, ethertype)| EthernetRepr {
            src_addr: EthernetAddress(src),
            dst_addr: EthernetAddress(dst),
            vlan,
            ethertype: EtherType::from(ethertype),
        })
        .prop_filter("a tag TPID as EtherType reads as another tag", |r| {
            !matches!(r.ethertype, EtherType::Vlan | EtherType::QinQ)
        })
}

/// Frame bytes whose type field is often a TPID, so that tagged paths are exercised.
fn arb_frame() -> impl Strategy<Value = Vec<u8>> {
    let tpid = prop_oneof![Just(None), Just(Some(0x8100u16)), Just(Some(0x88a8u16))];
    (vec(any::<u8>(), 0..40), tpid.clone(), tpid).prop_map(|(mut bytes, first, second)| {
        for (at, tpid) in [(12, first), (16, second)] {
            if let (Some(tpid), Some(slot)) = (tpid, bytes.get_mut(at..at + 2)) {
                slot.copy_from_slice(&tpid.to_be_bytes());
            }
        }
        bytes
    })
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in arb_frame()) {
        if let Ok(frame) = EthernetFrame::new_checked(&bytes[..]) {
            let _ = (frame.dst_addr(), frame.src_addr(), frame.outer_tag(), frame.vlan_tag());
            let _ = (frame.ethertype(), frame.payload(), frame.header_len());
            let _ = EthernetRepr::parse(&frame);
        }
        let _ = EthernetRepr::parse(&EthernetFrame::new_unchecked(&bytes[..]));
    }

    #[test]
    fn emit_parse_is_identity(bytes in arb_frame()) {
        let Ok(repr) = EthernetRepr::parse(&EthernetFrame::new_unchecked(&bytes[..])) else {
            return Ok(());
        };
        let mut out = vec![0; repr.buffer_len()];
        repr.emit(&mut EthernetFrame::new_unchecked(&mut out[..]));
        prop_assert_eq!(&out[..], &bytes[..repr.buffer_len()]);
    }

    #[test]
    fn parse_emit_is_identity(repr in arb_repr(), payload in vec(any::<u8>(), 0..8)) {
        let mut out = vec![0; repr.buffer_len() + payload.len()];
        let mut frame = EthernetFrame::new_unchecked(&mut out[..]);
        repr.emit(&mut frame);
        frame.payload_mut().copy_from_slice(&payload);
        let frame = EthernetFrame::new_checked(&out[..]).unwrap();
        prop_assert_eq!(EthernetRepr::parse(&frame), Ok(repr));
        prop_assert_eq!(frame.payload(), &payload[..]);
    }
}
