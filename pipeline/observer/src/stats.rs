//! Counters of what the observer saw, could not parse, or did not follow.

use netreaktor_pipeline::wire::frame::FrameError;
use netreaktor_pipeline::wire::mptcp::MptcpSubtype;

/// Frame and option counters, one per reason (after Linux's per-reason MIB counters).
///
/// Every counter saturates instead of wrapping.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObserverStats {
    /// Frames handed to the observer.
    pub frames: u64,
    /// Frames that parsed down to a TCP segment.
    pub tcp_frames: u64,
    /// Well-formed frames that are not TCP (ARP, UDP, ICMP, other EtherTypes).
    pub non_tcp_frames: u64,
    /// Frames refused by the parser, per reason, in order of first occurrence.
    pub frame_errors: Vec<(FrameError, u64)>,
    /// TCP segments whose option area is malformed (options before the fault are used).
    pub malformed_tcp_options: u64,
    /// MPTCP options that did not parse, by subtype nibble (0x0 MP_CAPABLE ... 0xf).
    pub malformed_mptcp: [u64; 16],
    /// MPTCP connections followed (MP_CAPABLE SYNs seen).
    pub mptcp_connections: u64,
    /// Flows that began with a SYN without MPTCP option: plain TCP, not followed.
    pub plain_tcp_flows: u64,
    /// TCP frames of flows whose SYN was not seen (started before the capture, or dropped
    /// beyond a limit): they cannot be attributed to a connection.
    pub frames_without_syn: u64,
    /// MP_JOIN SYNs whose token named no connection seen.
    pub unknown_token_joins: u64,
    /// MP_CAPABLE SYNs not followed because the connection limit was reached.
    pub dropped_connections: u64,
    /// MP_JOIN subflows not followed because a subflow or flow limit was reached.
    pub dropped_subflows: u64,
    /// Plain TCP flows not remembered because their limit was reached (their later frames
    /// count in `frames_without_syn`).
    pub dropped_plain_flows: u64,
}

impl ObserverStats {
    /// Frames refused by the parser, all reasons together.
    pub fn parse_errors(&self) -> u64 {
        self.frame_errors.iter().fold(0u64, |sum, (_, n)| sum.saturating_add(*n))
    }

    /// Frames refused for `error`.
    pub fn frame_error_count(&self, error: FrameError) -> u64 {
        self.frame_errors.iter().find(|(e, _)| *e == error).map_or(0, |(_, n)| *n)
    }

    /// Malformed MPTCP options of `subtype`.
    pub fn malformed(&self, subtype: MptcpSubtype) -> u64 {
        self.malformed_mptcp.get(usize::from(subtype.nibble())).copied().unwrap_or(0)
    }

    /// Malformed MPTCP options, all subtypes together.
    pub fn malformed_total(&self) -> u64 {
        self.malformed_mptcp.iter().fold(0u64, |sum, n| sum.saturating_add(*n))
    }

    /// Counts one frame refused for `error`.
    pub(super) fn count_frame_error(&mut self, error: FrameError) {
        match self.frame_errors.iter_mut().find(|(e, _)| *e == error) {
            Some((_, n)) => *n = n.saturating_add(1),
            None => self.frame_errors.push((error, 1)),
        }
    }

    /// Counts one MPTCP option (whole bytes, kind first) that did not parse.
    pub(super) fn count_malformed_mptcp(&mut self, raw: &[u8]) {
        // TCP option framing guarantees 3 bytes; the subtype is the upper nibble of the third.
        let nibble = raw.get(2).map_or(0, |byte| byte >> 4);
        if let Some(n) = self.malformed_mptcp.get_mut(usize::from(nibble)) {
            *n = n.saturating_add(1);
        }
    }
}

/// Adds one to a counter, saturating.
pub(super) fn bump(counter: &mut u64) {
    *counter = counter.saturating_add(1);
}
