//! Which worker a received frame belongs to, read from its headers alone (docs/architecture.md,
//! "`shard/`"): a frame to an origin-side source port belongs to the worker the port was
//! dealt to ([`port_owner`]); an MP_JOIN SYN belongs to the worker its token names
//! ([`token_owner`]); every other frame belongs to the worker that received it
//! (RSS keeps a client 4-tuple on one queue, so the worker that took the SYN sees the rest).

use std::net::{IpAddr, SocketAddr};

use super::config::OriginSources;
use std::ops::RangeInclusive;

use super::config::{join_token, port_owner, token_owner};
use crate::wire::ethernet::{EtherType, EthernetFrame};
use crate::wire::ipv4::Ipv4Packet;
use crate::wire::ipv6::Ipv6Packet;
use crate::wire::tcp::{TcpFlags, TcpPacket};

/// Where a frame goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// The receiving worker handles it (malformed frames too: it drops and counts them).
    Local,
    /// Worker `n` owns it: hand it over.
    Worker(u16),
}

/// The routing rule of one worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Router {
    worker: u16,
    workers: u16,
    origin_sources: OriginSources,
    origin_ports: RangeInclusive<u16>,
}

impl Router {
    /// The rule for `worker` of `workers`, whose origin connections leave from
    /// `origin_sources` with ports of `origin_ports`.
    pub fn new(
        worker: u16,
        workers: u16,
        origin_sources: OriginSources,
        origin_ports: RangeInclusive<u16>,
    ) -> Router {
        Router { worker, workers, origin_sources, origin_ports }
    }

    /// Where `frame` (a whole Ethernet frame) goes. Reads four header fields, verifies
    /// nothing; never panics.
    pub fn route(&self, frame: &[u8]) -> Route {
        let Some((dst, join)) = destination(frame) else {
            return Route::Local;
        };
        if let Some(token) = join {
            let owner = token_owner(token, self.workers);
            return if owner == self.worker { Route::Local } else { Route::Worker(owner) };
        }
        if !self.origin_sources.contains(dst.ip()) {
            return Route::Local;
        }
        match port_owner(&self.origin_ports, self.workers, dst.port()) {
            Some(owner) if owner != self.worker => Route::Worker(owner),
            _ => Route::Local,
        }
    }
}

/// The bytes after the extension headers of an unfragmented IPv6 packet (RFC 8200 §4): the
/// TCP header of a segment that carries Hop-by-Hop, Routing or Destination Options headers.
/// `None` for a fragment (docs/architecture.md, "Steering": fragments never reach a worker).
fn ipv6_upper_layer<'a>(ip: &Ipv6Packet<&'a [u8]>) -> Option<&'a [u8]> {
    let chain = ip.ext_headers().ok()?;
    if chain.fragment.is_some() {
        return None;
    }
    ip.payload().get(chain.len..)
}

/// The destination address and TCP port of a TCP frame, if the headers are all there (IPv6
/// extension headers walked), and the token of an MP_JOIN SYN (options are read only on a SYN
/// without ACK).
fn destination(frame: &[u8]) -> Option<(SocketAddr, Option<u32>)> {
    let eth = EthernetFrame::new_checked(frame).ok()?;
    let (ip, segment) = match eth.ethertype() {
        EtherType::Ipv4 => {
            let ip = Ipv4Packet::new_checked(eth.payload()).ok()?;
            (IpAddr::V4(ip.dst_addr()), ip.payload())
        }
        EtherType::Ipv6 => {
            let ip = Ipv6Packet::new_checked(eth.payload()).ok()?;
            (IpAddr::V6(ip.dst_addr()), ipv6_upper_layer(&ip)?)
        }
        _ => return None,
    };
    let tcp = TcpPacket::new_checked(segment).ok()?;
    let flags = tcp.flags();
    let syn = flags.contains(TcpFlags::SYN) && !flags.contains(TcpFlags::ACK);
    let join = if syn { join_token(tcp.options()) } else { None };
    Some((SocketAddr::new(ip, tcp.dst_port()), join))
}
