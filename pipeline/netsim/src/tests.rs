//! The simulator's tests: link timing, queueing, impairments, scheduling, determinism,
//! observability, the step bound, and a toy reliable protocol carried end to end.

mod nodes;
mod stop_and_wait;

use nodes::{Echo, Sender, Sink, Stuck, seq_frame};
use stop_and_wait::{SwReceiver, SwSender};

use netreaktor_pipeline::time::{Duration, Instant};

use super::*;

use Direction::{AToB, BToA};

fn at_ms(n: u64) -> Instant {
    Instant::from_millis(n)
}

fn at_us(n: u64) -> Instant {
    Instant::from_micros(n)
}

/// A sender on node 0 and a sink on node 1, joined by one link.
fn pair(seed: u64, sender: Sender, config: LinkConfig) -> (Network, NodeId, NodeId, LinkId) {
    let mut net = Network::new(seed);
    let a = net.add_node(sender);
    let b = net.add_node(Sink::default());
    let link = net.connect(a.iface(0), b.iface(0), config);
    (net, a, b, link)
}

fn sink(net: &Network, id: NodeId) -> &Sink {
    net.node::<Sink>(id)
}

// ---------------------------------------------------------------- timing and rate

#[test]
fn delivery_time_is_delay_plus_serialization() {
    // 1000 bytes at 8 Mbit/s: 1 ms each, back to back, then 20 ms of propagation.
    let config = LinkConfig::new().delay(ms(20)).rate_mbps(8);
    let (mut net, _, b, link) = pair(1, Sender::burst(3, 1000), config);
    assert_eq!(net.run_until_idle(), Stop::Idle);
    assert_eq!(sink(&net, b).times(), [at_ms(21), at_ms(22), at_ms(23)]);
    assert_eq!(sink(&net, b).seqs(), [0, 1, 2]);
    let stats = net.stats(link, AToB);
    assert_eq!((stats.sent, stats.delivered, stats.delivered_bytes), (3, 3, 3000));
}

#[test]
fn serialization_keeps_sub_microsecond_precision() {
    // 125 bytes at 10 Gbit/s take 100 ns: frame k leaves at ceil(k * 100 ns).
    let config = LinkConfig::new().rate_gbps(10);
    let (mut net, _, b, _) = pair(1, Sender::burst(100, 125), config);
    net.run_until_idle();
    let expected: Vec<Instant> = (1..=100u64).map(|k| at_us((k * 100).div_ceil(1_000))).collect();
    assert_eq!(sink(&net, b).times(), expected);
}

#[test]
fn throughput_over_rate_limited_link_matches_rate() {
    // Offer 20 Mbit/s (1500 bytes every 600 us) to a 10 Mbit/s link with a deep queue.
    let config = LinkConfig::new().delay(ms(5)).rate_mbps(10).queue_packets(10_000);
    let (mut net, _, b, link) = pair(1, Sender::new(3_000, 1_500, us(600)), config);
    net.run_until_idle();
    let window = at_ms(500)..at_ms(1_500);
    let bytes: usize =
        sink(&net, b).received.iter().filter(|a| window.contains(&a.at)).map(|a| a.len).sum();
    // 10^7 bit/s * 1 s / 12000 bit per frame = 833.3 frames.
    assert!((833 * 1_500..=834 * 1_500).contains(&bytes), "{bytes} bytes in one second");
    // The transmitter never idles: the last frame leaves after 3000 * 1.2 ms.
    assert_eq!(sink(&net, b).times().last(), Some(&(at_ms(3_600) + ms(5))));
    assert_eq!(net.stats(link, AToB).dropped_total(), 0);
}

// ---------------------------------------------------------------- queue

