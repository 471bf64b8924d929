//! The connection's wire habits, sans I/O: a scripted server answers, the options the
//! emulated iPhone writes are compared with the exact bytes of docs/ios-emulation.md, and
//! each habit switched off changes what it writes.

use std::net::SocketAddr;
use std::sync::Arc;

use netreaktor_pipeline::tcp::Config;
use netreaktor_pipeline::time::{Duration, Instant};
use netreaktor_pipeline::wire::tcp::{TcpFlags, TcpPacket, TcpRepr, TcpSeqNumber};
use netreaktor_pipeline::wire::tcp_option::TcpOptions;

use super::super::ios::Generation;
use super::super::keys::{self, Version};
use super::super::options::{self, Mapping};
use super::{Fallback, Habits, MpConn, Shared};

const KEY_B: u64 = 0x0b0b_0b0b_0b0b_0b0b;
const SERVER_ISS: u32 = 5000;

fn shared(generation: Generation, offered: Option<Version>, habits: Habits) -> Shared {
    Shared {
        generation,
        service: super::Service::Interactive,
        habits,
        offered,
        mptcp: false,
        fallback: None,
        key_a: 0,
        key_b: 0,
        idsn_a: 0,
        idsn_b: 0,
        data_ack: 0,
        first_data_acked: false,
    }
}

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("address")
}

/// One segment the client wrote: flags, payload length, MPTCP options.
#[derive(Debug)]
struct Seg {
    flags: TcpFlags,
    len: usize,
    mptcp: Vec<Vec<u8>>,
}

/// Everything the connection has to send now.
fn out(c: &mut MpConn, now: Instant) -> Vec<Seg> {
    let mut buf = vec![0u8; 2048];
    let mut segs = Vec::new();
    for i in 0..c.subflows.len() {
        while let Some(t) = c.poll_transmit(i, now, &mut buf) {
            let p = TcpPacket::new_checked(&buf[..t.len]).expect("a whole segment");
            let r = TcpRepr::parse(&p).expect("parses");
            let mptcp = r.options.mptcp().map(<[u8]>::to_vec).collect();
            segs.push(Seg { flags: r.flags, len: r.payload.len(), mptcp });
        }
    }
    segs
}

/// A server segment to the client's first subflow.
fn from_server(c: &mut MpConn, now: Instant, flags: TcpFlags, seq: u32, opts: &[u8], data: &[u8]) {
    let ack = c.subflows[0].tcp.snd_nxt();
    let mut area = opts.to_vec();
    area.resize(opts.len().next_multiple_of(4), 0);
    let repr = TcpRepr {
        src_port: 5201,
        dst_port: 61000,
        seq_number: TcpSeqNumber(seq),
        ack_number: ack,
        flags,
        window_len: 65535,
        urgent_pointer: 0,
        options: TcpOptions::new(&area),
        payload: data,
    };
    c.handle_segment(0, now, &repr);
}

/// A connection through its handshake with a v1 (or v0) server answering `synack_option`.
fn handshake(
    generation: Generation,
    habits: Habits,
    synack_option: &[u8],
) -> (MpConn, Vec<Seg>, Vec<Seg>) {
    let now = Instant::from_secs(1);
    let mut c = MpConn::connect(
        shared(
            generation,
            Some(
                super::super::ios::VersionCache::new(generation)
                    .choose(addr("10.9.0.2:1").ip(), now),
            ),
            habits,
        ),
        Arc::new(Config::default()),
        0,
        addr("10.1.0.2:61000"),
        addr("10.9.0.2:5201"),
        now,
    );
    let syn = out(&mut c, now);
    let mut opts = vec![2, 4, 0x05, 0xb4];
    opts.extend_from_slice(synack_option);
    from_server(&mut c, now, TcpFlags::SYN | TcpFlags::ACK, SERVER_ISS, &opts, &[]);
    let third = out(&mut c, now);
    (c, syn, third)
}

fn v1_synack() -> Vec<u8> {
    let mut o = vec![30, 12, 0x01, 0x01];
    o.extend_from_slice(&KEY_B.to_be_bytes());
    o
}

