//! Short exchanges on one long-lived connection while the primary path comes and goes: the
//! origin answers on a schedule of its own (a 20 kB lot every 250 ms, open-loop), so each
//! lot finds the connection idle and the scheduler picks a subflow afresh (RFC 8684 §3.3.6
//! failover, §3.3.8 backup). How long each lot's first byte takes from the origin to the
//! client tells which path it took and whether it waited for a failover timer.

use netreaktor_netsim::{Dirs, LinkConfig, Rng, ms, secs};
use netreaktor_pipeline::time::{Duration, Instant};

use super::scenario::{Run, Spec, build, check_complete, client_link, finish, run, seeds};
use super::{FEW, cell_join, note};

/// The origin's lot and its period.
const LOT: u64 = 20_000;
const EVERY: u64 = 250;
/// Lots in a run: 12 s.
const LOTS: u64 = 48;

/// One-way delays: wifi, cell, and the proxy-origin link (the scenario's default).
const WIFI_MS: u64 = 5;
const CELL_MS: u64 = 25;
const ORIGIN_MS: u64 = 2;

/// A run: wifi (50 Mbit/s) and cell (20 Mbit/s), cell joined at once, the origin writing
/// one lot every 250 ms; wifi blackholed both ways over `cut` (ms), if any.
fn spec(name: &'static str, seed: u64, backup: bool, cut: Option<(u64, u64)>) -> Spec {
    let mut spec = Spec::new(name, seed, 0, LOT * LOTS);
    spec.origin_write_rate = Some((LOT, ms(EVERY)));
    spec.wifi = client_link(LinkConfig::new().delay(ms(WIFI_MS)).rate_mbps(50));
    spec.cell = client_link(LinkConfig::new().delay(ms(CELL_MS)).rate_mbps(20));
    spec.client.actions.push(cell_join(0, backup));
    if let Some((from, until)) = cut {
        spec.cuts.push((0, Instant::from_millis(from), Instant::from_millis(until)));
    }
    spec.bound = secs(40);
    spec
}

/// Each lot: when the origin wrote it, and how long its first byte took to reach the
/// client's in-order stream.
fn lot_delays(run: &Run) -> Vec<(Instant, Duration)> {
    let start = run.origin().log.connected_at.expect("the origin connected");
    let deliveries = &run.client().deliveries;
    (0..LOTS)
        .map(|k| {
            let written = start + ms(EVERY * k);
            let at = deliveries.iter().find(|d| d.1 > k * LOT).expect("complete").0;
            (written, at.saturating_duration_since(written))
        })
        .collect()
}

/// A lot that took wifi: its first byte came in less than the cell path's one-way delay.
fn via_wifi(delay: Duration) -> bool {
    delay < ms(CELL_MS)
}

/// RFC 8684 §3.3.6: wifi dies between two lots and stays dead for 8 to 12 of them. The
/// first lot after the cut goes to wifi (nothing told the server yet) and moves to cell
/// after the failover time; every later lot of the blackout goes straight to cell: a
/// subflow that failed stays out of the first choice until it shows life, even while it has
/// nothing new to send. Once wifi is back, the server's probes on it are answered within
/// about one of its RTTs (probes every max(SRTT, 20 ms)), and the next lots take wifi again.
#[test]
fn a_dead_primary_stays_out_of_the_way_and_its_return_is_used() {
    for backup in [false, true] {
        for seed in seeds(FEW) {
            let mut r = Rng::stream(seed, 21);
            // Halfway between two lots (the handshake takes ~40 ms).
            let from = 2_000 + EVERY / 2 + r.range_inclusive(0, 40);
            let until = from + EVERY * r.range_inclusive(8, 12);
            let name = if backup { "dead primary, backup cell" } else { "dead primary" };
            let spec = spec(name, seed, backup, Some((from, until)));
            let floor = spec.mptcp.failover_floor;
            let _note = note(&spec);
            let run = run(spec);
            check_complete(&run, true);
            let (id, d) = (run.id(), run.describe());
            let (from, until) = (Instant::from_millis(from), Instant::from_millis(until));
            let lots = lot_delays(&run);
            let show =
                |w: Instant, t: Duration| format!("{}+{}", w.total_millis(), t.total_millis());
            let table: Vec<String> = lots.iter().map(|&(w, t)| show(w, t)).collect();
            let healthy = lots.iter().filter(|l| l.0 < from);
            assert!(healthy.clone().all(|l| via_wifi(l.1)), "{id}: {table:?}\n{d}");
            let mut during = lots.iter().filter(|l| l.0 >= from && l.0 < until);
            let first = during.next().expect("lots in the cut");
            assert!(first.1 >= floor, "{id}: the first lot did not wait: {table:?}\n{d}");
            // No lot after the first waits for the failover timer again.
            let waited: Vec<_> = during.filter(|l| l.1 >= ms(CELL_MS + ORIGIN_MS + 10)).collect();
            assert!(waited.is_empty(), "{id}: lots waited again: {waited:?}\n{table:?}\n{d}");
            // Wifi's return is noticed within about one probe interval and its RTT: from
            // the second lot after the cut ends, every lot takes wifi again.
            let back = until + ms(EVERY + 60);
            let after: Vec<_> = lots.iter().filter(|l| l.0 >= back && !via_wifi(l.1)).collect();
            assert!(after.is_empty(), "{id}: wifi not used again: {after:?}\n{table:?}\n{d}");
            let m = run.proxy().stats().mptcp;
            assert_eq!(m.potentially_failed, 1, "{id}: one failover only\n{d}");
            assert!(m.probe_bytes > 0, "{id}: no probe counted\n{d}");
            // Probes are cheap: at most one segment per 20 ms of blackout.
            let cut_ms = until.saturating_duration_since(from).total_millis();
            assert!(m.probe_bytes <= (cut_ms / 20 + 2) * 1500, "{id}: {m:?}\n{d}");
        }
    }
}

/// No spurious failover: wifi healthy but jittery (its one-way delay jumps from 5 ms to
/// 12-20 ms for 40-120 ms at a time, a dozen times, so its RTT triples or quadruples but
/// stays under the 50 ms failover floor): no subflow is marked potentially failed, nothing
/// is probed or reinjected, and cell carries nothing.
#[test]
fn a_jittery_primary_does_not_fail_over() {
    for seed in seeds(FEW) {
        let mut r = Rng::stream(seed, 22);
        let spec = spec("jittery primary", seed, false, None);
        let _note = note(&spec);
        let mut run = build(spec);
        let link = run.links[0];
        let normal = client_link(LinkConfig::new().delay(ms(WIFI_MS)).rate_mbps(50));
        for k in 0..12u64 {
            let at = Instant::from_millis(500 + k * 800 + r.range_inclusive(0, 300));
            let spike = ms(r.range_inclusive(12, 20));
            let len = ms(r.range_inclusive(40, 120));
            let slow = client_link(LinkConfig::new().delay(spike).rate_mbps(50));
            run.net.schedule_config(at, link, Dirs::Both, slow);
            run.net.schedule_config(at + len, link, Dirs::Both, normal.clone());
        }
        let run = finish(run);
        check_complete(&run, true);
        let (id, d) = (run.id(), run.describe());
        let m = run.proxy().stats().mptcp;
        assert_eq!(m.potentially_failed, 0, "{id}: spurious failover\n{d}");
        assert_eq!((m.probe_bytes, m.reinjected_bytes), (0, 0), "{id}\n{d}");
        let cell = run.client().subs.iter().find(|s| s.iface == 1).expect("the cell join");
        assert_eq!(cell.rx_bytes, 0, "{id}: data on cell\n{d}");
    }
}
