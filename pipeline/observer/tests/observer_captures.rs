//! The MPTCP observer over the reference Linux-kernel captures in `pipeline/tests/data/*.pcap`
//! (made by `tests/scripts/make-captures.sh`, described in `pipeline/tests/data/README.md`).
//!
//! Every capture must parse without a frame or option error, every check the observer can
//! make must pass (token, HMACs, IDSNs, mappings, keys), and each scenario must show what it
//! was made for (joins, ADD_ADDR, fallbacks, resets and their reasons, MP_FAIL, MP_PRIO).

#[path = "../../tests/support/mod.rs"]
mod support;

use netreaktor_observer::{
    CheckKind, EventKind, Fallback, HmacStatus, ObservedConnection, Observer, ObserverConfig,
    Outcome, Side, SubflowKind, SubflowState,
};
use netreaktor_pipeline::time::Instant;
use netreaktor_pipeline::wire::frame::ChecksumPolicy;
use netreaktor_pipeline::wire::mptcp::{MpCapableFlags, MpTcpRstReason};
use support::{capture_names, read_pcap};

/// Runs an observer that verifies TCP checksums (the captures have real ones) over the
/// capture `name`.
fn observe(name: &str) -> Observer {
    let config = ObserverConfig { checksums: ChecksumPolicy::Verify, ..Default::default() };
    let mut observer = Observer::with_config(config);
    for frame in read_pcap(name) {
        observer.handle_frame(Instant::from_micros(frame.micros), &frame.data);
    }
    observer
}

fn the_connection<'a>(observer: &'a Observer, name: &str) -> &'a ObservedConnection {
    let [conn] = observer.connections() else {
        panic!("{name}: expected one connection, got {:#?}", observer.connections());
    };
    conn
}

#[test]
fn every_capture_parses_and_passes_every_applicable_check() {
    let names = capture_names();
    assert!(names.len() >= 10, "expected the ten reference captures, found {}", names.len());
    for name in &names {
        let name = name.as_str();
        let observer = observe(name);
        let stats = observer.stats();
        assert_eq!(stats.parse_errors(), 0, "{name}: {stats:?}");
        assert_eq!(stats.malformed_total(), 0, "{name}: {stats:?}");
        assert_eq!(stats.malformed_tcp_options, 0, "{name}: {stats:?}");
        assert_eq!(stats.frames_without_syn, 0, "{name}: {stats:?}");
        assert_eq!(stats.tcp_frames, stats.frames, "{name}: the capture filter is tcp");
        assert!(observer.unknown_joins().is_empty(), "{name}: {:?}", observer.unknown_joins());
        let conn = the_connection(&observer, name);
        let report = conn.to_string();
        for check in conn.checks() {
            assert_eq!(check.outcome, Outcome::Pass, "{name}: {check}\n{report}");
        }
        if conn.fallback() == Some(Fallback::SynAckWithoutMpCapable) {
            continue;
        }
        for kind in [CheckKind::KeyEcho, CheckKind::Idsn, CheckKind::DataAckIdsn] {
            assert_eq!(conn.verdict(kind), Outcome::Pass, "{name}: {kind}\n{report}");
        }
        assert_eq!(conn.verdict(CheckKind::MappingConsistency), Outcome::Pass, "{name}");
        let joins = conn.subflows().iter().filter(|s| s.kind() != SubflowKind::Initial).count();
        let join_kinds = [CheckKind::JoinToken, CheckKind::JoinSynAckHmac, CheckKind::JoinAckHmac];
        for kind in join_kinds {
            assert_eq!(conn.check_count(kind, Outcome::Pass), joins as u64, "{name}: {kind}");
        }
        let announced = add_addrs(conn).filter(|(echo, _)| !echo).count() as u64;
        assert_eq!(conn.check_count(CheckKind::AddAddrHmac, Outcome::Pass), announced, "{name}");
    }
}

/// (echo, HMAC status) of every ADD_ADDR event.
fn add_addrs(conn: &ObservedConnection) -> impl Iterator<Item = (bool, HmacStatus)> + '_ {
    conn.events().iter().filter_map(|event| match event.kind {
        EventKind::AddAddr { echo, hmac, .. } => Some((echo, hmac)),
        _ => None,
    })
}

