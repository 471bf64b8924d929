//! The TCP connection states and their declared transitions (RFC 9293 §3.3.2, Figure 5).
//!
//! ```text
//!                             +---------+ ---------\      active OPEN
//!                             |  CLOSED |            \    -----------
//!                             +---------+<---------\   \   create TCB
//!                               |     ^              \   \  snd SYN
//!                  passive OPEN |     |   CLOSE        \   \
//!                  ------------ |     | ----------       \   \
//!                   create TCB  |     | delete TCB         \   \
//!                               V     |                      \   \
//!           rcv RST (note 1)  +---------+            CLOSE    |    \
//!        -------------------->|  LISTEN |          ---------- |     |
//!       /                     +---------+          delete TCB |     |
//!      /           rcv SYN      |     |     SEND              |     |
//!     /           -----------   |     |    -------            |     V
//! +--------+      snd SYN,ACK  /       \   snd SYN          +--------+
//! |        |<-----------------           ------------------>|        |
//! |  SYN   |                    rcv SYN                     |  SYN   |
//! |  RCVD  |<-----------------------------------------------|  SENT  |
//! |        |                  snd SYN,ACK                   |        |
//! |        |------------------           -------------------|        |
//! +--------+   rcv ACK of SYN  \       /  rcv SYN,ACK       +--------+
//!    |         --------------   |     |   -----------
//!    |                x         |     |     snd ACK
//!    |                          V     V
//!    |  CLOSE                 +---------+
//!    | -------                |  ESTAB  |
//!    | snd FIN                +---------+
//!    |                 CLOSE    |     |    rcv FIN
//!    V                -------   |     |    -------
//! +---------+         snd FIN  /       \   snd ACK         +---------+
//! |  FIN    |<----------------          ------------------>|  CLOSE  |
//! | WAIT-1  |------------------                            |   WAIT  |
//! +---------+          rcv FIN  \                          +---------+
//!   | rcv ACK of FIN   -------   |                          CLOSE  |
//!   | --------------   snd ACK   |                         ------- |
//!   V        x                   V                         snd FIN V
//! +---------+               +---------+                    +---------+
//! |FINWAIT-2|               | CLOSING |                    | LAST-ACK|
//! +---------+               +---------+                    +---------+
//!   |              rcv ACK of FIN |                 rcv ACK of FIN |
//!   |  rcv FIN     -------------- |    Timeout=2MSL -------------- |
//!   |  -------            x       V    ------------        x       V
//!    \ snd ACK              +---------+delete TCB          +---------+
//!      -------------------->|TIME-WAIT|------------------->| CLOSED  |
//!                           +---------+                    +---------+
//! ```
//!
//! Note 1 of the figure: a RST received in SYN-RECEIVED returns the connection to LISTEN if
//! it came from a passive open. Here a listener keeps LISTEN and each connection object is one
//! TCB, so that RST closes the TCB and the listener carries on (the same outcome).
//!
//! Beyond the figure, RFC 9293 §3.10 adds: RST in any synchronized state closes
//! (§3.10.7.4 "second, check the RST bit"), ABORT from any state closes, a FIN received in
//! FIN-WAIT-1 that also acknowledges our FIN goes straight to TIME-WAIT (§3.10.7.4 "eighth"),
//! and user or retransmission timeouts close from any state (§3.8.3, §3.10.8). Those edges are
//! in the table too, and [`State::on`] is the only way a connection changes state.

use core::fmt;

/// A TCP connection state (RFC 9293 §3.3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// No connection.
    Closed,
    /// Waiting for a SYN (a listener's state).
    Listen,
    /// Our SYN is sent; waiting for the peer's SYN.
    SynSent,
    /// Both SYNs seen; waiting for the ACK of ours.
    SynReceived,
    /// Open; data flows both ways.
    Established,
    /// We closed; our FIN is not acknowledged yet.
    FinWait1,
    /// Our FIN is acknowledged; waiting for the peer's.
    FinWait2,
    /// The peer closed; we may still send.
    CloseWait,
    /// Both closed at once; waiting for the ACK of our FIN.
    Closing,
    /// The peer closed first, then we did; waiting for the ACK of our FIN.
    LastAck,
    /// Both FINs acknowledged; waiting 2·MSL so old duplicates die out.
    TimeWait,
}

/// What makes a connection change state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Event {
    /// The user opens actively: a SYN is sent.
    ActiveOpen,
    /// The user opens passively (a listener).
    PassiveOpen,
    /// A SYN without ACK arrived (in LISTEN: a new connection; in SYN-SENT: simultaneous open).
    RecvSyn,
    /// An acceptable SYN,ACK arrived in SYN-SENT.
    RecvSynAck,
    /// Our SYN was acknowledged in SYN-RECEIVED.
    RecvAckOfSyn,
    /// The user closed the sending direction: a FIN is queued.
    Close,
    /// A FIN from the peer was accepted (in sequence).
    RecvFin,
    /// Our FIN was acknowledged.
    RecvAckOfFin,
    /// A FIN that also acknowledges our FIN was accepted (FIN-WAIT-1, §3.10.7.4 "eighth").
    RecvFinAckOfFin,
    /// An acceptable RST arrived.
    RecvRst,
    /// The user aborted the connection.
    Abort,
    /// The 2·MSL TIME-WAIT timer expired.
    TimeWaitTimeout,
    /// The retransmission, user, keepalive or FIN-WAIT-2 timeout gave up.
    GiveUp,
}

