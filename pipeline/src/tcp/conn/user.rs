//! The user calls of RFC 9293 §3.10: SEND, RECEIVE (copying or in place), CLOSE (a
//! half-close), ABORT, and the events the user polls.

use super::{
    CloseReason, ConnEvent, Connection, EV_CLOSED, EV_CONNECTED, EV_PEER_FIN, EV_READABLE,
    EV_WRITABLE,
};
use crate::tcp::state::{Event, State};
use crate::time::Instant;

impl Connection {
    /// Queues `data` to send and returns how much fit in the send buffer (RFC 9293 §3.10.2
    /// SEND). 0 when the buffer is full or the user has closed.
    pub fn send(&mut self, data: &[u8]) -> usize {
        if !self.state.can_send() || self.snd.fin.is_some() {
            return 0;
        }
        self.snd.buf.write(data)
    }

    /// How much more the send buffer should be given now: its free space up to the send limit
    /// ([`send_limit`](Self::send_limit), which follows the path and memory pressure).
    /// [`send`](Self::send) itself takes up to the configured buffer.
    pub fn send_capacity(&self) -> usize {
        if !self.state.can_send() || self.snd.fin.is_some() {
            return 0;
        }
        let room = self.send_limit().saturating_sub(self.snd.buf.len());
        room.min(self.snd.buf.remaining())
    }

    /// Bytes queued and not yet acknowledged.
    pub fn send_queued(&self) -> usize {
        self.snd.buf.len()
    }

    /// Copies readable data into `out` and consumes it (RFC 9293 §3.10.3 RECEIVE).
    pub fn recv(&mut self, out: &mut [u8]) -> usize {
        let (a, b) = self.rcv.reasm.readable();
        let n1 = a.len().min(out.len());
        out[..n1].copy_from_slice(&a[..n1]);
        let n2 = b.len().min(out.len() - n1);
        out[n1..n1 + n2].copy_from_slice(&b[..n2]);
        self.consume(n1 + n2)
    }

    /// The readable data, in place, as up to two slices; [`consume`](Self::consume) it after.
    pub fn readable(&self) -> (&[u8], &[u8]) {
        self.rcv.reasm.readable()
    }

    /// Marks `n` readable bytes as read, opening the receive window; may queue a window update.
    pub fn consume(&mut self, n: usize) -> usize {
        let n = self.rcv.reasm.consume(n);
        self.rcv_space.consumed += n as u64;
        if n > 0 && self.state.can_receive() {
            self.maybe_window_update();
        }
        if n > 0 && self.state != State::Closed {
            self.arm_release_after_read();
        }
        n
    }

    /// Whether the peer's FIN has been received in order and all data before it read.
    pub fn is_read_closed(&self) -> bool {
        self.rcv.fin_received && self.rcv.reasm.readable_len() == 0
    }

    /// Whether both byte streams are complete: the peer's FIN arrived and all data before it
    /// was read, and every byte we sent is acknowledged. What may remain is the ACK of our
    /// FIN (LAST-ACK, CLOSING) or TIME-WAIT; CLOSED counts too.
    pub fn streams_done(&self) -> bool {
        match self.state {
            State::Closed | State::TimeWait => true,
            State::LastAck | State::Closing => self.is_read_closed() && self.snd.buf.is_empty(),
            _ => false,
        }
    }

    /// Closes the sending direction (RFC 9293 §3.10.4 CLOSE): a FIN follows the queued data.
    /// Receiving goes on until the peer's FIN. Closing twice does nothing.
    pub fn close(&mut self, now: Instant) {
        if self.snd.fin.is_some() {
            return;
        }
        match self.state {
            State::SynSent => self.finish(now, CloseReason::Closed),
            // RFC 9293 §3.10.4: in SYN-RECEIVED the FIN waits for ESTABLISHED; the state
            // changes when the ACK of our SYN arrives (see `input`).
            State::SynReceived => self.snd.queue_fin(),
            State::Established | State::CloseWait => {
                self.snd.queue_fin();
                self.apply(Event::Close);
            }
            _ => {}
        }
    }

    /// Aborts (RFC 9293 §3.10.5 ABORT): a RST is sent if the peer knows of us, queued data
    /// is dropped, and the connection is closed.
    pub fn abort(&mut self, now: Instant) {
        if self.state == State::Closed {
            return;
        }
        self.rst_due = self.state != State::SynSent && self.state != State::TimeWait;
        self.finish(now, CloseReason::Aborted);
    }

