use super::*;
use proptest::collection::vec;
use proptest::prelude::*;

const SRC: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01];
const DST: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02];

/// A packet by RFC 8200 §3's layout: Traffic Class 0xb9 (DSCP 46, ECN 1), Flow Label
/// 0x12345, Hop Limit 64, 2001:db8::1 -> 2001:db8::2, then `payload`.
fn packet(next_header: u8, payload: &[u8]) -> Vec<u8> {
    let len = (payload.len() as u16).to_be_bytes();
    let fixed = [0x6b, 0x91, 0x23, 0x45, len[0], len[1], next_header, 64];
    [&fixed[..], &SRC[..], &DST[..], payload].concat()
}

fn parse(bytes: &[u8]) -> Result<Ipv6Repr<'_>> {
    Ipv6Repr::parse(&Ipv6Packet::new_checked(bytes)?)
}

/// Emits `repr` into a header-sized buffer and compares it with the start of `bytes`.
fn assert_reemits(repr: &Ipv6Repr<'_>, bytes: &[u8]) {
    let mut out = vec![0; repr.buffer_len()];
    repr.emit(&mut Ipv6Packet::new_unchecked(&mut out[..]));
    assert_eq!(out, bytes[..repr.buffer_len()]);
}

/// Hop-by-Hop or Destination Options header of 8 bytes: one PadN option (RFC 8200 §4.2).
fn padded_options(next: u8) -> [u8; 8] {
    [next, 0, 0x01, 0x04, 0, 0, 0, 0]
}

#[test]
fn plain_tcp() {
    let bytes = packet(6, &[0xaa; 20]);
    let packet = Ipv6Packet::new_checked(&bytes[..]).unwrap();
    assert_eq!((packet.traffic_class(), packet.dscp(), packet.ecn()), (0xb9, 46, 1));
    assert_eq!((packet.flow_label(), packet.payload_len(), packet.hop_limit()), (0x12345, 20, 64));
    assert_eq!(packet.src_addr(), Ipv6Addr::from(SRC));
    let repr = Ipv6Repr::parse(&packet).unwrap();
    assert_eq!((repr.next_header, repr.payload_len), (IpProtocol::Tcp, 20));
    assert_eq!((repr.ext_headers, repr.buffer_len()), (None, 40));
    assert_reemits(&repr, &bytes);
}

#[test]
fn hop_by_hop_dest_opts_first_fragment() {
    let mut chain = padded_options(60).to_vec(); // Hop-by-Hop -> Destination Options
    chain.extend_from_slice(&padded_options(44)); // -> Fragment
    chain.extend_from_slice(&[6, 0, 0x00, 0x01, 0xde, 0xad, 0xbe, 0xef]); // offset 0, M, TCP
    let bytes = packet(0, &[&chain[..], &[0xaa; 20]].concat());
    let chain_info = Ipv6Packet::new_checked(&bytes[..]).unwrap().ext_headers().unwrap();
    assert_eq!((chain_info.len, chain_info.payload_offset()), (24, 64));
    let repr = parse(&bytes).unwrap();
    let fragment = Ipv6Fragment { offset: 0, more_frags: true, ident: 0xdead_beef };
    assert_eq!((repr.next_header, repr.payload_len), (IpProtocol::Tcp, 20));
    assert_eq!(repr.fragment(), Some(fragment));
    assert!(repr.is_fragment());
    assert_eq!(
        repr.ext_headers.map(|e| (e.first, e.bytes)),
        Some((IpProtocol::HopByHop, &chain[..]))
    );
    assert_reemits(&repr, &bytes);
}

#[test]
fn non_first_fragment_stops_the_walk() {
    // Offset 185 × 8 = 1480, M clear; what follows is UDP fragment data, not a header.
    let frag = [17, 0, 0x05, 0xc8, 0, 0, 0, 1];
    let bytes = packet(44, &[&frag[..], &padded_options(6)[..]].concat());
    let repr = parse(&bytes).unwrap();
    assert_eq!((repr.next_header, repr.payload_len, repr.buffer_len()), (IpProtocol::Udp, 8, 48));
    assert_eq!(repr.fragment(), Some(Ipv6Fragment { offset: 1480, more_frags: false, ident: 1 }));
    assert_reemits(&repr, &bytes);

    // An atomic fragment (offset 0, M clear) is not one that needs reassembly.
    let bytes = packet(44, &[6, 0, 0, 0, 0, 0, 0, 2]);
    let repr = parse(&bytes).unwrap();
    assert!(repr.fragment().is_some_and(|f| f.is_atomic()) && !repr.is_fragment());
}

