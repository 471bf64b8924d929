//! Link identifiers, directions and the per-direction link configuration.

use core::fmt;

use netreaktor_pipeline::time::Duration;

use super::rng::PPM;

/// Identifies a link in one [`Network`](super::Network): the order in which it was added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LinkId(pub(crate) u32);

impl LinkId {
    /// The link's index: 0 for the first link added.
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for LinkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "link{}", self.0)
    }
}

/// One direction of a link. Endpoint A is the first one given to
/// [`Network::connect`](super::Network::connect).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Direction {
    /// From endpoint A to endpoint B.
    AToB,
    /// From endpoint B to endpoint A.
    BToA,
}

impl Direction {
    /// Both directions, A to B first.
    pub const ALL: [Direction; 2] = [Direction::AToB, Direction::BToA];

    /// 0 for A to B, 1 for B to A.
    pub const fn index(self) -> usize {
        match self {
            Direction::AToB => 0,
            Direction::BToA => 1,
        }
    }

    /// The other direction.
    pub const fn reverse(self) -> Direction {
        match self {
            Direction::AToB => Direction::BToA,
            Direction::BToA => Direction::AToB,
        }
    }
}

/// Which directions of a link an operation (cut, reconfigure) applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dirs {
    /// Only A to B.
    AToB,
    /// Only B to A.
    BToA,
    /// Both directions.
    Both,
}

impl Dirs {
    /// Whether `dir` is among these directions.
    pub const fn contains(self, dir: Direction) -> bool {
        matches!(
            (self, dir),
            (Dirs::Both, _) | (Dirs::AToB, Direction::AToB) | (Dirs::BToA, Direction::BToA)
        )
    }
}

impl From<Direction> for Dirs {
    fn from(dir: Direction) -> Self {
        match dir {
            Direction::AToB => Dirs::AToB,
            Direction::BToA => Dirs::BToA,
        }
    }
}

/// How much may wait in a link direction's FIFO queue behind the frame being serialized.
/// A frame that would exceed the limit is dropped (tail drop) and counted as
/// [`DropReason::Queue`](super::DropReason::Queue).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueueLimit {
    /// At most this many frames wait. `Packets(0)`: a frame is accepted only when the
    /// transmitter is idle.
    Packets(usize),
    /// The waiting frames hold at most this many bytes.
    Bytes(usize),
}

/// The behaviour of one direction of a link. Build it with the chained setters:
///
/// ```
/// use netreaktor_netsim::{LinkConfig, ms, percent};
/// let wifi = LinkConfig::new().delay(ms(20)).jitter(ms(2)).rate_mbps(100).loss_ppm(percent(1));
/// assert_eq!(wifi.loss_ppm, 10_000);
/// ```
///
/// What happens to a frame offered to a direction, in this order:
/// 1. the direction is cut: dropped ([`DropReason::Cut`](super::DropReason::Cut));
/// 2. its Ethernet payload (length minus 14) exceeds `mtu`: dropped (`Mtu`);
/// 3. the transmitter is busy and the queue is full: dropped (`Queue`), otherwise queued;
/// 4. it is serialized at `rate_bps`, FIFO (no time at all when the rate is unlimited);
/// 5. as it leaves the transmitter: lost with probability `loss_ppm` (`Loss`), otherwise
///    duplicated with probability `duplicate_ppm` (the copy arrives right after the
///    original), held back by `reorder_delay` with
///    probability `reorder_ppm`, and delayed by `delay` plus a uniform jitter in
///    `0..=jitter`. Jitter never reorders: a frame that is not held back arrives no earlier
///    than the one sent before it.
///
/// Random draws happen in that order (loss, duplicate, reorder, jitter), each only when its
/// parameter is non-zero, from the direction's own random stream.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LinkConfig {
    /// One-way propagation delay.
    pub delay: Duration,
    /// Largest extra delay, drawn uniformly per frame in `0..=jitter` microseconds.
    pub jitter: Duration,
    /// Transmitter rate in bits per second; 0 means unlimited (no serialization delay).
    pub rate_bps: u64,
    /// Limit of the FIFO queue in front of the transmitter.
    pub queue: QueueLimit,
    /// Probability, in parts per million, that a frame is lost on the wire.
    pub loss_ppm: u32,
    /// Probability, in parts per million, that a frame is held back by `reorder_delay`.
    pub reorder_ppm: u32,
    /// Extra delay of a held-back frame.
    pub reorder_delay: Duration,
    /// Probability, in parts per million, that a frame is delivered twice.
    pub duplicate_ppm: u32,
    /// Largest Ethernet payload in bytes (the IP MTU): a frame may be `mtu + 14` bytes long.
    pub mtu: usize,
}

/// The length of an Ethernet header without VLAN tag, not counted in the MTU.
pub const ETHERNET_HEADER_LEN: usize = 14;

impl Default for LinkConfig {
    fn default() -> Self {
        LinkConfig::new()
    }
}

