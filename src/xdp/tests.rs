//! Unit tests of the map layouts and `ip` parsing (anywhere), and, as root only, tests of the
//! loaded program: `BPF_PROG_TEST_RUN` on crafted frames, and real traffic over veth between two
//! network namespaces (see `veth.rs`).

mod frames;
mod veth;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use aya::programs::{TestRun, TestRunOptions};

use super::maps::{OriginPorts, key};
use super::stale::{AttachedProgram, ensure_ours, parse_ip_link};
use super::*;

/// True when running as root; otherwise prints why the test is skipped.
fn root_or_skip(test: &str) -> bool {
    crate::testnet::root_or_skip(test, "loads BPF programs, creates namespaces")
}

const SERVICE_V4: Ipv4Addr = Ipv4Addr::new(10, 201, 0, 2);
const SERVICE_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x201, 0, 0, 0, 0, 0, 2);
const ORIGIN_V4: Ipv4Addr = Ipv4Addr::new(10, 202, 0, 1);

fn test_config() -> SteerConfig {
    SteerConfig {
        services: vec![(SERVICE_V4.into(), 8080), (SERVICE_V6.into(), 443)],
        origins: vec![OriginPorts { addr: ORIGIN_V4.into(), ports: 40000..=40099 }],
    }
}

#[test]
fn key_layout_matches_struct_nr_key() {
    let k = key(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), 0x1f90);
    assert_eq!(k[..8], [4, 0, 0x1f, 0x90, 192, 0, 2, 1]);
    assert!(k[8..].iter().all(|b| *b == 0));
    let k = key(IpAddr::V6(Ipv6Addr::LOCALHOST), 443);
    assert_eq!(k[..4], [6, 0, 1, 187]);
    assert_eq!(k[19], 1);
}

#[test]
fn guarded_keys_hold_each_service_address_once() {
    let mut config = test_config();
    config.services.push((SERVICE_V4.into(), 8443));
    let keys = config.guarded_keys();
    assert_eq!(keys, vec![key(SERVICE_V4.into(), 0), key(SERVICE_V6.into(), 0)]);
}

#[test]
fn config_validation() {
    assert!(test_config().validate().is_ok());
    let mut twice = test_config();
    twice.origins.push(twice.origins[0].clone());
    assert!(twice.validate().is_err());
    let mut empty = test_config();
    #[expect(clippy::reversed_empty_ranges, reason = "the empty range is the point")]
    let nothing = 10..=9;
    empty.origins[0].ports = nothing;
    assert!(empty.validate().is_err());
}