#[test]
fn queue_overflow_tail_drops_at_packet_limit() {
    let config = LinkConfig::new().rate_mbps(8).queue_packets(10);
    let (mut net, _, b, link) = pair(1, Sender::burst(50, 1_000), config);
    net.run_until_idle();
    // One frame on the transmitter, ten waiting, the rest dropped at the tail.
    assert_eq!(sink(&net, b).seqs(), (0..=10).collect::<Vec<u32>>());
    let stats = net.stats(link, AToB);
    assert_eq!((stats.dropped_queue, stats.max_queue_frames), (39, 10));
    assert_eq!(stats.dropped(DropReason::Queue), 39);
}

#[test]
fn queue_overflow_tail_drops_at_byte_limit() {
    let config = LinkConfig::new().rate_mbps(8).queue_bytes(5_000);
    let (mut net, _, b, link) = pair(1, Sender::burst(50, 1_000), config);
    net.run_until_idle();
    assert_eq!(sink(&net, b).received.len(), 6);
    let stats = net.stats(link, AToB);
    assert_eq!((stats.dropped_queue, stats.max_queue_bytes), (44, 5_000));
}

#[test]
fn queue_room_frees_as_the_transmitter_drains() {
    // Two frames per ms into a link that serves one per ms, five frames of room: the queue
    // grows by one per ms and overflows first at 5.5 ms (frame 11), then every other frame.
    let config = LinkConfig::new().rate_mbps(8).queue_packets(5);
    let (mut net, _, b, link) = pair(1, Sender::new(40, 1_000, us(500)), config);
    net.run_until_idle();
    let seqs = sink(&net, b).seqs();
    assert_eq!(seqs[..12], (0..12).filter(|&s| s != 11).chain([12]).collect::<Vec<_>>()[..]);
    let stats = net.stats(link, AToB);
    assert_eq!(stats.max_queue_frames, 5);
    assert_eq!(stats.delivered + stats.dropped_queue, 40);
    assert_eq!(net.queued(link, AToB), (0, 0));
}

#[test]
fn packets_zero_accepts_only_when_idle() {
    let config = LinkConfig::new().rate_mbps(8).queue_packets(0);
    let (mut net, _, b, link) = pair(1, Sender::burst(5, 1_000), config);
    net.run_until_idle();
    assert_eq!(sink(&net, b).seqs(), [0]);
    assert_eq!(net.stats(link, AToB).dropped_queue, 4);
}

// ---------------------------------------------------------------- impairments

#[test]
fn loss_rate_is_near_the_configured_value() {
    let config = LinkConfig::new().delay(ms(1)).loss_ppm(percent(1));
    let (mut net, _, b, link) = pair(7, Sender::new(100_000, 64, us(10)), config);
    net.run_until_idle();
    let stats = net.stats(link, AToB);
    // Expected 1000 losses, standard deviation about 31.
    assert!((850..=1_150).contains(&stats.dropped_loss), "{} lost", stats.dropped_loss);
    assert_eq!(stats.delivered + stats.dropped_loss, 100_000);
    assert_eq!(sink(&net, b).received.len() as u64, stats.delivered);
}

#[test]
fn reordering_holds_back_about_the_configured_fraction() {
    let config = LinkConfig::new().delay(ms(5)).reorder(percent(2), ms(1));
    let (mut net, _, b, link) = pair(7, Sender::new(20_000, 64, us(100)), config);
    net.run_until_idle();
    let stats = net.stats(link, AToB);
    // Expected 400, standard deviation about 20.
    assert!((320..=480).contains(&stats.reordered), "{} held back", stats.reordered);
    // Each held-back frame is overtaken by the next one (1 ms > 100 us), and only those.
    assert_eq!(sink(&net, b).late_arrivals() as u64, stats.reordered);
    let mut seqs = sink(&net, b).seqs();
    seqs.sort_unstable();
    assert_eq!(seqs, (0..20_000).collect::<Vec<u32>>());
}

