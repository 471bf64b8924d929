//! The per-core workers (docs/architecture.md, "`worker/`"): one thread per configured core, pinned,
//! run to completion. Each owns AF_XDP ports on its queues of both interfaces, a
//! [`Shard`] (its connections, timers and the link-layer addresses it learnt, [`link`]);
//! nothing on the data path takes a lock or asks the kernel anything.
//!
//! One loop iteration is one batch: read the clock once; take what every RX ring holds
//! (frames owned by another worker go to it over [`handoff`]); take what other workers handed
//! over; run the timers due; write every packet the shard has for each side straight into
//! that side's UMEM frames, Ethernet header in front; kick the TX rings once. A worker with
//! nothing to do for its spin time (`idle_spin`, 50 µs by default) sleeps in `poll(2)` on
//! its sockets and its hand-off wake-up, until its next timer at the latest: on a shared
//! host a spinning worker would take the CPU from everything else. On dedicated cores a
//! longer spin saves the wake-up (a thread wake-up per request at low rates).

mod capture;
mod connlog;
pub(crate) mod handoff;
pub(crate) mod link;
pub(crate) mod metrics;
pub(crate) mod origins;
pub(crate) mod update;

use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use std::sync::mpsc::{Receiver, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant as WallInstant};

use anyhow::Context;
use netreaktor_pipeline::proxy::Side;
use netreaktor_pipeline::shard::{FrameOutcome, Route, Router, Shard, ShardConfig};
use netreaktor_pipeline::time::Instant;

use crate::afxdp::{BindMode, KernelCounters, Port, PortConfig, wait_readable};
use handoff::Handoff;
use link::{NextHopBoard, interface_mac};
use metrics::{LoopStats, WorkerMetrics};

/// Frames taken from one RX ring per batch. Large on purpose: under load a batch fills, and
/// the connections it touched send one ACK for all of it (as GRO makes a kernel stack do);
/// on the veth testbed 512 against 64 was 1.30 against 1.05 of HAProxy's download goodput,
/// because every ACK sent also runs the peer's stack in the worker's `sendto`. Light load
/// makes small batches, and ACKs as frequent as the engine's every-second-segment rule.
pub(crate) const BATCH: usize = 512;

/// The longest sleep: the stop flag is seen at least this often.
const MAX_SLEEP: Duration = Duration::from_millis(10);

/// How often counters are published.
const PUBLISH: Duration = Duration::from_millis(10);

/// The kernel's socket counters are read once per this many publications (once a second).
const SOCKET_STATS_EVERY: u64 = 100;

/// The hop count of a frame handed to its known owner: it is handled there, whatever it is.
const FINAL: u8 = u8::MAX;

/// Which interface a port serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// The client-facing interface.
    Client,
    /// The origin-facing interface (when it is not the client-facing one).
    Origin,
}

/// What a worker runs with.
#[derive(Debug)]
pub(crate) struct WorkerSpec {
    pub(crate) id: usize,
    /// The CPU to pin to.
    pub(crate) core: usize,
    /// The rx queues it owns on each interface.
    pub(crate) queues: Vec<u32>,
    pub(crate) client_if: String,
    /// `None`: one interface serves both sides.
    pub(crate) origin_if: Option<String>,
    pub(crate) shard: ShardConfig,
    pub(crate) port: PortConfig,
    pub(crate) handoff: Arc<Handoff>,
    pub(crate) metrics: Arc<WorkerMetrics>,
    /// The origins' next hops, kept by the control thread.
    pub(crate) next_hops: Arc<NextHopBoard>,
    pub(crate) stop: Arc<AtomicBool>,
    /// Set on SIGTERM: take no new connections, finish the ones held.
    pub(crate) drain: Arc<AtomicBool>,
    /// Write every frame received and sent to this pcapng file (per worker), up to the size.
    pub(crate) capture: Option<(std::path::PathBuf, u64)>,
    /// Log every connection's start and origin retries (log level debug).
    pub(crate) log_connections: bool,
    /// Connection-end lines (at info) per second at most; 0: none.
    pub(crate) log_ends_per_second: u64,
    /// How long it spins without work before it sleeps.
    pub(crate) idle_spin: Duration,
    /// The appliance's clock origin, shared by all workers.
    pub(crate) epoch: WallInstant,
    /// Reloads' new configurations, taken between batches ([`update`]).
    pub(crate) updates: Receiver<update::ShardUpdate>,
}

/// A socket the control thread puts in the steering program's XSKMAP.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Registration {
    pub(crate) role: Role,
    pub(crate) queue: u32,
    pub(crate) fd: RawFd,
    pub(crate) mode: BindMode,
}

/// One queue's ports.
struct QueuePorts {
    client: Port,
    origin: Option<Port>,
}

