//! What a worker publishes for the control thread: its counters, copied into atomics every
//! few milliseconds (the data path never waits on a reader), read by `/metrics` and
//! `/status` through the table of `crate::telemetry`.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use netreaktor_pipeline::proxy::SplicePhase;

use crate::afxdp::{KernelCounters, SocketEvent};
use netreaktor_pipeline::shard::{
    BUCKETS, BufferStats, Census, CookieCheck, Counts, EndKind, Fallback, FrameDrop, Histogram,
    JoinRefusal, Reason, ShardStats, SynAnswer, SynDrop, SynStats,
};

/// One worker's published counters. Their exported names, help texts and places in
/// `/status` are in [`crate::telemetry::METRICS`]; the cells follow [`ShardStats`] and
/// [`LoopStats`] field for field unless said.
#[derive(Debug, Default)]
pub(crate) struct WorkerMetrics {
    pub(crate) frames_received: AtomicU64,
    pub(crate) handed_off: AtomicU64,
    pub(crate) handoff_dropped: AtomicU64,
    pub(crate) dropped: Cells<FrameDrop>,
    pub(crate) unmatched: AtomicU64,
    pub(crate) accepted: AtomicU64,
    pub(crate) refused_limit: AtomicU64,
    pub(crate) active: AtomicU64,
    pub(crate) origin_attempts: AtomicU64,
    pub(crate) origin_retries: AtomicU64,
    pub(crate) ended: Cells<EndKind>,
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
    pub(crate) phases: Cells<SplicePhase>,
    pub(crate) mptcp_active: AtomicU64,
    pub(crate) subflows: AtomicU64,
    pub(crate) mptcp_fallback: Cells<Fallback>,
    pub(crate) joins_accepted: AtomicU64,
    pub(crate) joins_refused_by: Cells<JoinRefusal>,
    pub(crate) potentially_failed: AtomicU64,
    pub(crate) reinjected_bytes: AtomicU64,
    pub(crate) data_fin_gave_up: AtomicU64,
    pub(crate) setup: HistogramCells,
    pub(crate) handover_stall: HistogramCells,
    /// Finished connections held as compact TIME-WAIT entries, both sides.
    pub(crate) time_wait_entries: AtomicU64,
    /// Client SYNs that reopened a 4-tuple held in TIME-WAIT (RFC 6191).
    pub(crate) time_wait_reopened: AtomicU64,
    /// The kernel's `XDP_STATISTICS` of the worker's sockets, summed.
    pub(crate) socket_events: Cells<SocketEvent>,
    /// The listeners' SYNs (the shard's [`SynStats`]).
    pub(crate) syns_received: AtomicU64,
    pub(crate) syn_answers: Cells<SynAnswer>,
    pub(crate) syns_dropped: Cells<SynDrop>,
    pub(crate) cookie_checks: Cells<CookieCheck>,
    pub(crate) half_open: AtomicU64,
    /// The shard's buffer budget (its [`BufferStats`]): bytes held, the budget, pressure (0
    /// or 1) and the times it began.
    pub(crate) buffer_bytes: AtomicU64,
    pub(crate) buffer_budget: AtomicU64,
    pub(crate) memory_pressure: AtomicU64,
    pub(crate) memory_pressure_entries: AtomicU64,
    /// The configuration generation the worker runs, set once it applied a reload's update
    /// (`update.rs`); 0 until the first.
    pub(crate) generation: AtomicU64,
    /// The generation of an update the worker could not apply.
    pub(crate) generation_refused: AtomicU64,
    /// Per origin of each pipeline (`origins.rs`).
    pub(crate) origins: super::origins::OriginSet,
}

/// Published [`Counts`] of reason family `E`: one cell per reason, in [`Reason::EACH`]
/// order.
pub(crate) struct Cells<E: Reason> {
    cells: Box<[AtomicU64]>,
    family: std::marker::PhantomData<E>,
}

impl<E: Reason> Default for Cells<E> {
    fn default() -> Self {
        let cells = E::EACH.iter().map(|_| AtomicU64::new(0)).collect();
        Cells { cells, family: std::marker::PhantomData }
    }
}

impl<E: Reason> Cells<E> {
    /// Publishes `counts`.
    pub(crate) fn publish(&self, counts: &Counts<E>) {
        self.publish_each(counts.iter());
    }

    /// Publishes a value per reason.
    fn publish_each(&self, values: impl Iterator<Item = (E, u64)>) {
        for (reason, value) in values {
            if let Some(cell) = self.cells.get(reason.index()) {
                set(cell, value);
            }
        }
    }

    /// The cell of `reason` (the tests set cells one by one).
    #[cfg(test)]
    pub(crate) fn cell(&self, reason: E) -> Option<&AtomicU64> {
        self.cells.get(reason.index())
    }
}

impl<E: Reason> fmt::Debug for Cells<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.labelled()).finish()
    }
}

