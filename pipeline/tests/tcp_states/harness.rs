//! Drives one [`Connection`] by hand: segments built field by field (options through
//! [`TcpOptionWriter`]), emitted to bytes and parsed back, and the segments the connection
//! writes decoded into [`Seg`] values that tests compare whole.

#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;

use netreaktor_pipeline::tcp::{Config, ConnEvent, Connection, Received};
use netreaktor_pipeline::time::{Duration, Instant};
use netreaktor_pipeline::wire::tcp::{TcpFlags, TcpPacket, TcpRepr, TcpSeqNumber};
use netreaktor_pipeline::wire::tcp_option::{
    MAX_OPTIONS_LEN, SackBlocks, TcpOption, TcpOptionWriter, TcpOptions,
};

/// Our ISS and the peer's.
pub const ISS: u32 = 1000;
pub const PEER_ISS: u32 = 5000;
/// The window our segments advertise with the default 256 KiB buffer and no scaling.
pub const OUR_WND: u16 = 65535;
/// The peer's window and MSS in [`Harness::established`].
pub const PEER_WND: u16 = 8192;
pub const PEER_MSS: u16 = 1000;

pub const SYN: TcpFlags = TcpFlags::SYN;
pub const ACK: TcpFlags = TcpFlags::ACK;
pub const FIN: TcpFlags = TcpFlags::FIN;
pub const RST: TcpFlags = TcpFlags::RST;
pub const PSH: TcpFlags = TcpFlags::PSH;

pub fn us() -> SocketAddr {
    "10.0.0.1:40000".parse().expect("address")
}

pub fn peer() -> SocketAddr {
    "10.0.0.2:80".parse().expect("address")
}

/// No timestamps, SACK or window scaling, no delayed ACK, and the whole receive buffer
/// offered at once (no autotuning): every segment is bare and carries a full window.
pub fn plain() -> Config {
    Config {
        timestamps: false,
        sack: false,
        window_scaling: false,
        delayed_ack: None,
        buffer_release: None,
        initial_rcv_space: usize::MAX,
        ..Config::default()
    }
}

/// A TCP option, owned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opt {
    Nop,
    Mss(u16),
    Ws(u8),
    SackPerm,
    Ts(u32, u32),
    Sack(u32, u32),
    /// An option we do not implement: kind and data.
    Unknown(u8, &'static [u8]),
    /// Raw bytes, for malformed options.
    Raw(&'static [u8]),
}

impl Opt {
    fn to_option(self) -> TcpOption<'static> {
        match self {
            Opt::Nop => TcpOption::NoOperation,
            Opt::Mss(m) => TcpOption::MaxSegmentSize(m),
            Opt::Ws(s) => TcpOption::WindowScale(s),
            Opt::SackPerm => TcpOption::SackPermitted,
            Opt::Ts(v, e) => TcpOption::Timestamps { tsval: v, tsecr: e },
            Opt::Sack(l, r) => TcpOption::SackRange(SackBlocks::new(&[(l, r)]).expect("1 block")),
            Opt::Unknown(kind, data) => TcpOption::Unknown { kind, data },
            Opt::Raw(_) => unreachable!("raw bytes are written directly"),
        }
    }
}

/// A segment: one the test sends, or one the connection wrote (decoded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seg {
    pub flags: TcpFlags,
    pub seq: u32,
    pub ack: u32,
    pub wnd: u16,
    /// Options in wire order, NOPs included.
    pub opts: Vec<Opt>,
    pub data: Vec<u8>,
}

impl Seg {
    pub fn new(flags: TcpFlags, seq: u32, ack: u32, wnd: u16) -> Seg {
        Seg { flags, seq, ack, wnd, opts: Vec::new(), data: Vec::new() }
    }

    /// A pure ACK.
    pub fn ack(seq: u32, ack: u32, wnd: u16) -> Seg {
        Seg::new(ACK, seq, ack, wnd)
    }

    pub fn opts(mut self, opts: &[Opt]) -> Seg {
        self.opts = opts.to_vec();
        self
    }

    pub fn data(mut self, data: &[u8]) -> Seg {
        self.data = data.to_vec();
        self
    }