impl LinkConfig {
    /// An ideal link: no delay, unlimited rate, no loss, MTU 1500, room for 1000 frames.
    pub const fn new() -> Self {
        LinkConfig {
            delay: Duration::ZERO,
            jitter: Duration::ZERO,
            rate_bps: 0,
            queue: QueueLimit::Packets(1_000),
            loss_ppm: 0,
            reorder_ppm: 0,
            reorder_delay: Duration::ZERO,
            duplicate_ppm: 0,
            mtu: 1_500,
        }
    }

    /// A data-centre LAN: 50 us, 10 Gbit/s.
    pub const fn lan() -> Self {
        LinkConfig::new().delay(Duration::from_micros(50)).rate_gbps(10)
    }

    /// A home Wi-Fi path to a server (rough figures, not a measurement): 15 ms, 2 ms
    /// jitter, 50 Mbit/s, 0.1% loss, 256 KB of queue.
    pub const fn wifi() -> Self {
        LinkConfig::new()
            .delay(Duration::from_millis(15))
            .jitter(Duration::from_millis(2))
            .rate_mbps(50)
            .loss_ppm(1_000)
            .queue_bytes(256 * 1024)
    }

    /// A cellular (LTE) path (rough figures, not a measurement): 35 ms, 5 ms jitter,
    /// 20 Mbit/s, 0.5% loss, 512 KB of queue (cellular networks buffer deeply).
    pub const fn cellular() -> Self {
        LinkConfig::new()
            .delay(Duration::from_millis(35))
            .jitter(Duration::from_millis(5))
            .rate_mbps(20)
            .loss_ppm(5_000)
            .queue_bytes(512 * 1024)
    }

    /// Sets the one-way propagation delay.
    pub const fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// Sets the largest jitter.
    pub const fn jitter(mut self, jitter: Duration) -> Self {
        self.jitter = jitter;
        self
    }

    /// Sets the rate in bits per second (0: unlimited).
    pub const fn rate_bps(mut self, bps: u64) -> Self {
        self.rate_bps = bps;
        self
    }

    /// Sets the rate in kilobits (1000 bits) per second.
    pub const fn rate_kbps(self, kbps: u64) -> Self {
        self.rate_bps(kbps.saturating_mul(1_000))
    }

    /// Sets the rate in megabits (10^6 bits) per second.
    pub const fn rate_mbps(self, mbps: u64) -> Self {
        self.rate_bps(mbps.saturating_mul(1_000_000))
    }

    /// Sets the rate in gigabits (10^9 bits) per second.
    pub const fn rate_gbps(self, gbps: u64) -> Self {
        self.rate_bps(gbps.saturating_mul(1_000_000_000))
    }

    /// Removes the rate limit.
    pub const fn unlimited_rate(self) -> Self {
        self.rate_bps(0)
    }

    /// Limits the queue to `frames` waiting frames.
    pub const fn queue_packets(mut self, frames: usize) -> Self {
        self.queue = QueueLimit::Packets(frames);
        self
    }

    /// Limits the queue to `bytes` bytes of waiting frames.
    pub const fn queue_bytes(mut self, bytes: usize) -> Self {
        self.queue = QueueLimit::Bytes(bytes);
        self
    }

    /// Sets the loss probability in parts per million (see [`percent`]).
    pub const fn loss_ppm(mut self, ppm: u32) -> Self {
        self.loss_ppm = ppm;
        self
    }

    /// Holds back `ppm` parts per million of the frames by an extra `extra_delay`.
    pub const fn reorder(mut self, ppm: u32, extra_delay: Duration) -> Self {
        self.reorder_ppm = ppm;
        self.reorder_delay = extra_delay;
        self
    }

    /// Sets the duplication probability in parts per million.
    pub const fn duplicate_ppm(mut self, ppm: u32) -> Self {
        self.duplicate_ppm = ppm;
        self
    }

    /// Sets the largest Ethernet payload (the IP MTU).
    pub const fn mtu(mut self, mtu: usize) -> Self {
        self.mtu = mtu;
        self
    }

    /// Time in nanoseconds to serialize `len` bytes: `ceil(len * 8 * 10^9 / rate)`, zero at an
    /// unlimited rate, saturating at `u64::MAX`.
    pub fn serialization_nanos(&self, len: usize) -> u64 {
        if self.rate_bps == 0 {
            return 0;
        }
        let bits = (len as u128).saturating_mul(8_000_000_000);
        let nanos = bits.div_ceil(u128::from(self.rate_bps));
        u64::try_from(nanos).unwrap_or(u64::MAX)
    }
}

/// `n` milliseconds.
pub const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// `n` microseconds.
pub const fn us(n: u64) -> Duration {
    Duration::from_micros(n)
}

/// `n` seconds.
pub const fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// `p` percent in parts per million, for the `*_ppm` settings: `percent(5) == 50_000`.
pub const fn percent(p: u32) -> u32 {
    p.saturating_mul(PPM / 100)
}
