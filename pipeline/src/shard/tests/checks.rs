//! Active health checks (`checks.rs`): a SYN per origin at the interval, from the shard's
//! own ports; silence or a RST counts as a failure and ejects after `failures`; a SYN,ACK
//! is answered with a RST and restores an ejected origin with no client sent as a trial;
//! counters per result; the workers' first checks are spread over one interval.

use std::net::SocketAddr;

use super::super::*;
use super::{Rig, cfg, frame_with, parse};
use crate::proxy::{HealthChange, HealthCheck, HealthConfig};
use crate::time::Duration;
use crate::wire::tcp::TcpSeqNumber;
use crate::wire::tcp_option::{TcpOption, TcpOptions};

const ORIGIN: &str = "10.10.0.2:8080";

fn secs(s: u64) -> Instant {
    Instant::from_secs(s)
}

/// Health on with 2 failures to eject and checks every 2 s waiting 1 s.
fn checked(worker: u16, workers: u16) -> ShardConfig {
    let mut config = cfg(worker, workers);
    config.services[0].health = Some(HealthConfig {
        failures: 2,
        backoff: Duration::from_secs(10),
        max_backoff: Duration::from_secs(60),
        check: Some(HealthCheck {
            interval: Duration::from_secs(2),
            timeout: Duration::from_secs(1),
        }),
    });
    config
}

/// A check's SYN (or other segment) the shard sent toward the origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Sent {
    local: SocketAddr,
    flags: TcpFlags,
    seq: TcpSeqNumber,
    mss: Option<u16>,
}

/// Runs the shard's timers at `now` and returns what it sent toward the origin.
fn tick(shard: &mut Shard, now: Instant) -> Vec<Sent> {
    if shard.poll_timeout().is_some_and(|at| at <= now) {
        shard.handle_timeout(now);
    }
    sent(shard, now)
}

fn sent(shard: &mut Shard, now: Instant) -> Vec<Sent> {
    let mut buf = vec![0u8; 2000];
    let mut out = Vec::new();
    while let Some(t) = shard.poll_transmit(now, Side::Origin, &mut buf) {
        assert_eq!(t.remote, ORIGIN.parse().unwrap());
        let seg = parse(&buf[20..t.len]);
        let mss = seg.options.iter().find_map(|o| match o {
            Ok(TcpOption::MaxSegmentSize(m)) => Some(m),
            _ => None,
        });
        out.push(Sent { local: t.local, flags: seg.flags, seq: seg.seq_number, mss });
    }
    out
}

/// The origin answers `syn` with `flags`, acknowledging `ack`.
fn answer(shard: &mut Shard, now: Instant, syn: &Sent, flags: TcpFlags, ack: TcpSeqNumber) {
    let origin: SocketAddr = ORIGIN.parse().unwrap();
    let tcp = TcpRepr {
        src_port: origin.port(),
        dst_port: syn.local.port(),
        seq_number: TcpSeqNumber(777),
        ack_number: ack,
        flags,
        window_len: 1000,
        urgent_pointer: 0,
        options: TcpOptions::EMPTY,
        payload: &[],
    };
    shard.handle_frame(now, &frame_with(origin, syn.local, &tcp), true);
}

fn changes(shard: &mut Shard) -> Vec<HealthChange> {
    std::iter::from_fn(|| shard.poll_health_event()).map(|e| e.change).collect()
}

fn checks(shard: &Shard) -> Counts<CheckResult> {
    shard.origins().next().expect("one origin").stats.checks
}

fn only_syn(sent: Vec<Sent>) -> Sent {
    assert_eq!(sent.len(), 1, "one check: {sent:?}");
    assert_eq!(sent[0].flags, TcpFlags::SYN);
    sent[0]
}

