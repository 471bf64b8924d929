//! `netreaktor run -c FILE`: the appliance.
//!
//! Start-up, in order: load and validate the configuration; take the ownership lock of each
//! interface ([`crate::lock`]: a second instance stops here, having changed nothing); load
//! the steering program for each interface (one program when both sides share one) with the
//! service addresses and the origin-side ports; attach it (native mode where the driver has it, else generic; a
//! NetReaktor program left by a crashed run is removed first); start one worker per core,
//! each opening its AF_XDP sockets; put each socket in its program's XSKMAP; serve
//! `/metrics`; print `netreaktor: ready`.
//!
//! SIGTERM first drains: `/readyz` turns 503, then the workers refuse new connections and
//! the ones held may finish. SIGINT, a second signal or the drain's end stops the workers,
//! detaches the programs (the interfaces are left as they were found), prints the final
//! counters and exits 0. A worker that fails stops the
//! others the same way, and the exit status is 1. SIGHUP reloads the configuration file
//! ([`crate::reload`]; docs/operations.md, "Reload").

use std::net::IpAddr;
use std::path::Path;
use std::process::{Command, ExitCode};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use netreaktor_pipeline::shard::{OriginSources, ShardConfig};
use netreaktor_pipeline::wire::frame::ChecksumPolicy;
use tracing::{error, info, warn};

use crate::afxdp::{FRAME_OVERHEAD, FrameSize, PortConfig};
use crate::config::{self, Config, LoadError, LogLevel, XdpMode};
use crate::lock::{self, InterfaceLock};
use crate::logs::{self, LogFormat};
use crate::notify::{self, Pulse, Watchdog};
use crate::reload::{Reloader, Running};
use crate::telemetry::{Readiness, Shared};
use crate::worker::handoff::Handoff;
use crate::worker::link::{NextHopBoard, Resolver};
use crate::worker::metrics::WorkerMetrics;
use crate::worker::update::ShardUpdate;
use crate::worker::{self, Registration, Role, WorkerSpec};
use crate::xdp::maps::OriginPorts;
use crate::xdp::{AttachMode, SteerConfig, Steering};
use crate::{endpoint, metrics};

/// How long start-up waits for the kernel to resolve the origins' next hops (the first SYN to
/// an origin without one is dropped, and retransmitted a second later).
const FIRST_RESOLVE: Duration = Duration::from_millis(200);

