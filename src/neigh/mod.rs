//! Next-hop MAC addresses from the kernel's neighbour table (docs/architecture.md, "`neigh/`").
//!
//! The appliance writes whole Ethernet frames, so it needs the MAC of the next hop of every
//! destination. It does not run ARP or Neighbour Discovery itself: the XDP steering program
//! passes ARP and ND to the kernel, which keeps its neighbour table current, and this module
//! reads that table over rtnetlink:
//!
//! - [`Neighbours::refresh`] dumps the table (`RTM_GETNEIGH`) into a cache keyed by
//!   (interface index, address); [`Neighbours::lookup`] reads the cache, and
//!   [`Neighbours::resolve`] refreshes it once on a miss.
//! - [`Neighbours::route_next_hop`] asks the kernel which interface and next hop (gateway or
//!   on-link destination) it would use for a destination (`RTM_GETROUTE`, like `ip route get`).
//! - [`Neighbours::solicit`] makes the kernel resolve an unknown next hop.
//!
//! How an unknown neighbour is solicited: by sending an empty UDP datagram to the
//! destination's discard port (9, RFC 863) from an ordinary socket. The kernel routes it,
//! finds no neighbour entry for the next hop, queues the datagram and sends the ARP request (or
//! IPv6 Neighbour Solicitation) itself; once the reply arrives the entry is `REACHABLE` and the
//! datagram leaves. This needs no privileges and no raw socket, and it resolves exactly the next
//! hop the kernel's routing picks, gateways included. The alternative, creating the entry with
//! `NTF_USE` over rtnetlink, needs `CAP_NET_ADMIN` and the caller to pick the interface and next
//! hop first. The cost is one small datagram to the destination, which a discard service
//! drops and anyone else answers at most with an ICMP port unreachable that nobody reads.

mod netlink;
mod route;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, UdpSocket};

use netlink_packet_route::neighbour::{
    NeighbourAddress, NeighbourAttribute, NeighbourMessage, NeighbourState,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use self::netlink::{Kind, Rtnl};

/// The UDP discard port (RFC 863) that [`Neighbours::solicit`] sends to.
const DISCARD_PORT: u16 = 9;

/// An interface, by index or by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Link<'a> {
    /// The interface index (`ifindex`).
    Index(u32),
    /// The interface name, resolved to its index through the kernel.
    Name(&'a str),
}

impl From<u32> for Link<'_> {
    fn from(index: u32) -> Self {
        Link::Index(index)
    }
}

impl<'a> From<&'a str> for Link<'a> {
    fn from(name: &'a str) -> Self {
        Link::Name(name)
    }
}

/// A cache of the kernel's neighbour table and a netlink socket to refresh it, in the network
/// namespace of the thread that opened it.
#[derive(Debug)]
pub(crate) struct Neighbours {
    rtnl: Rtnl,
    macs: HashMap<(u32, IpAddr), [u8; 6]>,
    names: HashMap<String, u32>,
}

impl Neighbours {
    /// Opens the netlink socket and reads the table once.
    pub(crate) fn open() -> io::Result<Self> {
        let mut neighbours =
            Self { rtnl: Rtnl::open()?, macs: HashMap::new(), names: HashMap::new() };
        neighbours.refresh()?;
        Ok(neighbours)
    }

    /// Replaces the cache with the kernel's current neighbour table (IPv4 and IPv6 entries
    /// that have a usable link-layer address) and forgets the interface names seen so far.
    pub(crate) fn refresh(&mut self) -> io::Result<()> {
        let replies = self
            .rtnl
            .request(RouteNetlinkMessage::GetNeighbour(NeighbourMessage::default()), Kind::Dump)?;
        self.macs = replies
            .into_iter()
            .filter_map(|reply| match reply {
                RouteNetlinkMessage::NewNeighbour(entry) => usable_entry(&entry),
                _ => None,
            })
            .collect();
        self.names.clear();
        Ok(())
    }

