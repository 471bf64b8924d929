//! What a worker publishes for the control thread: its counters, copied into atomics every
//! few milliseconds (the data path never waits on a reader), read by `/metrics`.

use std::sync::atomic::{AtomicU64, Ordering};

use netreaktor_pipeline::proxy::SplicePhase;
use netreaktor_pipeline::shard::{
    BUCKETS, Census, END_KINDS, FALLBACK_KINDS, Histogram, JOIN_REFUSAL_KINDS, ShardStats,
};

/// One worker's published counters.
#[derive(Debug, Default)]
pub(crate) struct WorkerMetrics {
    pub(crate) frames_received: AtomicU64,
    pub(crate) handed_off: AtomicU64,
    pub(crate) handoff_dropped: AtomicU64,
    pub(crate) dropped_malformed: AtomicU64,
    pub(crate) dropped_checksum: AtomicU64,
    pub(crate) dropped_not_tcp: AtomicU64,
    pub(crate) unmatched: AtomicU64,
    pub(crate) accepted: AtomicU64,
    pub(crate) refused_limit: AtomicU64,
    pub(crate) active: AtomicU64,
    pub(crate) origin_attempts: AtomicU64,
    pub(crate) origin_retries: AtomicU64,
    pub(crate) ended: [AtomicU64; END_KINDS],
    pub(crate) bytes_to_origin: AtomicU64,
    pub(crate) bytes_to_client: AtomicU64,
    pub(crate) frames_sent: AtomicU64,
    pub(crate) tx_full: AtomicU64,
    pub(crate) no_neighbour: AtomicU64,
    pub(crate) ports_exhausted: AtomicU64,
    pub(crate) time_wait_reused: AtomicU64,
    pub(crate) joins_refused: AtomicU64,
    pub(crate) replies_dropped: AtomicU64,
    pub(crate) loops: AtomicU64,
    pub(crate) sleeps: AtomicU64,
    pub(crate) mptcp_connections: AtomicU64,
    pub(crate) refused_draining: AtomicU64,
    /// Connections not finished yet, published while draining.
    pub(crate) unfinished: AtomicU64,
    /// Connections held by phase, MPTCP connections held and their live subflows (the
    /// shard's census, kept as connections settle).
    pub(crate) phases: [AtomicU64; SplicePhase::NAMES.len()],
    pub(crate) mptcp_active: AtomicU64,
    pub(crate) subflows: AtomicU64,
    pub(crate) mptcp_fallback: [AtomicU64; FALLBACK_KINDS],
    pub(crate) joins_accepted: AtomicU64,
    pub(crate) joins_refused_by: [AtomicU64; JOIN_REFUSAL_KINDS],
    pub(crate) potentially_failed: AtomicU64,
    pub(crate) reinjected_bytes: AtomicU64,
    pub(crate) data_fin_gave_up: AtomicU64,
    pub(crate) setup: HistogramCells,
    pub(crate) handover_stall: HistogramCells,
}

/// A published [`Histogram`]: observations per bucket (not cumulative) and their sum.
#[derive(Debug, Default)]
pub(crate) struct HistogramCells {
    pub(crate) counts: [AtomicU64; BUCKETS],
    pub(crate) sum_micros: AtomicU64,
}

impl HistogramCells {
    fn publish(&self, h: &Histogram) {
        for (cell, &n) in self.counts.iter().zip(&h.counts) {
            set(cell, n);
        }
        set(&self.sum_micros, h.sum_micros);
    }

    /// A snapshot (the cells are read one by one, so it may straddle a publication).
    pub(crate) fn read(&self) -> Histogram {
        let mut h =
            Histogram { sum_micros: self.sum_micros.load(Ordering::Relaxed), ..Default::default() };
        for (n, cell) in h.counts.iter_mut().zip(&self.counts) {
            *n = cell.load(Ordering::Relaxed);
        }
        h
    }
}

/// Worker-side counters the shard does not keep.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct LoopStats {
    pub(crate) frames_received: u64,
    pub(crate) handed_off: u64,
    pub(crate) handoff_dropped: u64,
    pub(crate) frames_sent: u64,
    pub(crate) tx_full: u64,
    pub(crate) loops: u64,
    pub(crate) sleeps: u64,
}

impl LoopStats {
    /// Counts a hand-off attempt.
    pub(crate) fn count_handoff(&mut self, sent: bool) {
        if sent {
            self.handed_off += 1;
        } else {
            self.handoff_dropped += 1;
        }
    }
}

fn set(cell: &AtomicU64, value: u64) {
    cell.store(value, Ordering::Relaxed);
}