/// Runs the appliance until a signal; returns the exit status.
pub(crate) fn run(
    path: &Path,
    log_level: Option<LogLevel>,
    log_format: LogFormat,
) -> anyhow::Result<ExitCode> {
    // First, so that every message of the run (config errors too) is in the chosen format.
    let mut logs = logs::init(log_level, log_format);
    let file = path.display().to_string();
    let config = match config::load(path) {
        Ok(config) => config,
        Err(LoadError::Invalid(errors)) => {
            for error in &errors {
                error!(target: "netreaktor", "{}", error.in_file(&file));
            }
            return Ok(ExitCode::from(1));
        }
        Err(LoadError::Io(error)) => return Err(anyhow!("{file}: cannot read: {error}")),
    };
    logs.use_config_level(config.log_level);
    if let logs::Filter::Env(directives) = logs.filter() {
        info!(target: "netreaktor", directives = %directives, "log filter from RUST_LOG");
    }
    let stop = Arc::new(AtomicBool::new(false));
    let drain = Arc::new(AtomicBool::new(false));
    let reload = Arc::new(AtomicBool::new(false));
    let readiness = Arc::new(Readiness::default());
    let drain_timeout = Duration::from(config.drain_timeout.0);
    let flags = Flags {
        stop: Arc::clone(&stop),
        drain: Arc::clone(&drain),
        reload: Arc::clone(&reload),
        readiness,
    };
    watch_signals(flags.clone(), drain_timeout)?;
    let b = crate::build_info::BUILD;
    info!(
        target: "netreaktor",
        version = b.version, commit = b.commit, built = b.build_date, config = %file,
        pipelines = config.pipelines.value.len(), "starting"
    );
    let (mut appliance, updates) = Appliance::start(&config, &flags)?;
    info!(target: "netreaktor", workers = appliance.workers.len(), config = %file, "ready");
    notify::ready(&format!("{} worker(s) running", appliance.workers.len()));
    let mut reloader = Reloader::new(Running {
        path: path.to_owned(),
        config,
        sources: appliance.sources,
        workers: updates.into_iter().zip(appliance.shared.workers.iter().cloned()).collect(),
        state: Arc::clone(&appliance.shared.reload),
        logs,
    });
    let failed = appliance.wait(&flags, &mut reloader, drain_timeout);
    notify::stopping("stopping");
    appliance.stop(&stop)?;
    Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// What the signal thread tells the rest.
#[derive(Clone, Debug)]
struct Flags {
    /// Stop now: the workers reset every connection and end.
    stop: Arc<AtomicBool>,
    /// Drain: the workers refuse new connections.
    drain: Arc<AtomicBool>,
    /// SIGHUP: reload the configuration file.
    reload: Arc<AtomicBool>,
    /// What `/readyz` answers.
    readiness: Arc<Readiness>,
}

/// SIGTERM drains (when `drain_timeout` is not zero): `/readyz` turns 503 first, so a load
/// balancer polling it can withdraw the appliance, then new connections are refused and the
/// ones held may finish; SIGINT, a second signal, or a zero `drain_timeout` stops at once
/// (every connection reset). SIGHUP asks the control thread to reload the configuration
/// ([`crate::reload`]).
fn watch_signals(flags: Flags, drain_timeout: Duration) -> anyhow::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])
        .context("installing signals")?;
    let Flags { stop, drain, reload, readiness } = flags;
    std::thread::Builder::new().name("nr-signals".into()).spawn(move || {
        for signal in signals.forever() {
            if signal == SIGHUP {
                reload.store(true, Ordering::SeqCst);
                continue;
            }
            let at_once = signal == SIGINT || drain_timeout.is_zero();
            if at_once || drain.load(Ordering::SeqCst) {
                readiness.set_stopping();
                stop.store(true, Ordering::SeqCst);
                return;
            }
            // Readiness before the workers' flag: no SYN is refused while /readyz says 200.
            readiness.set_draining();
            drain.store(true, Ordering::SeqCst);
            info!(
                target: "netreaktor",
                drain_timeout = ?drain_timeout,
                "SIGTERM: draining (new connections refused); a second signal stops at once"
            );
            notify::stopping("draining");
        }
    })?;
    Ok(())
}

/// A running appliance.
struct Appliance {
    /// The client-side program, and the origin-side one when the interfaces differ.
    steering: Vec<Steering>,
    workers: Vec<JoinHandle<anyhow::Result<()>>>,
    shared: Arc<Shared>,
    /// Keeps the origins' next hops the workers read.
    resolver: Resolver,
    /// The origin-side sources the steering programs were loaded with.
    sources: OriginSources,
    /// The interfaces' ownership locks, released last (when the appliance is dropped, after
    /// the programs are detached).
    _locks: Vec<InterfaceLock>,
}

