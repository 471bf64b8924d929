//! Root-only tests over a veth pair between two fresh network namespaces: `a` (the peer, a
//! kernel TCP client) and `b` (the appliance side: the steering program in generic mode and
//! a [`Port`] on rx queue 0). Namespaces are named after the process id and a counter and
//! deleted on drop, also on failure.
//!
//! What is asserted: on veth a bind asking for zero-copy fails and the others obtain copy
//! mode; SYNs to the service port reach user space through `recv` (and the steering program
//! counts them `redirected`), parse with the pipeline's `parse_frame` and carry the right
//! addresses, ports and flags; a RST built with the pipeline's wire types and sent through
//! the TX ring makes the peer's `connect` fail with ECONNREFUSED (TX works end to end); the
//! completion ring returns every sent frame; ping and TCP to another port still reach the
//! kernel; TX frames are bounded by the budget and come back after a kick.

use std::net::{IpAddr, Ipv4Addr};
use std::process::Child;
use std::time::{Duration, Instant};

use netreaktor_pipeline::wire::ethernet::EthernetRepr;
use netreaktor_pipeline::wire::frame::{ChecksumPolicy, Frame, IpRepr, TcpFrame, parse_frame};
use netreaktor_pipeline::wire::tcp::{TcpFlags, TcpRepr, TcpSeqNumber};
use netreaktor_pipeline::wire::tcp_option::TcpOptions;

use super::super::{BindMode, BindRequest, Port, PortConfig, TxSlot};
use super::root_or_skip;
use crate::testnet::VethPair;
use crate::xdp::maps::OriginPorts;
use crate::xdp::{AttachMode, Counter, SteerConfig, Steering};

const ADDR_A: Ipv4Addr = Ipv4Addr::new(10, 204, 0, 1);
const ADDR_B: Ipv4Addr = Ipv4Addr::new(10, 204, 0, 2);
/// The service port of `b` (steered), and a port the kernel serves.
const SERVICE: u16 = 8080;
const OTHER: u16 = 9090;

/// `count` connects to the service, each of which must be refused (exit 0), not time out.
const REFUSED_CLIENT: &str = r#"
import socket, sys
for i in range(int(sys.argv[3])):
    s = socket.socket(); s.settimeout(5)
    try:
        s.connect((sys.argv[1], int(sys.argv[2])))
        print("connected"); sys.exit(2)
    except ConnectionRefusedError:
        pass
    except OSError as e:
        print("connect:", e); sys.exit(3)
    finally:
        s.close()
"#;

/// `count` non-blocking connects at once; each must end refused within 5 s (exit 0).
const REFUSED_BURST: &str = r#"
import errno, select, socket, sys, time
socks = []
for i in range(int(sys.argv[3])):
    s = socket.socket(); s.setblocking(False)
    s.connect_ex((sys.argv[1], int(sys.argv[2]))); socks.append(s)
deadline = time.time() + 5
pending = list(socks)
while pending and time.time() < deadline:
    _, ready, _ = select.select([], pending, [], 0.1)
    for s in ready:
        err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err != errno.ECONNREFUSED:
            print("connect:", errno.errorcode.get(err, err)); sys.exit(2)
        pending.remove(s)
sys.exit(1 if pending else 0)
"#;

fn steer_config() -> SteerConfig {
    SteerConfig {
        services: vec![(ADDR_B.into(), SERVICE)],
        origins: vec![OriginPorts { addr: ADDR_B.into(), ports: 40000..=40099 }],
    }
}

/// The RST answering `syn` (RFC 9293 §3.10.7.1: a SYN to a closed port gets
/// `<SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>`; a SYN counts one).
fn rst_for(syn: &TcpFrame<'_>) -> TcpFrame<'static> {
    TcpFrame {
        ethernet: EthernetRepr {
            src_addr: syn.ethernet.dst_addr,
            dst_addr: syn.ethernet.src_addr,
            vlan: None,
            ethertype: syn.ethernet.ethertype,
        },
        ip: IpRepr::tcp(syn.ip.dst_addr(), syn.ip.src_addr()).expect("same family"),
        tcp: TcpRepr {
            src_port: syn.tcp.dst_port,
            dst_port: syn.tcp.src_port,
            seq_number: TcpSeqNumber(0),
            ack_number: syn.tcp.seq_number + 1usize,
            flags: TcpFlags::RST | TcpFlags::ACK,
            window_len: 0,
            urgent_pointer: 0,
            options: TcpOptions::EMPTY,
            payload: &[],
        },
    }
}

/// What the test checks of each received frame.
#[derive(Debug)]
struct Seen {
    src: IpAddr,
    dst: IpAddr,
    src_port: u16,
    dst_port: u16,
    syn_only: bool,
}

/// Receives what arrives on `port` until `client` exits, answering each TCP frame with a RST
/// sent through the TX ring. Returns the client's success and what was received.
fn answer_with_rsts(port: &mut Port, client: &mut Child) -> (bool, Vec<Seen>, Vec<String>) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let (mut seen, mut odd) = (Vec::new(), Vec::new());
    let status = loop {
        if let Some(status) = client.try_wait().expect("client status") {
            break status;
        }
        assert!(Instant::now() < deadline, "client still running");
        port.poll_rx(Duration::from_millis(20)).expect("poll");
        let mut replies = Vec::new();
        port.recv(64, |bytes| match parse_frame(bytes, ChecksumPolicy::Verify) {
            Ok(Frame::Tcp(tcp)) => {
                seen.push(Seen {
                    src: tcp.ip.src_addr(),
                    dst: tcp.ip.dst_addr(),
                    src_port: tcp.tcp.src_port,
                    dst_port: tcp.tcp.dst_port,
                    syn_only: tcp.tcp.flags == TcpFlags::SYN,
                });
                replies.push(rst_for(&tcp));
            }
            other => odd.push(format!("{other:?}")),
        })
        .expect("recv");
        for reply in &replies {
            let mut slot: TxSlot<'_> = port.tx_slot().expect("a free TX frame");
            let len = reply.emit(slot.buf());
            slot.submit(len);
        }
        if !replies.is_empty() {
            assert_eq!(port.kick().expect("kick"), replies.len(), "all on the TX ring");
        }
    };
    (status.success(), seen, odd)
}

