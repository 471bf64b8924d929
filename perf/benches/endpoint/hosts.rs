//! The two hosts around the benchmarked shard: a client that writes its segments by hand
//! (plain TCP, or MPTCP v1 with a DSS on every segment, RFC 8684 §3.3) and an origin that is
//! one of our own TCP connections. Neither is timed.

use std::net::SocketAddr;
use std::time::{Duration as WallDuration, Instant as WallInstant};

use netreaktor_pipeline::mptcp::crypto::{HashAlgo, KeyMaterial};
use netreaktor_pipeline::proxy::Side;
use netreaktor_pipeline::shard::{ServiceConfig, Shard, ShardConfig};
use netreaktor_pipeline::tcp::listener::ListenerConfig;
use netreaktor_pipeline::tcp::{Config, Connection};
use netreaktor_pipeline::time::{Duration, Instant};
use netreaktor_pipeline::wire::ethernet::{EtherType, EthernetAddress, EthernetRepr};
use netreaktor_pipeline::wire::frame::{ChecksumPolicy, Frame, IpRepr, TcpFrame, parse_frame};
use netreaktor_pipeline::wire::mptcp::{
    DataSeq, Dss, DssMapping, MpCapable, MpCapableFlags, MptcpOption, MptcpVersion,
};
use netreaktor_pipeline::wire::tcp::{TcpFlags, TcpPacket, TcpRepr, TcpSeqNumber};
use netreaktor_pipeline::wire::tcp_option::{TcpOption, TcpOptionWriter, TcpOptions};

/// Times `f`, the shard's share of a step.
pub(crate) fn timed(spent: &mut WallDuration, f: impl FnOnce()) {
    let started = WallInstant::now();
    f();
    *spent += started.elapsed();
}

/// Sides in the order the worker drains them.
pub(crate) const SIDES: [Side; 2] = [Side::Client, Side::Origin];

/// Data bytes per segment: a 1500-byte MTU less IP, TCP and 12 bytes of options.
pub(crate) const MSS_DATA: usize = 1448;

const CLIENT: &str = "10.1.0.2:40000";
pub(crate) const SERVICE: &str = "10.9.0.2:80";
pub(crate) const ORIGIN: &str = "10.10.0.2:8080";
/// The origin's next hop and the client's (frames from the hosts come from it).
pub(crate) const ORIGIN_MAC: [u8; 6] = [2, 0, 0, 0, 0, 0x0e];
const SOURCE: &str = "10.10.0.1";
/// Virtual time per step: the segments of one step arrive at once.
const STEP: Duration = Duration::from_micros(10);

/// Which way the data flows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    /// Client to origin.
    Upload,
    /// Origin to client.
    Download,
}

impl Direction {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Direction::Upload => "upload",
            Direction::Download => "download",
        }
    }
}

pub(crate) fn addr(s: &str) -> SocketAddr {
    s.parse().expect("benchmark address")
}

/// 4 MiB buffers: the window never limits a step.
fn big_buffers() -> Config {
    Config { send_buffer: 1 << 22, recv_buffer: 1 << 22, ..Config::default() }
}

pub(crate) fn shard_config(mptcp: bool) -> ShardConfig {
    let tcp = big_buffers();
    ShardConfig {
        worker: 0,
        workers: 1,
        services: vec![ServiceConfig {
            name: "bench".into(),
            listen: vec![addr(SERVICE)],
            origins: vec![addr(ORIGIN)],
            max_tries: 1,
            health: None,
            max_connections: 16,
            splice: Default::default(),
            listener: ListenerConfig { tcp, ..ListenerConfig::default() },
            mptcp: mptcp.then(Default::default),
        }],
        origin_sources: SOURCE.parse::<std::net::IpAddr>().expect("address").into(),
        origin_ports: 40_000..=40_999,
        origin_tcp: tcp,
        checksums: ChecksumPolicy::Verify,
        buffer_budget: None,
        secret: [7; 32],
    }
}

/// An Ethernet frame carrying `tcp` from `src` to `dst`, checksums filled in.
pub(crate) fn frame(src: SocketAddr, dst: SocketAddr, tcp: &TcpRepr<'_>) -> Vec<u8> {
    let ethernet = EthernetRepr {
        src_addr: EthernetAddress([2, 0, 0, 0, 0, 1]),
        dst_addr: EthernetAddress([2, 0, 0, 0, 0, 2]),
        vlan: None,
        ethertype: EtherType::Ipv4,
    };
    let ip = IpRepr::tcp(src.ip(), dst.ip()).expect("one family");
    let f = TcpFrame { ethernet, ip, tcp: *tcp };
    let mut out = vec![0u8; f.buffer_len()];
    f.emit(&mut out);
    out
}