/// Published cells with a label value each, whatever their reason family.
pub(crate) trait LabelledCells {
    /// Each label value and its cell's value, in the family's order.
    fn labelled(&self) -> Vec<(&'static str, u64)>;
}

impl<E: Reason> LabelledCells for Cells<E> {
    fn labelled(&self) -> Vec<(&'static str, u64)> {
        E::EACH.iter().zip(self.cells.iter()).map(|(e, cell)| (e.name(), get(cell))).collect()
    }
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
    pub(crate) fn publish(&self, shard: &ShardStats, own: &LoopStats) {
        set(&self.frames_received, own.frames_received);
        set(&self.handed_off, own.handed_off);
        set(&self.handoff_dropped, own.handoff_dropped);
        self.dropped.publish(&shard.dropped);
        set(&self.unmatched, shard.unmatched);
        set(&self.accepted, shard.accepted);
        set(&self.refused_limit, shard.refused_limit);
        set(&self.active, shard.active);
        set(&self.origin_attempts, shard.origin_attempts);
        set(&self.origin_retries, shard.origin_retries);
        self.ended.publish(&shard.ended);
        set(&self.bytes_to_origin, shard.bytes_to_origin);
        set(&self.bytes_to_client, shard.bytes_to_client);
        set(&self.frames_sent, own.frames_sent);
        set(&self.tx_full, own.tx_full);
        set(&self.no_neighbour, shard.no_neighbour);
        set(&self.ports_exhausted, shard.ports_exhausted);
        set(&self.time_wait_reused, shard.time_wait_reused);
        set(&self.joins_refused, shard.joins_refused);
        set(&self.refused_draining, shard.refused_draining);
        let m = &shard.mptcp;
        set(&self.mptcp_connections, m.connections);
        self.mptcp_fallback.publish(&m.fallback);
        set(&self.joins_accepted, m.joins_accepted);
        self.joins_refused_by.publish(&m.joins_refused);
        set(&self.potentially_failed, m.potentially_failed);
        set(&self.reinjected_bytes, m.reinjected_bytes);
        set(&self.data_fin_gave_up, m.data_fin_gave_up);
        self.setup.publish(&shard.setup);
        self.handover_stall.publish(&m.handover_stall);
        set(&self.replies_dropped, shard.replies_dropped);
        set(&self.loops, own.loops);
        set(&self.sleeps, own.sleeps);
    }

    /// Publishes the TIME-WAIT tables' size and the client SYNs that reopened a 4-tuple.
    pub(crate) fn publish_time_wait(&self, entries: usize, reopened: u64) {
        set(&self.time_wait_entries, entries as u64);
        set(&self.time_wait_reopened, reopened);
    }

    /// Publishes what the listeners did with SYNs.
    pub(crate) fn publish_syns(&self, syns: &SynStats) {
        set(&self.syns_received, syns.received);
        self.syn_answers.publish(&syns.answered);
        self.syns_dropped.publish(&syns.dropped);
        self.cookie_checks.publish(&syns.cookies);
        set(&self.half_open, syns.half_open as u64);
    }

    /// Publishes the buffer bytes held against the budget and the pressure state.
    pub(crate) fn publish_buffers(&self, buffers: &BufferStats) {
        set(&self.buffer_bytes, buffers.bytes);
        set(&self.buffer_budget, buffers.limit);
        set(&self.memory_pressure, u64::from(buffers.pressure));
        set(&self.memory_pressure_entries, buffers.pressure_entries);
    }

    /// Publishes the kernel's counters of the worker's sockets, summed.
    pub(crate) fn publish_sockets(&self, kernel: &KernelCounters) {
        self.socket_events.publish_each(kernel.each().into_iter());
    }

    /// Publishes the gauges of a census.
    pub(crate) fn publish_census(&self, census: &Census) {
        let phases = SplicePhase::ALL.into_iter().zip(census.phases);
        self.phases.publish_each(phases.map(|(phase, n)| (phase, n as u64)));
        set(&self.mptcp_active, census.mptcp_connections as u64);
        set(&self.subflows, census.subflows as u64);
    }

    /// The value of one of its cells.
    pub(crate) fn get(cell: &AtomicU64) -> u64 {
        get(cell)
    }
}

fn get(cell: &AtomicU64) -> u64 {
    cell.load(Ordering::Relaxed)
}

/// Every published cell set to a distinct value, for the rendering tests.
#[cfg(test)]
pub(crate) fn sample(worker: u64) -> WorkerMetrics {
    let origins = ["10.50.0.11:8080", "[2001:db8::12]:8080"].map(|o| o.parse().expect("address"));
    let m = WorkerMetrics::with_origins(super::origins::origin_cells([("web", &origins[..])]));
    let mut next = worker * 1000;
    let mut put = |cell: &AtomicU64| {
        next += 1;
        set(cell, next);
    };
    for cell in [
        &m.frames_received,
        &m.handed_off,
        &m.handoff_dropped,
        m.dropped.cell(FrameDrop::Malformed).expect("one cell per reason"),
        m.dropped.cell(FrameDrop::Checksum).expect("one cell per reason"),
        m.dropped.cell(FrameDrop::NotTcp).expect("one cell per reason"),
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
    let arrays: [&[AtomicU64]; 8] = [
        &m.ended.cells,
        &m.phases.cells,
        &m.mptcp_fallback.cells,
        &m.joins_refused_by.cells,
        &m.setup.counts,
        &m.handover_stall.counts,
        std::slice::from_ref(&m.setup.sum_micros),
        &m.socket_events.cells,
    ];
    for cell in arrays.into_iter().flatten() {
        put(cell);
    }
    put(&m.handover_stall.sum_micros);
    put(&m.time_wait_entries);
    put(&m.time_wait_reopened);
    for o in m.origins.current().iter() {
        put(&o.attempts);
        o.failures.cells.iter().for_each(&mut put);
        put(&o.established);
    }
    put(&m.syns_received);
    let syn_cells = [&m.syn_answers.cells, &m.syns_dropped.cells, &m.cookie_checks.cells];
    syn_cells.into_iter().flat_map(|c| c.iter()).for_each(&mut put);
    put(&m.half_open);
    for o in m.origins.current().iter() {
        o.checks.cells.iter().for_each(&mut put);
        put(&o.bytes_to_origin);
        put(&o.bytes_to_client);
    }
    put(&m.buffer_bytes);
    put(&m.buffer_budget);
    set(&m.memory_pressure, 1);
    put(&m.memory_pressure_entries);
    // The up gauge is 1 or 0: the second origin is ejected.
    if let Some(o) = m.origins.current().get(1) {
        set(&o.up, 0);
    }
    m
}
