//! `netreaktor status`: a running appliance's summary. The appliance serves it as JSON at
//! `/status` on its metrics address ([`render`]); the command fetches it and prints a table
//! ([`run`]), or the JSON with `--json`.

use std::collections::BTreeMap;
use std::io::{Read as _, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, anyhow};
use netreaktor_pipeline::proxy::SplicePhase;
use netreaktor_pipeline::shard::Histogram;
use serde_json::{Map, Value, json};

use crate::config;
use crate::telemetry::{InStatus, METRICS, Read, Shared};
use crate::worker::metrics::WorkerMetrics;

/// The summary as JSON: readiness, XDP modes, per-worker counters and gauges, MPTCP totals,
/// timings; each metric where [`METRICS`] says.
pub(crate) fn render(shared: &Shared) -> String {
    let workers: Vec<Value> =
        shared.workers.iter().enumerate().map(|(i, w)| worker(i, w)).collect();
    let xdp: Vec<Value> = shared
        .xdp_modes
        .iter()
        .map(|(interface, mode)| json!({"interface": interface, "mode": mode}))
        .collect();
    let (mut mptcp, mut timings) = (Map::new(), Map::new());
    for metric in &METRICS {
        match metric.status {
            InStatus::Mptcp(key) => {
                mptcp.insert(key.to_owned(), summed(shared, metric.read));
            }
            InStatus::Timing(key) => {
                timings.insert(key.to_owned(), summed(shared, metric.read));
            }
            InStatus::No | InStatus::Worker(_) | InStatus::Drops(_) | InStatus::DropReasons => {}
        }
    }
    let status = json!({
        "ready": shared.readiness.is_ready(),
        "phase": shared.readiness.phase().name(),
        "timings": timings,
        "xdp": xdp,
        "workers": workers,
        "mptcp": mptcp,
        "reload": shared.reload.status(),
        "origins": crate::telemetry::origins::status(shared),
    });
    format!("{status}\n")
}

/// One worker's object: its number, its [`InStatus::Worker`] metrics, and `drops`.
fn worker(i: usize, w: &WorkerMetrics) -> Value {
    let (mut out, mut drops) = (Map::new(), Map::new());
    out.insert("worker".to_owned(), json!(i));
    for metric in &METRICS {
        match metric.status {
            InStatus::Worker(key) => {
                out.insert(key.to_owned(), value(metric.read, w));
            }
            InStatus::Drops(key) => {
                drops.insert(key.to_owned(), value(metric.read, w));
            }
            InStatus::DropReasons => {
                if let Value::Object(reasons) = value(metric.read, w) {
                    drops.extend(reasons);
                }
            }
            InStatus::No | InStatus::Mptcp(_) | InStatus::Timing(_) => {}
        }
    }
    out.insert("drops".to_owned(), Value::Object(drops));
    Value::Object(out)
}

/// A worker's value of a metric: a number, an object by label value, or a histogram in
/// brief.
fn value(read: Read, w: &WorkerMetrics) -> Value {
    match read {
        Read::Cell(get) => json!(WorkerMetrics::get(get(w))),
        Read::Labelled(_, get) => json!(BTreeMap::from_iter(get(w).labelled())),
        Read::Histogram(get) => summary(&get(w).read()),
    }
}

/// A metric summed over the workers: a number, an object by label value, or a histogram
/// in brief.
fn summed(shared: &Shared, read: Read) -> Value {
    match read {
        Read::Cell(get) => {
            json!(shared.workers.iter().map(|w| WorkerMetrics::get(get(w))).sum::<u64>())
        }
        Read::Labelled(_, get) => {
            let mut by_label = BTreeMap::<&str, u64>::new();
            for (label, n) in shared.workers.iter().flat_map(|w| get(w).labelled()) {
                *by_label.entry(label).or_default() += n;
            }
            json!(by_label)
        }
        Read::Histogram(get) => {
            let mut all = Histogram::default();
            for w in &shared.workers {
                all.add(&get(w).read());
            }
            summary(&all)
        }
    }
}