#[test]
fn silence_ejects_and_a_syn_ack_restores_with_a_rst_sent() {
    let mut shard = Shard::new(checked(0, 1), secs(0));
    let syn = only_syn(tick(&mut shard, secs(0)));
    assert_eq!(syn.mss, Some(crate::tcp::Config::default().mss));
    assert_eq!(port_owner(&(40_000..=40_009), 1, syn.local.port()), Some(0));
    assert_eq!(shard.poll_timeout(), Some(secs(1)), "the timeout");
    // Unanswered twice: ejected after the second timeout.
    assert_eq!(tick(&mut shard, secs(1)), []);
    assert_eq!(checks(&shard).get(CheckResult::Timeout), 1);
    only_syn(tick(&mut shard, secs(2)));
    assert_eq!(tick(&mut shard, secs(3)), []);
    let backoff = Duration::from_secs(10);
    assert_eq!(changes(&mut shard), [HealthChange::Ejected { backoff, failures: 2 }]);
    assert!(!shard.origins().next().unwrap().up);
    // The origin answers the next check: the shard resets the half-open connection at
    // <SEQ=SEG.ACK> and the origin is up again.
    let syn = only_syn(tick(&mut shard, secs(4)));
    answer(&mut shard, secs(4), &syn, TcpFlags::SYN | TcpFlags::ACK, syn.seq + 1usize);
    let rst = sent(&mut shard, secs(4));
    assert_eq!(rst.len(), 1);
    assert_eq!(
        (rst[0].local, rst[0].flags, rst[0].seq),
        (syn.local, TcpFlags::RST, syn.seq + 1usize)
    );
    assert_eq!(changes(&mut shard), [HealthChange::Restored]);
    assert!(shard.origins().next().unwrap().up);
    let c = checks(&shard);
    assert_eq!((c.get(CheckResult::Success), c.get(CheckResult::Timeout)), (1, 2));
    assert_eq!(shard.poll_timeout(), Some(secs(6)), "the next check");
    // Client connection counters are the clients' own.
    let stats = shard.origins().next().unwrap().stats;
    assert_eq!((stats.attempts, stats.failures.total()), (0, 0));
}

#[test]
fn a_refused_check_is_a_failure_and_no_client_goes_to_the_ejected_origin() {
    let mut config = checked(0, 1);
    config.services[0].origins.push("10.10.0.3:8080".parse().unwrap());
    let mut shard = Shard::new(config, secs(0));
    // Both origins get a check; only ORIGIN's answers matter here (it refuses them), the
    // other one answers every check.
    for at in [0, 2] {
        shard.handle_timeout(secs(at));
        let mut buf = vec![0u8; 2000];
        let mut syns = Vec::new();
        while let Some(t) = shard.poll_transmit(secs(at), Side::Origin, &mut buf) {
            let seg = parse(&buf[20..t.len]);
            if seg.flags == TcpFlags::SYN {
                syns.push((t.local, t.remote, seg.seq_number));
            }
        }
        assert_eq!(syns.len(), 2, "one check per origin");
        for (local, remote, seq) in syns {
            let flags = if remote == ORIGIN.parse().unwrap() {
                TcpFlags::RST | TcpFlags::ACK
            } else {
                TcpFlags::SYN | TcpFlags::ACK
            };
            let tcp = TcpRepr {
                src_port: remote.port(),
                dst_port: local.port(),
                seq_number: TcpSeqNumber(5),
                ack_number: seq + 1usize,
                flags,
                window_len: 1000,
                urgent_pointer: 0,
                options: TcpOptions::EMPTY,
                payload: &[],
            };
            shard.handle_frame(secs(at), &frame_with(remote, local, &tcp), true);
        }
    }
    let refused = shard.origins().next().unwrap();
    assert_eq!(refused.stats.checks.get(CheckResult::Refused), 2);
    assert!(!refused.up, "ejected after 2 refused checks");
    // Long past the back-off, clients still all go to the other origin: no trial.
    let mut rig = Rig { shard, ..Rig::with(checked(0, 1)) };
    rig.now = secs(100);
    for port in 0..3 {
        rig.client = super::client_from(6000 + port, rig.now);
        rig.origin = None;
        rig.shuttle();
        let origin = rig.origin.as_ref().expect("an origin connection").local();
        assert_eq!(origin, "10.10.0.3:8080".parse().unwrap());
    }
    assert_eq!(rig.shard.origins().next().unwrap().stats.attempts, 0);
}

