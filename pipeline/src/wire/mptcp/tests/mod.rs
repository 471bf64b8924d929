//! Tests of the MPTCP suboption formats: known answers from the RFC figures, error
//! classification, and property tests (round trips both ways, no panics on any input).

mod errors;
mod known_answers;
mod properties;
mod strategies;

use super::{MptcpOption, MptcpVersion};

/// Emits `option` into a larger buffer, checks that exactly `buffer_len` bytes were written
/// and that the length byte says so, and returns those bytes.
fn emit_vec(option: &MptcpOption<'_>) -> Vec<u8> {
    const CANARY: u8 = 0xa5;
    let len = option.buffer_len();
    let mut buf = vec![CANARY; len + 4];
    option.emit(&mut buf);
    assert!(buf[len..].iter().all(|&b| b == CANARY), "emit wrote past buffer_len");
    assert_eq!(usize::from(buf[1]), len, "length byte disagrees with buffer_len");
    buf.truncate(len);
    buf
}

/// Parses `bytes` for `version`, panicking with the error if it fails.
fn parse_ok(bytes: &[u8], version: MptcpVersion) -> MptcpOption<'_> {
    match MptcpOption::parse(bytes, version) {
        Ok(option) => option,
        Err(e) => panic!("{bytes:02x?} for {version:?}: {e}"),
    }
}

/// Parses and re-emits `bytes` and checks the result is `bytes` again.
fn assert_round_trip(bytes: &[u8], version: MptcpVersion) -> MptcpOption<'_> {
    let option = parse_ok(bytes, version);
    assert_eq!(emit_vec(&option), bytes, "{option:?}");
    option
}
