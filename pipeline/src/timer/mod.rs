//! A hierarchical timer wheel for many connections: O(1) arm, cancel and re-arm.
//!
//! After Varghese & Lauck, "Hashed and Hierarchical Timing Wheels" (SOSP 1987), in the shape
//! of tokio's and `hierarchical_hash_wheel_timer`'s wheels. Each worker owns one
//! [`TimerWheel`] holding every retransmission, delayed-ACK, keepalive, TIME-WAIT and
//! ADD_ADDR timer of its connections; the payload `T` says which connection and which timer.
//!
//! # Time
//!
//! Time is counted in ticks of a fixed [`Duration`] from the `now` given to
//! [`TimerWheel::new`]. A deadline is rounded *up* to a tick, so a timer never fires before
//! its deadline and fires at the first poll at or after the end of its tick: no later than
//! one tick past its deadline if the caller polls at [`TimerWheel::next_deadline`]. A
//! deadline already in the past is due at once and fires at the next poll. A deadline that,
//! rounded up, lies beyond [`Instant::MAX`] never fires (as befits "never").
//!
//! # Structure
//!
//! Six levels of 64 slots; a slot of level `l` spans `64^l` ticks, so the wheel covers
//! `2^36` ticks ahead (19 hours at a 1 µs tick, 2.2 years at 1 ms). A timer sits in the
//! slot of the highest level at which its due tick differs from the current tick; as time
//! reaches a slot of level `l > 0` its timers cascade to lower levels, each timer at most
//! five times. Timers beyond the top level's span wait in an overflow list that is
//! re-examined when time enters the top-level span holding the earliest of them. Due timers
//! move to a ready list, from which [`TimerWheel::poll_expired`] hands them out.
//!
//! Timers live in a slab (a `Vec` plus free list); each list (slot, ready, overflow) is an
//! intrusive doubly-linked list through the slab, so cancel and reset unlink in O(1). A
//! 64-bit occupancy bitmap per level finds the next occupied slot without looking at
//! timers. A [`TimerHandle`] carries a generation number: a handle to a timer that has
//! fired or been cancelled is stale and never touches the timer that reuses its slot.
//! Memory grows with the peak number of live timers, not with time or with cancellations.
//! Nothing here panics on any sequence of calls.

mod slab;
mod wheel;

pub use wheel::TimerWheel;

#[cfg(doc)]
use crate::time::{Duration, Instant};

/// Names one armed timer in a [`TimerWheel`].
///
/// Returned by [`TimerWheel::insert`] and handed back with the value when the timer fires.
/// After the timer fires or is cancelled the handle is stale: every operation on it is a
/// no-op that reports failure, even once the wheel reuses the storage for another timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimerHandle {
    index: usize,
    generation: u64,
}

#[cfg(test)]
mod tests;
