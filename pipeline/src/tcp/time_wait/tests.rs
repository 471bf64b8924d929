//! TIME-WAIT table tests: retransmitted FINs, RFC 6191 SYN reuse, RSTs, PAWS, the
//! acceptability test, capacity and expiry.

use std::cell::Cell;
use std::rc::Rc;

use super::*;
use crate::tcp::config::Config;
use crate::tcp::listener::ListenerConfig;
use crate::tcp::listener::testnet::{Net, addr, parse};
use crate::wire::tcp::{TcpFlags, TcpRepr};
use crate::wire::tcp_option::TcpOptions;

/// A server connection in TIME-WAIT (it closed first), the net it lives in, and whether
/// its last ACK was lost (so the client still retransmits its FIN).
fn server_in_time_wait(client_cfg: Config, port: u16, lose_last_ack: bool) -> Net {
    let mut net = Net::with_listener(
        client_cfg,
        crate::tcp::listener::testnet::listener(ListenerConfig::default()),
        addr(&format!("10.0.0.1:{port}")),
    );
    assert!(net.handshake());
    let now = net.now;
    net.server().close(now);
    net.run(Duration::from_secs(5), |n| n.server().state() == State::FinWait2);
    let lose = Rc::new(Cell::new(false));
    let flag = lose.clone();
    net.drop = Box::new(move |to_server, _| !to_server && flag.get());
    lose.set(lose_last_ack);
    let now = net.now;
    net.client.close(now);
    net.run(Duration::from_secs(5), |n| n.server().state() == State::TimeWait);
    assert_eq!(net.server().state(), State::TimeWait);
    net
}

/// Options holding one timestamp option.
fn ts_option(tsval: u32, tsecr: u32) -> [u8; 12] {
    let mut o = [1, 1, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0];
    o[4..8].copy_from_slice(&tsval.to_be_bytes());
    o[8..12].copy_from_slice(&tsecr.to_be_bytes());
    o
}

/// A segment from the client to the server.
fn seg<'a>(net: &Net, flags: TcpFlags, seq: TcpSeqNumber, opts: &'a [u8]) -> TcpRepr<'a> {
    TcpRepr {
        src_port: net.client.local().port(),
        dst_port: 80,
        seq_number: seq,
        ack_number: net.server.as_ref().map_or(TcpSeqNumber(0), |s| s.snd_nxt()),
        flags,
        window_len: 1000,
        urgent_pointer: 0,
        options: TcpOptions::new(opts),
        payload: &[],
    }
}

fn table_with(net: &Net) -> TimeWaitTable {
    let mut tw = TimeWaitTable::new(TimeWaitConfig::default());
    assert!(tw.insert(net.now, net.server.as_ref().expect("server")));
    tw
}

#[test]
fn a_retransmitted_fin_is_acked_and_the_client_closes() {
    let mut net = server_in_time_wait(Config::default(), 40000, true);
    let mut tw = table_with(&net);
    let (local, remote) = (net.server().local(), net.client.local());
    let (snd_nxt, rcv_nxt) = (net.server().snd_nxt(), net.server().rcv_nxt());
    net.server = None;
    assert_eq!(net.client.state(), State::LastAck);
    let mut buf = [0u8; 2048];
    let mut now = net.now;
    for _ in 0..10 {
        if net.client.is_closed() {
            break;
        }
        now = net.client.poll_timeout().expect("the client's FIN timer").max(now);
        net.client.handle_timeout(now);
        while let Some(t) = net.client.poll_transmit(now, &mut buf, &mut ()) {
            let bytes = buf[..t.len].to_vec();
            assert_eq!(
                tw.handle_segment(now, local, remote, &parse(&bytes)),
                TimeWaitOutcome::Acked
            );
        }
        while let Some(t) = tw.poll_transmit(now, &mut buf) {
            let ack = parse(&buf[..t.transmit.len]);
            assert_eq!(
                (ack.seq_number, ack.ack_number, ack.flags),
                (snd_nxt, rcv_nxt, TcpFlags::ACK)
            );
            assert!(ack.options.timestamps().is_some());
            let bytes = buf[..t.transmit.len].to_vec();
            net.client.handle_segment(now, &parse(&bytes));
        }
    }
    assert!(net.client.is_closed(), "the client got its ACK: {:?}", net.client.state());
    assert_eq!(tw.stats().fin_acks, 1);
    // 2·MSL restarted from the retransmitted FIN.
    assert_eq!(tw.poll_timeout(), Some(now + Duration::from_secs(60)));
}

