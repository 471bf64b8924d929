//! `/metrics`: every family the appliance exports, encoded by `prometheus-client` from the
//! cells the workers publish, read at scrape time (docs/operations.md, "Metrics").
//!
//! Each group of families is a [`Collector`] that reads [`Shared`] when a scrape encodes the
//! registry; the per-worker families are described once, by the table [`METRICS`], the
//! per-origin ones by `crate::telemetry::origins`. The same families are encoded in the
//! Prometheus text format 0.0.4 (the default: `promtool check metrics`, `curl`, the test
//! scripts) or in OpenMetrics 1.0.0 (to a scraper whose `Accept` prefers it, as Prometheus'
//! does), chosen by [`Format::negotiate`].

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use netreaktor_pipeline::shard::BOUNDS_MICROS;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeCounterValue, EncodeGaugeValue, MetricEncoder, NoLabelSet,
    prometheus_text, text,
};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use crate::telemetry::{Kind, METRICS, Metric, Read, Shared};
use crate::worker::metrics::{HistogramCells, WorkerMetrics};
use crate::xdp::Counter;

/// The exposition format of a scrape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// The Prometheus text format, version 0.0.4.
    Prometheus,
    /// OpenMetrics 1.0.0 text: counter families named without `_total`, `info` typed as
    /// such, `# EOF` at the end.
    OpenMetrics,
}

impl Format {
    /// The format for a request's `Accept` header: OpenMetrics when it names
    /// `application/openmetrics-text` with a weight (`q`) above 0 and no lower than
    /// `text/plain`'s (or `*/*`'s), the Prometheus text format otherwise (RFC 9110 §12.5.1).
    pub(crate) fn negotiate(accept: Option<&str>) -> Format {
        let (mut openmetrics, mut plain) = (0.0_f64, 0.0_f64);
        for range in accept.unwrap_or("").split(',') {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = parts.find_map(|p| p.trim().strip_prefix("q=").map(str::parse::<f64>));
            let q = q.map_or(1.0, |q| q.unwrap_or(0.0));
            match media.as_str() {
                "application/openmetrics-text" => openmetrics = openmetrics.max(q),
                "text/plain" | "text/*" | "*/*" => plain = plain.max(q),
                _ => {}
            }
        }
        if openmetrics > 0.0 && openmetrics >= plain {
            Format::OpenMetrics
        } else {
            Format::Prometheus
        }
    }