#[test]
fn ios16_v1_handshake_repeats_capable_until_its_first_byte() {
    let (mut c, syn, third) = handshake(Generation::Ios16, Habits::default(), &v1_synack());
    let a = c.shared.key_a;
    assert_eq!(syn[0].flags, TcpFlags::SYN);
    assert_eq!(syn[0].mptcp, vec![options::capable_syn(Version::V1, a)]);
    assert_eq!(syn[0].mptcp[0], vec![0x1e, 0x04, 0x01, 0x01]);
    assert_eq!((third.len(), third[0].flags, third[0].len), (1, TcpFlags::ACK, 0));
    assert_eq!(third[0].mptcp, vec![options::capable_keys(Version::V1, a, KEY_B)]);
    assert_eq!(c.record.version, Some(Version::V1));
    // The server speaks first: iOS's ACKs of its data repeat MP_CAPABLE, no DSS.
    let now = Instant::from_secs(2);
    let mapping = options::dss(
        keys::idsn(Version::V1, a) + 1,
        Some(Mapping { dsn: keys::idsn(Version::V1, KEY_B) + 1, ssn: 1, len: 100, fin: false }),
        None,
    );
    from_server(&mut c, now, TcpFlags::ACK | TcpFlags::PSH, SERVER_ISS + 1, &mapping, &[7; 100]);
    c.handle_timeout(now + Duration::from_millis(200));
    let acks = out(&mut c, now + Duration::from_millis(200));
    assert!(!acks.is_empty());
    assert!(
        acks.iter().all(|s| s.mptcp == vec![options::capable_keys(Version::V1, a, KEY_B)]),
        "{acks:?}"
    );
    assert_eq!(c.data.readable.len(), 100);
    // First data: MP_CAPABLE with the data-level length (22 bytes), DSN = IDSN+1 implied.
    c.data.write(&[1; 40]);
    let data = out(&mut c, now + Duration::from_millis(300));
    assert_eq!(data[0].len, 40);
    assert_eq!(data[0].mptcp, vec![options::capable_data(a, KEY_B, 40, None)]);
}

#[test]
fn habits_switched_off_give_plain_rfc8684_options() {
    let habits = Habits { repeat_capable: false, capable_data: false, ..Habits::default() };
    let (mut c, _, third) = handshake(Generation::Ios18, habits, &v1_synack());
    let a = c.shared.key_a;
    assert_eq!(third[0].mptcp, vec![options::capable_keys(Version::V1, a, KEY_B)]);
    c.data.write(&[1; 40]);
    let now = Instant::from_secs(2);
    let data = out(&mut c, now);
    let idsn_b = keys::idsn(Version::V1, KEY_B);
    let m = Mapping { dsn: keys::idsn(Version::V1, a) + 1, ssn: 1, len: 40, fin: false };
    assert_eq!(data[0].mptcp, vec![options::dss(idsn_b + 1, Some(m), None)]);
}

#[test]
fn v0_third_ack_once_then_dss() {
    let mut synack = vec![30, 12, 0x00, 0x01];
    synack.extend_from_slice(&KEY_B.to_be_bytes());
    let (mut c, syn, third) = handshake(Generation::Ios13, Habits::default(), &synack);
    let a = c.shared.key_a;
    let mut want_syn = vec![0x1e, 0x0c, 0x00, 0x01];
    want_syn.extend_from_slice(&a.to_be_bytes());
    assert_eq!(syn[0].mptcp, vec![want_syn]);
    assert_eq!(third[0].mptcp, vec![options::capable_keys(Version::V0, a, KEY_B)]);
    assert_eq!(c.record.version, Some(Version::V0));
    // The data that follows carries a v0 DSS with SHA-1 IDSNs; the keys are not sent again.
    c.data.write(&[1; 10]);
    let data = out(&mut c, Instant::from_secs(2));
    let m = Mapping { dsn: keys::idsn(Version::V0, a) + 1, ssn: 1, len: 10, fin: false };
    let ack = keys::idsn(Version::V0, KEY_B) + 1;
    assert_eq!(data[0].mptcp, vec![options::dss(ack, Some(m), None)]);
    assert_eq!(&data[0].mptcp[0][..4], &[0x1e, 0x12, 0x20, 0x05]);
}

#[test]
fn no_capable_in_synack_falls_back_and_sends_no_option() {
    let (mut c, _, third) = handshake(Generation::Ios16, Habits::default(), &[]);
    assert_eq!(c.record.fallback, Some(Fallback::NoCapableInSynAck));
    assert!(third.iter().all(|s| s.mptcp.is_empty()));
    c.data.write(&[1; 10]);
    assert!(out(&mut c, Instant::from_secs(2)).iter().all(|s| s.mptcp.is_empty()));
}

