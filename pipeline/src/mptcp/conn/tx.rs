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
            wrote_echo: false,
            wrote_announce: false,
        };
        let t = s.tcp.poll_transmit(now, buf, &mut hook)?;
        let (wrote_echo, wrote_announce) = (hook.wrote_echo, hook.wrote_announce);
        if wrote_echo {
            self.echo = None;
        }
        if wrote_announce && let Some((aid, _)) = announce {
            self.announce_sent(now, aid);
        }
        Some(t)
    }
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
        let mut dss = Dss::data_ack_only(self.data_ack, true);
        match self.mapping_for(segment) {
            Some(m) => dss.mapping = Some(m),
            None => {
                if let Some(fin) = self.data_fin {
                    dss = dss.with_data_fin();
                    dss.mapping = Some(DssMapping::data_fin_only(fin, true));
                }
            }
        }
        let _ = w.push_with(dss.buffer_len(), |b| dss.emit(b));
        if segment.payload_len == 0 {
            self.write_signals(w);
        }
    }

    fn max_payload(&self, stream_offset: u64) -> usize {
        self.maps
            .iter()
            .find(|m| m.covers(stream_offset))
            .map_or(0, |m| (m.sub_end() - stream_offset) as usize)
    }
}
