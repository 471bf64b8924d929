//! Drives one server-side [`Connection`] by hand: client segments built from the wire
//! `Repr`s (MPTCP options through [`TcpOptionWriter`]), emitted to bytes and parsed back, and
//! the segments the connection writes decoded into [`Seg`] values that tests compare whole.
//!
//! Sequence numbers in a [`Seg`] are relative: bytes after the sender's SYN (`seq`) and after
//! the receiver's SYN (`ack`), as in RFC 8684 §3.3.1 relative subflow sequence numbers minus
//! one. TCP timestamps, SACK, window scaling, delayed ACKs and tail-loss probes are off, so
//! every segment carries exactly the options the MPTCP layer chose.

use std::net::{IpAddr, SocketAddr};

use super::super::{Connection, MptcpConfig, SubflowId};
use crate::mptcp::crypto::{HashAlgo, HmacKeys, KeyMaterial, idsn};
use crate::tcp::{Config, Connection as Tcp, State};
use crate::time::{Duration, Instant};
use crate::wire::mptcp::{
    DataSeq, Dss, DssMapping, MpCapable, MpCapableFlags, MpJoin, MptcpOption, MptcpVersion,
    RemoveAddr,
};
use crate::wire::tcp::{TcpFlags, TcpPacket, TcpRepr, TcpSeqNumber};
use crate::wire::tcp_option::{MAX_OPTIONS_LEN, TcpOption, TcpOptionWriter, TcpOptions};

/// Our key and the client's (RFC 8684 §3.1).
pub(super) const SERVER_KEY: u64 = 0x1122_3344_5566_7788;
pub(super) const CLIENT_KEY: u64 = 0x8877_6655_4433_2211;
/// A client key whose IDSN's low 32 bits are 0xffff_fe40: its data sequence numbers wrap
/// 2^32 after 447 bytes (found by search over SHA-256).
pub(super) const WRAPPING_CLIENT_KEY: u64 = 0x5eed_0000_0003_795a;
/// The MP_JOIN nonces: the client's in its SYN, ours in the SYN,ACK (RFC 8684 §3.2).
pub(super) const CLIENT_NONCE: u32 = 0x0bad_cafe;
pub(super) const SERVER_NONCE: u32 = 0x600d_f00d;
/// The MSS the client announces on every subflow, and ours once the DSS space (24 bytes,
/// [`DSS_SPACE`](super::super::DSS_SPACE)) is reserved.
pub(super) const PEER_MSS: u16 = 1200;
pub(super) const MSS: usize = 1176;
/// The window every segment advertises, the client's and ours (no scaling).
pub(super) const WND: u16 = 65535;
/// When the initial subflow's SYN arrives.
const SYN_AT: Instant = Instant::from_secs(10);
/// Every subflow's handshake takes this long: SRTT 100 ms and RTTVAR 50 ms from the first
/// sample (RFC 6298 §2.2), so the subflow RTO is 300 ms and the failover time 400 ms.
pub(super) const RTT: Duration = Duration::from_millis(100);
/// When the MP_CAPABLE third ACK arrives and the connection starts: every test's clock.
pub(super) const T0: Instant = Instant::from_millis(10_100);

pub(super) const SYN: TcpFlags = TcpFlags::SYN;
pub(super) const ACK: TcpFlags = TcpFlags::ACK;
pub(super) const RST: TcpFlags = TcpFlags::RST;
pub(super) const FIN: TcpFlags = TcpFlags::FIN;
pub(super) const PSH: TcpFlags = TcpFlags::PSH;

pub(super) fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Test bytes: `len` of them, different from one position to the next.
pub(super) fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

/// The subflow TCP configuration: bare segments.
pub(super) fn tcp_config() -> Config {
    Config {
        mss: 1460,
        timestamps: false,
        sack: false,
        window_scaling: false,
        delayed_ack: None,
        buffer_release: None,
        tail_loss_probe: false,
        // The whole buffer offered at once: the expected segments carry a full window.
        initial_rcv_space: usize::MAX,
        ..Config::default()
    }
}

