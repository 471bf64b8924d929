//! The simulator proof of the proxy: a client host, the proxy node (a listener, an origin
//! connection per client connection, a `proxy::Splice` between them) and one or two origin hosts,
//! on `netreaktor_netsim` links. Byte-exact transfers both ways through the proxy under loss and
//! delay; origin refused; first origin dead and the second answers; half-close in both orders;
//! client abort and origin abort propagate as resets; idle timeout; and backpressure: a 10 MB
//! download to a slow reader never makes the proxy hold more than its connections' configured
//! buffers; and passive origin health (`proxy_sim/health.rs`): a dead origin ejected after
//! three failures, no client waiting a connect timeout after that, the origin restored by
//! its trial once it recovers.
//!
//! A failing run prints its scenario and seed; `PROXY_SIM_SEED=<seed>` replays one seed,
//! `PROXY_SIM_SEEDS=<n>` changes the count and `PROXY_SIM_VERBOSE=1` prints every run.

#[path = "proxy_sim/fleet.rs"]
mod fleet;
#[path = "proxy_sim/health.rs"]
mod health;
#[path = "proxy_sim/proxy_node.rs"]
mod proxy_node;
#[path = "proxy_sim/scenario.rs"]
mod scenario;

use netreaktor_netsim::{LinkConfig, Rng, ms, percent, secs};
use netreaktor_pipeline::proxy::{ConnectFailure, SpliceConfig, SpliceEnd};
use netreaktor_pipeline::tcp::CloseReason;
use netreaktor_pipeline::time::Instant;

use scenario::{
    Addresses, FailureNote, OriginKind, Spec, check_common, check_complete, run, seeds,
};

/// Seeds for the transfer scenario: 100 in release builds, 12 in debug builds.
const SEEDS: u64 = if cfg!(debug_assertions) { 12 } else { 100 };

/// Seeds for the scenarios that check one behaviour.
const FEW: u64 = if cfg!(debug_assertions) { 4 } else { 10 };

/// A link with 1..=30 ms of delay, 20..=200 Mbit/s, and `loss_percent` random loss.
fn link(r: &mut Rng, loss_percent: u32) -> LinkConfig {
    LinkConfig::new()
        .delay(ms(r.range_inclusive(1, 30)))
        .rate_mbps(r.range_inclusive(20, 200))
        .loss_ppm(percent(loss_percent))
}

fn note(spec: &Spec) -> FailureNote {
    FailureNote(format!("scenario {} seed {} (PROXY_SIM_SEED={})", spec.name, spec.seed, spec.seed))
}

#[test]
fn transfer_both_ways_under_loss_and_delay() {
    let sizes = [0u64, 1, 1460, 20_000, 150_000, 400_000, 1_000_000];
    for seed in seeds(SEEDS) {
        let mut r = Rng::stream(seed, 1);
        let up = sizes[r.below(sizes.len() as u64) as usize];
        let down = sizes[r.below(sizes.len() as u64) as usize];
        let loss = r.range_inclusive(1, 3) as u32;
        let mut spec = Spec::new("transfer", seed, link(&mut r, loss), up, down);
        let origin_loss = r.range_inclusive(1, 3) as u32;
        spec.origin_link = link(&mut r, origin_loss);
        spec.bound = secs(60);
        let _note = note(&spec);
        check_complete(&run(spec));
    }
}

/// Every combination of IP versions: an IPv6 client through an IPv6 service to an IPv4
/// origin, and an IPv4 client to an IPv6 origin, byte-exact both ways under loss (every
/// frame's checksums verified by the receiving host, `check_common`).
#[test]
fn transfer_across_ip_versions() {
    let cases = [
        ("v6 client to v4 origin", Addresses::v4().with_v6_client()),
        ("v4 client to v6 origin", Addresses::v4().with_v6_origins()),
        ("v6 client to v6 origin", Addresses::v4().with_v6_client().with_v6_origins()),
    ];
    for (name, addresses) in cases {
        for seed in seeds(FEW) {
            let mut r = Rng::stream(seed, 7);
            let mut spec = Spec::new(name, seed, link(&mut r, 1), 200_000, 300_000);
            spec.addresses = addresses.clone();
            // A 1500-byte MTU leaves an MSS of 1440 under an IPv6 header (1460 under IPv4):
            // every host takes the smaller, as one on a dual-stack link would.
            spec.cfg.mss = 1440;
            spec.proxy_cfg.mss = 1440;
            spec.bound = secs(60);
            let _note = note(&spec);
            check_complete(&run(spec));
        }
    }
}

