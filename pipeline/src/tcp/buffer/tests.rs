use super::ring::{MIN_ALLOC, Ring};
use super::*;
use proptest::prelude::*;
use std::collections::{BTreeMap, VecDeque};

fn joined((a, b): (&[u8], &[u8])) -> Vec<u8> {
    [a, b].concat()
}

fn stream(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

// ---- ring ----

#[test]
fn ring_wraps_into_two_slices() {
    let mut r = Ring::new(MIN_ALLOC);
    assert_eq!(r.allocated(), 0);
    let data = stream(MIN_ALLOC);
    assert_eq!(r.write_at(0, &data), MIN_ALLOC);
    r.advance(MIN_ALLOC - 10);
    assert_eq!(r.write_at(10, &[1, 2, 3, 4, 5]), 5);
    let (a, b) = r.slices(0, 15);
    assert_eq!(a, &data[MIN_ALLOC - 10..]);
    assert_eq!(b, &[1, 2, 3, 4, 5]);
}

#[test]
fn ring_grows_in_logical_order_and_stops_at_budget() {
    let mut r = Ring::new(5000);
    r.write_at(0, &stream(MIN_ALLOC));
    r.advance(100);
    assert_eq!(r.write_at(MIN_ALLOC - 100, &[9; 200]), 200);
    assert_eq!(r.allocated(), 4096);
    assert_eq!(joined(r.slices(0, MIN_ALLOC - 100)), stream(MIN_ALLOC)[100..]);
    assert_eq!(joined(r.slices(MIN_ALLOC - 100, 200)), vec![9; 200]);
    assert_eq!(r.write_at(4990, &[1; 100]), 10);
    assert_eq!(r.allocated(), 5000);
    assert_eq!(r.write_at(usize::MAX, &[1]), 0);
}

// ---- send buffer ----

#[test]
fn send_lazy_allocation_and_release_on_drain() {
    let mut s = SendBuffer::new(65536);
    assert_eq!(s.allocated_bytes(), 0);
    assert_eq!(s.write(&[]), 0);
    assert_eq!(s.allocated_bytes(), 0);
    assert_eq!(s.write(&[7; 100]), 100);
    assert_eq!(s.allocated_bytes(), MIN_ALLOC);
    assert_eq!(s.ack(99), 99);
    assert_eq!(s.allocated_bytes(), MIN_ALLOC);
    assert_eq!(s.ack(1000), 1, "ack is clamped to what is held");
    assert!(s.is_empty());
    assert_eq!(s.allocated_bytes(), 0);
}

#[test]
fn send_backpressure_at_capacity() {
    let mut s = SendBuffer::new(3000);
    assert_eq!(s.write(&stream(2000)), 2000);
    assert_eq!(s.write(&stream(2000)), 1000);
    assert_eq!(s.write(&[1]), 0);
    assert_eq!((s.len(), s.capacity(), s.remaining()), (3000, 3000, 0));
    assert_eq!(s.allocated_bytes(), 3000);
    s.ack(10);
    assert_eq!(s.write(&[1; 20]), 10);
}

#[test]
fn send_peek_boundaries_and_wrap() {
    let mut s = SendBuffer::new(MIN_ALLOC);
    let data = stream(MIN_ALLOC);
    s.write(&data);
    s.ack(1000);
    s.write(&[0xAA; 500]);
    // Held: data[1000..] then 500 x 0xAA, wrapping at offset MIN_ALLOC - 1000.
    let edge = MIN_ALLOC - 1000;
    let (a, b) = s.peek(edge - 2, 4);
    assert_eq!((a, b), (&data[MIN_ALLOC - 2..], &[0xAA, 0xAA][..]));
    assert_eq!(s.peek(edge, 3), (&[0xAA; 3][..], &[][..]));
    assert_eq!(s.peek(0, 10).0, &data[1000..1010]);
    assert_eq!(joined(s.peek(edge + 490, 100)), vec![0xAA; 10], "clamped to len");
    assert_eq!(s.peek(s.len(), 1), (&[][..], &[][..]));
    assert_eq!(s.peek(usize::MAX, usize::MAX), (&[][..], &[][..]));
    assert_eq!(s.peek(0, 0), (&[][..], &[][..]));
}

#[test]
fn send_zero_capacity_accepts_nothing() {
    let mut s = SendBuffer::new(0);
    assert_eq!(s.write(&[1, 2, 3]), 0);
    assert_eq!(s.ack(5), 0);
    assert_eq!(s.allocated_bytes(), 0);
}

// ---- reassembler ----

fn read_all(r: &mut Reassembler) -> Vec<u8> {
    let out = joined(r.readable());
    assert_eq!(r.consume(out.len()), out.len());
    out
}

fn ranges(r: &Reassembler) -> Vec<(usize, usize)> {
    r.held_ranges().map(|h| (h.start, h.end)).collect()
}

fn sack(r: &Reassembler, n: usize) -> Vec<(usize, usize)> {
    let mut out = vec![HeldRange::default(); n];
    let k = r.sack_ranges(&mut out);
    out[..k].iter().map(|h| (h.start, h.end)).collect()
}

#[test]
fn reassembler_in_order_fast_path_and_release() {
    let mut r = Reassembler::new(65536);
    assert_eq!(r.allocated_bytes(), 0);
    let data = stream(1448 * 3);
    for seg in data.chunks(1448) {
        let o = r.insert(0, seg);
        assert_eq!(o, InsertOutcome { newly_contiguous: 1448, ..Default::default() });
        assert_eq!(r.holes(), 0);
    }
    assert_eq!(r.window_remaining(), 65536 - data.len());
    assert_eq!(read_all(&mut r), data);
    assert_eq!(r.allocated_bytes(), 0);
    assert_eq!(r.window_remaining(), 65536);
}

#[test]
fn reassembler_reversed_segments() {
    let data = stream(10 * 100);
    let mut r = Reassembler::new(4096);
    for i in (1..10).rev() {
        let o = r.insert(i * 100, &data[i * 100..(i + 1) * 100]);
        assert_eq!(o.newly_contiguous, 0);
        assert_eq!(ranges(&r), vec![(i * 100, 1000)], "adjacent ranges merge");
    }
    let o = r.insert(0, &data[..100]);
    assert_eq!(o.newly_contiguous, 1000);
    assert_eq!(r.holes(), 0);
    assert_eq!(read_all(&mut r), data);
    assert_eq!(r.allocated_bytes(), 0);
}

#[test]
fn reassembler_overlaps_and_duplicates() {
    let data = stream(1000);
    let mut r = Reassembler::new(4096);
    r.insert(200, &data[200..400]);
    let o = r.insert(250, &data[250..300]);
    assert!(o.duplicate);
    assert_eq!(o.newly_contiguous, 0);
    let o = r.insert(350, &data[350..600]);
    assert!(!o.duplicate);
    assert_eq!(ranges(&r), vec![(200, 600)]);
    r.insert(700, &data[700..800]);
    r.insert(900, &data[900..950]);
    // One segment spanning two holes merges three ranges.
    let o = r.insert(500, &data[500..920]);
    assert_eq!(ranges(&r), vec![(200, 950)]);
    assert!(!o.duplicate);
    let o = r.insert(0, &data[0..300]);
    assert_eq!(o.newly_contiguous, 950);
    assert_eq!(read_all(&mut r), data[..950]);
    // Now RCV.NXT is 950: a retransmission of held-and-read data arrives trimmed by the engine.
    assert_eq!(r.insert(0, &data[950..]).newly_contiguous, 50);
}

#[test]
fn reassembler_last_received_wins_above_rcv_nxt() {
    let mut r = Reassembler::new(4096);
    r.insert(10, &[1; 10]);
    r.insert(15, &[2; 10]);
    r.insert(12, &[3; 2]);
    r.insert(0, &[0; 10]);
    let mut want = vec![0; 10];
    want.extend([1, 1, 3, 3, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2]);
    assert_eq!(read_all(&mut r), want);
    // Readable bytes are never rewritten: a later insert lands past RCV.NXT.
    r.insert(0, &[5; 4]);
    r.insert(0, &[6; 4]);
    assert_eq!(read_all(&mut r), [5, 5, 5, 5, 6, 6, 6, 6]);
}

#[test]
fn reassembler_sack_order_most_recent_first() {
    let data = stream(2000);
    let mut r = Reassembler::new(4096);
    r.insert(100, &data[100..200]);
    r.insert(300, &data[300..400]);
    r.insert(500, &data[500..600]);
    r.insert(700, &data[700..800]);
    assert_eq!(sack(&r, 3), vec![(700, 800), (500, 600), (300, 400)]);
    // Extending the first range makes it the most recent.
    r.insert(200, &data[200..250]);
    assert_eq!(sack(&r, 4), vec![(100, 250), (700, 800), (500, 600), (300, 400)]);
    // A duplicate triggers an ACK too: its block goes first (RFC 2018 §4).
    r.insert(520, &data[520..540]);
    assert_eq!(sack(&r, 2), vec![(500, 600), (100, 250)]);
    // After RCV.NXT moves, offsets are relative to the new RCV.NXT.
    r.insert(0, &data[..100]);
    assert_eq!(r.readable_len(), 250);
    assert_eq!(sack(&r, 4), vec![(250, 350), (450, 550), (50, 150)]);
    assert_eq!(sack(&r, 0), vec![]);
}

#[test]
fn reassembler_hole_limit_drops_and_counts() {
    let mut r = Reassembler::with_max_holes(65536, 4);
    for i in 1..=4 {
        assert!(!r.insert(i * 100, &[1; 10]).dropped_hole_limit);
    }
    assert_eq!(r.holes(), 4);
    let o = r.insert(1000, &[1; 10]);
    assert!(o.dropped_hole_limit);
    assert_eq!(r.dropped_hole_limit(), 1);
    assert_eq!(r.holes(), 4);
    // Extending a range, or filling at RCV.NXT, still works at the limit.
    assert!(!r.insert(410, &[1; 10]).dropped_hole_limit);
    assert_eq!(r.insert(0, &[1; 50]).newly_contiguous, 50);
    assert_eq!(r.holes(), 4);
    assert_eq!(Reassembler::new(100).holes(), 0);
}

#[test]
fn reassembler_default_hole_limit_is_32() {
    let mut r = Reassembler::new(1 << 20);
    for i in 1..=40 {
        r.insert(i * 10, &[0; 5]);
    }
    assert_eq!(r.holes(), DEFAULT_MAX_HOLES);
    assert_eq!(r.dropped_hole_limit(), 8);
}

#[test]
fn reassembler_window_limit() {
    let mut r = Reassembler::new(1000);
    assert_eq!(r.insert(900, &[1; 200]).dropped_beyond_window, 100);
    assert_eq!(r.insert(1000, &[1; 5]).dropped_beyond_window, 5);
    assert_eq!(r.insert(usize::MAX, &[1; 5]).dropped_beyond_window, 5);
    assert_eq!(r.insert(1 << 32, &[1; 5]).dropped_beyond_window, 5);
    assert_eq!(r.insert(0, &[2; 600]).newly_contiguous, 600);
    assert_eq!(r.window_remaining(), 400);
    // The right edge has not moved: the window is what the readable bytes leave.
    assert_eq!(r.insert(0, &[3; 400]).newly_contiguous, 400);
    assert_eq!(r.window_remaining(), 0);
    assert_eq!(r.insert(0, &[4; 1]).dropped_beyond_window, 1);
    assert_eq!(r.allocated_bytes(), 1000);
    r.consume(10);
    assert_eq!(r.insert(0, &[5; 20]).dropped_beyond_window, 10);
    assert_eq!(r.insert(0, &[]), InsertOutcome::default());
}

#[test]
fn reassembler_consume_while_holes_keeps_storage() {
    let data = stream(3000);
    let mut r = Reassembler::new(3000);
    r.insert(0, &data[..1000]);
    // Offsets are from RCV.NXT (1000 here).
    r.insert(1000, &data[2000..2500]);
    assert_eq!(read_all(&mut r), data[..1000]);
    assert!(r.allocated_bytes() > 0);
    assert_eq!(ranges(&r), vec![(1000, 1500)]);
    assert_eq!(r.insert(0, &data[1000..2000]).newly_contiguous, 1500);
    assert_eq!(r.insert(0, &data[2500..]).newly_contiguous, 500);
    assert_eq!(read_all(&mut r), data[1000..]);
    assert_eq!(r.allocated_bytes(), 0);
}

#[test]
fn deferred_release_keeps_storage_until_asked() {
    let mut s = SendBuffer::new(10_000);
    s.set_release_on_drain(false);
    s.write(&stream(3000));
    s.ack(3000);
    assert_eq!(s.allocated_bytes(), 4096);
    assert_eq!(s.write(&stream(100)), 100);
    assert_eq!(s.peek(0, 100).0, &stream(100)[..]);
    assert!(!s.release_if_drained());
    s.ack(100);
    assert!(s.release_if_drained());
    assert_eq!(s.allocated_bytes(), 0);

    let mut r = Reassembler::new(10_000);
    r.set_release_on_drain(false);
    r.insert(0, &[1; 100]);
    r.consume(100);
    assert_eq!(r.allocated_bytes(), MIN_ALLOC);
    r.insert(5, &[1; 10]);
    assert!(!r.release_if_drained(), "held data keeps the storage");
    r.insert(0, &[1; 5]);
    r.consume(15);
    assert!(r.release_if_drained());
    assert_eq!(r.allocated_bytes(), 0);
}

// ---- property tests ----

#[derive(Debug, Clone)]
enum SendOp {
    Write(usize),
    Ack(usize),
    Peek(usize, usize),
}

fn send_op() -> impl Strategy<Value = SendOp> {
    prop_oneof![
        (0usize..3000).prop_map(SendOp::Write),
        (0usize..3000).prop_map(SendOp::Ack),
        (0usize..5000, 0usize..3000).prop_map(|(o, l)| SendOp::Peek(o, l)),
    ]
}

proptest! {
    #[test]
    fn send_buffer_matches_vecdeque(cap in 0usize..10_000, ops in prop::collection::vec(send_op(), 1..80)) {
        let mut s = SendBuffer::new(cap);
        let mut model = VecDeque::new();
        let mut next = 0u8;
        for op in ops {
            match op {
                SendOp::Write(n) => {
                    let data: Vec<u8> = (0..n).map(|_| { next = next.wrapping_add(1); next }).collect();
                    let took = s.write(&data);
                    prop_assert_eq!(took, n.min(cap - model.len()));
                    model.extend(&data[..took]);
                }
                SendOp::Ack(n) => {
                    let acked = s.ack(n);
                    prop_assert_eq!(acked, n.min(model.len()));
                    model.drain(..acked);
                }
                SendOp::Peek(o, l) => {
                    let want: Vec<u8> = model.iter().skip(o).take(l).copied().collect();
                    prop_assert_eq!(joined(s.peek(o, l)), want);
                }
            }
            prop_assert_eq!(s.len(), model.len());
            prop_assert!(s.allocated_bytes() <= cap);
            if s.is_empty() {
                prop_assert_eq!(s.allocated_bytes(), 0);
            }
        }
    }
}

/// A segment of the test stream: its stream position and length.
fn segments(len: usize) -> impl Strategy<Value = Vec<(usize, usize)>> {
    prop::collection::vec((0..len, 1usize..1600), 1..60)
        .prop_map(move |v| v.into_iter().map(|(s, l)| (s, l.min(len - s))).collect())
}

/// Delivers the stream part of a segment relative to RCV.NXT, trimming what lies below it as
/// the engine does.
fn deliver(r: &mut Reassembler, data: &[u8], read: usize, (s, l): (usize, usize)) -> InsertOutcome {
    let nxt = read + r.readable_len();
    let end = s + l;
    if end <= nxt {
        return InsertOutcome { duplicate: true, ..Default::default() };
    }
    let s = s.max(nxt);
    r.insert(s - nxt, &data[s..end])
}

proptest! {
    #[test]
    fn reassembler_reads_out_the_stream(
        len in 1usize..6000,
        cap in 1usize..5000,
        holes in 1usize..40,
        order in segments(6000),
        reads in prop::collection::vec(0usize..3000, 1..20),
        seed in any::<u64>(),
    ) {
        let data = stream(len);
        let mut r = Reassembler::with_max_holes(cap, holes);
        let mut out = Vec::new();
        let mut reads = reads.into_iter().cycle();
        // Random arrivals (duplicates and overlaps included), with partial reads between.
        for &(s, l) in &order {
            let (s, l) = (s % len, l.min(len - s % len));
            deliver(&mut r, &data, out.len(), (s, l));
            check_invariants(&r, cap, holes)?;
            let n = reads.next().unwrap_or(0).min(r.readable_len());
            out.extend(joined(r.readable()).into_iter().take(n));
            r.consume(n);
        }
        // Then the peer retransmits everything, in a shuffled order, until all is read.
        let mut rounds = 0;
        let mut rng = seed;
        while out.len() < len {
            rounds += 1;
            prop_assert!(rounds <= len + 1, "no progress");
            let mut segs: Vec<(usize, usize)> = (0..len).step_by(700).map(|s| (s, 700.min(len - s))).collect();
            for i in (1..segs.len()).rev() {
                rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                segs.swap(i, (rng >> 33) as usize % (i + 1));
            }
            for seg in segs {
                deliver(&mut r, &data, out.len(), seg);
                check_invariants(&r, cap, holes)?;
            }
            out.extend(read_all(&mut r));
        }
        prop_assert_eq!(out, data);
        prop_assert_eq!(r.allocated_bytes(), 0);
        prop_assert_eq!(r.holes(), 0);
    }
}

fn check_invariants(r: &Reassembler, cap: usize, max_holes: usize) -> Result<(), TestCaseError> {
    prop_assert!(r.allocated_bytes() <= cap);
    prop_assert!(r.holes() <= max_holes);
    prop_assert_eq!(r.window_remaining(), cap - r.readable_len());
    let mut prev_end = 0;
    for h in r.held_ranges() {
        prop_assert!(h.start > prev_end && h.end > h.start && h.end <= r.window_remaining());
        prev_end = h.end;
    }
    if r.readable_len() == 0 && r.holes() == 0 {
        prop_assert_eq!(r.allocated_bytes(), 0);
    }
    Ok(())
}

/// The reference: held bytes by stream position, RCV.NXT, and what is readable.
#[derive(Default)]
struct Model {
    held: BTreeMap<usize, u8>,
    nxt: usize,
    readable: VecDeque<u8>,
}

impl Model {
    fn insert(&mut self, cap: usize, offset: usize, data: &[u8]) -> usize {
        let window = cap - self.readable.len();
        for (i, &b) in data.iter().enumerate().take(window.saturating_sub(offset)) {
            self.held.insert(self.nxt + offset + i, b);
        }
        let before = self.nxt;
        while let Some(b) = self.held.remove(&self.nxt) {
            self.readable.push_back(b);
            self.nxt += 1;
        }
        self.nxt - before
    }

    fn runs(&self) -> Vec<(usize, usize)> {
        let mut runs: Vec<(usize, usize)> = Vec::new();
        for &p in self.held.keys() {
            match runs.last_mut() {
                Some(last) if last.1 == p - self.nxt => last.1 += 1,
                _ => runs.push((p - self.nxt, p - self.nxt + 1)),
            }
        }
        runs
    }
}

proptest! {
    #[test]
    fn reassembler_matches_btreemap_model(
        cap in 1usize..3000,
        ops in prop::collection::vec((0usize..3500, 0usize..700, any::<u8>(), 0usize..800), 1..60),
    ) {
        // Unbounded holes so that the model needs no drop rule; bytes differ per insert to
        // check the last-received-wins policy.
        let mut r = Reassembler::with_max_holes(cap, usize::MAX);
        let mut m = Model::default();
        for (offset, l, fill, read) in ops {
            let data: Vec<u8> = (0..l).map(|i| fill.wrapping_add(i as u8)).collect();
            let o = r.insert(offset, &data);
            let gained = m.insert(cap, offset, &data);
            prop_assert_eq!(o.newly_contiguous, gained);
            prop_assert_eq!(o.dropped_beyond_window, l - l.min((cap - (m.readable.len() - gained)).saturating_sub(offset)));
            prop_assert_eq!(ranges(&r), m.runs());
            if l > 0 && o.dropped_beyond_window < l && gained == 0 {
                // RFC 2018 §4: the first SACK block holds the segment just received.
                let first = sack(&r, 1)[0];
                prop_assert!(first.0 <= offset && offset < first.1);
            }
            prop_assert_eq!(joined(r.readable()), m.readable.iter().copied().collect::<Vec<_>>());
            let n = r.consume(read);
            m.readable.drain(..n);
            prop_assert!(r.allocated_bytes() <= cap);
        }
    }

    #[test]
    fn reassembler_survives_hostile_input(
        cap in 0usize..4096,
        ops in prop::collection::vec((any::<usize>(), 0usize..70_000, 0usize..5000), 1..100),
    ) {
        let mut r = Reassembler::new(cap);
        let big = vec![0x55u8; 70_000];
        for (offset, l, read) in ops {
            // Half the offsets are small enough to land inside the window.
            let offset = if offset % 2 == 0 { offset % (cap + 10) } else { offset };
            let o = r.insert(offset, &big[..l]);
            prop_assert!(o.dropped_beyond_window <= l);
            r.consume(read);
            check_invariants(&r, cap, DEFAULT_MAX_HOLES)?;
        }
    }
}
