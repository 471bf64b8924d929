//! Synthetic captures: Ethernet frames with IPv4 or IPv6, TCP and MPTCP options, emitted
//! with the wire emitters and fed to an [`Observer`].

use core::net::SocketAddr;

use netreaktor_pipeline::time::Instant;
use netreaktor_pipeline::wire::ethernet::{EthernetAddress, EthernetRepr};
use netreaktor_pipeline::wire::frame::{ChecksumPolicy, IpRepr, TcpFrame};
use netreaktor_pipeline::wire::mptcp::MptcpOption;
use netreaktor_pipeline::wire::tcp::{TcpFlags, TcpRepr, TcpSeqNumber};
use netreaktor_pipeline::wire::tcp_option::{TcpOption, TcpOptionWriter, TcpOptions};

use crate::{Observer, ObserverConfig};

/// The direction of a segment on a flow: from the host that sent the SYN, or back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Dir {
    Fwd,
    Rev,
}

/// A TCP flow being written: addresses in SYN direction and the next sequence numbers.
#[derive(Debug, Clone)]
pub(super) struct Flow {
    pub(super) src: SocketAddr,
    pub(super) dst: SocketAddr,
    next: [u32; 2],
}

impl Flow {
    /// A flow from `src` to `dst` whose SYN and SYN/ACK use these initial sequence numbers.
    pub(super) fn new(src: SocketAddr, dst: SocketAddr, iss_fwd: u32, iss_rev: u32) -> Flow {
        Flow { src, dst, next: [iss_fwd, iss_rev] }
    }

    /// The next sequence number of `dir`.
    pub(super) fn next(&self, dir: Dir) -> u32 {
        self.next[dir as usize]
    }

    fn ends(&self, dir: Dir) -> (SocketAddr, SocketAddr) {
        match dir {
            Dir::Fwd => (self.src, self.dst),
            Dir::Rev => (self.dst, self.src),
        }
    }
}

/// A capture being written: frames with their times, one millisecond apart.
#[derive(Debug, Clone, Default)]
pub(super) struct Trace {
    pub(super) frames: Vec<(Instant, Vec<u8>)>,
    clock_ms: u64,
}

impl Trace {
    pub(super) fn new() -> Trace {
        Trace { frames: Vec::new(), clock_ms: 1_000 }
    }

    /// The time the next frame gets.
    pub(super) fn now(&self) -> Instant {
        Instant::from_millis(self.clock_ms)
    }

    /// Sends a segment on `flow` in `dir`, acknowledging everything the other way, and
    /// advances the flow's sequence number.
    pub(super) fn send(
        &mut self,
        flow: &mut Flow,
        dir: Dir,
        flags: TcpFlags,
        opts: &[MptcpOption<'_>],
        payload: &[u8],
    ) {
        let seq = flow.next(dir);
        self.resend(flow, dir, seq, flags, opts, payload);
        let used = payload.len()
            + usize::from(flags.contains(TcpFlags::SYN))
            + usize::from(flags.contains(TcpFlags::FIN));
        flow.next[dir as usize] = seq.wrapping_add(used as u32);
    }

    /// Sends a segment with sequence number `seq`, leaving the flow's state as it is (a
    /// retransmission).
    pub(super) fn resend(
        &mut self,
        flow: &Flow,
        dir: Dir,
        seq: u32,
        flags: TcpFlags,
        opts: &[MptcpOption<'_>],
        payload: &[u8],
    ) {
        let other = match dir {
            Dir::Fwd => Dir::Rev,
            Dir::Rev => Dir::Fwd,
        };
        let ack = if flags.contains(TcpFlags::ACK) { flow.next(other) } else { 0 };
        let (src, dst) = flow.ends(dir);
        let frame = tcp_frame(src, dst, (seq, ack), flags, opts, payload);
        self.frames.push((self.now(), frame));
        self.clock_ms += 1;
    }

    /// Appends raw bytes as a frame.
    pub(super) fn raw(&mut self, bytes: Vec<u8>) {
        self.frames.push((self.now(), bytes));
        self.clock_ms += 1;
    }

    /// An observer that verifies TCP checksums, fed every frame.
    pub(super) fn observe(&self) -> Observer {
        let config = ObserverConfig { checksums: ChecksumPolicy::Verify, ..Default::default() };
        self.observe_with(config)
    }

    /// An observer with `config`, fed every frame.
    pub(super) fn observe_with(&self, config: ObserverConfig) -> Observer {
        let mut observer = Observer::with_config(config);
        for (at, frame) in &self.frames {
            observer.handle_frame(*at, frame);
        }
        observer
    }
}

/// The option area: the MPTCP options in order, padded.
fn option_area(opts: &[MptcpOption<'_>]) -> ([u8; 40], usize) {
    let mut area = [0; 40];
    let mut writer = TcpOptionWriter::new(&mut area);
    for opt in opts {
        writer.push_with(opt.buffer_len(), |buf| opt.emit(buf)).expect("options fit 40 bytes");
    }
    if opts.is_empty() {
        writer.push(&TcpOption::NoOperation).expect("room for a NOP");
    }
    let len = writer.finish();
    (area, len)
}

/// One Ethernet frame carrying a TCP segment from `src` to `dst`, checksums filled.
pub(super) fn tcp_frame(
    src: SocketAddr,
    dst: SocketAddr,
    (seq, ack): (u32, u32),
    flags: TcpFlags,
    opts: &[MptcpOption<'_>],
    payload: &[u8],
) -> Vec<u8> {
    let (area, len) = option_area(opts);
    tcp_frame_with_options(src, dst, (seq, ack), flags, &area[..len], payload)
}

/// One Ethernet frame whose TCP option area is `options` (a multiple of 4 bytes long).
pub(super) fn tcp_frame_with_options(
    src: SocketAddr,
    dst: SocketAddr,
    (seq, ack): (u32, u32),
    flags: TcpFlags,
    options: &[u8],
    payload: &[u8],
) -> Vec<u8> {
    let tcp = TcpRepr {
        src_port: src.port(),
        dst_port: dst.port(),
        seq_number: TcpSeqNumber(seq),
        ack_number: TcpSeqNumber(ack),
        flags,
        window_len: 4096,
        urgent_pointer: 0,
        options: TcpOptions::new(options),
        payload,
    };
    let ip = IpRepr::tcp(src.ip(), dst.ip()).expect("a test flow stays in one IP family");
    let ethertype = ip.ethertype();
    let ethernet = EthernetRepr {
        src_addr: EthernetAddress([0x02, 0, 0, 0, 0, 1]),
        dst_addr: EthernetAddress([0x02, 0, 0, 0, 0, 2]),
        vlan: None,
        ethertype,
    };
    let frame = TcpFrame { ethernet, ip, tcp };
    let mut buf = vec![0; frame.buffer_len()];
    frame.emit(&mut buf);
    buf
}
