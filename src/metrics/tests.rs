use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

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
    let text = render_text(shared_with(m));
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
    let text = render_text(shared_with(m));
    assert!(text.contains("# TYPE netreaktor_connections gauge\n"), "{text}");
    assert!(text.contains("netreaktor_connections{worker=\"0\",state=\"closing\"} 7\n"));
    assert!(text.contains("netreaktor_connections{worker=\"0\",state=\"open\"} 0\n"));
    assert!(text.contains("# TYPE netreaktor_splices_ended_total counter\n"));
}

/// What Prometheus 2.x sends, what curl sends, and weights that rule OpenMetrics out.
#[test]
fn the_format_follows_accept() {
    let prometheus = "application/openmetrics-text;version=1.0.0,\
        application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    for (accept, want) in [
        (Some(prometheus), Format::OpenMetrics),
        (Some("application/OpenMetrics-Text; version=1.0.0"), Format::OpenMetrics),
        (None, Format::Prometheus),
        (Some("*/*"), Format::Prometheus),
        (Some("text/plain"), Format::Prometheus),
        (Some("application/openmetrics-text;q=0"), Format::Prometheus),
        (Some("application/openmetrics-text;q=0.5, text/plain"), Format::Prometheus),
        (Some("application/openmetrics-text;q=nonsense"), Format::Prometheus),
        (Some("text/plain;q=0.2, application/openmetrics-text;q=0.3"), Format::OpenMetrics),
    ] {
        assert_eq!(Format::negotiate(accept), want, "{accept:?}");
    }
}

/// A label as written, but a bucket bound (`le`) as the number it is: `1` and `1.0` alike.
fn label(label: &str) -> String {
    let bound = label.strip_prefix("le=\"").and_then(|b| b.strip_suffix('"'));
    match bound.map(str::parse::<f64>) {
        Some(Ok(bound)) => format!("le=\"{bound}\""),
        _ => label.to_owned(),
    }
}

/// Every sample of a text, by name and sorted labels, with its value.
fn samples(text: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (series, value) = line.rsplit_once(' ').expect("a sample and its value");
        let (name, labels) = series.split_once('{').unwrap_or((series, "}"));
        let labels = labels.strip_suffix('}').expect("closed labels");
        let mut labels: Vec<String> =
            labels.split(',').filter(|l| !l.is_empty()).map(label).collect();
        labels.sort_unstable();
        let value: f64 = value.parse().expect("a number");
        let key = format!("{name}{{{}}}", labels.join(","));
        assert!(out.insert(key, value).is_none(), "{line} twice");
    }
    out
}

/// The two formats carry the same series with the same values: OpenMetrics differs in its
/// family names (a counter's without `_total`), `info`, label order, the spelling of bucket
/// bounds (`le="1.0"`) and `# EOF` only.
#[test]
fn both_formats_carry_the_same_samples() {
    let shared = Arc::new(crate::telemetry::sample());
    let prometheus = render(&shared, Format::Prometheus).expect("encodes");
    let openmetrics = render(&shared, Format::OpenMetrics).expect("encodes");
    let (p, o) = (samples(&prometheus), samples(&openmetrics));
    assert!(p.len() > 250, "{} samples", p.len());
    assert_eq!(p, o);
    assert!(openmetrics.ends_with("\n# EOF\n") && !prometheus.contains("# EOF"));
    assert!(openmetrics.contains("# TYPE netreaktor_frames_received counter\n"));
    assert!(prometheus.contains("# TYPE netreaktor_frames_received_total counter\n"));
    assert!(openmetrics.contains("# TYPE netreaktor_build info\n"));
    assert!(prometheus.contains("# TYPE netreaktor_build_info gauge\n"));
}
