//! Error classification (Truncated / Malformed / Unsupported) and the receiver rules for
//! reserved bits.

use super::{assert_round_trip, parse_ok};
use crate::wire::Error::{Malformed, Truncated, Unsupported};
use crate::wire::mptcp::MptcpVersion::{V0, V1};
use crate::wire::mptcp::*;

fn parse(bytes: &[u8], version: MptcpVersion) -> crate::wire::Result<MptcpOption<'_>> {
    MptcpOption::parse(bytes, version)
}

#[test]
fn header_errors() {
    assert_eq!(parse(&[], V1), Err(Truncated));
    assert_eq!(parse(&[0x1e], V1), Err(Truncated));
    assert_eq!(parse(&[0x1e, 0x04, 0x01], V1), Err(Truncated));
    assert_eq!(parse(&[0x1f, 0x04, 0x01, 0x81], V1), Err(Malformed));
    assert_eq!(parse(&[0x1e, 0x02, 0x01, 0x81], V1), Err(Malformed));
    assert_eq!(parse(&[0x1e, 0x00], V1), Err(Malformed));
}

/// Bytes after the length field belong to the next option and are ignored.
#[test]
fn trailing_bytes_ignored() {
    let bytes = [0x1e, 0x03, 0x51, 0x01, 0x01];
    assert_eq!(parse_ok(&bytes, V1), MptcpOption::MpPrio(MpPrio::new(true)));
}

/// RFC 8684 §3.1: versions other than 0 and 1 are Unsupported, whatever the length, and
/// `peek_version` still reads them so the listener can answer with its own version.
#[test]
fn mp_capable_versions() {
    assert_eq!(parse(&[0x1e, 0x04, 0x02, 0x01], V1), Err(Unsupported));
    assert_eq!(parse(&[0x1e, 0x05, 0x0f, 0x01, 0x00], V1), Err(Unsupported));
    assert_eq!(peek_version(&[0x1e, 0x04, 0x02, 0x01]), Ok(2));
    assert_eq!(peek_version(&[0x1e, 0x04, 0x20, 0x01]), Err(Malformed));
    assert_eq!(peek_version(&[0x1e, 0x04]), Err(Truncated));
}

#[test]
fn mp_capable_lengths() {
    let body = [0u8; 24];
    let with = |len: u8, ver: u8| {
        let mut v = vec![0x1e, len, ver, 0x01];
        v.extend_from_slice(&body[..usize::from(len) - 4]);
        v
    };
    for len in [4u8, 12, 20, 22, 24] {
        assert!(parse(&with(len, 1), V1).is_ok(), "v1 length {len}");
    }
    for len in [12u8, 20] {
        assert!(parse(&with(len, 0), V0).is_ok(), "v0 length {len}");
    }
    for len in [4u8, 22, 24] {
        assert_eq!(parse(&with(len, 0), V0), Err(Malformed), "v0 length {len}");
    }
    for len in [5u8, 11, 13, 21, 23, 25] {
        assert_eq!(parse(&with(len, 1), V1), Err(Malformed), "v1 length {len}");
    }
}

#[test]
fn mp_join_lengths() {
    for len in [4u8, 11, 13, 20, 23, 25] {
        let mut v = vec![0x1e, len, 0x10];
        v.resize(usize::from(len), 0);
        assert_eq!(parse(&v, V1), Err(Malformed), "length {len}");
    }
}

/// RFC 8684 §3.3: the length must match the flags, with or without the checksum only when a
/// mapping is present.
#[test]
fn dss_lengths() {
    let dss = |len: u8, flags: u8| {
        let mut v = vec![0x1e, len, 0x20, flags];
        v.resize(usize::from(len), 0);
        v
    };
    assert_eq!(parse(&dss(8, 0x00), V1), Err(Malformed));
    assert_eq!(parse(&dss(10, 0x01), V1), Err(Malformed));
    assert_eq!(parse(&dss(12, 0x01), V1), Err(Malformed));
    assert_eq!(parse(&dss(8, 0x03), V1), Err(Malformed));
    assert_eq!(parse(&dss(15, 0x04), V1), Err(Malformed));
    assert_eq!(parse(&dss(18, 0x04), V1), Err(Malformed));
    assert_eq!(parse(&dss(14, 0x0c), V1), Err(Malformed));
    for (len, flags) in [(8, 0x01), (12, 0x03), (14, 0x04), (16, 0x04), (18, 0x0c), (20, 0x0c)] {
        assert!(parse(&dss(len, flags), V1).is_ok(), "length {len} flags {flags:#x}");
    }
    assert_eq!(parse(&dss(28, 0x0f), V1).map(|o| o.buffer_len()), Ok(28));
    assert_eq!(parse(&dss(26, 0x0f), V1).map(|o| o.buffer_len()), Ok(26));
}

