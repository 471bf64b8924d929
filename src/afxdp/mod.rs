//! AF_XDP: one socket and one UMEM per (interface, rx queue), through the `xdp` crate.
//!
//! A [`Port`] is what a worker owns for one queue. Its API only moves frames between the
//! rings and the caller, who does the packet work (STYLE 9):
//! - receive: [`Port::recv`] hands up to `max` received frames, one at a time, as `&[u8]`
//!   views into the UMEM, then gives the frames back to the fill ring (one refill per batch);
//! - send: [`Port::tx_slot`] lends a free UMEM frame as `&mut [u8]` to write a frame in
//!   place, [`TxSlot::submit`] queues it, and one [`Port::kick`] per batch puts the queue on
//!   the TX ring and wakes the kernel (`sendto`, as `XDP_USE_NEED_WAKEUP` asks), then takes
//!   the completed frames back into the TX free list.
//!
//! No call allocates once the port is open. The frames are split between RX and TX
//! ([`FrameBudget`]) so neither side can starve the other.
//!
//! The steering program sends a queue's frames to its socket once [`Port::register`] has put
//! the socket in the program's XSKMAP. Copy or zero-copy is the socket's bind mode
//! ([`Port::mode`]); native or generic is the XDP program's attach mode (`crate::xdp`).
//!
//! Checksums: a frame is handed up exactly as the kernel had it. Where the sender left the
//! TCP checksum to offload (`CHECKSUM_PARTIAL`: a local sender over veth, as in the tests),
//! the checksum field holds only the pseudo-header sum, and verifying it fails; turn TX
//! checksum offload off on such a peer (`ethtool -K IF tx off`) or trust the checksum. Frames
//! sent through [`Port::kick`] carry the checksums the caller wrote (no TX offload yet).
//!
//! The `xdp` crate leaves the lifetime of frames to its caller (its ring calls are `unsafe`),
//! and does not expose the bind mode: `unsafe` is allowed here and in [`sys`] only, every
//! block with a `// SAFETY:` comment. A port is not `Send`: a worker opens its own.

mod batch;
mod config;
mod counters;
#[allow(unsafe_code)]
mod rx;
#[allow(unsafe_code)]
mod sys;
#[allow(unsafe_code)]
mod tx;

#[cfg(test)]
mod tests;

use std::ffi::CString;
use std::fmt;
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use xdp::socket::{PollTimeout, XdpSocket, XdpSocketBuilder};
use xdp::umem::{Umem, UmemCfgBuilder};
use xdp::{CompletionRing, RingConfigBuilder, RxRing, WakableFillRing, WakableTxRing};

use batch::Batch;
// The workers and the run command use these next; until then only the tests do.
#[cfg_attr(not(test), allow(unused_imports))]
pub(crate) use config::{
    BindMode, BindRequest, FRAME_OVERHEAD, FrameBudget, FrameSize, PortConfig,
};
pub(crate) use counters::{KernelCounters, PortCounters, SocketEvent};
pub(crate) use sys::wait_readable;
#[cfg_attr(not(test), allow(unused_imports))]
pub(crate) use tx::TxSlot;

/// One AF_XDP socket bound to one rx queue, with its UMEM and its four rings.
///
/// Fields drop in declaration order: the rings are unmapped, then the socket is closed, then
/// the UMEM is unmapped (the `xdp` crate asks that the UMEM outlive the socket). The frames
/// held in the batches are plain pointers into the UMEM and are never read after that.
pub(crate) struct Port {
    fill: WakableFillRing,
    rx: RxRing,
    completion: CompletionRing,
    tx: WakableTxRing,
    socket: XdpSocket,
    umem: Umem,
    /// Frames taken from the RX ring during one `recv`.
    rx_batch: Batch,
    /// Frames submitted and not yet on the TX ring.
    tx_queue: Batch,
    budget: FrameBudget,
    /// RX frames in the kernel's hands (fill ring and RX ring).
    rx_in_kernel: u32,
    /// TX frames out of the free list (being written, queued, on the ring or in flight).
    tx_in_use: u32,
    /// The last kick was not finished: kick again even with nothing new.
    kick_owed: bool,
    mode: BindMode,
    /// Bytes a frame can carry: the frame size less the kernel's `XDP_PACKET_HEADROOM`.
    frame_capacity: usize,
    interface: String,
    queue: u32,
    counters: PortCounters,
}

impl fmt::Debug for Port {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Port")
            .field("interface", &self.interface)
            .field("queue", &self.queue)
            .field("mode", &self.mode)
            .field("budget", &self.budget)
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

impl Port {
    /// Creates the UMEM and the socket, binds it to rx queue `queue` of `interface` (in this
    /// thread's network namespace) and fills the fill ring. [`Port::mode`] tells the bind
    /// mode obtained.
    pub(crate) fn open(interface: &str, queue: u32, config: &PortConfig) -> anyhow::Result<Port> {
        // The kernel frees a closed socket's hold on its queue a little later (deferred
        // work): a socket reopened at once, as by a restarted worker, may find it busy.
        let deadline = Instant::now() + BUSY_RETRY;
        loop {
            match Port::open_once(interface, queue, config) {
                Err(e) if is_busy(&e) && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                result => return result,
            }
        }
    }

