//! The loss-recovery decisions of RFC 6675 §4 (IsLost, SetPipe, NextSeg) and §5 (entering
//! and leaving recovery, §5.1 timeouts), computed from the [`Scoreboard`].

use super::ranges::SeqRange;
use super::scoreboard::{DUP_THRESH, Scoreboard};
use crate::wire::tcp::TcpSeqNumber;

/// What NextSeg (RFC 6675 §4) says to send next. Pass it back to [`Scoreboard::on_sent`]
/// once the segment has been sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NextSegment {
    /// Retransmit this range: a hole below the highest SACKed octet (rules 1 and 3).
    Retransmit(SeqRange),
    /// Send this range of new data, starting at SND.MAX (rule 2).
    New(SeqRange),
    /// The rescue retransmission of rule 4: the range ends at the highest unSACKed octet.
    Rescue(SeqRange),
}

impl Scoreboard {
    /// RFC 6675 §4 IsLost(seq): true when DupThresh or more discontiguous SACKed ranges lie
    /// above `seq`, or more than (DupThresh - 1) * SMSS SACKed bytes do. False for numbers
    /// outside `[SND.UNA, SND.MAX)`.
    ///
    /// "Discontiguous SACKed sequences" are counted as the scoreboard's maximal ranges (a
    /// range partly above `seq` counts). The scoreboard keeps no segment boundaries, so
    /// several small contiguous segments count once; the DupAcks counter of §5 (2.a) covers
    /// that case, as the RFC notes.
    pub fn is_lost(&self, seq: TcpSeqNumber) -> bool {
        let at = self.off(seq);
        if at >= self.window() {
            return false;
        }
        let (mut ranges, mut bytes) = (0u32, 0u64);
        for r in self.sacked_ranges().iter().rev() {
            let (s, e) = (self.off(r.start), self.off(r.end));
            if e <= at + 1 {
                break;
            }
            ranges += 1;
            bytes += u64::from(e - s.max(at + 1));
        }
        self.lost_by(ranges, bytes)
    }

    /// RFC 6675 §4 SetPipe(): the bytes estimated in flight. For each unSACKed octet between
    /// SND.UNA and SND.MAX, one if it is not lost plus one if it was retransmitted (below
    /// HighRxt). O(ranges).
    pub fn pipe(&self) -> u32 {
        let lost_below = self.loss_boundary();
        let rxt = self.off(self.high_rxt).min(self.window());
        let mut pipe = 0u64;
        self.for_each_hole(|hs, he| {
            pipe += u64::from(he.saturating_sub(hs.max(lost_below)));
            pipe += u64::from(he.min(rxt).saturating_sub(hs));
        });
        u32::try_from(pipe).unwrap_or(u32::MAX)
    }

    /// RFC 6675 §4 NextSeg(): what to send next, given `sendable_new` bytes of unsent data
    /// the receive window allows (0 if none). `None` when nothing is to be sent. Does not
    /// change state: call [`on_sent`](Self::on_sent) once the segment is out.
    pub fn next_seg(&self, sendable_new: u32) -> Option<NextSegment> {
        let hole = self.first_hole_above_rxt();
        if let Some((seg, true)) = hole {
            return Some(NextSegment::Retransmit(seg)); // rule (1)
        }
        if sendable_new > 0 {
            let len = sendable_new.min(self.smss) as usize;
            return Some(NextSegment::New(SeqRange::new(self.high_data, self.high_data + len)));
        }
        if let Some((seg, false)) = hole {
            return Some(NextSegment::Retransmit(seg)); // rule (3)
        }
        self.rescue().map(NextSegment::Rescue) // rule (4)
    }

    /// Records that `seg` was sent: a retransmission raises HighRxt, new data raises SND.MAX
    /// (only if it starts at SND.MAX), a rescue sets RescueRxt. The engine also reports new
    /// data it sends outside NextSeg this way (or through `snd_max` in the next `on_ack`).
    pub fn on_sent(&mut self, seg: NextSegment) {
        match seg {
            NextSegment::Retransmit(r) => {
                if self.off(r.end) > self.off(self.high_rxt) && self.off(r.end) <= self.window() {
                    self.high_rxt = r.end;
                }
            }
            NextSegment::New(r) => {
                if r.start == self.high_data && r.len() <= u32::MAX / 2 - self.window() {
                    self.high_data = r.end;
                }
            }
            // Rule (4): RescueRxt = RecoveryPoint; HighRxt MUST NOT be updated.
            NextSegment::Rescue(_) => self.rescue_rxt = self.recovery_point,
        }
    }

    /// Whether a loss-recovery phase (RFC 6675 §5) is under way.
    pub fn in_recovery(&self) -> bool {
        self.in_recovery
    }

