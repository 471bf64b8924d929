//! How a layer above TCP (MPTCP) adds options to the segments a connection sends.
//!
//! The engine calls the hook once per segment it emits, after its own options (MSS, window
//! scale, SACK, timestamps) and before the data, with the space left in the header. Incoming
//! options need no hook: the caller holds the [`TcpRepr`](crate::wire::tcp::TcpRepr) it hands
//! to [`Connection::handle_segment`](super::Connection::handle_segment) and reads its options
//! itself; the returned [`Received`](super::Received) says where the segment's data landed in
//! the subflow byte stream, which is what RFC 8684 §3.3.1 mappings are relative to.

use crate::wire::tcp::{TcpFlags, TcpSeqNumber};
use crate::wire::tcp_option::TcpOptionWriter;

/// What kind of segment is being built, so the hook can size its options up front.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SegmentKind {
    /// A SYN (active open).
    Syn,
    /// A SYN,ACK.
    SynAck,
    /// Any other segment: data, FIN, pure ACK, probe.
    Other,
}

/// The segment the hook is writing options for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outgoing {
    /// Its kind.
    pub kind: SegmentKind,
    /// Its control bits (FIN may be set on data segments).
    pub flags: TcpFlags,
    /// Its sequence number.
    pub seq: TcpSeqNumber,
    /// Offset of its first data byte in the subflow byte stream (bytes after the SYN).
    pub stream_offset: u64,
    /// Bytes of data it carries.
    pub payload_len: usize,
    /// Whether the data was sent before (a retransmission).
    pub retransmission: bool,
}

/// Adds options to outgoing segments. `()` adds none.
pub trait SegmentHook {
    /// Bytes of option space the hook will use on a segment of `kind`, at most. The engine
    /// subtracts this from the data a segment carries, so the hook never runs out of room.
    fn option_space(&self, kind: SegmentKind) -> usize;

    /// Writes the options of `segment`. Space beyond what `option_space` promised may not be
    /// there; a push that does not fit fails and the engine sends the segment without it.
    fn write_options(&mut self, segment: &Outgoing, writer: &mut TcpOptionWriter<'_>);
}

impl SegmentHook for () {
    fn option_space(&self, _: SegmentKind) -> usize {
        0
    }

    fn write_options(&mut self, _: &Outgoing, _: &mut TcpOptionWriter<'_>) {}
}
