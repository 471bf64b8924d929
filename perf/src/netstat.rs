//! MPTCP facts from the kernel's `MPTcpExt` counters in `/proc/net/netstat` (what `nstat`
//! shows), read before and after a run. They count every MPTCP socket of the network
//! namespace, not only the bench's: run the bench alone in its namespace to read them as
//! its own. (Per-connection `MPTCP_INFO` needs a raw `getsockopt`, which would need
//! `unsafe`; the bench keeps to safe code.)

use std::collections::BTreeMap;

use serde::Serialize;

/// The file the counters are read from.
const NETSTAT: &str = "/proc/net/netstat";

/// Counter name to value.
pub(crate) type Counters = BTreeMap<String, u64>;

/// Parses the `MPTcpExt:` header and value lines of `/proc/net/netstat`.
pub(crate) fn parse(text: &str) -> Counters {
    let mut lines = text.lines().filter_map(|l| l.strip_prefix("MPTcpExt:"));
    let (Some(names), Some(values)) = (lines.next(), lines.next()) else {
        return Counters::new();
    };
    names
        .split_whitespace()
        .zip(values.split_whitespace())
        .filter_map(|(n, v)| Some((n.to_string(), v.parse().ok()?)))
        .collect()
}

/// The counters now, or `None` when the kernel has no MPTCP (or no /proc).
pub(crate) fn read() -> Option<Counters> {
    let c = parse(&std::fs::read_to_string(NETSTAT).ok()?);
    (!c.is_empty()).then_some(c)
}

/// What changed between two readings, with a few named sums.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct MptcpDelta {
    /// Always true: the counters are the namespace's, not the bench's own.
    pub(crate) namespace_wide: bool,
    /// Client connections that got an MP_CAPABLE SYN/ACK (`MPCapableSYNACKRX`).
    pub(crate) capable_client: i64,
    /// Server connections that got the MP_CAPABLE third ACK (`MPCapableACKRX`).
    pub(crate) capable_server: i64,
    /// Additional subflows the client side joined (`MPJoinSynAckRx`).
    pub(crate) joins_client: i64,
    /// Additional subflows the server side accepted (`MPJoinAckRx`).
    pub(crate) joins_server: i64,
    /// Fallbacks to TCP: every counter whose name contains `Fallback`.
    pub(crate) fallbacks: i64,
    /// Every counter that changed (`MPCurrEstab` is a gauge and may go down).
    pub(crate) changed: BTreeMap<String, i64>,
}

/// The change from `before` to `after` (counters present in both).
pub(crate) fn delta(before: &Counters, after: &Counters) -> MptcpDelta {
    let changed: BTreeMap<String, i64> = after
        .iter()
        .filter_map(|(name, &a)| {
            let b = *before.get(name)?;
            let d = i64::try_from(a).ok()?.wrapping_sub(i64::try_from(b).ok()?);
            (d != 0).then(|| (name.clone(), d))
        })
        .collect();
    let get = |n: &str| changed.get(n).copied().unwrap_or(0);
    MptcpDelta {
        namespace_wide: true,
        capable_client: get("MPCapableSYNACKRX"),
        capable_server: get("MPCapableACKRX"),
        joins_client: get("MPJoinSynAckRx"),
        joins_server: get("MPJoinAckRx"),
        fallbacks: changed.iter().filter(|(n, _)| n.contains("Fallback")).map(|(_, &d)| d).sum(),
        changed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
TcpExt: SyncookiesSent SyncookiesRecv
TcpExt: 0 0
MPTcpExt: MPCapableSYNRX MPCapableSYNACKRX MPCapableACKRX MPCapableFallbackACK MPCapableFallbackSYNACK MPJoinSynAckRx MPJoinAckRx MPCurrEstab
MPTcpExt: 10 20 10 1 2 3 3 5
";

    #[test]
    fn parses_the_mptcpext_lines_only() {
        let c = parse(SAMPLE);
        assert_eq!(c.len(), 8);
        assert_eq!(c["MPCapableSYNACKRX"], 20);
        assert_eq!(c["MPCurrEstab"], 5);
        assert!(!c.contains_key("SyncookiesSent"));
        assert!(parse("TcpExt: A\nTcpExt: 1\n").is_empty());
        assert!(parse("MPTcpExt: A B\n").is_empty());
    }

    #[test]
    fn delta_names_the_changes() {
        let before = parse(SAMPLE);
        let after = parse(&SAMPLE.replace("10 20 10 1 2 3 3 5", "12 22 12 1 4 5 4 3"));
        let d = delta(&before, &after);
        assert!(d.namespace_wide);
        assert_eq!((d.capable_client, d.capable_server), (2, 2));
        assert_eq!((d.joins_client, d.joins_server), (2, 1));
        assert_eq!(d.fallbacks, 2);
        assert_eq!(d.changed["MPCurrEstab"], -2);
        assert!(!d.changed.contains_key("MPCapableFallbackACK"));
    }
}