#[test]
fn counters_since_and_display() {
    let before = Counters::from_totals([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    let after = Counters::from_totals([2, 2, 5, 4, 5, 6, 7, 9, 9, 10]);
    let delta = after.since(&before);
    assert_eq!(delta.get(Counter::Redirected), 1);
    assert_eq!(delta.get(Counter::PassNotIp), 2);
    assert_eq!(delta.get(Counter::PassMalformed), 1);
    assert!(delta.to_string().starts_with("redirected=1 steer_no_xsk=0"));
    for (i, c) in Counter::ALL.iter().enumerate() {
        assert_eq!(c.index() as usize, i);
    }
}

#[test]
fn parses_ip_link_xdp_entries() {
    let generic = "5: b@a: <BROADCAST> mtu 1500 xdpgeneric qdisc noop state DOWN\n    \
        link/ether 8e:b8:a0:ce:b2:19 brd ff:ff:ff:ff:ff:ff promiscuity 0\n    \
        prog/xdp id 102 name nr_steer tag 94f9fa89d8aef2f1 jited load_time 1 btf_id 22\n";
    assert_eq!(parse_ip_link(generic), vec![AttachedProgram { id: 102, name: "nr_steer".into() }]);
    let multi = "mtu 1500 xdpmulti\n prog/xdpgeneric id 7 name a tag x\n prog/xdpdrv id 9 name b";
    let ids: Vec<u32> = parse_ip_link(multi).iter().map(|p| p.id).collect();
    assert_eq!(ids, vec![7, 9]);
    assert!(parse_ip_link("5: a: <UP> mtu 1500 qdisc noqueue\n").is_empty());
}

#[test]
fn only_our_programs_are_removed() {
    let ours = AttachedProgram { id: 1, name: PROGRAM_NAME.into() };
    let theirs = AttachedProgram { id: 2, name: "xdp_firewall".into() };
    assert!(ensure_ours("eth0", std::slice::from_ref(&ours)).is_ok());
    assert!(ensure_ours("eth0", &[]).is_ok());
    let error = ensure_ours("eth0", &[ours, theirs]).expect_err("foreign program refused");
    assert!(error.to_string().contains("xdp_firewall"), "{error}");
}

/// Runs `frame` through the loaded program and returns (verdict, the one counter that moved).
fn run_frame(steering: &mut Steering, frame: &[u8]) -> (u32, Vec<Counter>) {
    let before = steering.counters().expect("counters readable");
    let options = TestRunOptions { data_in: Some(frame), ..TestRunOptions::new() };
    let result = steering.program().expect("program").test_run(options).expect("test run");
    let delta = steering.counters().expect("counters readable").since(&before);
    let moved = Counter::ALL.into_iter().filter(|c| delta.get(*c) != 0).collect();
    (result.return_value, moved)
}

const XDP_DROP: u32 = 1;
const XDP_PASS: u32 = 2;

/// The verdict a frame counted as `counter` gets (no AF_XDP socket is bound in these tests).
fn verdict_of(counter: Counter) -> u32 {
    match counter {
        Counter::DropFragment | Counter::DropUnsteerable => XDP_DROP,
        _ => XDP_PASS,
    }
}

#[test]
fn program_classifies_crafted_frames() {
    if !root_or_skip("program_classifies_crafted_frames") {
        return;
    }
    let mut steering = Steering::load(&test_config()).expect("load");
    assert_eq!(steering.xsk_map().len(), 64, "xsks holds one entry per rx queue, up to 64");
    let not_xsk = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp socket");
    assert!(steering.bind_queue(0, &not_xsk).is_err(), "the kernel takes only AF_XDP sockets");
    use frames::*;
    let cases: Vec<(&str, Vec<u8>, Counter)> = vec![
        ("service v4", eth(ETH_IPV4, &ipv4(SERVICE_V4, 5, 0, &tcp(8080))), Counter::SteerNoXsk),
        (
            "service v4, other port",
            eth(ETH_IPV4, &ipv4(SERVICE_V4, 5, 0, &tcp(8081))),
            Counter::PassNoMatch,
        ),
        ("other address", eth(ETH_IPV4, &ipv4(ORIGIN_V4, 5, 0, &tcp(8080))), Counter::PassNoMatch),
        (
            "IHL 6 (options)",
            eth(ETH_IPV4, &ipv4(SERVICE_V4, 6, 0, &tcp(8080))),
            Counter::SteerNoXsk,
        ),
        (
            "IHL 15 (40 bytes of options)",
            eth(ETH_IPV4, &ipv4(SERVICE_V4, 15, 0, &tcp(8080))),
            Counter::SteerNoXsk,
        ),
        (
            "IHL 15, TCP past the end",
            eth(ETH_IPV4, &claim_ihl(ipv4(SERVICE_V4, 5, 0, &tcp(8080)), 15)),
            Counter::DropUnsteerable,
        ),
        (
            "other address, TCP past the end",
            eth(ETH_IPV4, &claim_ihl(ipv4(ORIGIN_V4, 5, 0, &tcp(40000)), 15)),
            Counter::PassMalformed,
        ),
        ("IHL 4", eth(ETH_IPV4, &ipv4(SERVICE_V4, 4, 0, &tcp(8080))), Counter::PassMalformed),
        (
            "VLAN service v4",
            vlan(ETH_IPV4, &ipv4(SERVICE_V4, 5, 0, &tcp(8080))),
            Counter::SteerNoXsk,
        ),
        (
            "fragment (MF)",
            eth(ETH_IPV4, &ipv4(SERVICE_V4, 5, 0x2000, &tcp(8080))),
            Counter::DropFragment,
        ),
        (
            "fragment (offset)",
            eth(ETH_IPV4, &ipv4(SERVICE_V4, 5, 0x0010, &tcp(8080))),
            Counter::DropFragment,
        ),
        (
            "fragment (MF), service address, other port",
            eth(ETH_IPV4, &ipv4(SERVICE_V4, 5, 0x2000, &tcp(22))),
            Counter::DropFragment,
        ),
        (
            "first fragment, origin-side port",
            eth(ETH_IPV4, &ipv4(ORIGIN_V4, 5, 0x2000, &tcp(40000))),
            Counter::DropFragment,
        ),
        (
            "first fragment, origin-side address, other port",
            eth(ETH_IPV4, &ipv4(ORIGIN_V4, 5, 0x2000, &tcp(22))),
            Counter::PassFragment,
        ),
        (
            "later fragment, origin-side address (no port to see)",
            eth(ETH_IPV4, &ipv4(ORIGIN_V4, 5, 0x0010, &tcp(40000))),
            Counter::PassFragment,
        ),
        (
            "UDP fragment, service address",
            eth(ETH_IPV4, &as_fragment(ipv4_proto(SERVICE_V4, 17, &tcp(8080)))),
            Counter::PassNotTcp,
        ),
        (
            "origin first port",
            eth(ETH_IPV4, &ipv4(ORIGIN_V4, 5, 0, &tcp(40000))),
            Counter::SteerNoXsk,
        ),
        (
            "origin last port",
            eth(ETH_IPV4, &ipv4(ORIGIN_V4, 5, 0, &tcp(40099))),
            Counter::SteerNoXsk,
        ),
        (
            "origin past range",
            eth(ETH_IPV4, &ipv4(ORIGIN_V4, 5, 0, &tcp(40100))),
            Counter::PassNoMatch,
        ),
        (
            "origin below range",
            eth(ETH_IPV4, &ipv4(ORIGIN_V4, 5, 0, &tcp(39999))),
            Counter::PassNoMatch,
        ),
        ("service v6", eth(ETH_IPV6, &ipv6(SERVICE_V6, 6, &tcp(443))), Counter::SteerNoXsk),
        ("VLAN service v6", vlan(ETH_IPV6, &ipv6(SERVICE_V6, 6, &tcp(443))), Counter::SteerNoXsk),
        (
            "v6 hop-by-hop",
            eth(ETH_IPV6, &ipv6(SERVICE_V6, 0, &cat(&[&ext8(6, 0), &tcp(443)]))),
            Counter::SteerNoXsk,
        ),
        (
            "v6 hop-by-hop, destination options, routing (Segments Left 0)",
            eth(
                ETH_IPV6,
                &ipv6(SERVICE_V6, 0, &cat(&[&ext8(60, 0), &ext8(43, 0), &ext8(6, 0), &tcp(443)])),
            ),
            Counter::SteerNoXsk,
        ),
        (
            "v6 destination options, 16 bytes",
            eth(ETH_IPV6, &ipv6(SERVICE_V6, 60, &cat(&[&[6, 1], &[0; 14], &tcp(443)]))),
            Counter::SteerNoXsk,
        ),
        (
            "v6 routing, Segments Left 2: not the final destination",
            eth(ETH_IPV6, &ipv6(SERVICE_V6, 43, &cat(&[&ext8(6, 2), &tcp(443)]))),
            Counter::DropUnsteerable,
        ),
        (
            "v6 five headers: more than the walk follows",
            eth(
                ETH_IPV6,
                &ipv6(
                    SERVICE_V6,
                    0,
                    &cat(&[&ext8(60, 0), &ext8(60, 0), &ext8(60, 0), &ext8(60, 0), &ext8(6, 0)]),
                ),
            ),
            Counter::DropUnsteerable,
        ),
        (
            "v6 hop-by-hop not first",
            eth(ETH_IPV6, &ipv6(SERVICE_V6, 60, &cat(&[&ext8(0, 0), &ext8(6, 0), &tcp(443)]))),
            Counter::DropUnsteerable,
        ),
        (
            "v6 AH to a service address",
            eth(ETH_IPV6, &ipv6(SERVICE_V6, 51, &tcp(443))),
            Counter::DropUnsteerable,
        ),
        (
            "v6 AH to another address",
            eth(ETH_IPV6, &ipv6(Ipv6Addr::LOCALHOST, 51, &tcp(443))),
            Counter::PassIpv6Ext,
        ),
        (
            "v6 extension header truncated",
            eth(ETH_IPV6, &ipv6(SERVICE_V6, 60, &[6, 0, 0])),
            Counter::DropUnsteerable,
        ),
        (
            "v6 hop-by-hop, ICMPv6 (MLD)",
            eth(ETH_IPV6, &ipv6(SERVICE_V6, 0, &cat(&[&ext8(58, 0), &[0; 24]]))),
            Counter::PassNotTcp,
        ),
        (
            "v6 first fragment",
            eth(ETH_IPV6, &ipv6(SERVICE_V6, 44, &cat(&[&frag6(6, 0, true), &tcp(443)]))),
            Counter::DropFragment,
        ),
        (
            "v6 later fragment",
            eth(ETH_IPV6, &ipv6(SERVICE_V6, 44, &cat(&[&frag6(6, 1232, false), &[0; 24]]))),
            Counter::DropFragment,
        ),
        (
            "v6 hop-by-hop, then a fragment",
            eth(
                ETH_IPV6,
                &ipv6(SERVICE_V6, 0, &cat(&[&ext8(44, 0), &frag6(6, 8, true), &[0; 24]])),
            ),
            Counter::DropFragment,
        ),
        (
            "v6 fragment, other address",
            eth(ETH_IPV6, &ipv6(Ipv6Addr::LOCALHOST, 44, &cat(&[&frag6(6, 0, true), &tcp(443)]))),
            Counter::PassFragment,
        ),
        (
            "v6 UDP fragment, service address",
            eth(ETH_IPV6, &ipv6(SERVICE_V6, 44, &cat(&[&frag6(17, 0, true), &[0; 8]]))),
            Counter::PassNotTcp,
        ),
        ("ICMPv6", eth(ETH_IPV6, &ipv6(SERVICE_V6, 58, &tcp(443))), Counter::PassNotTcp),
        (
            "v6 TCP truncated",
            eth(ETH_IPV6, &ipv6(SERVICE_V6, 6, &tcp(443)[..10])),
            Counter::DropUnsteerable,
        ),
        ("UDP", eth(ETH_IPV4, &ipv4_proto(SERVICE_V4, 17, &tcp(8080))), Counter::PassNotTcp),
        ("ARP", eth(0x0806, &[0u8; 28]), Counter::PassNotIp),
        (
            "double VLAN",
            vlan(0x8100, &vlan_tag(ETH_IPV4, &ipv4(SERVICE_V4, 5, 0, &tcp(8080)))),
            Counter::PassNotIp,
        ),
        ("IPv4 truncated", eth(ETH_IPV4, &[0x45, 0, 0, 20]), Counter::PassMalformed),
        ("VLAN truncated", eth(0x8100, &[0, 1]), Counter::PassMalformed),
    ];
    for (name, frame, expected) in cases {
        let (verdict, moved) = run_frame(&mut steering, &frame);
        assert_eq!(verdict, verdict_of(expected), "{name}: verdict");
        assert_eq!(moved, vec![expected], "{name}: counters");
    }
}
