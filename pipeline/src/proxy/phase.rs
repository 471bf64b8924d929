//! Where a splice is in its life: what the connection gauges count, and whether it still
//! counts toward its service's `max_connections`.

use super::splice::{Splice, ended};
use crate::tcp::{Connection, State};

/// A splice's phase, from its two connections' states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SplicePhase {
    /// The origin connection is being opened.
    Connecting,
    /// Bytes may move both ways.
    Open,
    /// One side sent its FIN (DATA_FIN for MPTCP): one direction is complete or completing.
    HalfClosed,
    /// Both byte streams are complete; only the acknowledgement of a last FIN or DATA_FIN
    /// (LAST-ACK, CLOSING) is outstanding somewhere.
    Closing,
    /// Both connections are CLOSED or in TIME-WAIT: nothing more will pass.
    TimeWait,
}

impl SplicePhase {
    /// Every phase, in declaration order.
    pub const ALL: [SplicePhase; 5] = [
        SplicePhase::Connecting,
        SplicePhase::Open,
        SplicePhase::HalfClosed,
        SplicePhase::Closing,
        SplicePhase::TimeWait,
    ];

    /// Its position in declaration order (and in [`ALL`](Self::ALL)).
    pub fn index(self) -> usize {
        self as usize
    }

    /// Its name in metrics (`state="..."`) and status.
    pub fn name(self) -> &'static str {
        match self {
            SplicePhase::Connecting => "connecting",
            SplicePhase::Open => "open",
            SplicePhase::HalfClosed => "half_closed",
            SplicePhase::Closing => "closing",
            SplicePhase::TimeWait => "time_wait",
        }
    }

    /// Whether a splice in this phase counts toward `max_connections`: it may still carry
    /// bytes. A closing splice only waits for acknowledgements its peers may be slow to send
    /// (the kernel MPTCP client acknowledges a DATA_FIN from a work queue), bounded by
    /// retransmissions, and holds no data.
    pub fn counts_toward_limit(self) -> bool {
        matches!(self, SplicePhase::Connecting | SplicePhase::Open | SplicePhase::HalfClosed)
    }
}

impl Splice {
    /// Its phase now.
    pub fn phase(&self) -> SplicePhase {
        let (client, origin) = (self.client(), self.origin());
        if client.ended() && ended(origin) {
            SplicePhase::TimeWait
        } else if client.streams_done() && origin.streams_done() {
            SplicePhase::Closing
        } else if !self.origin_connected() {
            SplicePhase::Connecting
        } else if client.is_read_closed() || origin.is_read_closed() || closed_by_us(origin) {
            SplicePhase::HalfClosed
        } else {
            SplicePhase::Open
        }
    }
}

/// Whether we sent (or queued) our FIN on `conn`.
fn closed_by_us(conn: &Connection) -> bool {
    !matches!(
        conn.state(),
        State::SynSent | State::SynReceived | State::Established | State::CloseWait
    )
}
