//! Root-only tests over a real veth pair between two fresh network namespaces: `a` (the peer)
//! and `b` (the appliance side, where the program is attached). Each test names its namespaces
//! after the process id and a counter and deletes them on drop, also on failure.
//!
//! What is asserted: with no AF_XDP socket bound, steered TCP is counted as `steer_no_xsk` and
//! passed (so a kernel listener still answers it), never `redirected`; ping (ICMP,
//! `pass_not_tcp`), ARP (`pass_not_ip`) and TCP to other ports (`pass_no_match`) pass; detaching
//! leaves the interface without XDP; a leaked link or a netlink-attached `nr_steer` is removed
//! by the next attach.

use std::net::Ipv4Addr;

use super::super::{
    ActiveMode, AttachMode, Counter, SteerConfig, Steering, maps::OriginPorts, stale,
};
use super::root_or_skip;
use crate::testnet::{VethPair, ip};

const ADDR_A: Ipv4Addr = Ipv4Addr::new(10, 203, 0, 1);
const ADDR_B: Ipv4Addr = Ipv4Addr::new(10, 203, 0, 2);
/// A port of `b` the program steers (service), and one it does not.
const STEERED: u16 = 8080;
const OTHER: u16 = 9090;
/// In `b`'s origin-side range, and just past it.
const ORIGIN_IN: u16 = 40050;
const ORIGIN_PAST: u16 = 40100;

fn config() -> SteerConfig {
    SteerConfig {
        services: vec![(ADDR_B.into(), STEERED)],
        origins: vec![OriginPorts { addr: ADDR_B.into(), ports: 40000..=40099 }],
    }
}

#[test]
fn generic_mode_steers_counts_and_passes_the_rest() {
    if !root_or_skip("generic_mode_steers_counts_and_passes_the_rest") {
        return;
    }
    let bed = VethPair::new('x', ADDR_A, ADDR_B);
    let _server = bed.echo_server(&[STEERED, OTHER, ORIGIN_IN, ORIGIN_PAST]);
    bed.in_b(|| {
        let mut steering = Steering::load(&config()).expect("load");
        let mode = steering.attach(&bed.ifb, AttachMode::Generic).expect("attach");
        assert_eq!(mode, ActiveMode::Generic);
        let details = bed.link_details();
        assert!(details.contains("xdpgeneric") && details.contains("name nr_steer"), "{details}");

        let mut last = steering.counters().expect("counters");
        let mut step = |what: &str, ok: bool, counter: Counter, at_least: u64| {
            assert!(ok, "{what}: traffic failed");
            let now = steering.counters().expect("counters");
            let delta = now.since(&last);
            assert!(delta.get(counter) >= at_least, "{what}: {counter:?} {delta}");
            assert_eq!(
                delta.get(Counter::Redirected),
                0,
                "{what}: no XSK bound, nothing redirected"
            );
            last = now;
            delta
        };
        // The first packet from `a` is its ARP request for b.
        let first = step("ping (and ARP)", bed.ping(), Counter::PassNotTcp, 2);
        assert!(first.get(Counter::PassNotIp) >= 1, "ARP counted as pass_not_ip: {first}");
        // SYN, ACK, data, FIN, ACK at least: each counted, each passed to the listener.
        step("service port", bed.tcp_echo(STEERED), Counter::SteerNoXsk, 4);
        step("other port", bed.tcp_echo(OTHER), Counter::PassNoMatch, 4);
        step("origin-side port in range", bed.tcp_echo(ORIGIN_IN), Counter::SteerNoXsk, 4);
        step("origin-side port past range", bed.tcp_echo(ORIGIN_PAST), Counter::PassNoMatch, 4);

        steering.detach().expect("detach");
        assert!(!bed.link_details().contains("xdp"), "detached: {}", bed.link_details());
        assert!(stale::attached_programs(&bed.ifb).expect("ip").is_empty());
    });
}