#[test]
fn v0_synack_to_a_v1_syn_is_a_fallback() {
    let mut synack = vec![30, 12, 0x00, 0x01];
    synack.extend_from_slice(&KEY_B.to_be_bytes());
    let (c, _, _) = handshake(Generation::Ios16, Habits::default(), &synack);
    assert_eq!(c.record.fallback, Some(Fallback::VersionMismatch));
}

#[test]
fn c_flag_is_plain_tcp_for_ios11_only() {
    let mut synack = vec![30, 12, 0x00, 0x21];
    synack.extend_from_slice(&KEY_B.to_be_bytes());
    let (c, _, _) = handshake(Generation::Ios11, Habits::default(), &synack);
    assert_eq!(c.record.fallback, Some(Fallback::CFlag));
    let (c, _, _) = handshake(Generation::Ios13, Habits::default(), &synack);
    assert_eq!(c.record.fallback, None);
}

#[test]
fn mp_capable_syns_stop_after_the_generations_count() {
    for (generation, count) in [(Generation::Ios11, 3), (Generation::Ios16, 5)] {
        let mut now = Instant::from_secs(1);
        let mut c = MpConn::connect(
            shared(generation, Some(Version::V0), Habits::default()),
            Arc::new(Config::default()),
            0,
            addr("10.1.0.2:61000"),
            addr("10.9.0.2:5201"),
            now,
        );
        let mut with_option = 0;
        let mut without = 0;
        for _ in 0..7 {
            for s in out(&mut c, now) {
                if s.mptcp.is_empty() { without += 1 } else { with_option += 1 }
            }
            now = c.poll_timeout().unwrap_or(now);
            c.handle_timeout(now);
        }
        assert_eq!(with_option, count, "{generation:?}");
        assert!(without > 0, "{generation:?}: the later SYNs go without the option");
    }
}

/// A connection up on v1 with server data seen (so the server is fully established), and a
/// cellular join whose SYN/ACK carried the right HMAC.
fn joined(habits: Habits) -> (MpConn, Instant) {
    let (mut c, _, _) = handshake(Generation::Ios16, habits, &v1_synack());
    let now = Instant::from_secs(2);
    c.join(1, addr("10.2.0.2:61001"), true, now);
    let syn = out(&mut c, now);
    let join_syn = syn.iter().find(|s| s.flags == TcpFlags::SYN).expect("a join SYN");
    let token = keys::token(Version::V1, KEY_B);
    let nonce_a = u32::from_be_bytes(join_syn.mptcp[0][8..12].try_into().expect("4 bytes"));
    assert_eq!(
        join_syn.mptcp[0][..4],
        [0x1e, 0x0c, 0x11, 0x03],
        "MP_JOIN, B=1, address id 3 (docs/ios-emulation.md §4 rule 7)"
    );
    assert_eq!(join_syn.mptcp[0][4..8], token.to_be_bytes());
    let nonce_b = 0x0102_0304;
    let mac = keys::join_hmac(Version::V1, KEY_B, c.shared.key_a, nonce_b, nonce_a);
    let mut synack = vec![2, 4, 0x05, 0xb4, 30, 16, 0x10, 0x00];
    synack.extend_from_slice(&mac[..8]);
    synack.extend_from_slice(&nonce_b.to_be_bytes());
    synack.resize(synack.len().next_multiple_of(4), 0);
    let repr = TcpRepr {
        src_port: 5201,
        dst_port: 61001,
        seq_number: TcpSeqNumber(9000),
        ack_number: c.subflows[1].tcp.snd_nxt(),
        flags: TcpFlags::SYN | TcpFlags::ACK,
        window_len: 65535,
        urgent_pointer: 0,
        options: TcpOptions::new(&synack),
        payload: &[],
    };
    c.handle_segment(1, now, &repr);
    assert_eq!(c.record.joins, 1, "the server's HMAC verifies");
    (c, now)
}

#[test]
fn join_third_ack_is_repeated_every_500ms_twelve_times_without_the_fourth_ack() {
    let (mut c, mut now) = joined(Habits::default());
    let mac = keys::join_hmac(
        Version::V1,
        c.shared.key_a,
        KEY_B,
        c.subflows[1].mp.join.expect("a join").nonce,
        0x0102_0304,
    );
    let want = options::join_ack(&mac);
    let mut third_acks =
        out(&mut c, now).into_iter().filter(|s| s.mptcp == vec![want.clone()]).count();
    for _ in 0..20 {
        now += super::JOIN_ACK_INTERVAL;
        c.handle_timeout(now);
        third_acks +=
            out(&mut c, now).into_iter().filter(|s| s.mptcp == vec![want.clone()]).count();
    }
    assert_eq!(third_acks, 1 + super::JOIN_ACK_REPEATS as usize);
    assert_eq!(c.record.join_ack_repeats, super::JOIN_ACK_REPEATS);
}

