//! The per-origin families of `/metrics`, labelled `worker`, `pipeline` and `origin` (the
//! socket address as configured): connect attempts, failures by reason, connections
//! established, and `netreaktor_origin_up` (1 while the worker's passive health lets the
//! origin take connections, 0 while it is ejected or on trial). Names and help texts are
//! read by dashboards and alert rules: change them only deliberately.

use std::fmt::Write as _;
use std::sync::atomic::AtomicU64;

use super::Kind::{self, Counter, Gauge};
use super::Shared;
use crate::worker::metrics::{LabelledCells, WorkerMetrics};
use crate::worker::origins::OriginCells;

/// How a family reads one origin's cells.
enum Read {
    Cell(fn(&OriginCells) -> &AtomicU64),
    /// One sample per value of the `reason` label.
    Reasons(fn(&OriginCells) -> &dyn LabelledCells),
}

/// The per-origin families, in the order `/metrics` lists them: (name without
/// `netreaktor_`, help, type, read).
const FAMILIES: [(&str, &str, Kind, Read); 4] = [
    (
        "origin_connect_attempts_total",
        "Origin connect attempts (SYNs sent), retries included, per origin",
        Counter,
        Read::Cell(|o| &o.attempts),
    ),
    (
        "origin_connect_failures_total",
        "Origin connect attempts that failed, per origin and reason",
        Counter,
        Read::Reasons(|o| &o.failures),
    ),
    (
        "origin_connections_established_total",
        "Origin connections established, per origin",
        Counter,
        Read::Cell(|o| &o.established),
    ),
    (
        "origin_up",
        "Whether the worker sends new connections to the origin: 1 up, 0 ejected by passive health",
        Gauge,
        Read::Cell(|o| &o.up),
    ),
];

/// The names of the per-origin families, without `netreaktor_` (tests, docs).
#[cfg(test)]
pub(crate) fn names() -> impl Iterator<Item = &'static str> {
    FAMILIES.iter().map(|f| f.0)
}

/// Every per-origin family, worker by worker.
pub(crate) fn render(shared: &Shared, out: &mut String) {
    for (name, help, kind, read) in &FAMILIES {
        let _ = writeln!(
            out,
            "# HELP netreaktor_{name} {help}.\n# TYPE netreaktor_{name} {}",
            kind.name()
        );
        for (i, w) in shared.workers.iter().enumerate() {
            for o in w.origins.current().iter() {
                let labels =
                    format!("worker=\"{i}\",pipeline=\"{}\",origin=\"{}\"", o.pipeline, o.origin);
                render_one(out, name, &labels, read, o);
            }
        }
    }
}

fn render_one(out: &mut String, name: &str, labels: &str, read: &Read, o: &OriginCells) {
    match read {
        Read::Cell(get) => {
            let value = WorkerMetrics::get(get(o));
            let _ = writeln!(out, "netreaktor_{name}{{{labels}}} {value}");
        }
        Read::Reasons(get) => {
            for (reason, value) in get(o).labelled() {
                let _ = writeln!(out, "netreaktor_{name}{{{labels},reason=\"{reason}\"}} {value}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each family is typed once and has a sample per worker and origin, labelled with both.
    #[test]
    fn every_family_has_a_sample_per_worker_and_origin() {
        let text = crate::metrics::render(&super::super::sample());
        for name in names() {
            let full = format!("netreaktor_{name}");
            assert_eq!(text.matches(&format!("# TYPE {full} ")).count(), 1, "{name}");
            let samples: Vec<_> =
                text.lines().filter(|l| l.starts_with(&format!("{full}{{"))).collect();
            let reasons = if name.contains("failures") { 4 } else { 1 };
            assert_eq!(samples.len(), 2 * 2 * reasons, "{name}: {samples:?}");
            assert!(samples.iter().all(|l| l.contains(",pipeline=\"web\",origin=\"")), "{name}");
        }
        let ejected =
            "netreaktor_origin_up{worker=\"1\",pipeline=\"web\",origin=\"[2001:db8::12]:8080\"} 0";
        assert!(text.lines().any(|l| l == ejected), "{text}");
    }
}
