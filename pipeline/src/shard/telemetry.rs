//! Counters by reason: one enum per family of reasons (why a client fell back to plain TCP,
//! why a join was refused, how a splice ended, why a frame was dropped), and [`Counts`], an
//! array of counters indexed by such an enum.
//!
//! Each reason's [`Reason::name`] is the label value the appliance exports (Prometheus
//! `reason="..."`, `/status` keys): dashboards read them, so they never change. Like the
//! Linux kernel's MPTCP MIB (`net/mptcp/mib.h`), every distinct drop, refusal or fallback
//! has a counter of its own.

use std::fmt;

use crate::mptcp::handshake::Decline;
use crate::proxy::{ConnectFailure, SpliceEnd, SplicePhase};

/// A closed family of reasons, each counted apart.
pub trait Reason: Copy + Eq + fmt::Debug + 'static {
    /// The counter storage: `[u64; N]` for a family of `N` reasons.
    type Array: Copy + Default + Eq + fmt::Debug + AsRef<[u64]> + AsMut<[u64]>;

    /// Every reason, in counting (and export) order.
    const EACH: &'static [Self];

    /// Its position in [`EACH`](Self::EACH).
    fn index(self) -> usize;

    /// Its label value in metrics and status.
    fn name(self) -> &'static str;
}

