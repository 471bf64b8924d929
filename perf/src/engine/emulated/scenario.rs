//! The bench's scenarios on the emulated engine, with the same byte stream and server
//! protocol as the kernel engine (perf/src/proto.rs): `throughput` (either direction),
//! `handover` (a transfer during which a hook cuts a path), `idle` (hold connections open).
//! Every byte is checked against the seeded stream; each connection's MPTCP outcome goes
//! into the report.

use std::net::SocketAddrV4;
use std::time::{Duration, Instant as WallInstant};

use anyhow::{Result, bail};
use serde_json::json;

use super::Settings;
use super::conn::MpConn;
use super::driver::Phone;
use crate::proto::{Header, Mode, REPLY_LEN, SinkReply};
use crate::report::{Outcome, Section};
use crate::scenario::{bps, fmt_bps, fmt_bytes};
use crate::stream::{StreamGen, Verifier};
use netreaktor_pipeline::tcp::State;

/// Extra time allowed past the planned end for the last bytes and replies.
const GRACE: Duration = Duration::from_secs(10);
/// Bytes generated per write.
const CHUNK: usize = 64 * 1024;
/// Connections `idle` opens between two turns of the loop.
const OPEN_BATCH: u32 = 64;
/// The longest `idle` waits for its handshakes.
const SETUP_LIMIT: Duration = Duration::from_secs(30);

/// A transfer's plan.
#[derive(Debug, Clone)]
pub(crate) struct Transfer {
    /// Connections, one after another (`sequential`) or at once.
    pub(crate) parallel: u32,
    /// Run them one after the other (version learning needs this).
    pub(crate) sequential: bool,
    /// Seconds of transfer.
    pub(crate) time: Duration,
    /// The server sends.
    pub(crate) reverse: bool,
    /// Seed of connection 0's stream.
    pub(crate) seed: u64,
    /// A command to run at a time, and one to undo it.
    pub(crate) cut: Option<(Duration, String)>,
    pub(crate) restore: Option<(Duration, String)>,
}

/// One connection's application: what it sends, what it checks.
#[derive(Debug)]
struct App {
    idx: usize,
    seed: u64,
    stream: StreamGen,
    verifier: Verifier,
    reply: Vec<u8>,
    sent: u64,
    done: bool,
    end: WallInstant,
}

/// Runs a transfer and reports it.
pub(crate) fn transfer(
    settings: &Settings,
    server: SocketAddrV4,
    plan: &Transfer,
) -> Result<Outcome> {
    let mut phone = Phone::new(settings.clone(), server)?;
    let start = WallInstant::now();
    let mut hooks = Hooks::new(plan, start);
    let mut finished = Vec::new();
    let waves: Vec<u32> = if plan.sequential { (0..plan.parallel).collect() } else { vec![0] };
    for first in waves {
        let n = if plan.sequential { 1 } else { plan.parallel };
        let mut apps = Vec::new();
        for k in first..first + n {
            let seed = plan.seed.wrapping_add(u64::from(k));
            let idx = phone.open()?;
            let header = if plan.reverse {
                let a = u64::try_from(plan.time.as_micros()).unwrap_or(u64::MAX);
                Header { mode: Mode::Source, seed, a, b: 0 }
            } else {
                Header { mode: Mode::Sink, seed, a: 0, b: 0 }
            };
            if let Some(c) = phone.conns[idx].as_mut() {
                c.data.write(&header.encode());
            }
            let end = WallInstant::now() + plan.time;
            apps.push(App {
                idx,
                seed,
                stream: StreamGen::new(seed),
                verifier: Verifier::new(seed),
                reply: Vec::new(),
                sent: 0,
                done: false,
                end,
            });
        }
        let give_up = WallInstant::now() + plan.time + GRACE;
        while !apps.iter().all(|a| a.done) && WallInstant::now() < give_up {
            phone.turn()?;
            hooks.run()?;
            let now = phone.now();
            for a in &mut apps {
                if let Some(c) = phone.conns[a.idx].as_mut() {
                    step(a, c, plan.reverse, now);
                }
            }
        }
        // Let the last ACKs and DATA_FINs out.
        let linger = WallInstant::now() + Duration::from_millis(200);
        while WallInstant::now() < linger {
            phone.turn()?;
        }
        for a in apps {
            let conn = phone.retire(a.idx);
            finished.push((a, conn));
        }
    }
    Ok(outcome(&finished, plan, start.elapsed().as_secs_f64(), hooks.problems))
}

