//! Whole synthetic connections: an MPTCP v1 connection with a join, ADD_ADDR, data on both
//! subflows and DATA_FINs, with optional faults; and the same shape in MPTCP v0.

use core::net::{IpAddr, Ipv4Addr, SocketAddr};

use netreaktor_pipeline::mptcp::crypto::{HashAlgo, HmacKeys, KeyMaterial};
use netreaktor_pipeline::wire::mptcp::{
    AddAddr, Dss, DssMapping, MpCapable, MpCapableFlags, MpJoin, MpPrio, MptcpOption, MptcpVersion,
    RemoveAddr,
};
use netreaktor_pipeline::wire::tcp::TcpFlags;

use super::trace::{Dir, Flow, Trace};

pub(super) const CLIENT_KEY: u64 = 0x0123_4567_89ab_cdef;
pub(super) const SERVER_KEY: u64 = 0xfedc_ba98_7654_3210;
pub(super) const CLIENT_NONCE: u32 = 0x1111_2222;
pub(super) const SERVER_NONCE: u32 = 0x3333_4444;

pub(super) const ACK: TcpFlags = TcpFlags::ACK;
pub(super) const SYN: TcpFlags = TcpFlags::SYN;

pub(super) fn synack() -> TcpFlags {
    TcpFlags::SYN | TcpFlags::ACK
}

pub(super) fn finack() -> TcpFlags {
    TcpFlags::FIN | TcpFlags::ACK
}

pub(super) fn sock(a: u8, b: u8, port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, a, b)), port)
}

pub(super) fn client_wifi() -> SocketAddr {
    sock(1, 1, 40_000)
}

pub(super) fn client_cell() -> SocketAddr {
    sock(2, 1, 40_001)
}

pub(super) fn server() -> SocketAddr {
    sock(3, 2, 5_000)
}

pub(super) fn announced() -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 4, 2))
}

/// What to break in [`v1_trace`].
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Faults {
    pub(super) join_syn_ack_hmac: bool,
    pub(super) join_ack_hmac: bool,
    pub(super) add_addr_hmac: bool,
    pub(super) idsn: bool,
    pub(super) data_ack: bool,
    pub(super) mapping_conflict: bool,
    pub(super) key_echo: bool,
}

pub(super) fn dss(
    ack: Option<(u64, bool)>,
    mapping: Option<DssMapping>,
    fin: bool,
) -> MptcpOption<'static> {
    let dss = Dss { data_ack: None, mapping, data_fin: fin };
    let dss = match ack {
        Some((ack, wide)) => dss.with_data_ack(ack, wide),
        None => dss,
    };
    MptcpOption::Dss(dss)
}

pub(super) fn keys(algo: HashAlgo) -> (KeyMaterial, KeyMaterial) {
    (KeyMaterial::new(CLIENT_KEY, algo), KeyMaterial::new(SERVER_KEY, algo))
}

/// The MP_CAPABLE handshake of `version` on a new initial subflow.
pub(super) fn handshake(t: &mut Trace, version: MptcpVersion, echo_fault: bool) -> Flow {
    let flags = MpCapableFlags::HMAC_SHA;
    let mut f0 = Flow::new(client_wifi(), server(), 1_000, 50_000);
    let syn = MpCapable::syn(version, flags, CLIENT_KEY);
    t.send(&mut f0, Dir::Fwd, SYN, &[MptcpOption::MpCapable(syn)], b"");
    let syn_ack = MpCapable::syn_ack(version, flags, SERVER_KEY);
    t.send(&mut f0, Dir::Rev, synack(), &[MptcpOption::MpCapable(syn_ack)], b"");
    let echoed = if echo_fault { SERVER_KEY ^ 1 } else { SERVER_KEY };
    let third = MpCapable::ack(version, flags, CLIENT_KEY, echoed);
    t.send(&mut f0, Dir::Fwd, ACK, &[MptcpOption::MpCapable(third)], b"");
    f0
}