impl QueuePorts {
    fn side(&mut self, side: Side) -> &mut Port {
        match (side, &mut self.origin) {
            (Side::Origin, Some(origin)) => origin,
            _ => &mut self.client,
        }
    }
}

/// Starts worker `spec.id`. It reports its sockets (or why it could not open them) on
/// `ready`, then runs until `spec.stop` is set.
pub(crate) fn spawn(
    spec: WorkerSpec,
    ready: Sender<anyhow::Result<Vec<Registration>>>,
) -> std::io::Result<JoinHandle<anyhow::Result<()>>> {
    std::thread::Builder::new().name(format!("nr-worker-{}", spec.id)).spawn(move || {
        let mut worker = match Worker::open(spec) {
            Ok(worker) => worker,
            Err(error) => {
                let _ = ready.send(Err(anyhow::anyhow!("{error:#}")));
                return Err(error);
            }
        };
        let _ = ready.send(Ok(worker.registrations()));
        worker.run()
    })
}

struct Worker {
    /// What [`Worker::sleep`] polls, gathered once.
    sleep_fds: Vec<RawFd>,
    id: usize,
    workers: usize,
    ports: Vec<QueuePorts>,
    shard: Shard,
    router: Router,
    /// The origins' next hops, and the version last handed to the shard.
    next_hops: (Arc<NextHopBoard>, Option<u64>),
    handoff: Arc<Handoff>,
    metrics: Arc<WorkerMetrics>,
    stop: Arc<AtomicBool>,
    drain: Arc<AtomicBool>,
    /// The pcapng file every frame is written to, when capture is on.
    capture: Option<capture::Capture>,
    /// The shard was told to drain.
    draining: bool,
    /// The connection log (starts, retries, rate-limited ends).
    connlog: connlog::ConnLog,
    idle_spin: Duration,
    epoch: WallInstant,
    stats: LoopStats,
    /// Publications so far (the socket counters are read on some of them).
    publications: u64,
    /// Reloads' new configurations ([`update`]).
    updates: Receiver<update::ShardUpdate>,
    /// The origin cells it publishes into: its own handle of `metrics.origins`.
    origins: Arc<[origins::OriginCells]>,
}

impl Worker {
    fn open(spec: WorkerSpec) -> anyhow::Result<Worker> {
        let pinned = core_affinity::set_for_current(core_affinity::CoreId { id: spec.core });
        anyhow::ensure!(pinned, "worker {}: cannot pin to core {}", spec.id, spec.core);
        let mut ports = Vec::new();
        for &queue in &spec.queues {
            let client = Port::open(&spec.client_if, queue, &spec.port)?;
            let origin = match &spec.origin_if {
                Some(name) => Some(Port::open(name, queue, &spec.port)?),
                None => None,
            };
            ports.push(QueuePorts { client, origin });
        }
        anyhow::ensure!(!ports.is_empty(), "worker {}: no queue", spec.id);
        let client_mac = interface_mac(&spec.client_if)?;
        let origin_mac = match &spec.origin_if {
            Some(name) => interface_mac(name)?,
            None => client_mac,
        };
        let cfg = &spec.shard;
        let pipelines = cfg.services.iter().map(|s| s.name.clone()).collect();
        let router =
            Router::new(cfg.worker, cfg.workers, cfg.origin_sources, cfg.origin_ports.clone());
        let now = clock(spec.epoch, WallInstant::now());
        let sleep_fds = Worker::sleep_fds(&ports, &spec.handoff, spec.id);
        let capture = match &spec.capture {
            Some((path, max)) => {
                let path = capture::worker_path(path, spec.id);
                let mut names = vec![spec.client_if.as_str()];
                names.extend(spec.origin_if.as_deref());
                let file = capture::Capture::create(&path, *max, &names);
                let file = file.with_context(|| format!("capture file {}", path.display()))?;
                tracing::info!(target: "netreaktor", worker = spec.id, path = %path.display(), "capturing");
                Some(file)
            }
            None => None,
        };
        Ok(Worker {
            capture,
            sleep_fds,
            id: spec.id,
            workers: usize::from(cfg.workers.max(1)),
            ports,
            router,
            shard: Worker::shard(spec.shard, now, [client_mac, origin_mac]),
            next_hops: (spec.next_hops, None),
            handoff: spec.handoff,
            metrics: Arc::clone(&spec.metrics),
            stop: spec.stop,
            drain: spec.drain,
            draining: false,
            connlog: connlog::ConnLog::new(
                spec.id,
                pipelines,
                spec.log_ends_per_second,
                spec.log_connections,
            ),
            idle_spin: spec.idle_spin,
            epoch: spec.epoch,
            stats: LoopStats::default(),
            publications: 0,
            updates: spec.updates,
            origins: spec.metrics.origins.current(),
        })
    }