    /// The cached MAC of `ip` on `link`, without asking the kernel (except, once per name
    /// until the next refresh, for the index of a named interface).
    pub(crate) fn lookup<'a>(&mut self, link: impl Into<Link<'a>>, ip: IpAddr) -> Option<[u8; 6]> {
        let index = self.index_of(link.into()).ok()??;
        self.macs.get(&(index, ip)).copied()
    }

    /// Like [`lookup`](Self::lookup), but refreshes the cache once on a miss.
    pub(crate) fn resolve<'a>(
        &mut self,
        link: impl Into<Link<'a>>,
        ip: IpAddr,
    ) -> io::Result<Option<[u8; 6]>> {
        let link = link.into();
        if let Some(mac) = self.lookup(link, ip) {
            return Ok(Some(mac));
        }
        self.refresh()?;
        Ok(self.lookup(link, ip))
    }

    /// The interface index and next hop the kernel would use to reach `dst`; `None` without a
    /// usable route.
    pub(crate) fn route_next_hop(&mut self, dst: IpAddr) -> io::Result<Option<(u32, IpAddr)>> {
        route::next_hop(&mut self.rtnl, dst)
    }

    /// The interface index and next-hop MAC for `dst`. On a miss it solicits the next hop
    /// (see the module docs) and returns `None`: ask again once the kernel had time to resolve.
    pub(crate) fn next_hop_mac(&mut self, dst: IpAddr) -> io::Result<Option<(u32, [u8; 6])>> {
        let Some((index, hop)) = self.route_next_hop(dst)? else {
            return Ok(None);
        };
        if let Some(mac) = self.resolve(index, hop)? {
            return Ok(Some((index, mac)));
        }
        Self::solicit(dst)?;
        Ok(None)
    }

    /// Makes the kernel resolve the next hop towards `dst` by sending it an empty UDP datagram
    /// to the discard port (see the module docs for why this way).
    pub(crate) fn solicit(dst: IpAddr) -> io::Result<()> {
        let any = match dst {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        };
        let socket = UdpSocket::bind((any, 0))?;
        match socket.send_to(&[], (dst, DISCARD_PORT)) {
            // An entry that already FAILED reports it on the send; the send restarted resolution.
            Err(e) if e.raw_os_error() == Some(libc::EHOSTUNREACH) => Ok(()),
            other => other.map(drop),
        }
    }

    fn index_of(&mut self, link: Link<'_>) -> io::Result<Option<u32>> {
        match link {
            Link::Index(index) => Ok(Some(index)),
            Link::Name(name) => {
                if let Some(&index) = self.names.get(name) {
                    return Ok(Some(index));
                }
                let index = route::link_index(&mut self.rtnl, name)?;
                if let Some(index) = index {
                    self.names.insert(name.to_owned(), index);
                }
                Ok(index)
            }
        }
    }
}

/// The cache key and MAC of a neighbour entry the data path can send to: an IPv4 or IPv6
/// entry with a 6-byte link-layer address in a state where the kernel itself would use it.
fn usable_entry(entry: &NeighbourMessage) -> Option<((u32, IpAddr), [u8; 6])> {
    if !matches!(entry.header.family, AddressFamily::Inet | AddressFamily::Inet6)
        || !usable_state(entry.header.state)
    {
        return None;
    }
    let mut ip = None;
    let mut mac = None;
    for attr in &entry.attributes {
        match attr {
            NeighbourAttribute::Destination(NeighbourAddress::Inet(a)) => ip = Some(IpAddr::V4(*a)),
            NeighbourAttribute::Destination(NeighbourAddress::Inet6(a)) => {
                ip = Some(IpAddr::V6(*a));
            }
            NeighbourAttribute::LinkLayerAddress(bytes) => mac = mac_of(bytes),
            _ => {}
        }
    }
    Some(((entry.header.ifindex, ip?), mac?))
}

/// Entries still being resolved (`INCOMPLETE`) or that failed have no address to use; a
/// `STALE` one is still used (the kernel re-verifies it as traffic flows).
fn usable_state(state: NeighbourState) -> bool {
    matches!(
        state,
        NeighbourState::Reachable
            | NeighbourState::Stale
            | NeighbourState::Delay
            | NeighbourState::Probe
            | NeighbourState::Permanent
            | NeighbourState::Noarp
    )
}

/// A 6-byte Ethernet address, or `None` for any other length.
fn mac_of(bytes: &[u8]) -> Option<[u8; 6]> {
    bytes.try_into().ok()
}
