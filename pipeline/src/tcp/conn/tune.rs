//! Buffer sizing (docs/operations.md, "Memory model"): the receive window grows with what the
//! application drains per round trip instead of offering the whole receive buffer from the
//! first segment, the send buffer takes only what the path can use in the next round trips,
//! and under memory pressure both fall back to a small per-connection minimum.
//!
//! - **Receive autotuning** (dynamic right-sizing, as Linux's `tcp_rcv_space_adjust`): the
//!   receive space starts at `initial_rcv_space` ([`INITIAL_RCV_SPACE`] by default); once per smoothed RTT the bytes the
//!   application consumed in that RTT are compared with it, and the space becomes twice that
//!   amount when it is larger, up to the configured `recv_buffer`. A reader that drains
//!   nothing keeps the initial space, so a stalled path holds little.
//! - **The window offered** is the space less the bytes still unread, never the buffer's
//!   whole free room. The right edge of an advertised window never moves left (RFC 9293
//!   §3.8.6.2.2; `output.rs`, `window_field`), and the window opens only in steps of at least
//!   min(space / 2, MSS) (receiver silly-window avoidance, RFC 9293 §3.8.6.2.2).
//! - **The send limit** is twice the smaller of the congestion window and the largest window
//!   the peer offered (what Linux's `tcp_sndbuf_expand` keeps): the data the next round trips
//!   can carry, at least [`MIN_BUFFER`], at most `send_buffer`. A peer that stopped reading
//!   (zero window) leaves it where its last window put it.
//! - **Memory pressure** (set by the owner, which keeps the budget: the shard): the space
//!   stops growing, and the window offered and the send limit both fall to [`MIN_BUFFER`]
//!   (as Linux clamps windows under `tcp_mem` pressure). Data already inside an advertised
//!   window is still accepted, so no connection stalls and none retracts a window.

use super::Connection;
use crate::tcp::cc::CongestionControl;
use crate::time::{Duration, Instant};

/// The receive space a connection starts with by default: the window its first segments may
/// fill (Linux's default is of the same order).
pub const INITIAL_RCV_SPACE: usize = 64 << 10;

/// The per-connection floor of each buffer under memory pressure: enough for a few full
/// segments, so every connection keeps making progress.
pub const MIN_BUFFER: usize = 16 << 10;

/// The measurement interval before the first RTT sample.
const DEFAULT_RTT: Duration = Duration::from_millis(100);

/// The autotuning state of the receive side.
#[derive(Debug, Clone, Copy)]
pub(super) struct RcvSpace {
    /// The receive space: the most bytes the window offered may cover (unread included).
    pub(super) space: usize,
    /// Bytes the application consumed since the connection began.
    pub(super) consumed: u64,
    /// `consumed` when the current measurement began.
    mark: u64,
    /// When the current measurement began.
    since: Instant,
}

impl RcvSpace {
    pub(super) fn new(initial: usize, recv_buffer: usize, now: Instant) -> RcvSpace {
        RcvSpace { space: initial.min(recv_buffer), consumed: 0, mark: 0, since: now }
    }
}

impl Connection {
    /// Tells the connection whether the owner's buffer budget is under pressure: while it is,
    /// the receive space stops growing and the window offered and the send limit fall to
    /// [`MIN_BUFFER`]. No advertised window is retracted.
    pub fn set_memory_pressure(&mut self, on: bool) {
        self.pressure = on;
    }

    /// The receive space now: what autotuning reached, clamped to [`MIN_BUFFER`] under
    /// pressure.
    pub fn receive_space(&self) -> usize {
        let space = self.rcv_space.space;
        if self.pressure { space.min(MIN_BUFFER) } else { space }
    }

    /// The most bytes the send buffer is given now (see the module docs): the splice moves no
    /// more into it.
    pub fn send_limit(&self) -> usize {
        let cap = self.snd.buf.capacity();
        if self.pressure {
            return MIN_BUFFER.min(cap);
        }
        let pipe = self.cc.cwnd().min(self.snd.max_wnd as usize);
        pipe.saturating_mul(2).clamp(MIN_BUFFER.min(cap), cap)
    }

    /// Once per smoothed RTT, after data arrived: grow the receive space to twice what the
    /// application consumed in the last RTT when that is more (dynamic right-sizing).
    pub(super) fn tune_receive(&mut self, now: Instant) {
        let rtt = self.rtt.srtt().unwrap_or(DEFAULT_RTT);
        let s = &mut self.rcv_space;
        if now.saturating_duration_since(s.since) < rtt {
            return;
        }
        let copied = usize::try_from(s.consumed - s.mark).unwrap_or(usize::MAX);
        s.mark = s.consumed;
        s.since = now;
        if !self.pressure && copied.saturating_mul(2) > s.space {
            s.space = copied.saturating_mul(2).min(self.cfg.recv_buffer);
        }
    }

    /// The window the receive side may offer now: the receive space less the unread bytes,
    /// within the buffer's free room.
    pub(super) fn offerable_window(&self) -> usize {
        let unread = self.rcv.reasm.readable_len();
        let room = self.receive_space().saturating_sub(unread);
        room.min(self.rcv.reasm.window_remaining())
    }
}
