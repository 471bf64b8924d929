//! NetReaktor's sans-I/O packet pipeline.
//!
//! Everything that decides what happens to a packet lives here, and nothing here performs I/O:
//! no sockets, no threads, no clock reads, no system randomness. Time enters as an
//! [`time::Instant`] parameter and randomness as a seeded generator, so every behaviour can be
//! replayed exactly in the deterministic network simulator (crate `netreaktor-netsim`, in
//! `pipeline/netsim`), whose suites in `pipeline/tests` prove the engines.
//!
//! Modules:
//! - [`wire`]: checked zero-copy views and `Repr`s for Ethernet, ARP, IPv4, IPv6, TCP, every TCP
//!   option and every MPTCP suboption of RFC 8684 (v1) and RFC 6824 (v0); checksums.
//! - [`tcp`]: the TCP engine's building blocks: congestion control, SACK scoreboard, RTO
//!   estimator, ISNs, SYN cookies, buffers.
//! - [`mptcp`]: MPTCP keys, tokens, IDSNs and HMACs (RFC 8684 §3.1-§3.4). The passive observer
//!   of MPTCP connections in captures that checks them is the crate `netreaktor-observer`
//!   (`pipeline/observer`).
//! - [`proxy`]: a client connection spliced to an origin connection with bounded buffers,
//!   backpressure, half-close and reset propagation, and round-robin origin selection.
//! - [`shard`]: one worker's share of the appliance: listeners, splices, timers, frames in and
//!   out.
//! - [`time`]: the virtual-time `Instant` and `Duration` the pipeline runs on.
//! - [`timer`]: a hierarchical timer wheel for many connections, O(1) arm and cancel.
#![forbid(unsafe_code)]

pub mod mptcp;
pub mod proxy;
pub mod shard;
pub mod tcp;
pub mod time;
pub mod timer;
pub mod wire;
