//! The observer over synthetic traces: a complete v1 connection whose checks all pass, the
//! same with one fault each, fallbacks, v0, resets, limits, counters, the report, and
//! arbitrary bytes.

mod scenario;
mod trace;

use core::net::{IpAddr, Ipv6Addr, SocketAddr};

use proptest::prelude::*;
use scenario::*;
use trace::{Dir, Flow, Trace};

use netreaktor_pipeline::mptcp::crypto::{HashAlgo, KeyMaterial, token};
use netreaktor_pipeline::wire::Error;
use netreaktor_pipeline::wire::frame::FrameError;
use netreaktor_pipeline::wire::mptcp::{
    DssMapping, MpCapable, MpCapableFlags, MpFastclose, MpJoin, MpTcpRst, MpTcpRstReason,
    MptcpOption, MptcpSubtype, MptcpVersion,
};
use netreaktor_pipeline::wire::tcp::TcpFlags;

use super::mapping::{MAX_RANGES, MapRange, MappingLog};
use super::*;

fn only(observer: &Observer) -> &ObservedConnection {
    assert_eq!(observer.connections().len(), 1, "{:?}", observer.connections());
    &observer.connections()[0]
}

/// Every check kind but `failing` passes (or is not applicable), and `failing` fails.
fn assert_only_failure(conn: &ObservedConnection, failing: CheckKind) {
    for kind in CheckKind::ALL {
        let want = match kind {
            k if k == failing => Outcome::Fail,
            CheckKind::FastcloseKey => Outcome::NotSeen,
            _ => Outcome::Pass,
        };
        assert_eq!(conn.verdict(kind), want, "{kind}\n{conn}");
    }
}

#[test]
fn complete_v1_connection_passes_every_check() {
    let observer = v1_trace(Faults::default()).observe();
    let conn = only(&observer);
    for kind in CheckKind::ALL {
        let want = if kind == CheckKind::FastcloseKey { Outcome::NotSeen } else { Outcome::Pass };
        assert_eq!(conn.verdict(kind), want, "{kind}\n{conn}");
    }
    assert!(conn.checks().iter().all(|c| c.outcome == Outcome::Pass), "{:?}", conn.checks());
    assert_eq!(conn.check_count(CheckKind::MappingConsistency, Outcome::Pass), 5);
    assert_eq!(conn.version(), MptcpVersion::V1);
    assert_eq!((conn.initiator(), conn.listener()), (client_wifi(), server()));
    let (kc, ks) = keys(HashAlgo::Sha256);
    assert_eq!(conn.key(Side::Initiator), Some(CLIENT_KEY));
    assert_eq!(conn.token(Side::Initiator), Some(kc.token()));
    assert_eq!(conn.token(Side::Listener), Some(ks.token()));
    assert_eq!(conn.idsn(Side::Listener), Some(ks.idsn()));
    assert_eq!(conn.fallback(), None);
    assert!(conn.is_established() && conn.is_confirmed());
    let stats = observer.stats();
    assert_eq!((stats.frames, stats.tcp_frames, stats.parse_errors()), (24, 24, 0));
    assert_eq!((stats.malformed_total(), stats.frames_without_syn), (0, 0));
    assert_eq!(stats.mptcp_connections, 1);
}

