//! Unit tests of the entry filter, and root tests against a real kernel: a pair of network
//! namespaces joined by a veth. The test process cannot enter a namespace without `unsafe`
//! (`setns`), so each root test re-runs itself inside namespace `a` under `ip netns exec`,
//! with what it needs to know in environment variables. Without root they print SKIPPED.

use std::net::{IpAddr, Ipv4Addr};
use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

use netlink_packet_route::AddressFamily;
use netlink_packet_route::neighbour::NeighbourState;
use netlink_packet_route::neighbour::{NeighbourAddress, NeighbourAttribute, NeighbourMessage};

use super::{Link, Neighbours, mac_of, usable_entry};

const PEER: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);
const NOBODY: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 99);
const BEHIND_PEER: Ipv4Addr = Ipv4Addr::new(10, 88, 0, 5);
const CHILD_ENV: &str = "NETREAKTOR_NEIGH_CHILD_MAC";

fn entry(state: NeighbourState, mac: &[u8]) -> NeighbourMessage {
    let mut msg = NeighbourMessage::default();
    msg.header.family = AddressFamily::Inet;
    msg.header.ifindex = 7;
    msg.header.state = state;
    msg.attributes.push(NeighbourAttribute::Destination(NeighbourAddress::Inet(PEER)));
    msg.attributes.push(NeighbourAttribute::LinkLayerAddress(mac.to_vec()));
    msg
}

#[test]
fn entries_without_a_usable_mac_are_left_out() {
    let mac = [2, 0, 0, 0, 0, 1];
    let key = (7, IpAddr::V4(PEER));
    assert_eq!(usable_entry(&entry(NeighbourState::Reachable, &mac)), Some((key, mac)));
    assert_eq!(usable_entry(&entry(NeighbourState::Stale, &mac)), Some((key, mac)));
    assert_eq!(usable_entry(&entry(NeighbourState::Incomplete, &mac)), None);
    assert_eq!(usable_entry(&entry(NeighbourState::Failed, &mac)), None);
    assert_eq!(usable_entry(&entry(NeighbourState::Reachable, &mac[..4])), None);
    assert_eq!(mac_of(&[1, 2, 3, 4, 5, 6, 7]), None);
}

#[test]
fn link_converts_from_index_and_name() {
    assert_eq!(Link::from(3), Link::Index(3));
    assert_eq!(Link::from("eth0"), Link::Name("eth0"));
}

/// Two namespaces, `a` (a0 10.77.0.1/24) and `b` (b0 10.77.0.2/24), deleted on drop.
struct NsPair {
    a: String,
    b: String,
}

impl NsPair {
    fn create(tag: &str) -> Self {
        let prefix = format!("nrneigh{}-{tag}", std::process::id());
        let pair = Self { a: format!("{prefix}-a"), b: format!("{prefix}-b") };
        let (a, b) = (pair.a.as_str(), pair.b.as_str());
        for args in [
            vec!["netns", "add", a],
            vec!["netns", "add", b],
            vec!["link", "add", "a0", "netns", a, "type", "veth", "peer", "name", "b0", "netns", b],
            vec!["-n", a, "addr", "add", "10.77.0.1/24", "dev", "a0"],
            vec!["-n", b, "addr", "add", "10.77.0.2/24", "dev", "b0"],
            vec!["-n", a, "link", "set", "a0", "up"],
            vec!["-n", b, "link", "set", "b0", "up"],
            vec!["-n", a, "route", "add", "10.88.0.0/24", "via", "10.77.0.2"],
        ] {
            ip(&args);
        }
        pair
    }

