//! Segments in, data moved between the subflows and the data level.

use netreaktor_pipeline::tcp::State;
use netreaktor_pipeline::time::Instant;
use netreaktor_pipeline::wire::tcp::{TcpFlags, TcpRepr};

use super::super::keys::{self, Version};
use super::super::options::{self, Incoming};
use super::data::expand;
use super::{Fallback, MpConn};

/// The largest mapping iOS writes (docs/ios-emulation.md §2: ≤ 65535; 16 KiB chunks here).
const MAX_MAPPING: usize = 16 * 1024;
/// RTOs without progress after which iOS calls a subflow bad (docs/ios-emulation.md §5).
const STALL_RTOS: u64 = 2;

impl MpConn {
    /// Processes one segment of subflow `i` (checksum already verified by the caller).
    pub(crate) fn handle_segment(&mut self, i: usize, now: Instant, seg: &TcpRepr<'_>) {
        let Some(s) = self.subflows.get(i) else { return };
        let was = s.tcp.state();
        if was == State::SynSent && seg.flags.contains(TcpFlags::SYN | TcpFlags::ACK) {
            self.on_syn_ack(i, seg);
        }
        let s = &mut self.subflows[i];
        let received = s.tcp.handle_segment(now, seg);
        if s.mp.third_ack_sent && received.accepted {
            s.mp.fourth_ack = true;
        }
        if s.tcp.close_reason().is_some_and(|r| r == netreaktor_pipeline::tcp::CloseReason::Reset)
            && !s.mp.reset
        {
            s.mp.reset = true;
            self.record.subflow_resets += 1;
            if s.mp.data_sent || self.subflows.iter().all(|s| s.tcp.is_closed()) {
                self.on_subflow_lost(now);
            }
        }
        if received.accepted && self.shared.mptcp {
            self.read_options(i, seg);
        }
        self.drain(i, now);
    }

    /// RFC 8684 §3.1 / §3.2: what the SYN/ACK says about MPTCP.
    fn on_syn_ack(&mut self, i: usize, seg: &TcpRepr<'_>) {
        let Some(v) = self.shared.offered else { return };
        let mut found = None;
        for o in seg.options.mptcp() {
            match options::parse(o) {
                Incoming::Other { malformed: true, .. } => self.record.malformed += 1,
                other => found = found.or(Some(other)),
            }
        }
        if self.subflows[i].mp.join.is_some() {
            self.on_join_syn_ack(i, v, found);
            return;
        }
        if self.subflows[i].mp.dropped_option {
            self.fall_back(Fallback::SynRetries);
            return;
        }
        let fallback = match found {
            Some(Incoming::Capable { version, flags, key }) => {
                if version != v.number() {
                    Some(Fallback::VersionMismatch)
                } else if flags & options::FLAG_C != 0
                    && self.shared.generation.c_flag_is_fallback()
                {
                    Some(Fallback::CFlag)
                } else if flags & options::FLAG_A != 0 {
                    Some(Fallback::ChecksumsNotEmulated)
                } else {
                    self.shared.key_b = key;
                    self.shared.idsn_b = keys::idsn(v, key);
                    None
                }
            }
            _ => Some(Fallback::NoCapableInSynAck),
        };
        match fallback {
            Some(f) => self.fall_back(f),
            None => {
                self.shared.mptcp = true;
                self.record.version = Some(v);
                self.shared.data_ack = self.shared.idsn_b.wrapping_add(1);
                self.data.set_spaces(
                    self.shared.idsn_a.wrapping_add(1),
                    self.shared.idsn_b.wrapping_add(1),
                );
            }
        }
    }

    /// RFC 8684 §3.2: the server's HMAC (leftmost 64 bits of HMAC(key_B‖key_A, R_B‖R_A)).
    fn on_join_syn_ack(&mut self, i: usize, v: Version, found: Option<Incoming>) {
        let (a, b) = (self.shared.key_a, self.shared.key_b);
        let s = &mut self.subflows[i];
        let Some(j) = s.mp.join.as_mut() else { return };
        let ok = match found {
            Some(Incoming::JoinSynAck { hmac64, nonce }) => {
                j.peer_nonce = Some(nonce);
                let mac = keys::join_hmac(v, b, a, nonce, j.nonce);
                mac[..8] == hmac64.to_be_bytes()
            }
            _ => false,
        };
        if ok {
            self.record.joins += 1;
        } else {
            j.bad_hmac = true;
        }
    }

    fn fall_back(&mut self, why: Fallback) {
        self.shared.mptcp = false;
        self.shared.fallback = Some(why);
        self.record.fallback = Some(why);
        self.data.set_spaces(0, 0);
    }