#[test]
fn an_unacceptable_ack_gets_a_rst_and_the_check_goes_on() {
    let mut shard = Shard::new(checked(0, 1), secs(0));
    let syn = only_syn(tick(&mut shard, secs(0)));
    let wrong = syn.seq + 1000usize;
    answer(&mut shard, secs(0), &syn, TcpFlags::SYN | TcpFlags::ACK, wrong);
    let rst = sent(&mut shard, secs(0));
    assert_eq!(rst.iter().map(|s| (s.flags, s.seq)).collect::<Vec<_>>(), [(TcpFlags::RST, wrong)]);
    // A RST acknowledging something else is dropped too; the check is still waiting.
    answer(&mut shard, secs(0), &syn, TcpFlags::RST | TcpFlags::ACK, wrong);
    assert_eq!(checks(&shard).total(), 0);
    answer(&mut shard, secs(0), &syn, TcpFlags::SYN | TcpFlags::ACK, syn.seq + 1usize);
    assert_eq!(checks(&shard).get(CheckResult::Success), 1);
    assert_eq!(shard.stats().unmatched, 0, "check answers are not strays");
}

#[test]
fn a_check_in_flight_holds_its_port() {
    let mut config = checked(0, 1);
    config.origin_ports = 40_000..=40_000;
    let mut shard = Shard::new(config, secs(0));
    let syn = only_syn(tick(&mut shard, secs(0)));
    assert_eq!(syn.local.port(), 40_000);
    assert_eq!(shard.free_port(secs(0), ORIGIN.parse().unwrap()), None);
    // Refused: the port is free at once (no TIME-WAIT after a RST).
    answer(&mut shard, secs(0), &syn, TcpFlags::RST | TcpFlags::ACK, syn.seq + 1usize);
    assert_eq!(shard.free_port(secs(0), ORIGIN.parse().unwrap()), Some(syn.local));
}

#[test]
fn no_free_port_is_counted_and_says_nothing_of_the_origin() {
    let mut config = checked(1, 2);
    config.origin_ports = 40_000..=40_000; // worker 1's share is empty
    let mut shard = Shard::new(config, secs(0));
    assert_eq!(tick(&mut shard, secs(0)), []);
    assert_eq!(tick(&mut shard, secs(1)), []);
    assert_eq!(checks(&shard).get(CheckResult::NotSent), 1);
    assert!(shard.origins().next().unwrap().up);
    assert_eq!(changes(&mut shard), []);
}

#[test]
fn workers_spread_their_first_checks_and_checks_off_send_none() {
    let mut shard = Shard::new(checked(1, 2), secs(0));
    assert_eq!(tick(&mut shard, secs(0)), [], "worker 1 of 2 starts half an interval in");
    assert_eq!(shard.poll_timeout(), Some(secs(1)));
    only_syn(tick(&mut shard, secs(1)));
    let mut off = Shard::new(cfg(0, 1), secs(0));
    assert_eq!(off.poll_timeout(), None);
    assert_eq!(tick(&mut off, secs(100)), []);
    // A reload turning checks on schedules them; turning them off stops them.
    off.reconfigure(checked(0, 1).services).expect("a live change");
    only_syn(tick(&mut off, secs(100)));
    off.reconfigure(cfg(0, 1).services).expect("a live change");
    assert_eq!(off.poll_timeout(), None);
}

#[test]
fn bytes_are_counted_per_origin_as_they_flow() {
    let mut rig = Rig::new();
    rig.shuttle();
    rig.client.send(b"hello");
    rig.shuttle();
    let origin = rig.origin.as_mut().expect("origin connection");
    let mut got = [0u8; 16];
    assert_eq!(origin.recv(&mut got), 5);
    origin.send(b"a longer answer");
    rig.shuttle();
    let stats = rig.shard.origins().next().unwrap().stats;
    assert_eq!((stats.bytes_to_origin, stats.bytes_from_origin), (5, 15));
}