pub(crate) fn parse_segment(bytes: &[u8]) -> TcpRepr<'_> {
    let packet = TcpPacket::new_checked(bytes).expect("engine output parses");
    TcpRepr::parse(&packet).expect("engine output parses")
}

/// A client whose segments are written by hand: sequence numbers, the MP_CAPABLE handshake,
/// DSS mappings and DATA_ACKs, and nothing else (no retransmission: the benchmark loses no
/// segment).
pub(crate) struct Client {
    mptcp: bool,
    local: SocketAddr,
    key: KeyMaterial,
    peer: Option<KeyMaterial>,
    iss: u32,
    snd_nxt: u32,
    rcv_nxt: u32,
    /// The shard's window edge, from its latest ACK and its window scale.
    wnd_end: u32,
    wnd_shift: u8,
    data_snd_nxt: u64,
    data_rcv_nxt: u64,
    /// Data segments received since the last ACK.
    unacked: u32,
}

impl Client {
    /// A client from port `port` of the client address.
    pub(crate) fn new(mptcp: bool, port: u16) -> Client {
        let key = KeyMaterial::new(0x0123_4567_89ab_cdef ^ u64::from(port), HashAlgo::Sha256);
        let iss = 1_000;
        Client {
            mptcp,
            local: SocketAddr::new(addr(CLIENT).ip(), port),
            key,
            peer: None,
            iss,
            snd_nxt: iss,
            rcv_nxt: 0,
            wnd_end: iss,
            wnd_shift: 0,
            data_snd_nxt: key.idsn().wrapping_add(1),
            data_rcv_nxt: 0,
            unacked: 0,
        }
    }

    fn flags() -> MpCapableFlags {
        MpCapableFlags::HMAC_SHA
    }

    /// A segment from the client with `mptcp` as its only MPTCP option.
    fn segment(&self, flags: TcpFlags, mptcp: Option<MptcpOption<'_>>, payload: &[u8]) -> Vec<u8> {
        let mut opts = [0u8; 40];
        let mut w = TcpOptionWriter::new(&mut opts);
        if flags.contains(TcpFlags::SYN) {
            w.push(&TcpOption::MaxSegmentSize(1460)).expect("room");
            w.push(&TcpOption::WindowScale(7)).expect("room");
        }
        if let Some(option) = mptcp.filter(|_| self.mptcp) {
            w.push_with(option.buffer_len(), |b| option.emit(b)).expect("room");
        }
        let len = w.finish();
        let tcp = TcpRepr {
            src_port: self.local.port(),
            dst_port: addr(SERVICE).port(),
            seq_number: TcpSeqNumber(self.snd_nxt),
            ack_number: TcpSeqNumber(self.rcv_nxt),
            flags,
            window_len: u16::MAX,
            urgent_pointer: 0,
            options: TcpOptions::new(&opts[..len]),
            payload,
        };
        frame(self.local, addr(SERVICE), &tcp)
    }

    pub(crate) fn syn(&mut self) -> Vec<u8> {
        let capable = MpCapable::syn(MptcpVersion::V1, Client::flags(), self.key.key());
        let f = self.segment(TcpFlags::SYN, Some(MptcpOption::MpCapable(capable)), &[]);
        self.snd_nxt = self.snd_nxt.wrapping_add(1);
        f
    }

    /// The third ACK: MP_CAPABLE with both keys (RFC 8684 §3.1).
    pub(crate) fn third_ack(&mut self) -> Vec<u8> {
        let peer = self.peer.map_or(0, |p| p.key());
        let capable = MpCapable::ack(MptcpVersion::V1, Client::flags(), self.key.key(), peer);
        self.segment(TcpFlags::ACK, Some(MptcpOption::MpCapable(capable)), &[])
    }

    /// An ACK, with a DATA_ACK.
    fn ack(&mut self) -> Vec<u8> {
        self.unacked = 0;
        let dss = Dss::data_ack_only(self.data_rcv_nxt, true);
        self.segment(TcpFlags::ACK, Some(MptcpOption::Dss(dss)), &[])
    }

    /// Whether the shard's window has room for a full segment.
    fn may_send(&self) -> bool {
        let room = self.wnd_end.wrapping_sub(self.snd_nxt) as i32;
        room >= MSS_DATA as i32
    }

