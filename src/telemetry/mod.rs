//! What the appliance reports, described once: the state the control thread reads
//! ([`Shared`]: the workers' published cells, the steering programs' counters, readiness) and
//! the table of exported per-worker metrics ([`METRICS`]: name, help, type, how to read it
//! from a worker's cells, where `/status` shows it). `/metrics` (`crate::metrics`, encoded by
//! `prometheus-client`), the `/status` JSON and `netreaktor status` (`crate::status`) iterate
//! the table; none of them lists counters of its own. The per-origin families, whose label
//! sets follow the configured origins, are listed apart ([`origins`]).

pub(crate) mod origins;
pub(crate) mod process;
pub(crate) mod reload;
mod table;

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};

pub(crate) use process::ProcessSource;
#[cfg(test)]
pub(crate) use process::ProcessStats;
pub(crate) use table::METRICS;

use crate::build_info::BuildInfo;
use crate::worker::metrics::{HistogramCells, LabelledCells, WorkerMetrics};
use crate::xdp::{Counter, Counters};

/// What the endpoint reports.
#[derive(Debug)]
pub(crate) struct Shared {
    /// Per worker: the cells it publishes.
    pub(crate) workers: Vec<Arc<WorkerMetrics>>,
    /// Per steering program: its interface and its counters in `Counter::ALL` order, copied
    /// by the control thread about once a second.
    pub(crate) steering: Vec<(String, [AtomicU64; Counter::ALL.len()])>,
    /// Per steering program: its interface and the XDP mode in use.
    pub(crate) xdp_modes: Vec<(String, String)>,
    /// Whether the appliance takes new connections: what `/readyz` answers.
    pub(crate) readiness: Arc<Readiness>,
    /// What this binary is (`netreaktor_build_info`).
    pub(crate) build: BuildInfo,
    /// Where the `process_*` figures come from.
    pub(crate) process: ProcessSource,
    /// Configuration reloads ([`reload`]).
    pub(crate) reload: Arc<reload::ReloadState>,
}

/// The appliance's phase as a load balancer sees it through `/readyz`: ready only between the
/// end of start-up and the first moment of a drain or stop. Set by the control thread (start-up
/// and stop) and the signal thread (SIGTERM, SIGINT).
#[derive(Debug, Default)]
pub(crate) struct Readiness(AtomicU8);

/// A phase of [`Readiness`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Start-up has not finished: steering, workers or the endpoint are not all up yet.
    Starting,
    /// Every worker runs, every socket is in the steering maps: new connections are taken.
    Ready,
    /// SIGTERM: new connections are refused (or about to be), the ones held may finish.
    Draining,
    /// Stopping: every connection is reset, the programs are detached.
    Stopping,
}

impl Readiness {
    const PHASES: [Phase; 4] = [Phase::Starting, Phase::Ready, Phase::Draining, Phase::Stopping];

    /// A readiness in `phase` (tests; the appliance starts at [`Phase::Starting`]).
    #[cfg(test)]
    pub(crate) fn new(phase: Phase) -> Self {
        Readiness(AtomicU8::new(phase as u8))
    }

    /// The current phase.
    pub(crate) fn phase(&self) -> Phase {
        Self::PHASES[usize::from(self.0.load(Ordering::SeqCst)) % Self::PHASES.len()]
    }

    /// Whether `/readyz` answers 200.
    pub(crate) fn is_ready(&self) -> bool {
        self.phase() == Phase::Ready
    }

    /// Start-up completed: ready, unless a signal already began a drain or a stop.
    pub(crate) fn set_ready(&self) {
        let (from, to) = (Phase::Starting as u8, Phase::Ready as u8);
        let _ = self.0.compare_exchange(from, to, Ordering::SeqCst, Ordering::SeqCst);
    }

    /// A drain begins: not ready from now on (unless already stopping).
    pub(crate) fn set_draining(&self) {
        self.0.fetch_max(Phase::Draining as u8, Ordering::SeqCst);
    }

    /// A stop begins: not ready from now on.
    pub(crate) fn set_stopping(&self) {
        self.0.store(Phase::Stopping as u8, Ordering::SeqCst);
    }
}