/// Moves one connection's application forward.
fn step(a: &mut App, c: &mut MpConn, reverse: bool, now: netreaktor_pipeline::time::Instant) {
    if a.done {
        return;
    }
    if reverse {
        let bytes: Vec<u8> = c.data.readable.drain(..).collect();
        a.verifier.check(&bytes);
        if c.data.peer_finished {
            c.close_when_acked(now);
            a.done = true;
        }
    } else {
        let mut buf = vec![0u8; CHUNK];
        while WallInstant::now() < a.end && c.data.unacked.len() < (1 << 20) - CHUNK {
            a.stream.fill(&mut buf);
            a.sent += c.data.write(&buf) as u64;
        }
        if WallInstant::now() >= a.end {
            c.close_when_acked(now);
        }
        a.reply.extend(c.data.readable.drain(..));
        a.done = a.reply.len() >= REPLY_LEN;
    }
    if c.finished() {
        a.done = true;
    }
}

/// Commands run at planned times (the cut and restore of `handover`).
struct Hooks {
    pending: Vec<(WallInstant, String)>,
    problems: Vec<String>,
}

impl Hooks {
    fn new(plan: &Transfer, start: WallInstant) -> Self {
        let pending = plan
            .cut
            .iter()
            .chain(&plan.restore)
            .map(|(at, cmd)| (start + *at, cmd.clone()))
            .collect();
        Self { pending, problems: Vec::new() }
    }

    fn run(&mut self) -> Result<()> {
        let now = WallInstant::now();
        let (due, later): (Vec<_>, Vec<_>) = self.pending.drain(..).partition(|(at, _)| *at <= now);
        self.pending = later;
        for (_, cmd) in due {
            let st = std::process::Command::new("sh").args(["-c", &cmd]).status()?;
            if !st.success() {
                self.problems.push(format!("hook `{cmd}` failed: {st}"));
            }
        }
        Ok(())
    }
}

/// The report: totals, one row per connection, problems.
fn outcome(
    done: &[(App, Option<MpConn>)],
    plan: &Transfer,
    elapsed: f64,
    mut problems: Vec<String>,
) -> Outcome {
    let mut table = Section::new(
        "connections",
        &[
            "#",
            "offered",
            "got",
            "fallback",
            "joins",
            "max stall ms",
            "reinjected",
            "bytes",
            "verdict",
        ],
    );
    let mut rows = Vec::new();
    let mut total = 0u64;
    for (k, (a, conn)) in done.iter().enumerate() {
        let Some(c) = conn else { continue };
        let r = &c.record;
        let mut stall = c.data.max_gap_us as f64 / 1000.0;
        let (bytes, mismatch) = if plan.reverse {
            (a.verifier.bytes(), a.verifier.mismatch())
        } else {
            let reply = (a.reply.len() >= REPLY_LEN).then(|| {
                let mut b = [0u8; REPLY_LEN];
                b.copy_from_slice(&a.reply[..REPLY_LEN]);
                SinkReply::decode(&b)
            });
            match reply {
                Some(rep) if rep.bytes == a.sent => {
                    // Uploads: the longest gap between arrivals, as the server saw it.
                    stall = rep.max_gap_us as f64 / 1000.0;
                    (rep.bytes, rep.mismatch)
                }
                Some(rep) => {
                    problems.push(format!(
                        "connection {k}: server counted {} of {} bytes",
                        rep.bytes, a.sent
                    ));
                    (rep.bytes, rep.mismatch)
                }
                None => {
                    problems.push(format!("connection {k}: no reply from the server"));
                    (0, None)
                }
            }
        };
        if plan.reverse && !c.data.peer_finished {
            problems.push(format!("connection {k}: the server's stream did not end"));
        }
        if let Some(m) = mismatch {
            problems.push(format!("connection {k}: byte {m} differs from the stream"));
        }
        total += bytes;
        let ver = |v: Option<super::keys::Version>| {
            v.map_or("tcp".to_string(), |v| format!("{v:?}").to_lowercase())
        };
        table.row(vec![
            k.to_string(),
            ver(r.offered),
            ver(r.version),
            r.fallback.map_or("-".into(), |f| {
                serde_json::to_value(f)
                    .map(|v| v.as_str().unwrap_or("").to_string())
                    .unwrap_or_default()
            }),
            r.joins.to_string(),
            format!("{stall:.1}"),
            r.reinjected_bytes.to_string(),
            fmt_bytes(bytes),
            if mismatch.is_none() { "ok".into() } else { "MISMATCH".into() },
        ]);
        rows.push(json!({
            "seed": a.seed,
            "offered": r.offered,
            "version": r.version,
            "fallback": r.fallback,
            "joins": r.joins,
            "join_ack_repeats": r.join_ack_repeats,
            "max_stall_ms": stall,
            "reinjected_bytes": r.reinjected_bytes,
            "subflow_resets": r.subflow_resets,
            "cell_resets": r.cell_resets,
            "fastclose": r.fastclose,
            "hung": r.hung,
            "malformed_options": r.malformed,
            "bytes": bytes,
            "sent": (!plan.reverse).then_some(a.sent),
            "mismatch": mismatch,
        }));
    }
    let rate = bps(total, elapsed);
    let mut totals = Section::new("total", &["bytes", "seconds", "rate"]);
    totals.row(vec![fmt_bytes(total), format!("{elapsed:.2}"), fmt_bps(rate)]);
    Outcome {
        results: json!({ "bytes": total, "seconds": elapsed, "bits_per_second": rate, "connections": rows }),
        sections: vec![table, totals],
        problems,
    }
}

