//! [`MptcpOption`]: any MPTCP suboption, decoded for the connection's MPTCP version.

use super::{
    AddAddr, Dss, MpCapable, MpFail, MpFastclose, MpJoin, MpPrio, MpTcpRst, MptcpSubtype,
    MptcpVersion, RemoveAddr, UnknownOption, codec,
};
use crate::wire::Result;

/// Any MPTCP suboption (TCP option kind 30).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MptcpOption<'a> {
    /// MP_CAPABLE, subtype 0x0.
    MpCapable(MpCapable),
    /// MP_JOIN, subtype 0x1.
    MpJoin(MpJoin),
    /// DSS, subtype 0x2.
    Dss(Dss),
    /// ADD_ADDR, subtype 0x3.
    AddAddr(AddAddr),
    /// REMOVE_ADDR, subtype 0x4.
    RemoveAddr(RemoveAddr<'a>),
    /// MP_PRIO, subtype 0x5.
    MpPrio(MpPrio),
    /// MP_FAIL, subtype 0x6.
    MpFail(MpFail),
    /// MP_FASTCLOSE, subtype 0x7.
    MpFastclose(MpFastclose),
    /// MP_TCPRST, subtype 0x8 (v1 connections only).
    MpTcpRst(MpTcpRst),
    /// MP_EXPERIMENTAL (0xf), an unassigned subtype, or MP_TCPRST on a v0 connection.
    Unknown(UnknownOption<'a>),
}

impl<'a> MptcpOption<'a> {
    /// Parses an MPTCP option: `option` is the whole TCP option, kind (30) and length
    /// included; bytes past the length field are ignored. `version` is the MPTCP version of
    /// the connection; MP_CAPABLE ignores it and reads its own.
    ///
    /// Errors: `Truncated` if the bytes end before the length field says, `Malformed` if the
    /// kind is not 30 or the length does not fit the subtype, flags and version,
    /// `Unsupported` for an MP_CAPABLE version other than 0 or 1.
    pub fn parse(option: &'a [u8], version: MptcpVersion) -> Result<MptcpOption<'a>> {
        let opt = codec::trim(option)?;
        let subtype = MptcpSubtype::from_nibble(codec::subtype_nibble(opt)?);
        Ok(match subtype {
            Some(MptcpSubtype::MpCapable) => MptcpOption::MpCapable(MpCapable::parse(opt)?),
            Some(MptcpSubtype::MpJoin) => MptcpOption::MpJoin(MpJoin::parse(opt)?),
            Some(MptcpSubtype::Dss) => MptcpOption::Dss(Dss::parse(opt)?),
            Some(MptcpSubtype::AddAddr) => MptcpOption::AddAddr(AddAddr::parse(opt, version)?),
            Some(MptcpSubtype::RemoveAddr) => MptcpOption::RemoveAddr(RemoveAddr::parse(opt)?),
            Some(MptcpSubtype::MpPrio) => MptcpOption::MpPrio(MpPrio::parse(opt, version)?),
            Some(MptcpSubtype::MpFail) => MptcpOption::MpFail(MpFail::parse(opt)?),
            Some(MptcpSubtype::MpFastclose) => MptcpOption::MpFastclose(MpFastclose::parse(opt)?),
            Some(MptcpSubtype::MpTcpRst) if version == MptcpVersion::V1 => {
                MptcpOption::MpTcpRst(MpTcpRst::parse(opt)?)
            }
            _ => MptcpOption::Unknown(UnknownOption::parse(opt)?),
        })
    }

    /// The subtype; for [`Unknown`](Self::Unknown) the subtype it carries (MP_EXPERIMENTAL,
    /// or MP_TCPRST on a v0 connection), `None` for an unassigned one.
    pub fn subtype(&self) -> Option<MptcpSubtype> {
        Some(match self {
            MptcpOption::MpCapable(_) => MptcpSubtype::MpCapable,
            MptcpOption::MpJoin(_) => MptcpSubtype::MpJoin,
            MptcpOption::Dss(_) => MptcpSubtype::Dss,
            MptcpOption::AddAddr(_) => MptcpSubtype::AddAddr,
            MptcpOption::RemoveAddr(_) => MptcpSubtype::RemoveAddr,
            MptcpOption::MpPrio(_) => MptcpSubtype::MpPrio,
            MptcpOption::MpFail(_) => MptcpSubtype::MpFail,
            MptcpOption::MpFastclose(_) => MptcpSubtype::MpFastclose,
            MptcpOption::MpTcpRst(_) => MptcpSubtype::MpTcpRst,
            MptcpOption::Unknown(u) => return MptcpSubtype::from_nibble(u.subtype()),
        })
    }

    /// The option length: the value of its length field, kind and length bytes included.
    pub fn buffer_len(&self) -> usize {
        match self {
            MptcpOption::MpCapable(o) => o.buffer_len(),
            MptcpOption::MpJoin(o) => o.buffer_len(),
            MptcpOption::Dss(o) => o.buffer_len(),
            MptcpOption::AddAddr(o) => o.buffer_len(),
            MptcpOption::RemoveAddr(o) => o.buffer_len(),
            MptcpOption::MpPrio(o) => o.buffer_len(),
            MptcpOption::MpFail(o) => o.buffer_len(),
            MptcpOption::MpFastclose(o) => o.buffer_len(),
            MptcpOption::MpTcpRst(o) => o.buffer_len(),
            MptcpOption::Unknown(o) => o.buffer_len(),
        }
    }

    /// Writes exactly [`buffer_len`](Self::buffer_len) bytes, kind and length included, to
    /// the start of `buf`.
    ///
    /// # Panics
    /// If `buf` is shorter than [`buffer_len`](Self::buffer_len).
    pub fn emit(&self, buf: &mut [u8]) {
        match self {
            MptcpOption::MpCapable(o) => o.emit(buf),
            MptcpOption::MpJoin(o) => o.emit(buf),
            MptcpOption::Dss(o) => o.emit(buf),
            MptcpOption::AddAddr(o) => o.emit(buf),
            MptcpOption::RemoveAddr(o) => o.emit(buf),
            MptcpOption::MpPrio(o) => o.emit(buf),
            MptcpOption::MpFail(o) => o.emit(buf),
            MptcpOption::MpFastclose(o) => o.emit(buf),
            MptcpOption::MpTcpRst(o) => o.emit(buf),
            MptcpOption::Unknown(o) => o.emit(buf),
        }
    }
}
