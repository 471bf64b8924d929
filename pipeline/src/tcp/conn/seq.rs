//! The send and receive sequence variables of RFC 9293 §3.3.1, with the buffers they index.

use crate::tcp::buffer::{Reassembler, SendBuffer};
use crate::wire::tcp::TcpSeqNumber;

/// The send sequence space (RFC 9293 §3.3.1, Figure 3) and the send buffer.
///
/// SND.NXT is kept equal to the highest sequence number sent plus one (what RFC 6675 calls
/// HighData + 1, elsewhere SND.MAX): retransmissions are sent from explicit ranges and never
/// move it back. The send buffer holds the data from SND.UNA on (from ISS + 1 while the SYN is
/// unacknowledged); the FIN, once queued, sits at [`SendSeq::data_end`].
#[derive(Debug)]
pub(super) struct SendSeq {
    /// ISS.
    pub(super) iss: TcpSeqNumber,
    /// SND.UNA: oldest unacknowledged sequence number. Set with [`set_una`](Self::set_una).
    pub(super) una: TcpSeqNumber,
    /// SND.UNA as a 64-bit stream offset (bytes after the SYN acknowledged; `u64::MAX` while
    /// the SYN is not): sequence numbers wrap after 4 GiB, stream offsets never do.
    una_offset: u64,
    /// SND.NXT (= SND.MAX): next new sequence number to send.
    pub(super) nxt: TcpSeqNumber,
    /// SND.WND in bytes, scaled.
    pub(super) wnd: u32,
    /// The largest window the peer has offered (RFC 5961 §5 MAX.SND.WND; sender SWS).
    pub(super) max_wnd: u32,
    /// SND.WL1 / SND.WL2: segment sequence and acknowledgment numbers of the last window update.
    pub(super) wl1: TcpSeqNumber,
    pub(super) wl2: TcpSeqNumber,
    /// Snd.Wind.Shift (RFC 7323 §2.2): applied to the windows the peer advertises.
    pub(super) wscale: u8,
    /// The peer's MSS (option value, or the RFC 9293 §3.7.1 default), capped by ours.
    pub(super) mss: u16,
    /// Data bytes in a full segment: `mss` less our fixed per-segment options.
    pub(super) eff_mss: usize,
    pub(super) buf: SendBuffer,
    /// The user has closed: the FIN's sequence number, just past the buffered data.
    pub(super) fin: Option<TcpSeqNumber>,
    /// A SYN or SYN,ACK is to be (re)sent.
    pub(super) syn_due: bool,
    /// After an RTO: the next sequence number to resend, going back over the whole window.
    pub(super) rexmit: Option<TcpSeqNumber>,
    /// A range to retransmit at once, whatever the windows say: the fast retransmit (RFC 5681
    /// §3.2 step 3) or the segment after a NewReno partial ACK (RFC 6582 §3.2 step 3).
    pub(super) urgent_rexmit: Option<crate::tcp::sack::SeqRange>,
    /// Duplicate ACKs in a row, RFC 5681 §2 definition (used when SACK is off).
    pub(super) dup_acks: u32,
    /// The segment being timed for an RTT sample (Karn): its end and send time.
    pub(super) rtt_probe: Option<(TcpSeqNumber, crate::time::Instant)>,
    /// In SACK recovery: when the segment at SND.UNA was last retransmitted (or, for a head
    /// reached by a partial ACK, when that became known), for lost-retransmission detection.
    pub(super) head_rxt: Option<(TcpSeqNumber, crate::time::Instant)>,
    /// A tail loss probe went out and no ACK of new data has come since (RFC 8985 §7).
    pub(super) tail_probe_sent: bool,
    /// Consecutive retransmission timeouts or unanswered probes (RFC 9293 §3.8.3 R2).
    pub(super) retries: u32,
}

impl SendSeq {
    /// Moves SND.UNA to `ack` (at or after it), and its stream offset with it.
    pub(super) fn set_una(&mut self, ack: TcpSeqNumber) {
        let advanced = u64::from(ack.offset_from(self.una));
        self.una_offset = self.una_offset.wrapping_add(advanced);
        self.una = ack;
    }

    /// The 64-bit stream offset of `seq` (bytes after the SYN), for a `seq` within 2^31 of
    /// SND.UNA, as every sequence number in flight is.
    pub(super) fn stream_offset(&self, seq: TcpSeqNumber) -> u64 {
        let delta = i64::from(seq - self.una);
        self.una_offset.wrapping_add(delta as u64)
    }
    pub(super) fn new(iss: TcpSeqNumber, buf: SendBuffer, mss: u16) -> SendSeq {
        SendSeq {
            iss,
            una: iss,
            una_offset: u64::MAX,
            nxt: iss,
            wnd: 0,
            max_wnd: 0,
            wl1: TcpSeqNumber(0),
            wl2: iss,
            wscale: 0,
            mss,
            eff_mss: usize::from(mss),
            buf,
            fin: None,
            syn_due: false,
            rexmit: None,
            urgent_rexmit: None,
            dup_acks: 0,
            rtt_probe: None,
            head_rxt: None,
            tail_probe_sent: false,
            retries: 0,
        }
    }

