//! `openloop`: request/response over one long-lived connection, open-loop: requests go out on
//! a schedule of their own (every `--interval`), whether or not earlier answers came, as a
//! user's requests do. So a path failure delays every request it overlaps, not only the one
//! in flight. Per request: time to first byte and to the complete answer, both measured
//! from the request's scheduled time; a request whose answer is not complete within
//! `--deadline` is a failure.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use serde::Serialize;
use serde_json::json;

use super::Ctx;
use crate::cli::OpenLoopArgs;
use crate::latency::fmt_us;
use crate::progress::Progress;
use crate::proto::{Header, Mode};
use crate::report::{Outcome, Section};

/// How long a blocked read waits before the clock is checked again.
const POLL: Duration = Duration::from_millis(20);

/// One request: when its answer's first byte and last byte arrived (offsets from the start).
#[derive(Debug, Clone, Copy, Default)]
struct Answer {
    first: Option<Duration>,
    complete: Option<Duration>,
}

/// Nearest-rank percentiles of a sample, in microseconds.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub(crate) struct Percentiles {
    /// Samples.
    pub(crate) count: usize,
    pub(crate) p50_us: u64,
    pub(crate) p95_us: u64,
    pub(crate) p99_us: u64,
    pub(crate) max_us: u64,
}

impl Percentiles {
    /// Nearest rank: the ceil(q * n)-th smallest value (exact for small samples).
    pub(crate) fn of(mut us: Vec<u64>) -> Self {
        us.sort_unstable();
        let rank = |q: f64| {
            let k = ((q * us.len() as f64).ceil() as usize).max(1);
            us.get(k - 1).copied().unwrap_or(0)
        };
        Self {
            count: us.len(),
            p50_us: rank(0.50),
            p95_us: rank(0.95),
            p99_us: rank(0.99),
            max_us: us.last().copied().unwrap_or(0),
        }
    }

    fn cells(&self) -> Vec<String> {
        [self.p50_us, self.p95_us, self.p99_us, self.max_us].iter().map(|&u| fmt_us(u)).collect()
    }
}

/// Runs the scenario.
pub(crate) fn run(ctx: &Ctx, args: &OpenLoopArgs) -> Result<Outcome> {
    let header = Header { mode: Mode::Echo, seed: 0, a: args.request, b: args.reply };
    let mut stream = ctx.open(&header)?;
    stream.set_nodelay(true)?;
    let writer = stream.try_clone().context("cloning the connection for the writer")?;
    let count = (args.time.as_secs_f64() / args.interval.as_secs_f64()).floor() as usize;
    let start = Instant::now();
    let (request, interval) = (args.request, args.interval);
    let sender = thread::spawn(move || send_on_schedule(writer, request, interval, count, start));
    let give_up = args.time + args.deadline;
    let progress = Progress::new(give_up);
    let answers = receive_answers(&mut stream, args, count, start, &progress);
    progress.finish();
    let _ = stream.shutdown(std::net::Shutdown::Both);
    let sent = sender.join().map_err(|_| anyhow!("the writer thread panicked"))?;
    let answers = answers?;
    Ok(outcome(&answers, sent, args, start.elapsed()))
}

/// Writes request `i` at `start + i * interval` (late if the connection blocks, never
/// skipped); returns the requests written, or the error that stopped it.
fn send_on_schedule(
    mut s: TcpStream,
    request: u64,
    interval: Duration,
    count: usize,
    start: Instant,
) -> Result<usize, String> {
    // --request is at most 16 MiB (clap range), so it fits a usize.
    let bytes = vec![0xA5u8; request as usize];
    for i in 0..count {
        let at = interval.mul_f64(i as f64);
        if let Some(wait) = at.checked_sub(start.elapsed()) {
            thread::sleep(wait);
        }
        s.write_all(&bytes).map_err(|e| format!("request {i}: {e}"))?;
    }
    Ok(count)
}

