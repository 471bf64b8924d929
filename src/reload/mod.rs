//! Configuration reload (docs/operations.md, "Reload"): on SIGHUP the control thread reads
//! the file the appliance was started with, checks it exactly as `netreaktor check` does, and
//! compares it with the running configuration ([`diff`]). A file that does not load, or that
//! changes a field only a restart changes, is refused: each reason is logged at error and the
//! running configuration stays in force. Otherwise every worker gets its new services
//! ([`ShardUpdate`]) and takes them between batches; the reload is applied once every worker
//! runs the new generation, and what changed is logged at info. The outcome goes to the
//! telemetry ([`ReloadState`]) and to the file `netreaktor reload` waits on ([`outcome`]).

pub(crate) mod command;
pub(crate) mod diff;
pub(crate) mod outcome;

#[cfg(test)]
mod tests;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant, SystemTime};

use netreaktor_pipeline::shard::OriginSources;
use tracing::{error, info};

use crate::config::{self, Config, LoadError};
use crate::logs::Logs;
use crate::telemetry::reload::{Outcome, ReloadState};
use crate::worker::link::{NextHopBoard, Resolver};
use crate::worker::metrics::WorkerMetrics;
use crate::worker::origins::origin_cells;
use crate::worker::update::ShardUpdate;

/// How long a reload waits for every worker to run the new generation.
const APPLY_WAIT: Duration = Duration::from_secs(5);

/// How long a reload lets the kernel resolve the next hops of new origin addresses.
const RESOLVE_WAIT: Duration = Duration::from_millis(200);

/// The control thread's side of reloads.
pub(crate) struct Reloader {
    path: PathBuf,
    running: Config,
    /// The origin-side sources the steering program was loaded with.
    sources: OriginSources,
    /// Per worker: its update channel and its published cells.
    workers: Vec<(Sender<ShardUpdate>, Arc<WorkerMetrics>)>,
    state: Arc<ReloadState>,
    logs: Logs,
    /// Reloads tried so far (for [`outcome`]).
    attempts: u64,
}

/// What [`Reloader::new`] takes.
pub(crate) struct Running {
    pub(crate) path: PathBuf,
    pub(crate) config: Config,
    pub(crate) sources: OriginSources,
    pub(crate) workers: Vec<(Sender<ShardUpdate>, Arc<WorkerMetrics>)>,
    pub(crate) state: Arc<ReloadState>,
    pub(crate) logs: Logs,
}

impl Reloader {
    pub(crate) fn new(r: Running) -> Reloader {
        let reloader = Reloader {
            path: r.path,
            running: r.config,
            sources: r.sources,
            workers: r.workers,
            state: r.state,
            logs: r.logs,
            attempts: 0,
        };
        outcome::write(&outcome::Record {
            attempt: 0,
            result: "started".into(),
            generation: reloader.state.generation(),
            message: String::new(),
        });
        reloader
    }

    /// Reloads the file; `resolver` is replaced when new origin addresses need next hops.
    pub(crate) fn reload(&mut self, resolver: &mut Resolver) -> Outcome {
        let file = self.path.display().to_string();
        info!(target: "netreaktor", config = %file, "SIGHUP: reloading the configuration");
        let result = self.try_reload(resolver);
        self.conclude(result)
    }

    /// Refuses a reload without reading the file (`why`: the appliance is draining).
    pub(crate) fn refuse(&mut self, why: &str) -> Outcome {
        self.conclude(Err(vec![why.to_owned()]))
    }

    /// Logs, counts and reports what became of a reload.
    fn conclude(&mut self, result: Result<String, Vec<String>>) -> Outcome {
        self.attempts += 1;
        let (outcome, message) = match result {
            Ok(message) => (Outcome::Applied, message),
            Err(reasons) => {
                for reason in &reasons {
                    error!(target: "netreaktor", "reload refused: {reason}");
                }
                let generation = self.state.generation();
                let message = format!(
                    "reload refused, configuration generation {generation} stays in force: {}",
                    reasons.join("; ")
                );
                error!(target: "netreaktor", generation, "reload refused: the running configuration stays in force");
                (Outcome::Refused, message)
            }
        };
        let generation = self.state.record(outcome, &message, unix_now());
        outcome::write(&outcome::Record {
            attempt: self.attempts,
            result: outcome.name().into(),
            generation,
            message,
        });
        outcome
    }