    /// One past the RecoveryPoint of the current or last recovery (RFC HighData + 1 when it
    /// began), or `None` before the first.
    pub fn recovery_point(&self) -> Option<TcpSeqNumber> {
        self.recovery_point
    }

    /// RFC 6675 §5 step (4): starts loss recovery. Sets RecoveryPoint = HighData (4.1) and
    /// returns the first segment to retransmit (4.3), from the lowest unSACKed number, with
    /// HighRxt and RescueRxt set to its end. `None` if nothing outstanding is unSACKed.
    /// The caller sets ssthresh and cwnd (4.2) and then runs [`pipe`](Self::pipe) (4.4).
    pub fn enter_recovery(&mut self) -> Option<SeqRange> {
        self.in_recovery = true;
        self.recovery_point = Some(self.high_data);
        self.dup_acks = 0;
        let mut first = None;
        self.for_each_hole(|hs, he| {
            first = first.or(Some((hs, he)));
        });
        let (hs, he) = first?;
        let seg = self.segment(hs, he);
        self.high_rxt = seg.end;
        self.rescue_rxt = Some(seg.end);
        Some(seg)
    }

    /// RFC 6675 §5.1: a retransmission timeout. RecoveryPoint = HighData, recovery ends, and
    /// the retransmission marks (HighRxt, RescueRxt) are cleared; the SACKed ranges are kept.
    ///
    /// On keeping them: RFC 2018 §8 says a sender SHOULD expunge SACK state after a timeout
    /// (the receiver may have reneged). RFC 6675 §5.1 does not change that text but notes the
    /// view (RFC 2018 erratum 1610) that SACK information may be retained given robust
    /// reneging detection, and says the sender SHOULD use all SACK information made available
    /// during the recovery that follows the RTO. An engine that wants the RFC 2018 behaviour
    /// calls [`clear_sacked`](Self::clear_sacked) after this. No new recovery starts until
    /// SND.UNA reaches the new RecoveryPoint.
    pub fn on_rto(&mut self) {
        self.recovery_point = Some(self.high_data);
        self.in_recovery = false;
        self.high_rxt = self.high_ack;
        self.rescue_rxt = None;
        self.dup_acks = 0;
    }

    /// Whether `ranges` ranges and `bytes` bytes SACKed above a number make it lost.
    fn lost_by(&self, ranges: u32, bytes: u64) -> bool {
        ranges >= DUP_THRESH || bytes > u64::from(DUP_THRESH - 1) * u64::from(self.smss)
    }

    /// The offset below which every unSACKed number is lost (IsLost is monotone), 0 if none.
    fn loss_boundary(&self) -> u32 {
        let (mut ranges, mut bytes) = (0u32, 0u64);
        for r in self.sacked_ranges().iter().rev() {
            ranges += 1;
            bytes += u64::from(r.len());
            if self.lost_by(ranges, bytes) {
                return self.off(r.start);
            }
        }
        0
    }

    /// Calls `f(start, end)` for each unSACKed stretch of `[SND.UNA, SND.MAX)`, as offsets.
    fn for_each_hole(&self, mut f: impl FnMut(u32, u32)) {
        let mut at = 0;
        for r in self.sacked_ranges() {
            let s = self.off(r.start);
            if s > at {
                f(at, s);
            }
            at = self.off(r.end);
        }
        if self.window() > at {
            f(at, self.window());
        }
    }

    /// Rules (1.a)/(1.b): the segment at the lowest unSACKed number at or above HighRxt and
    /// below the highest SACKed octet, with whether IsLost (1.c) holds for it.
    fn first_hole_above_rxt(&self) -> Option<(SeqRange, bool)> {
        let top = self.off(self.sacked_ranges().last()?.start);
        let rxt = self.off(self.high_rxt);
        let lost_below = self.loss_boundary();
        let mut found = None;
        self.for_each_hole(|hs, he| {
            let from = hs.max(rxt);
            if found.is_none() && from < he && from < top {
                found = Some((self.segment(from, he), from < lost_below));
            }
        });
        found
    }

    /// Rule (4): one segment ending at the highest unSACKed number, once per recovery.
    fn rescue(&self) -> Option<SeqRange> {
        let allowed = self.rescue_rxt.is_none_or(|r| self.high_ack - r > 0);
        if !self.in_recovery || !allowed {
            return None;
        }
        let mut last = None;
        self.for_each_hole(|hs, he| last = Some((hs, he)));
        let (hs, he) = last?;
        let start = he.saturating_sub(self.smss).max(hs);
        Some(SeqRange::new(self.high_ack + start as usize, self.high_ack + he as usize))
    }

    /// Up to SMSS bytes from offset `from`, not past `limit`.
    fn segment(&self, from: u32, limit: u32) -> SeqRange {
        let end = limit.min(from.saturating_add(self.smss));
        SeqRange::new(self.high_ack + from as usize, self.high_ack + end as usize)
    }
}
