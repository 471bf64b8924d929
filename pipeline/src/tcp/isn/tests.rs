//! Tests of RFC 6528 ISNs.

use super::*;
use crate::time::Duration;
use proptest::prelude::*;

const SECRET: [u8; 32] = [0x5a; 32];

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("test addresses are valid")
}

fn pair() -> (SocketAddr, SocketAddr) {
    (addr("192.0.2.1:443"), addr("198.51.100.7:50000"))
}

#[test]
fn same_inputs_same_isn() {
    let (l, r) = pair();
    let now = Instant::from_secs(1234);
    let a = IsnGenerator::new(SECRET);
    let b = IsnGenerator::new(SECRET);
    assert_eq!(a.isn(now, l, r), b.isn(now, l, r));
}

#[test]
fn different_tuples_or_keys_give_different_isns() {
    let g = IsnGenerator::new(SECRET);
    let now = Instant::from_secs(7);
    let (l, r) = pair();
    let base = g.isn(now, l, r);
    let others = [
        g.isn(now, addr("192.0.2.2:443"), r),
        g.isn(now, addr("192.0.2.1:444"), r),
        g.isn(now, l, addr("198.51.100.8:50000")),
        g.isn(now, l, addr("198.51.100.7:50001")),
        g.isn(now, r, l),
        g.isn(now, addr("[2001:db8::1]:443"), addr("[2001:db8::2]:50000")),
        IsnGenerator::new([0xa5; 32]).isn(now, l, r),
    ];
    for other in others {
        assert_ne!(other, base);
    }
}

#[test]
fn grows_250_per_millisecond() {
    // RFC 6528 §3: M is the 4 µs timer.
    let g = IsnGenerator::new(SECRET);
    let (l, r) = pair();
    let t = Instant::from_secs(100);
    let isn0 = g.isn(t, l, r);
    assert_eq!(g.isn(t + Duration::from_millis(1), l, r).offset_from(isn0), 250);
    assert_eq!(g.isn(t + Duration::from_secs(1), l, r).offset_from(isn0), 250_000);
    assert_eq!(g.isn(t + Duration::from_micros(3), l, r), isn0, "below the 4 µs tick");
}

#[test]
fn wraps_cleanly() {
    let g = IsnGenerator::new(SECRET);
    let (l, r) = pair();
    // M wraps after 4 * 2^32 µs (about 4.77 hours).
    let period = Duration::from_micros(4 << 32);
    let t = Instant::from_secs(5);
    assert_eq!(g.isn(t + period, l, r), g.isn(t, l, r));
    assert_eq!(four_microsecond_timer(Instant::from_micros((4 << 32) - 4)), u32::MAX);
    assert_eq!(four_microsecond_timer(Instant::from_micros(4 << 32)), 0);
    let before = g.isn(Instant::from_micros((4 << 32) - 400), l, r);
    let after = g.isn(Instant::from_micros((4 << 32) + 400), l, r);
    assert_eq!(after.offset_from(before), 200);
    assert!(after > before);
    assert_eq!(four_microsecond_timer(Instant::MAX), (u64::MAX / 4) as u32);
}

#[test]
fn debug_hides_the_key() {
    let shown = format!("{:?}", IsnGenerator::new(SECRET));
    assert_eq!(shown, "IsnGenerator { .. }");
}

proptest! {
    #[test]
    fn isn_is_m_plus_a_per_tuple_constant(
        a in any::<u64>(), b in any::<u64>(), port in any::<u16>(), ip in any::<u32>(),
    ) {
        let g = IsnGenerator::new(SECRET);
        let l = addr("192.0.2.1:443");
        let r = SocketAddr::from((core::net::Ipv4Addr::from(ip), port));
        let (ta, tb) = (Instant::from_micros(a), Instant::from_micros(b));
        let diff = g.isn(ta, l, r).offset_from(g.isn(tb, l, r));
        let m = four_microsecond_timer(ta).wrapping_sub(four_microsecond_timer(tb));
        prop_assert_eq!(diff, m);
    }
}
