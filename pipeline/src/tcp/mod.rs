//! The TCP engine's building blocks (RFC 9293 and companions).
//!
//! One engine will serve both MPTCP subflows toward clients and plain TCP connections toward
//! origins. This module holds the parts that do not depend on the connection state machine,
//! each complete and tested on its own:
//!
//! - [`cc`]: congestion control behind a trait: NewReno (RFC 5681, RFC 6582) and CUBIC
//!   (RFC 9438).
//! - [`sack`]: the SACK scoreboard (RFC 2018) and the loss-recovery decisions of RFC 6675.
//! - [`rtt`]: the retransmission timer estimator (RFC 6298).
//! - [`isn`]: initial sequence numbers (RFC 6528).
//! - [`syncookie`]: SYN cookies (RFC 4987).
//! - [`buffer`]: the send buffer and the receive reassembler, bounded and allocated lazily.
//!
//! And the engine that ties them together:
//!
//! - [`state`]: the RFC 9293 states and their declared transitions.
//! - [`conn`]: one connection, sans I/O (segments in, segments out, time as a parameter).
//! - [`config`]: its tunables.
//! - [`hooks`]: how an upper layer (MPTCP) adds options to outgoing segments.
//! - [`listener`]: LISTEN, the half-open table, SYN cookies, the accept queue.
//! - [`time_wait`]: a bounded table of compact TIME-WAIT entries.

pub mod buffer;
pub mod cc;
pub mod config;
pub mod conn;
pub mod hooks;
pub mod isn;
pub mod listener;
pub mod rtt;
pub mod sack;
pub mod state;
pub mod syncookie;
pub mod time_wait;

pub use config::{Config, Keepalive};
pub use conn::{
    CloseReason, ConnEvent, Connection, INITIAL_RCV_SPACE, MIN_BUFFER, Received, Stats, Timer,
    Transmit,
};
pub use hooks::{Outgoing, SegmentHook, SegmentKind};
pub use state::{Event, State};