impl State {
    /// Every state, in the order of the RFC's list (§3.3.2).
    pub const ALL: [State; 11] = [
        State::Closed,
        State::Listen,
        State::SynSent,
        State::SynReceived,
        State::Established,
        State::FinWait1,
        State::FinWait2,
        State::CloseWait,
        State::Closing,
        State::LastAck,
        State::TimeWait,
    ];

    /// The state after `event`, or `None` if the event cannot happen in this state.
    ///
    /// This table is the connection's whole state machine; tests check it edge by edge
    /// against Figure 5 and §3.10.
    pub const fn on(self, event: Event) -> Option<State> {
        use Event as E;
        use State as S;
        let next = match (self, event) {
            (S::Closed, E::ActiveOpen) => S::SynSent,
            (S::Closed, E::PassiveOpen) => S::Listen,
            (S::Listen, E::RecvSyn) => S::SynReceived,
            (S::Listen, E::Close | E::Abort) => S::Closed,
            (S::SynSent, E::RecvSyn) => S::SynReceived,
            (S::SynSent, E::RecvSynAck) => S::Established,
            (S::SynSent, E::Close | E::Abort | E::RecvRst | E::GiveUp) => S::Closed,
            (S::SynReceived, E::RecvAckOfSyn) => S::Established,
            (S::SynReceived, E::Close) => S::FinWait1,
            (S::Established, E::Close) => S::FinWait1,
            (S::Established, E::RecvFin) => S::CloseWait,
            (S::FinWait1, E::RecvAckOfFin) => S::FinWait2,
            (S::FinWait1, E::RecvFin) => S::Closing,
            (S::FinWait1, E::RecvFinAckOfFin) => S::TimeWait,
            (S::FinWait2, E::RecvFin) => S::TimeWait,
            (S::CloseWait, E::Close) => S::LastAck,
            (S::Closing, E::RecvAckOfFin) => S::TimeWait,
            (S::LastAck, E::RecvAckOfFin) => S::Closed,
            (S::TimeWait, E::TimeWaitTimeout) => S::Closed,
            (S::TimeWait, E::RecvFin) => S::TimeWait,
            // RFC 9293 §3.10.7.4 "second": RST closes every synchronized state (and
            // SYN-RECEIVED, note 1); §3.10.4 ABORT and §3.8.3 timeouts close any open state.
            (
                S::SynReceived
                | S::Established
                | S::FinWait1
                | S::FinWait2
                | S::CloseWait
                | S::Closing
                | S::LastAck
                | S::TimeWait,
                E::RecvRst | E::Abort | E::GiveUp,
            ) => S::Closed,
            _ => return None,
        };
        Some(next)
    }

    /// Whether both SYNs have been exchanged (RFC 9293 §3.5: "synchronized states").
    pub const fn is_synchronized(self) -> bool {
        !matches!(self, State::Closed | State::Listen | State::SynSent | State::SynReceived)
    }

    /// Whether the peer may still send us data (it has not sent a FIN we accepted).
    pub const fn can_receive(self) -> bool {
        matches!(self, State::Established | State::FinWait1 | State::FinWait2)
    }

    /// Whether the user may still queue data to send (it has not closed).
    pub const fn can_send(self) -> bool {
        matches!(self, State::SynSent | State::SynReceived | State::Established | State::CloseWait)
    }

    /// Whether our data or FIN may still be sent or retransmitted: ESTABLISHED and CLOSE-WAIT,
    /// and the closing states until our FIN is acknowledged (FIN-WAIT-1, CLOSING, LAST-ACK).
    pub const fn sends_data(self) -> bool {
        matches!(
            self,
            State::Established
                | State::CloseWait
                | State::FinWait1
                | State::Closing
                | State::LastAck
        )
    }

    /// The name used in RFC 9293.
    pub const fn rfc_name(self) -> &'static str {
        match self {
            State::Closed => "CLOSED",
            State::Listen => "LISTEN",
            State::SynSent => "SYN-SENT",
            State::SynReceived => "SYN-RECEIVED",
            State::Established => "ESTABLISHED",
            State::FinWait1 => "FIN-WAIT-1",
            State::FinWait2 => "FIN-WAIT-2",
            State::CloseWait => "CLOSE-WAIT",
            State::Closing => "CLOSING",
            State::LastAck => "LAST-ACK",
            State::TimeWait => "TIME-WAIT",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.rfc_name())
    }
}

#[cfg(test)]
mod tests;
