//! Sending: lend a free UMEM frame to write in place, queue it, put the queue on the TX ring
//! and wake the kernel once per batch, take completed frames back.

use std::os::fd::AsRawFd;

use xdp::Packet;
use xdp::slab::Slab;

use super::{Port, sys};

/// A free UMEM frame lent for writing one outgoing frame. [`TxSlot::submit`] queues it for
/// the next [`Port::kick`]; dropping it unsubmitted returns the frame to the free list.
pub(crate) struct TxSlot<'a> {
    port: &'a mut Port,
    packet: Option<Packet>,
}

impl std::fmt::Debug for TxSlot<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TxSlot").field("capacity", &self.port.frame_capacity).finish()
    }
}

impl TxSlot<'_> {
    /// The whole frame, to write from its first byte (its old contents are unspecified).
    pub(crate) fn buf(&mut self) -> &mut [u8] {
        match self.packet.as_mut() {
            Some(packet) => packet,
            None => &mut [],
        }
    }

    /// Queues the first `len` bytes of [`TxSlot::buf`] for sending.
    ///
    /// # Panics
    /// If `len` is larger than the buffer: the caller's mistake.
    pub(crate) fn submit(mut self, len: usize) {
        let Some(mut packet) = self.packet.take() else { return };
        let full = packet.len();
        assert!(len <= full, "afxdp: submitting {len} bytes of a {full}-byte frame");
        let shrink = i32::try_from(full - len).expect("frames are at most 4 KB");
        packet.adjust_tail(-shrink).expect("shrinking within the frame");
        let refused = self.port.tx_queue.push(packet);
        // The queue holds the whole TX share, and every slot comes out of that share.
        debug_assert!(refused.is_none(), "the TX queue holds every TX frame");
        if let Some(packet) = refused {
            self.port.release_tx(packet);
        }
    }
}

impl Drop for TxSlot<'_> {
    fn drop(&mut self) {
        if let Some(packet) = self.packet.take() {
            self.port.release_tx(packet);
        }
    }
}

impl Port {
    /// Lends a free frame for the next outgoing frame; `None` when every TX frame is in use
    /// (queued, on the ring or in flight): [`Port::kick`] to send and reclaim, then retry.
    pub(crate) fn tx_slot(&mut self) -> Option<TxSlot<'_>> {
        if self.tx_in_use >= self.budget.tx {
            self.reclaim();
        }
        if self.tx_in_use >= self.budget.tx {
            self.counters.tx_no_frame = self.counters.tx_no_frame.wrapping_add(1);
            return None;
        }
        // SAFETY: the frame belongs to `self.umem`, which outlives it: it goes back to the
        // free list through `release_tx` or, once sent, through the completion ring, and
        // `self.umem` is dropped after the rings and the socket (field order).
        let mut packet = unsafe { self.umem.alloc() }?;
        self.tx_in_use += 1;
        let capacity = i32::try_from(packet.capacity()).expect("frames are at most 4 KB");
        if packet.adjust_tail(capacity).is_err() {
            // Not reached: a fresh frame is empty and grows to exactly its capacity.
            self.release_tx(packet);
            return None;
        }
        Some(TxSlot { port: self, packet: Some(packet) })
    }

    /// Puts the submitted frames on the TX ring and wakes the kernel (one `sendto`, repeated
    /// while the kernel reports a partial send), then reclaims completed frames. Frames the
    /// full TX ring cannot take stay queued for the next kick. Returns the frames put on the
    /// ring.
    pub(crate) fn kick(&mut self) -> anyhow::Result<usize> {
        let queued = self.tx_queue.len();
        // SAFETY: the frames come from `self.umem` (`tx_slot`), which outlives the socket;
        // they return to it through the completion ring (`reclaim`).
        let sent = unsafe { self.tx.send(&mut self.tx_queue, false) }
            .map_err(|e| anyhow::anyhow!("afxdp: tx ring: {e}"))?;
        self.counters.tx = self.counters.tx.wrapping_add(sent as u64);
        if sent < queued {
            self.counters.tx_ring_full = self.counters.tx_ring_full.wrapping_add(1);
        }
        if sent > 0 || self.kick_owed {
            self.wake_tx()?;
        }
        self.reclaim();
        Ok(sent)
    }

    /// Wakes the kernel to send the TX ring. Copy mode sends a bounded batch per call and
    /// says `EAGAIN` when more is left: call again a few times, reclaiming completions in
    /// between (a full completion ring also says `EAGAIN`); what is still left is sent by the
    /// next kick.
    fn wake_tx(&mut self) -> anyhow::Result<()> {
        let attempts = self.budget.tx / 32 + 2;
        for _ in 0..attempts {
            match sys::kick_tx(self.socket.as_raw_fd()) {
                Ok(()) => {
                    self.kick_owed = false;
                    return Ok(());
                }
                Err(e) if sys::is_transient(&e) => self.reclaim(),
                Err(e) => return Err(anyhow::Error::new(e).context("afxdp: sendto")),
            }
        }
        self.kick_owed = true;
        self.counters.kick_again = self.counters.kick_again.wrapping_add(1);
        Ok(())
    }

    /// Takes completed TX frames back into the free list.
    fn reclaim(&mut self) {
        let done = self.completion.dequeue(&mut self.umem, self.budget.tx as usize);
        let done_u32 = u32::try_from(done).unwrap_or(u32::MAX);
        self.tx_in_use = self.tx_in_use.saturating_sub(done_u32);
        self.counters.completions = self.counters.completions.wrapping_add(done as u64);
    }

    /// Returns an unsent TX frame to the free list.
    fn release_tx(&mut self, packet: Packet) {
        self.umem.free_packet(packet);
        self.tx_in_use = self.tx_in_use.saturating_sub(1);
    }

    /// TX frames out of the free list: being written, queued, on the ring or in flight.
    pub(crate) fn tx_in_use(&self) -> u32 {
        self.tx_in_use
    }
}
