//! `handover`: a download (or, with `-R`, an upload) of the seeded stream during which a
//! hook command cuts a path at `--cut-at` (and another may restore it at `--restore-at`).
//! Reports the stall (the longest gap between data arrivals, and the longest gap around the
//! cut), the stream's integrity, and the bytes before and after the cut. For an upload the
//! gaps are those between completed writes at the client (the server's longest gap between
//! arrivals is reported beside them).

use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use serde::Serialize;
use serde_json::json;

use super::{Ctx, finish_sink, fmt_bytes, receive, send_stream};
use crate::cli::HandoverArgs;
use crate::progress::Progress;
use crate::proto::{Header, Mode};
use crate::report::{Outcome, Section};
use crate::stream::Verifier;

/// Gaps shorter than this are not kept.
const MIN_GAP: Duration = Duration::from_millis(1);
/// Extra time allowed past the planned end.
const GRACE: Duration = Duration::from_secs(10);

/// A gap between two arrivals, as offsets from the start.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub(crate) struct Gap {
    /// When the earlier arrival was, seconds.
    pub(crate) from_s: f64,
    /// When the later one was, seconds.
    pub(crate) to_s: f64,
}

impl Gap {
    fn secs(&self) -> f64 {
        self.to_s - self.from_s
    }
}

/// A hook command's run.
#[derive(Debug, Clone, Serialize)]
struct Hook {
    role: &'static str,
    command: String,
    at_s: f64,
    exit: Option<i32>,
    bytes_before: u64,
}

/// The longest gap of all, if any.
pub(crate) fn longest(gaps: &[Gap]) -> Option<Gap> {
    gaps.iter().copied().max_by(|a, b| a.secs().total_cmp(&b.secs()))
}

/// The stall the cut caused: the longest gap that ends after the cut and starts before the
/// restore (or the end), so a stall that only the restore ends is counted too.
pub(crate) fn cut_gap(gaps: &[Gap], cut_s: f64, restore_s: Option<f64>) -> Option<Gap> {
    let until = restore_s.unwrap_or(f64::INFINITY);
    let near: Vec<Gap> =
        gaps.iter().copied().filter(|g| g.to_s > cut_s && g.from_s < until).collect();
    longest(&near)
}

/// Records arrivals as gaps.
#[derive(Debug)]
struct Arrivals {
    start: Instant,
    last: Instant,
    gaps: Vec<Gap>,
}

impl Arrivals {
    fn new(start: Instant) -> Self {
        Self { start, last: start, gaps: Vec::new() }
    }

    fn arrived(&mut self, now: Instant) {
        if now - self.last >= MIN_GAP {
            let off = |t: Instant| (t - self.start).as_secs_f64();
            self.gaps.push(Gap { from_s: off(self.last), to_s: off(now) });
        }
        self.last = now;
    }
}

/// What the transfer thread hands back: gaps, bytes, first bad byte, server's longest gap.
type Transfer = (Vec<Gap>, u64, Option<u64>, Option<u64>);

/// Runs the scenario.
pub(crate) fn run(ctx: &Ctx, args: &HandoverArgs) -> Result<Outcome> {
    let micros = u64::try_from(args.time.as_micros()).unwrap_or(u64::MAX);
    let header = if args.upload {
        Header { mode: Mode::Sink, seed: args.seed, a: 0, b: 0 }
    } else {
        Header { mode: Mode::Source, seed: args.seed, a: micros, b: 0 }
    };
    let mut s = ctx.open(&header)?;
    let bytes = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let hooks = Arc::new(Mutex::new(Vec::new()));
    let hook_thread = spawn_hooks(args, start, Arc::clone(&bytes), Arc::clone(&hooks));
    let (counter, seed, upload, end) =
        (Arc::clone(&bytes), args.seed, args.upload, start + args.time);
    let transfer = thread::spawn(move || -> Result<Transfer> {
        let mut arrivals = Arrivals::new(start);
        if upload {
            send_stream(&mut s, seed, end, |n, now| {
                arrivals.arrived(now);
                counter.fetch_add(n as u64, Ordering::Relaxed);
            })?;
            let r = finish_sink(&mut s, GRACE)?;
            return Ok((arrivals.gaps, r.bytes, r.mismatch, Some(r.max_gap_us)));
        }
        let mut v = Verifier::new(seed);
        receive(&mut s, end + GRACE, |d, now| {
            arrivals.arrived(now);
            v.check(d);
            counter.fetch_add(d.len() as u64, Ordering::Relaxed);
        })?;
        Ok((arrivals.gaps, v.bytes(), v.mismatch(), None))
    });
    let progress = Progress::new(args.time);
    while !transfer.is_finished() {
        progress.set(start.elapsed(), fmt_bytes(bytes.load(Ordering::Relaxed)));
        thread::sleep(Duration::from_millis(50));
    }
    progress.finish();
    let elapsed = start.elapsed().as_secs_f64();
    let result = transfer.join().map_err(|_| anyhow!("transfer thread panicked"))?;
    hook_thread.join().map_err(|_| anyhow!("hook thread panicked"))?;
    let hooks = hooks.lock().map_err(|_| anyhow!("hook list poisoned"))?.clone();
    Ok(outcome(args, result, &hooks, elapsed))
}

