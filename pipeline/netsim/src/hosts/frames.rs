//! Ethernet and IP (IPv4 or IPv6) around TCP segments, for the test hosts and every other node that sends
//! TCP, and the RST a host sends for a segment that matches no connection (RFC 9293 §3.10.7.1).

use std::net::SocketAddr;

use netreaktor_pipeline::wire::ethernet::{EtherType, EthernetAddress, EthernetRepr};
use netreaktor_pipeline::wire::frame::{IpRepr, TcpFrame};
use netreaktor_pipeline::wire::tcp::{TcpFlags, TcpPacket, TcpRepr, TcpSeqNumber};
use netreaktor_pipeline::wire::tcp_option::TcpOptions;

/// Every node uses the same MACs: the links are point to point and nobody checks them.
const MAC_SRC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 1]);
const MAC_DST: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 2]);

/// The frame carrying `tcp` from `local` to `remote` (both of one IP version).
fn wrap(local: SocketAddr, remote: SocketAddr, tcp: &TcpRepr<'_>) -> Vec<u8> {
    let ethernet = EthernetRepr {
        src_addr: MAC_SRC,
        dst_addr: MAC_DST,
        vlan: None,
        ethertype: if local.is_ipv4() { EtherType::Ipv4 } else { EtherType::Ipv6 },
    };
    let ip = IpRepr::tcp(local.ip(), remote.ip()).expect("both of one IP version");
    let frame = TcpFrame { ethernet, ip, tcp: *tcp };
    let mut out = vec![0u8; frame.buffer_len()];
    frame.emit(&mut out);
    out
}

/// The frame carrying the segment an engine wrote into `seg`.
pub fn wrap_segment(local: SocketAddr, remote: SocketAddr, seg: &[u8]) -> Vec<u8> {
    let packet = TcpPacket::new_checked(seg).expect("the engine emits well-formed segments");
    let tcp = TcpRepr::parse(&packet).expect("the engine emits well-formed segments");
    wrap(local, remote, &tcp)
}

/// RFC 9293 §3.10.7.1: the RST answering `seg` (none for a RST).
pub fn reset_for(local: SocketAddr, remote: SocketAddr, seg: &TcpRepr<'_>) -> Option<Vec<u8>> {
    if seg.flags.contains(TcpFlags::RST) {
        return None;
    }
    let (seq, ack, flags) = if seg.flags.contains(TcpFlags::ACK) {
        (seg.ack_number, TcpSeqNumber(0), TcpFlags::RST)
    } else {
        (TcpSeqNumber(0), seg.seq_number + seg.segment_len(), TcpFlags::RST | TcpFlags::ACK)
    };
    let rst = TcpRepr {
        src_port: local.port(),
        dst_port: remote.port(),
        seq_number: seq,
        ack_number: ack,
        flags,
        window_len: 0,
        urgent_pointer: 0,
        options: TcpOptions::EMPTY,
        payload: &[],
    };
    Some(wrap(local, remote, &rst))
}
