//! Data toward the peer: the scheduler that gives runs of the data-level send buffer to
//! subflows (each run one DSS mapping, RFC 8684 §3.3.1), reinjection of runs a stalled or
//! closed subflow held (§3.3.6), and the options every subflow segment carries: DSS with
//! DATA_ACK and mapping, DATA_FIN (§3.3.3), ADD_ADDR (§3.4.1), MP_FASTCLOSE on
//! the RSTs of subflows reset after our fast close (§3.5, `fastclose.rs`).

use super::subflow::{Map, Subflow};
use super::{Connection, Scheduler, SubflowId};
use crate::mptcp::crypto::HmacKeys;
use crate::tcp::Transmit;
use crate::tcp::hooks::{Outgoing, SegmentHook, SegmentKind};
use crate::time::Instant;
use crate::wire::checksum;
use crate::wire::mptcp::{
    AddAddr, Dss, DssMapping, MpFastclose, MpTcpRst, MpTcpRstReason, MptcpVersion,
};
use crate::wire::tcp_option::TcpOptionWriter;

/// The DSS checksum of a mapping (RFC 8684 §3.3.1): the Internet checksum over a pseudo
/// header (DSN, subflow sequence number, data-level length, zero) and the mapped data.
pub(crate) fn dss_checksum(dsn: u64, subflow_seq: u32, len: u16, data: &[u8]) -> u16 {
    let mut header = [0u8; 16];
    header[..8].copy_from_slice(&dsn.to_be_bytes());
    header[8..12].copy_from_slice(&subflow_seq.to_be_bytes());
    header[12..14].copy_from_slice(&len.to_be_bytes());
    !checksum::combine(&[checksum::data(&header), checksum::data(data)])
}

impl Connection {
    /// Gives unsent and reinjected data to subflows with room.
    pub(super) fn schedule(&mut self, now: Instant) {
        if self.end.is_some() {
            return;
        }
        while let Some(&(start, end)) = self.reinject.front() {
            let start = later(start, self.snd_una);
            if end.wrapping_sub(start) as i64 <= 0 {
                self.reinject.pop_front();
                continue;
            }
            let Some(id) = self.pick(None, end.wrapping_sub(start)) else { break };
            let sent = self.give(now, id, start, end);
            if sent == 0 {
                break;
            }
            self.stats.reinjected_bytes += sent;
            let next = start.wrapping_add(sent);
            match self.reinject.front_mut() {
                Some(front) if next != end => front.0 = next,
                _ => {
                    self.reinject.pop_front();
                }
            }
        }
        self.schedule_new(now);
    }

    /// New data: up to the end of the buffer and the peer's data-level window.
    fn schedule_new(&mut self, now: Instant) {
        loop {
            let buffered_end = self.snd_una.wrapping_add(self.snd.len() as u64);
            let end = earlier(buffered_end, self.snd_wnd_end.max(self.snd_una));
            if end.wrapping_sub(self.snd_nxt) as i64 <= 0 {
                return;
            }
            let Some(id) = self.pick(None, end.wrapping_sub(self.snd_nxt)) else { return };
            let start = self.snd_nxt;
            let sent = self.give(now, id, start, end);
            if sent == 0 {
                return;
            }
            // New data: failed subflows are probed from one base interval again (`subflow.rs`,
            // `Health`), so a path's return is noticed within about its RTT during traffic.
            for s in self.subflows.iter_mut().flatten() {
                s.reset_probing(now);
            }
            if start == self.snd_una {
                // Nothing was outstanding: the data-level timer starts now, not at the last
                // acknowledgement (an idle connection would time out at once).
                self.data_progress_at = now;
                self.data_timeouts = 0;
                self.progress_at = now;
            }
            if self.cfg.scheduler == Scheduler::Redundant {
                self.copy_to_others(now, id, start, start.wrapping_add(sent));
            }
            self.snd_nxt = start.wrapping_add(sent);
        }
    }

    /// The redundant scheduler: the same run on every other usable subflow with room.
    fn copy_to_others(&mut self, now: Instant, first: SubflowId, start: u64, end: u64) {
        for id in 0..self.subflows.len() as u8 {
            let usable = self.subflow(id).is_some_and(|s| s.usable() && !s.is_stalled());
            if id != first && usable && self.subflow(id).is_some_and(|s| s.room() > 0) {
                self.give(now, id, start, end);
            }
        }
    }