    /// A data segment, mapped (RFC 8684 §3.3.1: subflow sequence numbers relative to the ISS).
    fn data(&mut self, payload: &[u8]) -> Vec<u8> {
        let len = u16::try_from(payload.len()).expect("one segment");
        let ssn = self.snd_nxt.wrapping_sub(self.iss);
        let mapping = DssMapping::new(self.data_snd_nxt, true, ssn, len);
        let dss = Dss::mapping_only(mapping).with_data_ack(self.data_rcv_nxt, true);
        let f = self.segment(TcpFlags::ACK | TcpFlags::PSH, Some(MptcpOption::Dss(dss)), payload);
        self.snd_nxt = self.snd_nxt.wrapping_add(u32::from(len));
        self.data_snd_nxt = self.data_snd_nxt.wrapping_add(u64::from(len));
        self.unacked = 0;
        f
    }

    /// Takes a segment the shard sent.
    pub(crate) fn on_segment(&mut self, seg: &TcpRepr<'_>) {
        let seq = seg.seq_number.0;
        if seg.flags.contains(TcpFlags::SYN) {
            self.rcv_nxt = seq.wrapping_add(1);
            self.wnd_shift = seg.options.window_scale().unwrap_or(0);
            self.on_syn_ack_options(seg);
        } else if seq == self.rcv_nxt && !seg.payload.is_empty() {
            self.rcv_nxt = seq.wrapping_add(seg.payload.len() as u32);
            self.unacked += 1;
            self.on_data_options(seg);
        }
        if seg.flags.contains(TcpFlags::ACK) {
            let window = u32::from(seg.window_len) << self.wnd_shift;
            self.wnd_end = seg.ack_number.0.wrapping_add(window);
        }
    }

    fn on_syn_ack_options(&mut self, seg: &TcpRepr<'_>) {
        for option in seg.options.mptcp() {
            if let Ok(MptcpOption::MpCapable(c)) = MptcpOption::parse(option, MptcpVersion::V1)
                && let Some(key) = c.sender_key()
            {
                let peer = KeyMaterial::new(key, HashAlgo::Sha256);
                self.data_rcv_nxt = peer.idsn().wrapping_add(1);
                self.peer = Some(peer);
            }
        }
    }

    /// Moves the DATA_ACK to the end of the mapping of in-order data.
    fn on_data_options(&mut self, seg: &TcpRepr<'_>) {
        for option in seg.options.mptcp() {
            let Ok(MptcpOption::Dss(dss)) = MptcpOption::parse(option, MptcpVersion::V1) else {
                continue;
            };
            if let Some(m) = dss.mapping {
                let dsn = match m.dsn {
                    DataSeq::Full64(v) => v,
                    DataSeq::Low32(v) => (self.data_rcv_nxt & !0xffff_ffff) | u64::from(v),
                };
                let end = dsn.wrapping_add(u64::from(m.data_len));
                if end.wrapping_sub(self.data_rcv_nxt) as i64 > 0 {
                    self.data_rcv_nxt = end;
                }
            }
        }
    }
}

/// A shard with one established connection through it, and its two hosts.
pub(crate) struct Rig {
    shard: Shard,
    client: Client,
    origin: Option<Connection>,
    now: Instant,
    /// Where the shard's frames are written, one after another, before they are delivered.
    arena: Vec<u8>,
    /// The frames in `arena`: side, start, length.
    out: Vec<(Side, usize, usize)>,
    payload: Vec<u8>,
    sink: Vec<u8>,
    /// Data segments the far host received.
    delivered: u64,
}

impl Rig {
    /// A connection established through the shard, data flowing once each way.
    pub(crate) fn established(mptcp: bool) -> Rig {
        let now = Instant::from_secs(1);
        let mut rig = Rig {
            shard: shard_with_link(shard_config(mptcp), now),
            client: Client::new(mptcp, addr(CLIENT).port()),
            origin: None,
            now,
            arena: vec![0u8; 1 << 20],
            out: Vec::new(),
            payload: vec![0x5a; MSS_DATA],
            sink: vec![0u8; 1 << 20],
            delivered: 0,
        };
        let mut spent = WallDuration::ZERO;
        let syn = rig.client.syn();
        rig.give_shard(&syn, &mut spent);
        let ack = rig.client.third_ack();
        rig.give_shard(&ack, &mut spent);
        for _ in 0..4 {
            rig.origin_step(&mut spent);
        }
        assert!(rig.origin.is_some(), "the shard connected to the origin");
        assert!(rig.client.peer.is_some() || !mptcp, "MPTCP was agreed");
        rig
    }

    /// The shard, for its counters (the long-stream test reads them).
    #[allow(dead_code)]
    pub(crate) fn shard(&self) -> &Shard {
        &self.shard
    }

