//! The MPTCP options the emulated iPhone writes, byte for byte as xnu lays them out
//! (docs/ios-emulation.md §2-§3), and the few it reads from a server's segments.
//!
//! Layouts: RFC 8684 §3.1 (MP_CAPABLE), §3.2 (MP_JOIN), §3.3 (DSS); RFC 6824 §3.1 for the
//! v0 MP_CAPABLE. Written for the client; the appliance's codecs are not used.

use super::keys::Version;

/// TCP option kind of Multipath TCP (RFC 8684 §3).
pub(crate) const KIND: u8 = 30;
/// MP_CAPABLE flag H: HMAC-SHA1 (v0) / HMAC-SHA256 (v1), the only one iOS sets.
const FLAG_H: u8 = 0x01;
/// MP_CAPABLE flag A: DSS checksums required.
pub(crate) const FLAG_A: u8 = 0x80;
/// MP_CAPABLE flag C: do not join to the SYN's destination address (RFC 8684 §3.1).
pub(crate) const FLAG_C: u8 = 0x20;
/// DSS flags (RFC 8684 §3.3): DATA_FIN, 8-byte DSN, mapping present, 8-byte DATA_ACK,
/// DATA_ACK present.
const DSS_F: u8 = 0x10;
const DSS_M8: u8 = 0x08;
const DSS_M: u8 = 0x04;
const DSS_A8: u8 = 0x02;
const DSS_A: u8 = 0x01;

/// The MP_CAPABLE of iOS's SYN: v1 `1e 04 01 01`, v0 `1e 0c 00 01 <keyA>`.
pub(crate) fn capable_syn(version: Version, key: u64) -> Vec<u8> {
    match version {
        Version::V1 => vec![KIND, 4, 0x01, FLAG_H],
        Version::V0 => {
            let mut o = vec![KIND, 12, 0x00, FLAG_H];
            o.extend_from_slice(&key.to_be_bytes());
            o
        }
    }
}

/// The MP_CAPABLE with both keys: the third ACK (v0 and v1), and iOS's v1 pure ACKs until its
/// first data byte. `1e 14 0v 01 <keyA><keyB>`.
pub(crate) fn capable_keys(version: Version, key_a: u64, key_b: u64) -> Vec<u8> {
    let mut o = vec![KIND, 20, version.number(), FLAG_H];
    o.extend_from_slice(&key_a.to_be_bytes());
    o.extend_from_slice(&key_b.to_be_bytes());
    o
}

/// v1 first data: MP_CAPABLE with both keys and the data-level length (RFC 8684 §3.1,
/// 22 bytes without checksum; 24 with `csum`).
pub(crate) fn capable_data(key_a: u64, key_b: u64, len: u16, csum: Option<u16>) -> Vec<u8> {
    let mut o = capable_keys(Version::V1, key_a, key_b);
    o[1] = if csum.is_some() { 24 } else { 22 };
    o.extend_from_slice(&len.to_be_bytes());
    if let Some(c) = csum {
        o.extend_from_slice(&c.to_be_bytes());
    }
    o
}

/// A data-level mapping (RFC 8684 §3.3.1) as iOS writes it: 32-bit DSN, relative SSN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Mapping {
    /// Data sequence number of the first byte (low 32 bits go on the wire).
    pub(crate) dsn: u64,
    /// Relative subflow sequence number (first byte after the SYN is 1; 0 for a bare
    /// DATA_FIN).
    pub(crate) ssn: u32,
    /// Data-level length, DATA_FIN included.
    pub(crate) len: u16,
    /// Whether the mapping ends with DATA_FIN.
    pub(crate) fin: bool,
}

/// A DSS as iOS sends it: 32-bit DATA_ACK always, a 32-bit mapping when given:
/// `1e 08 20 01 <ack32>` or `1e 12 20 05 <ack32><dsn32><ssn32><len16>` (+2 checksum bytes).
pub(crate) fn dss(data_ack: u64, mapping: Option<Mapping>, csum: Option<u16>) -> Vec<u8> {
    let mut o = vec![KIND, 8, 0x20, DSS_A];
    o.extend_from_slice(&(data_ack as u32).to_be_bytes());
    if let Some(m) = mapping {
        o[3] |= DSS_M | if m.fin { DSS_F } else { 0 };
        o.extend_from_slice(&(m.dsn as u32).to_be_bytes());
        o.extend_from_slice(&m.ssn.to_be_bytes());
        o.extend_from_slice(&m.len.to_be_bytes());
        if let Some(c) = csum {
            o.extend_from_slice(&c.to_be_bytes());
        }
    }
    o[1] = o.len() as u8;
    o
}