/// A join from the client's cell address with the HMACs of `algo`, optionally broken.
pub(super) fn join(t: &mut Trace, algo: HashAlgo, faults: Faults, token: u32) -> Flow {
    let (kc, ks) = keys(algo);
    let mut f1 = Flow::new(client_cell(), server(), 7_000, 90_000);
    let syn = MpJoin::Syn { backup: true, addr_id: 2, token, nonce: CLIENT_NONCE };
    t.send(&mut f1, Dir::Fwd, SYN, &[MptcpOption::MpJoin(syn)], b"");
    let mut hmac = HmacKeys::new(&ks, CLIENT_KEY).syn_ack_hmac(SERVER_NONCE, CLIENT_NONCE);
    hmac ^= u64::from(faults.join_syn_ack_hmac);
    let syn_ack =
        MpJoin::SynAck { backup: false, addr_id: 0, hmac: hmac.to_be_bytes(), nonce: SERVER_NONCE };
    t.send(&mut f1, Dir::Rev, synack(), &[MptcpOption::MpJoin(syn_ack)], b"");
    let mut hmac = HmacKeys::new(&kc, SERVER_KEY).ack_hmac(CLIENT_NONCE, SERVER_NONCE);
    hmac[19] ^= u8::from(faults.join_ack_hmac);
    t.send(&mut f1, Dir::Fwd, ACK, &[MptcpOption::MpJoin(MpJoin::Ack { hmac })], b"");
    f1
}

/// The whole v1 connection; see the module docs. Client sends 100 octets on subflow 0 and
/// 300 on subflow 1 (and retransmits those 300), the server 200 on subflow 0 and 50 on
/// subflow 1.
pub(super) fn v1_trace(faults: Faults) -> Trace {
    let mut t = Trace::new();
    let (kc, ks) = keys(HashAlgo::Sha256);
    let mut f0 = handshake(&mut t, MptcpVersion::V1, faults.key_echo);
    let c0 = kc.idsn().wrapping_add(if faults.idsn { 7 } else { 1 });
    let s0 = ks.idsn().wrapping_add(1);
    let first_ack = if faults.data_ack { s0.wrapping_sub(5) } else { s0 };
    let map = DssMapping::new(c0, true, 1, 100);
    t.send(&mut f0, Dir::Fwd, ACK, &[dss(Some((first_ack, true)), Some(map), false)], &[1; 100]);
    let map = DssMapping::new(s0, true, 1, 200);
    t.send(
        &mut f0,
        Dir::Rev,
        ACK,
        &[dss(Some((c0.wrapping_add(100), true)), Some(map), false)],
        &[2; 200],
    );

    let mut f1 = join(&mut t, HashAlgo::Sha256, faults, ks.token());
    t.send(&mut f1, Dir::Rev, ACK, &[dss(Some((c0.wrapping_add(100), true)), None, false)], b"");

    let hmac = HmacKeys::new(&ks, CLIENT_KEY).add_addr_hmac(4, announced(), Some(5004));
    let hmac = hmac.expect("v1 ADD_ADDR has an HMAC") ^ u64::from(faults.add_addr_hmac);
    let add = AddAddr::announce(4, announced(), Some(5004), hmac.to_be_bytes());
    let ack32 = dss(Some((c0.wrapping_add(100), false)), None, false);
    t.send(&mut f0, Dir::Rev, ACK, &[MptcpOption::AddAddr(add), ack32], b"");
    let echo = AddAddr::echo(4, announced(), Some(5004));
    t.send(&mut f0, Dir::Fwd, ACK, &[MptcpOption::AddAddr(echo)], b"");

    // 300 octets on the joined subflow with a 4-octet DSN, then their retransmission.
    let seq = f1.next(Dir::Fwd);
    let opts = [dss(
        Some((s0.wrapping_add(200), true)),
        Some(DssMapping::new(c0.wrapping_add(100), false, 1, 300)),
        false,
    )];
    t.send(&mut f1, Dir::Fwd, ACK, &opts, &[3; 300]);
    let again = if faults.mapping_conflict { c0.wrapping_add(5_000) } else { c0.wrapping_add(100) };
    let opts = [dss(
        Some((s0.wrapping_add(200), true)),
        Some(DssMapping::new(again, true, 1, 300)),
        false,
    )];
    t.resend(&f1, Dir::Fwd, seq, ACK, &opts, &[3; 300]);
    let map = DssMapping::new(s0.wrapping_add(200), true, 1, 50);
    t.send(
        &mut f1,
        Dir::Rev,
        ACK,
        &[dss(Some((c0.wrapping_add(400), true)), Some(map), false)],
        &[4; 50],
    );
    t.send(&mut f1, Dir::Fwd, ACK, &[MptcpOption::MpPrio(MpPrio::new(false))], b"");
    let remove = RemoveAddr::new(&[4]).expect("one address ID");
    t.send(&mut f0, Dir::Rev, ACK, &[MptcpOption::RemoveAddr(remove)], b"");

    close(&mut t, &mut f0, &mut f1, c0.wrapping_add(400), s0.wrapping_add(250));
    t
}