/// Kicks until every sent frame has completed (or 2 s pass).
fn drain_completions(port: &mut Port) {
    let deadline = Instant::now() + Duration::from_secs(2);
    while port.tx_in_use() > 0 && Instant::now() < deadline {
        port.kick().expect("kick");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn bind_modes_on_veth() {
    if !root_or_skip("bind_modes_on_veth") {
        return;
    }
    let bed = VethPair::new('q', ADDR_A, ADDR_B);
    bed.checksums_in_software_on_a();
    bed.in_b(|| {
        let zero_copy = PortConfig { zero_copy: BindRequest::ZeroCopy, ..PortConfig::default() };
        let error = Port::open(&bed.ifb, 0, &zero_copy).expect_err("veth has no zero-copy");
        assert!(error.to_string().contains("binding"), "{error:#}");
        for mode in [BindRequest::Copy, BindRequest::Auto] {
            let config = PortConfig { zero_copy: mode, ..PortConfig::default() };
            let port = Port::open(&bed.ifb, 0, &config).expect("open");
            assert_eq!(port.mode(), BindMode::Copy, "{mode:?}");
            assert_eq!(port.binding(), (bed.ifb.as_str(), 0));
        }
        assert!(Port::open(&bed.ifb, 1, &PortConfig::default()).is_err(), "veth has 1 queue");
        assert!(Port::open("nonexistent0", 0, &PortConfig::default()).is_err());
    });
}

#[test]
fn syns_reach_user_space_and_our_rsts_reach_the_peer() {
    if !root_or_skip("syns_reach_user_space_and_our_rsts_reach_the_peer") {
        return;
    }
    let bed = VethPair::new('q', ADDR_A, ADDR_B);
    bed.checksums_in_software_on_a();
    let _server = bed.echo_server(&[OTHER]);
    bed.in_b(|| {
        let mut steering = Steering::load(&steer_config()).expect("load");
        steering.attach(&bed.ifb, AttachMode::Generic).expect("attach");
        let mut port = Port::open(&bed.ifb, 0, &PortConfig::default()).expect("open");
        port.register(&mut steering).expect("register");
        let before = steering.counters().expect("counters");

        const CONNECTS: usize = 3;
        let args = [ADDR_B.to_string(), SERVICE.to_string(), CONNECTS.to_string()];
        let mut client = bed.python(&bed.a, REFUSED_CLIENT, &args).spawn().expect("python3");
        let (refused, seen, odd) = answer_with_rsts(&mut port, &mut client);
        assert!(refused, "every connect refused by our RST; received {seen:?}, odd {odd:?}");
        assert!(odd.is_empty(), "only TCP is steered: {odd:?}");
        assert_eq!(seen.len(), CONNECTS, "one SYN per connect: {seen:?}");
        for syn in &seen {
            assert_eq!((syn.src, syn.dst), (IpAddr::from(ADDR_A), IpAddr::from(ADDR_B)));
            assert_eq!(syn.dst_port, SERVICE);
            assert!(syn.syn_only, "{syn:?}");
        }
        let mut ports: Vec<u16> = seen.iter().map(|s| s.src_port).collect();
        ports.dedup();
        assert_eq!(ports.len(), CONNECTS, "three connections: {seen:?}");

        let delta = steering.counters().expect("counters").since(&before);
        assert_eq!(delta.get(Counter::Redirected), CONNECTS as u64, "{delta}");
        drain_completions(&mut port);
        let counters = port.counters();
        assert_eq!((counters.rx, counters.tx), (3, 3), "{counters}");
        assert_eq!(counters.completions, 3, "{counters}");
        assert_eq!(port.tx_in_use(), 0);
        let kernel = port.kernel_counters().expect("XDP_STATISTICS");
        assert_eq!(kernel.rx_dropped + kernel.rx_invalid_descs + kernel.tx_invalid_descs, 0);

        // Traffic not steered still reaches the kernel while the socket is bound.
        assert!(bed.ping(), "ping passes");
        assert!(bed.tcp_echo(OTHER), "TCP to another port passes");
        let delta = steering.counters().expect("counters").since(&before);
        assert!(delta.get(Counter::PassNoMatch) >= 4, "{delta}");
        assert_eq!(delta.get(Counter::Redirected), CONNECTS as u64, "{delta}");
        assert_eq!(port.recv(64, |_| ()).expect("recv"), 0, "nothing else arrived");
    });
}

/// Waits until the steering program has redirected `count` frames since `before`.
fn wait_redirected(steering: &Steering, before: &crate::xdp::Counters, count: u64) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let delta = steering.counters().expect("counters").since(before);
        if delta.get(Counter::Redirected) >= count {
            return;
        }
        assert!(Instant::now() < deadline, "only {delta}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn recv_takes_at_most_max_and_one_kick_sends_a_batch() {
    if !root_or_skip("recv_takes_at_most_max_and_one_kick_sends_a_batch") {
        return;
    }
    let bed = VethPair::new('q', ADDR_A, ADDR_B);
    bed.checksums_in_software_on_a();
    bed.in_b(|| {
        let mut steering = Steering::load(&steer_config()).expect("load");
        steering.attach(&bed.ifb, AttachMode::Generic).expect("attach");
        let config = PortConfig { rx_batch: 8, ..PortConfig::default() };
        let mut port = Port::open(&bed.ifb, 0, &config).expect("open");
        port.register(&mut steering).expect("register");
        let before = steering.counters().expect("counters");

        let args = [ADDR_B.to_string(), SERVICE.to_string(), "5".to_string()];
        let mut client = bed.python(&bed.a, REFUSED_BURST, &args).spawn().expect("python3");
        wait_redirected(&steering, &before, 5);
        let mut replies = Vec::new();
        let mut take = |port: &mut Port, max: usize| {
            port.recv(max, |bytes| match parse_frame(bytes, ChecksumPolicy::Verify) {
                Ok(Frame::Tcp(syn)) => replies.push(rst_for(&syn)),
                other => panic!("only SYNs steered: {other:?}"),
            })
            .expect("recv")
        };
        assert_eq!(take(&mut port, 3), 3, "at most max");
        assert_eq!(take(&mut port, 64), 2, "the rest");
        assert_eq!(take(&mut port, 64), 0, "empty");
        for reply in &replies {
            let mut slot = port.tx_slot().expect("a free TX frame");
            let len = reply.emit(slot.buf());
            slot.submit(len);
        }
        assert_eq!(port.kick().expect("kick"), 5, "one kick, five frames");
        let status = client.wait().expect("client");
        assert!(status.success(), "all five refused by our RSTs");
        drain_completions(&mut port);
        assert_eq!(port.counters().completions, 5, "{}", port.counters());
        // The fill ring was topped up after each batch: the RX share is back in the kernel.
        assert_eq!(port.rx_in_kernel, port.budget().rx);
    });
}

#[test]
fn tx_frames_are_bounded_and_come_back() {
    if !root_or_skip("tx_frames_are_bounded_and_come_back") {
        return;
    }
    let bed = VethPair::new('q', ADDR_A, ADDR_B);
    bed.checksums_in_software_on_a();
    bed.in_b(|| {
        let config = PortConfig { frames: 64, tx_ring: 16, ..PortConfig::default() };
        let mut port = Port::open(&bed.ifb, 0, &config).expect("open");
        assert_eq!(port.budget().tx, 16);
        assert_eq!(port.frame_capacity(), 1792);
        // Frames to nobody (an unassigned unicast MAC, a local experimental EtherType): the
        // peer drops them, the completion ring returns them.
        let frame = [[0x02, 0, 0, 0, 0, 0x99], [0x02, 0, 0, 0, 0, 0x98]].concat();
        for _ in 0..16 {
            let mut slot = port.tx_slot().expect("within the budget");
            assert_eq!(slot.buf().len(), 1792);
            slot.buf()[..12].copy_from_slice(&frame);
            slot.buf()[12..14].copy_from_slice(&0x88b5u16.to_be_bytes());
            slot.submit(60);
        }
        assert!(port.tx_slot().is_none(), "every TX frame queued");
        assert_eq!(port.counters().tx_no_frame, 1);
        assert_eq!(port.kick().expect("kick"), 16);
        drain_completions(&mut port);
        assert_eq!(port.tx_in_use(), 0, "{}", port.counters());
        assert_eq!(port.counters().completions, 16);
        // A slot dropped unsubmitted goes back to the free list.
        drop(port.tx_slot().expect("free again"));
        assert_eq!(port.tx_in_use(), 0);
        assert_eq!(port.kick().expect("kick"), 0);
    });
}
