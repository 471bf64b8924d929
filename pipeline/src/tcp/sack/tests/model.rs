//! A per-byte reference model of RFC 6675's definitions, and random (and adversarial)
//! ACK/SACK streams to hold the scoreboard against it.

use crate::tcp::sack::{MAX_RANGES, NextSegment, Scoreboard, SeqRange};
use crate::wire::tcp::TcpSeqNumber;
use crate::wire::tcp_option::SackBlocks;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

/// One step of a stream.
#[derive(Debug, Clone)]
pub(super) enum Op {
    /// Send up to this many new bytes.
    Send(u16),
    /// An ACK: cumulative point and blocks, relative to SND.UNA unless raw.
    Ack {
        cum: i32,
        blocks: Vec<Block>,
    },
    Rto,
    Enter,
    /// Ask NextSeg with this many sendable new bytes, and send what it says.
    Next(u16),
}

#[derive(Debug, Clone)]
pub(super) enum Block {
    Rel(i32, i32),
    Raw(u32, u32),
}

/// Streams over a window of at most `window` bytes.
pub(super) fn ops(window: u32) -> impl Strategy<Value = Vec<Op>> {
    let w = window as i32;
    let short = (-40i32..w + 40, 0i32..(w / 4).max(8)).prop_map(|(s, l)| Block::Rel(s, s + l));
    let block = prop_oneof![
        6 => short,
        1 => (-40i32..w + 40, -40i32..w + 40).prop_map(|(l, r)| Block::Rel(l, r)),
        1 => any::<(u32, u32)>().prop_map(|(l, r)| Block::Raw(l, r)),
    ];
    let op = prop_oneof![
        3 => (1u16..(window / 3) as u16).prop_map(Op::Send),
        6 => (-20i32..w + 20, vec(block, 0..=4)).prop_map(|(cum, blocks)| Op::Ack { cum, blocks }),
        1 => Just(Op::Rto),
        1 => Just(Op::Enter),
        3 => (0u16..200).prop_map(Op::Next),
    ];
    vec(op, 1..80)
}

/// The reference: one flag per byte of `[una, una + bits.len())`, SACKed or not.
struct Model {
    una: u32,
    bits: Vec<bool>,
    smss: u32,
}

/// What the model expects of an ACK.
#[derive(Debug, Default, PartialEq)]
struct Expect {
    acks_unsent: bool,
    newly_acked: u32,
    sacked_then_acked: u32,
    newly_sacked: u32,
    dsack: Option<SeqRange>,
    invalid_blocks: u8,
}

fn seq(n: u32) -> TcpSeqNumber {
    TcpSeqNumber(n)
}

/// RFC 2883 §4, spelled out on raw numbers.
fn dsack(cum: u32, una: u32, window: i64, blocks: &[(u32, u32)]) -> Option<SeqRange> {
    let &(l0, r0) = blocks.first()?;
    let len0 = r0.wrapping_sub(l0);
    let top = i64::from(r0.wrapping_sub(una) as i32);
    if len0 == 0 || len0 > i32::MAX as u32 || top > window {
        return None;
    }
    let below = (cum.wrapping_sub(l0) as i32) > 0;
    let inside = blocks.get(1).is_some_and(|&(l1, r1)| {
        let len1 = r1.wrapping_sub(l1);
        len1 > 0
            && len1 <= i32::MAX as u32
            && l0.wrapping_sub(l1) <= len1
            && r0.wrapping_sub(l1) <= len1
            && l0.wrapping_sub(l1) <= r0.wrapping_sub(l1)
    });
    (below || inside).then_some(SeqRange::new(seq(l0), seq(r0)))
}

impl Model {
    fn window(&self) -> i64 {
        self.bits.len() as i64
    }

