//! Frames for the shard target: segments built with the crate's `Repr`s (checksums right, so
//! they pass validation), option areas, and the packets the shard writes read back.

use std::net::SocketAddr;

use netreaktor_pipeline::proxy::Side;
use netreaktor_pipeline::shard::ShardTransmit;
use netreaktor_pipeline::wire::checksum;
use netreaktor_pipeline::wire::ethernet::{EtherType, EthernetAddress, EthernetRepr};
use netreaktor_pipeline::wire::frame::{IpRepr, TcpFrame};
use netreaktor_pipeline::wire::ipv4::Ipv4Packet;
use netreaktor_pipeline::wire::mptcp::{Dss, MpCapableKeys, MpJoin, MptcpOption, MptcpVersion};
use netreaktor_pipeline::wire::tcp::{TcpFlags, TcpPacket, TcpRepr, TcpSeqNumber};
use netreaktor_pipeline::wire::tcp_option::{MAX_OPTIONS_LEN, TcpOption, TcpOptions};

/// A TCP option area being built; options that no longer fit are left out.
#[derive(Clone, Copy)]
pub struct Opts {
    buf: [u8; MAX_OPTIONS_LEN],
    len: usize,
}

impl Opts {
    pub fn new() -> Opts {
        Opts { buf: [0; MAX_OPTIONS_LEN], len: 0 }
    }

    pub fn push(&mut self, option: &TcpOption<'_>) {
        let n = option.buffer_len();
        if let Some(area) = self.buf.get_mut(self.len..self.len + n) {
            self.len += option.emit(area);
        }
    }

    pub fn push_mptcp(&mut self, option: &MptcpOption<'_>) {
        let n = option.buffer_len();
        if let Some(area) = self.buf.get_mut(self.len..self.len + n) {
            option.emit(area);
            self.len += n;
        }
    }

    /// Appends raw option bytes (the fuzzer's own), as many as fit.
    pub fn push_raw(&mut self, bytes: &[u8]) {
        let n = bytes.len().min(MAX_OPTIONS_LEN - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&bytes[..n]);
        self.len += n;
    }

    pub fn as_slice(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// A segment to send: addresses and header fields.
pub struct Seg<'a> {
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub seq: u32,
    pub ack: u32,
    pub flags: TcpFlags,
    pub window: u16,
    pub options: &'a [u8],
    pub payload: &'a [u8],
}

/// The whole Ethernet frame of `seg`, IPv4 and TCP checksums filled in.
pub fn frame(seg: &Seg<'_>) -> Vec<u8> {
    let ethernet = EthernetRepr {
        src_addr: EthernetAddress([2, 0, 0, 0, 0, 1]),
        dst_addr: EthernetAddress([2, 0, 0, 0, 0, 2]),
        vlan: None,
        ethertype: EtherType::Ipv4,
    };
    let ip = IpRepr::tcp(seg.src.ip(), seg.dst.ip()).expect("the target's addresses are IPv4");
    let tcp = TcpRepr {
        src_port: seg.src.port(),
        dst_port: seg.dst.port(),
        seq_number: TcpSeqNumber(seg.seq),
        ack_number: TcpSeqNumber(seg.ack),
        flags: seg.flags,
        window_len: seg.window,
        urgent_pointer: 0,
        options: TcpOptions::new(seg.options),
        payload: seg.payload,
    };
    let f = TcpFrame { ethernet, ip, tcp };
    let mut out = vec![0u8; f.buffer_len()];
    f.emit(&mut out);
    out
}

/// The DSS checksum of a mapping (RFC 8684 §3.3.1): the Internet checksum over DSN, subflow
/// sequence number, data-level length, zero, and the data.
pub fn dss_checksum(dsn: u64, subflow_seq: u32, len: u16, data: &[u8]) -> u16 {
    let mut header = [0u8; 16];
    header[..8].copy_from_slice(&dsn.to_be_bytes());
    header[8..12].copy_from_slice(&subflow_seq.to_be_bytes());
    header[12..14].copy_from_slice(&len.to_be_bytes());
    !checksum::combine(&[checksum::data(&header), checksum::data(data)])
}

/// What the shard sent, as the peers read it.
#[derive(Debug, Clone, Copy)]
pub struct Seen {
    pub side: Side,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub seq: u32,
    pub ack: u32,
    pub flags: TcpFlags,
    pub len: u32,
    pub tsval: Option<u32>,
    /// The key of an MP_CAPABLE SYN,ACK.
    pub key: Option<u64>,
    /// The nonce of an MP_JOIN SYN,ACK.
    pub join_nonce: Option<u32>,
    pub dss: Option<Dss>,
}

impl Seen {
    /// The sequence space the segment takes: data, SYN and FIN.
    pub fn end(&self) -> u32 {
        let ctl = u32::from(self.flags.contains(TcpFlags::SYN))
            + u32::from(self.flags.contains(TcpFlags::FIN));
        self.seq.wrapping_add(self.len + ctl)
    }
}

/// Reads back a packet the shard wrote: it must be a well-formed IPv4 packet with a TCP
/// segment whose checksums verify, from `t.local` to `t.remote`.
pub fn read(t: &ShardTransmit, packet: &[u8]) -> Seen {
    let ip = Ipv4Packet::new_checked(packet).expect("the shard writes whole IPv4 headers");
    assert!(ip.verify_checksum(), "IPv4 checksum of a packet the shard wrote");
    let tcp = TcpPacket::new_checked(ip.payload()).expect("the shard writes whole segments");
    assert!(tcp.verify_checksum(t.local.ip(), t.remote.ip()), "TCP checksum the shard wrote");
    let seg = TcpRepr::parse(&tcp).expect("the shard's segments parse");
    assert_eq!((seg.src_port, seg.dst_port), (t.local.port(), t.remote.port()));
    assert!(seg.options.validate().is_ok(), "the shard's options are well formed");
    let mut seen = Seen {
        side: t.side,
        local: t.local,
        remote: t.remote,
        seq: seg.seq_number.0,
        ack: seg.ack_number.0,
        flags: seg.flags,
        len: seg.payload.len() as u32,
        tsval: seg.options.timestamps().map(|(tsval, _)| tsval),
        key: None,
        join_nonce: None,
        dss: None,
    };
    for bytes in seg.options.mptcp() {
        match MptcpOption::parse(bytes, MptcpVersion::V1) {
            Ok(MptcpOption::MpCapable(cap)) => {
                if let MpCapableKeys::Sender { sender } = cap.keys {
                    seen.key = Some(sender);
                }
            }
            Ok(MptcpOption::MpJoin(MpJoin::SynAck { nonce, .. })) => seen.join_nonce = Some(nonce),
            Ok(MptcpOption::Dss(dss)) => seen.dss = Some(dss),
            _ => {}
        }
    }
    seen
}
