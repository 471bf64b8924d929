//! One TCP option: its parsed meaning, parsing and emission (RFC 9293 §3.1-§3.2, RFC 7323,
//! RFC 2018, RFC 8684 §3).

use super::{SackBlocks, kind};
use crate::wire::{Error, Result};

/// One TCP option.
///
/// `parse` followed by `emit` reproduces the option's bytes exactly. The reverse,
/// `parse(emit(o)) == o`, holds for every option except two a caller could build but `parse`
/// never returns: [`TcpOption::Unknown`] with a kind that has its own variant (it is emitted
/// as given, and reads back as that variant), and [`TcpOption::Mptcp`] holding bytes that are
/// not a whole MPTCP option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TcpOption<'a> {
    /// End of Option List, kind 0 (RFC 9293 §3.1). Bytes after it are padding.
    EndOfList,
    /// No-Operation, kind 1 (RFC 9293 §3.1), used to align the next option.
    NoOperation,
    /// Maximum Segment Size, kind 2 (RFC 9293 §3.1, §3.7.1); only meaningful on a SYN.
    MaxSegmentSize(u16),
    /// Window Scale shift count, kind 3 (RFC 7323 §2.2). Values above 14 are passed on
    /// unchanged; RFC 7323 §2.3 has the receiver of the option use 14 instead.
    WindowScale(u8),
    /// SACK-Permitted, kind 4 (RFC 2018 §2).
    SackPermitted,
    /// SACK blocks, kind 5 (RFC 2018 §3).
    SackRange(SackBlocks),
    /// Timestamps, kind 8 (RFC 7323 §3.2).
    Timestamps {
        /// TSval: the sender's timestamp clock.
        tsval: u32,
        /// TSecr: the TSval echoed back, meaningful when ACK is set.
        tsecr: u32,
    },
    /// The whole Multipath TCP option, kind 30 (RFC 8684 §3): the kind byte, the length byte
    /// and the rest. [`crate::wire::mptcp`] decodes it for the negotiated MPTCP version.
    /// `emit` copies these bytes as they are.
    Mptcp(&'a [u8]),
    /// Any other option, with its bytes after kind and length preserved so it can be
    /// re-emitted unchanged.
    Unknown {
        /// The option kind.
        kind: u8,
        /// The bytes after the kind and length bytes.
        data: &'a [u8],
    },
}

impl<'a> TcpOption<'a> {
    /// Parses the option at the start of `buf` and returns it with the bytes after it.
    ///
    /// After [`TcpOption::EndOfList`] the rest is padding, which the caller should not parse.
    ///
    /// # Errors
    /// - [`Error::Truncated`]: `buf` is empty, or the option runs past its end.
    /// - [`Error::Malformed`]: a length byte below 2, a fixed-size option (MSS, window scale,
    ///   SACK-permitted, timestamps) with another length, a SACK option whose length is not
    ///   2 + 8n with n in 1..=4, or an MPTCP option shorter than 3 bytes.
    pub fn parse(buf: &'a [u8]) -> Result<(TcpOption<'a>, &'a [u8])> {
        let (&kind, after_kind) = buf.split_first().ok_or(Error::Truncated)?;
        match kind {
            kind::END_OF_LIST => return Ok((TcpOption::EndOfList, after_kind)),
            kind::NO_OPERATION => return Ok((TcpOption::NoOperation, after_kind)),
            _ => {}
        }
        // RFC 9293 §3.2: every other option is kind, length (counting both), data.
        let &len = after_kind.first().ok_or(Error::Truncated)?;
        let len = usize::from(len);
        if len < 2 {
            return Err(Error::Malformed);
        }
        let (option, rest) = buf.split_at_checked(len).ok_or(Error::Truncated)?;
        // `option` is `len >= 2` bytes long, so this split cannot fail.
        let data = option.get(2..).ok_or(Error::Truncated)?;
        Ok((Self::parse_body(kind, option, data)?, rest))
    }