#[test]
fn authentication_header_length_rule() {
    // RFC 4302 §2.2: Payload Length 4 means (4 + 2) × 4 = 24 bytes.
    let mut ah = vec![6, 4, 0, 0, 0, 0, 0x10, 0x01, 0, 0, 0, 7];
    ah.extend_from_slice(&[0x5a; 12]);
    let bytes = packet(51, &[&ah[..], &[0xaa; 20]].concat());
    let repr = parse(&bytes).unwrap();
    assert_eq!((repr.next_header, repr.payload_len, repr.buffer_len()), (IpProtocol::Tcp, 20, 64));
    assert_reemits(&repr, &bytes);

    let bytes = packet(51, &[6, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(parse(&bytes), Err(Error::Malformed));
}

#[test]
fn walk_stops_at_esp_and_no_next_header() {
    let bytes = packet(50, &[0x12; 16]);
    let repr = parse(&bytes).unwrap();
    assert_eq!((repr.next_header, repr.payload_len), (IpProtocol::Unknown(50), 16));
    let bytes = packet(60, &[&padded_options(59)[..], &[0x33; 5][..]].concat());
    let repr = parse(&bytes).unwrap();
    assert_eq!((repr.next_header, repr.payload_len), (IpProtocol::Ipv6NoNxt, 5));
    assert_reemits(&repr, &bytes);
}

#[test]
fn chain_errors() {
    // RFC 8200 §4.3: Hop-by-Hop only first.
    let bytes = packet(60, &[padded_options(0), padded_options(6)].concat());
    assert_eq!(parse(&bytes), Err(Error::Malformed));
    // Two Fragment headers.
    let bytes = packet(44, &[[44, 0, 0, 0, 0, 0, 0, 1], [6, 0, 0, 0, 0, 0, 0, 1]].concat());
    assert_eq!(parse(&bytes), Err(Error::Malformed));
    // A header longer than Payload Length: 16 bytes declared, 8 present.
    let bytes = packet(60, &[6, 1, 1, 4, 0, 0, 0, 0]);
    assert_eq!(parse(&bytes), Err(Error::Truncated));
    // Payload Length 0 with Hop-by-Hop: a jumbogram.
    assert_eq!(parse(&packet(0, &[])), Err(Error::Unsupported));
}

#[test]
fn header_count_is_bounded() {
    let chain = |count: usize| -> Vec<u8> {
        let mut bytes: Vec<u8> = (1..count).flat_map(|_| padded_options(60)).collect();
        bytes.extend_from_slice(&padded_options(6));
        bytes
    };
    let bytes = packet(60, &chain(MAX_EXT_HEADERS));
    let repr = parse(&bytes).unwrap();
    assert_eq!((repr.next_header, repr.buffer_len()), (IpProtocol::Tcp, 40 + 8 * MAX_EXT_HEADERS));
    assert_eq!(parse(&packet(60, &chain(MAX_EXT_HEADERS + 1))), Err(Error::Unsupported));
}

#[test]
fn length_checks_and_padding() {
    let bytes = packet(6, &[0xaa; 20]);
    assert_eq!(Ipv6Packet::new_checked(&bytes[..39]).err(), Some(Error::Truncated));
    assert_eq!(Ipv6Packet::new_checked(&bytes[..59]).err(), Some(Error::Truncated));
    let mut v4 = bytes.clone();
    v4[0] = 0x45;
    assert_eq!(Ipv6Packet::new_checked(&v4[..]).err(), Some(Error::Malformed));
    let mut padded = bytes.clone();
    padded.extend_from_slice(&[0; 6]);
    let packet = Ipv6Packet::new_checked(&padded[..]).unwrap();
    assert_eq!(packet.payload(), &[0xaa; 20]);
    assert_eq!(Ipv6Repr::parse(&packet).map(|r| r.payload_len), Ok(20));
}

/// One extension header for the generator: its type and its bytes minus the Next Header.
fn arb_ext_header() -> impl Strategy<Value = (u8, Vec<u8>)> {
    let options = (prop_oneof![Just(0u8), Just(43), Just(60)], 0u8..3, any::<u8>());
    prop_oneof![
        options.prop_map(|(kind, units, fill)| {
            let mut rest = vec![units];
            rest.resize(usize::from(units) * 8 + 7, fill);
            (kind, rest)
        }),
        (any::<u8>(), any::<u16>(), any::<u32>()).prop_map(|(reserved, off, id)| {
            (44, [&[reserved][..], &off.to_be_bytes(), &id.to_be_bytes()].concat())
        }),
        (1u8..6, any::<u8>()).prop_map(|(words, fill)| {
            let mut rest = vec![words];
            rest.resize((usize::from(words) + 2) * 4 - 1, fill);
            (51, rest)
        }),
    ]
}

/// A valid chain: its bytes, its first type, its upper-layer protocol and its fragment.
#[derive(Debug, Clone)]
struct Chain {
    bytes: Vec<u8>,
    first: u8,
    upper: u8,
    fragment: Option<Ipv6Fragment>,
}

/// The walk's notion of an extension header, restated for the generator.
fn is_extension(kind: u8) -> bool {
    matches!(kind, 0 | 43 | 44 | 51 | 60)
}

fn arb_chain() -> impl Strategy<Value = Chain> {
    let upper = any::<u8>().prop_filter("not an extension header", |n| !is_extension(*n));
    (vec(arb_ext_header(), 0..6), upper).prop_map(|(headers, upper)| link(headers, upper))
}

fn parse_fragment(rest: &[u8]) -> Ipv6Fragment {
    let off = u16::from_be_bytes([rest[1], rest[2]]);
    let ident = u32::from_be_bytes([rest[3], rest[4], rest[5], rest[6]]);
    Ipv6Fragment { offset: off & 0xfff8, more_frags: off & 1 != 0, ident }
}

/// Links generated headers into a chain the walk accepts: Hop-by-Hop only first, one
/// Fragment header, nothing after a non-first fragment's header.
fn link(headers: Vec<(u8, Vec<u8>)>, upper: u8) -> Chain {
    let mut kept: Vec<(u8, Vec<u8>)> = Vec::new();
    let mut fragment = None;
    for (index, (kind, rest)) in headers.into_iter().enumerate() {
        let (kind, rest) = if (kind == 0 && index != 0) || (kind == 44 && fragment.is_some()) {
            (60, vec![0; 7])
        } else {
            (kind, rest)
        };
        let last = kind == 44 && !fragment.insert(parse_fragment(&rest)).is_first();
        kept.push((kind, rest));
        if last {
            break;
        }
    }
    let mut bytes = Vec::new();
    for (index, (_, rest)) in kept.iter().enumerate() {
        bytes.push(kept.get(index + 1).map_or(upper, |(kind, _)| *kind));
        bytes.extend_from_slice(rest);
    }
    Chain { bytes, first: kept.first().map_or(upper, |(kind, _)| *kind), upper, fragment }
}

fn arb_fixed() -> impl Strategy<Value = (u8, u8, u32, u8, [u8; 16], [u8; 16])> {
    (0u8..64, 0u8..4, 0u32..(1 << 20), any::<u8>(), any::<[u8; 16]>(), any::<[u8; 16]>())
}

fn repr_of<'a>(
    chain: &'a Chain,
    fixed: (u8, u8, u32, u8, [u8; 16], [u8; 16]),
    payload_len: usize,
) -> Ipv6Repr<'a> {
    let (dscp, ecn, flow_label, hop_limit, src, dst) = fixed;
    Ipv6Repr {
        src_addr: Ipv6Addr::from(src),
        dst_addr: Ipv6Addr::from(dst),
        next_header: IpProtocol::from(chain.upper),
        payload_len,
        hop_limit,
        dscp,
        ecn,
        flow_label,
        ext_headers: (!chain.bytes.is_empty()).then_some(Ipv6ExtHeaders {
            first: IpProtocol::from(chain.first),
            bytes: &chain.bytes,
            fragment: chain.fragment,
        }),
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(
        mut bytes in vec(any::<u8>(), 0..160),
        next in prop_oneof![Just(0u8), Just(43), Just(44), Just(51), Just(60), any::<u8>()],
        slack in 0usize..4,
    ) {
        if bytes.len() >= 40 {
            let len = (bytes.len() - 40).saturating_sub(slack) as u16;
            bytes[0] = 0x60 | (bytes[0] & 0x0f);
            bytes[4..6].copy_from_slice(&len.to_be_bytes());
            bytes[6] = next;
        }
        if let Ok(packet) = Ipv6Packet::new_checked(&bytes[..]) {
            let _ = (packet.payload(), packet.ext_headers(), packet.flow_label());
            let _ = (packet.src_addr(), packet.dst_addr(), packet.traffic_class());
        }
        let _ = Ipv6Repr::parse(&Ipv6Packet::new_unchecked(&bytes[..]));
        let _ = Ipv6Packet::new_unchecked(&bytes[..]).payload();
    }

    #[test]
    fn emit_parse_is_identity(
        chain in arb_chain(),
        fixed in any::<[u8; 40]>(),
        payload in vec(any::<u8>(), 0..32),
        padding in vec(any::<u8>(), 0..8),
    ) {
        let len = (chain.bytes.len() + payload.len()) as u16;
        let mut bytes = [&fixed[..], &chain.bytes, &payload, &padding].concat();
        bytes[0] = 0x60 | (bytes[0] & 0x0f);
        bytes[4..6].copy_from_slice(&len.to_be_bytes());
        bytes[6] = chain.first;
        let repr = parse(&bytes).unwrap();
        prop_assert_eq!(repr.payload_len, payload.len());
        prop_assert_eq!(repr.next_header, IpProtocol::from(chain.upper));
        prop_assert_eq!(repr.fragment(), chain.fragment);
        let mut out = vec![0; repr.buffer_len()];
        repr.emit(&mut Ipv6Packet::new_unchecked(&mut out[..]));
        prop_assert_eq!(&out[..], &bytes[..repr.buffer_len()]);
    }

    #[test]
    fn parse_emit_is_identity(chain in arb_chain(), fixed in arb_fixed(), payload_len in 0usize..200) {
        let repr = repr_of(&chain, fixed, payload_len);
        let mut bytes = vec![0; repr.buffer_len() + payload_len];
        repr.emit(&mut Ipv6Packet::new_unchecked(&mut bytes[..]));
        prop_assert_eq!(parse(&bytes), Ok(repr));
    }
}