impl Appliance {
    /// Starts the appliance; also returns each worker's update channel (for reloads).
    fn start(
        config: &Config,
        flags: &Flags,
    ) -> anyhow::Result<(Appliance, Vec<mpsc::Sender<ShardUpdate>>)> {
        let Flags { stop, drain, readiness, .. } = flags;
        let client_if = config.interfaces.client.0.clone();
        let origin_if = config.interfaces.origin.0.clone();
        let split = client_if != origin_if;
        // Before anything is attached or detached: a second instance changes nothing.
        let mut locks = vec![lock::take(Path::new(lock::RUN_DIR), &client_if)?];
        if split {
            locks.push(lock::take(Path::new(lock::RUN_DIR), &origin_if)?);
        }
        for lock in &locks {
            info!(target: "netreaktor", lock = %lock.path().display(), "interface locked");
        }
        let sources = origin_sources(config)?;
        let (client_steer, origin_steer) = steer_configs(config, sources, split);
        let mode = match config.interfaces.xdp_mode {
            XdpMode::Auto => AttachMode::Auto,
            XdpMode::Native => AttachMode::Native,
            XdpMode::Generic => AttachMode::Generic,
        };
        let mut steering = vec![attach(&client_steer, &client_if, mode)?];
        if let Some(origin_steer) = origin_steer {
            steering.push(attach(&origin_steer, &origin_if, mode)?);
        }
        let workers = config.cores.value.len();
        let interfaces =
            steering.iter().filter_map(|s| s.attachment()).map(|a| a.interface.clone());
        let xdp_modes = steering
            .iter()
            .filter_map(|s| s.attachment())
            .map(|a| (a.interface.clone(), a.mode.to_string()))
            .collect();
        let shared = Arc::new(Shared {
            workers: (0..workers).map(|_| Arc::new(worker_metrics(config))).collect(),
            steering: interfaces.map(|name| (name, Default::default())).collect(),
            xdp_modes,
            readiness: Arc::clone(readiness),
            build: crate::build_info::BUILD,
            process: crate::telemetry::ProcessSource::Live,
            reload: Arc::default(),
        });
        let handoff = Handoff::new(workers).context("hand-off queues")?;
        let origins = config.to_services().into_iter().flat_map(|s| s.origins);
        let next_hops = NextHopBoard::new(origins.map(|o| o.ip()));
        let mut resolver = Resolver::open(Arc::clone(&next_hops))?;
        // The first SYN to an origin needs its next hop: give the kernel a moment to resolve.
        resolver.resolve_all(FIRST_RESOLVE);
        let epoch = Instant::now();
        let secret = secret()?;
        let (tx, rx) = mpsc::channel();
        let mut handles = Vec::new();
        let mut updates = Vec::new();
        for (id, core) in config.cores.value.iter().enumerate() {
            let (update_tx, update_rx) = mpsc::channel();
            updates.push(update_tx);
            let spec = WorkerSpec {
                id,
                core: core.value.0 as usize,
                queues: (0..config.queues()).filter(|q| *q as usize % workers == id).collect(),
                client_if: client_if.clone(),
                origin_if: split.then(|| origin_if.clone()),
                shard: shard_config(config, id, sources, secret),
                port: port_config(config),
                handoff: Arc::clone(&handoff),
                metrics: Arc::clone(&shared.workers[id]),
                next_hops: Arc::clone(&next_hops),
                stop: Arc::clone(stop),
                drain: Arc::clone(drain),
                capture: config
                    .capture
                    .as_ref()
                    .map(|c| (std::path::PathBuf::from(&c.path), c.max_size.0)),
                log_connections: tracing::enabled!(target: "netreaktor", tracing::Level::DEBUG),
                log_ends_per_second: if tracing::enabled!(target: "netreaktor", tracing::Level::INFO)
                {
                    config.log.connections.per_second.0
                } else {
                    0
                },
                idle_spin: Duration::from(config.idle_spin.0),
                epoch,
                updates: update_rx,
            };
            handles.push(worker::spawn(spec, tx.clone()).context("starting a worker")?);
        }
        let mut appliance =
            Appliance { steering, workers: handles, shared, resolver, sources, _locks: locks };
        if let Err(error) = appliance.register(&rx, workers) {
            stop.store(true, Ordering::Relaxed);
            let _ = appliance.stop(stop);
            return Err(error);
        }
        if let Err(error) = endpoint::serve(config.metrics.listen.0, Arc::clone(&appliance.shared))
        {
            stop.store(true, Ordering::Relaxed);
            let _ = appliance.stop(stop);
            return Err(error);
        }
        appliance.shared.readiness.set_ready();
        Ok((appliance, updates))
    }

    /// Puts every worker's sockets in the XSKMAPs.
    fn register(
        &mut self,
        ready: &mpsc::Receiver<anyhow::Result<Vec<Registration>>>,
        workers: usize,
    ) -> anyhow::Result<()> {
        for _ in 0..workers {
            let sockets =
                ready.recv_timeout(Duration::from_secs(30)).context("a worker did not start")??;
            for r in sockets {
                let index = usize::from(r.role == Role::Origin && self.steering.len() > 1);
                self.steering[index].bind_queue(r.queue, &Fd(r.fd))?;
                let interface = self.steering[index].attachment().map(|a| a.interface.clone());
                info!(
                    target: "netreaktor",
                    interface = interface.unwrap_or_default(),
                    queue = r.queue,
                    mode = %r.mode,
                    "AF_XDP socket bound"
                );
            }
        }
        Ok(())
    }

