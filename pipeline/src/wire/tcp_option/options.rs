//! The option area of a TCP header, decoded lazily (RFC 9293 §3.1-§3.2).

use core::fmt;
use core::iter::FusedIterator;

use super::{SackBlocks, TcpOption, kind};
use crate::wire::Result;

/// The raw option bytes of a TCP header (between the fixed header and the data), decoded only
/// when asked.
///
/// Building one costs nothing and checks nothing; [`TcpOptions::iter`] decodes the options one
/// by one and the helpers ([`mss`](TcpOptions::mss), [`timestamps`](TcpOptions::timestamps),
/// ...) look for one kind. All of them stop at End of Option List and at the first malformed
/// option: options before a malformed one are still reported, options after it are not looked
/// at. When a kind appears more than once, the helpers return the first.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TcpOptions<'a> {
    bytes: &'a [u8],
}

impl<'a> TcpOptions<'a> {
    /// No options.
    pub const EMPTY: TcpOptions<'static> = TcpOptions { bytes: &[] };

    /// Wraps the option area `bytes` without looking at it.
    pub const fn new(bytes: &'a [u8]) -> TcpOptions<'a> {
        TcpOptions { bytes }
    }

    /// The raw bytes, padding included.
    pub const fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The number of raw bytes, padding included.
    pub const fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether there are no option bytes at all.
    pub const fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// An iterator over the options, decoding each as it goes; see [`TcpOptionIter`].
    pub fn iter(&self) -> TcpOptionIter<'a> {
        TcpOptionIter { rest: self.bytes, done: false }
    }

    /// The first error the options contain, if any, up to End of Option List.
    ///
    /// # Errors
    /// As [`TcpOption::parse`].
    pub fn validate(&self) -> Result<()> {
        self.iter().try_for_each(|option| option.map(drop))
    }

    /// The first option for which `f` returns `Some`, among the well-formed ones.
    fn find<T>(&self, f: impl FnMut(TcpOption<'a>) -> Option<T>) -> Option<T> {
        self.iter().map_while(Result::ok).find_map(f)
    }

    /// The Maximum Segment Size option (RFC 9293 §3.7.1).
    pub fn mss(&self) -> Option<u16> {
        self.find(|option| match option {
            TcpOption::MaxSegmentSize(mss) => Some(mss),
            _ => None,
        })
    }

    /// The Window Scale shift count, as sent: values above 14 are not clamped here
    /// (RFC 7323 §2.3 has the engine use 14).
    pub fn window_scale(&self) -> Option<u8> {
        self.find(|option| match option {
            TcpOption::WindowScale(shift) => Some(shift),
            _ => None,
        })
    }

    /// Whether a SACK-Permitted option is present (RFC 2018 §2).
    pub fn sack_permitted(&self) -> bool {
        self.find(|option| matches!(option, TcpOption::SackPermitted).then_some(())).is_some()
    }

    /// The blocks of the SACK option (RFC 2018 §3).
    pub fn sack_blocks(&self) -> Option<SackBlocks> {
        self.find(|option| match option {
            TcpOption::SackRange(blocks) => Some(blocks),
            _ => None,
        })
    }

    /// The Timestamps option as `(tsval, tsecr)` (RFC 7323 §3.2).
    ///
    /// Checks first for the layout RFC 7323 Appendix A recommends and Linux, FreeBSD and xnu
    /// send on every segment of a connection: NOP, NOP, Timestamps at the start of the option
    /// area; only when that is not there does it walk the options.
    pub fn timestamps(&self) -> Option<(u32, u32)> {
        if let Some(&[1, 1, kind::TIMESTAMPS, 10, v0, v1, v2, v3, e0, e1, e2, e3]) =
            self.bytes.first_chunk::<12>()
        {
            let tsval = u32::from_be_bytes([v0, v1, v2, v3]);
            return Some((tsval, u32::from_be_bytes([e0, e1, e2, e3])));
        }
        self.find(|option| match option {
            TcpOption::Timestamps { tsval, tsecr } => Some((tsval, tsecr)),
            _ => None,
        })
    }

    /// The MPTCP options (RFC 8684 §3), each as its whole bytes, kind and length included.
    /// A segment may carry several (a DSS and an ADD_ADDR, say).
    pub fn mptcp(&self) -> MptcpOptionIter<'a> {
        MptcpOptionIter { options: self.iter() }
    }
}

impl<'a> From<&'a [u8]> for TcpOptions<'a> {
    fn from(bytes: &'a [u8]) -> TcpOptions<'a> {
        TcpOptions::new(bytes)
    }
}

impl<'a> IntoIterator for TcpOptions<'a> {
    type Item = Result<TcpOption<'a>>;
    type IntoIter = TcpOptionIter<'a>;

    fn into_iter(self) -> TcpOptionIter<'a> {
        self.iter()
    }
}

impl fmt::Debug for TcpOptions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Decodes TCP options one by one, from [`TcpOptions::iter`].
///
/// Yields every option in order. [`TcpOption::EndOfList`] is yielded once and ends the
/// iteration; the padding after it stays in [`TcpOptionIter::rest`]. An error is yielded once
/// and ends the iteration, so the options before it remain usable. The iterator therefore
/// yields at most one item more than there are bytes and always terminates.
#[derive(Debug, Clone)]
pub struct TcpOptionIter<'a> {
    rest: &'a [u8],
    done: bool,
}

impl<'a> TcpOptionIter<'a> {
    /// The bytes not yet decoded: after the end, the padding that follows End of Option List,
    /// or the malformed option and everything after it.
    pub fn rest(&self) -> &'a [u8] {
        self.rest
    }
}

impl<'a> Iterator for TcpOptionIter<'a> {
    type Item = Result<TcpOption<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.rest.is_empty() {
            return None;
        }
        match TcpOption::parse(self.rest) {
            Ok((option, rest)) => {
                self.rest = rest;
                self.done = option == TcpOption::EndOfList;
                Some(Ok(option))
            }
            Err(error) => {
                self.done = true;
                Some(Err(error))
            }
        }
    }
}

impl FusedIterator for TcpOptionIter<'_> {}

/// The MPTCP options of a segment, from [`TcpOptions::mptcp`]: each item is one whole
/// option (kind 30, length, contents). Stops where [`TcpOptionIter`] stops.
#[derive(Debug, Clone)]
pub struct MptcpOptionIter<'a> {
    options: TcpOptionIter<'a>,
}

impl<'a> Iterator for MptcpOptionIter<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        self.options.by_ref().map_while(Result::ok).find_map(|option| match option {
            TcpOption::Mptcp(bytes) => Some(bytes),
            _ => None,
        })
    }
}

impl FusedIterator for MptcpOptionIter<'_> {}
