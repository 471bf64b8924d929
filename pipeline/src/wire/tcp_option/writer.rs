//! Writes options into the option area of a TCP header being built.

use super::{MAX_OPTIONS_LEN, TcpOption};
use crate::wire::{Error, Result};

/// Writes TCP options one after another into an option area, then pads it.
///
/// The area holds at most [`MAX_OPTIONS_LEN`] bytes (40, RFC 9293 §3.1), or less if the buffer
/// is shorter, rounded down to a multiple of 4 so that [`finish`](TcpOptionWriter::finish) can
/// always pad. Options go on the wire in the order pushed; to align an option the way Linux
/// does (NOP, NOP, Timestamps), push the NOPs first.
///
/// ```
/// # use netreaktor_pipeline::wire::tcp_option::{TcpOption, TcpOptionWriter};
/// let mut area = [0; 40];
/// let mut w = TcpOptionWriter::new(&mut area);
/// w.push(&TcpOption::MaxSegmentSize(1460))?;
/// w.push(&TcpOption::WindowScale(7))?;
/// let len = w.finish();
/// assert_eq!(&area[..len], &[2, 4, 0x05, 0xb4, 3, 3, 7, 0]);
/// # Ok::<(), netreaktor_pipeline::wire::Error>(())
/// ```
#[derive(Debug)]
pub struct TcpOptionWriter<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl<'b> TcpOptionWriter<'b> {
    /// A writer that fills `buf` from its start.
    pub fn new(buf: &'b mut [u8]) -> TcpOptionWriter<'b> {
        let capacity = buf.len().min(MAX_OPTIONS_LEN) & !3;
        TcpOptionWriter { buf: &mut buf[..capacity], len: 0 }
    }

    /// The bytes written so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing has been written yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many more bytes fit.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.len
    }

    /// Appends `option`. Receivers stop reading at End of Option List, so push it last if at
    /// all.
    ///
    /// # Errors
    /// [`Error::Truncated`] if it does not fit; nothing is written then.
    pub fn push(&mut self, option: &TcpOption<'_>) -> Result<()> {
        self.push_with(option.buffer_len(), |area| {
            option.emit(area);
        })
    }

    /// Appends an option of `len` bytes that `f` writes, kind and length bytes included. For
    /// options encoded by other modules, such as the MPTCP suboptions of
    /// [`crate::wire::mptcp`]. `f` gets exactly `len` bytes, zeroed.
    ///
    /// # Errors
    /// [`Error::Truncated`] if `len` bytes do not fit; `f` is not called then.
    pub fn push_with(&mut self, len: usize, f: impl FnOnce(&mut [u8])) -> Result<()> {
        if len > self.remaining() {
            return Err(Error::Truncated);
        }
        let area = &mut self.buf[self.len..self.len + len];
        area.fill(0);
        f(area);
        self.len += len;
        Ok(())
    }

    /// Pads the options to a multiple of 4 bytes and returns their length with padding.
    ///
    /// The padding is one End of Option List followed by zeros, which is how RFC 9293 §3.1
    /// describes it ("the padding is composed of zeros", End of Option List "used at the end
    /// of all options"). Senders that want no End of Option List on the wire lay out their
    /// options to end on a 4-byte boundary, as Linux does with NOPs in front of options.
    pub fn finish(self) -> usize {
        let padded = self.len.next_multiple_of(4);
        // `padded <= buf.len()`: the capacity is a multiple of 4 and `len <= capacity`.
        self.buf[self.len..padded].fill(0);
        padded
    }
}
