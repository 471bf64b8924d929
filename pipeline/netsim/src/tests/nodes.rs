//! Small nodes for the simulator's own tests.

use std::collections::VecDeque;

use netreaktor_pipeline::time::{Duration, Instant};

use crate::{IfaceId, Node, Transmit};

/// Ethertype 0x88B5, reserved for local experiments (IEEE 802), so pcaps stay readable.
const ETHERTYPE_EXPERIMENTAL: [u8; 2] = [0x88, 0xB5];
/// Offset of the test payload: right after the Ethernet header.
pub(super) const PAYLOAD: usize = 14;

/// An Ethernet frame from 02:00:00:00:00:01 to 02:00:00:00:00:02 carrying `payload`.
pub(super) fn eth_frame(payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(PAYLOAD + payload.len());
    f.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01]);
    f.extend_from_slice(&ETHERTYPE_EXPERIMENTAL);
    f.extend_from_slice(payload);
    f
}

/// A frame of exactly `len` bytes (at least 18) whose payload starts with `seq`, big-endian.
pub(super) fn seq_frame(seq: u32, len: usize) -> Vec<u8> {
    let mut payload = vec![0u8; len.saturating_sub(PAYLOAD).max(4)];
    payload[..4].copy_from_slice(&seq.to_be_bytes());
    eth_frame(&payload)
}

/// The sequence number of a frame built by [`seq_frame`].
pub(super) fn frame_seq(frame: &[u8]) -> Option<u32> {
    let bytes = frame.get(PAYLOAD..PAYLOAD + 4)?;
    Some(u32::from_be_bytes(bytes.try_into().ok()?))
}

/// Sends `count` frames of `len` bytes on interface 0, one every `interval` from `start`
/// (all at once when the interval is zero), numbered from 0.
#[derive(Debug)]
pub(super) struct Sender {
    len: usize,
    interval: Duration,
    count: u32,
    next_seq: u32,
    next_at: Instant,
    ready: VecDeque<Vec<u8>>,
    /// (time, seq) of every frame handed to the network.
    pub(super) sent: Vec<(Instant, u32)>,
}

impl Sender {
    pub(super) fn new(count: u32, len: usize, interval: Duration) -> Self {
        Sender {
            len,
            interval,
            count,
            next_seq: 0,
            next_at: Instant::ZERO,
            ready: VecDeque::new(),
            sent: Vec::new(),
        }
    }

    /// `count` frames at time zero.
    pub(super) fn burst(count: u32, len: usize) -> Self {
        Sender::new(count, len, Duration::ZERO)
    }

    pub(super) fn starting_at(mut self, start: Instant) -> Self {
        self.next_at = start;
        self
    }

    /// Sends `n` more frames, the first at `now` (or when the current series ends).
    pub(super) fn send_more(&mut self, now: Instant, n: u32) {
        if self.next_seq == self.count {
            self.next_at = self.next_at.max(now);
        }
        self.count += n;
    }
}

impl Node for Sender {
    fn handle_frame(&mut self, _: Instant, _: IfaceId, _: &[u8]) {}

    fn handle_timeout(&mut self, now: Instant) {
        while self.next_seq < self.count && self.next_at <= now {
            self.ready.push_back(seq_frame(self.next_seq, self.len));
            self.sent.push((now, self.next_seq));
            self.next_seq += 1;
            self.next_at += self.interval;
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        (self.next_seq < self.count).then_some(self.next_at)
    }

    fn poll_transmit(&mut self, _: Instant) -> Option<Transmit> {
        self.ready.pop_front().map(|f| Transmit::new(IfaceId(0), f))
    }
}

/// One frame as a [`Sink`] saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Arrival {
    pub(super) at: Instant,
    pub(super) seq: u32,
    pub(super) len: usize,
}

/// Records every frame it receives.
#[derive(Debug, Default)]
pub(super) struct Sink {
    pub(super) received: Vec<Arrival>,
}

impl Sink {
    pub(super) fn seqs(&self) -> Vec<u32> {
        self.received.iter().map(|a| a.seq).collect()
    }

    pub(super) fn times(&self) -> Vec<Instant> {
        self.received.iter().map(|a| a.at).collect()
    }

    /// Frames that arrived after a frame with a higher sequence number.
    pub(super) fn late_arrivals(&self) -> usize {
        let mut highest = None;
        let mut late = 0;
        for a in &self.received {
            match highest {
                Some(h) if a.seq < h => late += 1,
                _ => highest = Some(a.seq),
            }
        }
        late
    }
}

impl Node for Sink {
    fn handle_frame(&mut self, now: Instant, _: IfaceId, frame: &[u8]) {
        let seq = frame_seq(frame).unwrap_or(u32::MAX);
        self.received.push(Arrival { at: now, seq, len: frame.len() });
    }

    fn handle_timeout(&mut self, _: Instant) {}

    fn poll_timeout(&self) -> Option<Instant> {
        None
    }

    fn poll_transmit(&mut self, _: Instant) -> Option<Transmit> {
        None
    }
}

/// A broken engine: always wants a timeout at time zero and never moves it.
#[derive(Debug, Default)]
pub(super) struct Stuck {
    pub(super) calls: u64,
}

impl Node for Stuck {
    fn handle_frame(&mut self, _: Instant, _: IfaceId, _: &[u8]) {}

    fn handle_timeout(&mut self, _: Instant) {
        self.calls += 1;
    }

    fn poll_timeout(&self) -> Option<Instant> {
        Some(Instant::ZERO)
    }

    fn poll_transmit(&mut self, _: Instant) -> Option<Transmit> {
        None
    }
}

/// Sends every frame it receives straight back; optionally starts with some frames.
#[derive(Debug, Default)]
pub(super) struct Echo {
    outbox: VecDeque<Vec<u8>>,
}

impl Echo {
    /// Sends `frames` at the start, then echoes.
    pub(super) fn serving(frames: Vec<Vec<u8>>) -> Self {
        Echo { outbox: frames.into() }
    }
}

impl Node for Echo {
    fn handle_frame(&mut self, _: Instant, _: IfaceId, frame: &[u8]) {
        self.outbox.push_back(frame.to_vec());
    }

    fn handle_timeout(&mut self, _: Instant) {}

    fn poll_timeout(&self) -> Option<Instant> {
        None
    }

    fn poll_transmit(&mut self, _: Instant) -> Option<Transmit> {
        self.outbox.pop_front().map(|f| Transmit::new(IfaceId(0), f))
    }
}
