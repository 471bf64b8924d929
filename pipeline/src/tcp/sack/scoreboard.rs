//! The sender's SACK scoreboard (RFC 2018) and the per-ACK update of RFC 6675 §4 `Update()`
//! and §5 steps (1)-(2).

use super::ranges::{RangeSet, SeqRange};
use crate::wire::tcp::TcpSeqNumber;
use crate::wire::tcp_option::SackBlocks;

/// DupThresh of RFC 6675 §2 (from RFC 5681).
pub const DUP_THRESH: u32 = 3;

/// The largest `SND.MAX - SND.UNA` the scoreboard accepts: beyond it the modular order of
/// sequence numbers stops meaning anything (RFC 9293 §3.4). A larger window is cut down to it.
const MAX_WINDOW: u32 = i32::MAX as u32;

/// What one ACK changed, as reported by [`Scoreboard::on_ack`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AckOutcome {
    /// Bytes newly covered by the cumulative acknowledgment (`cum_ack - SND.UNA`).
    pub newly_acked: u32,
    /// Of `newly_acked`, how many had already been SACKed (so were counted once before).
    pub sacked_then_acked: u32,
    /// Bytes SACKed for the first time by this ACK (above the new SND.UNA).
    pub newly_sacked: u32,
    /// A "duplicate acknowledgment" in the sense of RFC 6675 §2: it SACKs octets between
    /// HighACK and HighData not SACKed before, whatever else it does.
    pub duplicate: bool,
    /// The D-SACK block of RFC 2883, if the first block is one. It is reported and never
    /// entered into the scoreboard.
    pub dsack: Option<SeqRange>,
    /// Blocks rejected as lies: empty, inverted, longer than 2^31, or reaching past SND.MAX.
    pub invalid_blocks: u8,
    /// Valid blocks dropped because the scoreboard already held
    /// [`MAX_RANGES`](super::MAX_RANGES) ranges and the block touched none of them.
    pub overflow_blocks: u8,
    /// The cumulative acknowledgment covers data never sent (beyond SND.MAX): the whole ACK
    /// was ignored (RFC 9293 §3.10.7.4 says to answer it with an ACK and drop it).
    pub acks_unsent: bool,
    /// This ACK reached the RecoveryPoint: loss recovery ended (RFC 6675 §5).
    pub recovery_ended: bool,
    /// RFC 6675 §5 steps (2.a)/(2.b) say to start loss recovery now: call
    /// [`Scoreboard::enter_recovery`].
    pub loss_detected: bool,
}

/// The SACK scoreboard of one connection and its RFC 6675 loss-recovery state.
///
/// Sequence numbers follow the `SND.*` convention, exclusive at the top: where RFC 6675 names
/// an octet ("HighACK is the highest octet cumulatively acknowledged"), this type stores the
/// number just past it. So `high_ack() == SND.UNA` (RFC HighACK + 1), `high_data() ==
/// SND.MAX` (RFC HighData + 1), and `high_rxt()` is one past the RFC's HighRxt.
///
/// Retransmissions are recorded the way RFC 6675 records them, by HighRxt (one past the
/// highest octet retransmitted in this recovery) and RescueRxt, not per range: NextSeg
/// retransmits holes in increasing order above HighRxt, so everything unSACKed below HighRxt
/// has been retransmitted and nothing above has (SetPipe's test "S1 <= HighRxt", §4).
#[derive(Debug, Clone)]
pub struct Scoreboard {
    pub(super) sacked: RangeSet,
    pub(super) sacked_bytes: u32,
    pub(super) smss: u32,
    pub(super) high_ack: TcpSeqNumber,
    pub(super) high_data: TcpSeqNumber,
    pub(super) high_rxt: TcpSeqNumber,
    pub(super) rescue_rxt: Option<TcpSeqNumber>,
    pub(super) recovery_point: Option<TcpSeqNumber>,
    pub(super) in_recovery: bool,
    pub(super) dup_acks: u32,
}

impl Scoreboard {
    /// An empty scoreboard for a connection with nothing outstanding at `snd_una`, sending
    /// segments of at most `smss` bytes (taken as at least 1).
    pub fn new(snd_una: TcpSeqNumber, smss: u32) -> Scoreboard {
        Scoreboard {
            sacked: RangeSet::new(),
            sacked_bytes: 0,
            smss: smss.max(1),
            high_ack: snd_una,
            high_data: snd_una,
            high_rxt: snd_una,
            rescue_rxt: None,
            recovery_point: None,
            in_recovery: false,
            dup_acks: 0,
        }
    }

