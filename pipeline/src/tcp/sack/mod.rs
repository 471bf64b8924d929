//! The sender-side SACK scoreboard (RFC 2018) and the loss-recovery decisions of RFC 6675.
//!
//! The TCP engine owns the connection state and the timers; it feeds every ACK to
//! [`Scoreboard::on_ack`] and asks the scoreboard what is lost ([`Scoreboard::is_lost`]), how
//! much is in flight ([`Scoreboard::pipe`]) and what to send next ([`Scoreboard::next_seg`]).
//!
//! | RFC section | What | Where |
//! |---|---|---|
//! | RFC 2018 §3, §4 | SACK blocks; the sender's record of SACKed data | [`Scoreboard::on_ack`], [`Scoreboard::sacked_ranges`] |
//! | RFC 2018 §8 | clearing SACK state (reneging) | [`Scoreboard::clear_sacked`] |
//! | RFC 2883 §4 | D-SACK: first block below the ACK or inside the second; reported, not counted | [`AckOutcome::dsack`] |
//! | RFC 6675 §2 | "duplicate acknowledgment" = new SACKed octets between HighACK and HighData | [`AckOutcome::duplicate`] |
//! | RFC 6675 §3, §4 Update() | scoreboard update | [`Scoreboard::on_ack`] |
//! | RFC 6675 §4 IsLost() | DupThresh ranges or > (DupThresh-1)·SMSS bytes SACKed above | [`Scoreboard::is_lost`] |
//! | RFC 6675 §4 SetPipe() | bytes in flight | [`Scoreboard::pipe`] |
//! | RFC 6675 §4 NextSeg() | rules (1)-(4), incl. the rescue retransmission | [`Scoreboard::next_seg`], [`Scoreboard::on_sent`] |
//! | RFC 6675 §5 (1)-(2) | DupAcks; when to start recovery | [`AckOutcome::loss_detected`] |
//! | RFC 6675 §5 (4) | entering recovery: RecoveryPoint = HighData, first retransmission | [`Scoreboard::enter_recovery`] |
//! | RFC 6675 §5 | leaving recovery: cumulative ACK reaches RecoveryPoint | [`AckOutcome::recovery_ended`] |
//! | RFC 6675 §5.1 | RTO: RecoveryPoint = HighData, recovery ends, retransmission marks cleared | [`Scoreboard::on_rto`] |
//!
//! Not here: congestion control (ssthresh, cwnd; RFC 6675 §5 (4.2)) is [`super::cc`]'s, and
//! the timers are the engine's.
//!
//! ## Conventions
//!
//! RFC 6675 names octets (HighACK is the highest octet acknowledged); this module stores the
//! number one past each (`high_ack() == SND.UNA`, `high_data() == SND.MAX`), like the
//! `SND.*` variables of RFC 9293. All counts are bytes.
//!
//! ## What a peer cannot do
//!
//! SACK blocks come from the peer and are checked against `[SND.UNA, SND.MAX]`: a block that
//! is empty, inverted, 2^31 or longer (a "wrapping" block), or that reaches past SND.MAX is
//! rejected and counted ([`AckOutcome::invalid_blocks`]); a block below SND.UNA is ignored;
//! a block straddling SND.UNA is clipped to it. Overlapping and repeated blocks are merged,
//! so no byte is counted twice. The scoreboard holds at most [`MAX_RANGES`] disjoint ranges
//! in an inline array (no allocation, ever): when it is full, a block that would need a new
//! range is dropped ([`AckOutcome::overflow_blocks`]) while blocks that extend or join
//! existing ranges are still taken. Dropping SACK information only makes the sender more
//! conservative (it may retransmit data the receiver has), never unsafe. Each operation is
//! O(ranges).

mod ranges;
mod recovery;
mod scoreboard;

pub use ranges::{MAX_RANGES, SeqRange};
pub use recovery::NextSegment;
pub use scoreboard::{AckOutcome, DUP_THRESH, Scoreboard};

#[cfg(test)]
mod tests;
