//! `/metrics`: the Prometheus text (format 0.0.4) of every worker's published cells, one
//! family per entry of [`METRICS`], and of the steering programs' verdicts.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use netreaktor_pipeline::shard::BOUNDS_MICROS;

use crate::telemetry::{METRICS, Metric, Read, Shared};
use crate::worker::metrics::{HistogramCells, LabelledCells, WorkerMetrics};
use crate::xdp::Counter;

/// The Prometheus text of every worker's counters and of the steering programs.
pub(crate) fn render(shared: &Shared) -> String {
    let mut out = String::new();
    render_build(shared, &mut out);
    render_process(shared, &mut out);
    shared.reload.render(&mut out);
    for metric in &METRICS {
        render_metric(shared, &mut out, metric);
    }
    crate::telemetry::origins::render(shared, &mut out);
    render_steering(shared, &mut out);
    out
}

/// `netreaktor_build_info`: 1, with the build facts as labels.
fn render_build(shared: &Shared, out: &mut String) {
    let b = &shared.build;
    let _ = writeln!(
        out,
        "# HELP netreaktor_build_info The binary's version, commit and compiler; always 1.\n\
         # TYPE netreaktor_build_info gauge\n\
         netreaktor_build_info{{version=\"{}\",commit=\"{}\",commit_date=\"{}\",\
         build_date=\"{}\",rustc=\"{}\"}} 1",
        b.version, b.commit, b.commit_date, b.build_date, b.rustc
    );
}

/// The `process_*` family every Prometheus client exports, when `/proc` can be read.
fn render_process(shared: &Shared, out: &mut String) {
    let Some(p) = shared.process.read() else { return };
    let max_fds = p.max_fds.map(|n| n as f64).unwrap_or(f64::INFINITY);
    for (name, help, kind, value) in [
        (
            "cpu_seconds_total",
            "Total user and system CPU time spent in seconds",
            "counter",
            p.cpu_seconds,
        ),
        (
            "resident_memory_bytes",
            "Resident memory size in bytes",
            "gauge",
            p.resident_bytes as f64,
        ),
        ("virtual_memory_bytes", "Virtual memory size in bytes", "gauge", p.virtual_bytes as f64),
        ("open_fds", "Number of open file descriptors", "gauge", p.open_fds as f64),
        ("max_fds", "Maximum number of open file descriptors", "gauge", max_fds),
        ("threads", "Number of OS threads in the process", "gauge", p.threads as f64),
        (
            "start_time_seconds",
            "Start time of the process since unix epoch in seconds",
            "gauge",
            p.start_time_seconds,
        ),
    ] {
        let value = if value.is_infinite() { "+Inf".to_owned() } else { value.to_string() };
        let _ = writeln!(
            out,
            "# HELP process_{name} {help}.\n# TYPE process_{name} {kind}\nprocess_{name} {value}"
        );
    }
}

/// One metric's `# HELP` and `# TYPE` lines and its samples, worker by worker.
fn render_metric(shared: &Shared, out: &mut String, metric: &Metric) {
    let (name, help, kind) = (metric.name, metric.help, metric.kind.name());
    let _ = writeln!(out, "# HELP netreaktor_{name} {help}.\n# TYPE netreaktor_{name} {kind}");
    for (i, w) in shared.workers.iter().enumerate() {
        match metric.read {
            Read::Cell(get) => {
                let value = WorkerMetrics::get(get(w));
                let _ = writeln!(out, "netreaktor_{name}{{worker=\"{i}\"}} {value}");
            }
            Read::Labelled(label, get) => render_labelled(out, (name, i), label, get(w)),
            Read::Histogram(get) => render_histogram(out, (name, i), get(w)),
        }
    }
}

/// A worker's samples of a labelled family: one per label value.
fn render_labelled(
    out: &mut String,
    (name, i): (&str, usize),
    label: &str,
    cells: &dyn LabelledCells,
) {
    for (value_name, value) in cells.labelled() {
        let _ =
            writeln!(out, "netreaktor_{name}{{worker=\"{i}\",{label}=\"{value_name}\"}} {value}");
    }
}