fn events<'a>(
    conn: &'a ObservedConnection,
    pick: impl Fn(&EventKind) -> bool + 'a,
) -> impl Iterator<Item = &'a netreaktor_observer::Event> + 'a {
    conn.events().iter().filter(move |event| pick(&event.kind))
}

fn data_fins(conn: &ObservedConnection) -> Vec<Side> {
    events(conn, |k| matches!(k, EventKind::DataFin { .. })).map(|e| e.from).collect()
}

fn sent(conn: &ObservedConnection, side: Side) -> u64 {
    conn.subflows().iter().map(|s| s.bytes(side)).sum()
}

#[test]
fn captures_show_their_scenario() {
    for name in &capture_names() {
        let name = name.as_str();
        let observer = observe(name);
        let conn = the_connection(&observer, name);
        match name {
            "v1-ipv4-basic" | "v1-ipv4-checksum" | "v1-ipv6" => full_transfer(name, conn),
            "v1-c-flag" => c_flag(conn),
            "v1-fallback" => fallback(conn),
            "v1-fastclose" => fastclose(conn),
            "v1-join-rejected" => join_rejected(conn),
            "v1-mp-fail-fallback" => mp_fail_fallback(conn),
            "v1-mp-fail-reset" => mp_fail_reset(conn),
            "v1-prio-remove" => prio_remove(conn),
            _ => eprintln!("{name}: no scenario expectations"),
        }
    }
}

/// Join from the cell address, ADD_ADDR and a join to it, 9000 octets up, 25000 down, DATA_FIN
/// both ways, FIN on every subflow.
fn full_transfer(name: &str, conn: &ObservedConnection) {
    let report = conn.to_string();
    assert_eq!(conn.fallback(), None, "{name}\n{report}");
    assert_eq!(conn.checksums(), name == "v1-ipv4-checksum", "{name}");
    assert_eq!(conn.subflows().len(), 3, "{name}\n{report}");
    for subflow in conn.subflows() {
        assert_eq!(subflow.state(), SubflowState::Closed, "{name}\n{report}");
        assert!(subflow.established_at().is_some(), "{name}\n{report}");
    }
    let joined = events(conn, |k| matches!(k, EventKind::SubflowJoined { .. })).count();
    assert_eq!(joined, 2, "{name}\n{report}");
    let adds: Vec<_> = add_addrs(conn).collect();
    assert_eq!(adds, [(false, HmacStatus::Verified), (true, HmacStatus::Absent)], "{name}");
    assert_eq!(data_fins(conn), [Side::Initiator, Side::Listener], "{name}");
    // RFC 8684 §3.3.3: the DATA_FIN takes the DSN after the last data octet: IDSN + 1 + octets.
    for (side, octets) in [(Side::Initiator, 9_000u64), (Side::Listener, 25_000)] {
        let idsn = conn.idsn(side).expect("key seen");
        let fin = events(conn, |k| matches!(k, EventKind::DataFin { .. })).find(|e| e.from == side);
        let dsn = Some(idsn.wrapping_add(1).wrapping_add(octets));
        assert_eq!(fin.map(|e| e.kind.clone()), Some(EventKind::DataFin { dsn }), "{name}");
    }
    // At least: retransmissions are not counted, reinjections on another subflow are.
    assert!(sent(conn, Side::Initiator) >= 9_000 && sent(conn, Side::Listener) >= 25_000);
}

fn c_flag(conn: &ObservedConnection) {
    let flags = conn.flags(Side::Listener).expect("SYN/ACK flags");
    assert!(flags.contains(MpCapableFlags::NO_JOIN_TO_SOURCE), "{flags:?}");
    assert_eq!(conn.subflows().len(), 2, "{conn}");
    assert_eq!(conn.subflows()[1].dst().port(), 5000);
    assert_ne!(conn.subflows()[1].dst(), conn.listener(), "the join goes to the announced address");
}

fn fallback(conn: &ObservedConnection) {
    assert_eq!(conn.fallback(), Some(Fallback::SynAckWithoutMpCapable));
    assert!(conn.checks().is_empty());
    let [only] = conn.subflows() else { panic!("one subflow: {conn}") };
    assert_eq!((only.bytes(Side::Initiator), only.bytes(Side::Listener)), (4_000, 4_000));
}