/// Declares a reason family: the enum, `ALL`, `name`, `index` and its [`Reason`] impl, from
/// one list of `Variant => "label"`, so the order, the names and the count cannot drift.
macro_rules! reasons {
    (
        $(#[$meta:meta])*
        pub enum $family:ident {
            $( $(#[$vmeta:meta])* $variant:ident => $label:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $family {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $family {
            /// Every reason, in declaration (counting and export) order.
            pub const ALL: [Self; [$($label),+].len()] = [$(Self::$variant),+];

            /// Its label value in metrics and status.
            pub fn name(self) -> &'static str {
                match self {
                    $(Self::$variant => $label,)+
                }
            }
        }

        impl Reason for $family {
            type Array = [u64; Self::ALL.len()];
            const EACH: &'static [Self] = &Self::ALL;

            fn index(self) -> usize {
                self as usize
            }

            fn name(self) -> &'static str {
                $family::name(self)
            }
        }
    };
}

reasons! {
    /// Why a client that offered MPTCP got plain TCP (RFC 8684 §3.1).
    pub enum Fallback {
        /// The SYN offered MPTCP v0 (RFC 6824), not enabled for the service.
        Version0 => "version0",
        /// Unknown MP_CAPABLE flags: B (extensibility) set, or no HMAC algorithm we know.
        Flags => "flags",
        /// The SYN's MP_CAPABLE did not parse.
        Malformed => "malformed",
        /// Our MP_CAPABLE SYN,ACK was answered without the option (a middlebox stripped it).
        NoOptionOnThirdAck => "no_option_on_third_ack",
        /// The third ACK echoed a key that is not the one we derive, or whose token is taken.
        KeyMismatch => "key_mismatch",
        /// No key whose token this worker owns could be derived for the SYN.
        NoKey => "no_key",
        /// The SYN offered MPTCP v1 (RFC 8684), not enabled for the service.
        Version1 => "version1",
        /// A v0 handshake answered with a SYN cookie lost its third ACK and was completed by
        /// data: the client's key, which only its SYN and third ACK carry, is unknown.
        V0KeyLost => "v0_key_lost",
        /// The third ACK's MP_CAPABLE is not in the version our SYN,ACK answered, or repeats
        /// another client key than its SYN.
        VersionMismatch => "version_mismatch",
    }
}

impl From<Decline> for Fallback {
    fn from(why: Decline) -> Fallback {
        match why {
            Decline::Version0 => Fallback::Version0,
            Decline::Version1 => Fallback::Version1,
            Decline::Flags => Fallback::Flags,
            Decline::Malformed => Fallback::Malformed,
        }
    }
}

reasons! {
    /// Why an MP_JOIN was refused with a RST, carrying MP_TCPRST (RFC 8684 §3.2, §3.6) unless
    /// the connection is v0 (RFC 6824 has none).
    pub enum JoinRefusal {
        /// Its token names no connection here.
        UnknownToken => "unknown_token",
        /// The connection has as many subflows as it may.
        SubflowLimit => "subflow_limit",
        /// The third ACK's HMAC did not verify.
        BadHmac => "bad_hmac",
        /// A third ACK for no join SYN we answered (or one that lost its MP_JOIN).
        NoPendingJoin => "no_pending_join",
        /// The table of joins waiting for their third ACK is full.
        TableFull => "table_full",
    }
}

reasons! {
    /// How a splice ended: [`SpliceEnd`] without its detail.
    pub enum EndKind {
        /// Both directions were closed with FINs.
        Closed => "closed",
        /// The client side was reset, aborted or timed out.
        ClientReset => "client_reset",
        /// The origin side was reset after connecting.
        OriginReset => "origin_reset",
        /// No origin could be reached.
        OriginUnreachable => "origin_unreachable",
        /// No byte moved for the idle timeout.
        IdleTimeout => "idle_timeout",
        /// The owner aborted both sides (the appliance is stopping).
        Aborted => "aborted",
        /// The origin side gave up after connecting (its user timeout, or retransmissions or
        /// keepalives unanswered).
        OriginTimeout => "origin_timeout",
    }
}

impl From<SpliceEnd> for EndKind {
    fn from(end: SpliceEnd) -> EndKind {
        match end {
            SpliceEnd::Closed => EndKind::Closed,
            SpliceEnd::ClientReset => EndKind::ClientReset,
            SpliceEnd::OriginReset => EndKind::OriginReset,
            SpliceEnd::OriginUnreachable(_) => EndKind::OriginUnreachable,
            SpliceEnd::IdleTimeout => EndKind::IdleTimeout,
            SpliceEnd::Aborted => EndKind::Aborted,
            SpliceEnd::OriginTimeout => EndKind::OriginTimeout,
        }
    }
}

reasons! {
    /// Why an origin connect attempt failed: [`ConnectFailure`] as a label.
    pub enum OriginFailure {
        /// The origin answered the SYN with a RST (nothing listens on the port).
        Refused => "refused",
        /// The SYN's retransmissions went unanswered (the connection's own give-up).
        SynTimeout => "syn_timeout",
        /// The pipeline's `connect_timeout` passed first.
        ConnectTimeout => "connect_timeout",
        /// The attempt ended otherwise before it connected.
        Reset => "reset",
    }
}

impl From<ConnectFailure> for OriginFailure {
    fn from(why: ConnectFailure) -> OriginFailure {
        match why {
            ConnectFailure::Refused => OriginFailure::Refused,
            ConnectFailure::TimedOut => OriginFailure::SynTimeout,
            ConnectFailure::ConnectTimeout => OriginFailure::ConnectTimeout,
            ConnectFailure::Reset => OriginFailure::Reset,
        }
    }
}

reasons! {
    /// What became of one active health check of an origin (`checks.rs`).
    pub enum CheckResult {
        /// The origin answered the SYN with a SYN,ACK (answered in turn with a RST).
        Success => "success",
        /// The origin answered the SYN with a RST.
        Refused => "refused",
        /// No answer within the check's timeout.
        Timeout => "timeout",
        /// Not sent: no free source port or source address for the origin, or the origin
        /// side's reply queue was full. Says nothing of the origin.
        NotSent => "not_sent",
    }
}

reasons! {
    /// Why a frame handed to the shard was dropped before any connection saw it.
    pub enum FrameDrop {
        /// Truncated or malformed headers, IP fragments.
        Malformed => "malformed",
        /// The TCP (or IPv4 header) checksum did not verify.
        Checksum => "checksum",
        /// Not TCP (ARP, ICMP, UDP, other EtherTypes): the steering program passes those to
        /// the kernel, so they only come from a misconfiguration.
        NotTcp => "not_tcp",
    }
}

reasons! {
    /// How a new SYN that reached a listener was answered (RFC 4987 §3.6).
    pub enum SynAnswer {
        /// A SYN,ACK from a half-open entry, kept and retransmitted.
        Table => "table",
        /// A cookie SYN,ACK: nothing kept.
        Cookie => "cookie",
    }
}

reasons! {
    /// Why a new SYN that reached a listener got no SYN,ACK.
    pub enum SynDrop {
        /// The half-open table was full and SYN cookies are off.
        HalfOpenFull => "half_open_full",
        /// The cookie SYN,ACK found the listener's reply queue full.
        ReplyQueueFull => "reply_queue_full",
    }
}

reasons! {
    /// What checking the cookie of an ACK in LISTEN found (RFC 4987 §3.6).
    pub enum CookieCheck {
        /// The cookie verified: the handshake completes.
        Valid => "valid",
        /// Forged, modified or stale: the ACK is reset.
        Invalid => "invalid",
    }
}

/// Splice phases label the connection gauges (`state="..."`).
impl Reason for SplicePhase {
    type Array = [u64; SplicePhase::ALL.len()];
    const EACH: &'static [Self] = &SplicePhase::ALL;

    fn index(self) -> usize {
        SplicePhase::index(self)
    }

    fn name(self) -> &'static str {
        SplicePhase::name(self)
    }
}

/// One counter per reason of family `E`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Counts<E: Reason> {
    counts: E::Array,
}

impl<E: Reason> Default for Counts<E> {
    fn default() -> Self {
        Counts { counts: E::Array::default() }
    }
}

impl<E: Reason> Counts<E> {
    /// Counts one `reason`.
    pub fn add(&mut self, reason: E) {
        self.add_n(reason, 1);
    }