/// One subflow's addresses and initial sequence numbers.
#[derive(Debug, Clone, Copy)]
pub(super) struct Path {
    pub(super) ours: SocketAddr,
    pub(super) theirs: SocketAddr,
    pub(super) iss: u32,
    pub(super) peer_iss: u32,
}

impl Path {
    /// Subflow `n`: the initial one from 198.51.100.7, joins from 203.0.113.9.
    fn nth(n: u8) -> Path {
        let ours = "192.0.2.1:443".parse().expect("address");
        let theirs = match n {
            0 => "198.51.100.7:40000".parse().expect("address"),
            _ => SocketAddr::new("203.0.113.9".parse().expect("address"), 40000 + u16::from(n)),
        };
        let n = u32::from(n);
        Path { ours, theirs, iss: 1000 + n * 0x1000_0000, peer_iss: 5000 + n * 0x2000_0000 }
    }
}

/// A segment: one the client sends, or one the connection wrote (decoded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Seg {
    pub(super) flags: TcpFlags,
    /// Bytes after the sender's SYN (`u32::MAX` is the SYN itself).
    pub(super) seq: u32,
    /// Bytes after the receiver's SYN; 0 without ACK.
    pub(super) ack: u32,
    pub(super) wnd: u16,
    /// The MSS option (SYNs only).
    pub(super) mss: Option<u16>,
    /// The MPTCP options, in wire order.
    pub(super) mptcp: Vec<MptcpOption<'static>>,
    pub(super) data: Vec<u8>,
}

impl Seg {
    pub(super) fn new(flags: TcpFlags, seq: u32, ack: u32) -> Seg {
        Seg { flags, seq, ack, wnd: WND, mss: None, mptcp: Vec::new(), data: Vec::new() }
    }

    /// A pure ACK from the client.
    pub(super) fn ack(seq: u32, ack: u32) -> Seg {
        Seg::new(ACK, seq, ack)
    }

    /// A RST we send (an abort): RST and ACK set, window 0.
    pub(super) fn rst(seq: u32, ack: u32) -> Seg {
        Seg { wnd: 0, ..Seg::new(RST | ACK, seq, ack) }
    }

    /// This segment with an MPTCP option added.
    pub(super) fn opt(mut self, option: MptcpOption<'static>) -> Seg {
        self.mptcp.push(option);
        self
    }

    /// This segment with a DSS option added.
    pub(super) fn dss(self, dss: Dss) -> Seg {
        self.opt(MptcpOption::Dss(dss))
    }

    /// A segment we send: `flags`, our DATA_ACK `data_ack` (8 bytes, RFC 8684 §3.3.2) and
    /// `mapping`, if any.
    pub(super) fn ours(flags: TcpFlags, seq: u32, ack: u32, data_ack: u64) -> Seg {
        Seg::new(flags, seq, ack).dss(Dss::data_ack_only(data_ack, true))
    }

    /// This segment's DSS with `mapping` added; beside a 64-bit DSN the DATA_ACK is sent as
    /// 32 bits, as we send it (`tx::no_misread_ack`).
    pub(super) fn mapping(mut self, mapping: DssMapping) -> Seg {
        let Some(MptcpOption::Dss(dss)) = self.mptcp.first_mut() else { panic!("a DSS first") };
        dss.mapping = Some(mapping);
        if let Some(ack) = dss.data_ack.filter(|_| mapping.dsn.is_wide()) {
            dss.data_ack = Some(DataSeq::Low32(ack.low32()));
        }
        self
    }

    pub(super) fn data(mut self, data: &[u8]) -> Seg {
        self.data = data.to_vec();
        self
    }

