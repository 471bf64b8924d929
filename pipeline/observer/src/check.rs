//! Verdicts of the checks the observer runs on what it sees.

use core::fmt;

use netreaktor_pipeline::time::Instant;

use super::Side;

/// What was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CheckKind {
    /// The MP_CAPABLE third ACK echoes the listener's key from the SYN/ACK (and in v0 the
    /// initiator's key from the SYN) (RFC 8684 §3.1, RFC 6824 §3.1).
    KeyEcho,
    /// An MP_JOIN SYN carries the token of one side's key (RFC 8684 §3.2). An unknown token
    /// names no connection: it is reported by [`Observer::unknown_joins`].
    ///
    /// [`Observer::unknown_joins`]: super::Observer::unknown_joins
    JoinToken,
    /// The MP_JOIN SYN/ACK carries the leftmost 64 bits of HMAC(responder key || joiner key,
    /// responder nonce || joiner nonce) (RFC 8684 §3.2).
    JoinSynAckHmac,
    /// The MP_JOIN third ACK carries the leftmost 160 bits of HMAC(joiner key || responder
    /// key, joiner nonce || responder nonce) (RFC 8684 §3.2).
    JoinAckHmac,
    /// An ADD_ADDR announcement carries the rightmost 64 bits of HMAC(sender key || receiver
    /// key, address ID || address || port) (RFC 8684 §3.4.1).
    AddAddrHmac,
    /// The first mapping a side sends starts at its IDSN + 1 (RFC 8684 §3.3: the first data
    /// octet has DSN IDSN + 1; only the low 32 bits are compared for a 4-octet DSN).
    Idsn,
    /// The first DATA_ACK a side sends is at or after the peer's IDSN + 1 (RFC 8684 §3.3.2),
    /// and less than 2^31 beyond it.
    DataAckIdsn,
    /// A subflow's mappings never map one subflow sequence number to two data sequence
    /// numbers (RFC 8684 §3.3.1).
    MappingConsistency,
    /// MP_FASTCLOSE carries the key of the host it is sent to (RFC 8684 §3.5).
    FastcloseKey,
}

impl CheckKind {
    /// Every kind, in report order.
    pub const ALL: [CheckKind; 9] = [
        CheckKind::KeyEcho,
        CheckKind::JoinToken,
        CheckKind::JoinSynAckHmac,
        CheckKind::JoinAckHmac,
        CheckKind::AddAddrHmac,
        CheckKind::Idsn,
        CheckKind::DataAckIdsn,
        CheckKind::MappingConsistency,
        CheckKind::FastcloseKey,
    ];

    /// The position in [`CheckKind::ALL`].
    pub(super) const fn index(self) -> usize {
        self as usize
    }

    /// A short name for reports.
    pub const fn name(self) -> &'static str {
        match self {
            CheckKind::KeyEcho => "key echo",
            CheckKind::JoinToken => "join token",
            CheckKind::JoinSynAckHmac => "join SYN/ACK HMAC",
            CheckKind::JoinAckHmac => "join ACK HMAC",
            CheckKind::AddAddrHmac => "ADD_ADDR HMAC",
            CheckKind::Idsn => "first DSN = IDSN+1",
            CheckKind::DataAckIdsn => "first DATA_ACK",
            CheckKind::MappingConsistency => "mappings consistent",
            CheckKind::FastcloseKey => "MP_FASTCLOSE key",
        }
    }
}

impl fmt::Display for CheckKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The result of a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The value matched.
    Pass,
    /// The value did not match.
    Fail,
    /// The check could not be made: what it needs was not in the capture (the keys of a
    /// connection whose handshake was missed, say). A kind with no recorded check at all is
    /// also reported as `NotSeen` by [`ObservedConnection::verdict`].
    ///
    /// [`ObservedConnection::verdict`]: super::ObservedConnection::verdict
    NotSeen,
}

impl Outcome {
    /// "✓", "✗" or "·".
    pub const fn symbol(self) -> &'static str {
        match self {
            Outcome::Pass => "✓",
            Outcome::Fail => "✗",
            Outcome::NotSeen => "·",
        }
    }
}

/// Values that explain a check's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CheckDetail {
    /// A sequence number against the one expected (DSN or DATA_ACK; 32-bit values when the
    /// option carried 4 octets).
    Sequence {
        /// What the check expected.
        expected: u64,
        /// What the option carried.
        got: u64,
    },
    /// A subflow sequence number mapped to two data sequence numbers.
    MappingConflict {
        /// The relative subflow sequence number both mappings cover.
        subflow_seq: u32,
        /// The DSN an earlier mapping gave it.
        earlier_dsn: u64,
        /// The DSN the new mapping gives it.
        dsn: u64,
    },
    /// The token an MP_JOIN SYN carried.
    Token(u32),
    /// A key carried in an option (MP_FASTCLOSE, the MP_CAPABLE echo) did not match.
    KeyMismatch,
}

/// One check and its outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Check {
    /// What was checked.
    pub kind: CheckKind,
    /// The outcome.
    pub outcome: Outcome,
    /// When the checked option was seen.
    pub at: Instant,
    /// The subflow (index into [`ObservedConnection::subflows`]) it was seen on.
    ///
    /// [`ObservedConnection::subflows`]: super::ObservedConnection::subflows
    pub subflow: usize,
    /// The side that sent the checked option.
    pub from: Side,
    /// Values behind the outcome, when there are any worth showing.
    pub detail: Option<CheckDetail>,
}

/// Counts of outcomes per kind: the verdicts stay exact even when the check list is capped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct Tallies {
    counts: [[u64; 3]; CheckKind::ALL.len()],
}

impl Tallies {
    /// Counts one outcome of `kind`.
    pub(super) fn add(&mut self, kind: CheckKind, outcome: Outcome) {
        let column = match outcome {
            Outcome::Pass => 0,
            Outcome::Fail => 1,
            Outcome::NotSeen => 2,
        };
        if let Some(count) = self.counts.get_mut(kind.index()).and_then(|row| row.get_mut(column)) {
            *count = count.saturating_add(1);
        }
    }

    /// How many checks of `kind` had `outcome`.
    pub(super) fn count(&self, kind: CheckKind, outcome: Outcome) -> u64 {
        let [pass, fail, not_seen] = self.counts.get(kind.index()).copied().unwrap_or_default();
        match outcome {
            Outcome::Pass => pass,
            Outcome::Fail => fail,
            Outcome::NotSeen => not_seen,
        }
    }

    /// `Fail` if any check of `kind` failed, else `Pass` if any passed, else `NotSeen`.
    pub(super) fn verdict(&self, kind: CheckKind) -> Outcome {
        if self.count(kind, Outcome::Fail) > 0 {
            Outcome::Fail
        } else if self.count(kind, Outcome::Pass) > 0 {
            Outcome::Pass
        } else {
            Outcome::NotSeen
        }
    }
}