    /// The server's DSS options: DATA_ACK, mappings, DATA_FIN; MP_FASTCLOSE.
    fn read_options(&mut self, i: usize, seg: &TcpRepr<'_>) {
        let pure_ack = seg.flags == TcpFlags::ACK;
        for o in seg.options.mptcp() {
            match options::parse(o) {
                Incoming::Dss { ack, map } => {
                    // docs/ios-emulation.md §4 rule 6: with a 64-bit DSN beside a 64-bit
                    // DATA_ACK, xnu takes the DATA_ACK from the DSN field (and then ignores it
                    // as out of range): so does this phone.
                    let ack = match (ack, map) {
                        (Some((_, true)), Some((dsn, true, ..))) => Some((dsn, true)),
                        _ => ack,
                    };
                    if let Some((ack, wide)) = ack {
                        let ack = if wide { ack } else { expand(self.data.snd_una, ack as u32) };
                        self.data.on_data_ack(ack);
                        if self.data.snd_una > self.shared.idsn_a.wrapping_add(1) {
                            self.shared.first_data_acked = true;
                        }
                    }
                    if let Some((dsn, wide, ssn, len, fin)) = map {
                        let dsn = if wide { dsn } else { expand(self.data.rcv_nxt, dsn as u32) };
                        self.on_mapping(i, dsn, ssn, len, fin);
                    }
                }
                Incoming::FastClose { key } if pure_ack && key == self.shared.key_a => {
                    self.record.fastclose = true;
                }
                Incoming::Other { malformed: true, .. } => self.record.malformed += 1,
                _ => {}
            }
        }
    }

    /// RFC 8684 §3.3.1: a mapping of subflow bytes (relative SSN) to DSNs; a DATA_FIN takes
    /// one DSN after the data (§3.3.3).
    fn on_mapping(&mut self, i: usize, dsn: u64, ssn: u32, len: u16, fin: bool) {
        let data_len = u64::from(len) - u64::from(fin && len > 0);
        if fin {
            self.data.on_peer_fin(dsn + data_len);
        }
        if ssn == 0 || data_len == 0 {
            return;
        }
        let off = u64::from(ssn - 1);
        let mp = &mut self.subflows[i].mp;
        if !mp.rx_maps.iter().any(|m| m.0 == off) && off + data_len > mp.consumed {
            mp.rx_maps.push_back((off, dsn, data_len));
        }
    }

    /// Moves subflow `i`'s in-order bytes to the data level through its mappings.
    fn drain(&mut self, i: usize, now: Instant) {
        let mptcp = self.shared.mptcp;
        let s = &mut self.subflows[i];
        loop {
            let (a, _) = s.tcp.readable();
            if a.is_empty() {
                break;
            }
            let at = s.mp.consumed;
            let (dsn, n) = if mptcp {
                s.mp.rx_maps.retain(|m| m.0 + m.2 > at);
                let Some(&(off, dsn, len)) = s.mp.rx_maps.iter().find(|m| m.0 <= at) else { break };
                (
                    dsn + (at - off),
                    a.len().min(usize::try_from(off + len - at).unwrap_or(usize::MAX)),
                )
            } else {
                (at, a.len())
            };
            self.data.on_data(dsn, &a[..n], now);
            s.tcp.consume(n);
            s.mp.consumed += n as u64;
        }
        if !mptcp && s.tcp.is_read_closed() && !self.data.peer_finished {
            self.data.on_peer_fin(self.data.rcv_nxt);
        }
        if mptcp {
            self.shared.data_ack = self.data.rcv_nxt;
        }
    }

    /// The subflow that carries new data: the first live non-backup one, else any live one.
    fn active(&self) -> Option<usize> {
        let live = |s: &&super::Subflow| {
            matches!(s.tcp.state(), State::Established | State::CloseWait)
                && !s.mp.reset
                && !s.mp.stalled
                && s.mp.join.is_none_or(|j| {
                    !j.bad_hmac && (!self.shared.habits.join_ack_retx || s.mp.fourth_ack)
                })
        };
        let pick = |backup: bool| {
            self.subflows
                .iter()
                .position(|s| live(&s) && s.mp.join.is_some_and(|j| j.backup) == backup)
        };
        pick(false).or_else(|| pick(true))
    }

