//! The control thread's HTTP endpoint on a kernel socket (management network): `/metrics`
//! (Prometheus text format 0.0.4) from the workers' published counters, `/healthz` (the
//! process runs) and `/readyz` (the workers run and steering is attached). One request per
//! connection, served in turn: it is for a scraper and an operator, not for load.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use netreaktor_pipeline::shard::BOUNDS_MICROS;

use crate::worker::metrics::{HistogramCells, LabelledCells, WorkerMetrics};
use crate::xdp::{Counter, Counters};

/// What the endpoint reports.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) workers: Vec<Arc<WorkerMetrics>>,
    /// Per steering program: its interface and its counters in `Counter::ALL` order, copied
    /// by the control thread about once a second.
    pub(crate) steering: Vec<(String, [AtomicU64; Counter::ALL.len()])>,
    /// Per steering program: its interface and the XDP mode in use.
    pub(crate) xdp_modes: Vec<(String, String)>,
    pub(crate) ready: AtomicBool,
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

/// Binds `listen` and serves from a background thread until `stop` is set.
pub(crate) fn serve(
    listen: SocketAddr,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<std::thread::JoinHandle<()>> {
    let listener =
        TcpListener::bind(listen).with_context(|| format!("metrics: binding {listen}"))?;
    listener.set_nonblocking(true).context("metrics: non-blocking")?;
    let handle = std::thread::Builder::new().name("nr-metrics".into()).spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            match listener.accept() {
                Ok((stream, _)) => {
                    let _ = answer(stream, &shared);
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    })?;
    Ok(handle)
}

fn answer(stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    let mut line = String::new();
    BufReader::new(&stream).read_line(&mut line)?;
    let path = line.split_whitespace().nth(1).unwrap_or("");
    let (status, body) = match path {
        "/metrics" => ("200 OK", render(shared)),
        "/status" => ("200 OK", crate::status::render(shared)),
        "/healthz" => ("200 OK", "ok\n".to_owned()),
        "/readyz" if shared.ready.load(Ordering::Relaxed) => ("200 OK", "ready\n".to_owned()),
        "/readyz" => ("503 Service Unavailable", "starting\n".to_owned()),
        _ => ("404 Not Found", "not found\n".to_owned()),
    };
    let mut out = &stream;
    write!(
        out,
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// Reads one counter of a worker.
type Field = fn(&WorkerMetrics) -> &AtomicU64;

/// The Prometheus text of every worker's counters.
pub(crate) fn render(shared: &Shared) -> String {
    let mut out = String::new();
    let counters: [(&str, &str, Field); 28] = [
        ("frames_received_total", "Frames taken from the RX rings", |m| &m.frames_received),
        ("frames_sent_total", "Frames put on the TX rings", |m| &m.frames_sent),
        ("frames_handed_off_total", "Frames passed to their owning worker", |m| &m.handed_off),
        ("handoff_dropped_total", "Frames dropped: hand-off queue full", |m| &m.handoff_dropped),
        ("tx_ring_full_total", "Transmit rounds cut short by a full TX ring", |m| &m.tx_full),
        ("no_neighbour_total", "Packets dropped: next-hop MAC unknown", |m| &m.no_neighbour),
        ("connections_accepted_total", "Client connections accepted", |m| &m.accepted),
        ("connections_refused_total", "Client connections reset at max_connections", |m| {
            &m.refused_limit
        }),
        ("connections_active", "Spliced connections held", |m| &m.active),
        ("mptcp_connections_active", "MPTCP connections held", |m| &m.mptcp_active),
        ("mptcp_subflows_active", "Live subflows of those", |m| &m.subflows),
        ("connections_refused_draining_total", "SYNs reset while draining on SIGTERM", |m| {
            &m.refused_draining
        }),
        ("origin_attempts_total", "Origin connect attempts", |m| &m.origin_attempts),
        ("origin_retries_total", "Origin connect retries on the next origin", |m| {
            &m.origin_retries
        }),
        ("unmatched_segments_total", "Segments for no connection (answered with RST)", |m| {
            &m.unmatched
        }),
        ("bytes_to_origin_total", "Bytes moved client to origin", |m| &m.bytes_to_origin),
        ("bytes_to_client_total", "Bytes moved origin to client", |m| &m.bytes_to_client),
        ("ports_exhausted_total", "Client connections reset: no free origin-side port", |m| {
            &m.ports_exhausted
        }),
        ("replies_dropped_total", "RSTs not sent: reply queue full", |m| &m.replies_dropped),
        ("origin_ports_reused_total", "Origin ports taken over from TIME-WAIT", |m| {
            &m.time_wait_reused
        }),
        ("joins_refused_total", "MP_JOINs reset with MP_TCPRST (all reasons)", |m| {
            &m.joins_refused
        }),
        ("mptcp_connections_total", "MPTCP connections established (RFC 8684)", |m| {
            &m.mptcp_connections
        }),
        ("mptcp_joins_accepted_total", "Subflows joined, HMAC verified", |m| &m.joins_accepted),
        ("mptcp_potentially_failed_total", "Subflows that stalled (ended connections)", |m| {
            &m.potentially_failed
        }),
        ("mptcp_reinjected_bytes_total", "Bytes resent on another subflow (ended conns)", |m| {
            &m.reinjected_bytes
        }),
        (
            "mptcp_data_fin_timeouts_total",
            "Connections reset: our DATA_FIN never DATA_ACKed",
            |m| &m.data_fin_gave_up,
        ),
        ("loops_total", "Worker loop iterations", |m| &m.loops),
        ("sleeps_total", "Worker sleeps in poll(2)", |m| &m.sleeps),
    ];
    for (name, help, get) in counters {
        let kind = if name.ends_with("_total") { "counter" } else { "gauge" };
        let _ = writeln!(out, "# HELP netreaktor_{name} {help}.\n# TYPE netreaktor_{name} {kind}");
        for (i, w) in shared.workers.iter().enumerate() {
            let _ =
                writeln!(out, "netreaktor_{name}{{worker=\"{i}\"}} {}", WorkerMetrics::get(get(w)));
        }
    }
    let families: [(&str, &str, &str, Cells); 5] = [
        ("frames_dropped_total", "Frames dropped, by reason", "reason", |m| &m.dropped),
        ("connections", "Spliced connections held, by phase", "state", |m| &m.phases),
        ("splices_ended_total", "Spliced connections ended, by how", "end", |m| &m.ended),
        (
            "mptcp_fallbacks_total",
            "Clients that offered MPTCP and got plain TCP, by reason",
            "reason",
            |m| &m.mptcp_fallback,
        ),
        (
            "mptcp_joins_refused_total",
            "MP_JOINs refused with MP_TCPRST, by reason",
            "reason",
            |m| &m.joins_refused_by,
        ),
    ];
    for (name, help, label, get) in families {
        render_family(shared, &mut out, (name, help, label), get);
    }
    let histograms: [(&str, &str, HistogramField); 2] = [
        (
            "connection_setup_seconds",
            "From a client connection's acceptance to its origin connection's establishment",
            |m| &m.setup,
        ),
        (
            "mptcp_handover_stall_seconds",
            "Data-level stalls across a subflow's failure or end, last progress to next",
            |m| &m.handover_stall,
        ),
    ];
    for (name, help, get) in histograms {
        render_histogram(shared, &mut out, (name, help), get);
    }
    render_steering(shared, &mut out);
    out
}

/// Reads one histogram of a worker.
type HistogramField = fn(&WorkerMetrics) -> &HistogramCells;

/// One histogram per worker: cumulative buckets with `le` in seconds, the sum, the count.
fn render_histogram(
    shared: &Shared,
    out: &mut String,
    (name, help): (&str, &str),
    get: HistogramField,
) {
    let _ = writeln!(out, "# HELP netreaktor_{name} {help}.\n# TYPE netreaktor_{name} histogram");
    for (i, w) in shared.workers.iter().enumerate() {
        let h = get(w).read();
        let bounds = BOUNDS_MICROS.iter().map(|&us| (us as f64 / 1e6).to_string());
        let les = bounds.chain(std::iter::once("+Inf".to_owned()));
        for (le, n) in les.zip(h.cumulative()) {
            let _ = writeln!(out, "netreaktor_{name}_bucket{{worker=\"{i}\",le=\"{le}\"}} {n}");
        }
        let sum = h.sum_micros as f64 / 1e6;
        let _ = writeln!(out, "netreaktor_{name}_sum{{worker=\"{i}\"}} {sum}");
        let _ = writeln!(out, "netreaktor_{name}_count{{worker=\"{i}\"}} {}", h.count());
    }
}

/// Reads a labelled family of counters of a worker.
type Cells = fn(&WorkerMetrics) -> &dyn LabelledCells;

/// One counter (or gauge) family with a label per value, per worker.
fn render_family(
    shared: &Shared,
    out: &mut String,
    (name, help, label): (&str, &str, &str),
    get: Cells,
) {
    let kind = if name.ends_with("_total") { "counter" } else { "gauge" };
    let _ = writeln!(out, "# HELP netreaktor_{name} {help}.\n# TYPE netreaktor_{name} {kind}");
    for (i, w) in shared.workers.iter().enumerate() {
        for (value_name, value) in get(w).labelled() {
            let _ = writeln!(
                out,
                "netreaktor_{name}{{worker=\"{i}\",{label}=\"{value_name}\"}} {value}"
            );
        }
    }
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
    use netreaktor_pipeline::proxy::SplicePhase;

    use super::*;

    fn shared_with(metrics: WorkerMetrics) -> Shared {
        Shared {
            workers: vec![Arc::new(metrics)],
            steering: Vec::new(),
            xdp_modes: Vec::new(),
            ready: AtomicBool::new(true),
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

    /// Two workers with every cell distinct and one steering program, rendered byte for
    /// byte as `testdata/metrics.txt` (written anew with NETREAKTOR_BLESS=1).
    #[test]
    fn the_whole_text_is_unchanged() {
        let shared = Shared {
            workers: vec![
                Arc::new(crate::worker::metrics::sample(0)),
                Arc::new(crate::worker::metrics::sample(1)),
            ],
            steering: vec![("srv0".to_owned(), std::array::from_fn(|i| AtomicU64::new(i as u64)))],
            xdp_modes: vec![("srv0".to_owned(), "native".to_owned())],
            ready: AtomicBool::new(true),
        };
        let text = render(&shared);
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/testdata/metrics.txt");
        if std::env::var_os("NETREAKTOR_BLESS").is_some() {
            std::fs::write(path, &text).expect("writable testdata");
        }
        assert_eq!(text, include_str!("testdata/metrics.txt"));
        let status = crate::status::render(&shared);
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/testdata/status.json");
        if std::env::var_os("NETREAKTOR_BLESS").is_some() {
            std::fs::write(path, &status).expect("writable testdata");
        }
        assert_eq!(status, include_str!("testdata/status.json"));
    }
}
