//! What a shard reports for logs: accepted connections, origin retries, ends.

use std::net::SocketAddr;

use crate::proxy::{ConnectFailure, SpliceEnd};

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
        /// How.
        end: SpliceEnd,
        /// Bytes moved: client to origin, origin to client.
        moved: (u64, u64),
    },
}