#[test]
fn duplication_copies_about_the_configured_fraction() {
    let config = LinkConfig::new().delay(ms(5)).duplicate_ppm(percent(1));
    let (mut net, _, b, link) = pair(7, Sender::new(20_000, 64, us(100)), config);
    net.run_until_idle();
    let stats = net.stats(link, AToB);
    // Expected 200, standard deviation about 14.
    assert!((150..=250).contains(&stats.duplicated), "{} duplicated", stats.duplicated);
    assert_eq!(sink(&net, b).received.len() as u64, 20_000 + stats.duplicated);
    let mut seqs = sink(&net, b).seqs();
    seqs.dedup();
    assert_eq!(seqs, (0..20_000).collect::<Vec<u32>>());
}

#[test]
fn jitter_spreads_latency_but_never_reorders() {
    let config = LinkConfig::new().delay(ms(10)).jitter(ms(5));
    let (mut net, a, b, _) = pair(3, Sender::new(1_000, 64, ms(1)), config);
    net.run_until_idle();
    assert_eq!(sink(&net, b).seqs(), (0..1_000).collect::<Vec<u32>>());
    let sent = &net.node::<Sender>(a).sent;
    let latencies: Vec<Duration> =
        sink(&net, b).received.iter().zip(sent).map(|(r, &(t, _))| r.at - t).collect();
    assert!(latencies.iter().all(|&l| (ms(10)..=ms(15)).contains(&l)));
    assert!(latencies.iter().any(|&l| l < ms(11)) && latencies.iter().any(|&l| l > ms(14)));
}

#[test]
fn mtu_drops_oversize_frames() {
    let frames = vec![seq_frame(0, 1_514), seq_frame(1, 1_515), seq_frame(2, 9_014)];
    let mut net = Network::new(1);
    let a = net.add_node(Echo::serving(frames.clone()));
    let b = net.add_node(Sink::default());
    let c = net.add_node(Echo::serving(frames));
    let d = net.add_node(Sink::default());
    let standard = net.connect(a.iface(0), b.iface(0), LinkConfig::new());
    let jumbo = net.connect(c.iface(0), d.iface(0), LinkConfig::new().mtu(9_000));
    net.run_until_idle();
    assert_eq!(sink(&net, b).seqs(), [0]);
    assert_eq!(net.stats(standard, AToB).dropped_mtu, 2);
    assert_eq!(sink(&net, d).seqs(), [0, 1, 2]);
    assert_eq!(net.stats(jumbo, AToB).dropped_mtu, 0);
}

// ---------------------------------------------------------------- scheduled events

#[test]
fn cut_and_restore_drop_exactly_the_frames_sent_during_the_cut() {
    let config = LinkConfig::new().delay(ms(10));
    let (mut net, _, b, link) = pair(1, Sender::new(300, 64, ms(1)), config);
    net.schedule_cut(link, AToB, at_ms(100), at_ms(200));
    net.run_until(at_ms(150));
    assert!(net.is_cut(link, AToB) && !net.is_cut(link, BToA));
    net.run_until_idle();
    let expected: Vec<u32> = (0..100).chain(200..300).collect();
    assert_eq!(sink(&net, b).seqs(), expected);
    assert_eq!(net.stats(link, AToB).dropped_cut, 100);
    assert!(!net.is_cut(link, AToB));
}

#[test]
fn frames_in_flight_survive_a_cut() {
    let (mut net, _, b, link) = pair(1, Sender::burst(1, 64), LinkConfig::new().delay(ms(10)));
    net.schedule(at_ms(5), move |net| net.cut(link, Dirs::Both));
    net.run_until_idle();
    assert_eq!(sink(&net, b).times(), [at_ms(10)]);
}

#[test]
fn scheduled_delay_change_applies_to_later_frames() {
    let (mut net, _, b, link) =
        pair(1, Sender::new(100, 64, ms(1)), LinkConfig::new().delay(ms(10)));
    net.schedule_update(at_ms(50), link, Dirs::Both, |c| c.delay = ms(30));
    net.run_until_idle();
    for r in &sink(&net, b).received {
        let sent = at_ms(u64::from(r.seq));
        let expected = if r.seq < 50 { ms(10) } else { ms(30) };
        assert_eq!(r.at - sent, expected, "frame {}", r.seq);
    }
    assert_eq!(net.config(link, BToA).delay, ms(30));
}