    /// Counts `n` of `reason`.
    pub fn add_n(&mut self, reason: E, n: u64) {
        // `Array` has one cell per reason of `EACH` (checked by the tests), so the cell
        // exists; a missing one would only lose the count, never panic.
        if let Some(cell) = self.counts.as_mut().get_mut(reason.index()) {
            *cell += n;
        }
    }

    /// How many of `reason` were counted.
    pub fn get(&self, reason: E) -> u64 {
        self.counts.as_ref().get(reason.index()).copied().unwrap_or(0)
    }

    /// All reasons together.
    pub fn total(&self) -> u64 {
        self.counts.as_ref().iter().sum()
    }

    /// Every reason and its count, in [`Reason::EACH`] order.
    pub fn iter(&self) -> impl Iterator<Item = (E, u64)> + '_ {
        E::EACH.iter().map(|&reason| (reason, self.get(reason)))
    }
}

impl<E: Reason> fmt::Debug for Counts<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter().map(|(reason, n)| (reason.name(), n))).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every family's `ALL`, `EACH`, `index`, `name` and storage agree, and its names are
    /// distinct.
    fn consistent<E: Reason>(all: &[E]) {
        assert_eq!(all, E::EACH);
        assert_eq!(E::Array::default().as_ref().len(), all.len());
        for (i, &reason) in all.iter().enumerate() {
            assert_eq!(reason.index(), i, "{reason:?}");
            assert!(!reason.name().is_empty());
            assert!(all[..i].iter().all(|r| r.name() != reason.name()), "{reason:?}");
        }
    }

    #[test]
    fn every_family_is_consistent() {
        consistent(&Fallback::ALL);
        consistent(&JoinRefusal::ALL);
        consistent(&EndKind::ALL);
        consistent(&FrameDrop::ALL);
        consistent(&SplicePhase::ALL);
        consistent(&OriginFailure::ALL);
        consistent(&CheckResult::ALL);
        consistent(&SynAnswer::ALL);
        consistent(&SynDrop::ALL);
        consistent(&CookieCheck::ALL);
    }

    /// The exported label values, which dashboards and the test scripts read.
    #[test]
    fn label_values_are_the_exported_ones() {
        assert_eq!(
            Fallback::ALL.map(Fallback::name),
            [
                "version0",
                "flags",
                "malformed",
                "no_option_on_third_ack",
                "key_mismatch",
                "no_key",
                "version1",
                "v0_key_lost",
                "version_mismatch"
            ]
        );
        assert_eq!(
            JoinRefusal::ALL.map(JoinRefusal::name),
            ["unknown_token", "subflow_limit", "bad_hmac", "no_pending_join", "table_full"]
        );
        assert_eq!(
            EndKind::ALL.map(EndKind::name),
            [
                "closed",
                "client_reset",
                "origin_reset",
                "origin_unreachable",
                "idle_timeout",
                "aborted",
                "origin_timeout"
            ]
        );
        assert_eq!(FrameDrop::ALL.map(FrameDrop::name), ["malformed", "checksum", "not_tcp"]);
        assert_eq!(
            OriginFailure::ALL.map(OriginFailure::name),
            ["refused", "syn_timeout", "connect_timeout", "reset"]
        );
        assert_eq!(
            CheckResult::ALL.map(CheckResult::name),
            ["success", "refused", "timeout", "not_sent"]
        );
        assert_eq!(
            SplicePhase::ALL.map(SplicePhase::name),
            ["connecting", "open", "half_closed", "closing", "time_wait"]
        );
    }

    #[test]
    fn counts_add_get_iterate() {
        let mut c = Counts::<JoinRefusal>::default();
        c.add(JoinRefusal::BadHmac);
        c.add(JoinRefusal::BadHmac);
        c.add_n(JoinRefusal::TableFull, 3);
        assert_eq!((c.get(JoinRefusal::BadHmac), c.get(JoinRefusal::UnknownToken)), (2, 0));
        assert_eq!(c.total(), 5);
        let seen: Vec<_> = c.iter().filter(|&(_, n)| n > 0).collect();
        assert_eq!(seen, [(JoinRefusal::BadHmac, 2), (JoinRefusal::TableFull, 3)]);
        assert_eq!(
            format!("{c:?}"),
            "{\"unknown_token\": 0, \"subflow_limit\": 0, \"bad_hmac\": 2, \
             \"no_pending_join\": 0, \"table_full\": 3}"
        );
    }

    #[test]
    fn end_kinds_follow_splice_ends() {
        let unreachable = SpliceEnd::OriginUnreachable(crate::proxy::ConnectFailure::Refused);
        assert_eq!(EndKind::from(unreachable), EndKind::OriginUnreachable);
        assert_eq!(EndKind::from(SpliceEnd::Aborted), EndKind::Aborted);
        assert_eq!(EndKind::from(SpliceEnd::OriginTimeout), EndKind::OriginTimeout);
    }
}