/// A worker's histogram: cumulative buckets with `le` in seconds, the sum, the count.
fn render_histogram(out: &mut String, (name, i): (&str, usize), cells: &HistogramCells) {
    let h = cells.read();
    let bounds = BOUNDS_MICROS.iter().map(|&us| (us as f64 / 1e6).to_string());
    let les = bounds.chain(std::iter::once("+Inf".to_owned()));
    for (le, n) in les.zip(h.cumulative()) {
        let _ = writeln!(out, "netreaktor_{name}_bucket{{worker=\"{i}\",le=\"{le}\"}} {n}");
    }
    let sum = h.sum_micros as f64 / 1e6;
    let _ = writeln!(out, "netreaktor_{name}_sum{{worker=\"{i}\"}} {sum}");
    let _ = writeln!(out, "netreaktor_{name}_count{{worker=\"{i}\"}} {}", h.count());
}

/// The steering programs' verdicts.
fn render_steering(shared: &Shared, out: &mut String) {
    let _ = writeln!(
        out,
        "# HELP netreaktor_xdp_frames_total Frames seen by the XDP steering program, by verdict."
    );
    let _ = writeln!(out, "# TYPE netreaktor_xdp_frames_total counter");
    for (interface, cells) in &shared.steering {
        for (cell, counter) in cells.iter().zip(Counter::ALL) {
            let value = cell.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "netreaktor_xdp_frames_total{{interface=\"{interface}\",verdict=\"{}\"}} {value}",
                counter.name()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use netreaktor_pipeline::proxy::SplicePhase;

    use super::*;

    fn shared_with(metrics: WorkerMetrics) -> Shared {
        Shared {
            workers: vec![Arc::new(metrics)],
            steering: Vec::new(),
            xdp_modes: Vec::new(),
            readiness: Default::default(),
            build: crate::build_info::BUILD,
            process: crate::telemetry::ProcessSource::Live,
            reload: Default::default(),
        }
    }

    #[test]
    fn histograms_are_cumulative_with_sum_and_count() {
        let m = WorkerMetrics::default();
        // 2 observations at most 100 µs, 1 at most 5 ms, 1 past 10 s; 20.0051 s in all.
        m.setup.counts[0].store(2, Ordering::Relaxed);
        m.setup.counts[5].store(1, Ordering::Relaxed);
        m.setup.counts[16].store(1, Ordering::Relaxed);
        m.setup.sum_micros.store(20_005_100, Ordering::Relaxed);
        let text = render(&shared_with(m));
        let name = "netreaktor_connection_setup_seconds";
        for line in [
            format!("# TYPE {name} histogram"),
            format!("{name}_bucket{{worker=\"0\",le=\"0.0001\"}} 2"),
            format!("{name}_bucket{{worker=\"0\",le=\"0.0025\"}} 2"),
            format!("{name}_bucket{{worker=\"0\",le=\"0.005\"}} 3"),
            format!("{name}_bucket{{worker=\"0\",le=\"10\"}} 3"),
            format!("{name}_bucket{{worker=\"0\",le=\"+Inf\"}} 4"),
            format!("{name}_sum{{worker=\"0\"}} 20.0051"),
            format!("{name}_count{{worker=\"0\"}} 4"),
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
        }
    }

    #[test]
    fn connections_by_state_is_a_gauge_family() {
        let m = WorkerMetrics::default();
        let closing = m.phases.cell(SplicePhase::Closing).expect("one cell per phase");
        closing.store(7, Ordering::Relaxed);
        let text = render(&shared_with(m));
        assert!(text.contains("# TYPE netreaktor_connections gauge\n"), "{text}");
        assert!(text.contains("netreaktor_connections{worker=\"0\",state=\"closing\"} 7\n"));
        assert!(text.contains("netreaktor_connections{worker=\"0\",state=\"open\"} 0\n"));
        assert!(text.contains("# TYPE netreaktor_splices_ended_total counter\n"));
    }
}