    /// Decodes an option whose framing has been checked: `option` is the whole option,
    /// `data` the bytes after kind and length.
    fn parse_body(kind: u8, option: &'a [u8], data: &'a [u8]) -> Result<TcpOption<'a>> {
        Ok(match kind {
            kind::MAX_SEGMENT_SIZE => TcpOption::MaxSegmentSize(u16::from_be_bytes(fixed(data)?)),
            kind::WINDOW_SCALE => TcpOption::WindowScale(u8::from_be_bytes(fixed(data)?)),
            kind::SACK_PERMITTED => {
                let [] = fixed(data)?;
                TcpOption::SackPermitted
            }
            kind::SACK => TcpOption::SackRange(parse_sack(data)?),
            kind::TIMESTAMPS => {
                let [v0, v1, v2, v3, e0, e1, e2, e3] = fixed(data)?;
                let tsval = u32::from_be_bytes([v0, v1, v2, v3]);
                TcpOption::Timestamps { tsval, tsecr: u32::from_be_bytes([e0, e1, e2, e3]) }
            }
            // RFC 8684 §3: kind, length and at least the subtype/version byte.
            kind::MPTCP if option.len() < 3 => return Err(Error::Malformed),
            kind::MPTCP => TcpOption::Mptcp(option),
            kind => TcpOption::Unknown { kind, data },
        })
    }

    /// The option's kind byte.
    pub fn kind(&self) -> u8 {
        match *self {
            TcpOption::EndOfList => kind::END_OF_LIST,
            TcpOption::NoOperation => kind::NO_OPERATION,
            TcpOption::MaxSegmentSize(_) => kind::MAX_SEGMENT_SIZE,
            TcpOption::WindowScale(_) => kind::WINDOW_SCALE,
            TcpOption::SackPermitted => kind::SACK_PERMITTED,
            TcpOption::SackRange(_) => kind::SACK,
            TcpOption::Timestamps { .. } => kind::TIMESTAMPS,
            TcpOption::Mptcp(_) => kind::MPTCP,
            TcpOption::Unknown { kind, .. } => kind,
        }
    }

    /// How many bytes [`TcpOption::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        match *self {
            TcpOption::EndOfList | TcpOption::NoOperation => 1,
            TcpOption::MaxSegmentSize(_) => 4,
            TcpOption::WindowScale(_) => 3,
            TcpOption::SackPermitted => 2,
            TcpOption::SackRange(blocks) => blocks.option_len(),
            TcpOption::Timestamps { .. } => 10,
            TcpOption::Mptcp(bytes) => bytes.len(),
            TcpOption::Unknown { data, .. } => 2 + data.len(),
        }
    }

    /// Writes the option at the start of `buf` and returns [`TcpOption::buffer_len`].
    ///
    /// # Panics
    /// If `buf` is shorter than [`TcpOption::buffer_len`], or if an `Unknown` option's data is
    /// longer than 253 bytes so its length does not fit the length byte (such an option never
    /// fits a TCP header; [`TcpOptionWriter`](super::TcpOptionWriter) rejects it instead).
    pub fn emit(&self, buf: &mut [u8]) -> usize {
        let len = self.buffer_len();
        let buf = &mut buf[..len];
        match *self {
            TcpOption::EndOfList | TcpOption::NoOperation => buf[0] = self.kind(),
            TcpOption::MaxSegmentSize(mss) => emit_fixed(buf, self.kind(), &mss.to_be_bytes()),
            TcpOption::WindowScale(shift) => emit_fixed(buf, self.kind(), &[shift]),
            TcpOption::SackPermitted => emit_fixed(buf, self.kind(), &[]),
            TcpOption::SackRange(blocks) => emit_sack(buf, &blocks),
            TcpOption::Timestamps { tsval, tsecr } => {
                let mut data = [0; 8];
                data[..4].copy_from_slice(&tsval.to_be_bytes());
                data[4..].copy_from_slice(&tsecr.to_be_bytes());
                emit_fixed(buf, self.kind(), &data);
            }
            TcpOption::Mptcp(bytes) => buf.copy_from_slice(bytes),
            TcpOption::Unknown { kind, data } => emit_fixed(buf, kind, data),
        }
        len
    }
}

/// The data of a fixed-size option as an array, or `Malformed` if its length is wrong.
fn fixed<const N: usize>(data: &[u8]) -> Result<[u8; N]> {
    data.try_into().map_err(|_| Error::Malformed)
}

/// The blocks of a SACK option from its data (RFC 2018 §3: length 2 + 8n, n in 1..=4).
fn parse_sack(data: &[u8]) -> Result<SackBlocks> {
    let (chunks, rem) = data.as_chunks::<8>();
    if !rem.is_empty() {
        return Err(Error::Malformed);
    }
    let mut blocks = [(0, 0); SackBlocks::MAX];
    let n = chunks.len();
    for (slot, &[l0, l1, l2, l3, r0, r1, r2, r3]) in blocks.iter_mut().zip(chunks) {
        *slot = (u32::from_be_bytes([l0, l1, l2, l3]), u32::from_be_bytes([r0, r1, r2, r3]));
    }
    // `new` rejects n == 0 and n > 4; for n > 4 `blocks[..n]` would not exist, so check first.
    blocks.get(..n).and_then(SackBlocks::new).ok_or(Error::Malformed)
}

/// Writes kind, the length `buf.len()` and `data` into `buf`.
///
/// # Panics
/// If `buf` is not `2 + data.len()` bytes long or longer than 255 bytes.
fn emit_fixed(buf: &mut [u8], kind: u8, data: &[u8]) {
    let len = u8::try_from(buf.len()).expect("a TCP option is at most 255 bytes long");
    buf[0] = kind;
    buf[1] = len;
    buf[2..2 + data.len()].copy_from_slice(data);
}

/// Writes a SACK option into `buf`, which is exactly its length long.
fn emit_sack(buf: &mut [u8], blocks: &SackBlocks) {
    emit_fixed(buf, kind::SACK, &[]);
    for (chunk, &(left, right)) in buf[2..].chunks_exact_mut(8).zip(blocks.as_slice()) {
        chunk[..4].copy_from_slice(&left.to_be_bytes());
        chunk[4..].copy_from_slice(&right.to_be_bytes());
    }
}
