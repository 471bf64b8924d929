//! The simulator proof of the MPTCP server (RFC 8684): a test-only MPTCP v1 client with two
//! interfaces (wifi and cell, each its own link), the proxy node terminating MPTCP, and an
//! origin. The client ([`client`]) is an independent oracle: it checks every mapping,
//! DATA_ACK, DATA_FIN and ADD_ADDR the server sends. Scenarios: two paths of different
//! delay and rate; loss and reordering on one path; a path blackholed and restored; a backup
//! path; ADD_ADDR and a join to the announced address; REMOVE_ADDR; MP_FASTCLOSE; fallback
//! to TCP; forged joins; an MPTCP v0 client (RFC 6824). Each is byte-exact both ways over many seeds and checks the
//! shard's MPTCP counters.
//!
//! A failing run prints its scenario and seed; `MPTCP_SIM_SEED=<seed>` replays one seed,
//! `MPTCP_SIM_SEEDS=<n>` changes the count, `MPTCP_SIM_VERBOSE=1` prints every run and
//! `MPTCP_SIM_DEBUG=1` every segment the client receives.

#[path = "mptcp_sim/bursts.rs"]
mod bursts;
#[path = "mptcp_sim/client.rs"]
mod client;
#[path = "mptcp_sim/hook.rs"]
mod hook;
#[path = "mptcp_sim/rx.rs"]
mod rx;
#[path = "mptcp_sim/scenario.rs"]
mod scenario;
#[path = "mptcp_sim/server_node.rs"]
mod server_node;
#[path = "mptcp_sim/subflow.rs"]
mod subflow;
#[path = "mptcp_sim/tx.rs"]
mod tx;

use netreaktor_netsim::{Direction, LinkConfig, Rng, ms, percent, secs};
use netreaktor_pipeline::proxy::SpliceEnd;
use netreaktor_pipeline::shard::{BOUNDS_MICROS, Fallback, JoinRefusal};
use netreaktor_pipeline::tcp::CloseReason;
use netreaktor_pipeline::time::Instant;

use client::{Action, Offer, Sched};
use scenario::{FailureNote, Spec, addr, check_common, check_complete, run, seeds};
use subflow::Forge;

/// Seeds per scenario: 100 in release builds, 8 in debug builds.
const SEEDS: u64 = if cfg!(debug_assertions) { 8 } else { 100 };

/// Seeds of the behaviour checks.
const FEW: u64 = 4;

/// Sizes up to a few MB.
fn size(r: &mut Rng) -> u64 {
    let sizes = [0u64, 1, 1460, 30_000, 200_000, 700_000, 2_000_000];
    sizes[r.below(sizes.len() as u64) as usize]
}

fn note(spec: &Spec) -> FailureNote {
    FailureNote(format!("scenario {} seed {} (MPTCP_SIM_SEED={})", spec.name, spec.seed, spec.seed))
}

/// A join from the cell interface to the service at `at`.
fn cell_join(at_ms: u64, backup: bool) -> (Instant, Action) {
    let join = Action::Join { iface: 1, to: addr(scenario::SERVICE), backup, forge: Forge::None };
    (Instant::from_millis(at_ms), join)
}

fn link(r: &mut Rng, delay: (u64, u64), rate: (u64, u64)) -> LinkConfig {
    scenario::client_link(
        LinkConfig::new()
            .delay(ms(r.range_inclusive(delay.0, delay.1)))
            .rate_mbps(r.range_inclusive(rate.0, rate.1)),
    )
}

#[test]
fn two_paths_different_delays_and_rates() {
    for seed in seeds(SEEDS) {
        let mut r = Rng::stream(seed, 1);
        let (up, down) = (size(&mut r), size(&mut r));
        let mut spec = Spec::new("two paths", seed, up, down);
        spec.wifi = link(&mut r, (2, 15), (20, 100));
        spec.cell = link(&mut r, (20, 80), (5, 30));
        let join_at = r.range_inclusive(0, 20);
        spec.client.actions.push(cell_join(join_at, false));
        spec.bound = secs(30);
        // The join's third ACK reaches the server three cell delays after its SYN.
        let joined_by = Instant::from_millis(join_at + 5) + spec.cell.delay.saturating_mul(4);
        let _note = note(&spec);
        let run = run(spec);
        check_complete(&run, true);
        let (id, d) = (run.id(), run.describe());
        let m = run.proxy().stats().mptcp;
        let read_at = run.client().log.read_all_at.expect("checked complete");
        if up.max(down) >= 2_000_000 && read_at > joined_by + ms(50) {
            // A transfer that ends before the join arrives refuses it (subflow_limit).
            assert_eq!(m.joins_refused.total(), 0, "{id}\n{d}");
            assert_eq!(m.joins_accepted, 1, "{id}\n{d}");
            assert_eq!(run.proxy().log.max_subflows, 2, "{id}\n{d}");
        }
    }
}

