//! Whole frames: Ethernet, ARP, IPv4, IPv6 (extension headers), TCP, every TCP option and
//! every MPTCP suboption in both versions. Nothing may panic; whatever parses must re-emit.
//!
//! Random bytes almost never carry a valid IPv4 header checksum, so each input is also tried
//! with its IPv4 and TCP checksums repaired: that lets the fuzzer reach the TCP and MPTCP
//! parsers instead of spending its time on the IP layer.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netreaktor_pipeline::wire::ethernet::{EtherType, EthernetFrame};
use netreaktor_pipeline::wire::frame::{ChecksumPolicy, Frame, parse_frame};
use netreaktor_pipeline::wire::ipv4::Ipv4Packet;
use netreaktor_pipeline::wire::mptcp::{MptcpOption, MptcpVersion};
use netreaktor_pipeline::wire::tcp::TcpPacket;
use netreaktor_pipeline::wire::tcp_option::TcpOption;

fuzz_target!(|data: &[u8]| {
    let _ = parse_frame(data, ChecksumPolicy::Verify);
    let mut repaired = data.to_vec();
    repair_checksums(&mut repaired);
    let Ok(Frame::Tcp(frame)) = parse_frame(&repaired, ChecksumPolicy::Verify) else {
        return;
    };
    for option in frame.tcp.options.iter() {
        let Ok(TcpOption::Mptcp(raw)) = option else {
            continue;
        };
        for version in [MptcpVersion::V0, MptcpVersion::V1] {
            if let Ok(parsed) = MptcpOption::parse(raw, version) {
                let mut out = vec![0; parsed.buffer_len()];
                parsed.emit(&mut out);
            }
        }
    }
    let mut out = vec![0; frame.buffer_len()];
    frame.emit(&mut out);
    assert!(matches!(parse_frame(&out, ChecksumPolicy::Verify), Ok(Frame::Tcp(_))));
});

/// Rewrites the IPv4 header checksum and the TCP checksum, if the frame gets that far.
fn repair_checksums(bytes: &mut [u8]) {
    let Ok(mut eth) = EthernetFrame::new_checked(&mut bytes[..]) else { return };
    if eth.ethertype() != EtherType::Ipv4 {
        return;
    }
    let Ok(mut ip) = Ipv4Packet::new_checked(eth.payload_mut()) else { return };
    ip.fill_checksum();
    let (src, dst) = (ip.src_addr().into(), ip.dst_addr().into());
    let header_len = usize::from(ip.header_len());
    let total_len = usize::from(ip.total_len());
    let Some(segment) = ip.into_inner().get_mut(header_len..total_len) else { return };
    if let Ok(mut tcp) = TcpPacket::new_checked(segment) {
        tcp.fill_checksum(src, dst);
    }
}