#[test]
fn native_mode_on_veth_and_drop_detaches() {
    if !root_or_skip("native_mode_on_veth_and_drop_detaches") {
        return;
    }
    let bed = VethPair::new('x', ADDR_A, ADDR_B);
    let _server = bed.echo_server(&[STEERED]);
    bed.in_b(|| {
        let mut steering = Steering::load(&config()).expect("load");
        let mode = steering.attach(&bed.ifb, AttachMode::Native).expect("attach");
        assert_eq!(mode, ActiveMode::Native, "veth has native XDP");
        let details = bed.link_details();
        assert!(details.contains(" xdp ") && details.contains("name nr_steer"), "{details}");
        assert!(bed.ping(), "ping passes in native mode");
        assert!(bed.tcp_echo(STEERED), "steered TCP passes without an XSK");
        let counters = steering.counters().expect("counters");
        assert!(counters.get(Counter::SteerNoXsk) >= 4, "{counters}");
        assert!(counters.get(Counter::PassNotTcp) >= 2, "{counters}");
        drop(steering);
        assert!(!bed.link_details().contains("xdp"), "dropped: {}", bed.link_details());
    });
}

#[test]
fn auto_mode_prefers_native_and_falls_back_to_generic() {
    if !root_or_skip("auto_mode_prefers_native_and_falls_back_to_generic") {
        return;
    }
    let bed = VethPair::new('x', ADDR_A, ADDR_B);
    bed.in_b(|| {
        let mut steering = Steering::load(&config()).expect("load");
        assert_eq!(
            steering.attach(&bed.ifb, AttachMode::Auto).expect("attach"),
            ActiveMode::Native
        );
        assert_eq!(steering.attachment().expect("attached").native_error, None);
        steering.detach().expect("detach");

        // Loopback (this namespace's own) has no driver XDP: Auto falls back to generic and
        // says why.
        let lo = "lo";
        assert_eq!(steering.attach(lo, AttachMode::Auto).expect("attach"), ActiveMode::Generic);
        let attachment = steering.attachment().expect("attached");
        assert!(attachment.native_error.is_some(), "{attachment:?}");
        assert!(steering.attach(lo, AttachMode::Auto).is_err(), "one interface at a time");
        steering.detach().expect("detach");
        assert!(stale::attached_programs(lo).expect("ip").is_empty());
        assert!(Steering::load(&config()).expect("load").attach(lo, AttachMode::Native).is_err());
    });
}

#[test]
fn stale_programs_are_removed_on_attach() {
    if !root_or_skip("stale_programs_are_removed_on_attach") {
        return;
    }
    let bed = VethPair::new('x', ADDR_A, ADDR_B);
    bed.in_b(|| {
        // A "crashed" instance whose link outlived it: leak it, fds and all.
        let mut leaked = Steering::load(&config()).expect("load");
        leaked.attach(&bed.ifb, AttachMode::Generic).expect("attach");
        let leaked_ids = stale::attached_programs(&bed.ifb).expect("ip");
        std::mem::forget(leaked);

        let mut steering = Steering::load(&config()).expect("load");
        steering.attach(&bed.ifb, AttachMode::Generic).expect("attach over a leaked link");
        let removed = &steering.attachment().expect("attached").removed_stale;
        assert_eq!(*removed, leaked_ids.iter().map(|p| p.id).collect::<Vec<_>>());
        let now = stale::attached_programs(&bed.ifb).expect("ip");
        assert_eq!(now.len(), 1);
        assert_ne!(now[0].id, removed[0]);
        drop(steering);
        assert!(stale::attached_programs(&bed.ifb).expect("ip").is_empty());

        // A program attached through netlink (as by an older kernel or `ip link`).
        let object = concat!(env!("CARGO_MANIFEST_DIR"), "/src/xdp/steer.bpf.o");
        ip(&["link", "set", "dev", &bed.ifb, "xdpgeneric", "obj", object, "sec", "xdp"]);
        assert_eq!(stale::attached_programs(&bed.ifb).expect("ip").len(), 1);
        let mut steering = Steering::load(&config()).expect("load");
        steering.attach(&bed.ifb, AttachMode::Auto).expect("attach over a netlink program");
        assert_eq!(steering.attachment().expect("attached").removed_stale.len(), 1);
        steering.detach().expect("detach");
        assert!(!bed.link_details().contains("xdp"), "{}", bed.link_details());
    });
}
