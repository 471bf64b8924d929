//! The proxy core, sans I/O: a client-side connection spliced to an origin-side connection.
//!
//! - [`Splice`]: moves bytes both ways between two [`Connection`](crate::tcp::Connection)s
//!   with bounded buffering and backpressure (bytes leave one side's receive buffer only as
//!   fast as the other side's send buffer takes them, so the receive window closes when the
//!   far side stalls), passes half-closes through (a FIN after the data, RFC 9293 §3.10.4
//!   CLOSE), propagates resets (RFC 9293 §3.10.5 ABORT on the other side), and enforces a
//!   connect timeout on the origin side and an idle timeout on the pair.
//! - [`OriginPicker`]: round-robin over the origin servers, and the next origin to retry
//!   when a connect fails, skipping origins that passive health ([`health`]) ejected after
//!   consecutive connect failures.
//! - [`pp2`]: the PROXY protocol v2 header, sent first to origins that ask for it.
//!
//! The owner demultiplexes segments by 4-tuple to [`Splice::handle_segment`], opens origin
//! connections (it owns the source ports and the ISN generator), and reacts to what
//! [`Splice::pump`] reports: [`SpliceStatus::OriginFailed`] asks it to retry with a new
//! origin connection ([`Splice::retry_origin`]) or to give up ([`Splice::give_up`], which
//! resets the client).

mod client;
pub mod health;
mod origin;
mod phase;
pub mod pp2;
mod splice;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_health;

pub use client::{Client, Tuple};
pub use health::{HealthChange, HealthCheck, HealthConfig, HealthInput, HealthState, OriginHealth};
pub use origin::{Attempt, OriginPicker};
pub use phase::SplicePhase;
pub use splice::{ConnectFailure, Side, Splice, SpliceConfig, SpliceEnd, SpliceStatus};
