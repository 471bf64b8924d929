//! The maps shared with `steer.bpf.c`: key and value layouts, the steering configuration written
//! into them, and the per-CPU counters read back.
//!
//! Layouts (mirrored in `steer.bpf.c`, change both together):
//! - `services` (hash, 256 entries): key [`Key`], value `u8` (1). Steers TCP whose destination
//!   address and port equal the key.
//! - `origins` (hash, 64 entries): key [`Key`] with port 0, value `[u16; 2]` (first, last port,
//!   inclusive, host byte order). Steers TCP to that address whose destination port is in range.
//! - `guarded` (hash, 256 entries): key [`Key`] with port 0, value `u8` (1): the service
//!   addresses. TCP to them that the program cannot steer (a fragment, an IPv6 header chain it
//!   does not walk, a truncated header) is dropped, never passed to the kernel.
//! - `xsks` (XSKMAP, 64 entries): rx queue index -> AF_XDP socket.
//! - `counters` (per-CPU array of `u64`): indexed by [`Counter`].

use std::fmt;
use std::net::IpAddr;
use std::ops::RangeInclusive;

/// Length of a `services` / `origins` key.
pub(crate) const KEY_LEN: usize = 20;

/// `struct nr_key`: family (4 or 6), zero, port (big-endian), address (16 bytes, an IPv4
/// address in the first 4, the rest zero).
pub(crate) type Key = [u8; KEY_LEN];

/// Capacity of the `services` map.
pub(crate) const MAX_SERVICES: usize = 256;
/// Capacity of the `origins` map.
pub(crate) const MAX_ORIGINS: usize = 64;

/// Encodes `struct nr_key` for `addr` and destination `port`.
pub(crate) fn key(addr: IpAddr, port: u16) -> Key {
    let mut key = [0u8; KEY_LEN];
    let [port_hi, port_lo] = port.to_be_bytes();
    key[2] = port_hi;
    key[3] = port_lo;
    match addr {
        IpAddr::V4(v4) => {
            key[0] = 4;
            key[4..8].copy_from_slice(&v4.octets());
        }
        IpAddr::V6(v6) => {
            key[0] = 6;
            key[4..20].copy_from_slice(&v6.octets());
        }
    }
    key
}

/// The origin-side ports of one appliance address: replies to them are steered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct OriginPorts {
    /// The appliance's source address towards the origin servers.
    pub(crate) addr: IpAddr,
    /// The source ports our origin connections use (destination ports of the replies).
    pub(crate) ports: RangeInclusive<u16>,
}

/// What the steering program redirects to AF_XDP.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct SteerConfig {
    /// Client side: TCP to one of these (service address, port) pairs.
    pub(crate) services: Vec<(IpAddr, u16)>,
    /// Origin side: TCP to one of these addresses with a destination port in its range.
    pub(crate) origins: Vec<OriginPorts>,
}

impl SteerConfig {
    /// Checks the configuration fits the maps: sizes, non-empty ranges, one range per address.
    pub(crate) fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.services.len() <= MAX_SERVICES,
            "xdp: {} service matches, at most {MAX_SERVICES}",
            self.services.len()
        );
        anyhow::ensure!(
            self.origins.len() <= MAX_ORIGINS,
            "xdp: {} origin-side addresses, at most {MAX_ORIGINS}",
            self.origins.len()
        );
        for (i, origin) in self.origins.iter().enumerate() {
            anyhow::ensure!(
                !origin.ports.is_empty(),
                "xdp: empty origin-side port range for {}",
                origin.addr
            );
            anyhow::ensure!(
                self.origins[..i].iter().all(|o| o.addr != origin.addr),
                "xdp: origin-side address {} given twice",
                origin.addr
            );
        }
        Ok(())
    }

    /// The `services` entries.
    pub(crate) fn service_keys(&self) -> impl Iterator<Item = Key> + '_ {
        self.services.iter().map(|&(addr, port)| key(addr, port))
    }

    /// The `guarded` entries: each service address once, with port 0.
    pub(crate) fn guarded_keys(&self) -> Vec<Key> {
        let mut keys: Vec<Key> = self.services.iter().map(|&(addr, _)| key(addr, 0)).collect();
        keys.sort_unstable();
        keys.dedup();
        keys
    }

    /// The `origins` entries: key (port 0) and inclusive port range.
    pub(crate) fn origin_entries(&self) -> impl Iterator<Item = (Key, [u16; 2])> + '_ {
        self.origins.iter().map(|o| (key(o.addr, 0), [*o.ports.start(), *o.ports.end()]))
    }
}