    /// The segment's bytes from the client on `path`, checksum filled.
    fn to_bytes(&self, path: &Path) -> Vec<u8> {
        let mut area = [0u8; MAX_OPTIONS_LEN];
        let mut w = TcpOptionWriter::new(&mut area);
        if let Some(mss) = self.mss {
            w.push(&TcpOption::MaxSegmentSize(mss)).expect("MSS fits");
        }
        for o in &self.mptcp {
            w.push_with(o.buffer_len(), |b| o.emit(b)).expect("options fit");
        }
        let opt_len = w.finish();
        let ack = if self.flags.contains(ACK) {
            path.iss.wrapping_add(1).wrapping_add(self.ack)
        } else {
            0
        };
        let repr = TcpRepr {
            src_port: path.theirs.port(),
            dst_port: path.ours.port(),
            seq_number: TcpSeqNumber(path.peer_iss.wrapping_add(1).wrapping_add(self.seq)),
            ack_number: TcpSeqNumber(ack),
            flags: self.flags,
            window_len: self.wnd,
            urgent_pointer: 0,
            options: TcpOptions::new(&area[..opt_len]),
            payload: &self.data,
        };
        let mut bytes = vec![0u8; repr.buffer_len()];
        let mut packet = TcpPacket::new_unchecked(&mut bytes[..]);
        repr.emit(&mut packet);
        packet.fill_checksum(path.theirs.ip(), path.ours.ip());
        bytes
    }

    /// Decodes a segment the connection wrote on `path` (checksum and ports checked; any
    /// option but MPTCP, NOP and EOL fails the test), its MPTCP options read in `version`.
    fn from_bytes(bytes: &[u8], path: &Path, version: MptcpVersion) -> Seg {
        let packet = TcpPacket::new_checked(bytes).expect("our segment parses");
        assert!(packet.verify_checksum(path.ours.ip(), path.theirs.ip()), "our checksum");
        let repr = TcpRepr::parse(&packet).expect("our segment parses");
        assert_eq!((repr.src_port, repr.dst_port), (path.ours.port(), path.theirs.port()));
        let mut mptcp = Vec::new();
        for o in repr.options.iter() {
            match o.expect("our options parse") {
                TcpOption::Mptcp(b) => mptcp.push(owned(b, version)),
                TcpOption::NoOperation => {}
                TcpOption::EndOfList => break,
                other => panic!("unexpected option {other:?}"),
            }
        }
        let ack = repr.ack_number.0.wrapping_sub(path.peer_iss.wrapping_add(1));
        Seg {
            flags: repr.flags,
            seq: repr.seq_number.0.wrapping_sub(path.iss.wrapping_add(1)),
            ack: if repr.flags.contains(ACK) { ack } else { 0 },
            wnd: repr.window_len,
            mss: None,
            mptcp,
            data: repr.payload.to_vec(),
        }
    }
}

/// An option the connection wrote, without the borrow (it sends no REMOVE_ADDR).
fn owned(bytes: &[u8], version: MptcpVersion) -> MptcpOption<'static> {
    match MptcpOption::parse(bytes, version).expect("our MPTCP options parse") {
        MptcpOption::MpCapable(o) => MptcpOption::MpCapable(o),
        MptcpOption::MpJoin(o) => MptcpOption::MpJoin(o),
        MptcpOption::Dss(o) => MptcpOption::Dss(o),
        MptcpOption::AddAddr(o) => MptcpOption::AddAddr(o),
        MptcpOption::MpPrio(o) => MptcpOption::MpPrio(o),
        MptcpOption::MpFail(o) => MptcpOption::MpFail(o),
        MptcpOption::MpFastclose(o) => MptcpOption::MpFastclose(o),
        MptcpOption::MpTcpRst(o) => MptcpOption::MpTcpRst(o),
        other => panic!("we never send {other:?}"),
    }
}

