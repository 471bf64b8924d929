//! Known-answer tests from the rules of RFC 6675 and RFC 2883, lying SACK blocks, wrap-around,
//! and property tests against a per-byte reference model.

use super::*;
use crate::wire::tcp::TcpSeqNumber;
use crate::wire::tcp_option::SackBlocks;
use proptest::prelude::*;

mod model;

const SMSS: u32 = 100;

fn seq(n: u32) -> TcpSeqNumber {
    TcpSeqNumber(n)
}

fn range(s: u32, e: u32) -> SeqRange {
    SeqRange::new(seq(s), seq(e))
}

/// A scoreboard at `una` with `len` bytes sent.
fn sent(una: u32, len: u32) -> Scoreboard {
    let mut sb = Scoreboard::new(seq(una), SMSS);
    sb.on_sent(NextSegment::New(range(una, una.wrapping_add(len))));
    sb
}

/// Feeds an ACK with the engine's current SND.UNA and SND.MAX.
fn ack(sb: &mut Scoreboard, cum: u32, blocks: &[(u32, u32)]) -> AckOutcome {
    let blocks = SackBlocks::new(blocks);
    let (una, max) = (sb.high_ack(), sb.high_data());
    sb.on_ack(seq(cum), blocks.as_ref(), una, max)
}

#[test]
fn one_loss_three_sacked_segments_is_lost_and_hole_is_retransmitted() {
    let mut sb = sent(1000, 500);
    let first = ack(&mut sb, 1000, &[(1100, 1200)]);
    assert!(first.duplicate && !first.loss_detected);
    assert_eq!(first.newly_sacked, 100);
    assert!(!sb.is_lost(seq(1000)));
    ack(&mut sb, 1000, &[(1100, 1300)]);
    assert!(!sb.is_lost(seq(1000)), "200 bytes is not more than (DupThresh-1)*SMSS");
    let third = ack(&mut sb, 1000, &[(1100, 1400)]);
    assert!(third.duplicate && third.loss_detected);
    assert_eq!(sb.dup_acks(), 3);
    assert!(sb.is_lost(seq(1000)));
    assert!(!sb.is_lost(seq(1400)), "nothing SACKed above the tail");
    // RFC 6675 §5 (4.1), (4.3).
    assert_eq!(sb.enter_recovery(), Some(range(1000, 1100)));
    assert_eq!(sb.recovery_point(), Some(seq(1500)));
    assert_eq!((sb.high_rxt(), sb.rescue_rxt()), (seq(1100), Some(seq(1100))));
    // SetPipe: the retransmitted lost hole counts once, the unlost tail once.
    assert_eq!(sb.pipe(), 200);
    assert_eq!(sb.next_seg(0), None);
    assert_eq!(sb.next_seg(1000), Some(NextSegment::New(range(1500, 1600))));
}

#[test]
fn dup_acks_alone_reach_dupthresh_with_small_segments() {
    let mut sb = sent(1000, 500);
    for right in [1110, 1120] {
        assert!(!ack(&mut sb, 1000, &[(1100, right)]).loss_detected);
    }
    // 30 bytes in one range: IsLost is false, but DupAcks == DupThresh (§5 (2.a)).
    assert!(!sb.is_lost(seq(1000)));
    assert!(ack(&mut sb, 1000, &[(1100, 1130)]).loss_detected);
}

/// Sent 1000..1900; holes at 1000, 1300, 1600 and the tail 1800.
fn three_holes() -> Scoreboard {
    let mut sb = sent(1000, 900);
    ack(&mut sb, 1000, &[(1700, 1800), (1400, 1600), (1100, 1300)]);
    sb
}

#[test]
fn multiple_holes_is_lost_and_next_seg_rules_1_to_3() {
    let mut sb = three_holes();
    assert_eq!(sb.sacked_ranges(), &[range(1100, 1300), range(1400, 1600), range(1700, 1800)]);
    assert!(sb.is_lost(seq(1000)), "three ranges above");
    assert!(sb.is_lost(seq(1300)), "300 bytes above");
    assert!(!sb.is_lost(seq(1600)) && !sb.is_lost(seq(1800)));
    assert_eq!(sb.pipe(), 200);
    assert_eq!(sb.enter_recovery(), Some(range(1000, 1100)));
    // Rule (1): the next lost hole above HighRxt.
    let next = sb.next_seg(0);
    assert_eq!(next, Some(NextSegment::Retransmit(range(1300, 1400))));
    sb.on_sent(next.unwrap());
    assert_eq!(sb.pipe(), 400);
    // Rule (2) before rule (3): new data when the window allows it.
    assert_eq!(sb.next_seg(50), Some(NextSegment::New(range(1900, 1950))));
    // Rule (3): an unSACKed hole below the highest SACK, not yet lost.
    assert_eq!(sb.next_seg(0), Some(NextSegment::Retransmit(range(1600, 1700))));
}

