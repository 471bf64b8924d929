//! What IPv4 and IPv6 share: the protocol numbers of the IPv4 Protocol and IPv6 Next Header
//! fields (IANA "Assigned Internet Protocol Numbers"; RFC 791 §3.1, RFC 8200 §3).
//!
//! Addresses are `core::net::{IpAddr, Ipv4Addr, Ipv6Addr}`; the pseudo-header sums for the
//! upper-layer checksums are in [`checksum`](super::checksum).

use core::fmt;

/// An IP protocol number: the IPv4 Protocol field or an IPv6 Next Header value.
///
/// `From<u8>` maps every number with a named variant to that variant, so `Unknown(n)` only
/// holds numbers without one (ESP is `Unknown(50)`, AH is `Unknown(51)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IpProtocol {
    /// IPv6 Hop-by-Hop Options header, 0 (RFC 8200 §4.3).
    HopByHop,
    /// ICMP for IPv4, 1 (RFC 792).
    Icmp,
    /// TCP, 6 (RFC 9293).
    Tcp,
    /// UDP, 17 (RFC 768).
    Udp,
    /// IPv6 Routing header, 43 (RFC 8200 §4.4).
    Ipv6Route,
    /// IPv6 Fragment header, 44 (RFC 8200 §4.5).
    Ipv6Frag,
    /// ICMP for IPv6, 58 (RFC 4443).
    Icmpv6,
    /// IPv6 No Next Header, 59 (RFC 8200 §4.7).
    Ipv6NoNxt,
    /// IPv6 Destination Options header, 60 (RFC 8200 §4.6).
    Ipv6Opts,
    /// Any other protocol number.
    Unknown(u8),
}

impl From<u8> for IpProtocol {
    fn from(value: u8) -> Self {
        match value {
            0 => IpProtocol::HopByHop,
            1 => IpProtocol::Icmp,
            6 => IpProtocol::Tcp,
            17 => IpProtocol::Udp,
            43 => IpProtocol::Ipv6Route,
            44 => IpProtocol::Ipv6Frag,
            58 => IpProtocol::Icmpv6,
            59 => IpProtocol::Ipv6NoNxt,
            60 => IpProtocol::Ipv6Opts,
            other => IpProtocol::Unknown(other),
        }
    }
}

impl From<IpProtocol> for u8 {
    fn from(value: IpProtocol) -> Self {
        match value {
            IpProtocol::HopByHop => 0,
            IpProtocol::Icmp => 1,
            IpProtocol::Tcp => 6,
            IpProtocol::Udp => 17,
            IpProtocol::Ipv6Route => 43,
            IpProtocol::Ipv6Frag => 44,
            IpProtocol::Icmpv6 => 58,
            IpProtocol::Ipv6NoNxt => 59,
            IpProtocol::Ipv6Opts => 60,
            IpProtocol::Unknown(other) => other,
        }
    }
}

impl fmt::Display for IpProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IpProtocol::HopByHop => f.write_str("Hop-by-Hop"),
            IpProtocol::Icmp => f.write_str("ICMP"),
            IpProtocol::Tcp => f.write_str("TCP"),
            IpProtocol::Udp => f.write_str("UDP"),
            IpProtocol::Ipv6Route => f.write_str("IPv6-Route"),
            IpProtocol::Ipv6Frag => f.write_str("IPv6-Frag"),
            IpProtocol::Icmpv6 => f.write_str("ICMPv6"),
            IpProtocol::Ipv6NoNxt => f.write_str("IPv6-NoNxt"),
            IpProtocol::Ipv6Opts => f.write_str("IPv6-Opts"),
            IpProtocol::Unknown(n) => write!(f, "protocol {n}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_number_round_trips() {
        for n in 0..=u8::MAX {
            let protocol = IpProtocol::from(n);
            assert_eq!(u8::from(protocol), n);
            if let IpProtocol::Unknown(m) = protocol {
                assert_eq!(m, n);
            }
        }
    }

    #[test]
    fn named_numbers() {
        assert_eq!(IpProtocol::from(6), IpProtocol::Tcp);
        assert_eq!(IpProtocol::from(17), IpProtocol::Udp);
        assert_eq!(IpProtocol::from(58), IpProtocol::Icmpv6);
        assert_eq!(IpProtocol::from(50), IpProtocol::Unknown(50));
        assert_eq!(IpProtocol::Tcp.to_string(), "TCP");
    }
}