/// A REMOVE_ADDR naming `ids`.
pub(super) fn remove_addr(ids: &'static [u8]) -> MptcpOption<'static> {
    MptcpOption::RemoveAddr(RemoveAddr::new(ids).expect("1 id or more"))
}

/// Parses `bytes` and hands the segment to `f`.
fn with_repr<R>(bytes: &[u8], f: impl FnOnce(&TcpRepr<'_>) -> R) -> R {
    let packet = TcpPacket::new_checked(bytes).expect("test segment parses");
    let repr = TcpRepr::parse(&packet).expect("test segment parses");
    f(&repr)
}

/// One MPTCP connection, its subflows' addresses, the client's keys, and the clock.
pub(super) struct Harness {
    pub(super) conn: Connection,
    pub(super) now: Instant,
    paths: Vec<Path>,
    pub(super) client_key: u64,
    /// The version's hash: SHA-256 (v1) unless built by [`Harness::v0`].
    pub(super) algo: HashAlgo,
}

impl Harness {
    /// A connection whose MP_CAPABLE handshake completed at [`T0`] without checksums; the
    /// third ACK carried no data and nothing has been polled.
    pub(super) fn new(cfg: MptcpConfig) -> Harness {
        Harness::establish(cfg, CLIENT_KEY, false, &[])
    }

    /// The same, with DSS checksums negotiated (A=1, RFC 8684 §3.1).
    pub(super) fn with_checksums(cfg: MptcpConfig) -> Harness {
        Harness::establish(cfg, CLIENT_KEY, true, &[])
    }

    /// The same, with the client's key `client_key`.
    pub(super) fn with_client_key(cfg: MptcpConfig, client_key: u64) -> Harness {
        Harness::establish(cfg, client_key, false, &[])
    }

    /// The same, the third ACK carrying `data` and MP_CAPABLE with its data-level length
    /// (RFC 8684 §3.1).
    pub(super) fn with_third_ack_data(cfg: MptcpConfig, data: &[u8]) -> Harness {
        Harness::establish(cfg, CLIENT_KEY, false, data)
    }

    fn establish(cfg: MptcpConfig, client_key: u64, csum: bool, data: &[u8]) -> Harness {
        let flags = if csum {
            MpCapableFlags::HMAC_SHA.with(MpCapableFlags::CHECKSUM_REQUIRED)
        } else {
            MpCapableFlags::HMAC_SHA
        };
        let syn = MpCapable::syn(MptcpVersion::V1, flags, 0);
        let capable = match data.len() {
            0 => MpCapable::ack(MptcpVersion::V1, flags, client_key, SERVER_KEY),
            n => MpCapable::ack_with_data(flags, client_key, SERVER_KEY, n as u16, None),
        };
        let third = Seg::ack(0, 0).opt(MptcpOption::MpCapable(capable)).data(data);
        Harness::complete(cfg, HashAlgo::Sha256, syn, third, client_key, csum)
    }

    /// An MPTCP v0 connection (RFC 6824 §3.1): the client's SYN carries its key
    /// (`1e 0c 00 01 <key>`), and the handshake completes with `third`: the v0 third ACK
    /// ([`Harness::v0_third_ack`]), or, when that was lost, the client's first data with its
    /// DSS. Checksums when `csum` (A=1 in the SYN).
    pub(super) fn v0(cfg: MptcpConfig, csum: bool, third: Seg) -> Harness {
        let syn = MpCapable::syn(MptcpVersion::V0, v0_flags(csum), CLIENT_KEY);
        Harness::complete(cfg, HashAlgo::Sha1, syn, third, CLIENT_KEY, csum)
    }

    /// The v0 third ACK: a pure ACK with both keys, `1e 14 00 01 <keyA> <keyB>`.
    pub(super) fn v0_third_ack(csum: bool) -> Seg {
        let capable = MpCapable::ack(MptcpVersion::V0, v0_flags(csum), CLIENT_KEY, SERVER_KEY);
        Seg::ack(0, 0).opt(MptcpOption::MpCapable(capable))
    }

    fn complete(
        cfg: MptcpConfig,
        algo: HashAlgo,
        syn_option: MpCapable,
        third: Seg,
        client_key: u64,
        csum: bool,
    ) -> Harness {
        let path = Path::nth(0);
        let mut syn = Seg::new(SYN, u32::MAX, 0);
        syn.mss = Some(PEER_MSS);
        let syn = syn.opt(MptcpOption::MpCapable(syn_option));
        let tcp = open_subflow(&path, &syn, &third, SYN_AT);
        let local = KeyMaterial::new(SERVER_KEY, algo);
        let mut conn = Connection::new(cfg, local, client_key, csum, tcp, T0);
        with_repr(&third.to_bytes(&path), |seg| conn.on_established(T0, seg));
        Harness { conn, now: T0, paths: vec![path], client_key, algo }
    }

    /// Joins a subflow the way the shard does (RFC 8684 §3.2): MP_JOIN SYN with our token
    /// and the client's address id `addr_id`, third ACK with the client's 160-bit HMAC,
    /// verified into a [`VerifiedJoin`](crate::mptcp::crypto::VerifiedJoin) and attached.
    pub(super) fn join(&mut self, addr_id: u8, backup: bool) -> SubflowId {
        let id = self.try_join(addr_id, backup, SERVER_KEY).expect("attached");
        assert_eq!(usize::from(id) + 1, self.paths.len(), "subflow ids in join order");
        id
    }

    /// A join whose HMACs are computed, and verified, with `server_key` as our key: this
    /// connection's key, or another connection's (a proof for the wrong connection).
    pub(super) fn try_join(
        &mut self,
        addr_id: u8,
        backup: bool,
        server_key: u64,
    ) -> Result<SubflowId, Box<Tcp>> {
        let path = Path::nth(self.paths.len() as u8);
        let ours = KeyMaterial::new(server_key, self.algo);
        let mut syn = Seg::new(SYN, u32::MAX, 0);
        syn.mss = Some(PEER_MSS);
        let token = ours.token();
        let nonce = CLIENT_NONCE;
        let syn = syn.opt(MptcpOption::MpJoin(MpJoin::Syn { backup, addr_id, token, nonce }));
        let client = HmacKeys::new(&KeyMaterial::new(self.client_key, self.algo), server_key);
        let hmac = client.ack_hmac(CLIENT_NONCE, SERVER_NONCE);
        let third = Seg::ack(0, 0).opt(MptcpOption::MpJoin(MpJoin::Ack { hmac }));
        let tcp = open_subflow(&path, &syn, &third, self.now - RTT);
        let proof = if server_key == SERVER_KEY {
            self.conn.hmac().verify_ack_hmac(SERVER_NONCE, CLIENT_NONCE, &hmac)
        } else {
            HmacKeys::new(&ours, self.client_key).verify_ack_hmac(SERVER_NONCE, CLIENT_NONCE, &hmac)
        };
        let proof = proof.expect("the client's HMAC verifies");
        let id = self.conn.attach(tcp, proof, addr_id, backup, self.now)?;
        self.paths.push(path);
        Ok(id)
    }

    /// The client's HMAC keys (its key first, as it computes them).
    pub(super) fn client_hmac(&self) -> HmacKeys {
        HmacKeys::new(&KeyMaterial::new(self.client_key, self.algo), SERVER_KEY)
    }

    /// The DSN of our `off`-th data byte (our IDSN + 1 + off, RFC 8684 §3.1).
    pub(super) fn our_dsn(&self, off: u64) -> u64 {
        idsn(SERVER_KEY, self.algo).wrapping_add(1).wrapping_add(off)
    }

    /// The DSN of the client's `off`-th data byte.
    pub(super) fn peer_dsn(&self, off: u64) -> u64 {
        idsn(self.client_key, self.algo).wrapping_add(1).wrapping_add(off)
    }

    /// Hands `seg`, from the client on subflow `id`, to the connection.
    pub(super) fn deliver(&mut self, id: SubflowId, seg: &Seg) {
        let bytes = seg.to_bytes(&self.paths[usize::from(id)]);
        let now = self.now;
        with_repr(&bytes, |repr| self.conn.handle_segment(now, id, repr));
    }

    /// Every segment the connection has to send now, with its subflow.
    pub(super) fn transmit(&mut self) -> Vec<(SubflowId, Seg)> {
        let mut out = Vec::new();
        let mut buf = vec![0u8; 2048];
        while let Some((id, t)) = self.conn.poll_transmit(self.now, &mut buf) {
            let version = self.conn.version();
            let seg = Seg::from_bytes(&buf[..t.len], &self.paths[usize::from(id)], version);
            assert_eq!(t.payload_len, seg.data.len());
            out.push((id, seg));
            assert!(out.len() < 1000, "poll_transmit does not stop");
        }
        out
    }

    /// Moves the clock by `d` and runs the timers.
    pub(super) fn advance(&mut self, d: Duration) {
        self.now += d;
        self.conn.handle_timeout(self.now);
    }

    /// Moves the clock to the next timer and runs it; returns how long that was.
    pub(super) fn fire(&mut self) -> Duration {
        let at = self.conn.poll_timeout().expect("a timer runs");
        let waited = at.saturating_duration_since(self.now);
        self.now = at.max(self.now);
        self.conn.handle_timeout(self.now);
        waited
    }

    /// Everything readable at the data level, consumed.
    pub(super) fn read_all(&mut self) -> Vec<u8> {
        let (a, b) = self.conn.readable();
        let out = [a, b].concat();
        self.conn.consume(out.len());
        out
    }
}

/// A subflow's TCP connection, passively opened at `at` by `syn` and established [`RTT`]
/// later by `third` (the SYN,ACK is polled and checked, the third ACK delivered).
fn open_subflow(path: &Path, syn: &Seg, third: &Seg, at: Instant) -> Tcp {
    let mut tcp = with_repr(&syn.to_bytes(path), |syn| {
        Tcp::accept(tcp_config(), path.ours, path.theirs, TcpSeqNumber(path.iss), syn, at)
    });
    let mut buf = vec![0u8; 2048];
    let t = tcp.poll_transmit(at, &mut buf, &mut ()).expect("the SYN,ACK");
    assert_eq!(t.flags, SYN | ACK);
    with_repr(&third.to_bytes(path), |seg| tcp.handle_segment(at + RTT, seg));
    assert_eq!(tcp.state(), State::Established);
    tcp
}

/// The flags of a v0 MP_CAPABLE: H (HMAC-SHA1), and A when checksums are asked for.
fn v0_flags(csum: bool) -> MpCapableFlags {
    match csum {
        true => MpCapableFlags::HMAC_SHA.with(MpCapableFlags::CHECKSUM_REQUIRED),
        false => MpCapableFlags::HMAC_SHA,
    }
}

/// An address for ADD_ADDR tests.
pub(super) fn ip(s: &str) -> IpAddr {
    s.parse().expect("address")
}

/// The DSS checksum computed from RFC 8684 §3.3.1 alone (RFC 1071 sum over a pseudo-header
/// of DSN, subflow sequence number, data-level length and a zero checksum, then the data),
/// independent of the engine's code.
pub(super) fn rfc_dss_checksum(dsn: u64, subflow_seq: u32, len: u16, data: &[u8]) -> u16 {
    let mut bytes = Vec::with_capacity(16 + data.len() + 1);
    bytes.extend_from_slice(&dsn.to_be_bytes());
    bytes.extend_from_slice(&subflow_seq.to_be_bytes());
    bytes.extend_from_slice(&len.to_be_bytes());
    bytes.extend_from_slice(&[0, 0]);
    bytes.extend_from_slice(data);
    if bytes.len() % 2 == 1 {
        bytes.push(0);
    }
    let mut sum: u32 = 0;
    for pair in bytes.chunks(2) {
        sum += u32::from(u16::from_be_bytes([pair[0], pair[1]]));
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}