/// Opens `count` connections (a batch per turn of the loop), waits for every handshake, holds
/// them for `time`, and reports how many came up, with MPTCP, and how fast.
pub(crate) fn idle(
    settings: &Settings,
    server: SocketAddrV4,
    count: u32,
    time: Duration,
) -> Result<Outcome> {
    let mut phone = Phone::new(settings.clone(), server)?;
    let mut idx = Vec::new();
    let start = WallInstant::now();
    for k in 0..count {
        idx.push(phone.open()?);
        if k % OPEN_BATCH == OPEN_BATCH - 1 {
            phone.turn()?;
        }
    }
    let opening = |phone: &Phone| idx.iter().any(|&i| state(phone, i) == Some(State::SynSent));
    let setup_limit = start + SETUP_LIMIT;
    while opening(&phone) && WallInstant::now() < setup_limit {
        phone.turn()?;
    }
    let setup = start.elapsed().as_secs_f64();
    let end = WallInstant::now() + time;
    while WallInstant::now() < end {
        phone.turn()?;
    }
    let established = idx.iter().filter(|&&i| state(&phone, i) == Some(State::Established)).count();
    let mptcp =
        idx.iter().filter(|&&i| phone.conns[i].as_ref().is_some_and(|c| c.shared.mptcp)).count();
    let mut problems = Vec::new();
    if established != idx.len() {
        problems.push(format!("{} of {} connections established", established, idx.len()));
    }
    if established == 0 && count > 0 {
        bail!("no connection established");
    }
    let rate = if setup > 0.0 { established as f64 / setup } else { 0.0 };
    let mut t =
        Section::new("idle", &["connections", "established", "mptcp", "set-up s", "conn/s"]);
    t.row(vec![
        count.to_string(),
        established.to_string(),
        mptcp.to_string(),
        format!("{setup:.2}"),
        format!("{rate:.0}"),
    ]);
    Ok(Outcome {
        results: json!({
            "connections": count,
            "established": established,
            "mptcp": mptcp,
            "setup_seconds": setup,
            "connections_per_second": rate,
        }),
        sections: vec![t],
        problems,
    })
}

/// The TCP state of connection `i`'s first subflow.
fn state(phone: &Phone, i: usize) -> Option<State> {
    phone.conns.get(i)?.as_ref().map(|c| c.subflows[0].tcp.state())
}
