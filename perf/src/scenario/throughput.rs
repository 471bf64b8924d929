//! `throughput`: bulk transfer over `-P` connections for `-t` seconds, the client sending
//! (or with `-R` the server sending); bytes per interval, goodput in total, and every byte
//! checked against the seeded stream by the receiving end.

use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use serde_json::json;

use super::{Ctx, bps, finish_sink, fmt_bps, fmt_bytes, receive, send_stream};
use crate::cli::ThroughputArgs;
use crate::engine::kernel;
use crate::progress::Progress;
use crate::proto::{Header, Mode};
use crate::report::{Outcome, Section};
use crate::stream::Verifier;

/// Extra time allowed past the planned end for the last bytes and replies.
const GRACE: Duration = Duration::from_secs(10);

/// What one connection did.
#[derive(Debug)]
struct ConnResult {
    /// Bytes the receiving end counted.
    received: u64,
    /// Bytes the client wrote (forward only).
    sent: Option<u64>,
    /// First bad byte, if any.
    mismatch: Option<u64>,
    /// The connection's congestion control.
    congestion: Option<String>,
}

/// Runs the scenario.
pub(crate) fn run(ctx: &Ctx, args: &ThroughputArgs) -> Result<Outcome> {
    let counter = Arc::new(AtomicU64::new(0));
    let mut streams = Vec::new();
    for k in 0..args.parallel {
        let seed = args.seed.wrapping_add(u64::from(k));
        let header = if args.reverse {
            let a = u64::try_from(args.time.as_micros()).unwrap_or(u64::MAX);
            Header { mode: Mode::Source, seed, a, b: 0 }
        } else {
            Header { mode: Mode::Sink, seed, a: 0, b: 0 }
        };
        streams.push((seed, ctx.open(&header)?));
    }
    let start = Instant::now();
    let workers: Vec<JoinHandle<Result<ConnResult>>> = streams
        .into_iter()
        .map(|(seed, s)| {
            let counter = Arc::clone(&counter);
            let reverse = args.reverse;
            let end = start + args.time;
            thread::spawn(move || worker(s, seed, reverse, end, &counter))
        })
        .collect();
    let intervals = sample(&counter, &workers, start, args);
    let elapsed = start.elapsed().as_secs_f64();
    let results: Vec<Result<ConnResult>> = workers
        .into_iter()
        .map(|w| w.join().unwrap_or_else(|_| Err(anyhow!("worker thread panicked"))))
        .collect();
    Ok(outcome(&intervals, &results, elapsed))
}

/// One connection's transfer.
fn worker(
    mut s: TcpStream,
    seed: u64,
    reverse: bool,
    end: Instant,
    counter: &AtomicU64,
) -> Result<ConnResult> {
    let congestion = kernel::congestion(&s);
    if reverse {
        let mut v = Verifier::new(seed);
        receive(&mut s, end + GRACE, |d, _| {
            v.check(d);
            counter.fetch_add(d.len() as u64, Ordering::Relaxed);
        })?;
        return Ok(ConnResult {
            received: v.bytes(),
            sent: None,
            mismatch: v.mismatch(),
            congestion,
        });
    }
    let sent = send_stream(&mut s, seed, end, |n, _| {
        counter.fetch_add(n as u64, Ordering::Relaxed);
    })?;
    let reply = finish_sink(&mut s, GRACE)?;
    Ok(ConnResult { received: reply.bytes, sent: Some(sent), mismatch: reply.mismatch, congestion })
}

/// One interval's count: (start, end) in seconds from the start, bytes.
type Interval = (f64, f64, u64);

/// Samples the byte counter every interval until every worker has finished.
fn sample(
    counter: &AtomicU64,
    workers: &[JoinHandle<Result<ConnResult>>],
    start: Instant,
    args: &ThroughputArgs,
) -> Vec<Interval> {
    let progress = Progress::new(args.time);
    let mut out = Vec::new();
    let (mut mark, mut seen) = (Duration::ZERO, 0u64);
    loop {
        let done = workers.iter().all(JoinHandle::is_finished);
        let now = start.elapsed();
        if done || now >= mark + args.interval {
            let total = counter.load(Ordering::Relaxed);
            if !done || total > seen {
                out.push((mark.as_secs_f64(), now.as_secs_f64(), total - seen));
            }
            progress.set(now, fmt_bytes(total));
            (mark, seen) = (now, total);
        }
        if done {
            break;
        }
        thread::sleep(Duration::from_millis(10));
    }
    progress.finish();
    out
}

/// The outcome: interval table, per-connection table, totals, problems.
fn outcome(intervals: &[Interval], results: &[Result<ConnResult>], elapsed: f64) -> Outcome {
    let mut problems = Vec::new();
    let mut table = Section::new("intervals", &["start s", "end s", "bytes", "rate"]);
    for &(a, b, n) in intervals {
        let rate = fmt_bps(bps(n, b - a));
        table.row(vec![format!("{a:.2}"), format!("{b:.2}"), fmt_bytes(n), rate]);
    }
    let mut conns = Section::new("connections", &["#", "received", "goodput", "integrity", "cc"]);
    let mut json_conns = Vec::new();
    let mut total = 0u64;
    for (k, r) in results.iter().enumerate() {
        match r {
            Ok(c) => {
                total += c.received;
                let integrity = check(k, c, &mut problems);
                conns.row(vec![
                    k.to_string(),
                    fmt_bytes(c.received),
                    fmt_bps(bps(c.received, elapsed)),
                    integrity.clone(),
                    c.congestion.clone().unwrap_or_default(),
                ]);
                json_conns.push(json!({"received": c.received, "sent": c.sent,
                    "mismatch_at": c.mismatch, "integrity_ok": integrity == "ok",
                    "congestion_control": c.congestion}));
            }
            Err(e) => {
                problems.push(format!("connection {k}: {e:#}"));
                json_conns.push(json!({"error": format!("{e:#}")}));
            }
        }
    }
    let mut sum = Section::new("total", &["seconds", "bytes", "goodput"]);
    sum.row(vec![format!("{elapsed:.2}"), fmt_bytes(total), fmt_bps(bps(total, elapsed))]);
    let json_intervals: Vec<_> = intervals
        .iter()
        .map(|&(a, b, n)| json!({"start_s": a, "end_s": b, "bytes": n, "bps": bps(n, b - a)}))
        .collect();
    Outcome {
        results: json!({"seconds": elapsed, "bytes": total, "goodput_bps": bps(total, elapsed),
            "intervals": json_intervals, "connections": json_conns}),
        sections: vec![table, conns, sum],
        problems,
    }
}

/// The integrity cell of a connection, adding a problem when it failed.
fn check(k: usize, c: &ConnResult, problems: &mut Vec<String>) -> String {
    if let Some(at) = c.mismatch {
        problems.push(format!("connection {k}: stream differs at byte {at}"));
        return format!("bad at {at}");
    }
    if let Some(sent) = c.sent.filter(|&s| s != c.received) {
        problems.push(format!("connection {k}: sent {sent} bytes, server got {}", c.received));
        return "short".to_string();
    }
    "ok".to_string()
}
