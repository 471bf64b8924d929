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
    /// A RST the connection sends (an abort, a give-up, a reply to a bad segment).
    Reset,
    /// A pure ACK an upper layer writes after the connection closed
    /// ([`Connection::write_bare`](super::Connection::write_bare)), for options that a peer
    /// acts on only on an ACK (MPTCP's MP_FASTCLOSE, RFC 8684 §3.5).
    AbortAck,
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

    /// The most data bytes one segment may carry from `stream_offset` on: MPTCP needs a
    /// segment's data within one DSS mapping (RFC 8684 §3.3.1), so the engine cuts segments
    /// at the boundaries this reports. Unlimited by default.
    fn max_payload(&self, stream_offset: u64) -> usize {
        let _ = stream_offset;
        usize::MAX
    }
}

impl SegmentHook for () {
    fn option_space(&self, _: SegmentKind) -> usize {
        0
    }

    fn write_options(&mut self, _: &Outgoing, _: &mut TcpOptionWriter<'_>) {}
}

/// Options an upper layer decided for one SYN,ACK before the connection exists: a listener
/// stores them with the half-open connection (or in a cookie SYN,ACK) and writes them on
/// every SYN,ACK it sends for that SYN (RFC 8684 §3.1 MP_CAPABLE with our key, §3.2 MP_JOIN
/// with our HMAC and nonce). At most 16 bytes, whole options, kind and length included.
///
/// They may carry a [`SynNote`]: what the upper layer must remember of the SYN, kept with the
/// half-open connection and handed back when it is accepted; never sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SynAckOptions {
    bytes: [u8; SynAckOptions::MAX],
    len: u8,
    note: SynNote,
}

/// What an upper layer remembers of a SYN until its handshake completes: MPTCP v0's client
/// key and version (RFC 6824 §3.1). The v0 third ACK, which repeats the key, is sent once and
/// never retransmitted; when it is lost the first data segment completes the handshake and
/// the key must come from here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SynNote {
    /// A value only a half-open entry keeps (a SYN cookie loses it): the client's MPTCP v0
    /// key from its SYN.
    pub peer_key: Option<u64>,
    /// One bit a SYN cookie keeps as well: the SYN,ACK answered MPTCP v0.
    pub version0: bool,
    /// Our SYN,ACK asked for DSS checksums (lost under a cookie, with the key).
    pub checksums: bool,
}

impl SynAckOptions {
    /// The most bytes it holds: the SYN,ACK's own options take up to 20 of the 40.
    pub const MAX: usize = 16;

    /// None.
    pub const EMPTY: SynAckOptions = SynAckOptions {
        bytes: [0; Self::MAX],
        len: 0,
        note: SynNote { peer_key: None, version0: false, checksums: false },
    };

    /// One option of `len` bytes written by `f` (kind and length included); `None` if it
    /// is longer than [`MAX`](Self::MAX).
    pub fn with(len: usize, f: impl FnOnce(&mut [u8])) -> Option<SynAckOptions> {
        let mut out = SynAckOptions::EMPTY;
        f(out.bytes.get_mut(..len)?);
        out.len = u8::try_from(len).ok()?;
        Some(out)
    }

    /// These options with `note` remembered beside them.
    pub fn with_note(self, note: SynNote) -> SynAckOptions {
        SynAckOptions { note, ..self }
    }

    /// What the upper layer remembers of the SYN.
    pub fn note(&self) -> SynNote {
        self.note
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends them to a SYN,ACK's options.
    pub(crate) fn write(&self, writer: &mut TcpOptionWriter<'_>) {
        let bytes = self.as_bytes();
        if !bytes.is_empty() {
            let _ = writer.push_with(bytes.len(), |area| area.copy_from_slice(bytes));
        }
    }
}

impl SegmentHook for SynAckOptions {
    fn option_space(&self, kind: SegmentKind) -> usize {
        if kind == SegmentKind::SynAck { usize::from(self.len) } else { 0 }
    }

    fn write_options(&mut self, segment: &Outgoing, writer: &mut TcpOptionWriter<'_>) {
        if segment.kind == SegmentKind::SynAck {
            self.write(writer);
        }
    }
}