    /// Gives DSNs `start..end` (as much as fits) to subflow `id`, one mapping per piece;
    /// returns the bytes given.
    fn give(&mut self, now: Instant, id: SubflowId, start: u64, end: u64) -> u64 {
        let csum = self.csum;
        let offset = start.wrapping_sub(self.snd_una) as usize;
        let total = end.wrapping_sub(start) as usize;
        let Some(s) = self.subflows.get_mut(usize::from(id)).and_then(Option::as_mut) else {
            return 0;
        };
        let mut given = 0usize;
        while given < total {
            let room = s.room().min(s.map_limit() as usize);
            let (a, b) = self.snd.peek(offset + given, (total - given).min(room));
            let piece = if a.is_empty() { b } else { a };
            if piece.is_empty() {
                break;
            }
            let dsn = start.wrapping_add(given as u64);
            let sum = csum.then(|| {
                let seq = (s.tx_end as u32).wrapping_add(1);
                (dss_checksum(dsn, seq, piece.len() as u16, piece), piece.len() as u16)
            });
            let taken = s.push(now, dsn, piece, sum);
            if taken == 0 {
                break;
            }
            given += taken;
        }
        given as u64
    }

    /// The subflow for the next bytes (RFC 8684 §3.3.8 leaves the policy open): among the
    /// usable ones with room, the lowest RTT; a backup only when no non-backup subflow is
    /// usable; a stalled one only when nothing else is. Room means a full segment's worth
    /// (or all of `pending`), so mappings, and the segments cut at their ends, stay full.
    pub(super) fn pick(&self, exclude: Option<SubflowId>, pending: u64) -> Option<SubflowId> {
        let tier = |s: &Subflow| {
            if s.is_stalled() { 2 } else { u8::from(s.backup) }
        };
        let live = || self.subflows().filter(move |&(id, s)| s.usable() && Some(id) != exclude);
        let best = live().map(|(_, s)| tier(s)).min()?;
        live()
            .filter(|&(_, s)| {
                let want = (s.tcp.effective_mss() as u64).min(pending).max(1);
                tier(s) == best && s.room() as u64 >= want
            })
            .min_by_key(|&(_, s)| s.srtt())
            .map(|(id, _)| id)
    }

    /// Polls subflow `id` for a segment, with the MPTCP options it carries.
    pub(super) fn poll_subflow(
        &mut self,
        now: Instant,
        id: SubflowId,
        buf: &mut [u8],
    ) -> Option<Transmit> {
        if self.subflow(id).is_some_and(|s| s.fastclose.is_some()) {
            return self.poll_fastclose(now, id, buf);
        }
        let data_ack = self.data_ack();
        let data_fin = self.fin.filter(|&f| f == self.snd_nxt && !self.fin_acked);
        let fastclose = self.fastclose_out.then(|| self.remote.key());
        let echo = self.echo;
        let announce = self.announce_due(now);
        let v0 = self.version() == MptcpVersion::V0;
        // An ADD_ADDR's HMAC (RFC 8684 §3.4.1), only when one is due; v0 has none.
        let hmac = announce.filter(|_| !v0).map(|_| self.hmac());
        let s = self.subflows.get_mut(usize::from(id)).and_then(Option::as_mut)?;
        let mut hook = DssHook {
            v0,
            reset_reason: s.reset_reason,
            maps: &s.tx,
            data_ack,
            data_fin,
            fastclose,
            echo,
            announce,
            hmac: hmac.as_ref(),
            may_omit_dss: s.data_ack_sent,
            wrote_dss: false,
            wrote_echo: false,
            wrote_announce: false,
        };
        let t = s.tcp.poll_transmit(now, buf, &mut hook)?;
        let (wrote_echo, wrote_announce) = (hook.wrote_echo, hook.wrote_announce);
        s.data_ack_sent |= hook.wrote_dss;
        if wrote_echo {
            self.echo = None;
        }
        if wrote_announce && let Some((aid, _)) = announce {
            self.announce_sent(now, aid);
        }
        Some(t)
    }
}