/// With timestamps and no DSS checksums a full-size data segment carries 38 bytes of
/// options padded to 40: the subflow must reserve the padding too, or full segments are
/// 1502-byte IP packets that a 1500-byte MTU drops (a bug this test found).
#[test]
fn full_size_segments_fit_a_1500_mtu() {
    for seed in seeds(2) {
        let mut spec = Spec::new("mtu 1500", seed, 0, 200_000);
        spec.wifi = spec.wifi.clone().mtu(1500);
        spec.cell = spec.cell.clone().mtu(1500);
        spec.bound = secs(10);
        let _note = note(&spec);
        check_complete(&run(spec), true);
    }
}

/// No fallback, no join refused, one accepted, the two subflows at once: the join took
/// part.
fn check_one_join(run: &scenario::Run) {
    let (id, d) = (run.id(), run.describe());
    let m = run.proxy().stats().mptcp;
    assert_eq!(m.fallback.total(), 0, "{id}\n{d}");
    assert_eq!(m.joins_refused.total(), 0, "{id}\n{d}");
    assert_eq!(m.joins_accepted, 1, "{id}\n{d}");
    assert_eq!(run.proxy().log.max_subflows, 2, "{id}\n{d}");
}

/// (b) 1-3 % loss and 1-3 % reordering on one path (wifi on even seeds, cell on odd):
/// byte-exact both ways. A lost join SYN may be retried after the transfer ended, so with a
/// lossy cell the join is only required to be counted as the client saw it.
#[test]
fn loss_and_reordering_on_one_path() {
    let mut disturbed = 0;
    for seed in seeds(SEEDS) {
        let mut r = Rng::stream(seed, 2);
        let (up, down) = (size(&mut r), 2_000_000 * r.range_inclusive(1, 2));
        let mut spec = Spec::new("loss and reordering", seed, up, down);
        spec.wifi = link(&mut r, (2, 15), (20, 50));
        spec.cell = link(&mut r, (20, 50), (5, 30));
        let loss = percent(r.range_inclusive(1, 3) as u32);
        let reorder = (percent(r.range_inclusive(1, 3) as u32), ms(r.range_inclusive(2, 20)));
        let lossy = if seed % 2 == 0 { &mut spec.wifi } else { &mut spec.cell };
        *lossy = lossy.clone().loss_ppm(loss).reorder(reorder.0, reorder.1);
        spec.client.actions.push(cell_join(r.range_inclusive(0, 20), false));
        spec.bound = secs(40);
        let _note = note(&spec);
        let run = run(spec);
        check_complete(&run, true);
        let (id, d) = (run.id(), run.describe());
        let lossy = run.net.stats(run.links[(seed % 2) as usize], Direction::BToA);
        disturbed += lossy.dropped_loss + lossy.reordered;
        if seed % 2 == 0 {
            check_one_join(&run);
        } else {
            let m = run.proxy().stats().mptcp;
            let joined = run.client().subs.iter().filter(|s| s.iface == 1 && s.joined).count();
            assert_eq!(m.joins_accepted, joined as u64, "{id}\n{d}");
        }
    }
    assert!(disturbed > 0, "no segment lost or reordered");
}

/// The median of `v`, which it sorts.
fn median(v: &mut [u64]) -> u64 {
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or(0)
}

