//! One direction of a link as a small state machine: admission (cut, MTU, tail-drop queue),
//! a FIFO transmitter that serializes at the configured rate, and the wire (loss,
//! duplication, reordering, delay, jitter).
//!
//! The channel does not know about the event queue: each call appends [`Effect`]s that the
//! network applies (trace lines, deliveries to schedule, a wake-up for the transmitter).
//! The transmitter keeps time in nanoseconds so that frames shorter than a microsecond on
//! the wire (64 bytes at 1 Gbit/s take 512 ns) do not accumulate rounding; a frame leaves
//! the transmitter at the first whole microsecond at or after its last bit.

use std::collections::VecDeque;

use netreaktor_pipeline::time::{Duration, Instant};

use super::link::{ETHERNET_HEADER_LEN, LinkConfig, QueueLimit};
use super::rng::Rng;
use super::stats::{DropReason, LinkStats};
use super::trace::LinkEvent;

/// What a channel asks the network to do.
#[derive(Debug)]
pub(crate) enum Effect {
    /// Record a trace line for a frame of this length, at the current time.
    Trace(LinkEvent, usize),
    /// Hand `frame` to the receiving endpoint at `at`.
    Deliver { at: Instant, frame: Vec<u8> },
    /// Call [`Channel::wake`] at `at`: the transmitter finishes a frame then.
    Wake(Instant),
}

/// A frame waiting for the transmitter, and when it was offered.
#[derive(Debug)]
struct Queued {
    frame: Vec<u8>,
    offered_ns: u64,
}

/// The frame being serialized, and when its last bit leaves.
#[derive(Debug)]
struct InService {
    frame: Vec<u8>,
    end_ns: u64,
}

/// One direction of a link.
#[derive(Debug)]
pub(crate) struct Channel {
    pub(crate) config: LinkConfig,
    pub(crate) cut: bool,
    pub(crate) stats: LinkStats,
    rng: Rng,
    queue: VecDeque<Queued>,
    queued_bytes: usize,
    in_service: Option<InService>,
    /// The wake-up last asked for, so the same one is not asked for twice.
    wake_at: Option<Instant>,
    /// Arrival time of the last frame not held back: later frames arrive no earlier.
    last_arrival: Instant,
}

fn nanos(t: Instant) -> u64 {
    t.total_micros().saturating_mul(1_000)
}

fn ceil_micros(ns: u64) -> Instant {
    Instant::from_micros(ns.div_ceil(1_000))
}

impl Channel {
    pub(crate) fn new(config: LinkConfig, rng: Rng) -> Self {
        Channel {
            config,
            cut: false,
            stats: LinkStats::default(),
            rng,
            queue: VecDeque::new(),
            queued_bytes: 0,
            in_service: None,
            wake_at: None,
            last_arrival: Instant::ZERO,
        }
    }

    /// The sending node hands `frame` to this direction at `now`.
    pub(crate) fn offer(&mut self, now: Instant, frame: Vec<u8>, out: &mut Vec<Effect>) {
        // Frames whose last bit left by `now` go first and free their queue room.
        self.pump(now, out);
        let len = frame.len();
        self.stats.sent = self.stats.sent.saturating_add(1);
        self.stats.sent_bytes = self.stats.sent_bytes.saturating_add(len as u64);
        out.push(Effect::Trace(LinkEvent::Sent, len));
        if let Err(reason) = self.admit(len) {
            self.drop_frame(reason, len, out);
            return;
        }
        self.queue.push_back(Queued { frame, offered_ns: nanos(now) });
        self.queued_bytes = self.queued_bytes.saturating_add(len);
        self.pump(now, out);
        self.note_queue_peak();
    }

    /// The transmitter's wake-up time `now` has come.
    pub(crate) fn wake(&mut self, now: Instant, out: &mut Vec<Effect>) {
        if self.wake_at.is_some_and(|w| w <= now) {
            self.wake_at = None;
        }
        self.pump(now, out);
    }

    /// A frame of `len` bytes from this direction reached its node.
    pub(crate) fn record_delivery(&mut self, len: usize) {
        self.stats.delivered = self.stats.delivered.saturating_add(1);
        self.stats.delivered_bytes = self.stats.delivered_bytes.saturating_add(len as u64);
    }

    /// Frames and bytes waiting in the queue (not counting the one being serialized).
    pub(crate) fn queued(&self) -> (usize, usize) {
        (self.queue.len(), self.queued_bytes)
    }

