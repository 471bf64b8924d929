//! `connect`: new connections as fast as `-P` workers can make them for `-t` seconds, each
//! one request of `--bytes` and one reply of `--bytes`; rate, set-up time percentiles and
//! failures by kind.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::Result;
use hdrhistogram::Histogram;
use serde_json::json;

use super::Ctx;
use crate::cli::ConnectArgs;
use crate::engine::kernel;
use crate::latency::{self, Summary};
use crate::progress::Progress;
use crate::proto::{Header, Mode};
use crate::report::{Outcome, Section};

/// One worker's tallies.
#[derive(Debug)]
struct Tally {
    setup: Histogram<u64>,
    transaction: Histogram<u64>,
    failures: BTreeMap<String, u64>,
}

/// Runs the scenario.
pub(crate) fn run(ctx: &Ctx, args: &ConnectArgs) -> Result<Outcome> {
    let done = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let end = start + args.time;
    let workers: Vec<_> = (0..args.parallel)
        .map(|_| {
            let (ctx, bytes, done) = (*ctx, args.bytes, Arc::clone(&done));
            thread::spawn(move || worker(&ctx, bytes, end, &done))
        })
        .collect();
    let progress = Progress::new(args.time);
    while !workers.iter().all(|w| w.is_finished()) {
        progress.set(start.elapsed(), format!("{} connections", done.load(Ordering::Relaxed)));
        thread::sleep(Duration::from_millis(50));
    }
    progress.finish();
    let elapsed = start.elapsed().as_secs_f64();
    let mut all = Tally {
        setup: latency::histogram(),
        transaction: latency::histogram(),
        failures: BTreeMap::new(),
    };
    for w in workers {
        let Ok(t) = w.join() else {
            *all.failures.entry("worker panicked".into()).or_default() += 1;
            continue;
        };
        all.setup.add(&t.setup)?;
        all.transaction.add(&t.transaction)?;
        for (k, n) in t.failures {
            *all.failures.entry(k).or_default() += n;
        }
    }
    Ok(outcome(&all, elapsed))
}

/// Opens connections until `end`.
fn worker(ctx: &Ctx, bytes: u64, end: Instant, done: &AtomicU64) -> Tally {
    let mut t = Tally {
        setup: latency::histogram(),
        transaction: latency::histogram(),
        failures: BTreeMap::new(),
    };
    let header = Header { mode: Mode::Echo, seed: 0, a: bytes, b: bytes };
    // --bytes is at most 16 MiB (clap range), so it fits a usize.
    let mut request = header.encode().to_vec();
    request.resize(request.len() + bytes as usize, 0xA5);
    let mut reply = vec![0u8; bytes as usize];
    while Instant::now() < end {
        match one(ctx, &request, &mut reply) {
            Ok((setup, total)) => {
                latency::record(&mut t.setup, setup);
                latency::record(&mut t.transaction, total);
                done.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => *t.failures.entry(kind(&e)).or_default() += 1,
        }
    }
    t
}

/// One connection: connect, request, reply, close; (set-up time, whole time).
fn one(ctx: &Ctx, request: &[u8], reply: &mut [u8]) -> io::Result<(Duration, Duration)> {
    let t0 = Instant::now();
    let mut s = kernel::connect(&ctx.addr, ctx.transport, ctx.connect_timeout)?;
    let setup = t0.elapsed();
    s.set_read_timeout(Some(ctx.connect_timeout))?;
    s.write_all(request)?;
    s.read_exact(reply)?;
    Ok((setup, t0.elapsed()))
}

/// A failure's kind, as the report names it.
fn kind(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => "refused".into(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => "timeout".into(),
        io::ErrorKind::ConnectionReset => "reset".into(),
        io::ErrorKind::UnexpectedEof => "short reply".into(),
        io::ErrorKind::AddrNotAvailable => "no local port".into(),
        _ => format!("other: {e}"),
    }
}

/// The outcome: rate, percentiles, failures.
fn outcome(t: &Tally, elapsed: f64) -> Outcome {
    let ok = t.setup.len();
    let failed: u64 = t.failures.values().sum();
    let rate = if elapsed > 0.0 { ok as f64 / elapsed } else { 0.0 };
    let mut sum = Section::new("connections", &["seconds", "ok", "failed", "per second"]);
    sum.row(vec![
        format!("{elapsed:.2}"),
        ok.to_string(),
        failed.to_string(),
        format!("{rate:.1}"),
    ]);
    let mut lat = Section::new("latency", &["", "p50", "p90", "p99", "p99.9", "max"]);
    let (setup, transaction) = (Summary::of(&t.setup), Summary::of(&t.transaction));
    lat.row([vec!["set-up".to_string()], setup.cells()].concat());
    lat.row([vec!["request+reply".to_string()], transaction.cells()].concat());
    let mut sections = vec![sum, lat];
    if !t.failures.is_empty() {
        let mut f = Section::new("failures", &["kind", "count"]);
        for (k, n) in &t.failures {
            f.row(vec![k.clone(), n.to_string()]);
        }
        sections.push(f);
    }
    let problems = if ok == 0 { vec!["no connection succeeded".to_string()] } else { vec![] };
    Outcome {
        results: json!({"seconds": elapsed, "connections_ok": ok, "connections_failed": failed,
            "per_second": rate, "setup": setup, "transaction": transaction,
            "failures": t.failures}),
        sections,
        problems,
    }
}