    fn ack(&mut self, cum: u32, blocks: &[(u32, u32)]) -> Expect {
        let mut e = Expect::default();
        let ahead = i64::from(cum.wrapping_sub(self.una) as i32);
        if ahead > self.window() {
            e.acks_unsent = true;
            return e;
        }
        if ahead > 0 {
            let gone: Vec<bool> = self.bits.drain(..ahead as usize).collect();
            e.newly_acked = ahead as u32;
            e.sacked_then_acked = gone.iter().filter(|b| **b).count() as u32;
            self.una = cum;
        }
        let mut rest = blocks;
        if let Some(d) = dsack(cum, self.una, self.window(), blocks) {
            e.dsack = Some(d);
            rest = &blocks[1..];
        }
        for &(l, r) in rest {
            let len = r.wrapping_sub(l);
            let top = i64::from(r.wrapping_sub(self.una) as i32);
            if len == 0 || len > i32::MAX as u32 || top > self.window() {
                e.invalid_blocks += 1;
                continue;
            }
            let bottom = (top - i64::from(len)).max(0);
            for i in bottom.max(0)..top.max(0) {
                if !self.bits[i as usize] {
                    self.bits[i as usize] = true;
                    e.newly_sacked += 1;
                }
            }
        }
        e
    }

    /// RFC 6675 §4 IsLost on the offset `o`, byte by byte.
    fn is_lost(&self, o: usize) -> bool {
        let above = self.bits.get(o + 1..).unwrap_or(&[]);
        let bytes = above.iter().filter(|b| **b).count() as u64;
        let runs = (0..above.len()).filter(|&i| above[i] && (i == 0 || !above[i - 1])).count();
        runs >= 3 || bytes > 2 * u64::from(self.smss)
    }

    /// RFC 6675 §4 SetPipe, byte by byte.
    fn pipe(&self, rxt: usize) -> u32 {
        let count = |o: usize| u32::from(!self.is_lost(o)) + u32::from(o < rxt);
        (0..self.bits.len()).filter(|&o| !self.bits[o]).map(count).sum()
    }

    /// The runs of SACKed bytes as ranges.
    fn runs(&self) -> Vec<SeqRange> {
        let mut out = Vec::new();
        let mut start = None;
        for (i, &b) in self.bits.iter().chain([&false]).enumerate() {
            match (b, start) {
                (true, None) => start = Some(i),
                (false, Some(s)) => {
                    let at = |o: usize| seq(self.una.wrapping_add(o as u32));
                    out.push(SeqRange::new(at(s), at(i)));
                    start = None;
                }
                _ => {}
            }
        }
        out
    }

    /// NextSeg rule (1): the smallest lost unSACKed offset at or above `rxt`, below the
    /// highest SACKed octet.
    fn rule1(&self, rxt: usize) -> Option<usize> {
        let top = self.bits.iter().rposition(|b| *b)?;
        (rxt..top).find(|&o| !self.bits[o] && self.is_lost(o))
    }
}

/// Runs `ops` and checks after each step. `exact`: the window never exceeds 128 bytes, so
/// the scoreboard cannot overflow and must equal the model; otherwise it must stay a bounded
/// subset of it.
pub(super) fn run(
    una: u32,
    smss: u32,
    max_window: u32,
    ops: &[Op],
    exact: bool,
) -> Result<(), TestCaseError> {
    let mut sb = Scoreboard::new(seq(una), smss);
    let mut m = Model { una, bits: Vec::new(), smss };
    for op in ops {
        step(&mut sb, &mut m, max_window, op, exact)?;
        check(&sb, &m, exact)?;
    }
    Ok(())
}

fn room(m: &Model, max_window: u32, n: u16) -> u32 {
    u32::from(n).min(max_window - m.bits.len() as u32)
}