/// (c) The wifi path (the primary) blackholed both ways mid-download, restored 1-3 s later:
/// the server marks it potentially failed within max(50 ms, 2 SRTT + 4 RTTVAR) and
/// reinjects on cell, so the download stalls far less than the 1 s data-level RTO.
#[test]
fn primary_blackholed_then_restored() {
    let (mut stalls, mut reinjected) = (Vec::new(), 0);
    for seed in seeds(SEEDS) {
        let mut r = Rng::stream(seed, 3);
        let mut spec = Spec::new("primary blackholed", seed, 0, 4_000_000);
        spec.wifi = link(&mut r, (5, 15), (20, 40));
        spec.cell = link(&mut r, (20, 50), (10, 30));
        spec.client.actions.push(cell_join(r.range_inclusive(0, 10), false));
        let from = r.range_inclusive(150, 300);
        let until = from + r.range_inclusive(1_000, 3_000);
        spec.cuts.push((0, Instant::from_millis(from), Instant::from_millis(until)));
        spec.bound = secs(30);
        let _note = note(&spec);
        let run = run(spec);
        check_complete(&run, true);
        check_one_join(&run);
        let (id, d) = (run.id(), run.describe());
        let read_at = run.client().log.read_all_at.expect("checked complete");
        assert!(read_at > Instant::from_millis(from), "{id}: done before the cut\n{d}");
        let wifi_down = run.net.stats(run.links[0], Direction::BToA);
        assert!(wifi_down.dropped_cut > 0, "{id}: the cut dropped nothing\n{d}");
        let m = run.proxy().stats().mptcp;
        assert!(m.potentially_failed >= 1, "{id}\n{d}");
        // When the cut finds wifi idle (the data-level window full) with its data already
        // DATA_ACKed through cell, there is nothing to reinject (seed 199 of 400).
        reinjected += u64::from(m.reinjected_bytes > 0);
        // The shard's handover histogram saw the stall, no longer than the client did
        // give or take its RTTs: nothing past the 500 ms bucket (index 11).
        let h = m.handover_stall;
        assert!(h.count() >= u64::from(m.reinjected_bytes > 0), "{id}: {h:?}\n{d}");
        assert_eq!(h.counts[12..].iter().sum::<u64>(), 0, "{id}: {h:?}\n{d}");
        let stall = run.client().log.longest_stall.total_millis();
        // ... and not much shorter: the longest one's bucket reaches a third of it.
        let top = h.counts.iter().rposition(|&n| n > 0).map_or(0, |i| BOUNDS_MICROS[i] / 1000);
        assert!(h.count() == 0 || top * 3 >= stall, "{id}: {h:?} vs {stall} ms\n{d}");
        assert!(stall < 300, "{id}: stalled {stall} ms\n{d}");
        stalls.push(stall);
    }
    let n = stalls.len();
    let med = median(&mut stalls);
    let (min, max) = (stalls.first().copied().unwrap_or(0), stalls.last().copied().unwrap_or(0));
    eprintln!(
        "primary blackholed: longest stall over {n} seeds: min {min} median {med} max {max} \
         ms; reinjection in {reinjected} runs"
    );
    assert!(reinjected * 10 >= n as u64 * 9, "reinjection in only {reinjected} of {n} runs");
}

/// (d) A backup join (B=1): while wifi is healthy the server sends no data on it.
#[test]
fn backup_path_idle_while_primary_healthy() {
    for seed in seeds(SEEDS) {
        let mut r = Rng::stream(seed, 4);
        let (up, down) = (size(&mut r), 4_000_000);
        let mut spec = Spec::new("backup idle", seed, up, down);
        spec.wifi = link(&mut r, (2, 15), (20, 50));
        spec.cell = link(&mut r, (20, 60), (5, 30));
        spec.client.actions.push(cell_join(r.range_inclusive(0, 20), true));
        spec.bound = secs(30);
        let _note = note(&spec);
        let run = run(spec);
        check_complete(&run, true);
        check_one_join(&run);
        let (id, d) = (run.id(), run.describe());
        let backup = run.client().subs.iter().find(|s| s.backup()).expect("the backup join");
        assert_eq!(backup.rx_bytes, 0, "{id}: data on the backup\n{d}");
    }
}

