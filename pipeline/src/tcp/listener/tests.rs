//! Listener tests: handshakes through the half-open table and through cookies, option
//! preservation, forged and stale cookies, LISTEN and CLOSED replies, half-open expiry, and a
//! SYN flood's memory bound.

use std::net::SocketAddr;

use super::testnet::{Net, addr, listener, parse, server_addr};
use super::*;
use crate::tcp::conn::ConnEvent;
use crate::tcp::state::State;
use crate::time::Duration;
use crate::wire::tcp::{TcpFlags, TcpSeqNumber};
use crate::wire::tcp_option::TcpOptions;

fn cookies_only() -> ListenerConfig {
    ListenerConfig { half_open_max: 0, ..ListenerConfig::default() }
}

/// A bare segment from `src_port` to port 80.
fn segment<'a>(flags: TcpFlags, seq: u32, ack: u32, options: &'a [u8]) -> TcpRepr<'a> {
    TcpRepr {
        src_port: 40000,
        dst_port: 80,
        seq_number: TcpSeqNumber(seq),
        ack_number: TcpSeqNumber(ack),
        flags,
        window_len: 1000,
        urgent_pointer: 0,
        options: TcpOptions::new(options),
        payload: &[],
    }
}

/// Moves 20 kB each way and checks it arrives.
fn exchange(net: &mut Net) {
    let data: Vec<u8> = (0..20_000u32).map(|i| (i * 31 / 7) as u8).collect();
    let (mut at_server, mut at_client) = (Vec::new(), Vec::new());
    let (mut up, mut down) = (0, 0);
    net.run(Duration::from_secs(30), |n| {
        up += n.client.send(&data[up..]);
        down += n.server().send(&data[down..]);
        let mut buf = [0u8; 4096];
        loop {
            let got = n.server().recv(&mut buf);
            at_server.extend_from_slice(&buf[..got]);
            let got2 = n.client.recv(&mut buf);
            at_client.extend_from_slice(&buf[..got2]);
            if got + got2 == 0 {
                break;
            }
        }
        at_server.len() == data.len() && at_client.len() == data.len()
    });
    assert!(at_server == data && at_client == data, "data crossed intact both ways");
}

#[test]
fn handshake_through_the_half_open_table() {
    let mut net = Net::new(Config::default(), ListenerConfig::default());
    assert!(net.handshake());
    let stats = *net.listener.stats();
    assert_eq!((stats.half_open_created, stats.established, stats.cookies_sent), (1, 1, 0));
    assert_eq!(net.listener.half_open_len(), 0);
    assert_eq!(net.server().poll_event(), Some(ConnEvent::Connected));
    assert_eq!(net.server().effective_mss(), 1448);
    assert!(net.server().send_window() > 65_535, "window scaling negotiated");
    exchange(&mut net);
}

#[test]
fn handshake_through_a_cookie_when_the_table_has_size_zero() {
    let mut net = Net::new(Config::default(), cookies_only());
    assert!(net.handshake());
    let stats = *net.listener.stats();
    assert_eq!((stats.cookies_sent, stats.cookies_valid, stats.half_open_created), (1, 1, 0));
    assert_eq!(net.server().state(), State::Established);
    exchange(&mut net);
}

#[test]
fn cookies_keep_window_scale_sack_timestamps_and_a_rounded_mss() {
    let client_cfg = Config { mss: 1450, ..Config::default() };
    let mut net = Net::new(client_cfg, cookies_only());
    assert!(net.handshake());
    let syn_ack = parse(&net.to_client_log[0]);
    assert!(syn_ack.flags.contains(TcpFlags::SYN | TcpFlags::ACK));
    assert!(syn_ack.options.sack_permitted());
    assert_eq!(syn_ack.options.window_scale(), Some(Config::default().rcv_wscale()));
    let (tsval, _) = syn_ack.options.timestamps().expect("cookie SYN,ACK carries TS");
    let server = net.server();
    // 1450 rounds down to the table's 1440; the timestamp option takes 12 bytes.
    assert_eq!(server.effective_mss(), 1440 - 12);
    assert!(server.ts_recent().is_some(), "timestamps on");
    assert!(server.send_window() > 65_535, "the client's window scale was kept");
    // The connection's TSvals continue from the cookie's, never below it (RFC 7323 §5.4).
    let now = net.now;
    let clock = net.server().ts_clock(now).expect("timestamps on");
    assert!(clock.wrapping_sub(tsval) < 1 << 31);
    // SACK works: lose one client segment and the server's ACKs carry SACK blocks.
    let mut first = true;
    net.drop = Box::new(move |to_server, bytes| {
        let lose = to_server && first && !parse(bytes).payload.is_empty();
        first &= !lose;
        lose
    });
    let data = vec![7u8; 10_000];
    let sent = net.client.send(&data);
    assert_eq!(sent, data.len());
    let log_start = net.to_client_log.len();
    net.run(Duration::from_millis(100), |_| false);
    let sacked =
        net.to_client_log[log_start..].iter().any(|b| parse(b).options.sack_blocks().is_some());
    assert!(sacked, "the cookie connection sends SACK blocks");
}