/// Reads the answers (each `--reply` bytes, in order) until all `count` are complete or
/// `--deadline` has passed after the last request's time.
fn receive_answers(
    s: &mut TcpStream,
    args: &OpenLoopArgs,
    count: usize,
    start: Instant,
    progress: &Progress,
) -> Result<Vec<Answer>> {
    s.set_read_timeout(Some(POLL))?;
    let mut answers = vec![Answer::default(); count];
    let reply = args.reply;
    let end = start + args.time + args.deadline;
    let mut buf = vec![0u8; 256 * 1024];
    let mut got = 0u64;
    while got < reply * count as u64 && Instant::now() < end {
        let n = match s.read(&mut buf) {
            Ok(0) => return Err(anyhow!("the server closed after {got} bytes")),
            Ok(n) => n as u64,
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                continue;
            }
            Err(e) => return Err(e).context("reading answers"),
        };
        let now = start.elapsed();
        // Answers whose first byte is in this read, and those it completes.
        let first_new = got.div_ceil(reply) as usize;
        let last_started = ((got + n - 1) / reply) as usize;
        for a in answers.iter_mut().take(last_started + 1).skip(first_new) {
            a.first = Some(now);
        }
        let done_before = (got / reply) as usize;
        let done_now = ((got + n) / reply) as usize;
        for a in answers.iter_mut().take(done_now).skip(done_before) {
            a.complete = Some(now);
        }
        got += n;
        progress.set(now, format!("{done_now} answers"));
    }
    Ok(answers)
}

/// Time to first byte and to the complete answer from each request's scheduled time; a
/// request not answered yet counts with the time waited so far (a lower bound).
fn outcome(
    answers: &[Answer],
    sent: Result<usize, String>,
    args: &OpenLoopArgs,
    elapsed: Duration,
) -> Outcome {
    let scheduled = |i: usize| args.interval.mul_f64(i as f64);
    let since = |i: usize, at: Option<Duration>| {
        at.unwrap_or(elapsed).saturating_sub(scheduled(i)).as_micros() as u64
    };
    let ttfb: Vec<u64> = answers.iter().enumerate().map(|(i, a)| since(i, a.first)).collect();
    let full: Vec<u64> = answers.iter().enumerate().map(|(i, a)| since(i, a.complete)).collect();
    let deadline = args.deadline.as_micros() as u64;
    let failures = full.iter().filter(|&&us| us > deadline).count();
    let unanswered = answers.iter().filter(|a| a.complete.is_none()).count();
    let (ttfb, full) = (Percentiles::of(ttfb), Percentiles::of(full));
    let mut problems = Vec::new();
    if let Err(e) = &sent {
        problems.push(format!("sending stopped: {e}"));
    }
    let mut sum =
        Section::new("requests", &["requests", "failures", "unanswered", "deadline", "every"]);
    sum.row(vec![
        answers.len().to_string(),
        failures.to_string(),
        unanswered.to_string(),
        fmt_us(deadline),
        fmt_us(args.interval.as_micros() as u64),
    ]);
    let mut lat = Section::new("from the scheduled time", &["", "p50", "p95", "p99", "max"]);
    lat.row([vec!["first byte".to_string()], ttfb.cells()].concat());
    lat.row([vec!["complete".to_string()], full.cells()].concat());
    Outcome {
        results: json!({"requests": answers.len(), "failures": failures,
            "unanswered": unanswered, "deadline_s": args.deadline.as_secs_f64(),
            "ttfb": ttfb, "complete": full,
            "ttfb_us": answers.iter().enumerate().map(|(i, a)| since(i, a.first))
                .collect::<Vec<_>>()}),
        sections: vec![sum, lat],
        problems,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let p = Percentiles::of((1..=100).rev().collect());
        assert_eq!((p.count, p.p50_us, p.p95_us, p.p99_us, p.max_us), (100, 50, 95, 99, 100));
        assert_eq!(Percentiles::of(vec![]), Percentiles::default());
        assert_eq!(Percentiles::of(vec![7]).p99_us, 7);
    }
}