fn step(
    sb: &mut Scoreboard,
    m: &mut Model,
    max_window: u32,
    op: &Op,
    exact: bool,
) -> Result<(), TestCaseError> {
    match op {
        Op::Send(n) => {
            let n = room(m, max_window, *n);
            let start = sb.high_data();
            sb.on_sent(NextSegment::New(SeqRange::new(start, start + n as usize)));
            m.bits.extend((0..n).map(|_| false));
        }
        Op::Ack { cum, blocks } => {
            let abs = |r: i32| m.una.wrapping_add(r as u32);
            let raw: Vec<(u32, u32)> = blocks
                .iter()
                .map(|b| match *b {
                    Block::Rel(l, r) => (abs(l), abs(r)),
                    Block::Raw(l, r) => (l, r),
                })
                .collect();
            let cum = abs(*cum);
            let sack = SackBlocks::new(&raw);
            let out = sb.on_ack(seq(cum), sack.as_ref(), sb.high_ack(), sb.high_data());
            let want = m.ack(cum, sack.as_ref().map_or(&[], |s| s.as_slice()));
            prop_assert_eq!(out.acks_unsent, want.acks_unsent);
            prop_assert_eq!(out.newly_acked, want.newly_acked);
            prop_assert_eq!(out.dsack, want.dsack);
            prop_assert_eq!(out.invalid_blocks, want.invalid_blocks);
            prop_assert_eq!(out.duplicate, out.newly_sacked > 0);
            prop_assert!(out.sacked_then_acked <= want.sacked_then_acked);
            if exact {
                prop_assert_eq!(out.sacked_then_acked, want.sacked_then_acked);
                prop_assert_eq!(out.newly_sacked, want.newly_sacked);
                prop_assert_eq!(out.overflow_blocks, 0);
            }
        }
        Op::Rto => sb.on_rto(),
        Op::Enter => {
            if let Some(seg) = sb.enter_recovery() {
                check_retransmission(sb, m, seg)?;
            }
        }
        Op::Next(n) => {
            let sendable = room(m, max_window, *n);
            let rxt = sb.high_rxt().offset_from(sb.high_ack()) as usize;
            let seg = sb.next_seg(sendable);
            if let (true, Some(s2)) = (exact, m.rule1(rxt)) {
                let start = seq(m.una.wrapping_add(s2 as u32));
                prop_assert!(matches!(seg, Some(NextSegment::Retransmit(r)) if r.start == start));
            }
            match seg {
                Some(NextSegment::Retransmit(r) | NextSegment::Rescue(r)) => {
                    check_retransmission(sb, m, r)?
                }
                Some(NextSegment::New(r)) => {
                    prop_assert_eq!(r.start, sb.high_data());
                    prop_assert!(!r.is_empty() && r.len() <= sendable.min(m.smss));
                    m.bits.extend((0..r.len()).map(|_| false));
                }
                None => prop_assert!(sendable == 0),
            }
            if let Some(seg) = seg {
                sb.on_sent(seg);
            }
        }
    }
    Ok(())
}

/// A retransmission is 1 to SMSS unSACKed bytes inside the window.
fn check_retransmission(sb: &Scoreboard, m: &Model, r: SeqRange) -> Result<(), TestCaseError> {
    let s = r.start.offset_from(sb.high_ack()) as usize;
    prop_assert!(!r.is_empty() && r.len() <= m.smss);
    prop_assert!(s + r.len() as usize <= m.bits.len());
    prop_assert!(m.bits[s..s + r.len() as usize].iter().all(|b| !*b));
    Ok(())
}

fn check(sb: &Scoreboard, m: &Model, exact: bool) -> Result<(), TestCaseError> {
    let window = m.bits.len();
    prop_assert_eq!(sb.high_ack(), seq(m.una));
    prop_assert_eq!(sb.high_data().offset_from(sb.high_ack()) as usize, window);
    let ranges = sb.sacked_ranges();
    prop_assert!(ranges.len() <= MAX_RANGES);
    let mut at = 0usize;
    let mut total = 0u32;
    for (i, r) in ranges.iter().enumerate() {
        let (s, e) = (
            r.start.offset_from(sb.high_ack()) as usize,
            r.end.offset_from(sb.high_ack()) as usize,
        );
        prop_assert!(s < e && e <= window, "range {:?} outside window", r);
        prop_assert!(i == 0 || s > at, "ranges not sorted, disjoint and apart");
        prop_assert!(m.bits[s..e].iter().all(|b| *b), "scoreboard holds a byte never SACKed");
        at = e;
        total += r.len();
    }
    prop_assert_eq!(total, sb.sacked_bytes());
    prop_assert!(sb.pipe() as usize <= 2 * window);
    prop_assert!(!sb.is_lost(sb.high_data()));
    if exact {
        prop_assert_eq!(ranges, &m.runs()[..]);
        for o in 0..window {
            prop_assert_eq!(
                sb.is_lost(seq(m.una.wrapping_add(o as u32))),
                m.is_lost(o),
                "IsLost at {}",
                o
            );
        }
        let rxt = (sb.high_rxt().offset_from(sb.high_ack()) as usize).min(window);
        prop_assert_eq!(sb.pipe(), m.pipe(rxt));
    }
    Ok(())
}