#[test]
fn cookies_without_timestamps_offer_no_window_scale_or_sack() {
    let client_cfg = Config { timestamps: false, ..Config::default() };
    let mut net = Net::new(client_cfg, cookies_only());
    assert!(net.handshake());
    let syn_ack = parse(&net.to_client_log[0]);
    assert!(!syn_ack.options.sack_permitted());
    assert_eq!(syn_ack.options.window_scale(), None);
    assert!(syn_ack.options.timestamps().is_none());
    assert!(net.server().ts_recent().is_none());
    assert!(net.server().send_window() <= 65_535);
    exchange(&mut net);
}

#[test]
fn a_full_table_answers_with_cookies_and_stays_bounded() {
    let cfg = ListenerConfig { half_open_max: 2, ..ListenerConfig::default() };
    let mut l = listener(cfg);
    let now = Instant::from_secs(5);
    for port in [1000, 1001] {
        let syn = segment(TcpFlags::SYN, 1, 0, &[]);
        let from = addr(&format!("192.0.2.1:{port}"));
        assert_eq!(l.handle_segment(now, server_addr(), from, &syn), ListenerOutcome::HalfOpen);
    }
    let mut net = Net::with_listener(Config::default(), l, addr("10.0.0.1:40000"));
    assert!(net.handshake());
    assert_eq!(net.listener.stats().cookies_valid, 1);
    assert_eq!(net.listener.half_open_len(), 2);
}

#[test]
fn forged_and_stale_cookie_acks_are_reset() {
    let mut l = listener(cookies_only());
    let now = Instant::from_secs(100);
    let ack = segment(TcpFlags::ACK, 5000, 0xdead_beef, &[]);
    assert_eq!(
        l.handle_segment(now, server_addr(), addr("10.0.0.1:40000"), &ack),
        ListenerOutcome::Reset
    );
    assert_eq!(l.stats().cookies_invalid, 1);
    let mut buf = [0u8; 128];
    let t = l.poll_transmit(now, &mut buf).expect("a RST");
    let rst = parse(&buf[..t.transmit.len]);
    // RFC 9293 §3.10.7.2: <SEQ=SEG.ACK><CTL=RST>.
    assert_eq!((rst.flags, rst.seq_number), (TcpFlags::RST, TcpSeqNumber(0xdead_beef)));
    assert_eq!(l.accept_queue_len(), 0);

    // A genuine cookie, answered 200 s later (past two counter periods), is stale.
    let client = addr("10.0.0.1:40001");
    let syn = segment(TcpFlags::SYN, 77, 0, &[]);
    assert_eq!(l.handle_segment(now, server_addr(), client, &syn), ListenerOutcome::CookieSent);
    let t = l.poll_transmit(now, &mut buf).expect("a cookie SYN,ACK");
    let isn = parse(&buf[..t.transmit.len]).seq_number;
    let mut ack = segment(TcpFlags::ACK, 78, (isn + 1usize).0, &[]);
    ack.src_port = 40001;
    let later = now + Duration::from_secs(200);
    assert_eq!(l.handle_segment(later, server_addr(), client, &ack), ListenerOutcome::Reset);
    assert_eq!(l.stats().cookies_invalid, 2);
    // The same ACK in time is accepted; a modified one is not.
    let mut bad = ack;
    bad.seq_number = TcpSeqNumber(79);
    assert_eq!(l.handle_segment(now, server_addr(), client, &bad), ListenerOutcome::Reset);
    assert_eq!(l.handle_segment(now, server_addr(), client, &ack), ListenerOutcome::Established);
    assert!(l.poll_accept().is_some());
}

