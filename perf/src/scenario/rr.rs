//! `rr`: request/response latency at a fixed rate over `-P` connections, each sending on a
//! fixed schedule; latency is measured from each request's intended send time
//! (coordinated-omission corrected, as wrk2 does), and also from its actual send time.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use hdrhistogram::Histogram;
use serde_json::json;

use super::Ctx;
use crate::cli::RrArgs;
use crate::latency::{self, Schedule, Summary};
use crate::progress::Progress;
use crate::proto::{Header, Mode};
use crate::report::{Outcome, Section};

/// How long one reply may take before the connection is given up.
const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// One connection's histograms.
#[derive(Debug)]
struct Tally {
    corrected: Histogram<u64>,
    uncorrected: Histogram<u64>,
    error: Option<String>,
}

/// Runs the scenario.
pub(crate) fn run(ctx: &Ctx, args: &RrArgs) -> Result<Outcome> {
    let header = Header { mode: Mode::Echo, seed: 0, a: args.size, b: args.size };
    let streams = (0..args.parallel).map(|_| ctx.open(&header)).collect::<Result<Vec<_>>>()?;
    let per_conn = args.rate / f64::from(args.parallel);
    let count = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let workers: Vec<_> = streams
        .into_iter()
        .enumerate()
        .map(|(k, s)| {
            // Spread the connections' send times evenly over one interval.
            let phase = Duration::from_secs_f64(k as f64 / args.rate);
            let schedule = Schedule::new(per_conn, phase);
            let (size, time, count) = (args.size, args.time, Arc::clone(&count));
            thread::spawn(move || worker(s, schedule, size, start, time, &count))
        })
        .collect();
    let progress = Progress::new(args.time);
    while !workers.iter().all(|w| w.is_finished()) {
        progress.set(start.elapsed(), format!("{} requests", count.load(Ordering::Relaxed)));
        thread::sleep(Duration::from_millis(50));
    }
    progress.finish();
    let elapsed = start.elapsed().as_secs_f64();
    let tallies: Vec<Tally> = workers
        .into_iter()
        .map(|w| w.join().map_err(|_| anyhow!("worker thread panicked")))
        .collect::<Result<_>>()?;
    outcome(&tallies, elapsed, args)
}

/// Sends on schedule until `time` has passed, waiting for each reply.
fn worker(
    mut s: TcpStream,
    schedule: Schedule,
    size: u64,
    start: Instant,
    time: Duration,
    count: &AtomicU64,
) -> Tally {
    let mut t =
        Tally { corrected: latency::histogram(), uncorrected: latency::histogram(), error: None };
    // --size is at most 16 MiB (clap range), so it fits a usize.
    let request = vec![0xA5u8; size as usize];
    let mut reply = vec![0u8; size as usize];
    if let Err(e) = s.set_read_timeout(Some(REPLY_TIMEOUT)) {
        t.error = Some(e.to_string());
        return t;
    }
    for i in 0.. {
        let intended = schedule.intended(i);
        if intended >= time {
            break;
        }
        if let Some(wait) = intended.checked_sub(start.elapsed()) {
            thread::sleep(wait);
        }
        let sent = start.elapsed();
        if let Err(e) = s.write_all(&request).and_then(|()| s.read_exact(&mut reply)) {
            t.error = Some(format!("request {i}: {e}"));
            break;
        }
        let done = start.elapsed();
        latency::record(&mut t.corrected, latency::corrected(intended, done));
        latency::record(&mut t.uncorrected, done - sent);
        count.fetch_add(1, Ordering::Relaxed);
    }
    t
}

/// The outcome: percentiles, achieved rate, errors.
fn outcome(tallies: &[Tally], elapsed: f64, args: &RrArgs) -> Result<Outcome> {
    let (mut co, mut raw) = (latency::histogram(), latency::histogram());
    let mut problems = Vec::new();
    for (k, t) in tallies.iter().enumerate() {
        co.add(&t.corrected)?;
        raw.add(&t.uncorrected)?;
        if let Some(e) = &t.error {
            problems.push(format!("connection {k}: {e}"));
        }
    }
    let (c, u) = (Summary::of(&co), Summary::of(&raw));
    let achieved = if elapsed > 0.0 { c.count as f64 / elapsed } else { 0.0 };
    let mut sum = Section::new("requests", &["seconds", "sent", "target /s", "achieved /s"]);
    sum.row(vec![
        format!("{elapsed:.2}"),
        c.count.to_string(),
        format!("{:.1}", args.rate),
        format!("{achieved:.1}"),
    ]);
    let mut lat = Section::new("latency", &["", "p50", "p90", "p99", "p99.9", "max"]);
    lat.row([vec!["corrected".to_string()], c.cells()].concat());
    lat.row([vec!["uncorrected".to_string()], u.cells()].concat());
    Ok(Outcome {
        results: json!({"seconds": elapsed, "requests": c.count, "target_rate": args.rate,
            "achieved_rate": achieved, "latency": c, "latency_uncorrected": u,
            "errors": problems.len()}),
        sections: vec![sum, lat],
        problems,
    })
}