#[test]
fn join_third_ack_once_when_the_habit_is_off() {
    let habits = Habits { join_ack_retx: false, ..Habits::default() };
    let (mut c, mut now) = joined(habits);
    let mut sent = out(&mut c, now).len();
    for _ in 0..4 {
        now += super::JOIN_ACK_INTERVAL;
        c.handle_timeout(now);
        sent += out(&mut c, now)
            .iter()
            .filter(|s| s.mptcp.first().is_some_and(|o| o[2] == 0x10))
            .count();
    }
    assert_eq!(sent, 1);
    assert_eq!(c.record.join_ack_repeats, 0);
}

/// A v1 connection that has exchanged data, then the server resets its only subflow; with
/// `fastclose`, an MP_FASTCLOSE on a pure ACK comes first.
fn reset_by_server(fastclose_on: Option<TcpFlags>) -> MpConn {
    let (mut c, _, _) = handshake(Generation::Ios16, Habits::default(), &v1_synack());
    let now = Instant::from_secs(2);
    c.data.write(&[1; 10]);
    out(&mut c, now);
    let seq = SERVER_ISS + 1;
    if let Some(flags) = fastclose_on {
        let mut o = vec![30, 12, 0x70, 0x00];
        o.extend_from_slice(&c.shared.key_a.to_be_bytes());
        from_server(&mut c, now, flags, seq, &o, &[]);
    }
    from_server(&mut c, now, TcpFlags::RST, seq, &[], &[]);
    c
}

#[test]
fn subflows_reset_without_fastclose_is_a_hang() {
    let c = reset_by_server(None);
    assert_eq!((c.record.subflow_resets, c.record.fastclose, c.record.hung), (1, false, true));
}

#[test]
fn fastclose_counts_only_on_a_pure_ack() {
    let c = reset_by_server(Some(TcpFlags::ACK));
    assert_eq!((c.record.fastclose, c.record.hung), (true, false));
    // docs/ios-emulation.md §4 rule 4: on a RST, iOS ignores MP_FASTCLOSE.
    let c = reset_by_server(Some(TcpFlags::RST | TcpFlags::ACK));
    assert_eq!((c.record.fastclose, c.record.hung), (false, true));
}

/// The server's data segment acknowledging the phone's 10 bytes, its DSS with a 64-bit DSN
/// and the DATA_ACK 64 bits (`wide_ack`) or 32: the phone's `snd_una` after it.
fn data_ack_beside_a_64_bit_dsn(wide_ack: bool) -> (u64, u64) {
    let (mut c, _, _) = handshake(Generation::Ios16, Habits::default(), &v1_synack());
    let now = Instant::from_secs(2);
    c.data.write(&[1; 10]);
    out(&mut c, now);
    let (first, ack) = (c.data.snd_una, c.data.snd_una + 10);
    // RFC 8684 §3.3: flags M and m (64-bit DSN), A and, when wide, a.
    let (flags, len) = if wide_ack { (0x0f, 26) } else { (0x0d, 22) };
    let mut o = vec![30, len, 0x20, flags];
    if wide_ack {
        o.extend_from_slice(&ack.to_be_bytes());
    } else {
        o.extend_from_slice(&(ack as u32).to_be_bytes());
    }
    o.extend_from_slice(&c.shared.idsn_b.wrapping_add(1).to_be_bytes());
    o.extend_from_slice(&1u32.to_be_bytes());
    o.extend_from_slice(&5u16.to_be_bytes());
    from_server(&mut c, now, TcpFlags::ACK, SERVER_ISS + 1, &o, &[7; 5]);
    (first, c.data.snd_una)
}

/// docs/ios-emulation.md §4 rule 6: xnu reads the DATA_ACK of a DSS with a 64-bit DSN and a
/// 64-bit DATA_ACK from the DSN field, finds it out of range and ignores it; the same DATA_ACK
/// in 32 bits beside the same DSN acknowledges the data.
#[test]
fn a_64_bit_data_ack_beside_a_64_bit_dsn_is_misread_as_xnu_does() {
    let (first, una) = data_ack_beside_a_64_bit_dsn(true);
    assert_eq!(una, first, "ignored");
    let (first, una) = data_ack_beside_a_64_bit_dsn(false);
    assert_eq!(una, first + 10);
}