impl Shared {
    /// Copies the counters of the steering program on `interface`.
    pub(crate) fn set_steering(&self, interface: &str, counters: &Counters) {
        if let Some((_, cells)) = self.steering.iter().find(|(name, _)| name == interface) {
            for (cell, counter) in cells.iter().zip(Counter::ALL) {
                cell.store(counters.get(counter), Ordering::Relaxed);
            }
        }
    }
}

/// One exported per-worker metric.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Metric {
    /// Its Prometheus name without the `netreaktor_` prefix.
    pub(crate) name: &'static str,
    /// Its Prometheus help text, without the final period.
    pub(crate) help: &'static str,
    /// Its Prometheus type.
    pub(crate) kind: Kind,
    /// How to read it from a worker's cells.
    pub(crate) read: Read,
    /// Where `/status` shows it.
    pub(crate) status: InStatus,
}

/// A Prometheus metric type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Monotonic; its name ends in `_total` (the series name: the OpenMetrics family name is
    /// the same without it, `crate::metrics::family`).
    Counter,
    /// A value now.
    Gauge,
    /// Durations in buckets, with their sum and count.
    Histogram,
}

impl Phase {
    /// Its name in `/status` and `netreaktor status`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Phase::Starting => "starting",
            Phase::Ready => "ready",
            Phase::Draining => "draining",
            Phase::Stopping => "stopping",
        }
    }
}

/// How a metric is read from a worker's published cells.
#[derive(Clone, Copy)]
pub(crate) enum Read {
    /// One cell.
    Cell(fn(&WorkerMetrics) -> &AtomicU64),
    /// One cell per value of the label named here (a reason family).
    Labelled(&'static str, fn(&WorkerMetrics) -> &dyn LabelledCells),
    /// A histogram.
    Histogram(fn(&WorkerMetrics) -> &HistogramCells),
}

impl std::fmt::Debug for Read {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Read::Cell(_) => f.write_str("Cell"),
            Read::Labelled(label, _) => write!(f, "Labelled({label})"),
            Read::Histogram(_) => f.write_str("Histogram"),
        }
    }
}