/// (d) A backup join (B=1), then wifi blackholed: data flows on the backup.
#[test]
fn backup_path_carries_data_after_primary_fails() {
    for seed in seeds(SEEDS) {
        let mut r = Rng::stream(seed, 5);
        let mut spec = Spec::new("backup takes over", seed, 0, 4_000_000);
        spec.wifi = link(&mut r, (5, 15), (20, 40));
        spec.cell = link(&mut r, (20, 50), (10, 30));
        spec.client.actions.push(cell_join(r.range_inclusive(0, 10), true));
        let from = r.range_inclusive(150, 300);
        let until = from + r.range_inclusive(1_000, 3_000);
        spec.cuts.push((0, Instant::from_millis(from), Instant::from_millis(until)));
        spec.bound = secs(30);
        let _note = note(&spec);
        let run = run(spec);
        check_complete(&run, true);
        check_one_join(&run);
        let (id, d) = (run.id(), run.describe());
        let backup = run.client().subs.iter().find(|s| s.backup()).expect("the backup join");
        assert!(backup.rx_bytes > 0, "{id}: nothing on the backup\n{d}");
        let first = backup.first_rx_at.expect("data arrived");
        assert!(first >= Instant::from_millis(from), "{id}: backup used at {first}\n{d}");
        let m = run.proxy().stats().mptcp;
        assert!(m.potentially_failed >= 1, "{id}\n{d}");
    }
}

/// (e) The service announces a second address (ADD_ADDR, RFC 8684 §3.4.1) and listens on
/// it; the client, with no join of its own, joins it from cell once announced.
#[test]
fn join_to_an_announced_address() {
    for seed in seeds(SEEDS) {
        let mut r = Rng::stream(seed, 6);
        let (up, down) = (size(&mut r), 4_000_000);
        let mut spec = Spec::new("add_addr", seed, up, down);
        spec.wifi = link(&mut r, (2, 15), (20, 50));
        spec.cell = link(&mut r, (20, 60), (5, 30));
        let second = addr(scenario::SECOND);
        spec.mptcp.announce = vec![(1, second.ip())];
        spec.listen.push(second);
        spec.client.join_announced_from = Some(1);
        spec.bound = secs(30);
        let _note = note(&spec);
        let run = run(spec);
        check_complete(&run, true);
        check_one_join(&run);
        let (id, d) = (run.id(), run.describe());
        let c = run.client();
        assert_eq!(c.log.add_addrs, [(1, second.ip())], "{id}\n{d}");
        let join = c.subs.iter().find(|s| s.tcp.remote() == second).expect("joined");
        assert!(join.joined, "{id}\n{d}");
    }
}

/// (e') An IPv6 address announced on an IPv4 connection (docs/ios-emulation.md §6: the way an
/// iPhone on IPv4 Wi-Fi joins over IPv6-only cellular) during a long transfer, a download in half
/// the seeds and an upload in the other half, v1 and v0: the ADD_ADDR (28 bytes with its HMAC in
/// v1, 20 in v0) fits no data segment beside the DSS and timestamps, and still reaches the client
/// within the first 300 ms, long before the transfer ends.
#[test]
fn an_ipv6_announcement_arrives_during_a_long_transfer() {
    for seed in seeds(SEEDS) {
        let mut r = Rng::stream(seed, 32);
        let (up, down) = if seed % 2 == 0 { (0, 4_000_000) } else { (4_000_000, 0) };
        let mut spec = Spec::new("ipv6 add_addr", seed, up, down);
        spec.wifi = link(&mut r, (2, 15), (20, 50));
        if seed % 4 >= 2 {
            spec.client.offer = Offer::V0;
        }
        let v6 = scenario::ip("2001:db8:71::1");
        spec.mptcp.announce = vec![(1, v6)];
        spec.bound = secs(30);
        let _note = note(&spec);
        let run = run(spec);
        check_complete(&run, true);
        let (id, d) = (run.id(), run.describe());
        let c = run.client();
        assert_eq!(c.log.add_addrs, [(1, v6)], "{id}\n{d}");
        let at = c.log.first_add_addr_at.expect("logged with the address");
        assert!(at < Instant::from_millis(300), "{id}: ADD_ADDR at {at}\n{d}");
        let ended = c.log.read_all_at.max(c.log.sent_all_acked_at).expect("complete");
        assert!(ended > Instant::from_millis(500), "{id}: transfer over at {ended}\n{d}");
    }
}