#[test]
fn add_addr_lengths() {
    let add = |len: u8, nibble: u8| {
        let mut v = vec![0x1e, len, 0x30 | nibble];
        v.resize(usize::from(len), 0);
        v
    };
    for len in [8u8, 10, 20, 22] {
        assert!(parse(&add(len, 1), V1).is_ok(), "v1 echo {len}");
        assert_eq!(parse(&add(len, 0), V1), Err(Malformed), "v1 no echo {len}");
    }
    for len in [16u8, 18, 28, 30] {
        assert!(parse(&add(len, 0), V1).is_ok(), "v1 hmac {len}");
        assert_eq!(parse(&add(len, 1), V1), Err(Malformed), "v1 echo {len}");
    }
    assert!(parse(&add(10, 4), V0).is_ok());
    assert_eq!(parse(&add(10, 6), V0), Err(Malformed));
    assert_eq!(parse(&add(22, 4), V0), Err(Malformed));
    assert_eq!(parse(&add(8, 5), V0), Err(Malformed));
    assert_eq!(parse(&add(16, 4), V0), Err(Malformed));
}

#[test]
fn fixed_length_subtypes() {
    assert_eq!(parse(&[0x1e, 0x03, 0x40], V1), Err(Malformed));
    assert_eq!(parse(&[0x1e, 0x05, 0x50, 0, 0], V0), Err(Malformed));
    let mut long = vec![0x1e, 0x0d, 0x60];
    long.resize(13, 0);
    assert_eq!(parse(&long, V1), Err(Malformed));
    long[2] = 0x70;
    assert_eq!(parse(&long, V1), Err(Malformed));
    assert_eq!(parse(&[0x1e, 0x05, 0x80, 0, 0], V1), Err(Malformed));
    assert_eq!(parse(&[0x1e, 0x03, 0x80], V1), Err(Malformed));
}

#[test]
fn constructors_bound_lengths() {
    assert_eq!(RemoveAddr::new(&[]), Err(Malformed));
    assert!(RemoveAddr::new(&[0; 252]).is_ok());
    assert_eq!(RemoveAddr::new(&[0; 253]), Err(Malformed));
    assert_eq!(UnknownOption::new(&[]), Err(Malformed));
    assert!(UnknownOption::new(&[0xf0; 253]).is_ok());
    assert_eq!(UnknownOption::new(&[0xf0; 254]), Err(Malformed));
}

/// Reserved bits are ignored on receipt: each input parses like its canonical form, which
/// is what `emit` writes back.
#[test]
fn reserved_bits_ignored() {
    let cases: [(&[u8], &[u8]); 6] = [
        (&[0x1e, 0x03, 0x5f], &[0x1e, 0x03, 0x51]),
        (&[0x1e, 0x04, 0x4f, 0x01], &[0x1e, 0x04, 0x40, 0x01]),
        (&[0x1e, 0x08, 0x2f, 0xe1, 0, 0, 0, 1], &[0x1e, 0x08, 0x20, 0x01, 0, 0, 0, 1]),
        (&[0x1e, 0x08, 0x20, 0x09, 0, 0, 0, 1], &[0x1e, 0x08, 0x20, 0x01, 0, 0, 0, 1]),
        (&[0x1e, 0x04, 0x20, 0x02], &[0x1e, 0x04, 0x20, 0x00]),
        (&[0x1e, 0x08, 0x3f, 0x01, 1, 2, 3, 4], &[0x1e, 0x08, 0x31, 0x01, 1, 2, 3, 4]),
    ];
    for (input, canonical) in cases {
        let option = parse_ok(input, V1);
        assert_eq!(option, assert_round_trip(canonical, V1), "{input:02x?}");
    }
}
