//! NetReaktor's passive MPTCP analyser: a sans-I/O follower of MPTCP connections, for
//! captures.
//!
//! It follows MPTCP connections passively through a capture and checks their handshakes,
//! HMACs, IDSNs and mappings with the keys and the cryptography of [`netreaktor_pipeline`]'s
//! `mptcp::crypto` (for tests and `netreaktor inspect`). The appliance's data path does not use
//! it, hence a crate of its own.
//!
//! [`Observer`] is fed Ethernet frames with their capture times. It follows every MPTCP
//! connection from its MP_CAPABLE SYN and every subflow that joins it, learns the keys both
//! hosts exchange in clear, and checks independently what the hosts derive from them:
//!
//! - the MP_CAPABLE handshake and its key echo (RFC 8684 §3.1, RFC 6824 §3.1);
//! - MP_JOIN tokens and HMACs (RFC 8684 §3.2), with the HMAC states of
//!   [`HmacKeys`] seen from the side that verifies each message;
//! - ADD_ADDR HMACs (RFC 8684 §3.4.1);
//! - the first DSN of each side against its IDSN, the first DATA_ACK against the peer's
//!   IDSN, and the consistency of each subflow's mappings (RFC 8684 §3.3);
//! - the MP_FASTCLOSE key (RFC 8684 §3.5);
//!
//! and records fallbacks to TCP (RFC 8684 §3.1, §3.7), events in time order (joins, address
//! signals, priorities, DATA_FINs, fast closes, resets with their MP_TCPRST reason,
//! MP_FAIL) and the traffic of each subflow, so a report can show data moving from one path
//! to another. Each check is a [`Check`] with an [`Outcome`]; [`ObservedConnection::verdict`]
//! sums them up per [`CheckKind`], and `Display` prints a connection for people.
//!
//! Subflows are identified by their 4-tuple, oriented by the host that sent the SYN. An
//! MP_JOIN SYN is attached to the connection one of whose keys has the token it carries; an
//! unknown token is reported in [`Observer::unknown_joins`]. Frames that do not parse are
//! counted by [`FrameError`], MPTCP options that do not
//! parse by subtype ([`ObserverStats`]). Nothing here panics on any input, and memory is
//! bounded by [`ObserverConfig`]: what does not fit is counted, not kept.
//!
//! Maps are `BTreeMap`s: like the pipeline, the observer reads no OS randomness, which
//! `HashMap`'s default hasher would.
//!
//! [`HmacKeys`]: netreaktor_pipeline::mptcp::crypto::HmacKeys
//! [`FrameError`]: netreaktor_pipeline::wire::frame::FrameError
#![forbid(unsafe_code)]

mod check;
mod connection;
mod dispatch;
mod display;
mod dss;
mod event;
mod handshake;
mod join;
mod mapping;
mod options;
mod process;
mod side;
mod signal;
mod stats;
mod subflow;

#[cfg(test)]
mod tests;

use core::net::SocketAddr;
use std::collections::{BTreeMap, BTreeSet};

pub use check::{Check, CheckDetail, CheckKind, Outcome};
pub use connection::ObservedConnection;
pub use event::{Event, EventKind, Fallback, HmacStatus};
pub use side::Side;
pub use stats::ObserverStats;
pub use subflow::{ObservedSubflow, SubflowKind, SubflowState};

use netreaktor_pipeline::time::Instant;
use netreaktor_pipeline::wire::frame::ChecksumPolicy;

/// What the observer verifies and how much it keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObserverConfig {
    /// Whether TCP checksums are verified. Captures taken on a sending host carry the
    /// wrong checksums of transmit offload, so the default trusts them.
    pub checksums: ChecksumPolicy,
    /// The most MPTCP connections followed; later MP_CAPABLE SYNs are counted and ignored.
    pub max_connections: usize,
    /// The most subflows followed over all connections.
    pub max_flows: usize,
    /// The most subflows followed per connection.
    pub max_subflows: usize,
    /// The most plain TCP flows remembered (so their frames are not counted as flows
    /// whose SYN was missed).
    pub max_plain_flows: usize,
    /// The most events kept per connection.
    pub max_events: usize,
    /// The most checks kept per connection (verdicts count them all).
    pub max_checks: usize,
    /// The most unknown-token joins kept.
    pub max_unknown_joins: usize,
}

impl Default for ObserverConfig {
    fn default() -> Self {
        ObserverConfig {
            checksums: ChecksumPolicy::Trust,
            max_connections: 65_536,
            max_flows: 262_144,
            max_subflows: 64,
            max_plain_flows: 65_536,
            max_events: 4_096,
            max_checks: 1_024,
            max_unknown_joins: 1_024,
        }
    }
}

/// An MP_JOIN SYN whose token matched no key seen (RFC 8684 §3.2: the receiver resets it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UnknownJoin {
    /// When it was seen.
    pub at: Instant,
    /// Who sent it.
    pub src: SocketAddr,
    /// Where it went.
    pub dst: SocketAddr,
    /// The token it carried.
    pub token: u32,
    /// Its backup bit.
    pub backup: bool,
    /// The sender's address ID.
    pub addr_id: u8,
}

/// Where a followed subflow lives: its connection and its index there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FlowSlot {
    conn: usize,
    sub: usize,
}

/// A flow's addresses in the direction of its SYN: (sender, receiver).
type FlowKey = (SocketAddr, SocketAddr);

/// Follows MPTCP connections through a capture; see the [module docs](self).
///
/// Call [`handle_frame`](Observer::handle_frame) for every frame in capture order, then
/// read [`connections`](Observer::connections) and [`stats`](Observer::stats). The
/// observer never sends anything and never reads a clock: frame times are parameters.
#[derive(Debug, Clone, Default)]
pub struct Observer {
    config: ObserverConfig,
    connections: Vec<ObservedConnection>,
    flows: BTreeMap<FlowKey, FlowSlot>,
    plain: BTreeSet<FlowKey>,
    tokens: BTreeMap<u32, usize>,
    unknown_joins: Vec<UnknownJoin>,
    stats: ObserverStats,
}

impl Observer {
    /// An observer with the default [`ObserverConfig`].
    pub fn new() -> Observer {
        Observer::default()
    }

    /// An observer with `config`.
    pub fn with_config(config: ObserverConfig) -> Observer {
        Observer { config, ..Observer::default() }
    }

    /// The connections followed, in the order their MP_CAPABLE SYNs were seen.
    pub fn connections(&self) -> &[ObservedConnection] {
        &self.connections
    }

    /// The counters.
    pub fn stats(&self) -> &ObserverStats {
        &self.stats
    }

    /// MP_JOIN SYNs whose token named no connection (at most the configured number).
    pub fn unknown_joins(&self) -> &[UnknownJoin] {
        &self.unknown_joins
    }

    /// The configuration.
    pub fn config(&self) -> &ObserverConfig {
        &self.config
    }
}