    /// Waits for a stop, the end of a drain, or a worker's end; true if a worker failed.
    /// Meanwhile copies the steering programs' counters for `/metrics` about once a second.
    /// A drain ends when no worker holds an unfinished connection, or after `drain_timeout`.
    /// When systemd set a watchdog, pings it while every worker progresses ([`Watchdog`]).
    /// A SIGHUP reloads the configuration (refused while draining: a drain ends the run).
    fn wait(&mut self, flags: &Flags, reloader: &mut Reloader, drain_timeout: Duration) -> bool {
        let (stop, drain) = (&*flags.stop, &*flags.drain);
        let mut copied = Instant::now();
        let mut drain_started: Option<Instant> = None;
        let mut watchdog = Watchdog::from_env(Instant::now(), &self.pulses());
        if let Some(w) = &watchdog {
            info!(target: "netreaktor", every = ?w.every(), "systemd watchdog on: pinged while every worker progresses");
        }
        while !stop.load(Ordering::Relaxed) {
            if let Some(w) = &mut watchdog {
                w.tick(Instant::now(), &self.pulses());
            }
            if drain.load(Ordering::Relaxed) {
                let started = *drain_started.get_or_insert_with(Instant::now);
                if self.drained(started) || started.elapsed() >= drain_timeout {
                    info!(target: "netreaktor", after = ?started.elapsed(), "drained");
                    stop.store(true, Ordering::Relaxed);
                    break;
                }
            }
            if self.workers.iter().any(JoinHandle::is_finished) {
                error!(target: "netreaktor", "a worker stopped; stopping");
                stop.store(true, Ordering::Relaxed);
                return true;
            }
            if flags.reload.swap(false, Ordering::SeqCst) {
                if drain.load(Ordering::Relaxed) {
                    reloader.refuse("the appliance is draining");
                } else {
                    reloader.reload(&mut self.resolver);
                }
            }
            self.resolver.tick();
            if copied.elapsed() >= Duration::from_secs(1) {
                self.copy_steering_counters();
                copied = Instant::now();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// Each worker's liveness and published loop counter, for the watchdog.
    fn pulses(&self) -> Vec<Pulse> {
        let loops = self.shared.workers.iter().map(|w| WorkerMetrics::get(&w.loops));
        let alive = self.workers.iter().map(|h| !h.is_finished());
        alive.zip(loops).map(|(alive, loops)| Pulse { alive, loops }).collect()
    }

    /// Whether every worker has published, since the drain started, that it holds no
    /// unfinished connection (workers publish every 10 ms; 50 ms gives each time to).
    fn drained(&self, started: Instant) -> bool {
        let unfinished = |w: &Arc<WorkerMetrics>| WorkerMetrics::get(&w.unfinished);
        started.elapsed() >= Duration::from_millis(50)
            && self.shared.workers.iter().map(unfinished).sum::<u64>() == 0
    }

    fn copy_steering_counters(&self) {
        for steering in &self.steering {
            if let (Some(a), Ok(counters)) = (steering.attachment(), steering.counters()) {
                self.shared.set_steering(&a.interface, &counters);
            }
        }
    }

    /// Stops and joins the workers, detaches the programs, prints the counters.
    fn stop(&mut self, stop: &AtomicBool) -> anyhow::Result<()> {
        self.shared.readiness.set_stopping();
        stop.store(true, Ordering::Relaxed);
        let mut failure = None;
        for (id, handle) in self.workers.drain(..).enumerate() {
            match handle.join() {
                Ok(Ok(())) => {}
                Ok(Err(error)) => {
                    error!(target: "netreaktor", worker = id, "{error:#}");
                    failure = Some(anyhow!("worker {id} failed: {error:#}"));
                }
                Err(_) => failure = Some(anyhow!("worker {id} panicked")),
            }
        }
        self.copy_steering_counters();
        for steering in &mut self.steering {
            steering.detach()?;
        }
        let counters = metrics::render(&self.shared, metrics::Format::Prometheus);
        let counters = counters.unwrap_or_default();
        let lines = counters.lines().filter(|l| !l.starts_with('#'));
        let counters: Vec<&str> = lines.collect();
        info!(target: "netreaktor", "stopped; XDP detached. Final counters:\n  {}", counters.join("\n  "));
        failure.map_or(Ok(()), Err)
    }
}

/// A raw descriptor to hand to `Steering::bind_queue`. The worker owning the socket keeps it
/// open until it stops; the kernel drops a closed XSK from the map, so between a worker's end
/// and the program's detach its queue's frames pass to the kernel.
struct Fd(std::os::fd::RawFd);

impl std::os::fd::AsRawFd for Fd {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.0
    }
}

fn attach(steer: &SteerConfig, interface: &str, mode: AttachMode) -> anyhow::Result<Steering> {
    let mut steering = Steering::load(steer)?;
    let mode = steering.attach(interface, mode)?;
    if let Some(a) = steering.attachment() {
        for id in &a.removed_stale {
            warn!(
                target: "netreaktor",
                interface,
                id,
                "removed a stale NetReaktor program (its owner is gone: the interface lock was free)"
            );
        }
        if let Some(why) = &a.native_error {
            warn!(target: "netreaktor", interface, why = %why, "native XDP refused; generic mode");
        }
    }
    info!(target: "netreaktor", interface, mode = %mode, "steering attached");
    Ok(steering)
}

/// The steering maps: services on the client side, the origin-side ports on the origin
/// side (both in one program when one interface serves both).
fn steer_configs(
    config: &Config,
    sources: OriginSources,
    split: bool,
) -> (SteerConfig, Option<SteerConfig>) {
    let services = config
        .to_services()
        .iter()
        .flat_map(|s| s.listen.iter().map(|a| (a.ip(), a.port())))
        .collect();
    let addresses = [sources.v4.map(IpAddr::V4), sources.v6.map(IpAddr::V6)];
    let ports = config.origin_ports();
    let origins = addresses
        .into_iter()
        .flatten()
        .map(|addr| OriginPorts { addr, ports: ports.clone() })
        .collect();
    if split {
        let client = SteerConfig { services, origins: Vec::new() };
        (client, Some(SteerConfig { services: Vec::new(), origins }))
    } else {
        (SteerConfig { services, origins }, None)
    }
}

fn shard_config(
    config: &Config,
    worker: usize,
    sources: OriginSources,
    secret: [u8; 32],
) -> ShardConfig {
    ShardConfig {
        worker: worker as u16,
        workers: config.cores.value.len() as u16,
        services: config.to_services(),
        origin_sources: sources,
        origin_ports: config.origin_ports(),
        origin_tcp: config.to_tcp_config(),
        checksums: ChecksumPolicy::Verify,
        buffer_budget: Some(config.buffer_budget_per_worker()),
        secret,
    }
}

/// AF_XDP sockets with frames large enough for a full segment: 2 KiB frames up to an MSS of
/// 1658, 4 KiB beyond (the configuration refuses an MSS 4 KiB frames cannot hold).
/// A worker's published cells, with a set per origin of each pipeline.
fn worker_metrics(config: &Config) -> WorkerMetrics {
    let services = config.to_services();
    let origins = services.iter().map(|s| (s.name.as_str(), s.origins.as_slice()));
    WorkerMetrics::with_origins(crate::worker::origins::origin_cells(origins))
}

fn port_config(config: &Config) -> PortConfig {
    let mss = usize::from(config.to_tcp_config().mss);
    let mut port = PortConfig::default();
    if mss + FRAME_OVERHEAD > FrameSize::TwoK.capacity() {
        port.frame_size = FrameSize::FourK;
    }
    port
}

/// The ISN, cookie and hashing key of this run.
fn secret() -> anyhow::Result<[u8; 32]> {
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).map_err(|e| anyhow!("getrandom: {e}"))?;
    Ok(key)
}

/// The origin-side source of each IP version the origins use: the configured one, or the
/// origin interface's first global address of that version (never a link-local IPv6 one).
/// An origin whose version has neither cannot be reached: an error naming the key to set.
fn origin_sources(config: &Config) -> anyhow::Result<OriginSources> {
    let (v4, v6) = crate::config::configured_sources(&config.interfaces.origin_source);
    let (need_v4, need_v6) = crate::config::origin_versions(config);
    let interface = &config.interfaces.origin.0;
    let v4 = match v4 {
        Some(a) => Some(a),
        None if need_v4 => Some(interface_address(interface, "-4", "ipv4")?),
        None => None,
    };
    let v6 = match v6 {
        Some(a) => Some(a),
        None if need_v6 => Some(interface_address(interface, "-6", "ipv6")?),
        None => None,
    };
    Ok(OriginSources { v4, v6 })
}

/// The first global address of `family` ("-4" or "-6") on `interface`, read with `ip addr`
/// (`scope global` leaves out IPv6 link-local addresses).
fn interface_address<A: std::str::FromStr>(
    interface: &str,
    family: &str,
    key: &str,
) -> anyhow::Result<A> {
    let out = Command::new("ip")
        .args(["-o", family, "addr", "show", "dev", interface, "scope", "global"])
        .output()
        .context("running ip addr")?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace()
        .skip_while(|w| *w != "inet" && *w != "inet6")
        .nth(1)
        .and_then(|cidr| cidr.split('/').next())
        .and_then(|a| a.parse().ok())
        .with_context(|| {
            format!(
                "{interface} has no global {key} address for origin connections to {key} origins: \
                 set interfaces.origin_source.{key}"
            )
        })
}