#[test]
fn partial_acks_during_recovery_then_recovery_ends() {
    let mut sb = three_holes();
    sb.enter_recovery();
    let partial = ack(&mut sb, 1300, &[(1400, 1600), (1700, 1800)]);
    assert_eq!((partial.newly_acked, partial.sacked_then_acked), (300, 200));
    assert!(!partial.duplicate && !partial.recovery_ended && sb.in_recovery());
    assert_eq!(sb.high_rxt(), seq(1300), "HighRxt follows the cumulative ACK");
    assert_eq!(sb.next_seg(0), Some(NextSegment::Retransmit(range(1300, 1400))));
    let done = ack(&mut sb, 1900, &[]);
    assert!(done.recovery_ended && !sb.in_recovery());
    assert_eq!((sb.sacked_bytes(), sb.pipe()), (0, 0));
}

#[test]
fn rescue_retransmission_once_per_recovery() {
    let mut sb = sent(1000, 1000);
    for right in [1200, 1500, 1900] {
        ack(&mut sb, 1000, &[(1100, right)]);
    }
    sb.enter_recovery();
    assert_eq!(sb.next_seg(0), None, "HighACK is not yet past RescueRxt");
    ack(&mut sb, 1900, &[]);
    assert!(sb.in_recovery());
    let rescue = sb.next_seg(0);
    assert_eq!(rescue, Some(NextSegment::Rescue(range(1900, 2000))));
    sb.on_sent(rescue.unwrap());
    assert_eq!(sb.rescue_rxt(), Some(seq(2000)));
    assert_eq!(sb.high_rxt(), seq(1900), "rule (4): HighRxt is not updated");
    assert_eq!(sb.next_seg(0), None);
}

#[test]
fn rescue_ends_at_highest_unsacked_octet() {
    let mut sb = sent(1000, 1000);
    ack(&mut sb, 1000, &[(1100, 1200), (1300, 1400), (1950, 2000)]);
    assert_eq!(sb.enter_recovery(), Some(range(1000, 1100)));
    ack(&mut sb, 1200, &[(1950, 2000)]);
    // Nothing is lost any more (two ranges, 150 bytes above): rule (3) retransmits in order.
    assert_eq!(sb.next_seg(0), Some(NextSegment::Retransmit(range(1200, 1300))));
    sb.on_sent(NextSegment::Retransmit(range(1200, 1300)));
    assert_eq!(sb.next_seg(0), Some(NextSegment::Retransmit(range(1400, 1500))));
    sb.on_sent(NextSegment::Retransmit(range(1400, 1950)));
    // Rule (4): the segment holding the highest unSACKed octet, 1949.
    assert_eq!(sb.next_seg(0), Some(NextSegment::Rescue(range(1850, 1950))));
}

#[test]
fn rto_keeps_sack_clears_marks_and_blocks_new_recovery_until_recovery_point() {
    let mut sb = three_holes();
    sb.enter_recovery();
    sb.on_sent(NextSegment::Retransmit(range(1300, 1400)));
    sb.on_sent(NextSegment::New(range(1900, 2000)));
    sb.on_rto();
    assert!(!sb.in_recovery());
    assert_eq!(sb.recovery_point(), Some(seq(2000)));
    assert_eq!((sb.high_rxt(), sb.rescue_rxt()), (seq(1000), None));
    assert_eq!(sb.sacked_bytes(), 500, "SACK information is kept");
    for right in [1810, 1820, 1830, 1840] {
        assert!(!ack(&mut sb, 1000, &[(1800, right)]).loss_detected, "§5.1");
    }
    ack(&mut sb, 2000, &[]);
    sb.on_sent(NextSegment::New(range(2000, 2500)));
    assert!(ack(&mut sb, 2000, &[(2100, 2400)]).loss_detected, "past RecoveryPoint again");
}

#[test]
fn dsack_below_cumulative_ack_is_reported_not_counted() {
    let mut sb = sent(1000, 500);
    let out = ack(&mut sb, 1500, &[(1100, 1200)]);
    assert_eq!(out.dsack, Some(range(1100, 1200)));
    assert_eq!((out.newly_sacked, out.invalid_blocks), (0, 0));
    assert!(!out.duplicate);
}

#[test]
fn dsack_inside_second_block_is_reported_and_second_counted() {
    let mut sb = sent(1000, 500);
    let out = ack(&mut sb, 1000, &[(1200, 1300), (1100, 1400)]);
    assert_eq!(out.dsack, Some(range(1200, 1300)));
    assert_eq!(out.newly_sacked, 300);
    assert_eq!(sb.sacked_bytes(), 300);
    let again = ack(&mut sb, 1000, &[(1200, 1300), (1100, 1400)]);
    assert_eq!((again.newly_sacked, again.duplicate), (0, false));
}

#[test]
fn first_block_not_a_dsack_when_above_ack_and_not_inside_second() {
    let mut sb = sent(1000, 500);
    let out = ack(&mut sb, 1000, &[(1100, 1400), (1200, 1300)]);
    assert_eq!((out.dsack, out.newly_sacked), (None, 300));
}