/// Whether iOS reads this DSS's DATA_ACK where it is: every xnu release takes the DATA_ACK of
/// a DSS with both a 64-bit DSN and a 64-bit DATA_ACK from the DSN field (docs/ios-emulation.md
/// §4 rule 6), and then ignores it and sets its send window's edge from it. So a DSS with a
/// mapping carries a 32-bit DATA_ACK, which RFC 8684 §3.3.1 allows (the receiver completes
/// it from its own unacknowledged data level, as Linux and xnu do); a DATA_ACK alone stays 64
/// bits.
pub(super) fn no_misread_ack(dss: &Dss) -> bool {
    let wide_dsn = dss.mapping.is_some_and(|m| m.dsn.is_wide());
    !(wide_dsn && dss.data_ack.is_some_and(|a| a.is_wide()))
}

/// The later of two DSNs (modulo 2^64, within half the space).
pub(super) fn later(a: u64, b: u64) -> u64 {
    if a.wrapping_sub(b) as i64 >= 0 { a } else { b }
}

/// The earlier of two DSNs.
pub(super) fn earlier(a: u64, b: u64) -> u64 {
    if a.wrapping_sub(b) as i64 <= 0 { a } else { b }
}

/// The MPTCP options of one subflow segment.
struct DssHook<'a> {
    /// The connection is MPTCP v0 (RFC 6824): ADD_ADDR without HMAC, no MP_TCPRST.
    v0: bool,
    maps: &'a std::collections::VecDeque<Map>,
    data_ack: u64,
    /// Our DATA_FIN's DSN, when it is due (all data mapped, not acknowledged yet).
    data_fin: Option<u64>,
    /// The peer's key, when our RSTs carry MP_FASTCLOSE.
    fastclose: Option<u64>,
    /// The MP_TCPRST reason of this subflow's RST, when it is reset alone.
    reset_reason: Option<MpTcpRstReason>,
    echo: Option<(u8, std::net::IpAddr, Option<u16>)>,
    announce: Option<(u8, std::net::IpAddr)>,
    hmac: Option<&'a HmacKeys>,
    /// This subflow already sent a DATA_ACK: a segment without data may go without a DSS
    /// when its signals need the room.
    may_omit_dss: bool,
    wrote_dss: bool,
    wrote_echo: bool,
    wrote_announce: bool,
}

impl DssHook<'_> {
    fn mapping_for(&self, segment: &Outgoing) -> Option<DssMapping> {
        if segment.payload_len == 0 {
            return None;
        }
        let m = self.maps.iter().find(|m| m.covers(segment.stream_offset))?;
        let seq = (m.sub as u32).wrapping_add(1);
        let mapping = DssMapping::new(m.dsn, true, seq, m.len as u16);
        Some(match m.csum {
            Some((c, _)) => mapping.with_checksum(c),
            None => mapping,
        })
    }

    /// The DSS of a segment without data: the DATA_ACK (64 bits, or 32 with `wide` false)
    /// and our DATA_FIN when it is due. Beside the DATA_FIN's mapping the DATA_ACK is 32 bits
    /// ([`no_misread_ack`]).
    fn ack_dss(&self, wide: bool) -> Dss {
        let dss = Dss::data_ack_only(self.data_ack, wide && self.data_fin.is_none());
        match self.data_fin {
            Some(fin) => {
                Dss { mapping: Some(DssMapping::data_fin_only(fin, wide)), ..dss.with_data_fin() }
            }
            None => dss,
        }
    }

    /// The options of a segment without data: its DSS and the signals due. RFC 8684 §3.4.1:
    /// an IPv6 ADD_ADDR with its HMAC is 28 bytes, which beside timestamps (12) leaves no
    /// room for a DSS. When both do not fit, the DATA_ACK narrows to 32 bits (§3.3.2 allows
    /// either; enough for a v0 IPv6 ADD_ADDR, 20 bytes), and when that is not enough the DSS
    /// is left out, as Linux leaves the other MPTCP options out of a pure ACK carrying
    /// ADD_ADDR. It is kept on a subflow that never sent a DATA_ACK (docs/ios-emulation.md
    /// §4 rule 1: a DATA_ACK on or before the first ACK of client data) and when it carries our
    /// DATA_FIN.
    fn write_pure_ack(&mut self, w: &mut TcpOptionWriter<'_>) {
        let signals = self.signals_len();
        let room = w.remaining();
        let (wide, narrow) = (self.ack_dss(true), self.ack_dss(false));
        let dss = if signals == 0 || wide.buffer_len() + signals <= room {
            Some(wide)
        } else if narrow.buffer_len() + signals <= room {
            Some(narrow)
        } else if self.may_omit_dss && self.data_fin.is_none() {
            None
        } else {
            Some(wide)
        };
        if let Some(dss) = dss {
            self.wrote_dss = w.push_with(dss.buffer_len(), |b| dss.emit(b)).is_ok();
        }
        self.write_signals(w);
    }

    /// Bytes of the signals due: an echo and an announcement.
    fn signals_len(&self) -> usize {
        let echo =
            self.echo.map_or(0, |(id, addr, port)| AddAddr::echo(id, addr, port).buffer_len());
        let announce = self.announce.map_or(0, |(id, addr)| {
            if self.v0 {
                AddAddr::v0(id, addr, None).buffer_len()
            } else {
                AddAddr::announce(id, addr, None, [0; 8]).buffer_len()
            }
        });
        echo + announce
    }

    fn write_signals(&mut self, w: &mut TcpOptionWriter<'_>) {
        if let Some((id, addr, port)) = self.echo {
            let opt = AddAddr::echo(id, addr, port);
            self.wrote_echo = w.push_with(opt.buffer_len(), |b| opt.emit(b)).is_ok();
        }
        let Some((id, addr)) = self.announce else {
            return;
        };
        // RFC 6824 §3.4.1: a v0 ADD_ADDR has no HMAC; no port either (iOS drops that form).
        let opt = if self.v0 {
            Some(AddAddr::v0(id, addr, None))
        } else {
            let mac = self.hmac.and_then(|h| h.add_addr_hmac(id, addr, None));
            mac.map(|mac| AddAddr::announce(id, addr, None, mac.to_be_bytes()))
        };
        if let Some(opt) = opt {
            self.wrote_announce = w.push_with(opt.buffer_len(), |b| opt.emit(b)).is_ok();
        }
    }
}

