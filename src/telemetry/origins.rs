//! The per-origin families of `/metrics`, labelled `worker`, `pipeline` and `origin` (the
//! socket address as configured): connect attempts, failures by reason, connections
//! established, active health checks by result, bytes each way (counted as they flow), and
//! `netreaktor_origin_up` (1 while the worker's health lets the origin take connections, 0
//! while it is ejected or on trial). Names and help texts are
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
    /// One sample per value of the label named first.
    Labelled(&'static str, fn(&OriginCells) -> Vec<(&'static str, u64)>),
}

/// Bytes each way, by the `direction` label.
fn directions(o: &OriginCells) -> Vec<(&'static str, u64)> {
    let get = WorkerMetrics::get;
    vec![("to_origin", get(&o.bytes_to_origin)), ("to_client", get(&o.bytes_to_client))]
}

/// The per-origin families, in the order `/metrics` lists them: (name without
/// `netreaktor_`, help, type, read).
const FAMILIES: [(&str, &str, Kind, Read); 6] = [
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
        Read::Labelled("reason", |o| o.failures.labelled()),
    ),
    (
        "origin_connections_established_total",
        "Origin connections established, per origin",
        Counter,
        Read::Cell(|o| &o.established),
    ),
    (
        "origin_health_checks_total",
        "Active health checks of the origin (a SYN; a SYN,ACK is a success), per origin and result",
        Counter,
        Read::Labelled("result", |o| o.checks.labelled()),
    ),
    (
        "origin_bytes_total",
        "Bytes moved to and from the origin, counted as they flow, per origin and direction",
        Counter,
        Read::Labelled("direction", directions),
    ),
    (
        "origin_up",
        "Whether the worker sends new connections to the origin: 1 up, 0 ejected by health",
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
        Read::Labelled(label, get) => {
            for (value_of, value) in get(o) {
                let labels: Vec<_> = labels.iter().copied().chain([(*label, value_of)]).collect();
                sample(family, kind, &labels, value)?;
            }
            Ok(())
        }
    }
}

/// Every origin for `/status`, summed over the workers, in configuration order: its
/// pipeline and address, `state` (`up` on every worker, `down` on none, else `partial`),
/// the workers it is up on, and its counters (failures and checks by label value).
pub(crate) fn status(shared: &Shared) -> serde_json::Value {
    use serde_json::{Map, Value, json};
    let mut origins: Vec<(String, String, Map<String, Value>)> = Vec::new();
    for w in &shared.workers {
        for o in w.origins.current().iter() {
            let (pipeline, origin) = (o.pipeline.clone(), o.origin.to_string());
            let at = origins.iter().position(|(p, a, _)| *p == pipeline && *a == origin);
            let at = at.unwrap_or_else(|| {
                origins.push((pipeline, origin, Map::new()));
                origins.len() - 1
            });
            add_origin(&mut origins[at].2, o);
        }
    }
    let list = origins.into_iter().map(|(pipeline, origin, mut m)| {
        let (up, workers) = (count(&m, "up_workers"), count(&m, "workers"));
        let state = match up {
            0 => "down",
            n if n == workers => "up",
            _ => "partial",
        };
        m.insert("pipeline".to_owned(), json!(pipeline));
        m.insert("origin".to_owned(), json!(origin));
        m.insert("state".to_owned(), json!(state));
        Value::Object(m)
    });
    Value::Array(list.collect())
}

/// A number of `m`, 0 when absent.
fn count(m: &serde_json::Map<String, serde_json::Value>, key: &str) -> u64 {
    m.get(key).and_then(serde_json::Value::as_u64).unwrap_or(0)
}

/// Adds one worker's cells of an origin to its `/status` object.
fn add_origin(m: &mut serde_json::Map<String, serde_json::Value>, o: &OriginCells) {
    use serde_json::{Value, json};
    let get = WorkerMetrics::get;
    let mut add = |key: &str, n: u64| {
        let sum = count(m, key) + n;
        m.insert(key.to_owned(), json!(sum));
    };
    add("workers", 1);
    add("up_workers", get(&o.up));
    add("attempts", get(&o.attempts));
    add("established", get(&o.established));
    add("bytes_to_origin", get(&o.bytes_to_origin));
    add("bytes_to_client", get(&o.bytes_to_client));
    for (key, cells) in [("failures", o.failures.labelled()), ("checks", o.checks.labelled())] {
        let entry = m.entry(key).or_insert_with(|| json!({}));
        if let Value::Object(by) = entry {
            for (label, n) in cells {
                let sum = by.get(label).and_then(Value::as_u64).unwrap_or(0) + n;
                by.insert(label.to_owned(), json!(sum));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `/status` sums each origin over the workers and says where it is up.
    #[test]
    fn status_sums_origins_over_workers() {
        let s = status(&super::super::sample());
        let list = s.as_array().expect("a list");
        assert_eq!(list.len(), 2, "{s}");
        let v6 = list.iter().find(|o| o["origin"] == "[2001:db8::12]:8080").expect("v6");
        assert_eq!((v6["pipeline"].as_str(), v6["workers"].as_u64()), (Some("web"), Some(2)));
        assert_eq!((v6["state"].as_str(), v6["up_workers"].as_u64()), (Some("down"), Some(0)));
        let v4 = list.iter().find(|o| o["origin"] == "10.50.0.11:8080").expect("v4");
        assert_eq!(v4["state"], "up", "{v4}");
        assert!(v6["failures"]["refused"].is_u64() && v6["checks"]["timeout"].is_u64(), "{v6}");
    }

    /// Each family is typed once and has a sample per worker and origin, labelled with both.
    #[test]
    fn every_family_has_a_sample_per_worker_and_origin() {
        let text = crate::metrics::render_text(super::super::sample());
        for name in names() {
            let full = format!("netreaktor_{name}");
            assert_eq!(text.matches(&format!("# TYPE {full} ")).count(), 1, "{name}");
            let samples: Vec<_> =
                text.lines().filter(|l| l.starts_with(&format!("{full}{{"))).collect();
            let reasons = match name {
                "origin_connect_failures_total" | "origin_health_checks_total" => 4,
                "origin_bytes_total" => 2,
                _ => 1,
            };
            assert_eq!(samples.len(), 2 * 2 * reasons, "{name}: {samples:?}");
            assert!(samples.iter().all(|l| l.contains(",pipeline=\"web\",origin=\"")), "{name}");
        }
        let ejected =
            "netreaktor_origin_up{worker=\"1\",pipeline=\"web\",origin=\"[2001:db8::12]:8080\"} 0";
        assert!(text.lines().any(|l| l == ejected), "{text}");
    }
}