/// (f) REMOVE_ADDR (RFC 8684 §3.4.2) from the client for the cell address mid-transfer:
/// the server closes that subflow, the transfer completes on wifi.
#[test]
fn remove_addr_closes_the_subflow() {
    for seed in seeds(SEEDS) {
        let mut r = Rng::stream(seed, 7);
        let (up, down) = (size(&mut r), 4_000_000);
        let mut spec = Spec::new("remove_addr", seed, up, down);
        spec.wifi = link(&mut r, (2, 15), (20, 40));
        spec.cell = link(&mut r, (20, 40), (5, 30));
        spec.client.actions.push(cell_join(r.range_inclusive(0, 10), false));
        let at = r.range_inclusive(200, 300);
        spec.client.actions.push((Instant::from_millis(at), Action::Remove(1)));
        spec.bound = secs(30);
        let _note = note(&spec);
        let run = run(spec);
        check_complete(&run, true);
        check_one_join(&run);
        let (id, d) = (run.id(), run.describe());
        let c = run.client();
        let read_at = c.log.read_all_at.expect("checked complete");
        assert!(read_at > Instant::from_millis(at), "{id}: done before the removal\n{d}");
        let cell = c.subs.iter().find(|s| s.iface == 1).expect("the join");
        assert!(cell.rst.is_some(), "{id}: cell subflow not reset\n{d}");
        let removed: u64 = run.proxy().log.conns.iter().map(|c| c.1.remove_addr).sum();
        assert!(removed >= 1, "{id}\n{d}");
    }
}

/// (g) MP_FASTCLOSE (RFC 8684 §3.5) from the client mid-transfer: the origin is reset, the
/// splice ends `ClientReset`, the fast close is counted, the table empties.
#[test]
fn fast_close_from_the_client() {
    for seed in seeds(SEEDS) {
        let mut r = Rng::stream(seed, 8);
        let mut spec = Spec::new("fastclose", seed, 2_000_000, 4_000_000);
        spec.wifi = link(&mut r, (2, 15), (20, 40));
        spec.cell = link(&mut r, (20, 40), (5, 30));
        spec.client.actions.push(cell_join(r.range_inclusive(0, 10), false));
        let at = r.range_inclusive(150, 300);
        spec.client.actions.push((Instant::from_millis(at), Action::FastClose));
        spec.bound = secs(30);
        let _note = note(&spec);
        let run = run(spec);
        check_common(&run);
        let (id, d) = (run.id(), run.describe());
        assert!(run.client().log.read_all_at.is_none(), "{id}: done before the close\n{d}");
        let ends: Vec<_> = run.proxy().log.ends.iter().map(|e| e.1).collect();
        assert_eq!(ends, [SpliceEnd::ClientReset], "{id}\n{d}");
        let m = run.proxy().stats().mptcp;
        assert_eq!(m.connections, 1, "{id}\n{d}");
        assert_eq!(m.fastclose_received, 1, "{id}\n{d}");
        let origin = run.origin().log.closed;
        assert!(origin.is_some_and(|c| c.1 != CloseReason::Closed), "{id}: origin {origin:?}\n{d}");
    }
}

/// (h) The origin resets mid-download (RFC 8684 §3.5, docs/ios-emulation.md §4 rule 4): the client,
/// which acts on MP_FASTCLOSE only as iOS does (a pure ACK at SEQ = its RCV.NXT), learns of it,
/// answers with RSTs, and the splice ends `OriginReset` with the table empty. Loss on one path in
/// half the seeds: the fast close then may first go out beyond the client's RCV.NXT and goes again
/// where the client's ACKs say it is.
#[test]
fn origin_reset_reaches_the_client_as_mp_fastclose() {
    for seed in seeds(SEEDS) {
        let mut r = Rng::stream(seed, 31);
        let mut spec = Spec::new("origin reset", seed, 300_000, 4_000_000);
        spec.wifi = link(&mut r, (2, 15), (20, 50));
        spec.cell = link(&mut r, (20, 50), (5, 30));
        if seed % 2 == 0 {
            let loss = percent(r.range_inclusive(1, 3) as u32);
            spec.wifi = spec.wifi.clone().loss_ppm(loss);
        }
        spec.client.actions.push(cell_join(r.range_inclusive(0, 20), false));
        spec.origin_abort_after = Some(r.range_inclusive(50_000, 250_000));
        spec.bound = secs(30);
        let _note = note(&spec);
        let run = run(spec);
        check_common(&run);
        let (id, d) = (run.id(), run.describe());
        let c = run.client();
        assert!(c.log.fastclose_acted_at.is_some(), "{id}: the client was not told\n{d}");
        assert!(c.log.read_all_at.is_none(), "{id}: done before the reset\n{d}");
        let ends: Vec<_> = run.proxy().log.ends.iter().map(|e| e.1).collect();
        assert_eq!(ends, [SpliceEnd::OriginReset], "{id}\n{d}");
    }
}