    /// The `Content-Type` served with it.
    pub(crate) fn content_type(self) -> &'static str {
        match self {
            Format::Prometheus => prometheus_text::CONTENT_TYPE,
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

/// Every exported family in `format`. Fails only if the crate refuses what a collector
/// encodes.
pub(crate) fn render(shared: &Arc<Shared>, format: Format) -> Result<String, fmt::Error> {
    let registry = registry(shared);
    let mut out = String::new();
    match format {
        Format::Prometheus => prometheus_text::encode(&mut out, &registry)?,
        Format::OpenMetrics => text::encode(&mut out, &registry)?,
    }
    Ok(out)
}

/// `shared` in the Prometheus text format (the rendering tests).
#[cfg(test)]
pub(crate) fn render_text(shared: Shared) -> String {
    render(&Arc::new(shared), Format::Prometheus).expect("every family encodes")
}

/// How one group of families is encoded from the shared state.
type Encode = fn(&Shared, &mut DescriptorEncoder<'_>) -> fmt::Result;

/// A group of families encoded at scrape time from the shared state.
#[derive(Debug)]
struct Families {
    shared: Arc<Shared>,
    encode: Encode,
}

impl Collector for Families {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> fmt::Result {
        (self.encode)(&self.shared, &mut encoder)
    }
}

/// The registry of one scrape, its groups in the order `/metrics` has always listed them:
/// the build facts, `process_*`, then the appliance's other families (a registry lists its
/// sub-registries in the order they were made, hence `netreaktor` twice).
fn registry(shared: &Arc<Shared>) -> Registry {
    let families = |encode: Encode| Box::new(Families { shared: Arc::clone(shared), encode });
    let mut registry = Registry::default();
    registry.sub_registry_with_prefix("netreaktor").register_collector(families(encode_build));
    let process = registry.sub_registry_with_prefix("process");
    process.register_collector(families(crate::telemetry::process::encode));
    let own = registry.sub_registry_with_prefix("netreaktor");
    for encode in [
        crate::telemetry::reload::encode,
        encode_table,
        crate::telemetry::origins::encode,
        encode_steering,
    ] {
        own.register_collector(families(encode));
    }
    registry
}

/// A family's descriptor. `name` is the exported name: a counter's ends in `_total`, which
/// the crate writes itself (so it is taken off here); `help` has no final period.
pub(crate) fn family<'e>(
    encoder: &'e mut DescriptorEncoder<'_>,
    name: &'e str,
    help: &str,
    kind: Kind,
) -> Result<MetricEncoder<'e>, fmt::Error> {
    let (name, kind) = match kind {
        Kind::Counter => (name.strip_suffix("_total").unwrap_or(name), MetricType::Counter),
        Kind::Gauge => (name, MetricType::Gauge),
        Kind::Histogram => (name, MetricType::Histogram),
    };
    encoder.encode_descriptor(name, &format!("{help}."), None, kind)
}

/// One sample of a counter or gauge family, with `labels`. A histogram family takes
/// [`histogram`] samples: a single value for one is refused.
pub(crate) fn sample<V: EncodeCounterValue + EncodeGaugeValue>(
    family: &mut MetricEncoder<'_>,
    kind: Kind,
    labels: &[(&str, &str)],
    value: V,
) -> fmt::Result {
    let mut sample = family.encode_family(&labels)?;
    match kind {
        Kind::Counter => sample.encode_counter::<NoLabelSet, V, u64>(&value, None),
        Kind::Gauge => sample.encode_gauge(&value),
        Kind::Histogram => Err(fmt::Error),
    }
}

/// `netreaktor_build_info`: 1, with the build facts as labels.
fn encode_build(shared: &Shared, encoder: &mut DescriptorEncoder<'_>) -> fmt::Result {
    let b = &shared.build;
    let help = "The binary's version, commit and compiler; always 1.";
    let mut family = encoder.encode_descriptor("build", help, None, MetricType::Info)?;
    family.encode_info(&[
        ("version", b.version),
        ("commit", b.commit),
        ("commit_date", b.commit_date),
        ("build_date", b.build_date),
        ("rustc", b.rustc),
    ])
}

/// The families of [`METRICS`], each with its samples worker by worker.
fn encode_table(shared: &Shared, encoder: &mut DescriptorEncoder<'_>) -> fmt::Result {
    for metric in &METRICS {
        encode_metric(shared, encoder, metric)?;
    }
    Ok(())
}

/// One metric of the table.
fn encode_metric(
    shared: &Shared,
    encoder: &mut DescriptorEncoder<'_>,
    metric: &Metric,
) -> fmt::Result {
    let mut family = family(encoder, metric.name, metric.help, metric.kind)?;
    for (i, w) in shared.workers.iter().enumerate() {
        let worker = i.to_string();
        match metric.read {
            Read::Cell(get) => {
                let value = WorkerMetrics::get(get(w));
                sample(&mut family, metric.kind, &[("worker", &worker)], value)?;
            }
            Read::Labelled(label, get) => {
                for (name, value) in get(w).labelled() {
                    let labels = [("worker", worker.as_str()), (label, name)];
                    sample(&mut family, metric.kind, &labels, value)?;
                }
            }
            Read::Histogram(get) => histogram(&mut family, &[("worker", &worker)], get(w))?,
        }
    }
    Ok(())
}

/// A histogram sample: the buckets (`le` in seconds, the last `+Inf`), the sum, the count.
fn histogram(
    family: &mut MetricEncoder<'_>,
    labels: &[(&str, &str)],
    cells: &HistogramCells,
) -> fmt::Result {
    let h = cells.read();
    let bounds = BOUNDS_MICROS.iter().map(|&us| us as f64 / 1e6).chain([f64::INFINITY]);
    let buckets: Vec<(f64, u64)> = bounds.zip(h.counts).collect();
    let sum = h.sum_micros as f64 / 1e6;
    let mut sample = family.encode_family(&labels)?;
    sample.encode_histogram::<NoLabelSet>(sum, h.count(), &buckets, None)
}

/// The steering programs' verdicts.
fn encode_steering(shared: &Shared, encoder: &mut DescriptorEncoder<'_>) -> fmt::Result {
    let help = "Frames seen by the XDP steering program, by verdict";
    let mut family = family(encoder, "xdp_frames_total", help, Kind::Counter)?;
    for (interface, cells) in &shared.steering {
        for (cell, counter) in cells.iter().zip(Counter::ALL) {
            let labels = [("interface", interface.as_str()), ("verdict", counter.name())];
            sample(&mut family, Kind::Counter, &labels, cell.load(Ordering::Relaxed))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