/// MP_JOIN of a SYN (RFC 8684 §3.2): `1e 0c 1B <id> <token><nonce>`, B the backup bit.
pub(crate) fn join_syn(backup: bool, addr_id: u8, token: u32, nonce: u32) -> Vec<u8> {
    let mut o = vec![KIND, 12, 0x10 | u8::from(backup), addr_id];
    o.extend_from_slice(&token.to_be_bytes());
    o.extend_from_slice(&nonce.to_be_bytes());
    o
}

/// MP_JOIN of the third ACK: `1e 18 10 00 <160-bit HMAC>` (RFC 8684 §3.2).
pub(crate) fn join_ack(hmac: &[u8]) -> Vec<u8> {
    let mut o = vec![KIND, 24, 0x10, 0x00];
    o.extend_from_slice(&hmac[..20]);
    o
}

/// What a server's MPTCP option says, as far as the client cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Incoming {
    /// MP_CAPABLE of a SYN/ACK: its version, flags and key.
    Capable { version: u8, flags: u8, key: u64 },
    /// DSS: DATA_ACK (64 bits, or 32 bits to expand) and mapping.
    Dss { ack: Option<(u64, bool)>, map: Option<(u64, bool, u32, u16, bool)> },
    /// MP_JOIN of a SYN/ACK: truncated HMAC and nonce.
    JoinSynAck { hmac64: u64, nonce: u32 },
    /// MP_FASTCLOSE with the receiver's key.
    FastClose { key: u64 },
    /// Another suboption (ADD_ADDR, MP_PRIO...), or a malformed one (counted by the caller).
    Other { subtype: u8, malformed: bool },
}

/// Reads one MPTCP option (`bytes`: kind, length, contents). Malformed input never panics.
pub(crate) fn parse(bytes: &[u8]) -> Incoming {
    let bad = |subtype| Incoming::Other { subtype, malformed: true };
    let (Some(&len), Some(&b2)) = (bytes.get(1), bytes.get(2)) else { return bad(0xf) };
    let subtype = b2 >> 4;
    if usize::from(len) != bytes.len() {
        return bad(subtype);
    }
    let u64_at =
        |at: usize| bytes.get(at..at + 8).map(|b| u64::from_be_bytes(b.try_into().expect("8")));
    let u32_at =
        |at: usize| bytes.get(at..at + 4).map(|b| u32::from_be_bytes(b.try_into().expect("4")));
    match subtype {
        0 => match (bytes.get(3), u64_at(4)) {
            (Some(&flags), Some(key)) if len == 12 => {
                Incoming::Capable { version: b2 & 0xf, flags, key }
            }
            _ => bad(0),
        },
        1 if len == 16 => match (u64_at(4), u32_at(12)) {
            (Some(hmac64), Some(nonce)) => Incoming::JoinSynAck { hmac64, nonce },
            _ => bad(1),
        },
        2 => parse_dss(bytes).unwrap_or(bad(2)),
        7 => u64_at(4).map_or(bad(7), |key| Incoming::FastClose { key }),
        s => Incoming::Other { subtype: s, malformed: false },
    }
}

/// RFC 8684 §3.3 DSS: flags, then DATA_ACK (4 or 8), then DSN (4 or 8), SSN, length,
/// optional checksum.
fn parse_dss(b: &[u8]) -> Option<Incoming> {
    let flags = *b.get(3)?;
    let mut at = 4;
    let mut take = |n: usize| -> Option<u64> {
        let s = b.get(at..at + n)?;
        at += n;
        Some(s.iter().fold(0u64, |acc, &x| acc << 8 | u64::from(x)))
    };
    let ack = if flags & DSS_A != 0 {
        let wide = flags & DSS_A8 != 0;
        Some((take(if wide { 8 } else { 4 })?, wide))
    } else {
        None
    };
    let map = if flags & DSS_M != 0 {
        let wide = flags & DSS_M8 != 0;
        let dsn = take(if wide { 8 } else { 4 })?;
        let ssn = take(4)? as u32;
        let len = take(2)? as u16;
        Some((dsn, wide, ssn, len, flags & DSS_F != 0))
    } else {
        None
    };
    Some(Incoming::Dss { ack, map })
}

#[cfg(test)]
mod tests;