    fn peer_mac(&self) -> String {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.b, "cat", "/sys/class/net/b0/address"])
            .output()
            .expect("ip netns exec runs");
        String::from_utf8(out.stdout).expect("sysfs addresses are ASCII").trim().to_owned()
    }

    /// Runs test `name` of this binary inside namespace `a`, with the peer's MAC in the
    /// environment, and fails if it fails.
    fn run_in_a(&self, name: &str) {
        let exe = std::env::current_exe().expect("the test binary has a path");
        let status = Command::new("ip")
            .args(["netns", "exec", &self.a])
            .arg(exe)
            .args([name, "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, self.peer_mac())
            .status()
            .expect("ip netns exec runs");
        assert!(status.success(), "{name} failed inside namespace {}", self.a);
    }
}

impl Drop for NsPair {
    fn drop(&mut self) {
        for ns in [&self.a, &self.b] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

fn ip(args: &[&str]) {
    let status = Command::new("ip").args(args).status().expect("ip runs");
    assert!(status.success(), "ip {}", args.join(" "));
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("Uid:"))?.to_owned();
            line.split_whitespace().nth(2).map(|euid| euid == "0")
        })
        .unwrap_or(false)
}

/// In the child: the peer's MAC as bytes. In the parent: `None` after setting up and running
/// the child (or skipping without root).
fn child_or_spawn(tag: &str, name: &str) -> Option<[u8; 6]> {
    if let Ok(text) = std::env::var(CHILD_ENV) {
        let bytes: Vec<u8> =
            text.split(':').map(|h| u8::from_str_radix(h, 16).expect("hex MAC")).collect();
        return Some(mac_of(&bytes).expect("6-byte MAC"));
    }
    if !is_root() {
        eprintln!("SKIPPED {name}: needs root (network namespaces)");
        return None;
    }
    NsPair::create(tag).run_in_a(name);
    None
}

fn poll(mut f: impl FnMut() -> Option<[u8; 6]>) -> Option<[u8; 6]> {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        if let Some(mac) = f() {
            return Some(mac);
        }
        if Instant::now() > deadline {
            return None;
        }
        sleep(Duration::from_millis(20));
    }
}

#[test]
fn unknown_peer_is_none_then_resolves_after_solicit() {
    let Some(peer_mac) =
        child_or_spawn("solicit", "neigh::tests::unknown_peer_is_none_then_resolves_after_solicit")
    else {
        return;
    };
    let peer = IpAddr::V4(PEER);
    let mut n = Neighbours::open().expect("netlink socket");
    assert_eq!(n.lookup("a0", peer), None, "a fresh namespace knows no neighbour");
    assert_eq!(n.resolve("a0", peer).expect("dump"), None);
    assert_eq!(n.lookup("nosuchif0", peer), None);
    Neighbours::solicit(peer).expect("solicit");
    Neighbours::solicit(IpAddr::V4(NOBODY)).expect("solicit");
    let found = poll(|| n.resolve("a0", peer).expect("dump"));
    assert_eq!(found, Some(peer_mac));
    let index = n.route_next_hop(peer).expect("route").expect("on-link").0;
    assert_eq!(n.lookup(index, peer), Some(peer_mac), "by index as by name");
    sleep(Duration::from_millis(300));
    assert_eq!(n.resolve("a0", IpAddr::V4(NOBODY)).expect("dump"), None, "nobody answers");
}

#[test]
fn route_next_hop_is_the_destination_or_the_gateway() {
    let Some(peer_mac) =
        child_or_spawn("route", "neigh::tests::route_next_hop_is_the_destination_or_the_gateway")
    else {
        return;
    };
    let mut n = Neighbours::open().expect("netlink socket");
    let a0 = n.route_next_hop(IpAddr::V4(PEER)).expect("route").expect("on-link").0;
    assert_eq!(n.route_next_hop(IpAddr::V4(PEER)).expect("route"), Some((a0, IpAddr::V4(PEER))));
    let via = n.route_next_hop(IpAddr::V4(BEHIND_PEER)).expect("route");
    assert_eq!(via, Some((a0, IpAddr::V4(PEER))), "behind the gateway");
    let none = n.route_next_hop(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))).expect("route");
    assert_eq!(none, None, "no default route in the namespace");
    // The gateway's MAC: unknown at first, solicited through the destination behind it.
    assert_eq!(n.next_hop_mac(IpAddr::V4(BEHIND_PEER)).expect("lookup"), None);
    let found = poll(|| n.next_hop_mac(IpAddr::V4(BEHIND_PEER)).expect("lookup").map(|h| h.1));
    assert_eq!(found, Some(peer_mac));
}