/// Runs the cut and restore commands at their times, in a thread of their own.
fn spawn_hooks(
    args: &HandoverArgs,
    start: Instant,
    bytes: Arc<AtomicU64>,
    out: Arc<Mutex<Vec<Hook>>>,
) -> thread::JoinHandle<()> {
    let mut plan: Vec<(Duration, &'static str, String)> = Vec::new();
    if let Some(c) = &args.cut_cmd {
        plan.push((args.cut_at, "cut", c.clone()));
    }
    if let (Some(at), Some(c)) = (args.restore_at, &args.restore_cmd) {
        plan.push((at, "restore", c.clone()));
    }
    plan.sort_by_key(|p| p.0);
    thread::spawn(move || {
        for (at, role, command) in plan {
            if let Some(wait) = at.checked_sub(start.elapsed()) {
                thread::sleep(wait);
            }
            let at_s = start.elapsed().as_secs_f64();
            let bytes_before = bytes.load(Ordering::Relaxed);
            let exit =
                Command::new("sh").arg("-c").arg(&command).status().ok().and_then(|s| s.code());
            if let Ok(mut v) = out.lock() {
                v.push(Hook { role, command, at_s, exit, bytes_before });
            }
        }
    })
}

/// The outcome: stall, integrity, bytes around the cut.
fn outcome(args: &HandoverArgs, r: Result<Transfer>, hooks: &[Hook], elapsed: f64) -> Outcome {
    let mut problems: Vec<String> = hooks
        .iter()
        .filter(|h| h.exit != Some(0))
        .map(|h| {
            format!(
                "hook `{}` exited with {}",
                h.command,
                h.exit.map_or("a signal".into(), |c| c.to_string())
            )
        })
        .collect();
    let (gaps, total, mismatch, server_gap) = match r {
        Ok(t) => t,
        Err(e) => {
            problems.push(format!("transfer: {e:#}"));
            (Vec::new(), 0, None, None)
        }
    };
    if let Some(at) = mismatch {
        problems.push(format!("stream differs at byte {at}"));
    }
    let cut = hooks.iter().find(|h| h.role == "cut");
    let restore_s = hooks.iter().find(|h| h.role == "restore").map(|h| h.at_s);
    let all = longest(&gaps);
    let at_cut = cut.and_then(|c| cut_gap(&gaps, c.at_s, restore_s));
    let ms = |g: Option<Gap>| g.map(|g| g.secs() * 1e3);
    let (before, after) = cut.map_or((None, None), |c| {
        (Some(c.bytes_before), Some(total.saturating_sub(c.bytes_before)))
    });
    let mut t = Section::new("handover", &["", "value"]);
    let cell = |g: Option<Gap>| {
        g.map_or("-".into(), |g| format!("{:.1} ms (at {:.3} s)", g.secs() * 1e3, g.from_s))
    };
    t.row(vec!["direction".into(), if args.upload { "upload" } else { "download" }.into()]);
    t.row(vec!["bytes".into(), fmt_bytes(total)]);
    t.row(vec!["integrity".into(), mismatch.map_or("ok".into(), |m| format!("bad at byte {m}"))]);
    t.row(vec!["longest gap".into(), cell(all)]);
    t.row(vec!["gap at the cut".into(), cell(at_cut)]);
    t.row(vec!["bytes before cut".into(), before.map_or("-".into(), fmt_bytes)]);
    t.row(vec!["bytes after cut".into(), after.map_or("-".into(), fmt_bytes)]);
    for h in hooks {
        t.row(vec![
            format!("{} at {:.3} s", h.role, h.at_s),
            format!("{} (exit {})", h.command, h.exit.map_or("signal".into(), |c| c.to_string())),
        ]);
    }
    let mut top = gaps.clone();
    top.sort_by(|a, b| b.secs().total_cmp(&a.secs()));
    top.truncate(10);
    Outcome {
        results: json!({"seconds": elapsed, "direction": if args.upload { "upload" } else { "download" },
            "bytes": total, "integrity_ok": mismatch.is_none(), "mismatch_at": mismatch,
            "longest_gap_ms": ms(all), "longest_gap": all, "cut_gap_ms": ms(at_cut), "cut_gap": at_cut,
            "bytes_before_cut": before, "bytes_after_cut": after, "hooks": hooks,
            "server_longest_gap_ms": server_gap.map(|us| us as f64 / 1e3), "top_gaps": top}),
        sections: vec![t],
        problems,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(from_s: f64, to_s: f64) -> Gap {
        Gap { from_s, to_s }
    }

    #[test]
    fn the_cut_gap_is_the_longest_one_ending_after_the_cut() {
        let gaps = [g(0.5, 0.9), g(2.01, 2.26), g(2.3, 2.35), g(4.0, 4.5)];
        assert_eq!(longest(&gaps), Some(g(4.0, 4.5)));
        // Cut at 2 s, restored at 3 s: the 250 ms stall, not the later 500 ms one.
        assert_eq!(cut_gap(&gaps, 2.0, Some(3.0)), Some(g(2.01, 2.26)));
        // A stall that began just before the cut but ended after it counts.
        assert_eq!(cut_gap(&[g(1.99, 2.5)], 2.0, None), Some(g(1.99, 2.5)));
        assert_eq!(cut_gap(&gaps, 5.0, None), None);
    }

    #[test]
    fn arrivals_keep_only_gaps_of_a_millisecond_or_more() {
        let t0 = Instant::now();
        let mut a = Arrivals::new(t0);
        a.arrived(t0 + Duration::from_micros(100));
        a.arrived(t0 + Duration::from_millis(300));
        assert_eq!(a.gaps.len(), 1);
        assert!((a.gaps[0].secs() - 0.2999).abs() < 1e-9);
    }
}