/// Where `/status` shows a metric. A labelled metric is an object by label value, or for
/// [`InStatus::DropReasons`] one key per label value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InStatus {
    /// Only in `/metrics`.
    No,
    /// This key of each worker's object.
    Worker(&'static str),
    /// This key of each worker's `drops` object.
    Drops(&'static str),
    /// Each label value a key of each worker's `drops` object.
    DropReasons,
    /// This key of `mptcp`, summed over the workers.
    Mptcp(&'static str),
    /// This key of `timings`: the workers' histograms merged, in brief.
    Timing(&'static str),
}

/// Two workers with every cell distinct and one steering program, for the rendering tests.
#[cfg(test)]
pub(crate) fn sample() -> Shared {
    use crate::worker::metrics::sample;
    Shared {
        workers: vec![Arc::new(sample(0)), Arc::new(sample(1))],
        steering: vec![("srv0".to_owned(), std::array::from_fn(|i| AtomicU64::new(i as u64)))],
        xdp_modes: vec![("srv0".to_owned(), "native".to_owned())],
        readiness: Arc::new(Readiness::new(Phase::Ready)),
        build: BuildInfo {
            version: "0.1.0",
            commit: "0123456789ab",
            commit_date: "2026-12-01",
            build_date: "2026-12-02",
            rustc: "1.95.0",
        },
        process: ProcessSource::Fixed(ProcessStats {
            cpu_seconds: 12.5,
            resident_bytes: 41_943_040,
            virtual_bytes: 2_147_483_648,
            open_fds: 23,
            max_fds: Some(1_048_576),
            threads: 5,
            start_time_seconds: 1_796_000_000.25,
        }),
        reload: Arc::default(),
    }
}

#[cfg(test)]
mod tests {
    use netreaktor_pipeline::proxy::SplicePhase;
    use netreaktor_pipeline::shard::{EndKind, Fallback, FrameDrop, JoinRefusal, Reason};

    use super::*;

    fn metric(name: &str) -> &'static Metric {
        METRICS.iter().find(|m| m.name == name).unwrap_or_else(|| panic!("no {name}"))
    }

    fn labels<E: Reason>() -> Vec<&'static str> {
        E::EACH.iter().map(|e| e.name()).collect()
    }

    /// A labelled metric's label name and values, as exported.
    fn exported(name: &str) -> (&'static str, Vec<&'static str>) {
        let w = WorkerMetrics::default();
        let Read::Labelled(label, get) = metric(name).read else { panic!("{name} has no label") };
        (label, get(&w).labelled().into_iter().map(|(value, _)| value).collect())
    }

    #[test]
    fn every_reason_family_is_exported_with_its_names() {
        assert_eq!(exported("frames_dropped_total"), ("reason", labels::<FrameDrop>()));
        assert_eq!(exported("connections"), ("state", labels::<SplicePhase>()));
        assert_eq!(exported("splices_ended_total"), ("end", labels::<EndKind>()));
        assert_eq!(exported("mptcp_fallbacks_total"), ("reason", labels::<Fallback>()));
        assert_eq!(exported("mptcp_joins_refused_total"), ("reason", labels::<JoinRefusal>()));
    }

    #[test]
    fn types_follow_names_and_reads() {
        for m in &METRICS {
            let histogram = matches!(m.read, Read::Histogram(_));
            assert_eq!(m.kind == Kind::Histogram, histogram, "{}", m.name);
            assert_eq!(m.kind == Kind::Counter, m.name.ends_with("_total"), "{}", m.name);
            assert!(!m.help.ends_with('.'), "{}", m.name);
        }
        for (i, m) in METRICS.iter().enumerate() {
            assert!(METRICS[..i].iter().all(|o| o.name != m.name), "{} twice", m.name);
        }
    }

    /// The names the test scripts and dashboards read.
    #[test]
    fn the_names_scripts_read_are_exported() {
        for name in [
            "frames_received_total",
            "frames_sent_total",
            "frames_handed_off_total",
            "frames_dropped_total",
            "connections_accepted_total",
            "connections_refused_draining_total",
            "connections",
            "unmatched_segments_total",
            "bytes_to_origin_total",
            "bytes_to_client_total",
            "splices_ended_total",
            "mptcp_connections_total",
            "mptcp_joins_accepted_total",
            "mptcp_joins_refused_total",
            "mptcp_fallbacks_total",
            "mptcp_potentially_failed_total",
            "mptcp_reinjected_bytes_total",
            "mptcp_handover_stall_seconds",
        ] {
            metric(name);
        }
    }
}

/// The dashboard and the alert rules in `configs/` read only metrics the appliance exports.
#[cfg(test)]
mod dashboards {
    use std::collections::BTreeSet;

    /// Every `netreaktor_*` and `process_*` name in `text`.
    fn referenced(text: &str) -> BTreeSet<&str> {
        let is_name = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_';
        let mut names = BTreeSet::new();
        for (i, _) in text.match_indices(['n', 'p']) {
            let before = text[..i].chars().next_back();
            if before.is_some_and(is_name) {
                continue;
            }
            let rest = &text[i..];
            let end = rest.find(|c: char| !is_name(c)).unwrap_or(rest.len());
            let name = &rest[..end];
            if name.starts_with("netreaktor_") || name.starts_with("process_") {
                names.insert(name);
            }
        }
        names
    }

    #[test]
    fn grafana_and_alerts_read_exported_metrics() {
        let text = crate::metrics::render_text(super::sample());
        let exported: BTreeSet<&str> = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split(['{', ' ']).next())
            .collect();
        let root = env!("CARGO_MANIFEST_DIR");
        for file in ["configs/grafana/netreaktor.json", "configs/prometheus/netreaktor-alerts.yml"]
        {
            let body = std::fs::read_to_string(format!("{root}/{file}")).expect("in the tree");
            let names = referenced(&body);
            assert!(names.len() >= 5, "{file} reads {names:?}");
            let missing: Vec<_> = names.difference(&exported).collect();
            assert!(missing.is_empty(), "{file} reads metrics that are not exported: {missing:?}");
        }
    }
}