#[test]
fn scheduled_rate_change_keeps_the_frame_in_service() {
    // 1000-byte frames at 8 Mbit/s (1 ms each); the rate halves at 2.5 ms, while frame 2 is
    // on the transmitter: it finishes at 3 ms, the next ones take 2 ms each.
    let (mut net, _, b, link) = pair(1, Sender::burst(6, 1_000), LinkConfig::new().rate_mbps(8));
    net.schedule_update(at_us(2_500), link, AToB, |c| c.rate_bps = 4_000_000);
    net.run_until_idle();
    let expected = [1, 2, 3, 5, 7, 9].map(at_ms);
    assert_eq!(sink(&net, b).times(), expected);
}

#[test]
fn scheduled_loss_window() {
    let (mut net, _, b, link) = pair(1, Sender::new(50, 64, ms(1)), LinkConfig::new());
    let lossless = net.config(link, AToB).clone();
    net.schedule_update(at_ms(20), link, AToB, |c| c.loss_ppm = PPM);
    net.schedule_config(at_ms(30), link, AToB, lossless);
    net.run_until_idle();
    let expected: Vec<u32> = (0..20).chain(30..50).collect();
    assert_eq!(sink(&net, b).seqs(), expected);
    assert_eq!(net.stats(link, AToB).dropped_loss, 10);
}

#[test]
fn scheduled_action_pokes_a_node() {
    let config = LinkConfig::new().delay(ms(10));
    let (mut net, a, b, _) = pair(1, Sender::new(0, 64, ms(1)), config);
    net.schedule(at_ms(50), move |net| {
        let now = net.now();
        net.node_mut::<Sender>(a).send_more(now, 3);
    });
    net.run_until_idle();
    assert_eq!(sink(&net, b).times(), [at_ms(60), at_ms(61), at_ms(62)]);
}

#[test]
fn asymmetric_link_and_frames_in_flight() {
    let mut net = Network::new(1);
    let a = net.add_node(Echo::serving(vec![seq_frame(0, 64)]));
    let b = net.add_node(Echo::default());
    let fast = LinkConfig::new().delay(ms(10));
    let slow = LinkConfig::new().delay(ms(30));
    let link = net.connect_asym(a.iface(0), b.iface(0), fast, slow);
    assert_eq!(net.endpoints(link), (a.iface(0), b.iface(0)));
    // The frame bounces: A->B at 0, 40, 80 ms; B->A at 10, 50, 90 ms.
    assert_eq!(net.run_until(at_ms(100)), Stop::Deadline);
    assert_eq!(net.now(), at_ms(100));
    let (ab, ba) = (net.stats(link, AToB), net.stats(link, BToA));
    assert_eq!((ab.sent, ab.delivered, ab.in_flight()), (3, 3, 0));
    assert_eq!((ba.sent, ba.delivered, ba.in_flight()), (3, 2, 1));
}

// ---------------------------------------------------------------- the loop

#[test]
fn run_while_bound_trips_instead_of_hanging() {
    let mut net = Network::new(1);
    let s = net.add_node(Stuck::default());
    net.set_step_limit(1_000);
    let err = net.try_run_while(|_| true).expect_err("a stuck node never finishes");
    assert_eq!(err, StepLimitExceeded { limit: 1_000, at: Instant::ZERO });
    assert_eq!(net.node::<Stuck>(s).calls, 1_000);
    assert!(err.to_string().contains("step limit of 1000"));
}

#[test]
#[should_panic(expected = "step limit")]
fn run_until_idle_panics_at_the_step_limit() {
    let mut net = Network::new(1);
    net.add_node(Stuck::default());
    net.set_step_limit(100);
    net.run_until_idle();
}

