//! Each origin as a worker sees it, published for `/metrics`: connect attempts, failures by
//! reason, connections established, active health checks by result, bytes each way and the
//! up gauge of health, per pipeline and
//! origin (`crate::telemetry::origins` renders them). The worker also logs its shard's origin
//! health changes here, at info: ejected, trial, restored. Health is per worker (each shard
//! has its own picker), so every line and sample names its worker.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use netreaktor_pipeline::proxy::HealthChange;
use netreaktor_pipeline::shard::{CheckResult, HealthEvent, OriginFailure, Shard};
use tracing::info;

use super::metrics::{Cells, WorkerMetrics};
use crate::config::format_duration;

/// One origin of one pipeline, as one worker publishes it.
#[derive(Debug)]
pub(crate) struct OriginCells {
    /// The pipeline's name.
    pub(crate) pipeline: String,
    /// The origin's socket address as configured.
    pub(crate) origin: SocketAddr,
    pub(crate) attempts: AtomicU64,
    pub(crate) failures: Cells<OriginFailure>,
    pub(crate) established: AtomicU64,
    /// Active health checks, by result.
    pub(crate) checks: Cells<CheckResult>,
    /// Bytes moved client to origin.
    pub(crate) bytes_to_origin: AtomicU64,
    /// Bytes moved origin to client.
    pub(crate) bytes_to_client: AtomicU64,
    /// 1 while the origin takes connections, 0 while it is ejected or on trial.
    pub(crate) up: AtomicU64,
}

impl OriginCells {
    /// The cells of `origin` of `pipeline`: nothing counted, up.
    pub(crate) fn new(pipeline: &str, origin: SocketAddr) -> OriginCells {
        OriginCells {
            pipeline: pipeline.to_owned(),
            origin,
            attempts: AtomicU64::new(0),
            failures: Cells::default(),
            established: AtomicU64::new(0),
            checks: Cells::default(),
            bytes_to_origin: AtomicU64::new(0),
            bytes_to_client: AtomicU64::new(0),
            up: AtomicU64::new(1),
        }
    }
}

/// A worker's origin cells as `/metrics` reads them. A reload replaces the set (the worker,
/// once it runs the new origin list); the worker publishes into its own handle of the set, so
/// it never takes this lock on its data path, and readers hold it only to clone the handle.
#[derive(Debug, Default)]
pub(crate) struct OriginSet(RwLock<Arc<[OriginCells]>>);