/// A histogram in brief: how many, the mean, and the bucket bounds of p50 and p99 (seconds;
/// null past the last bound or when empty).
fn summary(h: &Histogram) -> Value {
    let count = h.count();
    let bound = |q| h.quantile_bound(q).map(|d| d.as_secs_f64());
    let mean = (count > 0).then(|| h.sum_micros as f64 / 1e6 / count as f64);
    json!({"count": count, "mean_seconds": mean, "p50_le_seconds": bound(0.5),
           "p99_le_seconds": bound(0.99)})
}

/// Fetches `/status` from the appliance whose metrics address is `metrics` (or the one in
/// `config`, or 127.0.0.1:9100) and prints it.
pub(crate) fn run(
    config_path: Option<&Path>,
    metrics: Option<SocketAddr>,
    json_out: bool,
) -> anyhow::Result<ExitCode> {
    let addr = match (metrics, config_path) {
        (Some(addr), _) => addr,
        (None, Some(path)) => match config::load(path) {
            Ok(c) => c.metrics.listen.0,
            Err(_) => {
                return Err(anyhow!("{}: not a valid config (netreaktor check)", path.display()));
            }
        },
        (None, None) => SocketAddr::from(([127, 0, 0, 1], 9100)),
    };
    let body = fetch(addr).with_context(|| {
        format!("no appliance answers at {addr} (is `netreaktor run` up, in this namespace?)")
    })?;
    if json_out {
        print!("{body}");
        return Ok(ExitCode::SUCCESS);
    }
    let status: Value = serde_json::from_str(&body).context("the answer is not JSON")?;
    print!("{}", table(addr, &status));
    Ok(ExitCode::SUCCESS)
}

/// GET /status over HTTP/1.1; the body.
pub(crate) fn fetch(addr: SocketAddr) -> anyhow::Result<String> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(stream, "GET /status HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    let (head, body) = answer.split_once("\r\n\r\n").ok_or_else(|| anyhow!("no HTTP body"))?;
    if !head.starts_with("HTTP/1.1 200") {
        return Err(anyhow!("{}", head.lines().next().unwrap_or("no status line")));
    }
    Ok(body.to_owned())
}

/// A number, or the sum of an object's numbers at any depth (drops by reason).
fn total(v: &Value) -> u64 {
    match v {
        Value::Object(map) => map.values().map(total).sum(),
        other => other.as_u64().unwrap_or(0),
    }
}

/// The human table.
fn table(addr: SocketAddr, s: &Value) -> String {
    let n = |v: &Value| v.as_u64().unwrap_or(0);
    let mut out = String::new();
    // `phase` is absent in the answers of older versions: they knew only ready or not.
    let ready = match (s["phase"].as_str(), s["ready"].as_bool()) {
        (Some(phase), _) => phase,
        (None, Some(true)) => "ready",
        (None, _) => "not ready",
    };
    out += &format!("netreaktor at {addr}: {ready}\n");
    let xdp: Vec<String> = s["xdp"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|x| {
            format!(
                "{} {}",
                x["interface"].as_str().unwrap_or("?"),
                x["mode"].as_str().unwrap_or("?")
            )
        })
        .collect();
    out += &format!("XDP: {}\n", xdp.join(", "));
    out += &format!(
        "{:>6} {:>11} {:>7} {:>8} {:>10} {:>12} {:>8}\n",
        "worker", "connections", "mptcp", "subflows", "accepted", "frames in", "dropped"
    );
    for w in s["workers"].as_array().into_iter().flatten() {
        let drops = total(&w["drops"]);
        out += &format!(
            "{:>6} {:>11} {:>7} {:>8} {:>10} {:>12} {:>8}\n",
            n(&w["worker"]),
            n(&w["connections"]),
            n(&w["mptcp_connections"]),
            n(&w["subflows"]),
            n(&w["accepted"]),
            n(&w["frames_received"]),
            drops
        );
    }
    out += &format!("Connections by state: {}\n", by_state(s));
    let t = &s["timings"];
    out += &format!(
        "Timings: connection set-up {}; handover stalls {}\n",
        timing(&t["connection_setup"]),
        timing(&t["handover_stall"])
    );
    let m = &s["mptcp"];
    out += &format!(
        "MPTCP: {} connections, {} joins accepted, refused {}, fallbacks {}; {} stalls, {} bytes reinjected\n",
        n(&m["connections_total"]),
        n(&m["joins_accepted"]),
        reasons(&m["joins_refused"]),
        reasons(&m["fallbacks"]),
        n(&m["potentially_failed"]),
        n(&m["reinjected_bytes"]),
    );
    out += &origins(&s["origins"]);
    out += &reload_line(&s["reload"]);
    out
}