    /// The worker's shard, its frames leaving from `macs` (client side, origin side).
    fn shard(cfg: ShardConfig, now: Instant, macs: [[u8; 6]; 2]) -> Shard {
        let mut shard = Shard::new(cfg, now);
        shard.set_link_address(Side::Client, macs[0]);
        shard.set_link_address(Side::Origin, macs[1]);
        shard
    }

    /// Hands the shard the origins' next hops when the control thread changed them.
    fn take_next_hops(&mut self) {
        let (board, seen) = &mut self.next_hops;
        let version = board.version();
        if *seen != Some(version) {
            board.each_known(|ip, mac| self.shard.set_next_hop(ip, mac));
            *seen = Some(version);
        }
    }

    /// What a sleeping worker waits on: its hand-off wake-up socket and every port.
    fn sleep_fds(ports: &[QueuePorts], handoff: &Handoff, id: usize) -> Vec<RawFd> {
        let ports = ports.iter().flat_map(|q| std::iter::once(&q.client).chain(q.origin.as_ref()));
        handoff.wake_fd(id).into_iter().chain(ports.map(AsRawFd::as_raw_fd)).collect()
    }

    fn registrations(&self) -> Vec<Registration> {
        let mut out = Vec::new();
        for p in &self.ports {
            let (_, queue) = p.client.binding();
            let fd = p.client.as_raw_fd();
            out.push(Registration { role: Role::Client, queue, fd, mode: p.client.mode() });
            if let Some(o) = &p.origin {
                let fd = o.as_raw_fd();
                out.push(Registration { role: Role::Origin, queue, fd, mode: o.mode() });
            }
        }
        out
    }

    fn run(&mut self) -> anyhow::Result<()> {
        let mut idle_since: Option<WallInstant> = None;
        let mut published = WallInstant::now();
        while !self.stop.load(Ordering::Relaxed) {
            let wall = WallInstant::now();
            let now = clock(self.epoch, wall);
            self.stats.loops += 1;
            let mut work = self.receive(now)?;
            work += self.take_handed(now);
            if self.shard.poll_timeout().is_some_and(|at| at <= now) {
                self.shard.handle_timeout(now);
                work += 1;
            }
            work += self.transmit(now)?;
            if wall.duration_since(published) >= PUBLISH {
                self.publish(now);
                published = wall;
            }
            if work > 0 {
                idle_since = None;
            } else if idle_since.is_some_and(|at| wall.duration_since(at) >= self.idle_spin) {
                self.sleep(now)?;
                idle_since = None;
            } else {
                idle_since.get_or_insert(wall);
            }
        }
        self.shut_down()
    }

    /// Resets every connection so clients and origins learn at once that it is gone, rather
    /// than after their retransmission timeouts, and publishes the last counters.
    fn shut_down(&mut self) -> anyhow::Result<()> {
        let now = clock(self.epoch, WallInstant::now());
        self.shard.abort_all(now);
        if let Some(c) = self.capture.as_ref().filter(|c| c.skipped > 0) {
            tracing::warn!(target: "netreaktor", worker = self.id, frames = c.skipped, "capture file full: frames not written");
        }
        for _ in 0..8 {
            if self.transmit(now)? == 0 {
                break;
            }
        }
        self.publish(now);
        self.connlog.finish();
        Ok(())
    }

    /// Every RX ring's frames: to the shard, or to their owner.
    fn receive(&mut self, now: Instant) -> anyhow::Result<usize> {
        let Worker { ports, shard, router, handoff, stats, id, workers, capture, .. } = self;
        let mut total = 0;
        for queue in ports.iter_mut() {
            let mut handle = |iface: u32, frame: &[u8]| {
                if let Some(c) = capture.as_mut() {
                    c.record(iface, true, frame);
                }
                let (to, hops) = match router.route(frame) {
                    Route::Worker(owner) => (usize::from(owner), FINAL),
                    Route::Local => match shard.handle_frame(now, frame, *workers == 1) {
                        FrameOutcome::Handled => return,
                        FrameOutcome::NotHere => ((*id + 1) % *workers, 1),
                    },
                };
                stats.count_handoff(handoff.send(*id, to, frame, hops));
            };
            total += queue.client.recv(BATCH, &mut |f: &[u8]| handle(0, f))?;
            if let Some(origin) = &mut queue.origin {
                total += origin.recv(BATCH, &mut |f: &[u8]| handle(1, f))?;
            }
        }
        self.stats.frames_received += total as u64;
        Ok(total)
    }