#[test]
fn v1_connection_subflows_traffic_and_events() {
    let trace = v1_trace(Faults::default());
    let observer = trace.observe();
    let conn = only(&observer);
    let [initial, joined] = conn.subflows() else { panic!("two subflows: {conn}") };
    assert_eq!((initial.src(), initial.dst()), (client_wifi(), server()));
    assert_eq!(joined.kind(), SubflowKind::Join { token: conn.token(Side::Listener).unwrap() });
    assert_eq!(joined.addr(Side::Initiator), client_cell());
    assert_eq!(
        (joined.addr_id(Side::Initiator), joined.addr_id(Side::Listener)),
        (Some(2), Some(0))
    );
    assert_eq!((initial.bytes(Side::Initiator), initial.bytes(Side::Listener)), (100, 200));
    assert_eq!((joined.bytes(Side::Initiator), joined.bytes(Side::Listener)), (300, 50));
    assert_eq!(joined.retransmitted(Side::Initiator), 300);
    assert!(initial.last_data_any() < joined.first_data_any(), "traffic moved to the join");
    assert_eq!(initial.state(), SubflowState::Closed);
    assert_eq!(joined.state(), SubflowState::Closed);
    // The B bit of the join SYN, cleared by the client's MP_PRIO.
    assert!(!joined.backup(Side::Initiator) && !joined.is_backup());
    let kinds: Vec<_> = conn.events().iter().map(|e| (e.subflow, e.from, e.kind.clone())).collect();
    let (kc, ks) = keys(HashAlgo::Sha256);
    let expected = vec![
        (0, Side::Initiator, EventKind::Established),
        (1, Side::Initiator, EventKind::SubflowJoined { backup: true, addr_id: 2 }),
        (0, Side::Listener, add_addr_event(false, HmacStatus::Verified)),
        (0, Side::Initiator, add_addr_event(true, HmacStatus::Absent)),
        (1, Side::Initiator, EventKind::MpPrio { backup: false, addr_id: None }),
        (0, Side::Listener, EventKind::RemoveAddr { addr_ids: vec![4] }),
        (0, Side::Initiator, EventKind::DataFin { dsn: Some(kc.idsn().wrapping_add(401)) }),
        (0, Side::Listener, EventKind::DataFin { dsn: Some(ks.idsn().wrapping_add(251)) }),
    ];
    assert_eq!(kinds, expected);
    let times: Vec<_> = conn.events().iter().map(|e| e.at).collect();
    assert!(times.is_sorted());
}

fn add_addr_event(echo: bool, hmac: HmacStatus) -> EventKind {
    EventKind::AddAddr { addr_id: 4, addr: announced(), port: Some(5004), echo, hmac }
}

#[test]
fn corrupted_join_syn_ack_hmac_fails() {
    let faults = Faults { join_syn_ack_hmac: true, ..Faults::default() };
    assert_only_failure(only(&v1_trace(faults).observe()), CheckKind::JoinSynAckHmac);
}

#[test]
fn corrupted_join_ack_hmac_fails() {
    let faults = Faults { join_ack_hmac: true, ..Faults::default() };
    assert_only_failure(only(&v1_trace(faults).observe()), CheckKind::JoinAckHmac);
}

#[test]
fn wrong_add_addr_hmac_fails() {
    let faults = Faults { add_addr_hmac: true, ..Faults::default() };
    let observer = v1_trace(faults).observe();
    let conn = only(&observer);
    assert_only_failure(conn, CheckKind::AddAddrHmac);
    assert!(conn.events().iter().any(|e| e.kind == add_addr_event(false, HmacStatus::Mismatch)));
}

#[test]
fn wrong_idsn_fails() {
    let faults = Faults { idsn: true, ..Faults::default() };
    let observer = v1_trace(faults).observe();
    let conn = only(&observer);
    assert_only_failure(conn, CheckKind::Idsn);
    let failed = conn.checks().iter().find(|c| c.outcome == Outcome::Fail).unwrap();
    let expected = conn.idsn(Side::Initiator).unwrap().wrapping_add(1);
    let got = expected.wrapping_add(6);
    assert_eq!(failed.detail, Some(CheckDetail::Sequence { expected, got }));
    assert_eq!((failed.subflow, failed.from), (0, Side::Initiator));
}

#[test]
fn first_data_ack_below_the_peer_idsn_fails() {
    let faults = Faults { data_ack: true, ..Faults::default() };
    assert_only_failure(only(&v1_trace(faults).observe()), CheckKind::DataAckIdsn);
}

#[test]
fn conflicting_mappings_fail() {
    let faults = Faults { mapping_conflict: true, ..Faults::default() };
    let observer = v1_trace(faults).observe();
    let conn = only(&observer);
    assert_only_failure(conn, CheckKind::MappingConsistency);
    let conflict = conn.checks().iter().find(|c| c.outcome == Outcome::Fail).unwrap();
    let c0 = conn.idsn(Side::Initiator).unwrap().wrapping_add(1);
    let detail = CheckDetail::MappingConflict {
        subflow_seq: 1,
        earlier_dsn: c0.wrapping_add(100),
        dsn: c0.wrapping_add(5_000),
    };
    assert_eq!((conflict.subflow, conflict.detail), (1, Some(detail)));
}

#[test]
fn wrong_key_echo_fails() {
    let faults = Faults { key_echo: true, ..Faults::default() };
    let observer = v1_trace(faults).observe();
    assert_eq!(only(&observer).verdict(CheckKind::KeyEcho), Outcome::Fail);
}

