//! A toy reliable protocol, stop-and-wait with one outstanding chunk, to show that the
//! simulator can carry an engine test end to end. Not part of the library.
//!
//! Payload after the Ethernet header: kind (0 data, 1 ack), sequence number (u32,
//! big-endian), then for data the chunk bytes.

use std::collections::VecDeque;

use netreaktor_pipeline::time::{Duration, Instant};

use super::nodes::{PAYLOAD, eth_frame};
use crate::{IfaceId, Node, Transmit};

const DATA: u8 = 0;
const ACK: u8 = 1;

fn message(kind: u8, seq: u32, body: &[u8]) -> Vec<u8> {
    let mut payload = Vec::with_capacity(5 + body.len());
    payload.push(kind);
    payload.extend_from_slice(&seq.to_be_bytes());
    payload.extend_from_slice(body);
    eth_frame(&payload)
}

/// (kind, seq, body) of a message, or `None` if the frame is too short.
fn parse(frame: &[u8]) -> Option<(u8, u32, &[u8])> {
    let payload = frame.get(PAYLOAD..)?;
    let (&kind, rest) = payload.split_first()?;
    let seq = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?);
    Some((kind, seq, rest.get(4..)?))
}

/// Sends `data` in chunks, one at a time, retransmitting after `rto` without an ack.
#[derive(Debug)]
pub(super) struct SwSender {
    data: Vec<u8>,
    chunk: usize,
    rto: Duration,
    offset: usize,
    seq: u32,
    deadline: Option<Instant>,
    sent_current: bool,
    outbox: Option<Vec<u8>>,
    pub(super) retransmissions: u32,
    pub(super) done_at: Option<Instant>,
}

impl SwSender {
    pub(super) fn new(data: Vec<u8>, chunk: usize, rto: Duration) -> Self {
        SwSender {
            data,
            chunk,
            rto,
            offset: 0,
            seq: 0,
            deadline: Some(Instant::ZERO),
            sent_current: false,
            outbox: None,
            retransmissions: 0,
            done_at: None,
        }
    }

    fn current_chunk(&self) -> &[u8] {
        let end = self.offset.saturating_add(self.chunk).min(self.data.len());
        self.data.get(self.offset..end).unwrap_or(&[])
    }

    fn send_current(&mut self, now: Instant) {
        if self.sent_current {
            self.retransmissions += 1;
        }
        self.sent_current = true;
        self.outbox = Some(message(DATA, self.seq, self.current_chunk()));
        self.deadline = Some(now + self.rto);
    }
}

impl Node for SwSender {
    fn handle_frame(&mut self, now: Instant, _: IfaceId, frame: &[u8]) {
        let Some((ACK, seq, _)) = parse(frame) else { return };
        if seq != self.seq || self.done_at.is_some() {
            return; // a duplicate ack for an earlier chunk
        }
        self.offset += self.current_chunk().len();
        self.seq += 1;
        self.sent_current = false;
        if self.offset >= self.data.len() {
            self.done_at = Some(now);
            self.deadline = None;
        } else {
            self.send_current(now);
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.send_current(now);
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.deadline
    }

    fn poll_transmit(&mut self, _: Instant) -> Option<Transmit> {
        self.outbox.take().map(|f| Transmit::new(IfaceId(0), f))
    }
}

/// Accepts chunks in order and acks every data message it has already accepted.
#[derive(Debug, Default)]
pub(super) struct SwReceiver {
    expected: u32,
    pub(super) data: Vec<u8>,
    outbox: VecDeque<Vec<u8>>,
}

impl Node for SwReceiver {
    fn handle_frame(&mut self, _: Instant, _: IfaceId, frame: &[u8]) {
        let Some((DATA, seq, body)) = parse(frame) else { return };
        if seq == self.expected {
            self.data.extend_from_slice(body);
            self.expected += 1;
        }
        if seq < self.expected {
            self.outbox.push_back(message(ACK, seq, &[]));
        }
    }

    fn handle_timeout(&mut self, _: Instant) {}

    fn poll_timeout(&self) -> Option<Instant> {
        None
    }

    fn poll_transmit(&mut self, _: Instant) -> Option<Transmit> {
        self.outbox.pop_front().map(|f| Transmit::new(IfaceId(0), f))
    }
}