fn fastclose(conn: &ObservedConnection) {
    assert_eq!(conn.check_count(CheckKind::FastcloseKey, Outcome::Pass), 3, "{conn}");
    assert!(conn.subflows()[1].backup(Side::Initiator), "the cell join has B=1\n{conn}");
    for subflow in conn.subflows() {
        assert_eq!(subflow.state(), SubflowState::Reset, "{conn}");
    }
    let resets = events(
        conn,
        |k| matches!(k, EventKind::Reset { tcprst: Some(r) } if r.reason == MpTcpRstReason::UNSPECIFIED),
    );
    assert_eq!(resets.count(), 3);
}

fn join_rejected(conn: &ObservedConnection) {
    let [_, rejected] = conn.subflows() else { panic!("two subflows: {conn}") };
    assert_eq!(rejected.state(), SubflowState::Refused);
    let refused: Vec<_> = events(conn, |k| matches!(k, EventKind::JoinRefused { .. })).collect();
    let [event] = refused.as_slice() else { panic!("one refusal: {conn}") };
    let EventKind::JoinRefused { tcprst: Some(rst) } = event.kind else { panic!("{event}") };
    assert_eq!(
        (event.from, rst.reason),
        (Side::Listener, MpTcpRstReason::ADMINISTRATIVELY_PROHIBITED)
    );
    assert_eq!(conn.fallback(), None);
    assert_eq!(data_fins(conn), [Side::Initiator, Side::Listener]);
}

fn mp_fail_fallback(conn: &ObservedConnection) {
    assert_eq!(conn.fallback(), Some(Fallback::InfiniteMapping(Side::Initiator)), "{conn}");
    let fails: Vec<_> =
        events(conn, |k| matches!(k, EventKind::MpFail { .. })).map(|e| e.from).collect();
    assert_eq!(fails, [Side::Listener, Side::Initiator]);
}

fn mp_fail_reset(conn: &ObservedConnection) {
    assert_eq!(conn.fallback(), None, "{conn}");
    assert_eq!(conn.subflows()[0].state(), SubflowState::Reset);
    let middlebox = MpTcpRstReason::MIDDLEBOX_INTERFERENCE;
    let reset = events(
        conn,
        |k| matches!(k, EventKind::Reset { tcprst: Some(r) } if r.reason == middlebox),
    );
    assert_eq!(reset.map(|e| (e.subflow, e.from)).collect::<Vec<_>>(), [(0, Side::Listener)]);
    assert_eq!(events(conn, |k| matches!(k, EventKind::MpFail { .. })).count(), 1);
    assert!(conn.subflows()[1].last_data_any() > conn.subflows()[0].closed_at());
}

fn prio_remove(conn: &ObservedConnection) {
    let prios: Vec<_> = events(conn, |k| matches!(k, EventKind::MpPrio { .. }))
        .map(|e| (e.subflow, e.from, e.kind.clone()))
        .collect();
    let prio = |backup| EventKind::MpPrio { backup, addr_id: None };
    let want = [
        (0, Side::Listener, prio(true)),
        (1, Side::Initiator, prio(true)),
        (1, Side::Initiator, prio(false)),
    ];
    assert_eq!(prios, want, "{conn}");
    assert!(conn.subflows()[0].backup(Side::Listener) && !conn.subflows()[1].is_backup());
    let removed: Vec<_> = events(conn, |k| matches!(k, EventKind::RemoveAddr { .. }))
        .map(|e| (e.from, e.kind.clone()))
        .collect();
    let remove = |id| EventKind::RemoveAddr { addr_ids: vec![id] };
    assert_eq!(removed, [(Side::Listener, remove(4)), (Side::Initiator, remove(2))]);
    let port = events(conn, |k| matches!(k, EventKind::AddAddr { port: Some(5004), .. })).count();
    assert_eq!(port, 2, "announcement and echo carry the port");
    assert_eq!(conn.subflows()[2].dst().port(), 5004);
    let cell = &conn.subflows()[1];
    assert!(cell.bytes(Side::Initiator) + cell.bytes(Side::Listener) > 0, "{conn}");
}