    /// Hands queued application data to subflow `i` if it is the active one; closes the
    /// subflows with DATA_FIN once everything was DATA_ACKed.
    pub(super) fn push_data(&mut self, i: usize) {
        if self.active() != Some(i) {
            return;
        }
        let s = &mut self.subflows[i];
        if self.shared.mptcp && !s.mp.third_ack_sent {
            // The third ACK goes out pure first, as iOS's does (docs/ios-emulation.md §2).
            s.tcp.send_ack_now();
            return;
        }
        let acked = s.mp.queued - s.tcp.send_queued() as u64;
        s.mp.tx_maps.retain(|m| m.0 + u64::from(m.2) > acked);
        if !self.shared.mptcp {
            // Plain TCP: the data level is the subflow's byte stream; TCP's ACK is the DATA_ACK.
            self.data.on_data_ack(acked);
        }
        loop {
            let room = s.tcp.send_capacity().min(MAX_MAPPING);
            let (dsn, chunk) = self.data.next_chunk(room);
            if chunk.is_empty() {
                break;
            }
            let n = s.tcp.send(&chunk);
            if n == 0 {
                break;
            }
            s.mp.tx_maps.push_back((s.mp.queued, dsn, n as u16));
            s.mp.queued += n as u64;
            self.data.snd_nxt = dsn + n as u64;
        }
    }

    /// The application finished writing: once all data is acknowledged, every subflow sends
    /// its FIN with a DATA_FIN (docs/ios-emulation.md §4 rule 8).
    pub(crate) fn close_when_acked(&mut self, now: Instant) {
        self.data.fin_requested = true;
        let end = self.data.end();
        let all_acked =
            if self.shared.mptcp { self.data.snd_una == end } else { self.data.snd_nxt == end };
        if !all_acked {
            return;
        }
        if !self.shared.mptcp {
            self.data.fin_acked = true;
        }
        for s in &mut self.subflows {
            if s.mp.data_fin.is_none()
                && matches!(s.tcp.state(), State::Established | State::CloseWait)
            {
                s.mp.data_fin = Some(end);
                s.tcp.close(now);
            }
        }
    }

    /// A subflow was lost: its unacknowledged data goes out again on another (docs/ios-
    /// emulation.md §5, reinjection with the same DSNs).
    fn on_subflow_lost(&mut self, _now: Instant) {
        let live = |s: &super::Subflow| !s.mp.reset && !s.mp.stalled && !s.tcp.is_closed();
        if self.shared.mptcp && self.subflows.iter().any(live) {
            self.record.reinjected_bytes += self.data.reinject();
        } else if self.subflows.iter().all(|s| s.tcp.is_closed()) && !self.record.fastclose {
            self.record.hung = self.shared.mptcp;
        }
    }

    /// Checks the subflows for ones that died of timeouts, as [`handle_segment`](Self::handle_segment) does for
    /// resets.
    pub(crate) fn check_subflows(&mut self, now: Instant) {
        let mut lost = false;
        let mut recovered = false;
        let others = self.subflows.len() > 1;
        for s in &mut self.subflows {
            let st = s.tcp.stats();
            if st.bytes_acked > s.mp.progress.1 {
                s.mp.progress = (st.rtos, st.bytes_acked);
                recovered |= s.mp.stalled && s.mp.join.is_none();
                s.mp.stalled = false;
            } else if others
                && !s.mp.stalled
                && st.rtos >= s.mp.progress.0 + STALL_RTOS
                && s.tcp.send_queued() > 0
            {
                // docs/ios-emulation.md §5: after 2 RTOs iOS moves its data to the other
                // subflow and reinjects what was not acknowledged, with the same DSNs.
                s.mp.stalled = true;
                lost = true;
            }
            if s.tcp.is_closed()
                && !s.mp.reset
                && s.tcp
                    .close_reason()
                    .is_some_and(|r| r != netreaktor_pipeline::tcp::CloseReason::Closed)
            {
                s.mp.reset = true;
                // A join refused before it carried data loses nothing.
                lost |= s.mp.data_sent;
            }
        }
        if recovered
            && self.shared.service == super::Service::Handover
            && self.shared.habits.reset_cell_on_recovery
        {
            // docs/ios-emulation.md §5: when Wi-Fi works again in handover mode, iOS resets
            // every cellular subflow.
            for s in self.subflows.iter_mut().filter(|s| s.mp.join.is_some() && !s.tcp.is_closed())
            {
                s.tcp.abort(now);
                s.mp.reset = true;
                self.record.cell_resets += 1;
                lost |= s.mp.data_sent;
            }
        }
        if lost {
            self.on_subflow_lost(now);
        }
    }

    /// The server is known to hold the connection fully established (it DATA_ACKed our data
    /// or sent its own): only then does it take joins (RFC 8684 §3.2).
    pub(crate) fn fully_established(&self) -> bool {
        self.shared.mptcp
            && (self.shared.first_data_acked
                || self.data.rcv_nxt > self.shared.idsn_b.wrapping_add(1))
    }

    /// Joins opened so far, live or not.
    pub(crate) fn joins_open(&self) -> usize {
        self.subflows.iter().filter(|s| s.mp.join.is_some()).count()
    }

    /// A joined subflow is open or opening.
    pub(crate) fn has_live_join(&self) -> bool {
        self.subflows.iter().any(|s| s.mp.join.is_some() && !s.mp.reset && !s.tcp.is_closed())
    }
}
