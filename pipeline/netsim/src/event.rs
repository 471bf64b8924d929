//! The simulator's event queue: a time-ordered map with a sequence number per event, so
//! events at the same instant run in the order they were scheduled, on every machine.

use core::fmt;
use std::collections::BTreeMap;

use netreaktor_pipeline::time::Instant;

use super::Network;
use super::link::{Direction, LinkId};

/// A closure scheduled to run on the network at a given time.
pub(crate) type Action = Box<dyn FnOnce(&mut Network)>;

/// Something the network will do at a given time.
pub(crate) enum Event {
    /// Hand a frame that crossed `link` in direction `dir` to the receiving node.
    Deliver { link: LinkId, dir: Direction, frame: Vec<u8> },
    /// The transmitter of `link` in direction `dir` finishes a frame.
    Wake { link: LinkId, dir: Direction },
    /// Run a scheduled closure.
    Action(Action),
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Deliver { link, dir, frame } => {
                write!(f, "Deliver({link}, {dir:?}, {} bytes)", frame.len())
            }
            Event::Wake { link, dir } => write!(f, "Wake({link}, {dir:?})"),
            Event::Action(_) => f.write_str("Action"),
        }
    }
}

/// Pending events, earliest first, ties in scheduling order.
#[derive(Debug, Default)]
pub(crate) struct EventQueue {
    events: BTreeMap<(Instant, u64), Event>,
    next_seq: u64,
}

impl EventQueue {
    /// Schedules `event` at `at`, after every event already scheduled at `at`.
    pub(crate) fn push(&mut self, at: Instant, event: Event) {
        let seq = self.next_seq;
        // 2^64 events cannot be scheduled in a test's lifetime; wrapping would only reorder
        // ties, never panic.
        self.next_seq = self.next_seq.wrapping_add(1);
        self.events.insert((at, seq), event);
    }

    /// The time of the earliest event.
    pub(crate) fn peek_time(&self) -> Option<Instant> {
        self.events.first_key_value().map(|(&(at, _), _)| at)
    }

    /// Removes and returns the earliest event.
    pub(crate) fn pop(&mut self) -> Option<(Instant, Event)> {
        self.events.pop_first().map(|((at, _), event)| (at, event))
    }

    /// How many events are pending.
    pub(crate) fn len(&self) -> usize {
        self.events.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wake(link: u32) -> Event {
        Event::Wake { link: LinkId(link), dir: Direction::AToB }
    }

    fn link_of(e: &Event) -> u32 {
        match e {
            Event::Wake { link, .. } => link.0,
            _ => u32::MAX,
        }
    }

    #[test]
    fn earliest_first_then_scheduling_order() {
        let mut q = EventQueue::default();
        q.push(Instant::from_millis(5), wake(0));
        q.push(Instant::from_millis(1), wake(1));
        q.push(Instant::from_millis(5), wake(2));
        q.push(Instant::from_millis(1), wake(3));
        assert_eq!(q.len(), 4);
        assert_eq!(q.peek_time(), Some(Instant::from_millis(1)));
        let order: Vec<u32> = core::iter::from_fn(|| q.pop()).map(|(_, e)| link_of(&e)).collect();
        assert_eq!(order, [1, 3, 0, 2]);
        assert_eq!(q.peek_time(), None);
    }
}