    /// Processes one incoming ACK: `cum_ack` its acknowledgment number, `blocks` its SACK
    /// option if any, `snd_una`/`snd_max` the engine's SND.UNA and SND.MAX before this ACK.
    ///
    /// This is RFC 6675 §4 `Update()` plus the DupAcks bookkeeping of §5 steps (1)-(2). Call
    /// it for every ACK; it never panics and never grows memory, whatever the blocks are.
    pub fn on_ack(
        &mut self,
        cum_ack: TcpSeqNumber,
        blocks: Option<&SackBlocks>,
        snd_una: TcpSeqNumber,
        snd_max: TcpSeqNumber,
    ) -> AckOutcome {
        let mut out = AckOutcome::default();
        self.sync(snd_una, snd_max);
        let ahead = cum_ack - self.high_ack;
        if ahead > 0 && ahead.unsigned_abs() > self.window() {
            out.acks_unsent = true;
            return out;
        }
        if ahead > 0 {
            self.advance(cum_ack, &mut out);
        }
        if let Some(blocks) = blocks {
            self.apply_blocks(cum_ack, blocks.as_slice(), &mut out);
        }
        out.duplicate = out.newly_sacked > 0;
        self.count_dup_ack(ahead > 0, &mut out);
        out
    }

    /// The SACKed ranges, in order from SND.UNA up; at most [`MAX_RANGES`](super::MAX_RANGES).
    pub fn sacked_ranges(&self) -> &[SeqRange] {
        self.sacked.as_slice()
    }

    /// How many bytes between SND.UNA and SND.MAX are SACKed.
    pub fn sacked_bytes(&self) -> u32 {
        self.sacked_bytes
    }

    /// SND.UNA: one past RFC 6675's HighACK.
    pub fn high_ack(&self) -> TcpSeqNumber {
        self.high_ack
    }

    /// SND.MAX: one past RFC 6675's HighData.
    pub fn high_data(&self) -> TcpSeqNumber {
        self.high_data
    }

    /// One past RFC 6675's HighRxt: everything unSACKed below it was retransmitted in this
    /// recovery. Equals SND.UNA when nothing was.
    pub fn high_rxt(&self) -> TcpSeqNumber {
        self.high_rxt
    }

    /// One past RFC 6675's RescueRxt, or `None` while it is undefined.
    pub fn rescue_rxt(&self) -> Option<TcpSeqNumber> {
        self.rescue_rxt
    }

    /// The DupAcks counter of RFC 6675 §5.
    pub fn dup_acks(&self) -> u32 {
        self.dup_acks
    }

    /// The sender's maximum segment size the scoreboard works with.
    pub fn smss(&self) -> u32 {
        self.smss
    }

    /// Changes SMSS (after a path MTU change, say); taken as at least 1.
    pub fn set_smss(&mut self, smss: u32) {
        self.smss = smss.max(1);
    }

    /// Forgets every SACKed range, for an engine that detects reneging or follows RFC 2018
    /// §8's advice to clear SACK state after a timeout.
    pub fn clear_sacked(&mut self) {
        self.sacked.clear();
        self.sacked_bytes = 0;
    }

    /// `SND.MAX - SND.UNA`, cut down to [`MAX_WINDOW`].
    pub(super) fn window(&self) -> u32 {
        self.high_data.offset_from(self.high_ack).min(MAX_WINDOW)
    }

    /// Offset of `seq` from SND.UNA.
    pub(super) fn off(&self, seq: TcpSeqNumber) -> u32 {
        seq.offset_from(self.high_ack)
    }

    /// Takes the engine's SND.UNA and SND.MAX as the truth. They normally equal what the
    /// scoreboard already holds; if not, ranges outside the new window are dropped.
    fn sync(&mut self, snd_una: TcpSeqNumber, snd_max: TcpSeqNumber) {
        let ahead = snd_una - self.high_ack;
        if ahead > 0 && ahead.unsigned_abs() <= self.window() {
            let mut ignored = AckOutcome::default();
            self.advance(snd_una, &mut ignored);
        } else if ahead != 0 {
            self.clear_sacked();
            self.high_ack = snd_una;
            self.high_rxt = snd_una;
        }
        self.high_data = snd_max;
        let window = self.window();
        self.high_data = self.high_ack + window as usize;
        self.sacked_bytes -= self.sacked.trim_above(self.high_ack, window);
        if self.off(self.high_rxt) > window {
            self.high_rxt = self.high_ack;
        }
    }

    /// Moves SND.UNA up to `cum_ack` (checked to lie in `(SND.UNA, SND.MAX]`).
    fn advance(&mut self, cum_ack: TcpSeqNumber, out: &mut AckOutcome) {
        let cut = self.off(cum_ack);
        let removed = self.sacked.trim_below(self.high_ack, cut);
        self.sacked_bytes -= removed;
        out.newly_acked = cut;
        out.sacked_then_acked = removed;
        if self.off(self.high_rxt) < cut {
            self.high_rxt = cum_ack;
        }
        self.high_ack = cum_ack;
        // RFC 6675 §5: recovery ends when the RecoveryPoint is cumulatively acknowledged.
        if self.in_recovery && self.recovery_point_reached() {
            self.in_recovery = false;
            out.recovery_ended = true;
        }
    }