/// MPTCP v0 (RFC 6824), as iOS 11-15 speak it: the client's key in its SYN, SHA-1 tokens
/// and IDSNs, data mapped by DSS from its first byte, a join authenticated with HMAC-SHA1.
/// The client reads every option in v0 (a v1 SYN,ACK would leave it in plain TCP and fail
/// the run): byte-exact both ways, no fallback.
#[test]
fn a_v0_client_is_served_in_v0() {
    for seed in seeds(SEEDS) {
        let mut r = Rng::stream(seed, 21);
        let (up, down) = (size(&mut r), size(&mut r));
        let mut spec = Spec::new("v0", seed, up, down);
        spec.client.offer = Offer::V0;
        spec.wifi = link(&mut r, (2, 15), (20, 100));
        spec.cell = link(&mut r, (20, 80), (5, 30));
        spec.client.actions.push(cell_join(0, false));
        spec.bound = secs(30);
        // The join's third ACK reaches the server three cell delays after its SYN.
        let joined_by = Instant::from_millis(5) + spec.cell.delay.saturating_mul(4);
        let _note = note(&spec);
        let run = run(spec);
        check_complete(&run, true);
        let (id, d) = (run.id(), run.describe());
        let m = run.proxy().stats().mptcp;
        assert_eq!(m.fallback.total(), 0, "{id}\n{d}");
        assert_eq!(m.joins_refused.get(JoinRefusal::BadHmac), 0, "{id}\n{d}");
        let read_at = run.client().log.read_all_at.expect("checked complete");
        if read_at > joined_by + ms(50) {
            // The join took part: HMAC-SHA1 verified both ways.
            assert_eq!(m.joins_accepted, 1, "{id}\n{d}");
        }
    }
}

/// (h) Fallback (RFC 8684 §3.1): a plain TCP client, and a client whose MP_CAPABLE is
/// stripped after the SYN: both complete byte-exact as plain TCP.
#[test]
fn fallback_to_plain_tcp() {
    for seed in seeds(SEEDS) {
        let mut r = Rng::stream(seed, 9);
        let (up, down) = (size(&mut r), size(&mut r));
        let offer = if seed % 2 == 0 { Offer::Plain } else { Offer::Stripped };
        let mut spec = Spec::new("fallback", seed, up, down);
        spec.wifi = link(&mut r, (2, 15), (20, 100));
        spec.client.offer = offer;
        spec.client.sched = Sched::First;
        spec.client.actions.push(cell_join(r.range_inclusive(0, 20), false));
        spec.bound = secs(30);
        let _note = note(&spec);
        let run = run(spec);
        check_complete(&run, false);
        let (id, d) = (run.id(), run.describe());
        let m = run.proxy().stats().mptcp;
        // A stripped third ACK should count `no_option_on_third_ack`: see
        // `stripped_capable_is_counted`.
        let fallback_counted = m.fallback.total();
        assert!(fallback_counted <= u64::from(offer == Offer::Stripped), "{id}\n{d}");
        assert_eq!((m.joins_accepted, m.joins_refused.total()), (0, 0), "{id}\n{d}");
        assert_eq!(run.client().subs.len(), 1, "{id}: a join after fallback\n{d}");
    }
}

/// (h) A third ACK without MP_CAPABLE after an MP_CAPABLE SYN,ACK is a fallback counted as
/// `no_option_on_third_ack` (`Fallback::NoOptionOnThirdAck`).
#[test]
fn stripped_capable_is_counted() {
    for seed in seeds(FEW) {
        let mut spec = Spec::new("stripped capable counted", seed, 30_000, 30_000);
        spec.client.offer = Offer::Stripped;
        let _note = note(&spec);
        let run = run(spec);
        check_complete(&run, false);
        let m = run.proxy().stats().mptcp;
        let counted = (m.fallback.get(Fallback::NoOptionOnThirdAck), m.fallback.total());
        assert_eq!(counted, (1, 1), "{}\n{}", run.id(), run.describe());
    }
}

