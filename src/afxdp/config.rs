//! How a [`super::Port`] is sized and bound, and how its UMEM frames are split between
//! receiving and sending.

use std::fmt;

/// The size of one UMEM frame. The kernel reserves the first 256 bytes of each
/// (`XDP_PACKET_HEADROOM`), so a frame carries at most its size less 256.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FrameSize {
    /// 2048 bytes: frames up to 1792 bytes, enough for a 1500-byte MTU.
    TwoK,
    /// 4096 bytes (a page): frames up to 3840 bytes (ENA's XDP limit is an MTU of 3498).
    FourK,
}

/// Bytes of a frame around a segment's data at most: Ethernet with a VLAN tag (18), IPv6 (40)
/// and TCP with full options (60).
pub(crate) const FRAME_OVERHEAD: usize = 18 + 40 + 60;

impl FrameSize {
    /// The frame size in bytes.
    pub(crate) fn bytes(self) -> u32 {
        match self {
            FrameSize::TwoK => 2048,
            FrameSize::FourK => 4096,
        }
    }

    /// The bytes a frame can carry: the size less the kernel's `XDP_PACKET_HEADROOM`.
    pub(crate) fn capacity(self) -> usize {
        self.bytes() as usize - xdp::libc::xdp::XDP_PACKET_HEADROOM as usize
    }

    pub(super) fn to_xdp(self) -> xdp::umem::FrameSize {
        match self {
            FrameSize::TwoK => xdp::umem::FrameSize::TwoK,
            FrameSize::FourK => xdp::umem::FrameSize::FourK,
        }
    }
}

/// Which bind mode to ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BindRequest {
    /// Zero-copy if the driver supports it, copy otherwise (the kernel decides).
    Auto,
    /// Copy mode: works with any driver, and with generic XDP.
    Copy,
    /// Zero-copy only: binding fails where the driver cannot.
    ZeroCopy,
}

/// The bind mode obtained.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BindMode {
    /// The NIC DMAs straight into the UMEM.
    ZeroCopy,
    /// The kernel copies each frame between its buffers and the UMEM.
    Copy,
}

impl fmt::Display for BindMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BindMode::ZeroCopy => "zero-copy",
            BindMode::Copy => "copy",
        })
    }
}

/// The configuration of one AF_XDP socket and its UMEM.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PortConfig {
    /// The UMEM frame size.
    pub(crate) frame_size: FrameSize,
    /// The number of UMEM frames, split between RX and TX (see [`FrameBudget`]).
    pub(crate) frames: u32,
    /// RX ring entries (a power of two).
    pub(crate) rx_ring: u32,
    /// TX ring entries (a power of two).
    pub(crate) tx_ring: u32,
    /// Fill ring entries (a power of two).
    pub(crate) fill_ring: u32,
    /// Completion ring entries (a power of two).
    pub(crate) completion_ring: u32,
    /// The bind mode to ask for.
    pub(crate) zero_copy: BindRequest,
    /// Bind with `XDP_USE_NEED_WAKEUP`. Only `true` is supported: the `xdp` crate sets the
    /// flag together with the rings that can wake the kernel, and this module uses those.
    pub(crate) need_wakeup: bool,
    /// The most frames one [`super::Port::recv`] call takes from the RX ring.
    pub(crate) rx_batch: usize,
}

impl Default for PortConfig {
    fn default() -> Self {
        PortConfig {
            frame_size: FrameSize::TwoK,
            frames: 4096,
            rx_ring: 2048,
            tx_ring: 2048,
            fill_ring: 2048,
            completion_ring: 2048,
            zero_copy: BindRequest::Auto,
            need_wakeup: true,
            rx_batch: 512,
        }
    }
}

/// How the UMEM frames are split. RX frames live in the fill and RX rings (and, for the
/// length of one `recv` call, in user space); TX frames are free, being written, queued or in
/// flight until the completion ring returns them. Neither side can take the other's frames,
/// so a burst of sends never starves the fill ring and a flood of receives never blocks TX.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FrameBudget {
    /// Frames kept in the kernel's hands for receiving (the fill ring's target level).
    pub(crate) rx: u32,
    /// Frames user space may hold for sending at once.
    pub(crate) tx: u32,
}

impl PortConfig {
    /// Checks the sizes and returns how the frames are split: half for RX (at most what the
    /// fill ring holds), the rest for TX (at most what the TX and completion rings hold).
    pub(crate) fn budget(&self) -> anyhow::Result<FrameBudget> {
        anyhow::ensure!(self.need_wakeup, "afxdp: need_wakeup: false is not supported");
        for (name, entries) in [
            ("rx_ring", self.rx_ring),
            ("tx_ring", self.tx_ring),
            ("fill_ring", self.fill_ring),
            ("completion_ring", self.completion_ring),
        ] {
            anyhow::ensure!(
                entries.is_power_of_two(),
                "afxdp: {name} must be a power of two, not {entries}"
            );
        }
        anyhow::ensure!(self.frames >= 2, "afxdp: frames must be at least 2");
        anyhow::ensure!(self.rx_batch > 0, "afxdp: rx_batch must be at least 1");
        let rx = (self.frames / 2).min(self.fill_ring);
        let tx = (self.frames - rx).min(self.tx_ring).min(self.completion_ring);
        Ok(FrameBudget { rx, tx })
    }
}