    /// Checks and applies the file: what changed, or every reason it is refused.
    fn try_reload(&mut self, resolver: &mut Resolver) -> Result<String, Vec<String>> {
        let new = load_new(&self.path)?;
        let diff = diff::compare(&self.running, &new);
        let mut restart: Vec<String> =
            diff.restart.iter().map(|r| format!("{r}: a restart is needed")).collect();
        restart.extend(self.missing_sources(&new));
        if !restart.is_empty() {
            return Err(restart);
        }
        let next_hops = self.next_hops(&new, resolver).map_err(|e| vec![format!("{e:#}")])?;
        self.logs.use_config_level(new.log_level);
        let generation = self.state.next_generation();
        self.send(&new, generation, next_hops);
        self.wait_applied(generation)?;
        self.running = new;
        let changes =
            if diff.live.is_empty() { "no change".to_owned() } else { diff.live.join("; ") };
        info!(target: "netreaktor", generation, "reload applied: {changes}");
        Ok(format!("reload applied, configuration generation {generation}: {changes}"))
    }

    /// Origins of an IP version the steering program has no origin-side source for.
    fn missing_sources(&self, new: &Config) -> Vec<String> {
        let (v4, v6) = config::origin_versions(new);
        let mut out = Vec::new();
        for (needed, have, key) in
            [(v4, self.sources.v4.is_some(), "ipv4"), (v6, self.sources.v6.is_some(), "ipv6")]
        {
            if needed && !have {
                out.push(format!(
                    "pipelines[*].forward.origins: {key} origins without an {key} origin source \
                     (interfaces.origin_source.{key}): a restart is needed"
                ));
            }
        }
        out
    }

    /// A new next-hop board and resolver when `new` has origin addresses the running board
    /// lacks; `None` when it has none.
    fn next_hops(
        &self,
        new: &Config,
        resolver: &mut Resolver,
    ) -> anyhow::Result<Option<Arc<NextHopBoard>>> {
        let ips = |c: &Config| -> Vec<IpAddr> {
            let mut ips: Vec<IpAddr> =
                c.to_services().iter().flat_map(|s| s.origins.iter().map(|o| o.ip())).collect();
            ips.sort();
            ips.dedup();
            ips
        };
        let (old, ips) = (ips(&self.running), ips(new));
        if ips.iter().all(|ip| old.contains(ip)) {
            return Ok(None);
        }
        let board = NextHopBoard::new(ips);
        let mut fresh = Resolver::open(Arc::clone(&board))?;
        fresh.resolve_all(RESOLVE_WAIT);
        *resolver = fresh;
        Ok(Some(board))
    }

    /// Sends every worker its update.
    fn send(&self, new: &Config, generation: u64, next_hops: Option<Arc<NextHopBoard>>) {
        let services = new.to_services();
        let debug = tracing::enabled!(target: "netreaktor", tracing::Level::DEBUG);
        let info = tracing::enabled!(target: "netreaktor", tracing::Level::INFO);
        for (tx, _) in &self.workers {
            let origins = services.iter().map(|s| (s.name.as_str(), s.origins.as_slice()));
            let update = ShardUpdate {
                generation,
                services: services.clone(),
                origins: origin_cells(origins),
                next_hops: next_hops.clone(),
                log_connections: debug,
                log_ends_per_second: if info { new.log.connections.per_second.0 } else { 0 },
            };
            // A worker that stopped has dropped its receiver: `wait_applied` reports it.
            let _ = tx.send(update);
        }
    }

    /// Waits until every worker runs `generation`.
    fn wait_applied(&self, generation: u64) -> Result<(), Vec<String>> {
        let started = Instant::now();
        loop {
            let get = |w: &Arc<WorkerMetrics>, refused: bool| {
                let cell = if refused { &w.generation_refused } else { &w.generation };
                WorkerMetrics::get(cell) == generation
            };
            if self.workers.iter().any(|(_, w)| get(w, true)) {
                return Err(vec![
                    "a worker could not apply it (see its error above); workers may \
                                 run different configurations: restart"
                        .to_owned(),
                ]);
            }
            if self.workers.iter().all(|(_, w)| get(w, false)) {
                return Ok(());
            }
            if started.elapsed() >= APPLY_WAIT {
                return Err(vec![format!(
                    "workers did not take it within {APPLY_WAIT:?}: restart"
                )]);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Reloader {
    /// The appliance stops: no reload outcome is left behind for its pid.
    fn drop(&mut self) {
        outcome::remove();
    }
}

/// Loads and validates the file as `netreaktor check` does: `Err` holds its messages
/// (`FILE:LINE:COLUMN: FIELD: MESSAGE`, or why it cannot be read).
pub(crate) fn load_new(path: &Path) -> Result<Config, Vec<String>> {
    let file = path.display().to_string();
    match config::load(path) {
        Ok(config) => Ok(config),
        Err(LoadError::Invalid(errors)) => {
            Err(errors.iter().map(|e| e.in_file(&file).to_string()).collect())
        }
        Err(LoadError::Io(error)) => Err(vec![format!("{file}: cannot read: {error}")]),
    }
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}
