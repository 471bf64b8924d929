//! NetReaktor's deterministic network simulator: the integration test harness for the TCP and
//! MPTCP engines of [`netreaktor_pipeline`].
//!
//! The pipeline performs no I/O: time enters it as an [`Instant`] parameter and randomness as a
//! seeded generator, so every behaviour can be replayed exactly here, where the engines are
//! proven. Only tests use this crate; the appliance does not link it.
//!
//! Nodes are sans-I/O state machines ([`Node`]) that exchange Ethernet frames over
//! point-to-point links between `(node, interface)` [`Endpoint`]s. Time is virtual
//! ([`Instant`], microseconds) and every random decision comes from a seeded
//! xoshiro256** generator ([`Rng`]) written out in this crate, so the same seed and the same
//! scenario give the same run bit for bit, on every machine and after every dependency
//! upgrade. Nothing iterates a hash map and no decision uses floating point: rates are bits
//! per second, probabilities parts per million ([`PPM`]).
//!
//! # Links
//!
//! Each direction of a link has its own [`LinkConfig`]: propagation delay, jitter, rate
//! (serialization delay behind a FIFO queue with a tail-drop limit in frames or bytes),
//! random loss, reordering, duplication and MTU. [`LinkConfig`] says in which order they
//! apply. Each direction draws from its own random stream (derived from the seed, the link
//! number and the direction), so adding traffic on one link does not change the random
//! decisions of another.
//!
//! # The event loop
//!
//! A step is the earliest of: a pending event (a frame arriving, a transmitter finishing a
//! frame, a scheduled action) or a node's timeout. Events at one instant run in the order
//! they were scheduled, all before node timeouts at that instant; node timeouts at one
//! instant run in the order the nodes were added. After each step every node is drained of
//! frames ([`Node::poll_transmit`]), which the links accept, queue or drop at once. The clock
//! then jumps to the next step. [`Network::run_until`], [`Network::run_for`],
//! [`Network::run_until_idle`] and [`Network::run_while`] drive the loop; each stops with a
//! panic (or an error from the `try_` variants) after [`Network::set_step_limit`] steps, so a
//! broken engine fails a test instead of hanging it.
//!
//! # Scheduling and observing
//!
//! [`Network::schedule`] runs any closure on the network at a virtual time: poke a node
//! (let the application write), cut or restore a link ([`Network::schedule_cut`]), change
//! its rate, delay or loss ([`Network::schedule_update`]). Per link and direction,
//! [`LinkStats`] count frames sent, delivered, dropped by [`DropReason`], duplicated and
//! reordered. [`Network::enable_trace`] records every [`TraceEntry`];
//! [`Network::trace_hash`] hashes them all (and every frame's bytes) to assert determinism
//! cheaply. [`Network::capture`] writes a classic pcap per endpoint, for Wireshark.
//!
//! # Hosts
//!
//! [`hosts`] holds the nodes the suites share: [`hosts::TcpHost`], one TCP connection of the
//! pipeline's engine behind an Ethernet interface, with an application that sends and checks
//! a seeded byte stream.
//!
//! # Example
//!
//! ```
//! use netreaktor_netsim::{
//!     Direction, IfaceId, LinkConfig, Network, Node, Transmit, ms,
//! };
//! use netreaktor_pipeline::time::Instant;
//!
//! /// Sends one frame at time zero.
//! struct Ping(Option<Vec<u8>>);
//! impl Node for Ping {
//!     fn handle_frame(&mut self, _: Instant, _: IfaceId, _: &[u8]) {}
//!     fn handle_timeout(&mut self, _: Instant) {}
//!     fn poll_timeout(&self) -> Option<Instant> { None }
//!     fn poll_transmit(&mut self, _: Instant) -> Option<Transmit> {
//!         self.0.take().map(|f| Transmit::new(IfaceId(0), f))
//!     }
//! }
//!
//! /// Records when frames arrive.
//! #[derive(Default)]
//! struct Sink(Vec<Instant>);
//! impl Node for Sink {
//!     fn handle_frame(&mut self, now: Instant, _: IfaceId, _: &[u8]) { self.0.push(now) }
//!     fn handle_timeout(&mut self, _: Instant) {}
//!     fn poll_timeout(&self) -> Option<Instant> { None }
//!     fn poll_transmit(&mut self, _: Instant) -> Option<Transmit> { None }
//! }
//!
//! let mut net = Network::new(1);
//! let a = net.add_node(Ping(Some(vec![0; 1000])));
//! let b = net.add_node(Sink::default());
//! // 1000 bytes at 8 Mbit/s take 1 ms on the wire, then 20 ms of propagation.
//! let link = net.connect(a.iface(0), b.iface(0), LinkConfig::new().delay(ms(20)).rate_mbps(8));
//! net.run_until_idle();
//! assert_eq!(net.node::<Sink>(b).0, [Instant::from_millis(21)]);
//! assert_eq!(net.stats(link, Direction::AToB).delivered, 1);
//! ```
//!
//! [`Instant`]: netreaktor_pipeline::time::Instant
#![forbid(unsafe_code)]

mod channel;
mod event;
pub mod hosts;
mod link;
mod network;
mod node;
mod pcap;
mod rng;
mod run;
mod stats;
mod trace;

#[cfg(test)]
mod tests;

pub use link::{
    Direction, Dirs, ETHERNET_HEADER_LEN, LinkConfig, LinkId, QueueLimit, ms, percent, secs, us,
};
pub use network::{DEFAULT_STEP_LIMIT, Network};
pub use node::{Endpoint, IfaceId, Node, NodeId, Transmit};
pub use pcap::{LINKTYPE_ETHERNET, PcapWriter, SNAPLEN};
pub use rng::{PPM, Rng, SplitMix64, mix64};
pub use run::{StepLimitExceeded, Stop};
pub use stats::{DropReason, LinkStats};
pub use trace::{LinkEvent, TraceEntry};
