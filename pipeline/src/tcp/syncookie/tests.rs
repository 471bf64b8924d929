//! Tests of SYN cookies: round trips, expiry, forgeries.

use super::*;
use proptest::prelude::*;

const SECRET: [u8; 32] = [0x11; 32];
const CLIENT_ISN: TcpSeqNumber = TcpSeqNumber(0xdead_beef);

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("test addresses are valid")
}

fn local() -> SocketAddr {
    addr("192.0.2.1:443")
}

fn remote() -> SocketAddr {
    addr("198.51.100.7:50000")
}

fn cookies() -> SynCookies {
    SynCookies::new(SECRET)
}

fn state(timestamps: bool) -> SynState {
    SynState {
        mss: 1460,
        wscale: Some(7),
        sack_permitted: true,
        timestamps,
        ecn: true,
        mp_capable: true,
        mptcp_v0: false,
    }
}

/// Encodes at `t0`, decodes at `t1` as an honest client would echo.
fn round_trip(t0: Instant, t1: Instant, s: SynState) -> Result<SynState, CookieError> {
    let c = cookies();
    let (isn, ts) = c.encode(t0, local(), remote(), CLIENT_ISN, s);
    let tsecr = ts.map(|bits| cookie_tsval(0x1234_5678, bits));
    c.decode(t1, local(), remote(), CLIENT_ISN, isn, tsecr)
}

/// What a cookie keeps of `s`.
fn expected(s: SynState) -> SynState {
    let mss = MSS_TABLE[usize::from(mss_index(s.mss))];
    let s = SynState { mptcp_v0: s.mp_capable && s.mptcp_v0, ..s };
    if s.timestamps {
        SynState { mss, wscale: s.wscale.map(|w| w.min(MAX_WSCALE)), ..s }
    } else {
        SynState { mss, wscale: None, sack_permitted: false, ecn: false, ..s }
    }
}

#[test]
fn every_state_round_trips() {
    let now = Instant::from_secs(1000);
    let mut wscales: Vec<Option<u8>> = (0..=16).map(Some).collect();
    wscales.extend([None, Some(255)]);
    let msses = MSS_TABLE.iter().copied().chain([0, 535, 1219, 1400, 1500, 9000, u16::MAX]);
    for mss in msses {
        for &wscale in &wscales {
            for bits in 0..32u8 {
                let s = SynState {
                    mss,
                    wscale,
                    sack_permitted: bits & 1 != 0,
                    timestamps: bits & 2 != 0,
                    ecn: bits & 4 != 0,
                    mp_capable: bits & 8 != 0,
                    mptcp_v0: bits & 16 != 0,
                };
                assert_eq!(round_trip(now, now, s), Ok(expected(s)), "{s:?}");
            }
        }
    }
}

#[test]
fn the_mptcp_version_survives_a_cookie_and_is_authenticated() {
    // The ACK of a v0 handshake must be read in v0 (docs/architecture.md, "MPTCP v0").
    let now = Instant::from_secs(5);
    let v0 = SynState { mptcp_v0: true, ..state(false) };
    assert_eq!(round_trip(now, now, v0).map(|s| (s.mp_capable, s.mptcp_v0)), Ok((true, true)));
    let v1 = state(false);
    assert_eq!(round_trip(now, now, v1).map(|s| (s.mp_capable, s.mptcp_v0)), Ok((true, false)));
    // Flipping the version bit of our ISN breaks the MAC.
    let c = cookies();
    let (isn, _) = c.encode(now, local(), remote(), CLIENT_ISN, v0);
    let flipped = TcpSeqNumber(isn.0 ^ (1 << 5));
    assert_eq!(
        c.decode(now, local(), remote(), CLIENT_ISN, flipped, None),
        Err(CookieError::Invalid)
    );
}

#[test]
fn mss_rounds_down_to_the_table() {
    assert_eq!(mss_index(1460), 5);
    assert_eq!(mss_index(1459), 4);
    assert_eq!(mss_index(1400), 2);
    assert_eq!(mss_index(9000), 7);
    assert_eq!(mss_index(100), 0, "below the table: 536, as Linux");
    let s = SynState { mss: 1452, ..state(false) };
    assert_eq!(round_trip(Instant::ZERO, Instant::ZERO, s).map(|d| d.mss), Ok(1440));
}

#[test]
fn without_timestamps_options_are_lost_but_mss_and_mptcp_kept() {
    // RFC 4987 §3.6: options the cookie cannot hold are lost.
    let now = Instant::from_secs(5);
    let got = round_trip(now, now, state(false)).expect("valid cookie");
    assert_eq!(got.mss, 1460);
    assert!(got.mp_capable);
    assert_eq!(
        (got.wscale, got.sack_permitted, got.ecn, got.timestamps),
        (None, false, false, false)
    );
}

