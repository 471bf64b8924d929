//! Property tests: `emit(parse(x)) == x` for valid bytes, `parse(emit(r)) == r` for every
//! representable `r`, reserved bits ignored, and no panic on any input.

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use super::emit_vec;
use super::strategies::{ignored_bits, repr, valid_bytes, version, versioned};
use crate::wire::mptcp::*;

/// Runs every parser on `bytes`; whatever parses must re-emit to the same length and parse
/// back to the same value.
fn check_any(bytes: &[u8], version: MptcpVersion) -> core::result::Result<(), TestCaseError> {
    if let Ok(option) = MptcpOption::parse(bytes, version) {
        let out = emit_vec(&option);
        prop_assert_eq!(out.len(), usize::from(bytes[1]));
        prop_assert_eq!(MptcpOption::parse(&out, version), Ok(option));
    }
    let _ = (MpCapable::parse(bytes), MpJoin::parse(bytes), Dss::parse(bytes));
    let _ = (AddAddr::parse(bytes, version), RemoveAddr::parse(bytes));
    let _ = (MpPrio::parse(bytes, version), MpFail::parse(bytes), MpFastclose::parse(bytes));
    let _ = (MpTcpRst::parse(bytes), UnknownOption::parse(bytes));
    let _ = (peek_version(bytes), subtype(bytes));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn emit_parse_is_identity_on_valid_bytes((version, bytes) in versioned(valid_bytes)) {
        let option = MptcpOption::parse(&bytes, version);
        prop_assert!(option.is_ok(), "{:02x?} for {:?}: {:?}", bytes, version, option);
        if let Ok(option) = option {
            prop_assert_eq!(emit_vec(&option), bytes.clone());
            prop_assert_eq!(option.subtype(), subtype(&bytes));
        }
    }

    #[test]
    fn parse_emit_is_identity_on_reprs((version, owned) in versioned(repr)) {
        let option = owned.as_option();
        let bytes = emit_vec(&option);
        prop_assert_eq!(MptcpOption::parse(&bytes, version), Ok(option));
    }

    #[test]
    fn ignored_bits_do_not_change_the_repr(
        (version, bytes) in versioned(valid_bytes),
        noise in any::<(u8, u8)>(),
    ) {
        let (mask2, mask3) = ignored_bits(&bytes, version);
        let mut noisy = bytes.clone();
        noisy[2] |= noise.0 & mask2;
        if let Some(b) = noisy.get_mut(3) {
            *b |= noise.1 & mask3;
        }
        prop_assert_eq!(MptcpOption::parse(&noisy, version), MptcpOption::parse(&bytes, version));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..48), version in version()) {
        check_any(&bytes, version)?;
    }

    #[test]
    fn mptcp_shaped_bytes_never_panic(
        head in any::<(u8, u8)>(),
        len in 0u8..=40,
        rest in vec(any::<u8>(), 0..48),
        version in version(),
    ) {
        let mut bytes = vec![30, len, head.0, head.1];
        bytes.extend(rest);
        check_any(&bytes, version)?;
        bytes.truncate(usize::from(len));
        check_any(&bytes, version)?;
    }

    #[test]
    fn peek_version_reads_the_nibble(ver in 0u8..16, flags in any::<u8>()) {
        prop_assert_eq!(peek_version(&[30, 4, ver, flags]), Ok(ver));
    }

    #[test]
    fn expand_recovers_values_within_half_the_space(
        reference in any::<u64>(),
        delta in -(1i64 << 31) + 1..(1i64 << 31),
    ) {
        let value = reference.wrapping_add_signed(delta);
        prop_assert_eq!(DataSeq::Low32(value as u32).expand(reference), value);
        prop_assert_eq!(DataSeq::new(value, true).expand(reference), value);
    }
}
