//! The two ends of an MPTCP connection.

use core::fmt;

/// One end of an MPTCP connection.
///
/// The initiator sent the MP_CAPABLE SYN (RFC 8684 §3.1, "host A"); the listener answered it.
/// A subflow's SYN may come from either side (either host may open an MP_JOIN subflow), so
/// a subflow records which side opened it ([`ObservedSubflow::opened_by`]).
///
/// [`ObservedSubflow::opened_by`]: super::ObservedSubflow::opened_by
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Side {
    /// The host that sent the MP_CAPABLE SYN: the client.
    Initiator,
    /// The host that answered it with the SYN/ACK: the server.
    Listener,
}

impl Side {
    /// Both sides, initiator first.
    pub const BOTH: [Side; 2] = [Side::Initiator, Side::Listener];

    /// The other side.
    pub const fn peer(self) -> Side {
        match self {
            Side::Initiator => Side::Listener,
            Side::Listener => Side::Initiator,
        }
    }

    /// 0 for the initiator, 1 for the listener: the index of per-side arrays.
    pub const fn index(self) -> usize {
        match self {
            Side::Initiator => 0,
            Side::Listener => 1,
        }
    }

    /// "client" or "server", for reports.
    pub const fn name(self) -> &'static str {
        match self {
            Side::Initiator => "client",
            Side::Listener => "server",
        }
    }
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A value per side, indexed by [`Side`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub(super) struct PerSide<T>(pub(super) [T; 2]);

impl<T> PerSide<T> {
    /// The value of `side`.
    pub(super) fn get(&self, side: Side) -> &T {
        let [initiator, listener] = &self.0;
        match side {
            Side::Initiator => initiator,
            Side::Listener => listener,
        }
    }

    /// The value of `side`, mutably.
    pub(super) fn get_mut(&mut self, side: Side) -> &mut T {
        let [initiator, listener] = &mut self.0;
        match side {
            Side::Initiator => initiator,
            Side::Listener => listener,
        }
    }
}
