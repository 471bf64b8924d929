//! The TCP engine's byte buffers: [`SendBuffer`] for data awaiting acknowledgment and
//! [`Reassembler`] for received data, in order or not.
//!
//! Both serve origin connections and MPTCP subflows alike, so an idle connection must cost
//! almost nothing:
//!
//! - **Lazy allocation.** Nothing is allocated at accept. The first byte allocates
//!   `max(2048, next power of two)` bytes; storage doubles as data accumulates and never exceeds
//!   the per-connection budget given to `new` (its capacity).
//! - **Release when drained.** The send buffer frees its storage as soon as an ack empties it;
//!   the reassembler frees its storage (and its range list) once the application has consumed
//!   everything and nothing is held out of order. By default the release is immediate and
//!   needs no clock; the cost is an allocation per burst (per segment, if the application
//!   reads each segment as it lands), which a thread-caching allocator serves cheaply. An
//!   engine that prefers to keep the storage across bursts calls `set_release_on_drain(false)`
//!   and `release_if_drained()` from its own idle timer (time is the engine's: this module
//!   reads no clock). `allocated_bytes()` reports the storage for memory accounting.
//! - **No copy on the read path.** `SendBuffer::peek` and `Reassembler::readable` return up to
//!   two slices (a ring wraps once at most) that the engine copies straight into a frame or
//!   hands to the application.
//! - **Byte offsets, not sequence numbers.** The send buffer is addressed from SND.UNA and the
//!   reassembler from RCV.NXT (RFC 9293 §3.3.1); sequence arithmetic (and trimming data before
//!   RCV.NXT, RFC 9293 §3.10.7.4) is the engine's business.
//! - **Fast path.** An in-order segment into a reassembler with no holes is one `memcpy` plus a
//!   length update; the out-of-order range list is only touched when holes exist.
//!
//! The reassembler implements the receive-side parts of RFC 9293 §3.10.7.4 (window trimming,
//! keeping out-of-order data) and the SACK block ordering of RFC 2018 §4.

mod reassembler;
mod ring;
mod send;

pub use reassembler::{DEFAULT_MAX_HOLES, HeldRange, InsertOutcome, Reassembler};
pub use send::SendBuffer;

#[cfg(test)]
mod tests;