    /// Moves time on, forwards one data segment and the acknowledgements it brings; returns
    /// the time the shard spent.
    pub(crate) fn forward_one(&mut self, direction: Direction) -> WallDuration {
        let mut spent = WallDuration::ZERO;
        let before = self.delivered;
        for _ in 0..64 {
            self.now += STEP;
            match direction {
                Direction::Upload => self.upload_step(&mut spent),
                Direction::Download => self.download_step(&mut spent),
            }
            if self.delivered > before {
                return spent;
            }
        }
        let c = &self.client;
        panic!(
            "no segment forwarded in 64 steps after {} segments: the benchmark's hosts are stuck \
             (client snd_nxt {} wnd_end {}, shard {:?})",
            self.delivered,
            c.snd_nxt,
            c.wnd_end,
            self.shard.stats()
        );
    }

    fn upload_step(&mut self, spent: &mut WallDuration) {
        if self.client.may_send() {
            let f = self.client.data(&self.payload);
            self.give_shard(&f, spent);
        }
        self.origin_step(spent);
        self.run_timers(spent);
    }

    fn download_step(&mut self, spent: &mut WallDuration) {
        if let Some(origin) = &mut self.origin {
            origin.send(&self.payload);
        }
        self.origin_step(spent);
        if self.client.unacked >= 2 {
            let f = self.client.ack();
            self.give_shard(&f, spent);
        }
        self.run_timers(spent);
    }

    /// The origin reads what it got, then sends what it owes (ACKs, data) to the shard.
    fn origin_step(&mut self, spent: &mut WallDuration) {
        let Some(origin) = &mut self.origin else {
            return;
        };
        while origin.recv(&mut self.sink) > 0 {}
        let mut buf = [0u8; 2048];
        let mut frames = Vec::new();
        while let Some(t) = origin.poll_transmit(self.now, &mut buf, &mut ()) {
            frames.push(frame(origin.local(), origin.remote(), &parse_segment(&buf[..t.len])));
        }
        for f in frames {
            self.give_shard(&f, spent);
        }
    }

    fn run_timers(&mut self, spent: &mut WallDuration) {
        if self.shard.poll_timeout().is_some_and(|at| at <= self.now) {
            let (shard, now) = (&mut self.shard, self.now);
            timed(spent, || shard.handle_timeout(now));
            self.drain(spent);
        }
    }

    /// Hands a frame to the shard (timed), then delivers what it sent.
    fn give_shard(&mut self, frame: &[u8], spent: &mut WallDuration) {
        let (shard, now) = (&mut self.shard, self.now);
        timed(spent, || {
            shard.handle_frame(now, frame, true);
        });
        self.drain(spent);
    }

    /// Takes every frame the shard has, as the worker does (timed), then delivers them.
    fn drain(&mut self, spent: &mut WallDuration) {
        let Rig { shard, now, arena, out, .. } = self;
        out.clear();
        timed(spent, || {
            let mut at = 0;
            for side in SIDES {
                while let Some(len) = transmit(shard, *now, side, &mut arena[at..]) {
                    out.push((side, at, len));
                    at += len;
                }
            }
        });
        for i in 0..self.out.len() {
            let (side, at, len) = self.out[i];
            let bytes = self.arena[at..at + len].to_vec();
            self.deliver(side, &bytes);
        }
    }

    fn deliver(&mut self, side: Side, bytes: &[u8]) {
        let Ok(Frame::Tcp(f)) = parse_frame(bytes, ChecksumPolicy::Verify) else {
            panic!("the shard sent a frame that does not parse");
        };
        if !f.tcp.payload.is_empty() {
            self.delivered += 1;
        }
        match side {
            Side::Client => self.client.on_segment(&f.tcp),
            Side::Origin => match &mut self.origin {
                Some(origin) => {
                    origin.handle_segment(self.now, &f.tcp);
                }
                None => {
                    let remote = SocketAddr::new(f.ip.src_addr(), f.tcp.src_port);
                    let (cfg, iss) = (big_buffers(), TcpSeqNumber(77_000));
                    let origin =
                        Connection::accept(cfg, addr(ORIGIN), remote, iss, &f.tcp, self.now);
                    self.origin = Some(origin);
                }
            },
        }
    }
}

/// One frame from the shard into `buf`, Ethernet header included, as the worker takes it.
/// Returns the frame's length.
fn transmit(shard: &mut Shard, now: Instant, side: Side, buf: &mut [u8]) -> Option<usize> {
    shard.poll_frame(now, side, buf).map(|t| t.len)
}

/// A shard with its link addresses and the origin's next hop set, as the worker sets them.
pub(crate) fn shard_with_link(cfg: ShardConfig, now: Instant) -> Shard {
    let mut shard = Shard::new(cfg, now);
    shard.set_link_address(Side::Client, [2, 0, 0, 0, 0, 0xc1]);
    shard.set_link_address(Side::Origin, [2, 0, 0, 0, 0, 0x01]);
    shard.set_next_hop(addr(ORIGIN).ip(), ORIGIN_MAC);
    shard
}
