//! Kernel lookups by one object: the route the kernel would take to a destination
//! (`RTM_GETROUTE` with `RTA_DST`, as `ip route get` does) and an interface's index by name
//! (`RTM_GETLINK` with `IFLA_IFNAME`).

use std::io;
use std::net::IpAddr;

use netlink_packet_route::link::{LinkAttribute, LinkMessage};
use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteMessage, RouteType};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use super::netlink::{Kind, Rtnl};

/// The outgoing interface and next hop for `dst`: the gateway of the route, or `dst` itself
/// when it is on-link. `None` when the kernel has no usable route (unreachable, blackhole,
/// prohibit) or the route is local.
pub(crate) fn next_hop(rtnl: &mut Rtnl, dst: IpAddr) -> io::Result<Option<(u32, IpAddr)>> {
    let mut msg = RouteMessage::default();
    let (family, prefix_len) = match dst {
        IpAddr::V4(_) => (AddressFamily::Inet, 32),
        IpAddr::V6(_) => (AddressFamily::Inet6, 128),
    };
    msg.header.address_family = family;
    msg.header.destination_prefix_length = prefix_len;
    msg.attributes.push(RouteAttribute::Destination(RouteAddress::from(dst)));
    let replies = match rtnl.request(RouteNetlinkMessage::GetRoute(msg), Kind::Get) {
        Ok(replies) => replies,
        Err(e) if is_no_route(&e) => return Ok(None),
        Err(e) => return Err(e),
    };
    Ok(replies.into_iter().find_map(|reply| match reply {
        RouteNetlinkMessage::NewRoute(route) => hop_of(&route, dst),
        _ => None,
    }))
}

/// The errors with which the kernel says "no route".
fn is_no_route(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ENETUNREACH | libc::EHOSTUNREACH | libc::EACCES | libc::EINVAL)
    )
}

fn hop_of(route: &RouteMessage, dst: IpAddr) -> Option<(u32, IpAddr)> {
    if route.header.kind != RouteType::Unicast {
        return None;
    }
    let mut oif = None;
    let mut gateway = None;
    for attr in &route.attributes {
        match attr {
            RouteAttribute::Oif(index) => oif = Some(*index),
            RouteAttribute::Gateway(RouteAddress::Inet(a)) => gateway = Some(IpAddr::V4(*a)),
            RouteAttribute::Gateway(RouteAddress::Inet6(a)) => gateway = Some(IpAddr::V6(*a)),
            _ => {}
        }
    }
    Some((oif?, gateway.unwrap_or(dst)))
}

/// The index of the interface called `name`, or `None` if there is none.
pub(crate) fn link_index(rtnl: &mut Rtnl, name: &str) -> io::Result<Option<u32>> {
    let mut msg = LinkMessage::default();
    msg.attributes.push(LinkAttribute::IfName(name.to_owned()));
    match rtnl.request(RouteNetlinkMessage::GetLink(msg), Kind::Get) {
        Ok(replies) => Ok(replies.into_iter().find_map(|reply| match reply {
            RouteNetlinkMessage::NewLink(link) => Some(link.header.index),
            _ => None,
        })),
        Err(e) if e.raw_os_error() == Some(libc::ENODEV) => Ok(None),
        Err(e) => Err(e),
    }
}
