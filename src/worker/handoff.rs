//! Cross-worker hand-off (ARCHITECTURE.md, "Sharding"): a frame received by one worker and
//! owned by another is copied into a bounded lock-free queue from the receiver to the owner,
//! one queue per ordered pair of workers, so each has exactly one producer and one consumer.
//! A worker about to sleep says so; a producer that finds its consumer asleep wakes it with
//! one datagram on the consumer's wake-up socket, which the consumer's `poll` watches.

use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixDatagram;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crossbeam_queue::ArrayQueue;

/// The largest frame handed over: a 1500-byte MTU frame with a VLAN tag, and room to spare.
pub(crate) const MAX_FRAME: usize = 2048;

/// Frames queued per ordered pair of workers; past it, frames are dropped (and counted), as a
/// full NIC ring would drop them. TCP recovers.
const QUEUE_FRAMES: usize = 1024;

/// One frame in a queue.
struct Handed {
    len: u16,
    bytes: [u8; MAX_FRAME],
}

/// A worker's wake-up: the flag it raises before sleeping and its socket pair.
struct Wake {
    sleeping: AtomicBool,
    rx: UnixDatagram,
    tx: UnixDatagram,
}

/// Every queue and wake-up of an appliance, shared by its workers.
pub(crate) struct Handoff {
    workers: usize,
    /// `queues[from * workers + to]`.
    queues: Vec<ArrayQueue<Handed>>,
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
        let queues = (0..workers * workers).map(|_| ArrayQueue::new(QUEUE_FRAMES)).collect();
        let mut wakes = Vec::with_capacity(workers);
        for _ in 0..workers {
            let (rx, tx) = UnixDatagram::pair()?;
            rx.set_nonblocking(true)?;
            tx.set_nonblocking(true)?;
            wakes.push(Wake { sleeping: AtomicBool::new(false), rx, tx });
        }
        Ok(Arc::new(Handoff { workers, queues, wakes }))
    }

    /// Copies `frame` to worker `to`'s queue from `from`; false if it is full or too long.
    pub(crate) fn send(&self, from: usize, to: usize, frame: &[u8]) -> bool {
        let (Some(queue), Ok(len)) =
            (self.queues.get(from * self.workers + to), frame.len().try_into())
        else {
            return false;
        };
        if frame.len() > MAX_FRAME {
            return false;
        }
        let mut handed = Handed { len, bytes: [0; MAX_FRAME] };
        handed.bytes[..frame.len()].copy_from_slice(frame);
        if queue.push(handed).is_err() {
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

    /// Hands every frame queued for worker `to` to `handle`; returns how many.
    pub(crate) fn drain(&self, to: usize, mut handle: impl FnMut(&[u8])) -> usize {
        let mut count = 0;
        for from in 0..self.workers {
            let Some(queue) = self.queues.get(from * self.workers + to) else {
                continue;
            };
            while let Some(handed) = queue.pop() {
                handle(&handed.bytes[..usize::from(handed.len)]);
                count += 1;
            }
        }
        count
    }

    /// Marks worker `to` asleep (or awake) for producers; returns the socket its `poll` must
    /// watch. After marking asleep the worker must drain once more before sleeping, so a
    /// frame queued just before the flag was seen is not left waiting.
    pub(crate) fn set_sleeping(&self, to: usize, sleeping: bool) -> Option<RawFd> {
        let wake = self.wakes.get(to)?;
        wake.sleeping.store(sleeping, Ordering::Release);
        if !sleeping {
            let mut buf = [0u8; 64];
            while wake.rx.recv(&mut buf).is_ok() {}
        }
        Some(wake.rx.as_raw_fd())
    }
}
