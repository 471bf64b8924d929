//! Address families in the configuration: the origin-side source of each IP version
//! (`interfaces.origin_source`), and the announced addresses iOS ignores
//! (`terminate.announce`, docs/configuration.md "Addresses iOS ignores").

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde_saphyr::Spanned;

use super::error::ConfigError;
use super::schema::{Config, OriginSource, Pipeline};
use super::units::IpAddress;

/// The configured origin-side sources: `ipv4` / `ipv6`, or `address` for its own version.
pub(crate) fn configured_sources(source: &OriginSource) -> (Option<Ipv4Addr>, Option<Ipv6Addr>) {
    let given = [&source.address, &source.ipv4, &source.ipv6];
    let addresses = given.into_iter().flatten().map(|a| a.value.0);
    let v4 = addresses.clone().find_map(|a| match a {
        IpAddr::V4(a) => Some(a),
        IpAddr::V6(_) => None,
    });
    let v6 = addresses.into_iter().find_map(|a| match a {
        IpAddr::V6(a) => Some(a),
        IpAddr::V4(_) => None,
    });
    (v4, v6)
}

/// The IP versions the origins of every pipeline use: (IPv4, IPv6).
pub(crate) fn origin_versions(config: &Config) -> (bool, bool) {
    let origins = config.pipelines.value.iter().flat_map(|p| p.forward.origins.value.iter());
    origins
        .fold((false, false), |(v4, v6), o| (v4 || o.value.0.is_ipv4(), v6 || o.value.0.is_ipv6()))
}

/// `interfaces.origin_source`: `ipv4` holds an IPv4 address, `ipv6` an IPv6 one, and
/// `address` does not name a version `ipv4` or `ipv6` names too.
pub(crate) fn check_sources(source: &OriginSource, errors: &mut Vec<ConfigError>) {
    let path = "interfaces.origin_source";
    for (key, v6, given) in [("ipv4", false, &source.ipv4), ("ipv6", true, &source.ipv6)] {
        let Some(given) = given else { continue };
        let a = given.value.0;
        if a.is_ipv6() != v6 {
            let msg = format!("{a} is not an IPv{} address", if v6 { 6 } else { 4 });
            errors.push(ConfigError::at(given.referenced, format!("{path}.{key}"), msg));
        } else if let Some(address) = &source.address
            && address.value.0.is_ipv6() == v6
        {
            let msg = format!(
                "{} and {path}.{key} {a} both name the IPv{} source: give one",
                address.value.0,
                if v6 { 6 } else { 4 }
            );
            errors.push(ConfigError::at(address.referenced, format!("{path}.address"), msg));
        }
    }
}

/// Why iOS ignores an ADD_ADDR of `addr`, if it does: it drops announcements of private,
/// shared (CGNAT), loopback, link-local and other special-purpose addresses (RFC 6890 ranges,
/// docs/configuration.md "Addresses iOS ignores").
pub(crate) fn ios_ignores(addr: IpAddr) -> Option<&'static str> {
    match addr {
        IpAddr::V4(a) => ios_ignores_v4(a),
        IpAddr::V6(a) => ios_ignores_v6(a),
    }
}

fn ios_ignores_v4(a: Ipv4Addr) -> Option<&'static str> {
    let o = a.octets();
    let reason = match o {
        [0, ..] => "\"this network\" (0.0.0.0/8)",
        [127, ..] => "loopback (127.0.0.0/8)",
        [169, 254, ..] => "link-local (169.254.0.0/16)",
        [10, ..] => "private (10.0.0.0/8)",
        [172, b, ..] if (16..32).contains(&b) => "private (172.16.0.0/12)",
        [192, 168, ..] => "private (192.168.0.0/16)",
        [100, b, ..] if (64..128).contains(&b) => "shared, CGNAT (100.64.0.0/10)",
        [192, 0, 0, d] if d < 8 => "IPv4 service continuity (192.0.0.0/29)",
        [192, 88, 99, _] => "6to4 relay anycast (192.88.99.0/24)",
        _ if a.is_multicast() => "multicast",
        _ => return None,
    };
    Some(reason)
}

fn ios_ignores_v6(a: Ipv6Addr) -> Option<&'static str> {
    let s = a.segments();
    let reason = if a.is_unspecified() {
        "unspecified (::)"
    } else if a.is_loopback() {
        "loopback (::1)"
    } else if s[0] & 0xffc0 == 0xfe80 {
        "link-local (fe80::/10)"
    } else if a.is_multicast() {
        "multicast (ff00::/8)"
    } else if s[..5] == [0; 5] && s[5] == 0xffff {
        "IPv4-mapped (::ffff:0:0/96)"
    } else if s[..6] == [0; 6] {
        "IPv4-compatible (::/96)"
    } else {
        return None;
    };
    Some(reason)
}

/// `terminate.announce`: every address iOS would ignore is refused with the reason, and so is
/// a second address of one IP version (iOS keeps only the last announced of each,
/// docs/ios-emulation.md §6), unless the pipeline says `announce_ignored_by_ios: true` (its
/// announcements are for other clients).
pub(crate) fn check_announced_for_ios(
    pipeline: &Pipeline,
    path: &str,
    errors: &mut Vec<ConfigError>,
) {
    if pipeline.terminate.announce_ignored_by_ios {
        return;
    }
    let announced: &[Spanned<IpAddress>] = &pipeline.terminate.announce;
    let mut first_of = [None::<IpAddr>; 2];
    for (k, addr) in announced.iter().enumerate() {
        let a = addr.value.0;
        let first = &mut first_of[usize::from(a.is_ipv6())];
        let msg = if let Some(reason) = ios_ignores(a) {
            format!(
                "iOS ignores an announcement of {a}: {reason}; set \
                 terminate.announce_ignored_by_ios: true if it is for other clients"
            )
        } else if let Some(earlier) = *first {
            format!(
                "iOS keeps only the last announced address of each IP version, so {earlier} \
                 would be lost to {a}: announce one of each; set \
                 terminate.announce_ignored_by_ios: true if they are for other clients"
            )
        } else {
            *first = Some(a);
            continue;
        };
        errors.push(ConfigError::at(
            addr.referenced,
            format!("{path}.terminate.announce[{k}]"),
            msg,
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ios_ignores_the_special_purpose_ranges() {
        let ignored = [
            "0.1.2.3",
            "127.0.0.1",
            "169.254.9.9",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "100.64.0.1",
            "100.127.255.254",
            "192.0.0.7",
            "192.88.99.1",
            "224.0.0.1",
            "::",
            "::1",
            "fe80::1",
            "febf::1",
            "ff02::1",
            "::ffff:198.51.100.1",
            "::198.51.100.1",
        ];
        for a in ignored {
            assert!(ios_ignores(a.parse().unwrap()).is_some(), "{a}");
        }
        let kept = [
            "198.51.100.1",
            "172.32.0.1",
            "172.15.255.255",
            "100.128.0.1",
            "100.63.0.1",
            "192.0.0.8",
            "192.88.98.1",
            "2001:db8::1",
            "fc00::1",
            "fd12::1",
            "fec0::1",
            "64:ff9b::198.51.100.1",
        ];
        for a in kept {
            assert_eq!(ios_ignores(a.parse().unwrap()), None, "{a}");
        }
    }
}