#[test]
fn origin_refuses_client_gets_reset() {
    for seed in seeds(FEW) {
        let mut r = Rng::stream(seed, 2);
        let mut spec = Spec::new("refused", seed, link(&mut r, 0), 10_000, 10_000);
        spec.origins = vec![OriginKind::Refuse];
        spec.bound = secs(10);
        let _note = note(&spec);
        let run = run(spec);
        check_common(&run);
        let id = run.id();
        let closed = run.client().log.closed.map(|c| c.1);
        assert_eq!(closed, Some(CloseReason::Reset), "{id}\n{}", run.describe());
        let ends: Vec<_> = run.proxy().log.ends.iter().map(|e| e.1).collect();
        assert_eq!(ends, [SpliceEnd::OriginUnreachable(ConnectFailure::Refused)], "{id}");
        assert!(run.origin(0).log.host_rsts > 0, "{id}: the origin sent no RST");
    }
}

#[test]
fn first_origin_dead_second_answers() {
    let connect_timeout = secs(1);
    for seed in seeds(FEW) {
        let mut r = Rng::stream(seed, 3);
        let mut spec = Spec::new("dead then alive", seed, link(&mut r, 0), 50_000, 80_000);
        spec.origins = vec![OriginKind::Dead, OriginKind::Serve];
        spec.max_tries = 2;
        spec.splice = SpliceConfig { connect_timeout, ..SpliceConfig::default() };
        spec.bound = secs(10);
        let _note = note(&spec);
        let run = run(spec);
        check_complete(&run);
        let id = run.id();
        let attempts = &run.proxy().log.attempts;
        assert_eq!(attempts.len(), 2, "{id}: {attempts:?}");
        let retry_at = attempts[1].0.saturating_duration_since(attempts[0].0);
        // The shard's timer wheel fires a deadline at the end of its tick, at most 1 ms late.
        assert!(
            retry_at >= connect_timeout && retry_at <= connect_timeout + ms(1),
            "{id}: retried after {retry_at:?}"
        );
        assert!(run.origin(0).log.first_syn_at.is_none(), "{id}: the dead origin heard a SYN");
    }
}

#[test]
fn all_origins_dead_client_gets_reset_after_tries() {
    for seed in seeds(FEW) {
        let mut r = Rng::stream(seed, 4);
        let mut spec = Spec::new("all dead", seed, link(&mut r, 0), 1000, 1000);
        spec.origins = vec![OriginKind::Dead, OriginKind::Dead];
        spec.max_tries = 3;
        spec.splice = SpliceConfig { connect_timeout: secs(1), ..SpliceConfig::default() };
        spec.bound = secs(10);
        let _note = note(&spec);
        let run = run(spec);
        check_common(&run);
        let id = run.id();
        assert_eq!(run.proxy().log.attempts.len(), 3, "{id}");
        assert_eq!(run.client().log.closed.map(|c| c.1), Some(CloseReason::Reset), "{id}");
        let end = SpliceEnd::OriginUnreachable(ConnectFailure::ConnectTimeout);
        assert_eq!(run.proxy().log.ends.iter().map(|e| e.1).collect::<Vec<_>>(), [end], "{id}");
    }
}

/// Half-close passes through: the side that finishes sending first gets its FIN to the far
/// end while the other direction still carries data. No loss here, so that a lost FIN
/// cannot overtake the order the check relies on; 3 MB take at least 240 ms at 100 Mbit/s,
/// more than a FIN needs through both links.
fn half_close(name: &'static str, salt: u64, up: u64, down: u64) -> Vec<scenario::Run> {
    let mut runs = Vec::new();
    for seed in seeds(FEW) {
        let mut r = Rng::stream(seed, salt);
        let link = LinkConfig::new()
            .delay(ms(r.range_inclusive(1, 30)))
            .rate_mbps(r.range_inclusive(20, 100));
        let mut spec = Spec::new(name, seed, link, up, down);
        spec.bound = secs(30);
        let _note = note(&spec);
        let run = run(spec);
        check_complete(&run);
        runs.push(run);
    }
    runs
}

#[test]
fn origin_closes_first() {
    for run in half_close("origin closes first", 5, 3_000_000, 2_000) {
        let (client_fin, origin_fin) = (
            run.client().log.peer_fin_at.expect("checked"),
            run.server().log.peer_fin_at.expect("checked"),
        );
        assert!(
            client_fin < origin_fin,
            "{}: the origin's FIN came last\n{}",
            run.id(),
            run.describe()
        );
    }
}

#[test]
fn client_closes_first() {
    for run in half_close("client closes first", 6, 2_000, 3_000_000) {
        let (client_fin, origin_fin) = (
            run.client().log.peer_fin_at.expect("checked"),
            run.server().log.peer_fin_at.expect("checked"),
        );
        assert!(
            origin_fin < client_fin,
            "{}: the client's FIN came last\n{}",
            run.id(),
            run.describe()
        );
    }
}