impl WorkerMetrics {
    /// Publishes a snapshot.
    pub(crate) fn publish(&self, shard: &ShardStats, own: &LoopStats, no_neighbour: u64) {
        set(&self.frames_received, own.frames_received);
        set(&self.handed_off, own.handed_off);
        set(&self.handoff_dropped, own.handoff_dropped);
        set(&self.dropped_malformed, shard.dropped_malformed);
        set(&self.dropped_checksum, shard.dropped_checksum);
        set(&self.dropped_not_tcp, shard.dropped_not_tcp);
        set(&self.unmatched, shard.unmatched);
        set(&self.accepted, shard.accepted);
        set(&self.refused_limit, shard.refused_limit);
        set(&self.active, shard.active);
        set(&self.origin_attempts, shard.origin_attempts);
        set(&self.origin_retries, shard.origin_retries);
        for (cell, &value) in self.ended.iter().zip(&shard.ended) {
            set(cell, value);
        }
        set(&self.bytes_to_origin, shard.bytes_to_origin);
        set(&self.bytes_to_client, shard.bytes_to_client);
        set(&self.frames_sent, own.frames_sent);
        set(&self.tx_full, own.tx_full);
        set(&self.no_neighbour, no_neighbour);
        set(&self.ports_exhausted, shard.ports_exhausted);
        set(&self.time_wait_reused, shard.time_wait_reused);
        set(&self.joins_refused, shard.joins_refused);
        set(&self.refused_draining, shard.refused_draining);
        let m = &shard.mptcp;
        set(&self.mptcp_connections, m.connections);
        for (cell, &value) in self.mptcp_fallback.iter().zip(&m.fallback) {
            set(cell, value);
        }
        set(&self.joins_accepted, m.joins_accepted);
        for (cell, &value) in self.joins_refused_by.iter().zip(&m.joins_refused) {
            set(cell, value);
        }
        set(&self.potentially_failed, m.potentially_failed);
        set(&self.reinjected_bytes, m.reinjected_bytes);
        set(&self.data_fin_gave_up, m.data_fin_gave_up);
        self.setup.publish(&shard.setup);
        self.handover_stall.publish(&m.handover_stall);
        set(&self.replies_dropped, shard.replies_dropped);
        set(&self.loops, own.loops);
        set(&self.sleeps, own.sleeps);
    }

    /// Publishes the gauges of a census.
    pub(crate) fn publish_census(&self, census: &Census) {
        for (cell, &n) in self.phases.iter().zip(&census.phases) {
            set(cell, n as u64);
        }
        set(&self.mptcp_active, census.mptcp_connections as u64);
        set(&self.subflows, census.subflows as u64);
    }

    pub(crate) fn get(cell: &AtomicU64) -> u64 {
        cell.load(Ordering::Relaxed)
    }
}

/// Every published cell set to a distinct value, for the rendering tests.
#[cfg(test)]
pub(crate) fn sample(worker: u64) -> WorkerMetrics {
    let m = WorkerMetrics::default();
    let mut next = worker * 1000;
    let mut put = |cell: &AtomicU64| {
        next += 1;
        set(cell, next);
    };
    for cell in [
        &m.frames_received,
        &m.handed_off,
        &m.handoff_dropped,
        &m.dropped_malformed,
        &m.dropped_checksum,
        &m.dropped_not_tcp,
        &m.unmatched,
        &m.accepted,
        &m.refused_limit,
        &m.active,
        &m.origin_attempts,
        &m.origin_retries,
        &m.bytes_to_origin,
        &m.bytes_to_client,
        &m.frames_sent,
        &m.tx_full,
        &m.no_neighbour,
        &m.ports_exhausted,
        &m.time_wait_reused,
        &m.joins_refused,
        &m.replies_dropped,
        &m.loops,
        &m.sleeps,
        &m.mptcp_connections,
        &m.refused_draining,
        &m.unfinished,
        &m.mptcp_active,
        &m.subflows,
        &m.joins_accepted,
        &m.potentially_failed,
        &m.reinjected_bytes,
        &m.data_fin_gave_up,
    ] {
        put(cell);
    }
    let arrays: [&[AtomicU64]; 7] = [
        &m.ended,
        &m.phases,
        &m.mptcp_fallback,
        &m.joins_refused_by,
        &m.setup.counts,
        &m.handover_stall.counts,
        std::slice::from_ref(&m.setup.sum_micros),
    ];
    for cell in arrays.into_iter().flatten() {
        put(cell);
    }
    put(&m.handover_stall.sum_micros);
    m
}