    /// Sequence number of the first byte in the send buffer: SND.UNA once the SYN is
    /// acknowledged, ISS + 1 before.
    pub(super) fn data_start(&self) -> TcpSeqNumber {
        if self.una == self.iss { self.iss + 1usize } else { self.una }
    }

    /// Sequence number just past the buffered data: where the FIN goes.
    pub(super) fn data_end(&self) -> TcpSeqNumber {
        self.fin.unwrap_or_else(|| self.data_start() + self.buf.len())
    }

    /// One past the last sequence number the user has given us (FIN included once queued).
    pub(super) fn queue_end(&self) -> TcpSeqNumber {
        self.data_end() + usize::from(self.fin.is_some())
    }

    /// Queues the FIN after the buffered data (the user closed).
    pub(super) fn queue_fin(&mut self) {
        self.fin = Some(self.data_end());
    }

    /// Whether the FIN has been sent (it lies below SND.NXT).
    pub(super) fn fin_sent(&self) -> bool {
        self.fin.is_some_and(|fin| self.nxt > fin)
    }

    /// Whether the FIN has been acknowledged.
    pub(super) fn fin_acked(&self) -> bool {
        self.fin.is_some_and(|fin| self.una > fin)
    }

    /// Bytes sent and not acknowledged (FlightSize of RFC 5681, SYN and FIN counted).
    pub(super) fn flight(&self) -> u32 {
        self.nxt.offset_from(self.una)
    }

    /// Sequence numbers queued but not sent yet (FIN counted).
    pub(super) fn unsent(&self) -> u32 {
        let end = self.queue_end();
        if end > self.nxt { end.offset_from(self.nxt) } else { 0 }
    }
}

/// The receive sequence space (RFC 9293 §3.3.1, Figure 4) and the reassembly buffer.
#[derive(Debug)]
pub(super) struct RecvSeq {
    /// IRS, once the peer's SYN arrived.
    pub(super) irs: Option<TcpSeqNumber>,
    /// RCV.NXT.
    pub(super) nxt: TcpSeqNumber,
    /// The right edge of the window last advertised (RCV.NXT + RCV.WND when it was sent).
    /// It never moves left (RFC 9293 §3.8.6.2.2: the window is not shrunk).
    pub(super) adv: TcpSeqNumber,
    /// Rcv.Wind.Shift (RFC 7323 §2.2): applied to the windows we advertise.
    pub(super) wscale: u8,
    pub(super) reasm: Reassembler,
    /// The peer's FIN was accepted (RCV.NXT covers it).
    pub(super) fin_received: bool,
    /// Sequence number of a FIN that arrived ahead of a hole, to accept when RCV.NXT reaches it.
    pub(super) fin_at: Option<TcpSeqNumber>,
    /// In-order data bytes received since we last sent an ACK (delayed-ACK accounting).
    pub(super) unacked_bytes: usize,
    /// An ACK must go out at the next transmit opportunity.
    pub(super) ack_now: bool,
    /// That ACK must be a segment without data, ahead of any data due (an upper layer's
    /// options need the room).
    pub(super) ack_alone: bool,
    /// An ACK is owed, but may wait for the delayed-ACK timer.
    pub(super) ack_delayed: bool,
}

impl RecvSeq {
    pub(super) fn new(reasm: Reassembler) -> RecvSeq {
        RecvSeq {
            irs: None,
            nxt: TcpSeqNumber(0),
            adv: TcpSeqNumber(0),
            wscale: 0,
            reasm,
            fin_received: false,
            fin_at: None,
            unacked_bytes: 0,
            ack_now: false,
            ack_alone: false,
            ack_delayed: false,
        }
    }

    /// RCV.WND as last advertised: how far the advertised right edge is past RCV.NXT.
    pub(super) fn wnd(&self) -> u32 {
        if self.adv > self.nxt { self.adv.offset_from(self.nxt) } else { 0 }
    }

    /// The peer's SYN arrived with sequence number `seq`.
    pub(super) fn on_syn(&mut self, seq: TcpSeqNumber) {
        self.irs = Some(seq);
        self.nxt = seq + 1usize;
        self.adv = self.nxt;
    }
}