#[test]
fn join_with_unknown_token_is_reported() {
    let mut t = Trace::new();
    let mut f0 = handshake(&mut t, MptcpVersion::V1, false);
    let f1 = join(&mut t, HashAlgo::Sha256, Faults::default(), 0xdead_beef);
    let rst = MpTcpRst::new(MpTcpRstReason::MPTCP_SPECIFIC, false);
    t.resend(&f1, Dir::Rev, 0, TcpFlags::RST, &[MptcpOption::MpTcpRst(rst)], b"");
    t.send(&mut f0, Dir::Fwd, ACK, &[], b"");
    let observer = t.observe();
    let conn = only(&observer);
    assert_eq!(conn.subflows().len(), 1);
    assert_eq!(conn.verdict(CheckKind::JoinToken), Outcome::NotSeen);
    let [unknown] = observer.unknown_joins() else { panic!("one unknown join") };
    assert_eq!((unknown.src, unknown.dst, unknown.token), (client_cell(), server(), 0xdead_beef));
    assert_eq!((unknown.addr_id, unknown.backup), (2, true));
    let stats = observer.stats();
    assert_eq!((stats.unknown_token_joins, stats.frames_without_syn), (1, 0));
    assert!(unknown.to_string().contains("unknown token 0xdeadbeef"));
}

#[test]
fn syn_ack_without_mp_capable_is_a_fallback() {
    let mut t = Trace::new();
    let mut f0 = Flow::new(client_wifi(), server(), 1, 2);
    let syn = MpCapable::syn(MptcpVersion::V1, MpCapableFlags::HMAC_SHA, 0);
    t.send(&mut f0, Dir::Fwd, SYN, &[MptcpOption::MpCapable(syn)], b"");
    t.send(&mut f0, Dir::Rev, synack(), &[], b"");
    t.send(&mut f0, Dir::Fwd, ACK, &[], b"");
    t.send(&mut f0, Dir::Fwd, ACK, &[], &[0; 500]);
    t.send(&mut f0, Dir::Rev, ACK, &[], &[0; 700]);
    let observer = t.observe();
    let conn = only(&observer);
    assert_eq!(conn.fallback(), Some(Fallback::SynAckWithoutMpCapable));
    assert!(conn.checks().is_empty());
    assert_eq!(conn.token(Side::Listener), None);
    let [initial] = conn.subflows() else { panic!("one subflow") };
    assert_eq!((initial.bytes(Side::Initiator), initial.bytes(Side::Listener)), (500, 700));
    let fell_back = EventKind::FellBack(Fallback::SynAckWithoutMpCapable);
    assert_eq!(conn.events().iter().map(|e| e.kind.clone()).collect::<Vec<_>>(), [fell_back]);
    assert!(conn.to_string().contains("fell back to TCP: SYN/ACK without MP_CAPABLE"));
}

#[test]
fn data_without_dss_is_a_fallback() {
    let mut t = Trace::new();
    let mut f0 = handshake(&mut t, MptcpVersion::V1, false);
    t.send(&mut f0, Dir::Fwd, ACK, &[], &[0; 10]);
    let conn_fallback = only(&t.observe()).fallback();
    assert_eq!(conn_fallback, Some(Fallback::FirstDataWithoutDss(Side::Initiator)));
}

#[test]
fn infinite_mapping_is_a_fallback_and_mp_fail_an_event() {
    let mut t = Trace::new();
    let mut f0 = handshake(&mut t, MptcpVersion::V1, false);
    let (kc, ks) = keys(HashAlgo::Sha256);
    let c0 = kc.idsn().wrapping_add(1);
    let map = DssMapping::new(c0, true, 1, 10);
    t.send(&mut f0, Dir::Fwd, ACK, &[dss(None, Some(map), false)], &[0; 10]);
    let fail = netreaktor_pipeline::wire::mptcp::MpFail { dsn: c0 };
    let ack = dss(Some((c0, true)), None, false);
    t.send(&mut f0, Dir::Rev, ACK, &[MptcpOption::MpFail(fail), ack], b"");
    let infinite = DssMapping::new(c0, true, 1, 0);
    t.send(
        &mut f0,
        Dir::Fwd,
        ACK,
        &[dss(Some((ks.idsn().wrapping_add(1), true)), Some(infinite), false)],
        &[0; 10],
    );
    t.send(&mut f0, Dir::Fwd, ACK, &[], &[0; 10]);
    let observer = t.observe();
    let conn = only(&observer);
    assert_eq!(conn.fallback(), Some(Fallback::InfiniteMapping(Side::Initiator)));
    assert!(conn.events().iter().any(|e| e.kind == EventKind::MpFail { dsn: c0 }));
    assert_eq!(conn.verdict(CheckKind::Idsn), Outcome::Pass);
}

