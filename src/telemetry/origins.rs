//! The per-origin families of `/metrics`, labelled `worker`, `pipeline` and `origin` (the
//! socket address as configured): connect attempts, failures by reason, connections
//! established, and `netreaktor_origin_up` (1 while the worker's passive health lets the
//! origin take connections, 0 while it is ejected or on trial). Names and help texts are
//! read by dashboards and alert rules: change them only deliberately.

use std::fmt;
use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::{DescriptorEncoder, MetricEncoder};

use super::Kind::{self, Counter, Gauge};
use super::Shared;
use crate::metrics::{family, sample};
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
pub(crate) fn encode(shared: &Shared, encoder: &mut DescriptorEncoder<'_>) -> fmt::Result {
    for (name, help, kind, read) in &FAMILIES {
        let mut family = family(encoder, name, help, *kind)?;
        for (i, w) in shared.workers.iter().enumerate() {
            let worker = i.to_string();
            for o in w.origins.current().iter() {
                let origin = o.origin.to_string();
                let labels =
                    [("worker", worker.as_str()), ("pipeline", &o.pipeline), ("origin", &origin)];
                encode_one(&mut family, (*kind, &labels), read, o)?;
            }
        }
    }
    Ok(())
}

/// One origin's samples of a family: one, or one per reason.
fn encode_one(
    family: &mut MetricEncoder<'_>,
    (kind, labels): (Kind, &[(&str, &str)]),
    read: &Read,
    o: &OriginCells,
) -> fmt::Result {
    match read {
        Read::Cell(get) => sample(family, kind, labels, WorkerMetrics::get(get(o))),
        Read::Reasons(get) => {
            for (reason, value) in get(o).labelled() {
                let labels: Vec<_> = labels.iter().copied().chain([("reason", reason)]).collect();
                sample(family, kind, &labels, value)?;
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each family is typed once and has a sample per worker and origin, labelled with both.
    #[test]
    fn every_family_has_a_sample_per_worker_and_origin() {
        let text = crate::metrics::render_text(super::super::sample());
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
