use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;

use super::*;
use crate::wire::ethernet::EthernetAddress;
use crate::wire::mptcp::{DataSeq, Dss, DssMapping, MptcpOption, MptcpVersion};
use crate::wire::tcp::{TcpFlags, TcpSeqNumber};
use crate::wire::tcp_option::{TcpOption, TcpOptionWriter, TcpOptions};

const CLIENT_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 1]);
const SERVER_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 2]);

fn ethernet(ethertype: EtherType) -> EthernetRepr {
    EthernetRepr { src_addr: CLIENT_MAC, dst_addr: SERVER_MAC, vlan: None, ethertype }
}

fn ipv4() -> Ipv4Repr<'static> {
    let src = Ipv4Addr::new(10, 0, 1, 2);
    match IpRepr::tcp(src.into(), Ipv4Addr::new(10, 0, 9, 1).into()) {
        Some(IpRepr::V4(ip)) => ip,
        other => panic!("IPv4 addresses give an IPv4 header, not {other:?}"),
    }
}

fn ipv6() -> Ipv6Repr<'static> {
    let src = Ipv6Addr::new(0xfd00, 1, 0, 0, 0, 0, 0, 2);
    match IpRepr::tcp(src.into(), Ipv6Addr::new(0xfd00, 9, 0, 0, 0, 0, 0, 1).into()) {
        Some(IpRepr::V6(ip)) => ip,
        other => panic!("IPv6 addresses give an IPv6 header, not {other:?}"),
    }
}

/// NOP NOP TS, then a DSS with an 8-byte DATA_ACK and a 8-byte-DSN mapping: what an MPTCP
/// data segment carries. Returns the option bytes.
fn data_segment_options(buf: &mut [u8; 40]) -> usize {
    let mut writer = TcpOptionWriter::new(buf);
    writer.push(&TcpOption::NoOperation).unwrap();
    writer.push(&TcpOption::NoOperation).unwrap();
    writer.push(&TcpOption::Timestamps { tsval: 1, tsecr: 2 }).unwrap();
    let dss = MptcpOption::Dss(Dss {
        data_ack: Some(DataSeq::Full64(0x1122_3344_5566_7788)),
        mapping: Some(DssMapping::new(0x99aa_bbcc_ddee_ff00, true, 1, 1000)),
        data_fin: false,
    });
    writer.push_with(dss.buffer_len(), |area| dss.emit(area)).unwrap();
    writer.finish()
}

fn tcp<'a>(options: &'a [u8], payload: &'a [u8]) -> TcpRepr<'a> {
    TcpRepr {
        src_port: 40000,
        dst_port: 443,
        seq_number: TcpSeqNumber(1),
        ack_number: TcpSeqNumber(2),
        flags: TcpFlags::ACK | TcpFlags::PSH,
        window_len: 512,
        urgent_pointer: 0,
        options: TcpOptions::new(options),
        payload,
    }
}

fn emit(frame: &TcpFrame<'_>) -> Vec<u8> {
    let mut buf = vec![0; frame.buffer_len()];
    assert_eq!(frame.emit(&mut buf), buf.len());
    buf
}

#[test]
fn ipv4_data_segment_round_trips() {
    let mut opts = [0; 40];
    let opts_len = data_segment_options(&mut opts);
    let payload = [0xab; 1000];
    let sent = TcpFrame {
        ethernet: ethernet(EtherType::Ipv4),
        ip: IpRepr::V4(Ipv4Repr { payload_len: 20 + opts_len + 1000, ..ipv4() }),
        tcp: tcp(&opts[..opts_len], &payload),
    };
    let bytes = emit(&sent);
    let Ok(Frame::Tcp(got)) = parse_frame(&bytes, ChecksumPolicy::Verify) else {
        panic!("not a TCP frame");
    };
    assert_eq!(got, sent);
    let dss = got.tcp.options.mptcp().next().expect("DSS present");
    assert!(matches!(MptcpOption::parse(dss, MptcpVersion::V1), Ok(MptcpOption::Dss(_))));
}

#[test]
fn ipv6_segment_round_trips_and_padding_is_ignored() {
    let sent = TcpFrame {
        ethernet: ethernet(EtherType::Ipv6),
        ip: IpRepr::V6(Ipv6Repr { payload_len: 24, ..ipv6() }),
        tcp: tcp(&[], b"GET /"),
    };
    let bytes = emit(&sent);
    let Ok(Frame::Tcp(got)) = parse_frame(&bytes, ChecksumPolicy::Verify) else {
        panic!("not a TCP frame");
    };
    assert_eq!(got.tcp, sent.tcp);
    let mut padded = bytes.clone();
    padded.extend_from_slice(&[0; 6]);
    assert_eq!(parse_frame(&padded, ChecksumPolicy::Verify), Ok(Frame::Tcp(got)));
}

#[test]
fn tcp_headers_need_one_family() {
    let v4 = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let v6 = IpAddr::V6(Ipv6Addr::LOCALHOST);
    assert!(IpRepr::tcp(v4, v6).is_none());
    assert!(IpRepr::tcp(v6, v4).is_none());
    assert_eq!(IpRepr::tcp(v6, v6).map(|ip| ip.ethertype()), Some(EtherType::Ipv6));
}

