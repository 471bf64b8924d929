//! The MPTCP options of one segment, decoded once for the connection's version.

use netreaktor_pipeline::wire::mptcp::{
    AddAddr, Dss, MpCapable, MpCapableKeys, MpFail, MpFastclose, MpJoin, MpPrio, MpTcpRst,
    MptcpOption, MptcpVersion, RemoveAddr,
};
use netreaktor_pipeline::wire::tcp_option::TcpOptions;

use super::ObserverStats;

/// The MPTCP options of a segment, one of each subtype at most (the first one when a
/// segment carries two of a kind).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct SegmentOptions<'a> {
    pub(super) mp_capable: Option<MpCapable>,
    pub(super) mp_join: Option<MpJoin>,
    pub(super) dss: Option<Dss>,
    pub(super) add_addr: Option<AddAddr>,
    pub(super) remove_addr: Option<RemoveAddr<'a>>,
    pub(super) mp_prio: Option<MpPrio>,
    pub(super) mp_fail: Option<MpFail>,
    pub(super) fastclose: Option<MpFastclose>,
    pub(super) tcprst: Option<MpTcpRst>,
}

impl<'a> SegmentOptions<'a> {
    /// Decodes the MPTCP options among `options` for `version`, counting in `stats` the
    /// malformed ones (by subtype) and a malformed TCP option area.
    pub(super) fn parse(
        options: TcpOptions<'a>,
        version: MptcpVersion,
        stats: &mut ObserverStats,
    ) -> SegmentOptions<'a> {
        if options.validate().is_err() {
            stats.malformed_tcp_options = stats.malformed_tcp_options.saturating_add(1);
        }
        let mut out = SegmentOptions::default();
        for raw in options.mptcp() {
            match MptcpOption::parse(raw, version) {
                Ok(option) => out.put(option),
                Err(_) => stats.count_malformed_mptcp(raw),
            }
        }
        out
    }

    /// Keeps `option` unless one of its subtype is already kept.
    fn put(&mut self, option: MptcpOption<'a>) {
        match option {
            MptcpOption::MpCapable(o) => first(&mut self.mp_capable, o),
            MptcpOption::MpJoin(o) => first(&mut self.mp_join, o),
            MptcpOption::Dss(o) => first(&mut self.dss, o),
            MptcpOption::AddAddr(o) => first(&mut self.add_addr, o),
            MptcpOption::RemoveAddr(o) => first(&mut self.remove_addr, o),
            MptcpOption::MpPrio(o) => first(&mut self.mp_prio, o),
            MptcpOption::MpFail(o) => first(&mut self.mp_fail, o),
            MptcpOption::MpFastclose(o) => first(&mut self.fastclose, o),
            MptcpOption::MpTcpRst(o) => first(&mut self.tcprst, o),
            // RFC 8684 §3: options a host does not understand are ignored.
            MptcpOption::Unknown(_) => {}
        }
    }

    /// The data-level length of an MP_CAPABLE that carries the first data (RFC 8684 §3.1).
    pub(super) fn mpc_data_len(&self) -> Option<u16> {
        match self.mp_capable?.keys {
            MpCapableKeys::BothWithData { data_len, .. } => Some(data_len),
            _ => None,
        }
    }
}

fn first<T>(slot: &mut Option<T>, value: T) {
    if slot.is_none() {
        *slot = Some(value);
    }
}