#[test]
fn syns_reopen_the_tuple_per_rfc_6191_with_timestamps() {
    let net = server_in_time_wait(Config::default(), 40001, false);
    let server = net.server.as_ref().expect("server");
    let recent = server.ts_recent().expect("timestamps on");
    let (local, remote, nxt) = (server.local(), server.remote(), server.rcv_nxt());
    let mut tw = table_with(&net);
    let cases = [
        (Some(recent.wrapping_add(1)), nxt - 100usize, TimeWaitOutcome::Reuse),
        (Some(recent.wrapping_sub(1)), nxt + 100usize, TimeWaitOutcome::Dropped),
        (Some(recent), nxt + 100usize, TimeWaitOutcome::Reuse),
        (Some(recent), nxt, TimeWaitOutcome::Dropped),
        (None, nxt + 1usize, TimeWaitOutcome::Reuse),
        (None, nxt - 1usize, TimeWaitOutcome::Dropped),
    ];
    for (tsval, seq, expected) in cases {
        let opts = tsval.map(|t| ts_option(t, 0));
        let syn = seg(&net, TcpFlags::SYN, seq, opts.as_ref().map_or(&[][..], |o| &o[..]));
        assert_eq!(tw.handle_segment(net.now, local, remote, &syn), expected, "{tsval:?} {seq}");
        if expected == TimeWaitOutcome::Reuse {
            assert!(!tw.contains(local, remote));
            assert!(tw.insert(net.now, server));
        }
    }
    assert_eq!((tw.stats().reused, tw.stats().syns_dropped), (3, 3));
    assert_eq!(tw.poll_transmit(net.now, &mut [0u8; 128]), None, "SYNs are never answered");
}

#[test]
fn syns_reopen_the_tuple_per_rfc_6191_without_timestamps() {
    let net = server_in_time_wait(Config { timestamps: false, ..Config::default() }, 40002, false);
    let server = net.server.as_ref().expect("server");
    assert!(server.ts_recent().is_none());
    let (local, remote, nxt) = (server.local(), server.remote(), server.rcv_nxt());
    let mut tw = table_with(&net);
    let ts = ts_option(5, 0);
    let cases = [
        (Some(&ts[..]), nxt - 100usize, TimeWaitOutcome::Reuse),
        (None, nxt + 1usize, TimeWaitOutcome::Reuse),
        (None, nxt, TimeWaitOutcome::Dropped),
    ];
    for (opts, seq, expected) in cases {
        let syn = seg(&net, TcpFlags::SYN, seq, opts.unwrap_or(&[]));
        assert_eq!(tw.handle_segment(net.now, local, remote, &syn), expected);
        if expected == TimeWaitOutcome::Reuse {
            assert!(tw.insert(net.now, server));
        }
    }
}

#[test]
fn our_own_reuse_waits_and_needs_timestamps() {
    let net = server_in_time_wait(Config::default(), 40004, false);
    let server = net.server.as_ref().expect("server");
    let (local, remote) = (server.local(), server.remote());
    let mut tw = table_with(&net);
    let second = Duration::from_secs(1);
    assert!(!tw.reuse(net.now, local, remote, second), "not yet a second in TIME-WAIT");
    assert!(tw.contains(local, remote));
    assert!(tw.reuse(net.now + second, local, remote, second));
    assert!(!tw.contains(local, remote));
    assert_eq!(tw.stats().reused, 1);
    assert!(!tw.reuse(net.now + second, local, remote, second), "gone");

    let net = server_in_time_wait(Config { timestamps: false, ..Config::default() }, 40005, false);
    let server = net.server.as_ref().expect("server");
    let mut tw = table_with(&net);
    let later = net.now + Duration::from_secs(30);
    assert!(!tw.reuse(later, server.local(), server.remote(), second), "no PAWS, no reuse");
}