#[test]
fn handshake_without_server_dss_is_not_confirmed() {
    let mut t = Trace::new();
    let mut f0 = handshake(&mut t, MptcpVersion::V1, false);
    t.send(&mut f0, Dir::Rev, ACK, &[], b"");
    let observer = t.observe();
    assert_eq!(only(&observer).fallback(), Some(Fallback::NotConfirmed));
}

#[test]
fn v0_connection_uses_sha1() {
    let observer = v0_trace().observe();
    let conn = only(&observer);
    assert_eq!(conn.version(), MptcpVersion::V0);
    assert_eq!(conn.token(Side::Listener), Some(token(SERVER_KEY, HashAlgo::Sha1)));
    assert_eq!(
        conn.idsn(Side::Initiator),
        Some(KeyMaterial::new(CLIENT_KEY, HashAlgo::Sha1).idsn())
    );
    for kind in CheckKind::ALL {
        let want = match kind {
            CheckKind::AddAddrHmac | CheckKind::FastcloseKey => Outcome::NotSeen,
            _ => Outcome::Pass,
        };
        assert_eq!(conn.verdict(kind), want, "{kind}\n{conn}");
    }
    let add = EventKind::AddAddr {
        addr_id: 4,
        addr: announced(),
        port: None,
        echo: false,
        hmac: HmacStatus::Absent,
    };
    assert!(conn.events().iter().any(|e| e.kind == add));
    assert_eq!(conn.subflows()[1].state(), SubflowState::Closed);
}

#[test]
fn mp_capable_with_data_is_the_first_mapping() {
    let mut t = Trace::new();
    let mut f0 = handshake(&mut t, MptcpVersion::V1, false);
    let (kc, ks) = keys(HashAlgo::Sha256);
    let flags = MpCapableFlags::HMAC_SHA;
    let mpc = MpCapable::ack_with_data(flags, CLIENT_KEY, SERVER_KEY, 20, None);
    t.send(&mut f0, Dir::Fwd, ACK, &[MptcpOption::MpCapable(mpc)], &[0; 20]);
    let c0 = kc.idsn().wrapping_add(1);
    let ack = dss(Some((c0.wrapping_add(20), true)), None, false);
    t.send(&mut f0, Dir::Rev, ACK, &[ack], b"");
    let map = DssMapping::new(c0.wrapping_add(20), true, 21, 30);
    let opts = [dss(Some((ks.idsn().wrapping_add(1), true)), Some(map), false)];
    t.send(&mut f0, Dir::Fwd, ACK, &opts, &[0; 30]);
    let observer = t.observe();
    let conn = only(&observer);
    assert_eq!(conn.fallback(), None);
    assert_eq!(conn.verdict(CheckKind::Idsn), Outcome::Pass);
    assert_eq!(conn.verdict(CheckKind::MappingConsistency), Outcome::Pass);
    assert_eq!(conn.check_count(CheckKind::MappingConsistency, Outcome::Pass), 2);
    assert_eq!(conn.check_count(CheckKind::KeyEcho, Outcome::Pass), 1);
}

#[test]
fn fastclose_key_is_checked_against_the_receiver_key() {
    for (key, outcome) in [(SERVER_KEY, Outcome::Pass), (CLIENT_KEY, Outcome::Fail)] {
        let mut t = Trace::new();
        let mut f0 = handshake(&mut t, MptcpVersion::V1, false);
        let close = MptcpOption::MpFastclose(MpFastclose { receiver_key: key });
        let rst = MptcpOption::MpTcpRst(MpTcpRst::new(MpTcpRstReason::UNSPECIFIED, false));
        t.send(&mut f0, Dir::Fwd, TcpFlags::RST, &[close, rst], b"");
        let observer = t.observe();
        let conn = only(&observer);
        assert_eq!(conn.verdict(CheckKind::FastcloseKey), outcome);
        let events: Vec<_> = conn.events().iter().map(|e| e.kind.clone()).collect();
        let key_ok = Some(outcome == Outcome::Pass);
        let tcprst = Some(MpTcpRst::new(MpTcpRstReason::UNSPECIFIED, false));
        let want =
            [EventKind::Established, EventKind::Fastclose { key_ok }, EventKind::Reset { tcprst }];
        assert_eq!(events, want);
        assert_eq!(conn.subflows()[0].state(), SubflowState::Reset);
    }
}

