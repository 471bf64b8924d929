//! SYN cookies (RFC 4987 §3.6) for the listener when its half-open table is full.
//!
//! Instead of keeping state for a SYN, the listener encodes what it must remember into the
//! sequence number of its SYN/ACK (our ISN) and, when the client uses timestamps, into the
//! low bits of the TSval of the SYN/ACK. The client echoes both in the third segment of the
//! handshake (ACK = our ISN + 1, TSecr = our TSval) and the listener rebuilds the state from
//! them after checking a keyed MAC.
//!
//! # Our ISN (32 bits)
//!
//! | bits  | content                                                                  |
//! |-------|--------------------------------------------------------------------------|
//! | 31..6 | 26 bits of HMAC-SHA256 (secret key) over everything below               |
//! | 5     | the SYN,ACK answered MPTCP v0 (RFC 6824), with bit 1 set                 |
//! | 4..2  | index into [`MSS_TABLE`] (the MSS rounded down to a table entry)         |
//! | 1     | the SYN carried MP_CAPABLE                                               |
//! | 0     | parity of the time counter when the cookie was made                     |
//!
//! The MAC covers the 4-tuple, the client's ISN, the full time counter, the MSS index, the
//! MP_CAPABLE and v0 bits, whether timestamps were in use and the TSval option bits: changing
//! any of them, or any bit of the ISN, fails the check except with probability 2^-26 per try.
//! The time counter advances every [`COUNTER_PERIOD`] (64 s); a cookie is accepted while
//! the counter is the one it was made with or the next one, so it lives 64 to 128 s (Linux
//! uses the same two-period rule with 60 s periods: `MAX_SYNCOOKIE_AGE` 2 in
//! include/net/tcp.h). The parity bit tells the decoder which of the two counters to try,
//! so a check costs one HMAC. The MAC is compared in constant time (`subtle`).
//!
//! # TSval option bits (6 low bits of the SYN/ACK's TSval)
//!
//! | bits | content                                                   |
//! |------|-----------------------------------------------------------|
//! | 5    | ECN setup (RFC 3168 §6.1.1) was in the SYN                 |
//! | 4    | SACK-permitted (RFC 2018) was in the SYN                   |
//! | 3..0 | the client's window scale (RFC 7323 §2), 15 = no option    |
//!
//! This is the layout Linux uses (net/ipv4/syncookies.c: "6 lowest bits of timestamp sent
//! in the cookie SYN-ACK stores TCP options: ECN | SACK | WScale", with WScale 0xf meaning
//! no window scaling). The bits are returned by [`SynCookies::encode`]; the engine places
//! them in the low bits of the TSval it sends, [`cookie_tsval`] does so without exceeding
//! its timestamp clock (so later TSvals never go backwards, RFC 7323 §5.4). Only these 6
//! bits of the TSecr are interpreted and authenticated; the higher bits carry no cookie
//! state. Without timestamps the window scale, SACK-permitted and ECN are lost and the
//! connection runs without them, as RFC 4987 §3.6 notes for the options a cookie cannot
//! hold.
//!
//! # MSS table
//!
//! [`MSS_TABLE`] merges Linux's two tables: IPv4 `{536, 1300, 1440, 1460}`
//! (net/ipv4/syncookies.c, from Alcock and Nelson's MSS survey) and IPv6
//! `{1220, 1420, 1440, 8940}` (net/ipv6/syncookies.c: 1280, 1480, 1500, 9000 minus 60), plus
//! 1220 for IPv4 tunnels and 8960 for IPv4 jumbo frames. The MSS is rounded down to an
//! entry; an MSS below 536 becomes 536, as in Linux (536 is the MSS every IPv4 host must
//! assume when none is announced, RFC 9293 §3.7.1).
//!
//! # MPTCP
//!
//! MP_CAPABLE v1 works statelessly: the third ACK echoes both keys (RFC 8684 §3.1; the same
//! holds for v0, RFC 6824 §3.1), so the cookie needs no key. Linux reserves no cookie bit
//! for it: `mptcp_subflow_init_cookie_req` (net/mptcp/subflow.c) takes MP_CAPABLE from the
//! third ACK alone. We reserve bit 1 of the ISN anyway, independent of timestamps, so the
//! engine can reject an ACK carrying MP_CAPABLE whose SYN did not, and fall back to plain TCP
//! when the SYN had it and the ACK lacks it (RFC 8684 §3.1). Bit 5 records the version we
//! answered: v0 and v1 live on one listener, and the ACK must be read in the SYN's version.
//! A v0 client's key, which its SYN carried, does not fit: a v0 third ACK (both keys) is
//! accepted, but a v0 handshake whose third ACK was lost and completed by data cannot be
//! (docs/architecture.md, "MPTCP v0"). MP_JOIN cannot be handled by a
//! cookie (the third ACK carries neither the token nor our nonce); Linux keeps a small
//! best-effort table for it (net/mptcp/syncookies.c), and so must the engine.
//!
//! Cookie ISNs are not RFC 6528 ISNs: they do not increase with time for a 4-tuple. This is
//! the accepted cost of cookies, paid only while the half-open table is full.