#[test]
fn rsts_paws_and_stray_segments() {
    let net = server_in_time_wait(Config::default(), 40003, false);
    let server = net.server.as_ref().expect("server");
    let recent = server.ts_recent().expect("timestamps on");
    let (local, remote, nxt) = (server.local(), server.remote(), server.rcv_nxt());
    let mut tw = table_with(&net);
    let now = net.now;
    let fresh = ts_option(recent.wrapping_add(10), 0);
    let old = ts_option(recent.wrapping_sub(10), 0);
    let mut check = |flags, seq, opts: &[u8], expected| {
        let s = seg(&net, flags, seq, opts);
        assert_eq!(tw.handle_segment(now, local, remote, &s), expected, "{flags:?} {seq}");
    };
    // An acceptable pure ACK is dropped; an old one is answered (§3.10.7.4 "first").
    check(TcpFlags::ACK, nxt, &fresh, TimeWaitOutcome::Dropped);
    check(TcpFlags::ACK, nxt - 5000usize, &fresh, TimeWaitOutcome::Acked);
    // PAWS (RFC 7323 §5.3).
    check(TcpFlags::ACK, nxt, &old, TimeWaitOutcome::Acked);
    // RFC 5961 §3.2: in-window but inexact RST -> challenge ACK; out of window -> dropped.
    check(TcpFlags::RST, nxt + 10usize, &[], TimeWaitOutcome::Acked);
    check(TcpFlags::RST, nxt - 10usize, &[], TimeWaitOutcome::Dropped);
    // RFC 5961 §4: a SYN,ACK in window -> challenge ACK.
    check(TcpFlags::SYN | TcpFlags::ACK, nxt, &fresh, TimeWaitOutcome::Acked);
    // The exact RST closes.
    check(TcpFlags::RST, nxt, &[], TimeWaitOutcome::Closed);
    check(TcpFlags::ACK, nxt, &fresh, TimeWaitOutcome::NotFound);
    let s = *tw.stats();
    assert_eq!((s.acks, s.paws_rejected, s.reset, s.dropped), (4, 1, 1, 2));
    assert!(tw.is_empty());
}

#[test]
fn capacity_evicts_the_oldest_and_deadlines_expire() {
    let cfg = TimeWaitConfig { capacity: 4, ..TimeWaitConfig::default() };
    let mut tw = TimeWaitTable::new(cfg);
    let mut last = Instant::ZERO;
    for port in 41000..41006 {
        let net = server_in_time_wait(Config::default(), port, false);
        let server = net.server.as_ref().expect("server");
        assert!(tw.insert(net.now, server));
        assert!(tw.len() <= 4);
        assert!(tw.heap_bytes() <= 4 * TimeWaitTable::ENTRY_BYTES);
        last = last.max(server.poll_timeout().expect("2·MSL"));
    }
    assert_eq!((tw.len(), tw.stats().evicted), (4, 2));
    assert!(!tw.contains(addr("10.0.0.2:80"), addr("10.0.0.1:41000")));
    assert!(tw.contains(addr("10.0.0.2:80"), addr("10.0.0.1:41005")));
    tw.handle_timeout(last - Duration::from_micros(1));
    assert!(!tw.is_empty());
    tw.handle_timeout(last);
    assert!(tw.is_empty());
    assert_eq!(tw.stats().expired, 4);
    assert_eq!(tw.poll_timeout(), None);
}

#[test]
fn only_time_wait_connections_are_taken() {
    let mut net = Net::new(Config::default(), ListenerConfig::default());
    assert!(net.handshake());
    let mut tw = TimeWaitTable::new(TimeWaitConfig::default());
    assert!(!tw.insert(net.now, net.server()));
    assert!(tw.is_empty());
}

#[test]
fn entries_are_small() {
    const { assert!(TimeWaitTable::ENTRY_BYTES <= 400) };
}
