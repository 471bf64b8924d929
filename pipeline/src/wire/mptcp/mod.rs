//! MPTCP suboptions: every suboption of TCP option kind 30, for MPTCP v1 (RFC 8684) and v0
//! (RFC 6824).
//!
//! The TCP layer hands over the whole option (kind and length bytes included) and
//! [`MptcpOption::parse`] decodes it for the MPTCP version negotiated on the connection.
//! The version matters because ADD_ADDR and MP_PRIO changed shape between RFC 6824 and RFC
//! 8684 in ways the bytes alone cannot tell apart (a v0 IPv4 ADD_ADDR without port and a v1
//! IPv4 ADD_ADDR echo without port are both 8 bytes long); MP_CAPABLE carries its own
//! version and ignores the hint; MP_TCPRST exists in v1 only; the other formats are shared.
//!
//! Each suboption has its own `Repr` in its own file:
//!
//! | subtype | option | `Repr` | sections |
//! |---|---|---|---|
//! | 0x0 | MP_CAPABLE | [`MpCapable`] | RFC 8684 §3.1, RFC 6824 §3.1 |
//! | 0x1 | MP_JOIN | [`MpJoin`] | RFC 8684 §3.2, RFC 6824 §3.2 |
//! | 0x2 | DSS | [`Dss`], [`DssMapping`], [`DataSeq`] | RFC 8684 §3.3, RFC 6824 §3.3 |
//! | 0x3 | ADD_ADDR | [`AddAddr`] | RFC 8684 §3.4.1, RFC 6824 §3.4.1 |
//! | 0x4 | REMOVE_ADDR | [`RemoveAddr`] | RFC 8684 §3.4.2, RFC 6824 §3.4.2 |
//! | 0x5 | MP_PRIO | [`MpPrio`] | RFC 8684 §3.3.8, RFC 6824 §3.3.8 |
//! | 0x6 | MP_FAIL | [`MpFail`] | RFC 8684 §3.7, RFC 6824 §3.6 |
//! | 0x7 | MP_FASTCLOSE | [`MpFastclose`] | RFC 8684 §3.5, RFC 6824 §3.5 |
//! | 0x8 | MP_TCPRST | [`MpTcpRst`] | RFC 8684 §3.6 (v1 only) |
//! | 0xf, unassigned | MP_EXPERIMENTAL, others | [`UnknownOption`] | RFC 8684 §7.2 |
//!
//! # What parsing decides and what it leaves to the engines
//!
//! Parsing checks the *shape*: lengths consistent with subtype, flags and version
//! (`Malformed` otherwise), bytes present (`Truncated`), MP_CAPABLE version 0 or 1
//! (`Unsupported`). It does not decide the *protocol* questions the RFCs leave to the
//! receiver, which the engines answer:
//!
//! - RFC 8684 §3.1: an MP_CAPABLE with a version the host does not support is not an error
//!   of the segment: a listener answers with the version it does support (or plain TCP).
//!   [`peek_version`] reads the number even when it is not 0 or 1.
//! - RFC 8684 §3.1: an MP_CAPABLE with no crypto algorithm bit (H) set, or with bits the
//!   receiver does not understand (B), makes the handshake fall back to TCP; the flag byte is
//!   therefore kept exactly ([`MpCapableFlags`]) and judged by the engine.
//! - Reserved bits (MP_JOIN, DSS, ADD_ADDR v1, REMOVE_ADDR, MP_PRIO, MP_FAIL, MP_FASTCLOSE)
//!   are zero when sent; receivers ignore them (as Linux does), so a future use of a bit does
//!   not make today's receivers drop the option. They therefore do not survive
//!   `emit(parse(x))`: the byte-for-byte round trip holds for every option a conforming sender
//!   emits (reserved bits zero), and a non-canonical input parses to the same `Repr` as its
//!   canonical form. The DSS `a` and `m` bits mean nothing without `A` and `M` and are
//!   treated the same way.
//! - RFC 8684 §3.3: a DSS checksum present when not negotiated, or missing when negotiated,
//!   resets the subflow; its presence is reported ([`DssMapping::checksum`]), not judged.
//! - RFC 8684 §3.4.1: an ADD_ADDR whose HMAC does not verify is ignored; verification is the
//!   job of `crate::mptcp`.
//!
//! Shapes the RFCs do not define are `Malformed` even where Linux tolerates them (a DSS with
//! 2 trailing checksum bytes but no mapping, a 4-byte MP_PRIO on a v1 connection), so that
//! every accepted option round-trips.
//!
//! There is no separate zero-copy view type: a suboption is short (the TCP option space is
//! 40 bytes) and read once, field by field at named offsets, into its `Repr`. Every `parse`
//! takes the whole option (kind first) and may also be called on its own; every `emit`
//! writes exactly `buffer_len()` bytes, kind and length included.

mod add_addr;
mod codec;
mod data_seq;
mod dss;
mod mp_capable;
mod mp_fail;
mod mp_fastclose;
mod mp_join;
mod mp_prio;
mod mp_tcprst;
mod option;
mod remove_addr;
mod unknown;

#[cfg(test)]
mod tests;