#[test]
fn bad_checksums_are_refused_by_layer() {
    let sent = TcpFrame {
        ethernet: ethernet(EtherType::Ipv4),
        ip: IpRepr::V4(ipv4()),
        tcp: tcp(&[], b"hello"),
    };
    let mut bytes = emit(&sent);
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    assert_eq!(parse_frame(&bytes, ChecksumPolicy::Verify), Err(FrameError::TcpChecksum));
    assert!(matches!(parse_frame(&bytes, ChecksumPolicy::Trust), Ok(Frame::Tcp(_))));
    bytes[14 + 8] ^= 0x01; // the TTL: the IPv4 header checksum no longer holds
    assert_eq!(parse_frame(&bytes, ChecksumPolicy::Trust), Err(FrameError::Ipv4(Error::Checksum)));
}

#[test]
fn fragments_and_other_protocols_are_classified() {
    let frag = TcpFrame {
        ethernet: ethernet(EtherType::Ipv4),
        ip: IpRepr::V4(Ipv4Repr { more_frags: true, dont_frag: false, ..ipv4() }),
        tcp: tcp(&[], &[]),
    };
    assert_eq!(parse_frame(&emit(&frag), ChecksumPolicy::Verify), Err(FrameError::Fragment));

    let udp = TcpFrame {
        ethernet: ethernet(EtherType::Ipv4),
        ip: IpRepr::V4(Ipv4Repr { next_header: IpProtocol::Udp, ..ipv4() }),
        tcp: tcp(&[], &[]),
    };
    assert_eq!(
        parse_frame(&emit(&udp), ChecksumPolicy::Verify),
        Ok(Frame::OtherIp(ethernet(EtherType::Ipv4), IpProtocol::Udp))
    );
    let mut lldp = emit(&udp);
    lldp[12..14].copy_from_slice(&[0x88, 0xcc]);
    assert!(matches!(
        parse_frame(&lldp, ChecksumPolicy::Verify),
        Ok(Frame::OtherEthernet(EthernetRepr { ethertype: EtherType::Unknown(0x88cc), .. }))
    ));
}

/// `frame` (Ethernet + IPv6 without extension headers) with `headers` (a chain of extension
/// headers whose last Next Header byte is a placeholder) put between the IPv6 and TCP headers.
fn with_ext_headers(
    mut frame: Vec<u8>,
    first: u8,
    mut headers: Vec<u8>,
    last_next_at: usize,
) -> Vec<u8> {
    const IP: usize = 14;
    headers[last_next_at] = std::mem::replace(&mut frame[IP + 6], first);
    let added = u16::try_from(headers.len()).expect("a few headers");
    let len = u16::from_be_bytes([frame[IP + 4], frame[IP + 5]]) + added;
    frame[IP + 4..IP + 6].copy_from_slice(&len.to_be_bytes());
    frame.splice(IP + 40..IP + 40, headers);
    frame
}

/// RFC 8200 §4.3, §4.6: a segment behind Hop-by-Hop and Destination Options headers is the
/// same segment; behind a Fragment header it is a fragment, refused.
#[test]
fn ipv6_extension_headers_are_walked_to_the_segment() {
    let plain = TcpFrame {
        ethernet: ethernet(EtherType::Ipv6),
        ip: IpRepr::V6(ipv6()),
        tcp: tcp(&[], b"behind the headers"),
    };
    let bytes = emit(&plain);
    // Hop-by-Hop (8 bytes, PadN) -> Destination Options (16 bytes, PadN) -> TCP.
    let mut chain = vec![60, 0, 1, 4, 0, 0, 0, 0];
    chain.extend_from_slice(&[0, 1, 1, 12]);
    chain.extend_from_slice(&[0; 12]);
    let walked = with_ext_headers(bytes.clone(), 0, chain, 8);
    let Ok(Frame::Tcp(got)) = parse_frame(&walked, ChecksumPolicy::Verify) else {
        panic!("a TCP segment: {:?}", parse_frame(&walked, ChecksumPolicy::Verify));
    };
    assert_eq!(got.tcp, plain.tcp);
    assert_eq!(got.ip.dst_addr(), plain.ip.dst_addr());
    let fragment = with_ext_headers(bytes, 44, vec![0, 0, 0, 1, 0, 0, 0, 7], 0);
    assert_eq!(parse_frame(&fragment, ChecksumPolicy::Verify), Err(FrameError::Fragment));
}

#[test]
fn truncation_at_every_length_is_an_error_not_a_panic() {
    let mut opts = [0; 40];
    let opts_len = data_segment_options(&mut opts);
    let sent = TcpFrame {
        ethernet: ethernet(EtherType::Ipv4),
        ip: IpRepr::V4(ipv4()),
        tcp: tcp(&opts[..opts_len], b"data"),
    };
    let bytes = emit(&sent);
    for len in 0..bytes.len() {
        assert!(parse_frame(&bytes[..len], ChecksumPolicy::Verify).is_err(), "length {len}");
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..1600)) {
        let _ = parse_frame(&bytes, ChecksumPolicy::Verify);
        let _ = parse_frame(&bytes, ChecksumPolicy::Trust);
    }

    #[test]
    fn corrupted_valid_frames_never_panic(index in 0usize..1100, value: u8) {
        let mut opts = [0; 40];
        let opts_len = data_segment_options(&mut opts);
        let payload = [0x5a; 1000];
        let sent = TcpFrame {
            ethernet: ethernet(EtherType::Ipv4),
            ip: IpRepr::V4(ipv4()),
            tcp: tcp(&opts[..opts_len], &payload),
        };
        let mut bytes = emit(&sent);
        let index = index % bytes.len();
        bytes[index] = value;
        if let Ok(Frame::Tcp(frame)) = parse_frame(&bytes, ChecksumPolicy::Trust) {
            for option in frame.tcp.options.iter() {
                if let Ok(TcpOption::Mptcp(raw)) = option {
                    let _ = MptcpOption::parse(raw, MptcpVersion::V1);
                }
            }
        }
    }
}