#[test]
fn join_reset_before_fourth_ack_is_refused_with_its_reason() {
    let mut t = Trace::new();
    let mut f0 = handshake(&mut t, MptcpVersion::V1, false);
    let s0 = keys(HashAlgo::Sha256).1.idsn().wrapping_add(1);
    t.send(&mut f0, Dir::Rev, ACK, &[dss(Some((s0, true)), None, false)], b"");
    let token = keys(HashAlgo::Sha256).1.token();
    let mut f1 = join(&mut t, HashAlgo::Sha256, Faults::default(), token);
    let rst = MpTcpRst::new(MpTcpRstReason::LACK_OF_RESOURCES, true);
    t.send(&mut f1, Dir::Rev, TcpFlags::RST, &[MptcpOption::MpTcpRst(rst)], b"");
    let observer = t.observe();
    let conn = only(&observer);
    let joined = &conn.subflows()[1];
    assert_eq!(joined.state(), SubflowState::Refused);
    let last = conn.events().last().unwrap();
    assert_eq!((last.subflow, last.from), (1, Side::Listener));
    assert_eq!(last.kind, EventKind::JoinRefused { tcprst: Some(rst) });
    assert!(
        last.to_string().contains("join refused with MP_TCPRST: lack of resources (transient)")
    );
    assert_eq!(conn.verdict(CheckKind::JoinAckHmac), Outcome::Pass);
}

#[test]
fn join_answered_without_mp_join_is_refused() {
    let mut t = Trace::new();
    let _f0 = handshake(&mut t, MptcpVersion::V1, false);
    let token = keys(HashAlgo::Sha256).1.token();
    let mut f1 = Flow::new(client_cell(), server(), 1, 2);
    let syn = MpJoin::Syn { backup: false, addr_id: 3, token, nonce: 9 };
    t.send(&mut f1, Dir::Fwd, SYN, &[MptcpOption::MpJoin(syn)], b"");
    t.send(&mut f1, Dir::Rev, synack(), &[], b"");
    let observer = t.observe();
    let conn = only(&observer);
    assert_eq!(conn.subflows()[1].state(), SubflowState::Refused);
    assert_eq!(conn.events().last().unwrap().kind, EventKind::JoinRefused { tcprst: None });
}

#[test]
fn ipv6_connection_is_followed() {
    let v6 = |n: u16, port| {
        SocketAddr::new(IpAddr::V6(Ipv6Addr::new(0xfd00, n, 0, 0, 0, 0, 0, 1)), port)
    };
    let mut t = Trace::new();
    let mut f0 = Flow::new(v6(1, 40_000), v6(3, 443), 10, 20);
    let flags = MpCapableFlags::HMAC_SHA.with(MpCapableFlags::CHECKSUM_REQUIRED);
    let syn = MpCapable::syn(MptcpVersion::V1, flags, 0);
    t.send(&mut f0, Dir::Fwd, SYN, &[MptcpOption::MpCapable(syn)], b"");
    let syn_ack = MpCapable::syn_ack(MptcpVersion::V1, flags, SERVER_KEY);
    t.send(&mut f0, Dir::Rev, synack(), &[MptcpOption::MpCapable(syn_ack)], b"");
    let third = MpCapable::ack(MptcpVersion::V1, flags, CLIENT_KEY, SERVER_KEY);
    t.send(&mut f0, Dir::Fwd, ACK, &[MptcpOption::MpCapable(third)], b"");
    let c0 = keys(HashAlgo::Sha256).0.idsn().wrapping_add(1);
    let map = DssMapping::new(c0, true, 1, 5).with_checksum(0x1234);
    t.send(&mut f0, Dir::Fwd, ACK, &[dss(None, Some(map), false)], b"hello");
    let observer = t.observe();
    let conn = only(&observer);
    assert_eq!(conn.initiator(), v6(1, 40_000));
    assert!(conn.checksums());
    assert_eq!(conn.verdict(CheckKind::Idsn), Outcome::Pass);
    assert_eq!(conn.subflows()[0].bytes(Side::Initiator), 5);
    assert!(conn.to_string().contains("DSS checksums on"));
}