pub use add_addr::{AddAddr, AddAddrForm};
pub use data_seq::DataSeq;
pub use dss::{Dss, DssMapping};
pub use mp_capable::{MpCapable, MpCapableFlags, MpCapableKeys};
pub use mp_fail::MpFail;
pub use mp_fastclose::MpFastclose;
pub use mp_join::MpJoin;
pub use mp_prio::MpPrio;
pub use mp_tcprst::{MpTcpRst, MpTcpRstFlags, MpTcpRstReason};
pub use option::MptcpOption;
pub use remove_addr::RemoveAddr;
pub use unknown::UnknownOption;

use crate::wire::Result;

/// The TCP option kind of every MPTCP suboption (RFC 8684 §3).
pub const OPTION_KIND: u8 = codec::KIND;

/// The MPTCP version negotiated on a connection (the MP_CAPABLE version field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MptcpVersion {
    /// Version 0, RFC 6824 (iOS up to 14 speaks only this one).
    V0,
    /// Version 1, RFC 8684.
    V1,
}

impl MptcpVersion {
    /// The version with this number, if it is one this implementation knows.
    pub const fn from_number(number: u8) -> Option<MptcpVersion> {
        match number {
            0 => Some(MptcpVersion::V0),
            1 => Some(MptcpVersion::V1),
            _ => None,
        }
    }

    /// The number carried in the MP_CAPABLE version nibble.
    pub const fn number(self) -> u8 {
        match self {
            MptcpVersion::V0 => 0,
            MptcpVersion::V1 => 1,
        }
    }
}

/// The MPTCP option subtypes assigned by IANA (RFC 8684 §7.2, RFC 6824 §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MptcpSubtype {
    /// 0x0, Multipath Capable.
    MpCapable,
    /// 0x1, Join Connection.
    MpJoin,
    /// 0x2, Data Sequence Signal (Data ACK and data sequence mapping).
    Dss,
    /// 0x3, Add Address.
    AddAddr,
    /// 0x4, Remove Address.
    RemoveAddr,
    /// 0x5, Change Subflow Priority.
    MpPrio,
    /// 0x6, Fallback.
    MpFail,
    /// 0x7, Fast Close.
    MpFastclose,
    /// 0x8, Subflow Reset (RFC 8684 only).
    MpTcpRst,
    /// 0xf, MP_EXPERIMENTAL, reserved for private use.
    Experimental,
}

impl MptcpSubtype {
    /// The subtype with this 4-bit value; `None` for the unassigned values 0x9..=0xe (and
    /// anything above 0xf).
    pub const fn from_nibble(nibble: u8) -> Option<MptcpSubtype> {
        Some(match nibble {
            0x0 => MptcpSubtype::MpCapable,
            0x1 => MptcpSubtype::MpJoin,
            0x2 => MptcpSubtype::Dss,
            0x3 => MptcpSubtype::AddAddr,
            0x4 => MptcpSubtype::RemoveAddr,
            0x5 => MptcpSubtype::MpPrio,
            0x6 => MptcpSubtype::MpFail,
            0x7 => MptcpSubtype::MpFastclose,
            0x8 => MptcpSubtype::MpTcpRst,
            0xf => MptcpSubtype::Experimental,
            _ => return None,
        })
    }

    /// The 4-bit value carried in the upper nibble of the third option byte.
    pub const fn nibble(self) -> u8 {
        match self {
            MptcpSubtype::MpCapable => 0x0,
            MptcpSubtype::MpJoin => 0x1,
            MptcpSubtype::Dss => 0x2,
            MptcpSubtype::AddAddr => 0x3,
            MptcpSubtype::RemoveAddr => 0x4,
            MptcpSubtype::MpPrio => 0x5,
            MptcpSubtype::MpFail => 0x6,
            MptcpSubtype::MpFastclose => 0x7,
            MptcpSubtype::MpTcpRst => 0x8,
            MptcpSubtype::Experimental => 0xf,
        }
    }
}

/// The subtype of an MPTCP option (whole option bytes, kind first), read without parsing
/// the rest: for cheap dispatch on the fast path.
///
/// `None` if the bytes are too short to hold a subtype, the kind is not 30, or the subtype is
/// unassigned. The length byte is not checked; [`MptcpOption::parse`] does that.
pub fn subtype(option: &[u8]) -> Option<MptcpSubtype> {
    match *option {
        [codec::KIND, _, byte, ..] => MptcpSubtype::from_nibble(byte >> 4),
        _ => None,
    }
}

/// The raw version number of an MP_CAPABLE option (whole option bytes, kind first), whether
/// or not this implementation supports it.
///
/// RFC 8684 §3.1: a listener that receives an MP_CAPABLE SYN with a version it does not
/// support answers with the version it does support (or without MP_CAPABLE), so the engine
/// needs the number even when [`MpCapable::parse`] says `Unsupported`.
///
/// `Truncated` if the bytes end early, `Malformed` if this is not an MP_CAPABLE option.
pub fn peek_version(option: &[u8]) -> Result<u8> {
    let opt = codec::expect(option, MptcpSubtype::MpCapable)?;
    codec::low_nibble(opt)
}
