//! Each origin as a worker sees it, published for `/metrics`: connect attempts, failures by
//! reason, connections established and the up gauge of passive health, per pipeline and
//! origin (`crate::telemetry::origins` renders them). The worker also logs its shard's origin
//! health changes here, at info: ejected, trial, restored. Health is per worker (each shard
//! has its own picker), so every line and sample names its worker.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use netreaktor_pipeline::proxy::HealthChange;
use netreaktor_pipeline::shard::{HealthEvent, OriginFailure, Shard};
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
            up: AtomicU64::new(1),
        }
    }
}

/// The cells of every origin of every pipeline, in configuration order (the order of
/// [`Shard::origins`]).
pub(crate) fn origin_cells<'a>(
    services: impl IntoIterator<Item = (&'a str, &'a [SocketAddr])>,
) -> Box<[OriginCells]> {
    let each = services.into_iter().flat_map(|(name, origins)| {
        origins.iter().map(move |&origin| OriginCells::new(name, origin))
    });
    each.collect()
}

impl WorkerMetrics {
    /// A worker's cells, with `origins` (from [`origin_cells`]).
    pub(crate) fn with_origins(origins: Box<[OriginCells]>) -> WorkerMetrics {
        WorkerMetrics { origins, ..WorkerMetrics::default() }
    }

    /// Publishes the shard's per-origin counters and health.
    pub(crate) fn publish_origins(&self, shard: &Shard) {
        for (cells, report) in self.origins.iter().zip(shard.origins()) {
            let s = report.stats;
            cells.attempts.store(s.attempts, Ordering::Relaxed);
            cells.failures.publish(&s.failures);
            cells.established.store(s.established, Ordering::Relaxed);
            cells.up.store(u64::from(report.up), Ordering::Relaxed);
        }
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

#[cfg(test)]
mod tests {
    use super::*;

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