#[test]
fn listen_and_closed_port_replies_follow_rfc_9293() {
    let mut l = listener(ListenerConfig::default());
    let now = Instant::from_secs(1);
    let peer = addr("10.0.0.1:40000");
    let rst = segment(TcpFlags::RST, 1, 0, &[]);
    assert_eq!(
        l.handle_segment(now, server_addr(), peer, &rst),
        ListenerOutcome::Dropped(DropReason::Rst)
    );
    let nothing = segment(TcpFlags::PSH, 1, 0, &[]);
    assert_eq!(
        l.handle_segment(now, server_addr(), peer, &nothing),
        ListenerOutcome::Dropped(DropReason::NoSynNoAck)
    );
    let syn_ack = segment(TcpFlags::SYN | TcpFlags::ACK, 1, 42, &[]);
    assert_eq!(l.handle_segment(now, server_addr(), peer, &syn_ack), ListenerOutcome::Reset);
    // A closed port: no ACK bit -> <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
    let mut fin = segment(TcpFlags::FIN, 1000, 0, &[]);
    fin.payload = b"abc";
    let other = addr("10.0.0.2:81");
    assert_eq!(l.handle_segment(now, other, peer, &fin), ListenerOutcome::Reset);
    let mut buf = [0u8; 128];
    let t = l.poll_transmit(now, &mut buf).expect("RST for the SYN,ACK");
    assert_eq!(parse(&buf[..t.transmit.len]).seq_number, TcpSeqNumber(42));
    let t = l.poll_transmit(now, &mut buf).expect("RST for the closed port");
    let r = parse(&buf[..t.transmit.len]);
    assert_eq!(t.local, other);
    assert_eq!(r.flags, TcpFlags::RST | TcpFlags::ACK);
    assert_eq!((r.seq_number, r.ack_number), (TcpSeqNumber(0), TcpSeqNumber(1004)));
    assert_eq!(l.stats().closed_port, 1);
    assert_eq!(l.stats().dropped_rst, 1);
}

#[test]
fn half_open_entries_retransmit_then_expire() {
    let cfg = ListenerConfig { synack_retries: 3, ..ListenerConfig::default() };
    let mut l = listener(cfg);
    let mut now = Instant::from_secs(1);
    let peer = addr("10.0.0.1:40000");
    let syn = segment(TcpFlags::SYN, 1, 0, &[]);
    assert_eq!(l.handle_segment(now, server_addr(), peer, &syn), ListenerOutcome::HalfOpen);
    let mut buf = [0u8; 2048];
    let (mut syn_acks, mut rsts) = (0, 0);
    for _ in 0..20 {
        while let Some(t) = l.poll_transmit(now, &mut buf) {
            syn_acks += usize::from(t.transmit.flags.contains(TcpFlags::SYN));
            rsts += usize::from(t.transmit.flags.contains(TcpFlags::RST));
        }
        if l.half_open_len() == 0 {
            break;
        }
        assert!(l.heap_bytes() >= Listener::HALF_OPEN_ENTRY_BYTES);
        // No buffer is allocated for a half-open connection.
        assert!(l.half_open.values().all(|h| h.conn.heap_bytes() == 0));
        now = l.poll_timeout().expect("the SYN,ACK timer runs");
        l.handle_timeout(now);
    }
    assert_eq!(syn_acks, 4, "the SYN,ACK and 3 retransmissions");
    assert_eq!(rsts, 1, "giving up resets");
    assert_eq!(l.half_open_len(), 0);
    assert_eq!(l.stats().half_open_expired, 1);
    assert_eq!(l.poll_timeout(), None);
}

#[test]
fn the_timer_hint_is_never_late_and_a_timeout_makes_it_exact() {
    let mut l = listener(ListenerConfig::default());
    let mut buf = [0u8; 2048];
    // SYNs spread over 100 ms, each answered: every half-open entry has a SYN,ACK timer.
    for i in 0..50u16 {
        let now = Instant::from_millis(u64::from(i) * 2);
        let peer = SocketAddr::new(addr("10.0.0.1:1").ip(), 20_000 + i);
        let syn = TcpRepr { src_port: peer.port(), ..segment(TcpFlags::SYN, 1, 0, &[]) };
        l.handle_segment(now, server_addr(), peer, &syn);
        while l.poll_transmit(now, &mut buf).is_some() {}
    }
    let earliest = l.half_open.values().filter_map(|h| h.conn.poll_timeout()).min();
    let hint = l.poll_timeout();
    assert!(hint.is_some() && hint <= earliest, "{hint:?} after {earliest:?}");
    // A timeout at the hint runs the due timers and makes the hint exact again.
    l.handle_timeout(hint.unwrap());
    while l.poll_transmit(hint.unwrap(), &mut buf).is_some() {}
    l.handle_timeout(hint.unwrap());
    let earliest = l.half_open.values().filter_map(|h| h.conn.poll_timeout()).min();
    assert_eq!(l.poll_timeout(), earliest);
}

