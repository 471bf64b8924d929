//! A reload's new configuration reaching a worker (docs/operations.md, "Reload"). The control
//! thread checks the new file, builds one [`ShardUpdate`] per worker and sends it on the
//! worker's channel; the worker takes it between batches (when it publishes, about every
//! 10 ms: no lock and no allocation on its data path) and hands the services to its shard
//! ([`Shard::reconfigure`](netreaktor_pipeline::shard::Shard::reconfigure)). It then
//! publishes into the new origin cells, takes the new next-hop board if the origins' addresses
//! changed, and says which generation it runs (`WorkerMetrics::generation`), which the
//! control thread waits for before it reports the reload applied.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use netreaktor_pipeline::shard::ServiceConfig;

use super::Worker;
use super::connlog::ConnLog;
use super::link::NextHopBoard;
use super::origins::{OriginCells, publish_origins};

/// What a worker takes from a reload.
#[derive(Debug)]
pub(crate) struct ShardUpdate {
    /// The configuration generation it brings.
    pub(crate) generation: u64,
    /// The services, as [`ShardConfig::services`](netreaktor_pipeline::shard::ShardConfig).
    pub(crate) services: Vec<ServiceConfig>,
    /// The origin cells of the new services (their origins, in order).
    pub(crate) origins: Arc<[OriginCells]>,
    /// A new next-hop board, when the origins' addresses changed.
    pub(crate) next_hops: Option<Arc<NextHopBoard>>,
    /// The connection log's settings (log level and `log.connections`).
    pub(crate) log_connections: bool,
    pub(crate) log_ends_per_second: u64,
}

impl Worker {
    /// Applies every update the control thread sent since the last call.
    pub(super) fn take_updates(&mut self) {
        while let Ok(update) = self.updates.try_recv() {
            self.apply(update);
        }
    }

    fn apply(&mut self, u: ShardUpdate) {
        let names: Vec<String> = u.services.iter().map(|s| s.name.clone()).collect();
        if let Err(error) = self.shard.reconfigure(u.services) {
            // The control thread checked the same rules: this is a bug, and this worker
            // keeps the configuration it runs.
            tracing::error!(target: "netreaktor", worker = self.id, generation = u.generation, "reload not applied: {error}");
            self.metrics.generation_refused.store(u.generation, Ordering::Relaxed);
            return;
        }
        publish_origins(&u.origins, &self.shard);
        self.metrics.origins.replace(Arc::clone(&u.origins));
        self.origins = u.origins;
        if let Some(board) = u.next_hops {
            self.next_hops = (board, None);
            self.take_next_hops();
        }
        self.connlog.finish();
        self.connlog = ConnLog::new(self.id, names, u.log_ends_per_second, u.log_connections);
        self.metrics.generation.store(u.generation, Ordering::Relaxed);
    }
}
