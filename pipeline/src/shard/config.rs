//! What a shard serves: its services (listen addresses -> origin servers), the origin-side
//! source address and port range, and its place among the workers.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::ops::RangeInclusive;

use crate::mptcp::conn::MptcpConfig;
use crate::proxy::{HealthConfig, SpliceConfig};
use crate::tcp::Config;
use crate::tcp::listener::ListenerConfig;
use crate::wire::frame::ChecksumPolicy;

/// One service: client connections to any of `listen` are spliced to `origins`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceConfig {
    /// A name for logs and metrics.
    pub name: String,
    /// Service addresses and ports (one listener each).
    pub listen: Vec<SocketAddr>,
    /// Origin servers, round-robin (ejected ones skipped); a failed connect moves to the
    /// next.
    pub origins: Vec<SocketAddr>,
    /// Connect attempts per client connection (the first included).
    pub max_tries: u32,
    /// Passive health: consecutive connect failures eject an origin for a back-off
    /// ([`proxy::health`](crate::proxy::health)); `None`: off, every origin is tried in turn.
    pub health: Option<HealthConfig>,
    /// Client connections this shard holds at once for the service; past it, new ones are
    /// reset as soon as their handshake completes.
    pub max_connections: usize,
    /// Connect and idle timeouts.
    pub splice: SpliceConfig,
    /// The client side's passive opens (the client connections' `tcp` config included).
    pub listener: ListenerConfig,
    /// MPTCP termination (RFC 8684); `None`: clients get plain TCP even if they offer it.
    pub mptcp: Option<MptcpConfig>,
}

/// A shard's whole configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardConfig {
    /// This shard's worker id, `0..workers`.
    pub worker: u16,
    /// How many workers share the origin ports.
    pub workers: u16,
    /// The services.
    pub services: Vec<ServiceConfig>,
    /// The source addresses of origin connections, one per IP version.
    pub origin_sources: OriginSources,
    /// The source ports of origin connections, shared among the workers by
    /// [`port_owner`].
    pub origin_ports: RangeInclusive<u16>,
    /// The origin connections' config; a service's
    /// [`origin_timeout`](crate::proxy::SpliceConfig::origin_timeout) sets the user timeout of
    /// its own.
    pub origin_tcp: Config,
    /// Verify TCP checksums, or trust the NIC's receive offload.
    pub checksums: ChecksumPolicy,
    /// This shard's share of the buffer budget, in bytes (`shard/memory.rs`; docs/operations.md,
    /// "Memory model"); `None`: unlimited.
    pub buffer_budget: Option<usize>,
    /// Keys the ISNs (RFC 6528), SYN cookies (RFC 4987) and table hashing: secret and random,
    /// the same for every shard of one appliance.
    pub secret: [u8; 32],
}

/// The source addresses of origin connections: one per IP version, so a service of either
/// version reaches origins of both (an IPv6 client to an IPv4 origin leaves from the IPv4
/// source). A version without one reaches no origin of that version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OriginSources {
    /// The source of connections to IPv4 origins.
    pub v4: Option<Ipv4Addr>,
    /// The source of connections to IPv6 origins.
    pub v6: Option<Ipv6Addr>,
}

impl OriginSources {
    /// The source address for a connection to `origin`: the one of its IP version.
    pub fn for_origin(&self, origin: IpAddr) -> Option<IpAddr> {
        match origin {
            IpAddr::V4(_) => self.v4.map(IpAddr::V4),
            IpAddr::V6(_) => self.v6.map(IpAddr::V6),
        }
    }

    /// Whether `ip` is one of the sources: a segment to it arrived on the origin side.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(a) => self.v4 == Some(a),
            IpAddr::V6(a) => self.v6 == Some(a),
        }
    }
}

impl From<IpAddr> for OriginSources {
    /// One source, for origins of its own IP version only.
    fn from(ip: IpAddr) -> OriginSources {
        match ip {
            IpAddr::V4(a) => OriginSources { v4: Some(a), v6: None },
            IpAddr::V6(a) => OriginSources { v4: None, v6: Some(a) },
        }
    }
}

/// The worker owning origin-side source `port`: the ports of `range` are dealt to the
/// workers in turn (`first` to worker 0, `first + 1` to worker 1, ...). `None` outside the
/// range.
pub fn port_owner(range: &RangeInclusive<u16>, workers: u16, port: u16) -> Option<u16> {
    if !range.contains(&port) || workers == 0 {
        return None;
    }
    Some((port - range.start()) % workers)
}

/// The worker owning the MPTCP connection with `token`: tokens are dealt to the workers by
/// their value modulo the worker count (a worker draws its keys until the token is one of
/// its own; docs/architecture.md, "`shard/`"), so an MP_JOIN SYN, which carries the
/// token, is routed from its headers alone.
pub fn token_owner(token: u32, workers: u16) -> u16 {
    if workers == 0 {
        return 0;
    }
    // The remainder is below `workers`, a u16.
    (token % u32::from(workers)) as u16
}

/// The token of an MP_JOIN SYN (RFC 8684 §3.2) among a segment's options, if there is one.
pub fn join_token(options: &[u8]) -> Option<u32> {
    use crate::wire::mptcp::{MpJoin, MptcpOption, MptcpVersion};
    use crate::wire::tcp_option::TcpOptions;
    // MP_JOIN's SYN form is the same in v0 and v1 (RFC 6824 §3.2, RFC 8684 §3.2).
    TcpOptions::new(options).mptcp().find_map(|bytes| {
        match MptcpOption::parse(bytes, MptcpVersion::V1) {
            Ok(MptcpOption::MpJoin(MpJoin::Syn { token, .. })) => Some(token),
            _ => None,
        }
    })
}