    /// [`abort`](Self::abort) without the RST: queued data is dropped and the connection is
    /// closed, and the segments that end it on the wire are the upper layer's, written with
    /// [`write_bare`](Self::write_bare). MPTCP's fast close (RFC 8684 §3.5) sends an ACK
    /// carrying MP_FASTCLOSE, waits for the peer's RST, resends the ACK after an RTO, and
    /// only then sends its own RST.
    pub fn abort_without_reset(&mut self, now: Instant) {
        self.abort(now);
        self.rst_due = false;
    }

    /// How long the connection has been in TIME-WAIT, if it is.
    pub fn time_wait_elapsed(&self, now: Instant) -> Option<crate::time::Duration> {
        if self.state != State::TimeWait {
            return None;
        }
        let end = self.timers.get(super::Timer::Linger)?;
        let left = end.saturating_duration_since(now);
        Some(self.cfg.time_wait - left.min(self.cfg.time_wait))
    }

    /// Ends TIME-WAIT early, silently, so the 4-tuple can carry a new connection: the
    /// owner reuses an origin-side port (as Linux's `tcp_tw_reuse` does, RFC 6191 §2: after
    /// at least a second, with timestamps on, so the new incarnation's segments are told
    /// apart). Does nothing in any other state.
    pub fn end_time_wait(&mut self, now: Instant) {
        if self.state == State::TimeWait {
            self.finish(now, CloseReason::Closed);
        }
    }

    /// Whether timestamps (RFC 7323) are in use.
    pub fn timestamps_on(&self) -> bool {
        self.ts.enabled
    }

    /// Sends an ACK at the next [`poll_transmit`](Self::poll_transmit) even if nothing else
    /// is due: an upper layer has options to deliver (RFC 8684 §3.2: the ACK of an MP_JOIN
    /// third ACK; a DATA_FIN or ADD_ADDR retransmission). Ignored before the handshake.
    pub fn send_ack_now(&mut self) {
        if self.state.is_synchronized() {
            self.rcv.ack_now = true;
        }
    }

    /// [`send_ack_now`](Self::send_ack_now), as a segment without data that goes ahead of
    /// any data due: an upper layer's options fit only where no data is (RFC 8684 §3.4.1: an
    /// IPv6 ADD_ADDR with its HMAC beside timestamps leaves no room for a DSS mapping), and a
    /// sender with data to send would otherwise carry the ACK on a data segment.
    pub fn send_pure_ack_now(&mut self) {
        if self.state.is_synchronized() {
            self.rcv.ack_now = true;
            self.rcv.ack_alone = true;
        }
    }

    /// Resends the first unacknowledged segment at the next
    /// [`poll_transmit`](Self::poll_transmit), without backing off the RTO or reducing the
    /// window: an upper layer probing a path it believes failed (RFC 8684 §3.3.6, a
    /// potentially failed MPTCP subflow), whose answer, an ACK of new data, shows the path is
    /// back. Returns the bytes it will resend (0 when nothing is outstanding).
    pub fn resend_first_segment(&mut self) -> usize {
        if !self.state.sends_data() || self.snd.flight() == 0 {
            return 0;
        }
        let first = self.first_segment();
        self.snd.urgent_rexmit = Some(first);
        // Karn's rule (RFC 6298 §3): the timed segment may be the one resent.
        self.snd.rtt_probe = None;
        first.end.offset_from(first.start) as usize
    }

    /// The next event for the user, if any.
    pub fn poll_event(&mut self) -> Option<ConnEvent> {
        let order = [
            (EV_CONNECTED, ConnEvent::Connected),
            (EV_READABLE, ConnEvent::Readable),
            (EV_PEER_FIN, ConnEvent::PeerFinished),
            (EV_WRITABLE, ConnEvent::Writable),
        ];
        for (bit, ev) in order {
            if self.events & bit != 0 {
                self.events &= !bit;
                return Some(ev);
            }
        }
        if self.events & EV_CLOSED != 0 {
            self.events &= !EV_CLOSED;
            return self.reason.map(ConnEvent::Closed);
        }
        None
    }
}
