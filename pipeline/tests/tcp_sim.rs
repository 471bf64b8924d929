//! The simulator proof of the TCP engine: two hosts, each with one `tcp::Connection`, exchange
//! seeded byte streams in both directions at once over a `netsim` link, then close. Every
//! scenario runs at least 200 seeds and checks byte-exact delivery both ways, that both ends
//! reach CLOSED or TIME-WAIT, and a bound on virtual time. A failing seed prints its scenario
//! and seed; `TCP_SIM_SEED=<seed> cargo test --release --test tcp_sim <test>` replays it.
//!
//! Then two efficiency checks: goodput on a clean 100 Mbit/s, 20 ms RTT path, and CUBIC's
//! throughput under 1% random loss against RFC 9438 §5's response function.

#[path = "tcp_sim/host.rs"]
mod host;
#[path = "tcp_sim/scenario.rs"]
mod scenario;
#[path = "tcp_sim/stream.rs"]
mod stream;

use netreaktor_pipeline::netsim::{LinkConfig, Rng, ms, percent, secs};
use netreaktor_pipeline::tcp::CloseReason;
use netreaktor_pipeline::time::{Duration, Instant};

use scenario::{FailureNote, Side, Spec, check_complete, run, seeds};

/// Seeds per scenario.
const SEEDS: u64 = 200;

/// Transfer sizes per direction, drawn per seed.
const SIZES: (u64, u64) = (20_000, 200_000);

/// A per-scenario random stream for the scenario's own parameters.
fn rng(seed: u64, salt: u64) -> Rng {
    Rng::stream(seed, salt)
}

/// Runs `make(seed)` for every seed and checks a complete transfer.
fn complete_for_all_seeds(make: impl Fn(u64) -> Spec) {
    for seed in seeds(SEEDS) {
        let spec = make(seed);
        let _note = FailureNote(format!("scenario {} seed {seed}", spec.name));
        check_complete(&run(spec));
    }
}

/// A link with a random delay of 0..=50 ms and rate of 10..=100 Mbit/s.
fn ordinary_link(r: &mut Rng) -> LinkConfig {
    LinkConfig::new().delay(ms(r.range_inclusive(0, 50))).rate_mbps(r.range_inclusive(10, 100))
}

fn loss_scenario(name: &'static str, loss_percent: u32, bound: Duration) -> impl Fn(u64) -> Spec {
    move |seed| {
        let mut r = rng(seed, 1);
        let link = ordinary_link(&mut r).loss_ppm(percent(loss_percent));
        let mut spec = Spec::new(name, seed, link, &mut r, SIZES);
        spec.bound = bound;
        spec
    }
}

#[test]
fn no_loss() {
    complete_for_all_seeds(loss_scenario("loss 0%", 0, secs(10)));
}

#[test]
fn loss_1_percent() {
    complete_for_all_seeds(loss_scenario("loss 1%", 1, secs(60)));
}

#[test]
fn loss_5_percent() {
    complete_for_all_seeds(loss_scenario("loss 5%", 5, secs(120)));
}

#[test]
fn loss_20_percent() {
    let make = loss_scenario("loss 20%", 20, secs(1200));
    complete_for_all_seeds(|seed| {
        let mut spec = make(seed);
        // At 20% loss each way a round trip fails 36% of the time and the RTO backs off to
        // its 60 s ceiling (RFC 6298 §2.5), as long as the default TIME-WAIT (60 s) and
        // FIN-WAIT-2 limit (60 s). The peer's last retransmitted FIN (or data after a
        // half-close) can then arrive after this end has gone, and the RST it gets is the
        // right answer, not a bug. Ten maximum RTOs of TIME-WAIT (0.36^10 ≈ 4e-5 per run) and
        // no FIN-WAIT-2 limit take that race out. Unanswered SYNs also need more than 6
        // retries to be sure over 200 seeds (0.36^7 ≈ 0.08% per run).
        spec.cfg.time_wait = secs(600);
        spec.cfg.fin_wait2_timeout = None;
        spec.cfg.syn_retries = 12;
        spec
    });
}

#[test]
fn reordering() {
    complete_for_all_seeds(|seed| {
        let mut r = rng(seed, 2);
        let held = percent(r.range_inclusive(1, 10) as u32);
        let link = ordinary_link(&mut r).reorder(held, ms(r.range_inclusive(1, 30)));
        let mut spec = Spec::new("reordering", seed, link, &mut r, SIZES);
        spec.bound = secs(30);
        spec
    });
}