/// "Origins:" and a line per origin: "  web 10.0.0.1:80 up (2/2 workers): 10 connections,
/// failures 1 (refused 1), checks 5 (success 5), bytes 100 to origin, 2000 to client";
/// nothing from an appliance whose answer has no origins.
fn origins(list: &Value) -> String {
    let Some(list) = list.as_array().filter(|l| !l.is_empty()) else {
        return String::new();
    };
    let n = |v: &Value| v.as_u64().unwrap_or(0);
    let mut out = "Origins:\n".to_owned();
    for o in list {
        out += &format!(
            "  {} {} {} ({}/{} workers): {} connections, failures {}, checks {}, \
             bytes {} to origin, {} to client\n",
            o["pipeline"].as_str().unwrap_or("?"),
            o["origin"].as_str().unwrap_or("?"),
            o["state"].as_str().unwrap_or("?"),
            n(&o["up_workers"]),
            n(&o["workers"]),
            n(&o["established"]),
            reasons(&o["failures"]),
            reasons(&o["checks"]),
            n(&o["bytes_to_origin"]),
            n(&o["bytes_to_client"]),
        );
    }
    out
}

/// "Config: generation 2, reloads applied 1, refused 1; last: refused (MESSAGE)"; nothing
/// from an appliance without reloads.
fn reload_line(r: &Value) -> String {
    if r.is_null() {
        return String::new();
    }
    let n = |v: &Value| v.as_u64().unwrap_or(0);
    let last = match (r["last_result"].as_str(), r["last_message"].as_str()) {
        (Some(result), Some(message)) => format!("; last: {result} ({message})"),
        _ => String::new(),
    };
    format!(
        "Config: generation {}, reloads applied {}, refused {}{last}\n",
        n(&r["generation"]),
        n(&r["applied"]),
        n(&r["refused"])
    )
}

/// "none" or "3, mean 4.1 ms, p50 <= 5 ms, p99 <= 10 ms" (a bound past the last bucket: "> 10 s").
fn timing(v: &Value) -> String {
    let count = v["count"].as_u64().unwrap_or(0);
    if count == 0 {
        return "none".to_owned();
    }
    let ms = |x: &Value| x.as_f64().map(|s| format!("{} ms", s * 1000.0));
    let bound = |x: &Value| ms(x).map_or_else(|| "> 10 s".to_owned(), |b| format!("<= {b}"));
    let mean = v["mean_seconds"]
        .as_f64()
        .map_or(String::new(), |m| format!(", mean {:.1} ms", m * 1000.0));
    format!(
        "{count}{mean}, p50 {}, p99 {}",
        bound(&v["p50_le_seconds"]),
        bound(&v["p99_le_seconds"])
    )
}

/// "open 12, closing 3, time_wait 40": the workers' phases summed, the empty ones left out.
fn by_state(s: &Value) -> String {
    let workers = s["workers"].as_array().map_or(&[][..], Vec::as_slice);
    let total = |name: &str| workers.iter().filter_map(|w| w["by_state"][name].as_u64()).sum();
    let parts: Vec<String> = SplicePhase::ALL
        .iter()
        .map(|phase| (phase.name(), total(phase.name())))
        .filter(|&(_, n): &(_, u64)| n > 0)
        .map(|(name, n)| format!("{name} {n}"))
        .collect();
    if parts.is_empty() { "none".to_owned() } else { parts.join(", ") }
}