#[test]
fn a_retransmitted_syn_gets_the_syn_ack_again() {
    let mut l = listener(ListenerConfig::default());
    let now = Instant::from_secs(1);
    let peer = addr("10.0.0.1:40000");
    let syn = segment(TcpFlags::SYN, 1, 0, &[]);
    let mut buf = [0u8; 2048];
    assert_eq!(l.handle_segment(now, server_addr(), peer, &syn), ListenerOutcome::HalfOpen);
    assert!(l.poll_transmit(now, &mut buf).is_some());
    assert!(l.poll_transmit(now, &mut buf).is_none());
    assert_eq!(l.handle_segment(now, server_addr(), peer, &syn), ListenerOutcome::Delivered);
    let t = l.poll_transmit(now, &mut buf).expect("SYN,ACK again");
    assert_eq!(t.transmit.flags, TcpFlags::SYN | TcpFlags::ACK);
    assert_eq!(l.half_open_len(), 1);
    // The peer's RST (at the right sequence number) ends it.
    let rst = segment(TcpFlags::RST, 2, 0, &[]);
    assert_eq!(l.handle_segment(now, server_addr(), peer, &rst), ListenerOutcome::Delivered);
    assert_eq!(l.half_open_len(), 0);
    assert_eq!(l.stats().half_open_closed, 1);
}

#[test]
fn a_full_accept_queue_drops_the_ack_until_the_owner_accepts() {
    let cfg = ListenerConfig { accept_backlog: 1, ..ListenerConfig::default() };
    let mut l = listener(cfg);
    let now = Instant::from_secs(1);
    let peers = [addr("10.0.0.1:40000"), addr("10.0.0.3:40000")];
    let mut isns = Vec::new();
    let mut buf = [0u8; 2048];
    for peer in peers {
        let syn = segment(TcpFlags::SYN, 1, 0, &[]);
        assert_eq!(l.handle_segment(now, server_addr(), peer, &syn), ListenerOutcome::HalfOpen);
        let t = l.poll_transmit(now, &mut buf).expect("SYN,ACK");
        assert_eq!(t.remote, peer);
        isns.push(parse(&buf[..t.transmit.len]).seq_number);
    }
    let ack = |isn: TcpSeqNumber| segment(TcpFlags::ACK, 2, (isn + 1usize).0, &[]);
    assert_eq!(
        l.handle_segment(now, server_addr(), peers[0], &ack(isns[0])),
        ListenerOutcome::Established
    );
    assert_eq!(
        l.handle_segment(now, server_addr(), peers[1], &ack(isns[1])),
        ListenerOutcome::Dropped(DropReason::AcceptQueueFull)
    );
    assert_eq!((l.accept_queue_len(), l.half_open_len()), (1, 1));
    assert_eq!(l.stats().dropped_accept_queue_full, 1);
    let first = l.poll_accept().expect("the first connection");
    assert_eq!((first.remote(), first.state()), (peers[0], State::Established));
    assert_eq!(
        l.handle_segment(now, server_addr(), peers[1], &ack(isns[1])),
        ListenerOutcome::Established
    );
    assert_eq!(l.poll_accept().map(|c| c.remote()), Some(peers[1]));
    assert_eq!(l.half_open_len(), 0);
}

/// xorshift64: a tiny deterministic generator for the flood.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn a_flood_of_100k_syns_stays_within_the_bounds() {
    let cfg = ListenerConfig::default();
    let mut l = listener(cfg);
    let mut now = Instant::from_secs(1);
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let ts = [1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7, 4, 2, 2, 4];
    let bound = cfg.half_open_max * Listener::HALF_OPEN_ENTRY_BYTES
        + cfg.reply_queue * core::mem::size_of::<Reply>() * 2
        + cfg.half_open_max * 64;
    let mut buf = [0u8; 2048];
    for i in 0..100_000u32 {
        let r = next(&mut rng);
        let ip = std::net::Ipv4Addr::from((r >> 32) as u32);
        let from = SocketAddr::from((ip, r as u16));
        let syn = segment(TcpFlags::SYN, r as u32 >> 1, 0, &ts[..(r as usize % 3) * 8]);
        l.handle_segment(now, server_addr(), from, &syn);
        assert!(l.half_open_len() <= cfg.half_open_max);
        assert!(l.reply_queue_len() <= cfg.reply_queue);
        if i % 1000 == 0 {
            // Drain only now and then: the queue fills and replies are dropped, counted.
            while l.poll_transmit(now, &mut buf).is_some() {}
            now += Duration::from_millis(50);
            l.handle_timeout(now);
            assert!(l.heap_bytes() <= bound, "{} > {bound}", l.heap_bytes());
        }
    }
    let s = *l.stats();
    assert_eq!(s.syns, 100_000);
    assert_eq!(s.half_open_created, 1024);
    assert!(s.cookies_sent > 0 && s.dropped_reply_queue_full > 0);
    assert_eq!(s.half_open_created + s.cookies_sent + s.dropped_reply_queue_full, 100_000);
    assert_eq!(s.dropped_syn_reply_queue_full, s.dropped_reply_queue_full);
    assert!(l.heap_bytes() <= bound);
    // A real client still gets in (through a cookie).
    let mut net = Net::with_listener(Config::default(), l, addr("10.9.9.9:5555"));
    net.now = now;
    assert!(net.handshake());
    assert_eq!(net.listener.stats().cookies_valid, 1);
}