    /// Admission: cut, then MTU, then queue room (see [`LinkConfig`]).
    fn admit(&self, len: usize) -> Result<(), DropReason> {
        if self.cut {
            return Err(DropReason::Cut);
        }
        if len.saturating_sub(ETHERNET_HEADER_LEN) > self.config.mtu {
            return Err(DropReason::Mtu);
        }
        if self.in_service.is_some() && self.queue_full(len) {
            return Err(DropReason::Queue);
        }
        Ok(())
    }

    fn queue_full(&self, len: usize) -> bool {
        match self.config.queue {
            QueueLimit::Packets(n) => self.queue.len() >= n,
            QueueLimit::Bytes(n) => self.queued_bytes.saturating_add(len) > n,
        }
    }

    fn note_queue_peak(&mut self) {
        let s = &mut self.stats;
        s.max_queue_frames = s.max_queue_frames.max(self.queue.len() as u64);
        s.max_queue_bytes = s.max_queue_bytes.max(self.queued_bytes as u64);
    }

    fn drop_frame(&mut self, reason: DropReason, len: usize, out: &mut Vec<Effect>) {
        self.stats.count_drop(reason);
        out.push(Effect::Trace(LinkEvent::Dropped(reason), len));
    }

    /// Moves frames through the transmitter up to `now`: every frame whose last bit has left
    /// goes onto the wire, the next waiting frame starts back to back (or when it was offered,
    /// if the transmitter was idle then), and a wake-up is asked for the frame still in
    /// service.
    fn pump(&mut self, now: Instant, out: &mut Vec<Effect>) {
        let now_ns = nanos(now);
        loop {
            let free_ns = match self.in_service.take() {
                Some(busy) if busy.end_ns > now_ns => {
                    self.in_service = Some(busy);
                    self.ask_wake(out);
                    return;
                }
                Some(done) => {
                    self.egress(done.frame, done.end_ns, out);
                    done.end_ns
                }
                None => 0,
            };
            let Some(next) = self.queue.pop_front() else { return };
            self.queued_bytes = self.queued_bytes.saturating_sub(next.frame.len());
            let start_ns = free_ns.max(next.offered_ns);
            let end_ns = start_ns.saturating_add(self.config.serialization_nanos(next.frame.len()));
            self.in_service = Some(InService { frame: next.frame, end_ns });
        }
    }

    fn ask_wake(&mut self, out: &mut Vec<Effect>) {
        let Some(busy) = &self.in_service else { return };
        let at = ceil_micros(busy.end_ns);
        if self.wake_at != Some(at) {
            self.wake_at = Some(at);
            out.push(Effect::Wake(at));
        }
    }

    /// The frame's last bit left the transmitter at `end_ns`: the wire decides its fate.
    fn egress(&mut self, frame: Vec<u8>, end_ns: u64, out: &mut Vec<Effect>) {
        let len = frame.len();
        if self.rng.chance_ppm(self.config.loss_ppm) {
            self.drop_frame(DropReason::Loss, len, out);
            return;
        }
        let duplicate = self.rng.chance_ppm(self.config.duplicate_ppm);
        let (at, held_back) = self.arrival(ceil_micros(end_ns));
        if held_back {
            self.stats.reordered = self.stats.reordered.saturating_add(1);
            out.push(Effect::Trace(LinkEvent::Reordered, len));
        }
        if duplicate {
            self.stats.duplicated = self.stats.duplicated.saturating_add(1);
            out.push(Effect::Trace(LinkEvent::Duplicated, len));
            out.push(Effect::Deliver { at, frame: frame.clone() });
        }
        out.push(Effect::Deliver { at, frame });
    }

    /// When a frame that left the transmitter at `depart` arrives, and whether it was held
    /// back for reordering.
    fn arrival(&mut self, depart: Instant) -> (Instant, bool) {
        let held_back = self.rng.chance_ppm(self.config.reorder_ppm);
        let jitter = match self.config.jitter.total_micros() {
            0 => Duration::ZERO,
            j => Duration::from_micros(self.rng.range_inclusive(0, j)),
        };
        let at = depart + self.config.delay + jitter;
        if held_back {
            return (at + self.config.reorder_delay, true);
        }
        let at = at.max(self.last_arrival);
        self.last_arrival = at;
        (at, false)
    }
}