    /// The segment's bytes, from the peer to us, checksum filled.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut area = [0u8; MAX_OPTIONS_LEN];
        let mut w = TcpOptionWriter::new(&mut area);
        for o in &self.opts {
            match o {
                Opt::Raw(bytes) => w.push_with(bytes.len(), |a| a.copy_from_slice(bytes)),
                _ => w.push(&o.to_option()),
            }
            .expect("options fit");
        }
        let opt_len = w.finish();
        let repr = TcpRepr {
            src_port: peer().port(),
            dst_port: us().port(),
            seq_number: TcpSeqNumber(self.seq),
            ack_number: TcpSeqNumber(self.ack),
            flags: self.flags,
            window_len: self.wnd,
            urgent_pointer: 0,
            options: TcpOptions::new(&area[..opt_len]),
            payload: &self.data,
        };
        let mut bytes = vec![0u8; repr.buffer_len()];
        let mut packet = TcpPacket::new_unchecked(&mut bytes[..]);
        repr.emit(&mut packet);
        packet.fill_checksum(peer().ip(), us().ip());
        bytes
    }

    /// Decodes a segment the connection wrote (checksum checked, ports checked).
    pub fn from_bytes(bytes: &[u8]) -> Seg {
        let packet = TcpPacket::new_checked(bytes).expect("our segment parses");
        assert!(packet.verify_checksum(us().ip(), peer().ip()), "checksum of our segment");
        let repr = TcpRepr::parse(&packet).expect("our segment parses");
        assert_eq!((repr.src_port, repr.dst_port), (us().port(), peer().port()));
        let mut opts = Vec::new();
        for o in repr.options.iter() {
            let o = o.expect("our options parse");
            opts.push(match o {
                TcpOption::NoOperation => Opt::Nop,
                TcpOption::MaxSegmentSize(m) => Opt::Mss(m),
                TcpOption::WindowScale(s) => Opt::Ws(s),
                TcpOption::SackPermitted => Opt::SackPerm,
                TcpOption::Timestamps { tsval, tsecr } => Opt::Ts(tsval, tsecr),
                TcpOption::SackRange(b) => {
                    let &(l, r) = b.as_slice().first().expect("a block");
                    Opt::Sack(l, r)
                }
                TcpOption::EndOfList => break,
                other => panic!("unexpected option {other:?}"),
            });
        }
        Seg {
            flags: repr.flags,
            seq: repr.seq_number.0,
            ack: repr.ack_number.0,
            wnd: repr.window_len,
            opts,
            data: repr.payload.to_vec(),
        }
    }
}

/// One connection, the clock, and helpers to talk to it.
pub struct Harness {
    pub conn: Connection,
    pub now: Instant,
}

/// The start of every test's clock.
pub const T0: Instant = Instant::from_secs(10);

impl Harness {
    /// An active open: SYN-SENT, the SYN not yet polled.
    pub fn client(cfg: Config) -> Harness {
        let conn = Connection::connect(cfg, us(), peer(), TcpSeqNumber(ISS), T0);
        Harness { conn, now: T0 }
    }

    /// A passive open from the peer's `syn`: SYN-RECEIVED, the SYN,ACK not yet polled.
    pub fn server(cfg: Config, syn: &Seg) -> Harness {
        let bytes = syn.to_bytes();
        let packet = TcpPacket::new_checked(&bytes[..]).expect("test segment parses");
        let repr = TcpRepr::parse(&packet).expect("test segment parses");
        let conn = Connection::accept(cfg, us(), peer(), TcpSeqNumber(ISS), &repr, T0);
        Harness { conn, now: T0 }
    }

    /// An active open completed 100 ms later by a SYN,ACK with MSS 1000, window 8192 and no
    /// other option; the SYN and the ACK are checked and consumed. SND.NXT = ISS + 1,
    /// RCV.NXT = PEER_ISS + 1, RTO 300 ms (SRTT 100 ms, RTTVAR 50 ms).
    pub fn established(cfg: Config) -> Harness {
        let mut h = Harness::client(cfg);
        assert_eq!(h.transmit().len(), 1, "the SYN");
        h.advance(Duration::from_millis(100));
        let syn_ack = Seg::new(SYN | ACK, PEER_ISS, ISS + 1, PEER_WND).opts(&[Opt::Mss(PEER_MSS)]);
        h.deliver(&syn_ack);
        assert_eq!(h.transmit(), [Seg::ack(ISS + 1, PEER_ISS + 1, OUR_WND)], "the third ACK");
        assert_eq!(h.conn.poll_event(), Some(ConnEvent::Connected));
        h
    }

    /// Hands `seg` to the connection.
    pub fn deliver(&mut self, seg: &Seg) -> Received {
        let bytes = seg.to_bytes();
        let packet = TcpPacket::new_checked(&bytes[..]).expect("test segment parses");
        let repr = TcpRepr::parse(&packet).expect("test segment parses");
        self.conn.handle_segment(self.now, &repr)
    }

    /// Every segment the connection has to send now.
    pub fn transmit(&mut self) -> Vec<Seg> {
        let mut out = Vec::new();
        let mut buf = vec![0u8; 2048];
        while let Some(t) = self.conn.poll_transmit(self.now, &mut buf, &mut ()) {
            let seg = Seg::from_bytes(&buf[..t.len]);
            assert_eq!((t.seq.0, t.flags, t.payload_len), (seg.seq, seg.flags, seg.data.len()));
            out.push(seg);
            assert!(out.len() < 1000, "poll_transmit does not stop");
        }
        out
    }

    /// Moves the clock by `d` and runs the timers.
    pub fn advance(&mut self, d: Duration) {
        self.now += d;
        self.conn.handle_timeout(self.now);
    }

    /// Moves the clock to the next timer and runs it; returns how long that was.
    pub fn fire(&mut self) -> Duration {
        let at = self.conn.poll_timeout().expect("a timer runs");
        let waited = at.saturating_duration_since(self.now);
        self.now = at.max(self.now);
        self.conn.handle_timeout(self.now);
        waited
    }

    /// Every user event pending.
    pub fn events(&mut self) -> Vec<ConnEvent> {
        std::iter::from_fn(|| self.conn.poll_event()).collect()
    }

    /// Reads everything readable.
    pub fn read_all(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = self.conn.recv(&mut buf);
            if n == 0 {
                return out;
            }
            out.extend_from_slice(&buf[..n]);
        }
    }
}

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Our TSval at `now`: the engine's 1 ms clock offset by the ISS rotated 16 bits.
pub fn our_tsval(now: Instant) -> u32 {
    (now.total_millis() as u32).wrapping_add(ISS.rotate_left(16))
}
