//! The link layer of the frames a worker sends: its interfaces' MACs, and the next hop's MAC
//! from the kernel's neighbour table ([`crate::neigh`]), cached per worker.
//!
//! A destination without a known next hop has its packet dropped (TCP retransmits it) while
//! the kernel is asked to resolve it; misses are retried at most every [`RETRY`]. Entries are
//! re-read after [`TTL`], so a next hop that changed its MAC is followed. The cache is bounded
//! ([`MAX_ENTRIES`]) and a worker waits for a solicitation at most once per [`WAIT_PERIOD`],
//! so a flood from random source addresses costs memory and time within fixed bounds.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::neigh::Neighbours;

/// How long a cached MAC is used before the kernel's table is read again.
const TTL: Duration = Duration::from_secs(30);

/// How long after a miss the kernel is asked again.
const RETRY: Duration = Duration::from_millis(100);

/// How long a first lookup waits for the kernel to resolve a next hop it just solicited.
/// Next hops are few (the access router, the origins), so a worker pauses this long rarely;
/// dropping the packet instead would cost the peer a whole SYN retransmission timeout (1 s).
const FIRST_WAIT: Duration = Duration::from_millis(20);

/// An interface's MAC, from sysfs.
pub(crate) fn interface_mac(interface: &str) -> anyhow::Result<[u8; 6]> {
    let path = format!("/sys/class/net/{interface}/address");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    let mut mac = [0u8; 6];
    let mut parts = text.trim().split(':');
    for byte in &mut mac {
        let part = parts.next().with_context(|| format!("{path}: not a MAC: {text}"))?;
        *byte = u8::from_str_radix(part, 16).with_context(|| format!("{path}: {text}"))?;
    }
    Ok(mac)
}

/// A resolved or failed lookup.
#[derive(Debug, Clone, Copy)]
enum Hop {
    Known { mac: [u8; 6], at: Instant },
    Missing { at: Instant },
}

/// Destinations cached at most; past it, expired entries go, then all (a flood of SYNs from
/// random addresses must not grow the cache without bound).
const MAX_ENTRIES: usize = 65_536;

/// At most one [`FIRST_WAIT`] per this period: a flood of SYNs from random on-link addresses,
/// each its own unresolvable next hop, must not stall the worker 20 ms per SYN.
const WAIT_PERIOD: Duration = Duration::from_secs(1);

/// Next-hop MACs of one worker.
#[derive(Debug)]
pub(crate) struct NextHops {
    neighbours: Neighbours,
    cache: HashMap<IpAddr, Hop>,
    /// When a lookup last waited for a solicitation.
    waited: Option<Instant>,
    /// Packets dropped for want of a next-hop MAC.
    pub(crate) misses: u64,
}

impl NextHops {
    pub(crate) fn open() -> anyhow::Result<NextHops> {
        let neighbours = Neighbours::open().context("opening rtnetlink")?;
        Ok(NextHops { neighbours, cache: HashMap::new(), waited: None, misses: 0 })
    }

    /// The MAC of the next hop toward `dst`, or `None` (the packet is dropped) while it is
    /// being resolved. `now` is the caller's batch clock.
    pub(crate) fn mac(&mut self, dst: IpAddr, now: Instant) -> Option<[u8; 6]> {
        match self.cache.get(&dst) {
            Some(Hop::Known { mac, at }) if now.duration_since(*at) < TTL => return Some(*mac),
            Some(Hop::Missing { at }) if now.duration_since(*at) < RETRY => {
                self.misses += 1;
                return None;
            }
            _ => {}
        }
        if matches!(self.cache.get(&dst), Some(Hop::Known { .. })) {
            // Expired: the kernel's table may have changed since it was read.
            let _ = self.neighbours.refresh();
        }
        let may_wait = self.waited.is_none_or(|at| now.duration_since(at) >= WAIT_PERIOD);
        let (found, waited) = self.lookup(dst, may_wait);
        if waited {
            self.waited = Some(now);
        }
        if self.cache.len() >= MAX_ENTRIES {
            self.cache.retain(
                |_, hop| matches!(hop, Hop::Known { at, .. } if now.duration_since(*at) < TTL),
            );
            if self.cache.len() >= MAX_ENTRIES {
                self.cache.clear();
            }
        }
        let hop = match found {
            Some(mac) => Hop::Known { mac, at: now },
            None => Hop::Missing { at: now },
        };
        self.cache.insert(dst, hop);
        if found.is_none() {
            self.misses += 1;
        }
        found
    }

    /// The kernel's answer for `dst`; after soliciting a missing next hop, and if `may_wait`,
    /// polls the table for up to [`FIRST_WAIT`]. Also says whether it waited.
    fn lookup(&mut self, dst: IpAddr, may_wait: bool) -> (Option<[u8; 6]>, bool) {
        let started = Instant::now();
        let mut waited = false;
        loop {
            let found = self.neighbours.next_hop_mac(dst).ok().flatten().map(|(_, mac)| mac);
            if found.is_some() || !may_wait || started.elapsed() >= FIRST_WAIT {
                return (found, waited);
            }
            waited = true;
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}