#[cfg(test)]
mod tests;

use core::fmt;
use core::net::SocketAddr;

use hmac::Mac;
use subtle::ConstantTimeEq;

use super::isn::{HmacSha256, feed_tuple, first_u32, keyed_hmac};
use crate::time::{Duration, Instant};
use crate::wire::tcp::TcpSeqNumber;

/// The MSS values a cookie can carry, sorted; the cookie holds an index.
pub const MSS_TABLE: [u16; 8] = [536, 1220, 1300, 1420, 1440, 1460, 8940, 8960];

/// How often the cookie time counter advances.
pub const COUNTER_PERIOD: Duration = Duration::from_secs(64);

/// How many low bits of the TSval carry options.
pub const TS_OPTION_BITS: u32 = 6;

/// The mask of the TSval option bits.
pub const TS_OPTION_MASK: u32 = (1 << TS_OPTION_BITS) - 1;

/// The largest window scale shift, RFC 7323 §2.3 (larger values are used as 14).
pub const MAX_WSCALE: u8 = 14;

/// Positions of the fields in our ISN and in the TSval option bits.
mod field {
    /// ISN bit 0: parity of the time counter.
    pub(super) const PARITY: u32 = 1 << 0;
    /// ISN bit 1: the SYN carried MP_CAPABLE.
    pub(super) const MP_CAPABLE: u32 = 1 << 1;
    /// ISN bits 4..2: index into the MSS table.
    pub(super) const MSS_SHIFT: u32 = 2;
    /// The MSS index field, before shifting.
    pub(super) const MSS_INDEX_MASK: u32 = 0b111;
    /// ISN bit 5: the SYN,ACK answered MPTCP v0.
    pub(super) const MPTCP_V0: u32 = 1 << 5;
    /// ISN bits 31..6: the MAC.
    pub(super) const MAC_MASK: u32 = !0b11_1111;
    /// TSval bits 3..0: window scale; this value means "no window scale option".
    pub(super) const TS_WSCALE_NONE: u32 = 0xf;
    /// TSval bit 4: SACK-permitted.
    pub(super) const TS_SACK: u32 = 1 << 4;
    /// TSval bit 5: ECN.
    pub(super) const TS_ECN: u32 = 1 << 5;
}

/// What the listener remembers of a SYN through a cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SynState {
    /// The client's MSS; decoding yields it rounded down to an entry of [`MSS_TABLE`].
    pub mss: u16,
    /// The client's window scale shift, if the SYN had the option (needs timestamps).
    pub wscale: Option<u8>,
    /// The SYN had SACK-permitted (needs timestamps).
    pub sack_permitted: bool,
    /// The SYN had the timestamp option (and the SYN/ACK will carry one).
    pub timestamps: bool,
    /// The SYN was an ECN-setup SYN and the SYN/ACK agrees to ECN (needs timestamps).
    pub ecn: bool,
    /// The SYN carried MP_CAPABLE (kept with or without timestamps).
    pub mp_capable: bool,
    /// The SYN,ACK answered MPTCP v0 (RFC 6824); only with `mp_capable`.
    pub mptcp_v0: bool,
}