    fn open_once(interface: &str, queue: u32, config: &PortConfig) -> anyhow::Result<Port> {
        let budget = config.budget()?;
        let ifindex = interface_index(interface)?;
        let umem = map_umem(config)?;
        let mut builder = XdpSocketBuilder::new().context("afxdp: socket")?;
        let rings = ring_config(config)?;
        let (rings, mut flags) =
            builder.build_wakable_rings(&umem, rings).context("afxdp: setting up the rings")?;
        match config.zero_copy {
            BindRequest::Auto => {}
            BindRequest::Copy => flags.force_copy(),
            BindRequest::ZeroCopy => flags.force_zerocopy(),
        }
        let socket = builder.bind(ifindex, queue, flags).with_context(|| {
            format!("afxdp: binding to {interface} queue {queue} ({:?})", config.zero_copy)
        })?;
        let zero_copy = sys::is_zero_copy(socket.as_raw_fd()).context("afxdp: XDP_OPTIONS")?;
        let (Some(rx), Some(tx)) = (rings.rx_ring, rings.tx_ring) else {
            return Err(anyhow!("afxdp: the crate built no rx or tx ring"));
        };
        let mut port = Port {
            fill: rings.fill_ring,
            rx,
            completion: rings.completion_ring,
            tx,
            socket,
            umem,
            rx_batch: Batch::with_capacity(config.rx_batch),
            tx_queue: Batch::with_capacity(budget.tx as usize),
            budget,
            rx_in_kernel: 0,
            tx_in_use: 0,
            kick_owed: false,
            mode: if zero_copy { BindMode::ZeroCopy } else { BindMode::Copy },
            frame_capacity: config.frame_size.capacity(),
            interface: interface.to_owned(),
            queue,
            counters: PortCounters::default(),
        };
        port.refill()?;
        Ok(port)
    }

    /// Puts this socket in the steering program's XSKMAP for its queue: from now on the
    /// program redirects the queue's steered frames here.
    pub(crate) fn register(&self, steering: &mut crate::xdp::Steering) -> anyhow::Result<()> {
        steering.bind_queue(self.queue, self)
    }

    /// The bind mode obtained.
    pub(crate) fn mode(&self) -> BindMode {
        self.mode
    }

    /// The interface and rx queue this port is bound to.
    pub(crate) fn binding(&self) -> (&str, u32) {
        (&self.interface, self.queue)
    }

    /// How the frames are split between RX and TX.
    pub(crate) fn budget(&self) -> FrameBudget {
        self.budget
    }

    /// The largest frame [`TxSlot::buf`] can hold.
    pub(crate) fn frame_capacity(&self) -> usize {
        self.frame_capacity
    }

    /// The port's own counters.
    pub(crate) fn counters(&self) -> PortCounters {
        self.counters
    }

    /// The kernel's counters of the socket (one `getsockopt`).
    pub(crate) fn kernel_counters(&self) -> anyhow::Result<KernelCounters> {
        let stats = self.socket.statistics().context("afxdp: XDP_STATISTICS")?;
        Ok(stats.into())
    }

    /// Waits up to `timeout` for frames on the RX ring; true if there are some.
    pub(crate) fn poll_rx(&self, timeout: Duration) -> std::io::Result<bool> {
        self.socket.poll_read(PollTimeout::new(Some(timeout)))
    }
}

impl AsRawFd for Port {
    fn as_raw_fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }
}

/// How long [`Port::open`] retries a bind the kernel refuses as busy.
const BUSY_RETRY: Duration = Duration::from_secs(1);

/// Whether `error` is the kernel's `EBUSY` (the queue still has a socket).
fn is_busy(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.raw_os_error() == Some(libc::EBUSY))
    })
}

fn interface_index(interface: &str) -> anyhow::Result<xdp::nic::NicIndex> {
    let name = CString::new(interface).context("afxdp: interface name has a NUL")?;
    xdp::nic::NicIndex::lookup_by_name(&name)
        .with_context(|| format!("afxdp: looking up {interface}"))?
        .ok_or_else(|| anyhow!("afxdp: no interface {interface}"))
}

fn map_umem(config: &PortConfig) -> anyhow::Result<Umem> {
    let umem = UmemCfgBuilder {
        frame_size: config.frame_size.to_xdp(),
        head_room: 0,
        frame_count: config.frames,
        ..UmemCfgBuilder::default()
    }
    .build()
    .context("afxdp: UMEM configuration")?;
    Umem::map(umem).context("afxdp: mapping the UMEM")
}

fn ring_config(config: &PortConfig) -> anyhow::Result<xdp::RingConfig> {
    RingConfigBuilder {
        rx_count: config.rx_ring,
        tx_count: config.tx_ring,
        fill_count: config.fill_ring,
        completion_count: config.completion_ring,
    }
    .build()
    .context("afxdp: ring sizes")
}
