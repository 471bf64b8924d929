//! What an MPTCP connection is allowed to do: subflow limit, scheduler, failover timing,
//! checksums, the addresses it announces.

use std::net::IpAddr;

use crate::time::Duration;
use crate::wire::mptcp::MptcpVersion;

/// Which subflow carries the next bytes toward the peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Scheduler {
    /// The lowest smoothed RTT among the usable non-backup subflows with room; backup
    /// subflows only when no non-backup one is usable.
    #[default]
    LowestRtt,
    /// Every new byte on every usable subflow with room (each a separate mapping of the same
    /// data): the fastest copy wins, duplicates are dropped at the data level.
    Redundant,
}

/// DSS checksums (RFC 8684 §3.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Checksums {
    /// Used when the peer requires them (its MP_CAPABLE has A=1); otherwise off.
    #[default]
    IfPeerAsks,
    /// Always: our MP_CAPABLE sets A=1.
    Required,
}

/// The MPTCP versions a service terminates: v0 (RFC 6824, iOS 11-15) and v1 (RFC 8684).
/// A SYN of a version not listed gets plain TCP (docs/configuration.md,
/// `terminate.mptcp_versions`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Versions {
    /// v0 (RFC 6824).
    pub v0: bool,
    /// v1 (RFC 8684).
    pub v1: bool,
}

impl Versions {
    /// Both versions: the default.
    pub const BOTH: Versions = Versions { v0: true, v1: true };

    /// Whether `version` is terminated.
    pub const fn allows(self, version: MptcpVersion) -> bool {
        match version {
            MptcpVersion::V0 => self.v0,
            MptcpVersion::V1 => self.v1,
        }
    }
}

impl Default for Versions {
    fn default() -> Self {
        Versions::BOTH
    }
}

/// An MPTCP connection's limits and policies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MptcpConfig {
    /// The versions answered with MPTCP; each SYN is answered in its own version.
    pub versions: Versions,
    /// Subflows at once, the initial one included (RFC 8684 §3.2: a join past it is reset).
    pub max_subflows: usize,
    /// The scheduler.
    pub scheduler: Scheduler,
    /// A subflow with data outstanding and no acknowledgement for
    /// `max(failover_floor, failover_rtts * SRTT + 4 * RTTVAR)` is potentially failed: its
    /// unacknowledged data is reinjected on the other subflows at once.
    pub failover_floor: Duration,
    /// See [`failover_floor`](Self::failover_floor).
    pub failover_rtts: u32,
    /// DSS checksums.
    pub checksums: Checksums,
    /// Our MP_CAPABLE carries C=1: the peer should not open subflows to our service address
    /// (RFC 8684 §3.1), only to announced ones.
    pub no_join_to_source: bool,
    /// Addresses (with their address ids, 1..) announced with ADD_ADDR once the connection
    /// is established (RFC 8684 §3.4.1).
    pub announce: Vec<(u8, IpAddr)>,
    /// An ADD_ADDR not echoed is sent again after this long, at most
    /// [`ADD_ADDR_TRIES`](super::ADD_ADDR_TRIES) times.
    pub add_addr_timeout: Duration,
    /// Bytes of the data-level receive buffer (reassembly across subflows).
    pub recv_buffer: usize,
    /// Bytes of the data-level send buffer (kept until DATA_ACKed).
    pub send_buffer: usize,
}

impl Default for MptcpConfig {
    fn default() -> Self {
        MptcpConfig {
            versions: Versions::BOTH,
            max_subflows: 8,
            scheduler: Scheduler::LowestRtt,
            failover_floor: Duration::from_millis(50),
            failover_rtts: 2,
            checksums: Checksums::IfPeerAsks,
            no_join_to_source: false,
            announce: Vec::new(),
            add_addr_timeout: Duration::from_secs(2),
            recv_buffer: 4 << 20,
            send_buffer: 4 << 20,
        }
    }
}
