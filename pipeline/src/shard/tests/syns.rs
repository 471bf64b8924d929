//! Every new SYN a listener sees is answered (from the half-open table, or with a cookie once
//! the table is full, RFC 4987 §3.6) or dropped by a counted reason, so a flood leaves no SYN
//! unaccounted for; checked cookies are counted by result.

use std::net::SocketAddr;

use super::super::*;
use super::{SERVICE, cfg, frame};
use crate::wire::tcp::TcpFlags;

fn from(i: u16) -> SocketAddr {
    SocketAddr::from(([10, 1, (i >> 8) as u8, i as u8], 1000 + i))
}

#[test]
fn a_flood_of_syns_is_answered_or_counted_by_reason() {
    let now = Instant::ZERO;
    let mut config = cfg(0, 1);
    let listener = &mut config.services[0].listener;
    (listener.half_open_max, listener.reply_queue) = (4, 8);
    let mut shard = Shard::new(config, now);
    let service: SocketAddr = SERVICE.parse().unwrap();
    for i in 0..20 {
        shard.handle_frame(now, &frame(from(i), service, TcpFlags::SYN), true);
    }
    // A retransmission of a half-open connection's SYN is that connection's business.
    shard.handle_frame(now, &frame(from(0), service, TcpFlags::SYN), true);
    let s = shard.syn_stats();
    assert_eq!(s.received, 20);
    assert_eq!((s.answered.get(SynAnswer::Table), s.answered.get(SynAnswer::Cookie)), (4, 8));
    assert_eq!(s.dropped.get(SynDrop::ReplyQueueFull), 8);
    assert_eq!(s.dropped.get(SynDrop::HalfOpenFull), 0);
    assert_eq!(s.received, s.answered.total() + s.dropped.total());
    assert_eq!(s.half_open, 4);
    let mut buf = vec![0u8; 2000];
    let mut sent = 0;
    while shard.poll_transmit(now, Side::Client, &mut buf).is_some() {
        sent += 1;
    }
    assert!(sent >= 12, "4 SYN,ACKs from the table and 8 cookies, got {sent}");

    // An ACK with no valid cookie (the test frame's numbers) is checked and reset.
    shard.handle_frame(now, &frame(from(300), service, TcpFlags::ACK), true);
    let s = shard.syn_stats();
    assert_eq!((s.cookies.get(CookieCheck::Valid), s.cookies.get(CookieCheck::Invalid)), (0, 1));
}

#[test]
fn with_cookies_off_a_full_table_drops_syns_by_reason() {
    let now = Instant::ZERO;
    let mut config = cfg(0, 1);
    let listener = &mut config.services[0].listener;
    (listener.half_open_max, listener.syn_cookies) = (2, false);
    let mut shard = Shard::new(config, now);
    let service: SocketAddr = SERVICE.parse().unwrap();
    for i in 0..5 {
        shard.handle_frame(now, &frame(from(i), service, TcpFlags::SYN), true);
    }
    let s = shard.syn_stats();
    assert_eq!((s.received, s.answered.total(), s.dropped.get(SynDrop::HalfOpenFull)), (5, 2, 3));
}