/// Why a cookie ACK was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CookieError {
    /// The MAC does not verify: the ACK is forged, was modified, or its cookie expired.
    /// The three are indistinguishable by design (telling them apart would cost a second
    /// HMAC per forged ACK during a flood).
    Invalid,
}

impl fmt::Display for CookieError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid or expired SYN cookie")
    }
}

impl std::error::Error for CookieError {}

/// The index of the largest [`MSS_TABLE`] entry not above `mss` (0 if `mss` is below all).
pub fn mss_index(mss: u16) -> u8 {
    let below = MSS_TABLE.iter().filter(|&&m| m <= mss).count();
    // The table has 8 entries, so `below - 1` fits in a u8.
    below.saturating_sub(1) as u8
}

/// The TSval to send in a cookie SYN/ACK: the largest value not above the engine's
/// timestamp `clock` (modulo 2^32) whose low [`TS_OPTION_BITS`] are `option_bits`.
pub fn cookie_tsval(clock: u32, option_bits: u32) -> u32 {
    clock.wrapping_sub(clock.wrapping_sub(option_bits) & TS_OPTION_MASK)
}

/// The cookie time counter at `now`.
fn counter(now: Instant) -> u32 {
    // Truncation to u32 is the intended modulo: only equality and parity are used.
    (now.total_micros() / COUNTER_PERIOD.total_micros()) as u32
}

/// The TSval option bits for a state that uses timestamps.
fn ts_option_bits(state: &SynState) -> u32 {
    let wscale = state.wscale.map_or(field::TS_WSCALE_NONE, |w| u32::from(w.min(MAX_WSCALE)));
    let sack = if state.sack_permitted { field::TS_SACK } else { 0 };
    let ecn = if state.ecn { field::TS_ECN } else { 0 };
    wscale | sack | ecn
}

/// Rebuilds the options from the 6 low bits of a TSecr.
fn apply_ts_option_bits(state: &mut SynState, tsecr: u32) {
    let wscale = tsecr & field::TS_WSCALE_NONE;
    // 0..=14 are shifts; 15 is "none" (the nibble holds nothing else).
    state.wscale = (wscale != field::TS_WSCALE_NONE).then_some(wscale as u8);
    state.sack_permitted = tsecr & field::TS_SACK != 0;
    state.ecn = tsecr & field::TS_ECN != 0;
}

/// Makes and checks SYN cookies under one secret key.
#[derive(Clone)]
pub struct SynCookies {
    keyed: HmacSha256,
}

/// The inputs of one cookie MAC.
struct MacInput {
    local: SocketAddr,
    remote: SocketAddr,
    client_isn: TcpSeqNumber,
    counter: u32,
    mss_index: u8,
    mp_capable: bool,
    mptcp_v0: bool,
    /// The TSval option bits, if timestamps are in use.
    ts_bits: Option<u32>,
}

impl SynCookies {
    /// Cookies keyed with `secret`, which must be random and kept secret.
    pub fn new(secret: [u8; 32]) -> Self {
        SynCookies { keyed: keyed_hmac(&secret) }
    }

    /// The MAC bits of a cookie (bits 31..6 of the ISN, the rest zero).
    fn mac(&self, input: &MacInput) -> u32 {
        let mut mac = self.keyed.clone();
        mac.update(b"netreaktor syncookie v1");
        feed_tuple(&mut mac, input.local, input.remote);
        mac.update(&input.client_isn.0.to_be_bytes());
        mac.update(&input.counter.to_be_bytes());
        let (ts_flag, ts_bits) = input.ts_bits.map_or((0, 0), |b| (1, b & TS_OPTION_MASK));
        // Each value below fits its byte: index < 8, flags 0 or 1, bits < 64.
        let mptcp = u8::from(input.mp_capable) | u8::from(input.mptcp_v0) << 1;
        mac.update(&[input.mss_index, mptcp, ts_flag, ts_bits as u8]);
        first_u32(mac) & field::MAC_MASK
    }

