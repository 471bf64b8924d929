//! What an iOS generation does before and around MPTCP (docs/ios-emulation.md §1): the
//! versions it offers, how many MP_CAPABLE SYNs it sends before dropping the option, how it
//! reads the C flag, and the per-server version cache.

use std::collections::HashMap;
use std::net::IpAddr;

use netreaktor_pipeline::time::{Duration, Instant};

use super::keys::Version;

/// The generations the bench emulates (xnu release families).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
pub(crate) enum Generation {
    /// iOS 11-12: v0 only, 3 MP_CAPABLE SYNs, the C flag makes it give up MPTCP.
    #[value(name = "11")]
    Ios11,
    /// iOS 13-14: v0 only, 5 MP_CAPABLE SYNs.
    #[value(name = "13")]
    Ios13,
    /// iOS 15: v0 first; v1 to a server after v0 failed there.
    #[value(name = "15")]
    Ios15,
    /// iOS 16-17: v1 first; v0 for 24 h to a server after v1 failed there.
    #[value(name = "16")]
    Ios16,
    /// iOS 18: as 16 on the wire.
    #[value(name = "18")]
    Ios18,
}

impl Generation {
    /// MP_CAPABLE SYNs sent before the option is dropped (docs/ios-emulation.md §1).
    pub(crate) fn capable_syns(self) -> u32 {
        if self == Generation::Ios11 { 3 } else { 5 }
    }

    /// Whether a SYN/ACK with the C flag makes this generation fall back to plain TCP.
    pub(crate) fn c_flag_is_fallback(self) -> bool {
        self == Generation::Ios11
    }

    /// The version it prefers, and the one it may learn.
    fn preference(self) -> (Version, Option<Version>) {
        match self {
            Generation::Ios11 | Generation::Ios13 => (Version::V0, None),
            Generation::Ios15 => (Version::V0, Some(Version::V1)),
            Generation::Ios16 | Generation::Ios18 => (Version::V1, Some(Version::V0)),
        }
    }
}

/// How long iOS 16+ sticks to v0 after v1 failed (docs/ios-emulation.md §1).
const RETRY_PREFERRED: Duration = Duration::from_secs(24 * 3600);

/// What the cache remembers about one server address (family + IP, not port).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Entry {
    /// The preferred version failed at this time: use the other one.
    PreferredFailed(Instant),
    /// The other version failed too: no MPTCP until the preferred one's retry time.
    BothFailed(Instant),
    /// v1 worked: final.
    V1Works,
}

/// The version cache of one run (xnu `tcp_cache.c`'s MPTCP version entries, per
/// docs/ios-emulation.md §1). `IpAddr` keeps the family in the key.
#[derive(Debug)]
pub(crate) struct VersionCache {
    generation: Generation,
    entries: HashMap<IpAddr, Entry>,
}

impl VersionCache {
    /// An empty cache for `generation`.
    pub(crate) fn new(generation: Generation) -> Self {
        Self { generation, entries: HashMap::new() }
    }

    /// The version the next connection to `server` offers at `now`.
    pub(crate) fn choose(&self, server: IpAddr, now: Instant) -> Version {
        let (preferred, other) = self.generation.preference();
        match self.entries.get(&server) {
            Some(Entry::V1Works) => Version::V1,
            Some(Entry::PreferredFailed(at) | Entry::BothFailed(at)) => {
                let expired = preferred == Version::V1
                    && now.saturating_duration_since(*at) >= RETRY_PREFERRED;
                match other {
                    Some(o) if !expired => o,
                    _ => preferred,
                }
            }
            None => preferred,
        }
    }

    /// Records how a connection offering `offered` ended up: MPTCP or not.
    pub(crate) fn record(&mut self, server: IpAddr, offered: Version, mptcp: bool, now: Instant) {
        let (preferred, _) = self.generation.preference();
        let entry = self.entries.get(&server).copied();
        let next = match (mptcp, offered) {
            (true, Version::V1) => Some(Entry::V1Works),
            (true, Version::V0) => entry,
            (false, _) if entry == Some(Entry::V1Works) => entry,
            (false, v) if v == preferred => Some(Entry::PreferredFailed(now)),
            (false, _) => match entry {
                Some(Entry::PreferredFailed(at)) => Some(Entry::BothFailed(at)),
                e => e,
            },
        };
        match next {
            Some(e) => self.entries.insert(server, e),
            None => self.entries.remove(&server),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 9, 0, 2));
    const T0: Instant = Instant::from_secs(100);

    #[test]
    fn ios15_tries_v0_then_v1_and_a_v1_success_is_final() {
        let mut c = VersionCache::new(Generation::Ios15);
        assert_eq!(c.choose(S, T0), Version::V0);
        c.record(S, Version::V0, false, T0);
        assert_eq!(c.choose(S, T0), Version::V1);
        c.record(S, Version::V1, true, T0);
        assert_eq!(c.choose(S, T0 + RETRY_PREFERRED), Version::V1);
        let other = IpAddr::V4(std::net::Ipv4Addr::new(10, 9, 0, 3));
        assert_eq!(c.choose(other, T0), Version::V0, "the key is the server address");
    }

    #[test]
    fn ios16_uses_v0_for_24h_after_v1_failed() {
        let mut c = VersionCache::new(Generation::Ios16);
        assert_eq!(c.choose(S, T0), Version::V1);
        c.record(S, Version::V1, false, T0);
        assert_eq!(c.choose(S, T0), Version::V0);
        assert_eq!(c.choose(S, T0 + RETRY_PREFERRED), Version::V1);
    }

    #[test]
    fn ios13_knows_only_v0() {
        let mut c = VersionCache::new(Generation::Ios13);
        c.record(S, Version::V0, false, T0);
        assert_eq!(c.choose(S, T0), Version::V0);
        assert_eq!(Generation::Ios11.capable_syns(), 3);
        assert_eq!(Generation::Ios13.capable_syns(), 5);
    }
}