/// "0" or "3 (unknown_token 2, bad_hmac 1)".
fn reasons(v: &Value) -> String {
    let parts: Vec<(String, u64)> = v
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| v.as_u64().filter(|&n| n > 0).map(|n| (k.clone(), n)))
        .collect();
    let total: u64 = parts.iter().map(|(_, n)| n).sum();
    if parts.is_empty() {
        return "0".to_owned();
    }
    let list: Vec<String> = parts.iter().map(|(k, n)| format!("{k} {n}")).collect();
    format!("{total} ({})", list.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_reads_the_json() {
        let s = json!({
            "ready": true,
            "xdp": [{"interface": "srv0", "mode": "native"}],
            "workers": [{"worker": 0, "connections": 3, "mptcp_connections": 2, "subflows": 4,
                         "accepted": 10, "frames_received": 99,
                         "drops": {"malformed": 1, "syns": {"reply_queue_full": 2}},
                         "by_state": {"open": 2, "closing": 1, "time_wait": 0}},
                        {"worker": 1, "by_state": {"open": 1}}],
            "timings": {
                "connection_setup": {"count": 4, "mean_seconds": 0.0002,
                                     "p50_le_seconds": 0.00025, "p99_le_seconds": null},
                "handover_stall": {"count": 0, "mean_seconds": null,
                                   "p50_le_seconds": null, "p99_le_seconds": null}},
            "mptcp": {"connections_total": 5, "joins_accepted": 4,
                      "joins_refused": {"unknown_token": 2, "bad_hmac": 1, "subflow_limit": 0},
                      "fallbacks": {}, "potentially_failed": 1, "reinjected_bytes": 1000},
            "origins": [{"pipeline": "web", "origin": "10.0.0.1:80", "state": "partial",
                         "workers": 2, "up_workers": 1, "attempts": 4, "established": 3,
                         "failures": {"refused": 1, "reset": 0}, "checks": {"success": 5},
                         "bytes_to_origin": 100, "bytes_to_client": 2000}],
            "reload": {"generation": 2, "applied": 1, "refused": 0, "last_at": 1_796_000_000u64,
                       "last_result": "applied", "last_message": "reload applied: no change"},
        });
        let t = table("127.0.0.1:9100".parse().unwrap(), &s);
        assert!(t.contains("ready") && t.contains("srv0 native"), "{t}");
        assert!(t.contains("refused 3 (bad_hmac 1, unknown_token 2)"), "{t}");
        assert!(t.contains("fallbacks 0"), "{t}");
        let row = |l: &str| {
            l.split_whitespace().collect::<Vec<_>>() == ["0", "3", "2", "4", "10", "99", "3"]
        };
        assert!(t.lines().any(row), "drops by reason summed at any depth: {t}");
        let draining = json!({"ready": false, "phase": "draining"});
        let d = table("127.0.0.1:9100".parse().unwrap(), &draining);
        assert!(d.starts_with("netreaktor at 127.0.0.1:9100: draining\n"), "{d}");
        assert!(t.contains("Connections by state: open 3, closing 1\n"), "{t}");
        let timings = "Timings: connection set-up 4, mean 0.2 ms, p50 <= 0.25 ms, p99 > 10 s; \
                       handover stalls none\n";
        assert!(t.contains(timings), "{t}");
        let config = "Config: generation 2, reloads applied 1, refused 0; last: applied \
                      (reload applied: no change)\n";
        assert!(t.contains(config), "{t}");
        let origin = "Origins:\n  web 10.0.0.1:80 partial (1/2 workers): 3 connections, failures \
                      1 (refused 1), checks 5 (success 5), bytes 100 to origin, 2000 to client\n";
        assert!(t.contains(origin), "{t}");
        assert!(!d.contains("Origins"), "{d}");
    }
}