/// DATA_FIN both ways on subflow 0 (RFC 8684 §3.3.3: subflow seq 0, length 1), then FIN
/// both ways on both subflows.
pub(super) fn close(t: &mut Trace, f0: &mut Flow, f1: &mut Flow, c_fin: u64, s_fin: u64) {
    let fin = DssMapping::data_fin_only(c_fin, true);
    t.send(f0, Dir::Fwd, ACK, &[dss(Some((s_fin, true)), Some(fin), true)], b"");
    let fin = DssMapping::data_fin_only(s_fin, true);
    t.send(f0, Dir::Rev, ACK, &[dss(Some((c_fin.wrapping_add(1), true)), Some(fin), true)], b"");
    for flow in [f0, f1] {
        t.send(
            flow,
            Dir::Fwd,
            finack(),
            &[dss(Some((s_fin.wrapping_add(1), true)), None, false)],
            b"",
        );
        t.send(
            flow,
            Dir::Rev,
            finack(),
            &[dss(Some((c_fin.wrapping_add(1), true)), None, false)],
            b"",
        );
        t.send(flow, Dir::Fwd, ACK, &[], b"");
    }
}

/// An MPTCP v0 connection (SHA-1): keys in the SYN and SYN/ACK, a join, a v0 ADD_ADDR,
/// data with 4-octet DSNs, DATA_FINs.
pub(super) fn v0_trace() -> Trace {
    let mut t = Trace::new();
    let (kc, ks) = keys(HashAlgo::Sha1);
    let mut f0 = handshake(&mut t, MptcpVersion::V0, false);
    let c0 = kc.idsn().wrapping_add(1);
    let s0 = ks.idsn().wrapping_add(1);
    let map = DssMapping::new(c0, false, 1, 10);
    t.send(&mut f0, Dir::Fwd, ACK, &[dss(Some((s0, false)), Some(map), false)], &[1; 10]);
    let map = DssMapping::new(s0, false, 1, 20);
    t.send(
        &mut f0,
        Dir::Rev,
        ACK,
        &[dss(Some((c0.wrapping_add(10), false)), Some(map), false)],
        &[2; 20],
    );
    let mut f1 = join(&mut t, HashAlgo::Sha1, Faults::default(), ks.token());
    t.send(&mut f1, Dir::Rev, ACK, &[dss(Some((c0.wrapping_add(10), false)), None, false)], b"");
    let add = AddAddr::v0(4, announced(), None);
    t.send(&mut f0, Dir::Rev, ACK, &[MptcpOption::AddAddr(add)], b"");
    close(&mut t, &mut f0, &mut f1, c0.wrapping_add(10), s0.wrapping_add(20));
    t
}