impl OriginSet {
    /// The cells in force.
    pub(crate) fn current(&self) -> Arc<[OriginCells]> {
        match self.0.read() {
            Ok(cells) => Arc::clone(&cells),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Puts `cells` in force.
    pub(crate) fn replace(&self, cells: Arc<[OriginCells]>) {
        match self.0.write() {
            Ok(mut current) => *current = cells,
            Err(poisoned) => *poisoned.into_inner() = cells,
        }
    }
}

/// The cells of every origin of every pipeline, in configuration order (the order of
/// [`Shard::origins`]).
pub(crate) fn origin_cells<'a>(
    services: impl IntoIterator<Item = (&'a str, &'a [SocketAddr])>,
) -> Arc<[OriginCells]> {
    let each = services.into_iter().flat_map(|(name, origins)| {
        origins.iter().map(move |&origin| OriginCells::new(name, origin))
    });
    each.collect()
}

impl WorkerMetrics {
    /// A worker's cells, with `origins` (from [`origin_cells`]).
    pub(crate) fn with_origins(origins: Arc<[OriginCells]>) -> WorkerMetrics {
        WorkerMetrics { origins: OriginSet(RwLock::new(origins)), ..WorkerMetrics::default() }
    }
}

/// Publishes the shard's per-origin counters and health into `cells` (the worker's handle of
/// its [`OriginSet`], in the shard's origin order).
pub(crate) fn publish_origins(cells: &[OriginCells], shard: &Shard) {
    for (cells, report) in cells.iter().zip(shard.origins()) {
        let s = report.stats;
        cells.attempts.store(s.attempts, Ordering::Relaxed);
        cells.failures.publish(&s.failures);
        cells.established.store(s.established, Ordering::Relaxed);
        cells.checks.publish(&s.checks);
        cells.bytes_to_origin.store(s.bytes_to_origin, Ordering::Relaxed);
        cells.bytes_to_client.store(s.bytes_from_origin, Ordering::Relaxed);
        cells.up.store(u64::from(report.up), Ordering::Relaxed);
    }
}

/// Logs every origin health change the shard reported since the last call, at info.
pub(crate) fn log_health(worker: usize, shard: &mut Shard) {
    while let Some(event) = shard.poll_health_event() {
        let pipeline = shard.service_name(event.service).unwrap_or("?");
        log_change(worker, pipeline, &event);
    }
}

fn log_change(worker: usize, pipeline: &str, event: &HealthEvent) {
    let origin = event.origin;
    match event.change {
        HealthChange::Ejected { backoff, failures } => {
            let backoff = format_duration(backoff);
            info!(target: "netreaktor", worker, pipeline, %origin, failures, backoff, "origin ejected");
        }
        HealthChange::Trial => {
            info!(target: "netreaktor", worker, pipeline, %origin, "origin back-off over, trial connection");
        }
        HealthChange::Restored => {
            info!(target: "netreaktor", worker, pipeline, %origin, "origin restored");
        }
    }
}

/// The first pipeline (in configuration order) none of whose origins is up on any worker:
/// every worker ejected every one of them, so `/readyz` tells the balancer to look
/// elsewhere. `None` while each pipeline has an origin up somewhere.
pub(crate) fn pipeline_without_origin_up(workers: &[Arc<WorkerMetrics>]) -> Option<String> {
    let mut pipelines: Vec<(&str, bool)> = Vec::new();
    let sets: Vec<Arc<[OriginCells]>> = workers.iter().map(|w| w.origins.current()).collect();
    for cells in sets.iter().flat_map(|s| s.iter()) {
        let up = WorkerMetrics::get(&cells.up) == 1;
        match pipelines.iter_mut().find(|(name, _)| *name == cells.pipeline) {
            Some((_, any)) => *any |= up,
            None => pipelines.push((&cells.pipeline, up)),
        }
    }
    pipelines.into_iter().find(|&(_, any)| !any).map(|(name, _)| name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pipeline is down only when every worker ejected every one of its origins.
    #[test]
    fn a_pipeline_is_down_when_no_worker_has_an_origin_up() {
        let a: SocketAddr = "10.0.0.1:80".parse().expect("address");
        let b: SocketAddr = "10.0.0.2:80".parse().expect("address");
        let worker = || {
            let cells = origin_cells([("web", &[a, b][..]), ("api", &[a][..])]);
            Arc::new(WorkerMetrics::with_origins(cells))
        };
        let workers = [worker(), worker()];
        assert_eq!(pipeline_without_origin_up(&workers), None);
        let down =
            |w: usize, i: usize| workers[w].origins.current()[i].up.store(0, Ordering::Relaxed);
        down(0, 0);
        down(0, 1);
        down(1, 0);
        assert_eq!(pipeline_without_origin_up(&workers), None, "web: b is up on worker 1");
        down(1, 1);
        assert_eq!(pipeline_without_origin_up(&workers).as_deref(), Some("web"));
        workers[0].origins.current()[2].up.store(0, Ordering::Relaxed);
        workers[1].origins.current()[2].up.store(0, Ordering::Relaxed);
        assert_eq!(pipeline_without_origin_up(&workers).as_deref(), Some("web"), "the first");
        workers[1].origins.current()[0].up.store(1, Ordering::Relaxed);
        assert_eq!(pipeline_without_origin_up(&workers).as_deref(), Some("api"));
    }

    #[test]
    fn cells_follow_the_configuration_order_and_start_up() {
        let a: SocketAddr = "10.0.0.1:80".parse().expect("address");
        let b: SocketAddr = "[2001:db8::1]:80".parse().expect("address");
        let cells = origin_cells([("web", &[a, b][..]), ("api", &[a][..])]);
        let got: Vec<_> = cells
            .iter()
            .map(|c| (c.pipeline.as_str(), c.origin, WorkerMetrics::get(&c.up)))
            .collect();
        assert_eq!(got, [("web", a, 1), ("web", b, 1), ("api", a, 1)]);
    }
}