#[test]
fn valid_for_the_counter_and_its_successor_only() {
    let period = COUNTER_PERIOD;
    let start = Instant::from_secs(64 * 1000);
    let s = state(true);
    // Made at the start of a period: lives until the end of the next one.
    assert!(round_trip(start, start, s).is_ok());
    assert!(round_trip(start, start + period, s).is_ok());
    let last = start + period.saturating_mul(2) - Duration::from_micros(1);
    assert!(round_trip(start, last, s).is_ok());
    assert_eq!(round_trip(start, start + period.saturating_mul(2), s), Err(CookieError::Invalid));
    assert_eq!(round_trip(start, start + period.saturating_mul(3), s), Err(CookieError::Invalid));
    // Made at the end of a period: only just over one period left.
    let late = start + period - Duration::from_micros(1);
    assert!(round_trip(late, late + period, s).is_ok());
    assert_eq!(
        round_trip(late, late + period + Duration::from_micros(1), s),
        Err(CookieError::Invalid)
    );
    // A cookie from "the future" (the clock went back a period) is refused.
    assert_eq!(round_trip(start + period, start, s), Err(CookieError::Invalid));
}

#[test]
fn counter_wrap_does_not_break_validity() {
    // The counter is taken modulo 2^32: cookies made just before its wrap still verify.
    let wrap = COUNTER_PERIOD.total_micros().saturating_mul(1 << 32);
    let before = Instant::from_micros(wrap - 1);
    assert!(round_trip(before, Instant::from_micros(wrap + 1), state(true)).is_ok());
}

/// A valid cookie ACK's fields, to be tampered with.
struct Ack {
    local: SocketAddr,
    remote: SocketAddr,
    client_isn: TcpSeqNumber,
    our_isn: TcpSeqNumber,
    tsecr: Option<u32>,
}

fn valid_ack(now: Instant) -> Ack {
    let (our_isn, ts) = cookies().encode(now, local(), remote(), CLIENT_ISN, state(true));
    let tsecr = ts.map(|b| cookie_tsval(0x0400_0000, b));
    Ack { local: local(), remote: remote(), client_isn: CLIENT_ISN, our_isn, tsecr }
}

fn check(now: Instant, a: &Ack) -> Result<SynState, CookieError> {
    cookies().decode(now, a.local, a.remote, a.client_isn, a.our_isn, a.tsecr)
}

fn flip_addr(a: SocketAddr, bit: u32) -> SocketAddr {
    match a {
        SocketAddr::V4(v4) => {
            let ip = u32::from(*v4.ip()) ^ (1 << bit);
            SocketAddr::from((core::net::Ipv4Addr::from(ip), v4.port()))
        }
        SocketAddr::V6(_) => a,
    }
}

#[test]
fn any_flipped_bit_is_rejected() {
    let now = Instant::from_secs(3333);
    assert!(check(now, &valid_ack(now)).is_ok());
    for bit in 0..32 {
        let mut a = valid_ack(now);
        a.our_isn.0 ^= 1 << bit;
        assert_eq!(check(now, &a), Err(CookieError::Invalid), "ack bit {bit}");
        let mut a = valid_ack(now);
        a.client_isn.0 ^= 1 << bit;
        assert_eq!(check(now, &a), Err(CookieError::Invalid), "seq bit {bit}");
        let mut a = valid_ack(now);
        a.local = flip_addr(a.local, bit);
        assert_eq!(check(now, &a), Err(CookieError::Invalid), "local ip bit {bit}");
        let mut a = valid_ack(now);
        a.remote = flip_addr(a.remote, bit);
        assert_eq!(check(now, &a), Err(CookieError::Invalid), "remote ip bit {bit}");
    }
    for bit in 0..16 {
        let mut a = valid_ack(now);
        a.local.set_port(a.local.port() ^ (1 << bit));
        assert_eq!(check(now, &a), Err(CookieError::Invalid), "local port bit {bit}");
        let mut a = valid_ack(now);
        a.remote.set_port(a.remote.port() ^ (1 << bit));
        assert_eq!(check(now, &a), Err(CookieError::Invalid), "remote port bit {bit}");
    }
}

#[test]
fn tsecr_option_bits_are_authenticated() {
    let now = Instant::from_secs(77);
    for bit in 0..TS_OPTION_BITS {
        let mut a = valid_ack(now);
        a.tsecr = a.tsecr.map(|t| t ^ (1 << bit));
        assert_eq!(check(now, &a), Err(CookieError::Invalid), "tsecr bit {bit}");
    }
    // Dropping or adding the timestamp option is refused too.
    let mut a = valid_ack(now);
    a.tsecr = None;
    assert_eq!(check(now, &a), Err(CookieError::Invalid));
    let (our_isn, ts) = cookies().encode(now, local(), remote(), CLIENT_ISN, state(false));
    assert_eq!(ts, None);
    let added = Ack { our_isn, tsecr: Some(0x3f), ..valid_ack(now) };
    assert_eq!(check(now, &added), Err(CookieError::Invalid));
    // The high bits of TSecr carry no cookie state (the engine's clock lives there).
    let mut a = valid_ack(now);
    a.tsecr = a.tsecr.map(|t| t ^ 0x8000_0000);
    assert!(check(now, &a).is_ok());
}

