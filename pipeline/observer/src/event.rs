//! What happened on a connection, in time order, and why a connection fell back to TCP.

use core::fmt;
use core::net::IpAddr;

use netreaktor_pipeline::time::Instant;
use netreaktor_pipeline::wire::mptcp::MpTcpRst;

use super::Side;

/// Why a connection is plain TCP after an MP_CAPABLE SYN (RFC 8684 §3.1, §3.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fallback {
    /// The SYN/ACK carried no MP_CAPABLE: the listener (or a middlebox) declined MPTCP.
    SynAckWithoutMpCapable,
    /// The initiator's third ACK carried no MP_CAPABLE (RFC 8684 §3.1).
    ThirdAckWithoutMpCapable,
    /// A side's first data on the initial subflow carried no mapping (RFC 8684 §3.7: the
    /// options were stripped on the way).
    FirstDataWithoutDss(Side),
    /// A side sent the infinite mapping (data-level length 0), as after MP_FAIL
    /// (RFC 8684 §3.7).
    InfiniteMapping(Side),
    /// The handshake completed but the listener never sent a DSS, so MPTCP was never
    /// confirmed (RFC 8684 §3.1). Reported while that holds; it may still change.
    NotConfirmed,
}

impl fmt::Display for Fallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fallback::SynAckWithoutMpCapable => f.write_str("SYN/ACK without MP_CAPABLE"),
            Fallback::ThirdAckWithoutMpCapable => f.write_str("third ACK without MP_CAPABLE"),
            Fallback::FirstDataWithoutDss(side) => write!(f, "{side}'s first data without DSS"),
            Fallback::InfiniteMapping(side) => write!(f, "{side} sent the infinite mapping"),
            Fallback::NotConfirmed => f.write_str("MPTCP never confirmed (no DSS from server)"),
        }
    }
}

/// Whether an option's HMAC verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HmacStatus {
    /// It matched the HMAC computed from the keys seen in clear.
    Verified,
    /// It did not match.
    Mismatch,
    /// It could not be checked: a key was not seen.
    Unchecked,
    /// The option carries no HMAC (an ADD_ADDR echo, an MPTCP v0 ADD_ADDR).
    Absent,
}

/// Something that happened on a connection.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// The MP_CAPABLE handshake completed (third ACK with both keys).
    Established,
    /// The connection fell back to TCP.
    FellBack(Fallback),
    /// An MP_JOIN subflow was accepted (the responder acknowledged the third ACK,
    /// RFC 8684 §3.2).
    SubflowJoined {
        /// Whether the joining side asked for a backup subflow (B bit of its MP_JOIN SYN).
        backup: bool,
        /// The joining side's address ID.
        addr_id: u8,
    },
    /// An MP_JOIN subflow was reset or declined before it was established.
    JoinRefused {
        /// The MP_TCPRST the reset carried, if any (RFC 8684 §3.6).
        tcprst: Option<MpTcpRst>,
    },
    /// ADD_ADDR (RFC 8684 §3.4.1).
    AddAddr {
        /// The address ID.
        addr_id: u8,
        /// The address.
        addr: IpAddr,
        /// The port, if carried.
        port: Option<u16>,
        /// Whether this is the echo of an announcement.
        echo: bool,
        /// Whether the HMAC verified.
        hmac: HmacStatus,
    },
    /// REMOVE_ADDR with the removed address IDs (RFC 8684 §3.4.2).
    RemoveAddr {
        /// The address IDs.
        addr_ids: Vec<u8>,
    },
    /// MP_PRIO (RFC 8684 §3.3.8).
    MpPrio {
        /// Whether the sender asks for backup priority.
        backup: bool,
        /// The v0 address ID it applies to (RFC 6824 §3.3.8); `None`: this subflow.
        addr_id: Option<u8>,
    },
    /// The sender's DATA_FIN (RFC 8684 §3.3.3), first sighting only.
    DataFin {
        /// Its data sequence number, when it came with a mapping.
        dsn: Option<u64>,
    },
    /// MP_FASTCLOSE (RFC 8684 §3.5).
    Fastclose {
        /// Whether it carried the receiver's key; `None` if that key was not seen.
        key_ok: Option<bool>,
    },
    /// MP_FAIL (RFC 8684 §3.7).
    MpFail {
        /// The DSN of the failed mapping.
        dsn: u64,
    },
    /// A TCP RST on an established subflow.
    Reset {
        /// The MP_TCPRST it carried (RFC 8684 §3.6); `None` for a plain RST.
        tcprst: Option<MpTcpRst>,
    },
}

/// An event with its time, subflow and sender.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Event {
    /// When the segment that carried it was seen.
    pub at: Instant,
    /// The subflow (index into [`ObservedConnection::subflows`]) it was seen on.
    ///
    /// [`ObservedConnection::subflows`]: super::ObservedConnection::subflows
    pub subflow: usize,
    /// The side that sent it.
    pub from: Side,
    /// What happened.
    pub kind: EventKind,
}
