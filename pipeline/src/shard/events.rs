//! What a shard reports for logs: accepted connections, origin retries, ends.

use std::net::SocketAddr;

use crate::proxy::{ConnectFailure, SpliceEnd};
use crate::time::Duration;

/// One thing that happened in a shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardEvent {
    /// A client connection was accepted for service `service` and an origin connection
    /// opened to `origin`.
    Accepted {
        /// The client's address and port.
        client: SocketAddr,
        /// The service's index in the configuration.
        service: usize,
        /// The origin tried first.
        origin: SocketAddr,
    },
    /// An origin attempt failed and the next origin is tried.
    Retry {
        /// The client's address and port.
        client: SocketAddr,
        /// The origin tried now.
        origin: SocketAddr,
        /// Why the previous attempt failed.
        after: ConnectFailure,
    },
    /// A splice ended.
    Ended {
        /// The client's address and port.
        client: SocketAddr,
        /// The service's index in the configuration.
        service: usize,
        /// The origin it was spliced to (the last one tried, when none answered).
        origin: SocketAddr,
        /// From the client connection's acceptance to the end.
        duration: Duration,
        /// How.
        end: SpliceEnd,
        /// Bytes moved: client to origin, origin to client.
        moved: (u64, u64),
        /// For an MPTCP client: what its subflows went through.
        mptcp: Option<HandoverSummary>,
    },
}

/// An MPTCP connection's handover telemetry, reported when it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HandoverSummary {
    /// Subflows it had, the initial one included.
    pub subflows: u64,
    /// Times a subflow stalled past its failover time.
    pub potentially_failed: u64,
    /// Bytes sent again on another subflow.
    pub reinjected_bytes: u64,
    /// Subflows reset or closed before the connection ended.
    pub subflows_closed: u64,
    /// Its longest handover stall, if a handover was measured (the figure the
    /// `netreaktor_mptcp_handover_stall_seconds` histogram observed, docs/operations.md).
    pub longest_stall: Option<Duration>,
}