/// One per-CPU counter of the steering program (`enum nr_counter`): each packet the program
/// sees increments exactly one of them. The `drop_` verdicts are XDP_DROP, `redirected` is a
/// redirect, the rest pass to the kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Counter {
    /// Matched and an AF_XDP socket was bound to the queue: `bpf_redirect_map` was called.
    Redirected = 0,
    /// Matched but no AF_XDP socket is bound to the receiving queue: passed to the kernel.
    SteerNoXsk = 1,
    /// Not IPv4 or IPv6 (ARP, LLDP, a second VLAN tag): passed.
    PassNotIp = 2,
    /// IP but not TCP (ICMP, UDP): passed.
    PassNotTcp = 3,
    /// TCP to an address or port that is not steered: passed.
    PassNoMatch = 4,
    /// A fragment that is not of steered TCP (UDP, or TCP to an address not served): passed.
    PassFragment = 5,
    /// IPv6 with an extension header the program does not walk (AH, ESP, a Routing header
    /// with Segments Left, more than four), not to a service address: passed.
    PassIpv6Ext = 6,
    /// Truncated header or IPv4 IHL below 5, not to a service address: passed.
    PassMalformed = 7,
    /// A fragment of TCP to a service address, or a first fragment of steered TCP: dropped
    /// (the pipeline does not reassemble; docs/architecture.md).
    DropFragment = 8,
    /// TCP to a service address that cannot be steered (an IPv6 header chain not walked, a
    /// truncated header): dropped, so the kernel never answers it.
    DropUnsteerable = 9,
}

impl Counter {
    /// Every counter, in map index order.
    pub(crate) const ALL: [Counter; 10] = [
        Counter::Redirected,
        Counter::SteerNoXsk,
        Counter::PassNotIp,
        Counter::PassNotTcp,
        Counter::PassNoMatch,
        Counter::PassFragment,
        Counter::PassIpv6Ext,
        Counter::PassMalformed,
        Counter::DropFragment,
        Counter::DropUnsteerable,
    ];

    /// Index in the `counters` map.
    pub(crate) fn index(self) -> u32 {
        self as u32
    }

    /// A stable name, for metrics and logs.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Counter::Redirected => "redirected",
            Counter::SteerNoXsk => "steer_no_xsk",
            Counter::PassNotIp => "pass_not_ip",
            Counter::PassNotTcp => "pass_not_tcp",
            Counter::PassNoMatch => "pass_no_match",
            Counter::PassFragment => "pass_fragment",
            Counter::PassIpv6Ext => "pass_ipv6_ext",
            Counter::PassMalformed => "pass_malformed",
            Counter::DropFragment => "drop_fragment",
            Counter::DropUnsteerable => "drop_unsteerable",
        }
    }
}

/// The counters summed over all CPUs at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Counters([u64; Counter::ALL.len()]);

impl Counters {
    /// Builds a snapshot from per-counter totals in [`Counter::ALL`] order.
    pub(crate) fn from_totals(totals: [u64; Counter::ALL.len()]) -> Self {
        Counters(totals)
    }

    /// The total of `counter`.
    pub(crate) fn get(&self, counter: Counter) -> u64 {
        // Invariant: `Counter` discriminants are 0..ALL.len(), the array's length.
        self.0[counter as usize]
    }

    /// Per-counter difference `self - earlier` (saturating: counters only grow).
    pub(crate) fn since(&self, earlier: &Counters) -> Counters {
        let mut out = [0u64; Counter::ALL.len()];
        for (o, (now, then)) in out.iter_mut().zip(self.0.iter().zip(earlier.0.iter())) {
            *o = now.saturating_sub(*then);
        }
        Counters(out)
    }
}

impl fmt::Display for Counters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, counter) in Counter::ALL.iter().enumerate() {
            let sep = if i == 0 { "" } else { " " };
            write!(f, "{sep}{}={}", counter.name(), self.get(*counter))?;
        }
        Ok(())
    }
}
