//! Cross-worker hand-off (docs/architecture.md, "`worker/`"): a frame received by one worker and
//! owned by another is copied into a bounded lock-free queue from the receiver to the owner,
//! one queue per ordered pair of workers, so each has exactly one producer and one consumer.
//! Frame buffers are recycled through a second queue per pair, back from the consumer to the
//! producer, so after warm-up a hand-off allocates nothing and copies the frame once.
//!
//! A worker about to sleep says so; a producer that finds its consumer asleep wakes it with
//! one datagram on the consumer's wake-up socket, which the consumer's `poll` watches.

use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixDatagram;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crossbeam_queue::ArrayQueue;

/// The largest frame handed over: a 4 KiB UMEM frame's worth.
pub(crate) const MAX_FRAME: usize = 4096;

/// Frames queued per ordered pair of workers; past it, frames are dropped (and counted), as a
/// full NIC ring would drop them. TCP recovers.
const QUEUE_FRAMES: usize = 4096;

/// One frame in a queue, and how many workers have passed it on.
struct Handed {
    len: usize,
    hops: u8,
    bytes: Box<[u8; MAX_FRAME]>,
}

/// A worker's wake-up: the flag it raises before sleeping and its socket pair.
struct Wake {
    sleeping: AtomicBool,
    rx: UnixDatagram,
    tx: UnixDatagram,
}

/// One ordered pair's queue and its returned buffers.
struct Pair {
    queue: ArrayQueue<Handed>,
    spare: ArrayQueue<Box<[u8; MAX_FRAME]>>,
}

/// Every queue and wake-up of an appliance, shared by its workers.
pub(crate) struct Handoff {
    workers: usize,
    /// `pairs[from * workers + to]`.
    pairs: Vec<Pair>,
    wakes: Vec<Wake>,
}

impl std::fmt::Debug for Handoff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handoff").field("workers", &self.workers).finish_non_exhaustive()
    }
}

impl Handoff {
    /// Queues and wake-ups for `workers` workers.
    pub(crate) fn new(workers: usize) -> std::io::Result<Arc<Handoff>> {
        let pairs = (0..workers * workers)
            .map(|_| Pair {
                queue: ArrayQueue::new(QUEUE_FRAMES),
                spare: ArrayQueue::new(QUEUE_FRAMES),
            })
            .collect();
        let mut wakes = Vec::with_capacity(workers);
        for _ in 0..workers {
            let (rx, tx) = UnixDatagram::pair()?;
            rx.set_nonblocking(true)?;
            tx.set_nonblocking(true)?;
            wakes.push(Wake { sleeping: AtomicBool::new(false), rx, tx });
        }
        Ok(Arc::new(Handoff { workers, pairs, wakes }))
    }

    /// Copies `frame` to worker `to`'s queue from `from`, marked as passed on `hops` times;
    /// false if the queue is full or the frame too long.
    pub(crate) fn send(&self, from: usize, to: usize, frame: &[u8], hops: u8) -> bool {
        let Some(pair) = self.pairs.get(from * self.workers + to) else {
            return false;
        };
        if frame.len() > MAX_FRAME || pair.queue.is_full() {
            return false;
        }
        let mut bytes = pair.spare.pop().unwrap_or_else(|| Box::new([0; MAX_FRAME]));
        bytes[..frame.len()].copy_from_slice(frame);
        if pair.queue.push(Handed { len: frame.len(), hops, bytes }).is_err() {
            return false;
        }
        if let Some(wake) = self.wakes.get(to)
            && wake.sleeping.load(Ordering::Acquire)
        {
            // A full socket buffer means a wake-up is already pending: ignore the error.
            let _ = wake.tx.send(&[1]);
        }
        true
    }

    /// Hands every frame queued for worker `to` to `handle` with its hop count; returns how
    /// many.
    pub(crate) fn drain(&self, to: usize, mut handle: impl FnMut(&[u8], u8)) -> usize {
        let mut count = 0;
        for from in 0..self.workers {
            let Some(pair) = self.pairs.get(from * self.workers + to) else {
                continue;
            };
            while let Some(handed) = pair.queue.pop() {
                handle(&handed.bytes[..handed.len], handed.hops);
                // A full spare queue drops the buffer; the producer allocates another.
                let _ = pair.spare.push(handed.bytes);
                count += 1;
            }
        }
        count
    }

    /// The socket worker `to`'s `poll` must watch while it sleeps.
    pub(crate) fn wake_fd(&self, to: usize) -> Option<RawFd> {
        self.wakes.get(to).map(|wake| wake.rx.as_raw_fd())
    }

    /// Marks worker `to` asleep (or awake) for producers. After marking asleep the worker
    /// must drain once more before sleeping, so a frame queued just before the flag was seen
    /// is not left waiting.
    pub(crate) fn set_sleeping(&self, to: usize, sleeping: bool) {
        let Some(wake) = self.wakes.get(to) else {
            return;
        };
        wake.sleeping.store(sleeping, Ordering::Release);
        if !sleeping {
            let mut buf = [0u8; 64];
            while wake.rx.recv(&mut buf).is_ok() {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_reach_their_worker_with_their_hop_count_and_buffers_are_reused() {
        let handoff = Handoff::new(3).unwrap();
        assert!(handoff.send(0, 2, b"first", 1));
        assert!(handoff.send(1, 2, b"second", u8::MAX));
        let mut got = Vec::new();
        let n = handoff.drain(2, |frame, hops| got.push((frame.to_vec(), hops)));
        assert_eq!(n, 2);
        assert_eq!(got, [(b"first".to_vec(), 1), (b"second".to_vec(), u8::MAX)]);
        assert_eq!(handoff.drain(2, |_, _| panic!("drained twice")), 0);
        assert_eq!(handoff.pairs[2].spare.len(), 1, "the buffer went back to its producer");
        assert!(handoff.send(0, 2, b"third", 0));
        assert_eq!(handoff.pairs[2].spare.len(), 0, "and was taken again");
    }

    #[test]
    fn a_full_queue_or_an_oversized_frame_is_refused() {
        let handoff = Handoff::new(2).unwrap();
        assert!(!handoff.send(0, 1, &[0u8; MAX_FRAME + 1], 0));
        for _ in 0..QUEUE_FRAMES {
            assert!(handoff.send(0, 1, &[1u8; 60], 0));
        }
        assert!(!handoff.send(0, 1, &[1u8; 60], 0), "the queue is full");
        assert!(!handoff.send(0, 7, &[1u8; 60], 0), "no such worker");
        assert_eq!(handoff.drain(1, |_, _| {}), QUEUE_FRAMES);
    }

    #[test]
    fn a_sleeping_worker_is_woken_by_a_hand_off() {
        let handoff = Handoff::new(2).unwrap();
        let fd = handoff.wake_fd(1).unwrap();
        handoff.set_sleeping(1, true);
        assert!(handoff.send(0, 1, b"x", 0));
        let ready = crate::afxdp::wait_readable(&[fd], std::time::Duration::from_secs(5)).unwrap();
        assert_eq!(ready, 1, "the wake-up socket became readable");
        handoff.set_sleeping(1, false);
        let ready = crate::afxdp::wait_readable(&[fd], std::time::Duration::ZERO).unwrap();
        assert_eq!(ready, 0, "waking drained the wake-up socket");
    }
}