#[test]
fn duplication() {
    complete_for_all_seeds(|seed| {
        let mut r = rng(seed, 3);
        let link = ordinary_link(&mut r).duplicate_ppm(percent(r.range_inclusive(1, 10) as u32));
        let mut spec = Spec::new("duplication", seed, link, &mut r, SIZES);
        spec.bound = secs(30);
        spec
    });
}

#[test]
fn delays_0_to_300_ms() {
    complete_for_all_seeds(|seed| {
        let mut r = rng(seed, 4);
        let delay = ms(r.range_inclusive(0, 300));
        let link = LinkConfig::new().delay(delay).rate_mbps(r.range_inclusive(10, 100));
        let mut spec = Spec::new("delays 0-300 ms", seed, link, &mut r, SIZES);
        spec.bound = secs(30);
        spec
    });
}

#[test]
fn rates_1_mbit_to_10_gbit() {
    complete_for_all_seeds(|seed| {
        let mut r = rng(seed, 5);
        // Log-uniform between 10^6 and 10^10 bit/s.
        let exponent = 6.0 + r.range_inclusive(0, 4000) as f64 / 1000.0;
        let rate = 10f64.powf(exponent) as u64;
        let link = LinkConfig::new().delay(ms(r.range_inclusive(0, 20))).rate_bps(rate);
        let mut spec = Spec::new("rates 1 Mbit/s-10 Gbit/s", seed, link, &mut r, SIZES);
        spec.bound = secs(30);
        spec
    });
}

#[test]
fn blackhole_5_s_then_restored() {
    for seed in seeds(SEEDS) {
        let mut r = rng(seed, 6);
        let link = LinkConfig::new()
            .delay(ms(r.range_inclusive(1, 30)))
            .rate_mbps(r.range_inclusive(1, 4));
        let mut spec = Spec::new("blackhole 5 s", seed, link, &mut r, (100_000, 200_000));
        // Mid-transfer: 100 KB take at least 200 ms at 4 Mbit/s.
        spec.cut = Some((Instant::from_millis(r.range_inclusive(50, 150)), secs(5)));
        spec.bound = secs(60);
        let _note = FailureNote(format!("scenario {} seed {seed}", spec.name));
        let run = run(spec);
        check_complete(&run);
        let cut = run.net.stats(run.link, netreaktor_pipeline::netsim::Direction::AToB).dropped_cut
            + run.net.stats(run.link, netreaktor_pipeline::netsim::Direction::BToA).dropped_cut;
        assert!(cut > 0, "{}: the cut dropped nothing", run.id());
    }
}

#[test]
fn receiver_stops_reading_for_60_s() {
    for seed in seeds(SEEDS) {
        let mut r = rng(seed, 7);
        let mut spec = Spec::new("zero window 60 s", seed, ordinary_link(&mut r), &mut r, SIZES);
        // A 32 KB receive buffer, so that every transfer fills it and the window closes.
        spec.cfg.recv_buffer = 32 * 1024;
        spec.up = r.range_inclusive(64_000, 200_000);
        spec.pause = Some((Side::Server, Instant::ZERO, secs(60)));
        spec.bound = secs(120);
        let _note = FailureNote(format!("scenario {} seed {seed}", spec.name));
        let run = run(spec);
        check_complete(&run);
        let client = run.host(Side::Client).conn.as_ref().expect("client connection");
        assert!(client.stats().window_probes > 0, "{}: no zero-window probe", run.id());
        let read_all = run.host(Side::Server).log.read_all_at.expect("checked");
        assert!(read_all >= Instant::from_secs(60), "{}: read before the pause ended", run.id());
    }
}

#[test]
fn peer_aborts_mid_transfer() {
    for seed in seeds(SEEDS) {
        let mut r = rng(seed, 8);
        let mut spec = Spec::new("abort", seed, ordinary_link(&mut r), &mut r, SIZES);
        let (side, rx_len) =
            if r.below(2) == 0 { (Side::Client, spec.down) } else { (Side::Server, spec.up) };
        let after = rx_len * r.range_inclusive(10, 90) / 100;
        spec.abort = Some((side, after));
        spec.bound = secs(30);
        let _note = FailureNote(format!("scenario {} seed {seed}", spec.name));
        let run = run(spec);
        scenario::check_common(&run);
        let other = if side == Side::Client { Side::Server } else { Side::Client };
        let id = run.id();
        let closed = |s: Side| run.host(s).log.closed.map(|c| c.1);
        assert_eq!(closed(side), Some(CloseReason::Aborted), "{id}\n{}", run.describe());
        assert_eq!(closed(other), Some(CloseReason::Reset), "{id}\n{}", run.describe());
        assert!(run.net.now() <= Instant::ZERO + run.spec.bound, "{id}: took too long");
    }
}
