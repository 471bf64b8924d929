//! What a [`super::Port`] counts: its own ring work, and the kernel's view of the socket
//! (`XDP_STATISTICS`).

use std::fmt;

/// Counters kept by the port (plain integers: one port belongs to one worker thread).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct PortCounters {
    /// Frames taken from the RX ring.
    pub(crate) rx: u64,
    /// Frames handed to the TX ring.
    pub(crate) tx: u64,
    /// TX frames the completion ring returned.
    pub(crate) completions: u64,
    /// Kicks that left frames queued because the TX ring was full.
    pub(crate) tx_ring_full: u64,
    /// `tx_slot` calls refused: every TX frame was in use.
    pub(crate) tx_no_frame: u64,
    /// Refills that left the fill ring below its target (no free frame or no ring space).
    pub(crate) fill_short: u64,
    /// Kicks the kernel did not finish (`EAGAIN`, `EBUSY`, `ENOBUFS`): repeated next time.
    pub(crate) kick_again: u64,
}

/// The kernel's counters of the socket.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct KernelCounters {
    /// Frames dropped for other reasons.
    pub(crate) rx_dropped: u64,
    /// Frames dropped because the RX ring was full.
    pub(crate) rx_ring_full: u64,
    /// Times the kernel found the fill ring empty.
    pub(crate) fill_ring_empty: u64,
    /// RX descriptors the kernel found invalid.
    pub(crate) rx_invalid_descs: u64,
    /// TX descriptors the kernel found invalid.
    pub(crate) tx_invalid_descs: u64,
    /// Times the kernel found the TX ring empty.
    pub(crate) tx_ring_empty: u64,
}

impl From<xdp::libc::xdp::XdpStatistics> for KernelCounters {
    fn from(s: xdp::libc::xdp::XdpStatistics) -> Self {
        KernelCounters {
            rx_dropped: s.rx_dropped,
            rx_ring_full: s.rx_ring_full,
            fill_ring_empty: s.rx_fill_ring_empty_descs,
            rx_invalid_descs: s.rx_invalid_descs,
            tx_invalid_descs: s.tx_invalid_descs,
            tx_ring_empty: s.tx_ring_empty_descs,
        }
    }
}

impl fmt::Display for PortCounters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "rx={} tx={} completions={} tx_ring_full={} tx_no_frame={} fill_short={} \
             kick_again={}",
            self.rx,
            self.tx,
            self.completions,
            self.tx_ring_full,
            self.tx_no_frame,
            self.fill_short,
            self.kick_again
        )
    }
}

impl fmt::Display for KernelCounters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "rx_dropped={} rx_ring_full={} fill_ring_empty={} rx_invalid={} tx_invalid={} \
             tx_ring_empty={}",
            self.rx_dropped,
            self.rx_ring_full,
            self.fill_ring_empty,
            self.rx_invalid_descs,
            self.tx_invalid_descs,
            self.tx_ring_empty
        )
    }
}