    /// Whether HighACK is at or past the RecoveryPoint (true when there is none).
    pub(super) fn recovery_point_reached(&self) -> bool {
        self.recovery_point.is_none_or(|rp| self.high_ack - rp >= 0)
    }

    /// RFC 6675 §4 `Update()`: enters each valid block into the scoreboard.
    fn apply_blocks(&mut self, cum_ack: TcpSeqNumber, blocks: &[(u32, u32)], out: &mut AckOutcome) {
        let mut rest = blocks;
        if let Some(dsack) = self.dsack(cum_ack, blocks) {
            out.dsack = Some(dsack);
            rest = blocks.get(1..).unwrap_or(&[]);
        }
        for &(left, right) in rest {
            match self.clip(left, right) {
                Clip::Invalid => out.invalid_blocks += 1,
                Clip::Stale => {}
                Clip::Valid(start, end) => match self.sacked.insert(self.high_ack, start, end) {
                    Some(new) => {
                        self.sacked_bytes += new;
                        out.newly_sacked += new;
                    }
                    None => out.overflow_blocks += 1,
                },
            }
        }
    }

    /// RFC 2883 §4: the first block is a D-SACK when it lies (starts) below the cumulative
    /// ACK, or when the second block contains it. Only well-formed blocks that do not reach
    /// past SND.MAX are reported.
    fn dsack(&self, cum_ack: TcpSeqNumber, blocks: &[(u32, u32)]) -> Option<SeqRange> {
        let &(left, right) = blocks.first()?;
        let first = well_formed(left, right)?;
        let top = i64::from(first.end - self.high_ack);
        if top > i64::from(self.window()) {
            return None;
        }
        let below_ack = cum_ack - first.start > 0;
        let inside_second = blocks
            .get(1)
            .and_then(|&(l, r)| well_formed(l, r))
            .is_some_and(|second| contains(second, first));
        (below_ack || inside_second).then_some(first)
    }

    /// Classifies one block against `[SND.UNA, SND.MAX]` and clips it to SND.UNA.
    fn clip(&self, left: u32, right: u32) -> Clip {
        let Some(block) = well_formed(left, right) else {
            return Clip::Invalid;
        };
        // Positions relative to SND.UNA, exact in i64: |top| < 2^31 and len < 2^31.
        let top = i64::from(block.end - self.high_ack);
        let bottom = top - i64::from(block.len());
        if top > i64::from(self.window()) {
            Clip::Invalid
        } else if top <= 0 {
            Clip::Stale
        } else {
            // Both fit in u32: 0 <= bottom.max(0) < top <= window.
            Clip::Valid(bottom.max(0) as u32, top as u32)
        }
    }

    /// RFC 6675 §5 steps (1)-(2): DupAcks and the decision to start recovery.
    fn count_dup_ack(&mut self, cumulative: bool, out: &mut AckOutcome) {
        if cumulative {
            self.dup_acks = 0;
        }
        if !out.duplicate || self.in_recovery {
            return;
        }
        self.dup_acks = self.dup_acks.saturating_add(1);
        // (2.a) DupAcks >= DupThresh, or (2.b) IsLost(HighACK + 1); then step (4) only if
        // the cumulative ACK is at or past the previous RecoveryPoint.
        let lost = self.dup_acks >= DUP_THRESH || self.is_lost(self.high_ack);
        out.loss_detected = lost && self.recovery_point_reached();
    }
}

/// Where a SACK block falls relative to the window.
enum Clip {
    /// A lie: empty, inverted, 2^31 or longer, or reaching past SND.MAX.
    Invalid,
    /// Entirely below SND.UNA: old news, ignored.
    Stale,
    /// The part at or above SND.UNA, as offsets from it.
    Valid(u32, u32),
}

/// The block `left..right` if it is non-empty and shorter than 2^31.
fn well_formed(left: u32, right: u32) -> Option<SeqRange> {
    let block = SeqRange::new(TcpSeqNumber(left), TcpSeqNumber(right));
    (!block.is_empty() && block.len() <= MAX_WINDOW).then_some(block)
}

/// Whether `inner` lies within `outer`.
fn contains(outer: SeqRange, inner: SeqRange) -> bool {
    let (s, e) = (inner.start.offset_from(outer.start), inner.end.offset_from(outer.start));
    s <= e && e <= outer.len()
}
