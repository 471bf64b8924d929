use std::net::SocketAddr;

use super::*;
use crate::tcp::{Config, Connection, State};
use crate::time::{Duration, Instant};
use crate::wire::tcp::TcpSeqNumber;

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("test address")
}

#[test]
fn picker_round_robin() {
    let origins = vec![addr("10.1.0.1:80"), addr("10.1.0.2:80"), addr("10.1.0.3:80")];
    let mut picker = OriginPicker::new(origins.clone(), 2).expect("origins");
    let picked: Vec<_> = (0..5).map(|_| picker.pick().0).collect();
    assert_eq!(picked, [origins[0], origins[1], origins[2], origins[0], origins[1]]);
}

#[test]
fn picker_retries_next_until_max_tries() {
    let origins = vec![addr("10.1.0.1:80"), addr("10.1.0.2:80")];
    let mut picker = OriginPicker::new(origins.clone(), 3).expect("origins");
    let (first, mut attempt) = picker.pick();
    assert_eq!(first, origins[0]);
    assert_eq!(picker.retry(&mut attempt), Some(origins[1]));
    assert_eq!(picker.retry(&mut attempt), Some(origins[0]));
    assert_eq!(attempt.tries(), 3);
    assert_eq!(picker.retry(&mut attempt), None);
}

#[test]
fn picker_needs_an_origin() {
    assert!(OriginPicker::new(Vec::new(), 3).is_none());
}

fn conn(local: &str, remote: &str) -> Connection {
    Connection::connect(
        Config::default(),
        addr(local),
        addr(remote),
        TcpSeqNumber(1),
        Instant::ZERO,
    )
}

#[test]
fn connect_timeout_then_give_up_resets_client() {
    let cfg = SpliceConfig { connect_timeout: Duration::from_secs(2), idle_timeout: None };
    let client = conn("10.0.0.2:443", "10.0.0.1:40000");
    let origin = conn("10.1.0.9:50000", "10.1.0.1:80");
    let mut splice = Splice::new(cfg, client, origin, Instant::ZERO);
    assert_eq!(splice.pump(Instant::ZERO), SpliceStatus::Connecting);
    assert!(splice.poll_timeout().is_some_and(|t| t <= Instant::from_secs(2)));
    let failed = splice.handle_timeout(Instant::from_secs(2));
    assert_eq!(failed, SpliceStatus::OriginFailed(ConnectFailure::ConnectTimeout));
    assert_eq!(splice.conn(Side::Origin).state(), State::Closed);
    splice.give_up(Instant::from_secs(2));
    let end = SpliceEnd::OriginUnreachable(ConnectFailure::ConnectTimeout);
    assert_eq!(splice.pump(Instant::from_secs(2)), SpliceStatus::Finished(end));
    assert!(splice.can_drop());
}

#[test]
fn retry_replaces_the_origin() {
    let cfg = SpliceConfig { connect_timeout: Duration::from_secs(1), idle_timeout: None };
    let client = conn("10.0.0.2:443", "10.0.0.1:40000");
    let origin = conn("10.1.0.9:50000", "10.1.0.1:80");
    let mut splice = Splice::new(cfg, client, origin, Instant::ZERO);
    let at = Instant::from_secs(1);
    assert!(matches!(splice.handle_timeout(at), SpliceStatus::OriginFailed(_)));
    splice.retry_origin(conn("10.1.0.9:50001", "10.1.0.2:80"), at);
    assert_eq!(splice.pump(at), SpliceStatus::Connecting);
    assert_eq!(splice.conn(Side::Origin).remote(), addr("10.1.0.2:80"));
    assert!(splice.poll_timeout().is_some_and(|t| t <= Instant::from_secs(2)));
}