#[test]
fn client_abort_resets_origin() {
    for seed in seeds(FEW) {
        let mut r = Rng::stream(seed, 7);
        let mut spec = Spec::new("client aborts", seed, link(&mut r, 0), 100_000, 5_000_000);
        spec.client_app.abort_after = Some(r.range_inclusive(10_000, 200_000));
        spec.bound = secs(10);
        let _note = note(&spec);
        let run = run(spec);
        check_common(&run);
        let id = run.id();
        assert_eq!(run.client().log.closed.map(|c| c.1), Some(CloseReason::Aborted), "{id}");
        let origin = run.server().log.closed.map(|c| c.1);
        assert_eq!(origin, Some(CloseReason::Reset), "{id}\n{}", run.describe());
        let ends: Vec<_> = run.proxy().log.ends.iter().map(|e| e.1).collect();
        assert_eq!(ends, [SpliceEnd::ClientReset], "{id}");
    }
}

#[test]
fn origin_abort_resets_client() {
    for seed in seeds(FEW) {
        let mut r = Rng::stream(seed, 8);
        let mut spec = Spec::new("origin aborts", seed, link(&mut r, 0), 300_000, 5_000_000);
        spec.origin_app.abort_after = Some(r.range_inclusive(10_000, 200_000));
        spec.bound = secs(10);
        let _note = note(&spec);
        let run = run(spec);
        check_common(&run);
        let id = run.id();
        let client = run.client().log.closed.map(|c| c.1);
        assert_eq!(client, Some(CloseReason::Reset), "{id}\n{}", run.describe());
        let ends: Vec<_> = run.proxy().log.ends.iter().map(|e| e.1).collect();
        assert_eq!(ends, [SpliceEnd::OriginReset], "{id}");
    }
}

#[test]
fn idle_timeout_resets_both() {
    let idle = secs(5);
    for seed in seeds(FEW) {
        let mut r = Rng::stream(seed, 9);
        let mut spec = Spec::new("idle", seed, link(&mut r, 0), 3_000, 5_000);
        spec.client_app.hold_open = true;
        spec.origin_app.hold_open = true;
        spec.splice = SpliceConfig { idle_timeout: Some(idle), ..SpliceConfig::default() };
        spec.bound = secs(10);
        let _note = note(&spec);
        let run = run(spec);
        check_common(&run);
        let id = run.id();
        let d = run.describe();
        assert_eq!(run.client().rx_got, 5_000, "{id}\n{d}");
        assert_eq!(run.server().rx_got, 3_000, "{id}\n{d}");
        for peer in [run.client(), run.server()] {
            assert_eq!(peer.log.closed.map(|c| c.1), Some(CloseReason::Reset), "{id}\n{d}");
        }
        let (at, end) = run.proxy().log.ends[0];
        assert_eq!(end, SpliceEnd::IdleTimeout, "{id}");
        let last_data = run.server().log.connected_at.expect("connected");
        assert!(
            at >= last_data + idle && at <= last_data + idle + secs(1),
            "{id}: idle end at {at}\n{d}"
        );
    }
}

#[test]
fn backpressure_10_mb_to_a_slow_reader() {
    let size = 10_000_000u64;
    for seed in seeds(if cfg!(debug_assertions) { 1 } else { 3 }) {
        let mut r = Rng::stream(seed, 10);
        let mut spec = Spec::new("backpressure", seed, link(&mut r, 0), 0, size);
        spec.origin_link = LinkConfig::new().delay(ms(2)).rate_mbps(1000);
        spec.client_link = LinkConfig::new().delay(ms(1 + 9 * seed % 30)).rate_mbps(1000);
        // The client reads 64 KB every 20 ms: 3.2 MB/s, far below both links.
        spec.client_app.read_rate = Some((64 * 1024, ms(20)));
        spec.proxy_cfg.send_buffer = 128 * 1024;
        spec.proxy_cfg.recv_buffer = 128 * 1024;
        spec.bound = secs(30);
        let budget = 2 * (spec.proxy_cfg.send_buffer + spec.proxy_cfg.recv_buffer);
        let _note = note(&spec);
        let run = run(spec);
        check_complete(&run);
        let id = run.id();
        let peak = run.proxy().log.peak_heap;
        assert!(peak <= budget, "{id}: the proxy held {peak} bytes, over {budget}");
        assert!(peak > 0, "{id}: no buffer was ever used");
        // The origin was held back: it finished sending within a second of the client's
        // last read, not at its link's pace (10 MB in 80 ms at 1 Gbit/s).
        let sent = run.server().log.sent_all_at.expect("sent");
        let read = run.client().log.read_all_at.expect("read");
        let reading = read.saturating_duration_since(Instant::ZERO);
        assert!(reading >= secs(3), "{id}: read all in {reading:?}, not slowly");
        assert!(
            read.saturating_duration_since(sent) < secs(1),
            "{id}: origin sent all at {sent}, read at {read}"
        );
    }
}