impl SegmentHook for DssHook<'_> {
    fn option_space(&self, kind: SegmentKind) -> usize {
        match kind {
            SegmentKind::Other => super::DSS_SPACE,
            _ => 0,
        }
    }

    fn write_options(&mut self, segment: &Outgoing, w: &mut TcpOptionWriter<'_>) {
        if segment.kind == SegmentKind::Reset {
            if let Some(key) = self.fastclose {
                let opt = MpFastclose { receiver_key: key };
                let _ = w.push_with(opt.buffer_len(), |b| opt.emit(b));
            } else if let Some(reason) = self.reset_reason.filter(|_| !self.v0) {
                // RFC 6824 has no MP_TCPRST: a v0 subflow's RST is plain.
                let opt = MpTcpRst::new(reason, false);
                let _ = w.push_with(opt.buffer_len(), |b| opt.emit(b));
            }
            return;
        }
        if segment.kind != SegmentKind::Other {
            return;
        }
        if segment.payload_len == 0 {
            return self.write_pure_ack(w);
        }
        let mut dss = Dss::data_ack_only(self.data_ack, false);
        dss.mapping = self.mapping_for(segment);
        debug_assert!(no_misread_ack(&dss));
        self.wrote_dss = w.push_with(dss.buffer_len(), |b| dss.emit(b)).is_ok();
    }

    fn max_payload(&self, stream_offset: u64) -> usize {
        self.maps
            .iter()
            .find(|m| m.covers(stream_offset))
            .map_or(0, |m| (m.sub_end() - stream_offset) as usize)
    }
}

#[cfg(test)]
mod tests {
    //! The options of a segment without data when signals are due, with the option space a
    //! segment with timestamps leaves (28 of 40 bytes): RFC 8684 §3.4.1, docs/ios-emulation.md §6.

    use std::collections::VecDeque;
    use std::net::IpAddr;

    use super::DssHook;
    use crate::mptcp::crypto::{HashAlgo, HmacKeys, KeyMaterial};
    use crate::tcp::hooks::{Outgoing, SegmentHook, SegmentKind};
    use crate::wire::mptcp::{AddAddr, Dss, MptcpOption, MptcpVersion};
    use crate::wire::tcp::{TcpFlags, TcpSeqNumber};
    use crate::wire::tcp_option::{TcpOptionWriter, TcpOptions};

    /// Option space left beside timestamps (10 bytes and two NOPs).
    const ROOM_WITH_TIMESTAMPS: usize = 28;
    const DATA_ACK: u64 = 0x0102_0304_0506_0708;

    fn v6() -> IpAddr {
        "2001:db8:71::1".parse().expect("address")
    }

    fn keys() -> HmacKeys {
        HmacKeys::new(&KeyMaterial::new(7, HashAlgo::Sha256), 9)
    }