#[test]
fn frames_bouncing_at_zero_delay_trip_the_bound() {
    let mut net = Network::new(1);
    let a = net.add_node(Echo::serving(vec![seq_frame(0, 64)]));
    let b = net.add_node(Echo::default());
    net.connect(a.iface(0), b.iface(0), LinkConfig::new());
    net.set_step_limit(10_000);
    assert!(net.try_run_until(at_ms(1_000)).is_err());
    assert_eq!(net.now(), Instant::ZERO);
}

#[test]
fn run_while_stops_when_the_condition_fails() {
    let config = LinkConfig::new().delay(ms(10));
    let (mut net, _, b, _) = pair(1, Sender::new(100, 64, ms(1)), config);
    let stop = net.run_while(|net| net.node::<Sink>(b).received.len() < 10);
    assert_eq!(stop, Stop::Condition);
    assert_eq!(sink(&net, b).received.len(), 10);
    assert_eq!(net.now(), at_ms(19));
}

#[test]
fn run_until_and_run_for_move_the_clock_when_idle() {
    let mut net = Network::new(1);
    assert_eq!(net.run_until(at_ms(5_000)), Stop::Idle);
    assert_eq!(net.now(), at_ms(5_000));
    net.run_for(ms(10));
    assert_eq!(net.now(), at_ms(5_010));
    net.run_until(at_ms(1));
    assert_eq!(net.now(), at_ms(5_010), "the clock never goes back");
}

#[test]
#[should_panic(expected = "scheduled action")]
fn running_from_inside_an_action_is_refused() {
    let mut net = Network::new(1);
    net.schedule(at_ms(1), |net| {
        net.run_for(ms(1));
    });
    net.run_until_idle();
}

// ---------------------------------------------------------------- access and observability

#[test]
fn nodes_are_reached_by_type() {
    let (net, a, b, _) = pair(1, Sender::burst(1, 64), LinkConfig::new());
    assert!(net.try_node::<Sink>(a).is_none());
    assert!(net.try_node::<Sink>(b).is_some());
    assert_eq!(net.node::<Sender>(a).sent.len(), 0);
}

#[test]
#[should_panic(expected = "is not a")]
fn asking_for_the_wrong_type_panics() {
    let (net, a, _, _) = pair(1, Sender::burst(1, 64), LinkConfig::new());
    net.node::<Sink>(a);
}

#[test]
#[should_panic(expected = "already attached")]
fn an_interface_takes_one_link() {
    let (mut net, a, b, _) = pair(1, Sender::burst(1, 64), LinkConfig::new());
    net.connect(a.iface(0), b.iface(1), LinkConfig::new());
}

#[test]
fn frames_on_unattached_interfaces_are_counted() {
    let mut net = Network::new(1);
    net.add_node(Sender::burst(4, 64));
    net.run_until_idle();
    assert_eq!(net.unrouted(), 4);
}

/// A link with every impairment at once.
fn messy() -> LinkConfig {
    LinkConfig::new()
        .delay(ms(10))
        .jitter(ms(3))
        .rate_mbps(20)
        .queue_packets(20)
        .loss_ppm(percent(3))
        .reorder(percent(2), ms(4))
        .duplicate_ppm(percent(1))
}

#[test]
fn counters_balance_and_trace_matches_them() {
    let (mut net, _, b, link) = pair(9, Sender::new(2_000, 1_200, us(300)), messy());
    net.enable_trace();
    net.run_until(at_ms(200));
    assert!(net.stats(link, AToB).in_flight() > 0);
    net.run_until_idle();
    let s = net.stats(link, AToB);
    assert_eq!(s.sent + s.duplicated, s.delivered + s.dropped_total());
    assert!(s.dropped_loss > 0 && s.dropped_queue > 0 && s.duplicated > 0 && s.reordered > 0);
    let count = |e: LinkEvent| net.trace().iter().filter(|t| t.event == e).count() as u64;
    assert_eq!(count(LinkEvent::Sent), s.sent);
    assert_eq!(count(LinkEvent::Delivered), s.delivered);
    assert_eq!(count(LinkEvent::Dropped(DropReason::Queue)), s.dropped_queue);
    assert_eq!(count(LinkEvent::Dropped(DropReason::Loss)), s.dropped_loss);
    assert_eq!(count(LinkEvent::Duplicated), s.duplicated);
    assert_eq!(sink(&net, b).received.len() as u64, s.delivered);
    assert!(net.trace().windows(2).all(|w| w[0].time <= w[1].time));
}