#[test]
fn frames_of_flows_without_syn_and_plain_flows_are_counted() {
    let mut t = Trace::new();
    let mut mid = Flow::new(client_wifi(), server(), 1, 2);
    t.send(&mut mid, Dir::Fwd, ACK, &[dss(Some((1, true)), None, false)], &[0; 3]);
    t.send(&mut mid, Dir::Rev, ACK, &[], b"");
    let mut plain = Flow::new(client_cell(), server(), 1, 2);
    t.send(&mut plain, Dir::Fwd, SYN, &[], b"");
    t.send(&mut plain, Dir::Rev, synack(), &[], b"");
    t.send(&mut plain, Dir::Fwd, ACK, &[], b"");
    let observer = t.observe();
    assert!(observer.connections().is_empty());
    let stats = observer.stats();
    assert_eq!((stats.frames_without_syn, stats.plain_tcp_flows, stats.tcp_frames), (2, 1, 5));
}

#[test]
fn unparsable_frames_and_options_are_counted_by_reason() {
    let mut t = Trace::new();
    t.raw(vec![0; 5]);
    let mut lldp = vec![0x02; 12];
    lldp.extend_from_slice(&[0x88, 0xcc]);
    lldp.extend_from_slice(&[0; 28]);
    t.raw(lldp);
    let mut flow = Flow::new(client_wifi(), server(), 1, 2);
    t.send(&mut flow, Dir::Fwd, SYN, &[], b"");
    let mut frame = t.frames.last().unwrap().1.clone();
    let last = frame.len() - 1;
    frame[last] ^= 0xff; // the TCP checksum no longer verifies
    t.raw(frame);
    // An MP_JOIN of length 13 (no such form) on a plain flow's SYN/ACK.
    let (src, dst) = (server(), client_wifi());
    let bad = trace::tcp_frame_with_options(src, dst, (2, 2), synack(), &[30, 4, 0x10, 0], b"");
    let observer = t.observe_with(ObserverConfig::default());
    let stats = observer.stats();
    assert_eq!(stats.frame_error_count(FrameError::Ethernet(Error::Truncated)), 1);
    assert_eq!(stats.parse_errors(), 1);
    assert_eq!(stats.non_tcp_frames, 1);
    let mut observer = t.observe();
    observer.handle_frame(t.now(), &bad);
    let stats = observer.stats();
    assert_eq!(stats.frame_error_count(FrameError::TcpChecksum), 1);
    assert_eq!(stats.frame_error_count(FrameError::Ipv4(Error::Checksum)), 0);
    assert_eq!(stats.malformed(MptcpSubtype::MpJoin), 1, "{stats:?}");
    assert_eq!(stats.malformed_total(), 1);
}

#[test]
fn connections_beyond_the_limit_are_counted_not_kept() {
    let mut t = Trace::new();
    handshake(&mut t, MptcpVersion::V1, false);
    let mut other = Flow::new(client_cell(), server(), 5, 6);
    let syn = MpCapable::syn(MptcpVersion::V1, MpCapableFlags::HMAC_SHA, 0);
    t.send(&mut other, Dir::Fwd, SYN, &[MptcpOption::MpCapable(syn)], b"");
    t.send(&mut other, Dir::Rev, synack(), &[], b"");
    let config = ObserverConfig { max_connections: 1, ..ObserverConfig::default() };
    let observer = t.observe_with(config);
    assert_eq!(observer.connections().len(), 1);
    assert_eq!((observer.stats().dropped_connections, observer.stats().frames_without_syn), (1, 1));
}

#[test]
fn events_and_checks_beyond_the_limit_are_counted_and_verdicts_stay_exact() {
    let config = ObserverConfig { max_events: 2, max_checks: 1, ..ObserverConfig::default() };
    let observer = v1_trace(Faults { idsn: true, ..Faults::default() }).observe_with(config);
    let conn = only(&observer);
    assert_eq!((conn.events().len(), conn.dropped_events()), (2, 6));
    assert_eq!(conn.checks().len(), 1);
    assert!(conn.dropped_checks() > 0);
    assert_eq!(conn.verdict(CheckKind::Idsn), Outcome::Fail);
}