    /// The MPTCP options a pure ACK gets from a hook announcing `addr` as id 1, and what the
    /// hook says it wrote: (DSS, announcement).
    fn pure_ack(
        version: MptcpVersion,
        addr: IpAddr,
        may_omit_dss: bool,
    ) -> (Vec<MptcpOption<'static>>, bool, bool) {
        let maps = VecDeque::new();
        let hmac = keys();
        let v0 = version == MptcpVersion::V0;
        let mut hook = DssHook {
            v0,
            maps: &maps,
            data_ack: DATA_ACK,
            data_fin: None,
            fastclose: None,
            reset_reason: None,
            echo: None,
            announce: Some((1, addr)),
            hmac: (!v0).then_some(&hmac),
            may_omit_dss,
            wrote_dss: false,
            wrote_echo: false,
            wrote_announce: false,
        };
        let segment = Outgoing {
            kind: SegmentKind::Other,
            flags: TcpFlags::ACK,
            seq: TcpSeqNumber(1),
            stream_offset: 0,
            payload_len: 0,
            retransmission: false,
        };
        let mut area = [0u8; ROOM_WITH_TIMESTAMPS];
        let mut w = TcpOptionWriter::new(&mut area);
        hook.write_options(&segment, &mut w);
        let len = w.finish();
        let options = TcpOptions::new(&area[..len]);
        let owned = options.mptcp().map(|b| match MptcpOption::parse(b, version) {
            Ok(MptcpOption::Dss(o)) => MptcpOption::Dss(o),
            Ok(MptcpOption::AddAddr(o)) => MptcpOption::AddAddr(o),
            other => panic!("a pure ACK carries DSS and ADD_ADDR only: {other:?}"),
        });
        (owned.collect(), hook.wrote_dss, hook.wrote_announce)
    }

    fn v1_announcement(addr: IpAddr) -> MptcpOption<'static> {
        let mac = keys().add_addr_hmac(1, addr, None).expect("v1 HMAC");
        MptcpOption::AddAddr(AddAddr::announce(1, addr, None, mac.to_be_bytes()))
    }

    /// RFC 8684 §3.4.1: a v1 IPv6 ADD_ADDR (28 bytes) fills the room timestamps leave: the
    /// DSS is left out, as Linux does on a pure ACK carrying ADD_ADDR.
    #[test]
    fn a_v1_ipv6_add_addr_takes_the_whole_room_of_a_pure_ack() {
        let (options, dss, announced) = pure_ack(MptcpVersion::V1, v6(), true);
        assert_eq!(options, [v1_announcement(v6())]);
        assert!(!dss && announced);
    }

    /// docs/ios-emulation.md §4 rule 1: on a subflow that never sent a DATA_ACK the DSS stays and
    /// the announcement waits for a later segment.
    #[test]
    fn the_dss_stays_on_a_subflow_that_never_sent_a_data_ack() {
        let (options, dss, announced) = pure_ack(MptcpVersion::V1, v6(), false);
        assert_eq!(options, [MptcpOption::Dss(Dss::data_ack_only(DATA_ACK, true))]);
        assert!(dss && !announced);
    }

    /// RFC 6824 §3.4.1: a v0 IPv6 ADD_ADDR (20 bytes) fits beside a 32-bit DATA_ACK (8).
    #[test]
    fn a_v0_ipv6_add_addr_goes_beside_a_32_bit_data_ack() {
        let (options, dss, announced) = pure_ack(MptcpVersion::V0, v6(), true);
        let add = MptcpOption::AddAddr(AddAddr::v0(1, v6(), None));
        assert_eq!(options, [MptcpOption::Dss(Dss::data_ack_only(DATA_ACK, false)), add]);
        assert!(dss && announced);
    }

    /// An IPv4 ADD_ADDR with its HMAC (16 bytes) fits beside the 64-bit DATA_ACK (12).
    #[test]
    fn a_v1_ipv4_add_addr_goes_beside_the_64_bit_data_ack() {
        let v4: IpAddr = "192.0.2.2".parse().expect("address");
        let (options, dss, announced) = pure_ack(MptcpVersion::V1, v4, true);
        let want = [MptcpOption::Dss(Dss::data_ack_only(DATA_ACK, true)), v1_announcement(v4)];
        assert_eq!(options, want);
        assert!(dss && announced);
    }
}