#[test]
fn lying_blocks_are_never_counted() {
    let mut sb = sent(1000, 500);
    let beyond = ack(&mut sb, 1000, &[(1400, 1600)]);
    assert_eq!((beyond.invalid_blocks, beyond.newly_sacked), (1, 0));
    let below = ack(&mut sb, 1000, &[(500, 900)]);
    assert_eq!((below.invalid_blocks, below.newly_sacked), (0, 0));
    // Inverted, empty, and a well-formed block around 2^32 that lies below SND.UNA.
    let wrapping = ack(&mut sb, 1000, &[(1200, 1100), (1300, 1300), (0xffff_ff00, 0x100)]);
    assert_eq!((wrapping.invalid_blocks, wrapping.newly_sacked, wrapping.dsack), (2, 0, None));
    let huge = ack(&mut sb, 1000, &[(1100, 1100 + 0x8000_0000), (1101, 1100)]);
    assert_eq!((huge.invalid_blocks, huge.newly_sacked), (2, 0));
    assert_eq!((sb.sacked_bytes(), sb.sacked_ranges()), (0, &[][..]));
}

#[test]
fn repeated_and_overlapping_blocks_count_each_byte_once() {
    let mut sb = sent(1000, 500);
    let out = ack(&mut sb, 1000, &[(1100, 1200); 4]);
    assert_eq!(out.newly_sacked, 100);
    let out = ack(&mut sb, 1000, &[(1150, 1250), (1240, 1300), (1299, 1310), (1100, 1310)]);
    assert_eq!(out.newly_sacked, 110);
    assert_eq!(sb.sacked_ranges(), &[range(1100, 1310)]);
    // Not first (a first block below the ACK is a D-SACK): clipped to SND.UNA.
    let straddle = ack(&mut sb, 1000, &[(1400, 1450), (900, 1050)]);
    assert_eq!((straddle.newly_sacked, straddle.dsack), (100, None));
    assert_eq!(sb.sacked_bytes(), 310);
}

#[test]
fn ack_of_unsent_data_is_ignored() {
    let mut sb = sent(1000, 500);
    ack(&mut sb, 1000, &[(1100, 1200)]);
    let out = ack(&mut sb, 1501, &[(1200, 1300)]);
    assert!(out.acks_unsent);
    assert_eq!((sb.high_ack(), sb.sacked_bytes()), (seq(1000), 100));
}

#[test]
fn old_ack_still_carries_sack_information() {
    let mut sb = sent(1000, 500);
    ack(&mut sb, 1100, &[]);
    let out = ack(&mut sb, 1000, &[(1200, 1300)]);
    assert_eq!((out.newly_acked, out.newly_sacked), (0, 100));
    assert_eq!(sb.high_ack(), seq(1100));
}

#[test]
fn sequence_wrap_around_2_pow_32() {
    let una = 0xffff_ff00;
    let mut sb = sent(una, 0x300);
    let out = ack(&mut sb, una, &[(0xffff_ffc0, 0x40), (0x100, 0x180)]);
    assert_eq!(out.newly_sacked, 0x80 + 0x80);
    assert_eq!(sb.sacked_ranges(), &[range(0xffff_ffc0, 0x40), range(0x100, 0x180)]);
    assert!(sb.is_lost(seq(una)), "256 bytes SACKed above");
    assert!(!sb.is_lost(seq(0x40)), "one range of 128 bytes above");
    let lie = ack(&mut sb, una, &[(0x100, 0xffff_ff80), (0x1f0, 0x210)]);
    assert_eq!((lie.invalid_blocks, lie.newly_sacked), (2, 0));
    let out = ack(&mut sb, 0x10, &[(0x100, 0x180)]);
    assert_eq!((out.newly_acked, out.sacked_then_acked), (0x110, 0x50));
    assert_eq!(sb.sacked_ranges(), &[range(0x10, 0x40), range(0x100, 0x180)]);
    assert_eq!(sb.high_data(), seq(0x200));
}

#[test]
fn capacity_is_bounded_and_merging_still_works_when_full() {
    let mut sb = sent(0, 10_000);
    let mut overflow = 0;
    for i in 0..100u32 {
        let s = 10 + i * 4;
        overflow += u32::from(ack(&mut sb, 0, &[(s, s + 1), (s + 2, s + 3)]).overflow_blocks);
    }
    assert_eq!(sb.sacked_ranges().len(), MAX_RANGES);
    assert_eq!(overflow, 200 - MAX_RANGES as u32);
    let total: u32 = sb.sacked_ranges().iter().map(SeqRange::len).sum();
    assert_eq!(total, sb.sacked_bytes());
    let join = ack(&mut sb, 0, &[(11, 12)]);
    assert_eq!((join.newly_sacked, join.overflow_blocks), (1, 0));
    assert_eq!(sb.sacked_ranges().len(), MAX_RANGES - 1);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn matches_per_byte_model(una in any::<u32>(), smss in 1u32..40, ops in model::ops(128)) {
        model::run(una, smss, 128, &ops, true)?;
    }

    #[test]
    fn adversarial_streams_never_panic_and_stay_bounded(
        una in any::<u32>(), smss in 1u32..600, ops in model::ops(4000),
    ) {
        model::run(una, smss, 4000, &ops, false)?;
    }
}