#[test]
fn a_new_syn_on_a_closed_four_tuple_opens_a_new_connection() {
    let mut t = v1_trace(Faults::default());
    handshake(&mut t, MptcpVersion::V1, false);
    let observer = t.observe();
    assert_eq!(observer.connections().len(), 2);
    assert!(observer.connections()[1].is_established());
}

#[test]
fn report_shows_version_tokens_subflows_and_checks() {
    let observer = v1_trace(Faults { join_ack_hmac: true, ..Faults::default() }).observe();
    let report = only(&observer).to_string();
    let ks = keys(HashAlgo::Sha256).1;
    for needle in [
        "MPTCP v1 10.0.1.1:40000 -> 10.0.3.2:5000",
        &format!("server: token {:#010x}", ks.token()),
        "subflow 0 initial 10.0.1.1:40000 -> 10.0.3.2:5000 (closed): client->server 100 B, server->client 200 B",
        "subflow 1 join 10.0.2.1:40001 -> 10.0.3.2:5000 (closed)",
        "✓ join SYN/ACK HMAC;",
        "✗ join ACK HMAC;",
        "✗ join ACK HMAC at",
    ] {
        assert!(report.contains(needle), "{needle:?} not in\n{report}");
    }
    let event =
        only(&observer).events().iter().find(|e| matches!(e.kind, EventKind::AddAddr { .. }));
    let line = event.unwrap().to_string();
    assert!(line.contains("ADD_ADDR id 4 10.0.4.2 port 5004 (HMAC ✓)"), "{line}");
}

#[test]
fn mapping_log_merges_consecutive_ranges_and_finds_conflicts() {
    let mut log = MappingLog::default();
    let range = |ssn, len, dsn| MapRange { ssn, len, dsn };
    assert_eq!(log.insert(range(1, 100, 1_000)), Ok(()));
    assert_eq!(log.insert(range(101, 50, 1_100)), Ok(()));
    assert_eq!(log.insert(range(1, 100, 1_000)), Ok(()));
    assert_eq!(log.len(), 1);
    let conflict = log.insert(range(120, 10, 9)).unwrap_err();
    assert_eq!((conflict.ssn, conflict.earlier_dsn, conflict.dsn), (120, 1_119, 9));
    let conflict = log.insert(range(0, 10, 5)).unwrap_err();
    assert_eq!((conflict.ssn, conflict.earlier_dsn, conflict.dsn), (1, 1_000, 6));
    // Wrapping subflow sequence numbers.
    let mut log = MappingLog::default();
    assert_eq!(log.insert(range(u32::MAX - 4, 10, 50)), Ok(()));
    assert!(log.insert(range(2, 1, 0)).is_err());
    assert_eq!(log.insert(range(2, 1, 57)), Ok(()));
}

#[test]
fn mapping_log_is_bounded() {
    let mut log = MappingLog::default();
    for i in 0..100u32 {
        let _ = log.insert(MapRange { ssn: i * 10, len: 5, dsn: u64::from(i) * 1_000 });
    }
    assert_eq!(log.len(), MAX_RANGES);
}

proptest! {
    #[test]
    fn arbitrary_frames_never_panic(frames in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..120), 0..20)) {
        let mut observer = Observer::new();
        for (i, frame) in frames.iter().enumerate() {
            observer.handle_frame(Instant::from_micros(i as u64), frame);
        }
        prop_assert_eq!(observer.stats().frames, frames.len() as u64);
    }

    #[test]
    fn mutated_connections_never_panic(
        edits in prop::collection::vec((any::<usize>(), any::<usize>(), 1..=255u8), 1..12),
        cut in prop::option::of((any::<usize>(), any::<usize>())),
        v0 in any::<bool>(),
    ) {
        let trace = if v0 { v0_trace() } else { v1_trace(Faults::default()) };
        let mut frames: Vec<_> = trace.frames.clone();
        let n = frames.len();
        for (which, at, flip) in edits {
            let frame = &mut frames[which % n].1;
            let at = at % frame.len();
            frame[at] ^= flip;
        }
        if let Some((which, at)) = cut {
            let frame = &mut frames[which % n].1;
            frame.truncate(at % (frame.len() + 1));
        }
        let mut observer = Observer::new();
        for (at, frame) in &frames {
            observer.handle_frame(*at, frame);
        }
        for conn in observer.connections() {
            let _ = conn.to_string();
            for event in conn.events() {
                let _ = event.to_string();
            }
        }
    }
}