#[test]
fn pcap_captures_what_each_endpoint_sees() {
    use pcap_file::pcap::PcapReader;
    let config = LinkConfig::new().delay(ms(10)).loss_ppm(percent(20));
    let (mut net, a, b, link) = pair(5, Sender::new(50, 100, ms(1)), config);
    net.capture(a.iface(0));
    net.capture(b.iface(0));
    net.run_until_idle();
    let read = |bytes: &[u8]| {
        let mut reader = PcapReader::new(bytes).expect("valid pcap header");
        let mut out = Vec::new();
        while let Some(p) = reader.next_packet() {
            let p = p.expect("valid record");
            out.push((p.timestamp.as_micros() as u64, p.data.into_owned()));
        }
        out
    };
    let at_a = read(net.pcap(a.iface(0)).expect("capturing at a"));
    let at_b = read(net.pcap(b.iface(0)).expect("capturing at b"));
    assert_eq!(at_a.len(), 50, "the sender's capture includes frames lost later");
    assert_eq!(at_b.len() as u64, net.stats(link, AToB).delivered);
    assert!(at_b.len() < 50);
    let times: Vec<u64> = sink(&net, b).times().iter().map(|t| t.total_micros()).collect();
    assert_eq!(at_b.iter().map(|(t, _)| *t).collect::<Vec<_>>(), times);
    assert_eq!(at_b[0].1, seq_frame(sink(&net, b).received[0].seq, 100));
    assert!(net.pcap(NodeId(7).iface(0)).is_none());
}

// ---------------------------------------------------------------- determinism

fn messy_run(seed: u64) -> Network {
    let (mut net, _, _, _) = pair(seed, Sender::new(3_000, 1_000, us(250)), messy());
    net.enable_trace();
    net.run_until_idle();
    net
}

#[test]
fn same_seed_same_trace_different_seed_different_trace() {
    let (first, again, other) = (messy_run(42), messy_run(42), messy_run(43));
    assert_eq!(first.trace_hash(), again.trace_hash());
    assert_eq!(first.trace(), again.trace());
    assert_eq!(first.now(), again.now());
    assert_ne!(first.trace_hash(), other.trace_hash());
}

#[test]
fn links_draw_from_independent_streams() {
    // Traffic on a second link must not change the random decisions of the first.
    let lossy = LinkConfig::new().loss_ppm(percent(10));
    let (mut alone, _, b, _) = pair(11, Sender::new(500, 64, ms(1)), lossy.clone());
    alone.run_until_idle();
    let (mut busy, _, b2, _) = pair(11, Sender::new(500, 64, ms(1)), lossy.clone());
    let c = busy.add_node(Sender::new(700, 64, us(300)).starting_at(at_ms(5)));
    let d = busy.add_node(Sink::default());
    busy.connect(c.iface(0), d.iface(0), lossy);
    busy.run_until_idle();
    assert_eq!(sink(&alone, b).seqs(), sink(&busy, b2).seqs());
    assert!(sink(&alone, b).seqs().len() < 500);
}

// ---------------------------------------------------------------- end to end

fn stop_and_wait(seed: u64) -> (Network, Vec<u8>, NodeId, NodeId, LinkId) {
    let mut net = Network::new(seed);
    let mut data = vec![0u8; 64 * 1024];
    net.rng().fill_bytes(&mut data);
    let config = LinkConfig::new().delay(ms(10)).rate_mbps(10).loss_ppm(percent(5));
    let tx = net.add_node(SwSender::new(data.clone(), 1_000, ms(50)));
    let rx = net.add_node(SwReceiver::default());
    let link = net.connect(tx.iface(0), rx.iface(0), config);
    net.run_until_idle();
    (net, data, tx, rx, link)
}

