//! What a [`super::Port`] counts: its own ring work, and the kernel's view of the socket
//! (`XDP_STATISTICS`).

use std::fmt;
use std::ops::AddAssign;

use netreaktor_pipeline::shard::Reason;

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

impl AddAssign for KernelCounters {
    fn add_assign(&mut self, o: KernelCounters) {
        self.rx_dropped += o.rx_dropped;
        self.rx_ring_full += o.rx_ring_full;
        self.fill_ring_empty += o.fill_ring_empty;
        self.rx_invalid_descs += o.rx_invalid_descs;
        self.tx_invalid_descs += o.tx_invalid_descs;
        self.tx_ring_empty += o.tx_ring_empty;
    }
}

impl KernelCounters {
    /// Each counter with its [`SocketEvent`], in export order.
    pub(crate) fn each(&self) -> [(SocketEvent, u64); 6] {
        use SocketEvent::*;
        [
            (RxDropped, self.rx_dropped),
            (RxRingFull, self.rx_ring_full),
            (FillRingEmpty, self.fill_ring_empty),
            (RxInvalidDescs, self.rx_invalid_descs),
            (TxInvalidDescs, self.tx_invalid_descs),
            (TxRingEmpty, self.tx_ring_empty),
        ]
    }
}

/// What the kernel counts on an AF_XDP socket (`XDP_STATISTICS`), as the label of
/// `netreaktor_afxdp_socket_events_total` (docs/operations.md, "Metrics").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum SocketEvent {
    /// Frames the kernel dropped for reasons other than a full RX ring.
    RxDropped,
    /// Frames dropped because the RX ring was full: the worker fell behind.
    RxRingFull,
    /// Times the kernel found the fill ring empty: no frame to receive into.
    FillRingEmpty,
    /// RX descriptors the kernel found invalid.
    RxInvalidDescs,
    /// TX descriptors the kernel found invalid.
    TxInvalidDescs,
    /// Times the kernel found the TX ring empty when woken to send.
    TxRingEmpty,
}

impl SocketEvent {
    /// Every event, in export order.
    pub(crate) const ALL: [SocketEvent; 6] = [
        SocketEvent::RxDropped,
        SocketEvent::RxRingFull,
        SocketEvent::FillRingEmpty,
        SocketEvent::RxInvalidDescs,
        SocketEvent::TxInvalidDescs,
        SocketEvent::TxRingEmpty,
    ];
}

impl Reason for SocketEvent {
    type Array = [u64; 6];
    const EACH: &'static [Self] = &Self::ALL;

    fn index(self) -> usize {
        self as usize
    }

    fn name(self) -> &'static str {
        match self {
            SocketEvent::RxDropped => "rx_dropped",
            SocketEvent::RxRingFull => "rx_ring_full",
            SocketEvent::FillRingEmpty => "fill_ring_empty",
            SocketEvent::RxInvalidDescs => "rx_invalid_descs",
            SocketEvent::TxInvalidDescs => "tx_invalid_descs",
            SocketEvent::TxRingEmpty => "tx_ring_empty",
        }
    }
}
