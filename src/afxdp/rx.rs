//! Receiving: take a batch from the RX ring, lend each frame to the caller, give the frames
//! back to the fill ring.

use std::os::fd::AsRawFd;

use super::{BindMode, Port, sys};

impl Port {
    /// Takes up to `max` frames (at most the configured `rx_batch`) from the RX ring, calls
    /// `frame` with each, oldest first, then returns them to the fill ring. Returns how many
    /// frames were handed up (0: the ring was empty).
    ///
    /// The views are valid only during the call; copy out what must outlive it.
    pub(crate) fn recv(
        &mut self,
        max: usize,
        mut frame: impl FnMut(&[u8]),
    ) -> anyhow::Result<usize> {
        self.rx_batch.set_limit(max);
        // SAFETY: the descriptors point into `self.umem`, which outlives every frame taken
        // here: each is returned to the UMEM's free list below, before this call ends, and
        // `self.umem` is dropped after the rings and the socket (field order).
        let received = unsafe { self.rx.recv(&self.umem, &mut self.rx_batch) };
        while let Some(packet) = self.rx_batch.pop() {
            frame(&packet);
            self.umem.free_packet(packet);
        }
        let received_u32 = u32::try_from(received).unwrap_or(u32::MAX);
        self.rx_in_kernel = self.rx_in_kernel.saturating_sub(received_u32);
        self.counters.rx = self.counters.rx.wrapping_add(received as u64);
        if received > 0 {
            self.refill()?;
        }
        Ok(received)
    }

    /// Tops the fill ring up to the RX share of the frames. In zero-copy mode the driver may
    /// have stopped for want of buffers and needs a wake-up; in copy mode the kernel reads
    /// the fill ring as frames arrive and needs none.
    pub(super) fn refill(&mut self) -> anyhow::Result<()> {
        let want = self.budget.rx.saturating_sub(self.rx_in_kernel) as usize;
        if want == 0 {
            return Ok(());
        }
        // SAFETY: the frames enqueued belong to `self.umem`, which outlives the socket (field
        // order); they come back only through the RX ring, into `recv` above.
        let queued = unsafe { self.fill.enqueue(&mut self.umem, want, false) }
            .map_err(|e| anyhow::anyhow!("afxdp: fill ring: {e}"))?;
        self.rx_in_kernel += u32::try_from(queued).unwrap_or(u32::MAX);
        if queued < want {
            self.counters.fill_short = self.counters.fill_short.wrapping_add(1);
        }
        if queued > 0
            && self.mode == BindMode::ZeroCopy
            && let Err(e) = sys::wake_fill(self.socket.as_raw_fd())
            && !sys::is_transient(&e)
        {
            return Err(anyhow::Error::new(e).context("afxdp: waking the fill ring"));
        }
        Ok(())
    }
}
