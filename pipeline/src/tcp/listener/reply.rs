//! Stateless control segments the listener and the TIME-WAIT table send on their own: RSTs
//! (RFC 9293 §3.10.7.1, §3.10.7.2), cookie SYN,ACKs (RFC 4987 §3.6) and TIME-WAIT ACKs
//! (§3.10.7.4), kept in a bounded queue until polled.

use std::collections::VecDeque;
use std::net::SocketAddr;

use crate::tcp::conn::Transmit;
use crate::tcp::hooks::SynAckOptions;
use crate::wire::tcp::{TcpFlags, TcpPacket, TcpRepr, TcpSeqNumber};
use crate::wire::tcp_option::{MAX_OPTIONS_LEN, TcpOption, TcpOptionWriter, TcpOptions};

/// A segment written by a listener or a TIME-WAIT table, which serve many peers: the
/// addresses say which IP header to put in front.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressedTransmit {
    /// Our address and port (the IP source).
    pub local: SocketAddr,
    /// The peer's address and port (the IP destination).
    pub remote: SocketAddr,
    /// What was written at the start of the buffer.
    pub transmit: Transmit,
}

/// The options of a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReplyOptions {
    /// None (a RST).
    None,
    /// A timestamp option (a TIME-WAIT ACK).
    Timestamps { tsval: u32, tsecr: u32 },
    /// A SYN,ACK's options.
    SynAck {
        mss: u16,
        wscale: Option<u8>,
        sack: bool,
        ts: Option<(u32, u32)>,
        extra: SynAckOptions,
    },
    /// A RST's options from an upper layer (RFC 8684 §3.6 MP_TCPRST).
    Reset(SynAckOptions),
}

/// One control segment to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Reply {
    pub(crate) local: SocketAddr,
    pub(crate) remote: SocketAddr,
    pub(crate) seq: TcpSeqNumber,
    pub(crate) ack: TcpSeqNumber,
    pub(crate) flags: TcpFlags,
    pub(crate) window: u16,
    pub(crate) options: ReplyOptions,
}

impl Reply {
    /// The reset answering `seg` where no connection exists (RFC 9293 §3.10.7.1): with the
    /// ACK bit on, <SEQ=SEG.ACK><CTL=RST>; otherwise
    /// <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
    pub(crate) fn reset_for(local: SocketAddr, remote: SocketAddr, seg: &TcpRepr<'_>) -> Reply {
        let (seq, ack, flags) = if seg.flags.contains(TcpFlags::ACK) {
            (seg.ack_number, TcpSeqNumber(0), TcpFlags::RST)
        } else {
            let ack = seg.seq_number + seg.segment_len();
            (TcpSeqNumber(0), ack, TcpFlags::RST | TcpFlags::ACK)
        };
        Reply { local, remote, seq, ack, flags, window: 0, options: ReplyOptions::None }
    }

    /// Writes the segment into `buf` with its checksum; `None` if `buf` is too short.
    pub(crate) fn write(&self, buf: &mut [u8]) -> Option<AddressedTransmit> {
        let mut area = [0u8; MAX_OPTIONS_LEN];
        let mut w = TcpOptionWriter::new(&mut area);
        self.write_options(&mut w);
        let opt_len = w.finish();
        let repr = TcpRepr {
            src_port: self.local.port(),
            dst_port: self.remote.port(),
            seq_number: self.seq,
            ack_number: self.ack,
            flags: self.flags,
            window_len: self.window,
            urgent_pointer: 0,
            options: TcpOptions::new(&area[..opt_len]),
            payload: &[],
        };
        let len = repr.buffer_len();
        let mut packet = TcpPacket::new_unchecked(buf.get_mut(..len)?);
        repr.emit(&mut packet);
        packet.fill_checksum(self.local.ip(), self.remote.ip());
        let transmit = Transmit { len, seq: self.seq, flags: self.flags, payload_len: 0 };
        Some(AddressedTransmit { local: self.local, remote: self.remote, transmit })
    }

    /// Options laid out as the connection lays out its own (MSS, SACK-permitted and
    /// timestamps, window scale); at most 20 bytes, so every push fits the 40 (with at most 20 bytes of `extra`).
    fn write_options(&self, w: &mut TcpOptionWriter<'_>) {
        match self.options {
            ReplyOptions::None => {}
            ReplyOptions::Timestamps { tsval, tsecr } => {
                let _ = w.push(&TcpOption::NoOperation);
                let _ = w.push(&TcpOption::NoOperation);
                let _ = w.push(&TcpOption::Timestamps { tsval, tsecr });
            }
            ReplyOptions::Reset(extra) => extra.write(w),
            ReplyOptions::SynAck { mss, wscale, sack, ts, extra } => {
                let _ = w.push(&TcpOption::MaxSegmentSize(mss));
                if sack {
                    let _ = w.push(&TcpOption::NoOperation);
                    let _ = w.push(&TcpOption::NoOperation);
                    let _ = w.push(&TcpOption::SackPermitted);
                }
                if let Some((tsval, tsecr)) = ts {
                    let _ = w.push(&TcpOption::NoOperation);
                    let _ = w.push(&TcpOption::NoOperation);
                    let _ = w.push(&TcpOption::Timestamps { tsval, tsecr });
                }
                if let Some(shift) = wscale {
                    let _ = w.push(&TcpOption::NoOperation);
                    let _ = w.push(&TcpOption::WindowScale(shift));
                }
                extra.write(w);
            }
        }
    }
}

/// A bounded FIFO of replies: when full, new replies are refused (and the caller counts
/// them), so a flood cannot grow it.
#[derive(Debug)]
pub(crate) struct ReplyQueue {
    queue: VecDeque<Reply>,
    cap: usize,
}

impl ReplyQueue {
    pub(crate) fn new(cap: usize) -> ReplyQueue {
        ReplyQueue { queue: VecDeque::new(), cap }
    }

    /// Queues `reply`; false if the queue is full.
    pub(crate) fn push(&mut self, reply: Reply) -> bool {
        if self.queue.len() >= self.cap {
            return false;
        }
        self.queue.push_back(reply);
        true
    }

    /// Writes the oldest reply into `buf`.
    pub(crate) fn poll(&mut self, buf: &mut [u8]) -> Option<AddressedTransmit> {
        let reply = self.queue.front()?;
        let t = reply.write(buf)?;
        self.queue.pop_front();
        Some(t)
    }

    /// The peer the oldest reply goes to (its IP header's destination).
    pub(crate) fn front_remote(&self) -> Option<SocketAddr> {
        self.queue.front().map(|r| r.remote)
    }

    pub(crate) fn len(&self) -> usize {
        self.queue.len()
    }

    /// Bytes allocated for queued replies.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.queue.capacity() * core::mem::size_of::<Reply>()
    }
}