/// (i) Forged joins (RFC 8684 §3.2): an unknown token and a wrong third-ACK HMAC are both
/// refused with a RST carrying MP_TCPRST; the real connection completes byte-exact.
#[test]
fn forged_joins_are_refused() {
    for seed in seeds(SEEDS) {
        let mut r = Rng::stream(seed, 10);
        let (up, down) = (size(&mut r), 4_000_000);
        let mut spec = Spec::new("forged joins", seed, up, down);
        spec.wifi = link(&mut r, (2, 15), (20, 40));
        spec.cell = link(&mut r, (5, 20), (10, 30));
        for forge in [Forge::Token, Forge::Hmac] {
            let at = Instant::from_millis(r.range_inclusive(0, 50));
            let to = addr(scenario::SERVICE);
            spec.client.actions.push((at, Action::Join { iface: 1, to, backup: false, forge }));
        }
        spec.bound = secs(30);
        let _note = note(&spec);
        let run = run(spec);
        check_complete(&run, true);
        let (id, d) = (run.id(), run.describe());
        let m = run.proxy().stats().mptcp;
        let refused = &m.joins_refused;
        let counted = (refused.get(JoinRefusal::UnknownToken), refused.get(JoinRefusal::BadHmac));
        assert_eq!((counted, refused.total()), ((1, 1), 2), "{id}\n{d}");
        assert_eq!(m.joins_accepted, 0, "{id}\n{d}");
        for s in run.client().subs.iter().filter(|s| s.forged()) {
            // RFC 8684 §3.6: 0x01, an MPTCP-specific error.
            assert_eq!(s.rst, Some(Some(0x01)), "{id}: no MP_TCPRST\n{d}");
            assert!(!s.joined && s.rx_bytes == 0, "{id}\n{d}");
        }
    }
}

/// Neither side sends a byte: the origin's FIN becomes the server's DATA_FIN at once, not
/// after the 1 s data-level retransmission timeout (the client says nothing to wake it).
#[test]
fn data_fin_of_an_empty_stream_is_prompt() {
    for seed in seeds(FEW) {
        let spec = Spec::new("empty streams", seed, 0, 0);
        let _note = note(&spec);
        let run = run(spec);
        check_complete(&run, true);
        let read_at = run.client().log.read_all_at.expect("checked complete");
        let (id, d) = (run.id(), run.describe());
        assert!(read_at < Instant::from_millis(200), "{id}: DATA_FIN at {read_at}\n{d}");
    }
}

/// A client that never DATA_ACKs our DATA_FIN (RFC 8684 §3.3.3 leaves the wait open): the
/// DATA_FIN is retransmitted with backoff, then the connection is reset with MP_FASTCLOSE
/// and counted, instead of being held until the idle timeout.
#[test]
fn unacknowledged_data_fin_is_given_up() {
    for seed in seeds(FEW) {
        let mut spec = Spec::new("data fin never acked", seed, 20_000, 50_000);
        spec.client.mute_data_fin = true;
        spec.bound = secs(60);
        let _note = note(&spec);
        let run = run(spec);
        check_common(&run);
        let (id, d) = (run.id(), run.describe());
        let c = run.client();
        assert_eq!(c.rcv_nxt, c.cfg.rx_len, "{id}: client short\n{d}");
        assert_eq!(run.origin().rx_got, c.cfg.tx_len, "{id}: origin short\n{d}");
        let ends: Vec<_> = run.proxy().log.ends.iter().map(|e| e.1).collect();
        assert_eq!(ends, [SpliceEnd::ClientReset], "{id}\n{d}");
        assert_eq!(run.proxy().stats().mptcp.data_fin_gave_up, 1, "{id}\n{d}");
        let read_at = c.log.read_all_at.expect("the DATA_FIN arrived");
        let gave_up = run.proxy().log.ends[0].0;
        let waited = gave_up.saturating_duration_since(read_at).total_millis();
        assert!((10_000..=40_000).contains(&waited), "{id}: gave up after {waited} ms\n{d}");
    }
}
