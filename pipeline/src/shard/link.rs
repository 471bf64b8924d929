//! The link layer both ways: which Ethernet address a packet leaving by a side goes to.
//!
//! Nothing here asks the kernel. A peer's MAC (for a client, the access router's, or the
//! client's own when it is on-link) is learnt from the frames it sends: a reply goes back to
//! the link-layer address its request came from. What no frame has taught yet, an origin
//! before the first SYN to it, comes from next hops the caller sets
//! ([`Shard::set_next_hop`](super::Shard::set_next_hop)): the appliance's control thread
//! reads them from the kernel's neighbour table and refreshes them, so a worker never waits
//! on netlink. Last, a side falls back to the address its latest frame came from: behind one
//! router, every peer's next hop.
//!
//! A frame's sender is most often the previous frame's, and a packet's destination the
//! previous packet's: each side keeps its latest (address, MAC) pair in front of the table,
//! so the steady state hashes nothing.
//!
//! The learnt table is bounded per side: when full, a new address replaces the one learnt
//! first (first in, first out, in O(1): taking "any" key of a hash map instead scans past the
//! slots earlier evictions emptied, which under a spoofed SYN flood cost a fifth of a worker).
//! A flood of spoofed sources costs a bounded table and evicts learnt entries, which then
//! fall back to the side's latest hop.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

use crate::proxy::Side;
use crate::wire::ethernet::{EtherType, EthernetAddress, EthernetFrame};

use super::table::{KeyedHasher, side_index};

/// Learnt addresses kept per side.
pub(crate) const LEARNT_MAX: usize = 65_536;

/// Bytes of the Ethernet header the shard writes (no VLAN tag).
pub const ETHERNET_HEADER_LEN: usize = 14;

/// The link-layer addresses of one shard.
#[derive(Debug)]
pub(crate) struct Link {
    /// Our address on each side (client, origin).
    ours: [EthernetAddress; 2],
    learnt: [HashMap<IpAddr, EthernetAddress, KeyedHasher>; 2],
    /// Each side's learnt addresses in the order they were learnt: the next to evict first.
    learnt_order: [VecDeque<IpAddr>; 2],
    /// Where the latest frame received on each side came from.
    latest: [Option<EthernetAddress>; 2],
    /// The latest (address, MAC) pair learnt or looked up on each side: the table's answer
    /// for that address, kept in front of it.
    recent: [Option<(IpAddr, EthernetAddress)>; 2],
    /// Next hops set by the caller, by destination.
    next_hops: HashMap<IpAddr, EthernetAddress>,
}

impl Link {
    pub(crate) fn new(hasher: KeyedHasher) -> Link {
        Link {
            ours: [EthernetAddress([0; 6]); 2],
            learnt: [HashMap::with_hasher(hasher), HashMap::with_hasher(hasher)],
            learnt_order: [VecDeque::new(), VecDeque::new()],
            latest: [None; 2],
            recent: [None; 2],
            next_hops: HashMap::new(),
        }
    }

    /// Sets our address on `side`: the source of every frame leaving by it.
    pub(crate) fn set_ours(&mut self, side: Side, mac: EthernetAddress) {
        self.ours[side_index(side)] = mac;
    }

    /// Sets the next hop toward `dst` (used until a frame from `dst` teaches another).
    pub(crate) fn set_next_hop(&mut self, dst: IpAddr, mac: EthernetAddress) {
        self.next_hops.insert(dst, mac);
        self.recent = [None; 2];
    }

    /// Learns that `src`, on `side`, sent a frame from `mac`.
    pub(crate) fn learn(&mut self, side: Side, src: IpAddr, mac: EthernetAddress) {
        let i = side_index(side);
        self.latest[i] = Some(mac);
        if self.recent[i] == Some((src, mac)) {
            return;
        }
        self.recent[i] = Some((src, mac));
        let (table, order) = (&mut self.learnt[i], &mut self.learnt_order[i]);
        if let Some(known) = table.get_mut(&src) {
            *known = mac;
            return;
        }
        if order.len() >= LEARNT_MAX
            && let Some(evicted) = order.pop_front()
        {
            table.remove(&evicted);
        }
        table.insert(src, mac);
        order.push_back(src);
    }

    /// The next hop toward `dst` leaving by `side`, if any is known.
    pub(crate) fn next_hop(&mut self, side: Side, dst: IpAddr) -> Option<EthernetAddress> {
        let i = side_index(side);
        if let Some((ip, mac)) = self.recent[i]
            && ip == dst
        {
            return Some(mac);
        }
        if let Some(&mac) = self.learnt[i].get(&dst).or_else(|| self.next_hops.get(&dst)) {
            self.recent[i] = Some((dst, mac));
            return Some(mac);
        }
        self.latest[i]
    }

    /// Writes the Ethernet header of a packet to `dst` leaving by `side` into
    /// `buf[..ETHERNET_HEADER_LEN]`; false if the next hop is unknown or `buf` is short.
    pub(crate) fn write_header(&mut self, side: Side, dst: IpAddr, buf: &mut [u8]) -> bool {
        let (Some(to), Some(header)) =
            (self.next_hop(side, dst), buf.get_mut(..ETHERNET_HEADER_LEN))
        else {
            return false;
        };
        let mut eth = EthernetFrame::new_unchecked(header);
        eth.set_dst_addr(to);
        eth.set_src_addr(self.ours[side_index(side)]);
        eth.set_ethertype(if dst.is_ipv4() { EtherType::Ipv4 } else { EtherType::Ipv6 });
        true
    }

    /// Bytes the learnt tables hold (an estimate: key, value and a control byte each).
    pub(crate) fn heap_bytes(&self) -> usize {
        let entry = size_of::<IpAddr>() + size_of::<EthernetAddress>() + 1;
        self.learnt.iter().map(|t| t.capacity() * entry).sum()
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    fn addr(i: u32) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i))
    }

    /// A full table evicts the address learnt first, one per new address: the table stays
    /// at its bound through a flood of sources, and a relearnt address keeps its place.
    #[test]
    fn a_full_table_evicts_the_address_learnt_first() {
        let mut link = Link::new(KeyedHasher::new(&[3; 32]));
        let mac = |i: u32| EthernetAddress([2, 0, 0, 0, (i >> 8) as u8, i as u8]);
        let n = LEARNT_MAX as u32;
        for i in 0..n + 10 {
            link.learn(Side::Client, addr(i), mac(i));
            // A second sender in between, so `recent` never answers for the table.
            link.learn(Side::Client, addr(1), mac(1));
        }
        let i = side_index(Side::Client);
        assert_eq!(link.learnt[i].len(), LEARNT_MAX);
        assert_eq!(link.learnt_order[i].len(), LEARNT_MAX);
        assert!(!link.learnt[i].contains_key(&addr(0)), "the first learnt went first");
        assert!(!link.learnt[i].contains_key(&addr(2)));
        assert_eq!(link.learnt[i].get(&addr(11)), Some(&mac(11)));
        assert_eq!(link.learnt[i].get(&addr(n + 9)), Some(&mac(n + 9)));
        // Address 1 was learnt second and evicted; relearnt at once, it is back.
        assert_eq!(link.learnt[i].get(&addr(1)), Some(&mac(1)));
    }
}