    /// Makes the cookie for a SYN from `remote` to `local` with sequence number
    /// `client_isn`: returns our ISN for the SYN/ACK and, if `state.timestamps`, the option
    /// bits to put in the low bits of its TSval (see [`cookie_tsval`]).
    pub fn encode(
        &self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        client_isn: TcpSeqNumber,
        state: SynState,
    ) -> (TcpSeqNumber, Option<u32>) {
        let counter = counter(now);
        let ts_bits = state.timestamps.then(|| ts_option_bits(&state));
        let mss_index = mss_index(state.mss);
        let mp_capable = state.mp_capable;
        let mptcp_v0 = mp_capable && state.mptcp_v0;
        let input = MacInput {
            local,
            remote,
            client_isn,
            counter,
            mss_index,
            mp_capable,
            mptcp_v0,
            ts_bits,
        };
        let isn = self.mac(&input)
            | u32::from(mss_index) << field::MSS_SHIFT
            | if mp_capable { field::MP_CAPABLE } else { 0 }
            | if mptcp_v0 { field::MPTCP_V0 } else { 0 }
            | counter & field::PARITY;
        (TcpSeqNumber(isn), ts_bits)
    }

    /// Checks the ACK completing a cookie handshake and rebuilds the SYN's state.
    ///
    /// `client_isn` is the ACK's sequence number minus 1, `our_isn` its acknowledgment
    /// number minus 1, `tsecr` the TSecr of its timestamp option if it has one. Fails if the
    /// cookie is forged, modified or older than its counter's successor.
    pub fn decode(
        &self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        client_isn: TcpSeqNumber,
        our_isn: TcpSeqNumber,
        tsecr: Option<u32>,
    ) -> Result<SynState, CookieError> {
        let isn = our_isn.0;
        let now_counter = counter(now);
        // The parity bit picks the current counter or the previous one.
        let counter = now_counter.wrapping_sub((now_counter ^ isn) & field::PARITY);
        // The field is three bits wide, so the index is below 8 and fits MSS_TABLE.
        let mss_index = ((isn >> field::MSS_SHIFT) & field::MSS_INDEX_MASK) as u8;
        let mp_capable = isn & field::MP_CAPABLE != 0;
        let mptcp_v0 = isn & field::MPTCP_V0 != 0;
        let ts_bits = tsecr.map(|t| t & TS_OPTION_MASK);
        let input = MacInput {
            local,
            remote,
            client_isn,
            counter,
            mss_index,
            mp_capable,
            mptcp_v0,
            ts_bits,
        };
        if !mac_matches(self.mac(&input), isn & field::MAC_MASK) {
            return Err(CookieError::Invalid);
        }
        let mut state = rebuild(mss_index, mp_capable, ts_bits);
        state.mptcp_v0 = mptcp_v0;
        Ok(state)
    }
}

/// Constant-time comparison of two MACs.
fn mac_matches(expected: u32, received: u32) -> bool {
    bool::from(expected.ct_eq(&received))
}

/// The state a verified cookie stands for.
fn rebuild(mss_index: u8, mp_capable: bool, ts_bits: Option<u32>) -> SynState {
    let mss = MSS_TABLE.get(usize::from(mss_index)).copied().unwrap_or(MSS_TABLE[0]);
    let mut state = SynState {
        mss,
        wscale: None,
        sack_permitted: false,
        timestamps: ts_bits.is_some(),
        ecn: false,
        mp_capable,
        mptcp_v0: false,
    };
    if let Some(bits) = ts_bits {
        apply_ts_option_bits(&mut state, bits);
    }
    state
}

impl fmt::Debug for SynCookies {
    /// Never prints the key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SynCookies").finish_non_exhaustive()
    }
}