#[test]
fn stop_and_wait_delivers_a_byte_stream_exactly_over_a_lossy_link() {
    let (net, data, tx, rx, link) = stop_and_wait(2024);
    assert!(net.node::<SwReceiver>(rx).data == data, "the stream arrived intact");
    let sender = net.node::<SwSender>(tx);
    assert!(sender.done_at.is_some());
    assert!(sender.retransmissions > 0);
    assert!(net.stats(link, AToB).dropped_loss > 0 && net.stats(link, BToA).dropped_loss > 0);
    // Each of the 66 chunks needs at least one round trip of 20 ms plus 0.8 ms on the wire.
    assert!(sender.done_at.is_some_and(|t| t > at_ms(66 * 20)));
    let (again, ..) = stop_and_wait(2024);
    assert_eq!(net.trace_hash(), again.trace_hash());
    assert_eq!(again.node::<SwSender>(tx).done_at, sender.done_at);
}

// ---------------------------------------------------------------- properties

/// Any link configuration (within test-sized bounds).
fn any_config() -> impl proptest::strategy::Strategy<Value = LinkConfig> {
    use proptest::prelude::*;
    let rate = prop_oneof![Just(0u64), 100_000u64..100_000_000];
    let queue = prop_oneof![
        (0usize..50).prop_map(QueueLimit::Packets),
        (0usize..60_000).prop_map(QueueLimit::Bytes)
    ];
    (
        0u64..20_000,
        0u64..5_000,
        rate,
        queue,
        0u32..300_000,
        0u32..300_000,
        0u64..10_000,
        0u32..300_000,
        1_000usize..1_600,
    )
        .prop_map(|(delay, jitter, rate, queue, loss, reorder, reorder_delay, dup, mtu)| {
            LinkConfig {
                delay: us(delay),
                jitter: us(jitter),
                rate_bps: rate,
                queue,
                loss_ppm: loss,
                reorder_ppm: reorder,
                reorder_delay: us(reorder_delay),
                duplicate_ppm: dup,
                mtu,
            }
        })
}

/// What one run of a property scenario produced.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    hash: u64,
    stats: LinkStats,
    received: Vec<nodes::Arrival>,
}

fn property_run(seed: u64, config: &LinkConfig, count: u32, len: usize, gap: Duration) -> Outcome {
    let (mut net, _, b, link) = pair(seed, Sender::new(count, len, gap), config.clone());
    net.run_until_idle();
    let received = sink(&net, b).received.clone();
    Outcome { hash: net.trace_hash(), stats: net.stats(link, AToB), received }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    #[test]
    fn every_frame_is_accounted_for_and_runs_repeat(
        seed: u64,
        config in any_config(),
        count in 1u32..200,
        len in 18usize..1_600,
        gap in 0u64..2_000,
    ) {
        let first = property_run(seed, &config, count, len, us(gap));
        let again = property_run(seed, &config, count, len, us(gap));
        proptest::prop_assert_eq!(&first, &again);
        let s = first.stats;
        proptest::prop_assert_eq!(s.sent, u64::from(count));
        proptest::prop_assert_eq!(s.sent + s.duplicated, s.delivered + s.dropped_total());
        proptest::prop_assert_eq!(first.received.len() as u64, s.delivered);
        for r in &first.received {
            let sent = Instant::ZERO + us(gap).saturating_mul(u64::from(r.seq));
            proptest::prop_assert!(r.at >= sent + config.delay, "frame {} early", r.seq);
        }
        if config.reorder_ppm == 0 {
            proptest::prop_assert!(first.received.windows(2).all(|w| w[0].seq <= w[1].seq));
        }
    }
}
