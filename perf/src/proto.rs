//! The bench's own wire protocol between `client` and `server`.
//!
//! A client opens a connection and sends a 32-byte header:
//!
//! ```text
//! 0      4  5    6        8            16           24           32
//! | NRB1 | v | mode | 0 0 | seed (u64) |   a (u64)  |   b (u64)  |
//! ```
//!
//! (integers big-endian). Modes:
//! - `sink` (1): the client sends the stream of `seed` and then shuts its write side; the
//!   server checks every byte and replies with a [`SinkReply`].
//! - `source` (2): the server sends the stream of `seed` for `a` microseconds, then closes.
//! - `echo` (3): repeatedly, the client sends `a` bytes and the server answers `b` bytes,
//!   until the client closes.

use anyhow::{Result, bail};

/// The four bytes every header starts with.
pub(crate) const MAGIC: [u8; 4] = *b"NRB1";
/// The protocol version this build speaks.
pub(crate) const VERSION: u8 = 1;
/// Length of a header on the wire.
pub(crate) const HEADER_LEN: usize = 32;
/// Length of a [`SinkReply`] on the wire.
pub(crate) const REPLY_LEN: usize = 24;
/// The largest request or reply of the echo mode a server accepts (16 MiB).
pub(crate) const MAX_MESSAGE: u64 = 16 << 20;

/// What the server does on a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Receive and check the stream, then reply with a [`SinkReply`].
    Sink,
    /// Send the stream for a duration.
    Source,
    /// Answer each request of `a` bytes with `b` bytes.
    Echo,
}

/// A connection's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    /// What the server does.
    pub(crate) mode: Mode,
    /// Seed of the stream (sink, source).
    pub(crate) seed: u64,
    /// Source: duration in microseconds; echo: request size.
    pub(crate) a: u64,
    /// Echo: reply size.
    pub(crate) b: u64,
}

impl Header {
    /// The header's wire form.
    pub(crate) fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[..4].copy_from_slice(&MAGIC);
        out[4] = VERSION;
        out[5] = match self.mode {
            Mode::Sink => 1,
            Mode::Source => 2,
            Mode::Echo => 3,
        };
        out[8..16].copy_from_slice(&self.seed.to_be_bytes());
        out[16..24].copy_from_slice(&self.a.to_be_bytes());
        out[24..32].copy_from_slice(&self.b.to_be_bytes());
        out
    }

    /// Parses a header, refusing anything this build does not speak.
    pub(crate) fn decode(buf: &[u8; HEADER_LEN]) -> Result<Self> {
        if buf[..4] != MAGIC {
            bail!("not a netreaktor-bench client (bad magic)");
        }
        if buf[4] != VERSION {
            bail!("protocol version {} (this server speaks {VERSION})", buf[4]);
        }
        let mode = match buf[5] {
            1 => Mode::Sink,
            2 => Mode::Source,
            3 => Mode::Echo,
            m => bail!("unknown mode {m}"),
        };
        let word = |at: usize| u64::from_be_bytes(buf[at..at + 8].try_into().expect("8 bytes"));
        let h = Self { mode, seed: word(8), a: word(16), b: word(24) };
        if mode == Mode::Echo && (h.a == 0 || h.a > MAX_MESSAGE || h.b > MAX_MESSAGE) {
            bail!("echo sizes {} / {} out of range 1..={MAX_MESSAGE}", h.a, h.b);
        }
        Ok(h)
    }
}

/// What a sink server reports when the client has finished sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SinkReply {
    /// Bytes received after the header.
    pub(crate) bytes: u64,
    /// Offset of the first byte that differed from the stream, if any.
    pub(crate) mismatch: Option<u64>,
    /// The longest time between two arrivals of data at the server, in microseconds.
    pub(crate) max_gap_us: u64,
}

impl SinkReply {
    /// The reply's wire form (no mismatch is `u64::MAX`).
    pub(crate) fn encode(&self) -> [u8; REPLY_LEN] {
        let mut out = [0u8; REPLY_LEN];
        out[..8].copy_from_slice(&self.bytes.to_be_bytes());
        out[8..16].copy_from_slice(&self.mismatch.unwrap_or(u64::MAX).to_be_bytes());
        out[16..].copy_from_slice(&self.max_gap_us.to_be_bytes());
        out
    }

    /// Parses a reply.
    pub(crate) fn decode(buf: &[u8; REPLY_LEN]) -> Self {
        let word = |at: usize| u64::from_be_bytes(buf[at..at + 8].try_into().expect("8 bytes"));
        let mismatch = word(8);
        Self {
            bytes: word(0),
            mismatch: (mismatch != u64::MAX).then_some(mismatch),
            max_gap_us: word(16),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips_and_bad_ones_are_refused() {
        let h = Header { mode: Mode::Echo, seed: 9, a: 64, b: 128 };
        assert_eq!(Header::decode(&h.encode()).unwrap(), h);
        let mut bad = h.encode();
        bad[0] = b'X';
        assert!(Header::decode(&bad).is_err());
        let mut bad = h.encode();
        bad[5] = 9;
        assert!(Header::decode(&bad).is_err());
        let huge = Header { a: u64::MAX, ..h };
        assert!(Header::decode(&huge.encode()).is_err());
    }

    #[test]
    fn sink_reply_round_trips() {
        for mismatch in [None, Some(0), Some(77)] {
            let r = SinkReply { bytes: 1 << 40, mismatch, max_gap_us: 3 };
            assert_eq!(SinkReply::decode(&r.encode()), r);
        }
    }
}
