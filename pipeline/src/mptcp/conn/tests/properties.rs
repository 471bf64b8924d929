//! Property tests of the sequence arithmetic the engine uses: DSN and subflow sequence
//! number expansion (RFC 8684 §3.3.1), modular order of DSNs, the DSS checksum.

use proptest::prelude::*;

use super::super::rx::expand32;
use super::super::subflow::Map;
use super::super::tx::{dss_checksum, earlier, later};
use super::harness::rfc_dss_checksum;
use crate::wire::mptcp::DataSeq;

proptest! {
    /// RFC 8684 §3.3.1: a 4-byte DSN (DATA_ACK or mapping) expands to the 64-bit value
    /// within ±2^31 of the reference it is expanded against.
    #[test]
    fn four_byte_dsns_expand_back_within_half_the_32_bit_space(base: u64, off in i32::MIN..=i32::MAX) {
        let value = base.wrapping_add_signed(i64::from(off));
        prop_assert_eq!(DataSeq::new(value, false).expand(base), value);
        prop_assert_eq!(DataSeq::new(value, true).expand(base), value);
    }

    /// RFC 8684 §3.3.1: a 32-bit relative subflow sequence number expands to the 64-bit
    /// stream offset nearest the read position, for offsets from -2^31 to 2^31 - 1.
    #[test]
    fn subflow_sequence_numbers_expand_back_near_the_reference(base: u64, off in i32::MIN..=i32::MAX) {
        let value = base.wrapping_add_signed(i64::from(off));
        prop_assert_eq!(expand32(value as u32, base), value);
    }

    /// `later` and `earlier` order DSNs modulo 2^64 within half the space, either way round.
    #[test]
    fn later_and_earlier_order_dsns_modulo_2_64(base: u64, ahead in 0..(1u64 << 63)) {
        let next = base.wrapping_add(ahead);
        prop_assert_eq!(later(base, next), next);
        prop_assert_eq!(later(next, base), next);
        prop_assert_eq!(earlier(base, next), base);
        prop_assert_eq!(earlier(next, base), base);
    }

    /// RFC 8684 §3.3.1: the engine's DSS checksum is the RFC 1071 sum over the pseudo-header
    /// and the data, for any length, odd ones included.
    #[test]
    fn the_dss_checksum_is_the_rfc_1071_sum(dsn: u64, ssn: u32, len: u16, data in proptest::collection::vec(any::<u8>(), 0..300)) {
        prop_assert_eq!(dss_checksum(dsn, ssn, len, &data), rfc_dss_checksum(dsn, ssn, len, &data));
    }

    /// A mapping covers exactly the subflow offsets `sub..sub + len`.
    #[test]
    fn a_mapping_covers_exactly_its_bytes(sub in 0..(1u64 << 40), len in 1..=65535u64, off in 0..(1u64 << 41)) {
        let map = Map { sub, dsn: 0, len, csum: None };
        prop_assert_eq!(map.covers(off), off >= sub && off < sub + len);
        prop_assert_eq!(map.sub_end(), sub + len);
    }
}

/// The edges of the subflow sequence number expansion: across 2^32 both ways, and a value
/// exactly 2^31 away is taken as behind (modulo 2^64).
#[test]
fn subflow_sequence_number_expansion_edges() {
    assert_eq!(expand32(0, 0xffff_ffff), 0x1_0000_0000);
    assert_eq!(expand32(0xffff_ffff, 0x1_0000_0000), 0xffff_ffff);
    assert_eq!(expand32(5, 0x7_0000_0000), 0x7_0000_0005);
    assert_eq!(expand32(0x8000_0000, 0x1_0000_0000), 0x8000_0000);
    assert_eq!(expand32(0x8000_0000, 0), 0xffff_ffff_8000_0000);
}