#[test]
fn other_key_or_ipv6_tuple_rejected() {
    let now = Instant::from_secs(9);
    let a = valid_ack(now);
    let other = SynCookies::new([0x22; 32]);
    let got = other.decode(now, a.local, a.remote, a.client_isn, a.our_isn, a.tsecr);
    assert_eq!(got, Err(CookieError::Invalid));
    let v6 = (addr("[2001:db8::1]:443"), addr("[2001:db8::2]:50000"));
    let got = cookies().decode(now, v6.0, v6.1, a.client_isn, a.our_isn, a.tsecr);
    assert_eq!(got, Err(CookieError::Invalid));
    let swapped = cookies().decode(now, a.remote, a.local, a.client_isn, a.our_isn, a.tsecr);
    assert_eq!(swapped, Err(CookieError::Invalid));
}

#[test]
fn ipv6_round_trip() {
    let c = cookies();
    let (l, r) = (addr("[2001:db8::1]:443"), addr("[2001:db8::2]:50000"));
    let now = Instant::from_secs(1);
    let s = SynState { mss: 1440, ..state(true) };
    let (isn, ts) = c.encode(now, l, r, CLIENT_ISN, s);
    assert_eq!(c.decode(now, l, r, CLIENT_ISN, isn, ts), Ok(s));
}

#[test]
fn ts_option_bits_follow_the_linux_layout() {
    let now = Instant::ZERO;
    let c = cookies();
    let bits = |s| c.encode(now, local(), remote(), CLIENT_ISN, s).1;
    let s = SynState { wscale: Some(7), sack_permitted: true, ecn: false, ..state(true) };
    assert_eq!(bits(s), Some(0b01_0111));
    let s = SynState { wscale: None, sack_permitted: false, ecn: true, ..state(true) };
    assert_eq!(bits(s), Some(0b10_1111));
    let s = SynState { wscale: Some(200), sack_permitted: false, ecn: false, ..state(true) };
    assert_eq!(bits(s), Some(14), "RFC 7323 §2.3: shifts above 14 are used as 14");
}

#[test]
fn cookie_tsval_never_exceeds_the_clock() {
    assert_eq!(cookie_tsval(1000, 0b10_0111), 999);
    assert_eq!(cookie_tsval(0x40, 0x3f), 0x3f);
    assert_eq!(cookie_tsval(0x7f, 0x3f), 0x7f);
    assert_eq!(cookie_tsval(0x80, 0x3f), 0x7f);
    assert_eq!(cookie_tsval(5, 0x3f), 0xffff_ffff, "wraps below zero, modulo 2^32");
}

#[test]
fn mac_compare_is_exact() {
    assert!(mac_matches(0xffff_ffe0, 0xffff_ffe0));
    assert!(!mac_matches(0xffff_ffe0, 0x7fff_ffe0));
    assert!(!mac_matches(0, 1 << 5));
}

#[test]
fn debug_hides_the_key() {
    assert_eq!(format!("{:?}", cookies()), "SynCookies { .. }");
}

proptest! {
    #[test]
    fn cookie_tsval_keeps_bits_and_stays_close(clock in any::<u32>(), bits in 0u32..64) {
        let ts = cookie_tsval(clock, bits);
        prop_assert_eq!(ts & TS_OPTION_MASK, bits);
        prop_assert!(clock.wrapping_sub(ts) <= TS_OPTION_MASK);
    }

    #[test]
    fn random_acks_are_refused(
        now in any::<u64>(), seq in any::<u32>(), ack in any::<u32>(), tsecr in any::<Option<u32>>(),
    ) {
        // A blind guess passes with probability 2^-26.
        let got = cookies().decode(
            Instant::from_micros(now), local(), remote(), TcpSeqNumber(seq), TcpSeqNumber(ack), tsecr,
        );
        prop_assert_eq!(got, Err(CookieError::Invalid));
    }

    #[test]
    fn round_trips_at_any_time(
        t in any::<u64>(), delay in 0u64..64_000_000, mss in any::<u16>(), wscale in any::<Option<u8>>(),
        flags in 0u8..32, isn in any::<u32>(),
    ) {
        let s = SynState {
            mss, wscale, sack_permitted: flags & 1 != 0, timestamps: flags & 2 != 0,
            ecn: flags & 4 != 0, mp_capable: flags & 8 != 0, mptcp_v0: flags & 16 != 0,
        };
        let c = cookies();
        let t0 = Instant::from_micros(t);
        let (ours, ts) = c.encode(t0, local(), remote(), TcpSeqNumber(isn), s);
        let t1 = t0 + Duration::from_micros(delay);
        prop_assert_eq!(c.decode(t1, local(), remote(), TcpSeqNumber(isn), ours, ts), Ok(expected(s)));
    }
}