    /// The frames other workers handed over. A client segment no worker has claimed yet
    /// goes round the ring of workers once; the last one to see it answers it.
    fn take_handed(&mut self, now: Instant) -> usize {
        let Worker { shard, handoff, stats, id, workers, .. } = self;
        handoff.drain(*id, |frame, hops| {
            let last = hops == FINAL || usize::from(hops) + 1 >= *workers;
            if shard.handle_frame(now, frame, last) == FrameOutcome::NotHere {
                let next = (*id + 1) % *workers;
                stats.count_handoff(handoff.send(*id, next, frame, hops + 1));
            }
        })
    }

    /// Everything the shard has to send, each side through the first queue's port of its
    /// interface; then one kick per port.
    fn transmit(&mut self, now: Instant) -> anyhow::Result<usize> {
        let mut sent = 0;
        for side in [Side::Client, Side::Origin] {
            sent += self.transmit_side(now, side);
        }
        for queue in &mut self.ports {
            queue.client.kick()?;
            if let Some(origin) = &mut queue.origin {
                origin.kick()?;
            }
        }
        self.stats.frames_sent += sent as u64;
        Ok(sent)
    }

    /// The shard writes each frame, Ethernet header included, straight into a TX slot.
    fn transmit_side(&mut self, now: Instant, side: Side) -> usize {
        let Worker { ports, shard, stats, capture, .. } = self;
        let iface = u32::from(side == Side::Origin && ports[0].origin.is_some());
        let port = ports[0].side(side);
        let mut sent = 0;
        loop {
            let Some(mut slot) = port.tx_slot() else {
                stats.tx_full += 1;
                return sent;
            };
            let buf = slot.buf();
            let Some(t) = shard.poll_frame(now, side, buf) else {
                return sent;
            };
            if let Some(c) = capture.as_mut() {
                c.record(iface, false, &buf[..t.len]);
            }
            slot.submit(t.len);
            sent += 1;
        }
    }

    /// Nothing to do: sleep until a socket is readable, a frame is handed over, or the next
    /// timer (at most [`MAX_SLEEP`]).
    fn sleep(&mut self, now: Instant) -> anyhow::Result<()> {
        self.handoff.set_sleeping(self.id, true);
        if self.take_handed(now) == 0 {
            let until = self.shard.poll_timeout().map(|at| at.saturating_duration_since(now));
            let micros = until.map_or(u64::MAX, |d| d.total_micros());
            let timeout = Duration::from_micros(micros).min(MAX_SLEEP);
            wait_readable(&self.sleep_fds, timeout).context("worker: poll")?;
            self.stats.sleeps += 1;
        }
        self.handoff.set_sleeping(self.id, false);
        Ok(())
    }

    fn publish(&mut self, now: Instant) {
        self.take_updates();
        self.take_next_hops();
        if !self.draining && self.drain.load(Ordering::Relaxed) {
            self.draining = true;
            self.shard.drain();
        }
        if self.draining {
            let unfinished = self.shard.unfinished() as u64;
            self.metrics.unfinished.store(unfinished, Ordering::Relaxed);
        }
        self.metrics.publish_census(&self.shard.census());
        origins::publish_origins(&self.origins, &self.shard);
        origins::log_health(self.id, &mut self.shard);
        let reopened = self.shard.time_wait_stats(Side::Client).reused;
        self.metrics.publish_time_wait(self.shard.time_wait_entries(), reopened);
        self.metrics.publish_syns(&self.shard.syn_stats());
        self.metrics.publish_buffers(&self.shard.buffer_stats());
        while let Some(event) = self.shard.poll_event() {
            self.connlog.event(now, event);
        }
        self.connlog.flush(now);
        self.metrics.publish(self.shard.stats(), &self.stats);
        self.publish_sockets();
    }

    /// Publishes the kernel's counters of the worker's sockets, once per
    /// [`SOCKET_STATS_EVERY`] publications (each costs a `getsockopt` per socket).
    fn publish_sockets(&mut self) {
        self.publications = self.publications.wrapping_add(1);
        if self.publications % SOCKET_STATS_EVERY != 1 {
            return;
        }
        let mut sum = KernelCounters::default();
        for port in self.ports.iter().flat_map(|q| std::iter::once(&q.client).chain(&q.origin)) {
            match port.kernel_counters() {
                Ok(k) => sum += k,
                Err(e) => tracing::debug!(worker = self.id, "XDP_STATISTICS: {e:#}"),
            }
        }
        self.metrics.publish_sockets(&sum);
    }
}

/// The pipeline's clock: microseconds since the appliance started.
fn clock(epoch: WallInstant, wall: WallInstant) -> Instant {
    let micros = wall.saturating_duration_since(epoch).as_micros();
    Instant::from_micros(u64::try_from(micros).unwrap_or(u64::MAX))
}
