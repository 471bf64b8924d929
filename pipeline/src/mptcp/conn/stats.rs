//! Counters of one MPTCP connection: what it reinjected, dropped, refused and why.

/// An MPTCP connection's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MptcpStats {
    /// Subflows attached (the initial one included).
    pub subflows_attached: u64,
    /// Subflows that ended (closed, reset, removed).
    pub subflows_closed: u64,
    /// Times a subflow was marked potentially failed (no progress past its failover time).
    pub potentially_failed: u64,
    /// Bytes put on a second subflow because the first one stalled or closed.
    pub reinjected_bytes: u64,
    /// Bytes resent on a potentially failed subflow to probe it (RFC 8684 §3.3.6).
    pub probe_bytes: u64,
    /// Data segments whose bytes were already received at the data level (harmless).
    pub duplicate_bytes: u64,
    /// DSS options that could not be parsed, or mappings inconsistent with the segment.
    pub bad_mappings: u64,
    /// DATA_ACKs beyond what was sent, ignored.
    pub bad_data_acks: u64,
    /// DSS checksums that did not verify.
    pub bad_checksums: u64,
    /// MPTCP options that did not parse (dropped, the segment kept).
    pub malformed_options: u64,
    /// ADD_ADDR received with a wrong HMAC (ignored).
    pub bad_add_addr: u64,
    /// ADD_ADDR sent (retransmissions included).
    pub add_addr_sent: u64,
    /// MP_PRIO received.
    pub prio_changes: u64,
    /// REMOVE_ADDR received.
    pub remove_addr: u64,
    /// MP_FAIL received.
    pub mp_fail: u64,
    /// MP_FASTCLOSE received with our key.
    pub fastclose_received: u64,
    /// MP_FASTCLOSE with a wrong key (ignored).
    pub bad_fastclose: u64,
    /// RSTs received with an MP_TCPRST option.
    pub mp_tcprst_received: u64,
    /// Data-level retransmission timeouts.
    pub data_timeouts: u64,
    /// Connections reset because the peer never DATA_ACKed our DATA_FIN.
    pub data_fin_gave_up: u64,
}
