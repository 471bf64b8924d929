//! Segments from the peer: the subflow's TCP processing first, then the MPTCP options it
//! carried (RFC 8684 §3.3: DSS mappings and DATA_ACK; §3.3.3 DATA_FIN), then the subflow's
//! in-order bytes move into the data-level reassembly buffer by their mappings.

use super::subflow::{MAP_MAX, Map};
use super::{Connection, SubflowId};
use crate::time::Instant;
use crate::wire::mptcp::{Dss, MpCapableKeys, MpTcpRstReason, MptcpOption};
use crate::wire::tcp::{TcpFlags, TcpRepr};

impl Connection {
    /// Processes a segment of subflow `id` (checksum verified by the caller).
    pub fn handle_segment(&mut self, now: Instant, id: SubflowId, seg: &TcpRepr<'_>) {
        self.clock = now;
        if self.fastclose_in(now, seg) || self.fastclose_wait_segment(id, seg) {
            self.after_input(now);
            return;
        }
        let Some(s) = self.subflow_mut(id) else {
            return;
        };
        let received = s.tcp.handle_segment(now, seg);
        if !received.accepted || seg.flags.contains(TcpFlags::RST) {
            self.note_rst(seg);
            self.after_input(now);
            return;
        }
        let data = received.data;
        let version = self.version();
        for bytes in seg.options.mptcp() {
            match MptcpOption::parse(bytes, version) {
                Ok(MptcpOption::Dss(dss)) => self.on_dss(now, id, &dss, data),
                Ok(MptcpOption::MpCapable(cap)) => self.on_capable_data(id, cap.keys, data),
                Ok(option) => self.on_signal(now, id, &option),
                Err(_) => self.stats.malformed_options += 1,
            }
        }
        if let Some(s) = self.subflow_mut(id) {
            s.retire_acked(now);
        }
        self.drain(id);
        self.after_input(now);
    }

    /// The segment that completed the MP_CAPABLE handshake, already processed by the initial
    /// subflow's TCP connection: data it carried is mapped by its MP_CAPABLE option
    /// (RFC 8684 §3.1), or by its DSS when it is a v0 client's first data whose third ACK
    /// was lost (RFC 6824 §3.1: the third ACK is sent once).
    pub fn on_established(&mut self, now: Instant, seg: &TcpRepr<'_>) {
        let data = (!seg.payload.is_empty()).then_some((0, seg.payload.len()));
        let version = self.version();
        for bytes in seg.options.mptcp() {
            match MptcpOption::parse(bytes, version) {
                Ok(MptcpOption::MpCapable(cap)) => self.on_capable_data(0, cap.keys, data),
                Ok(MptcpOption::Dss(dss)) => self.on_dss(now, 0, &dss, data),
                _ => {}
            }
        }
        self.drain(0);
        self.after_input(now);
    }

    /// A DSS option: its DATA_ACK (§3.3.2), its mapping (§3.3.1), its DATA_FIN (§3.3.3).
    fn on_dss(&mut self, now: Instant, id: SubflowId, dss: &Dss, data: Option<(u64, usize)>) {
        if let Some(ack) = dss.data_ack {
            let ack = ack.expand(self.snd_una);
            self.on_data_ack(now, id, ack);
        }
        let Some(m) = dss.mapping else {
            return;
        };
        let dsn = m.dsn.expand(self.rcv_nxt());
        if m.is_infinite() {
            // RFC 8684 §3.7: an infinite mapping is a fallback; not supported past the
            // handshake, so the mapping is counted and ignored.
            self.stats.bad_mappings += 1;
            return;
        }
        let len = u64::from(m.data_len);
        if dss.data_fin {
            self.on_peer_fin(id, dsn.wrapping_add(len - 1));
            if m.subflow_seq == 0 && len == 1 {
                return; // a DATA_FIN without data (§3.3.3)
            }
        }
        let data_len = len - u64::from(dss.data_fin);
        let Some((off, _)) = data else {
            return;
        };
        let sub = expand32(m.subflow_seq.wrapping_sub(1), off);
        let csum = m.checksum.map(|c| (c, m.data_len));
        self.add_rx_map(id, Map { sub, dsn, len: data_len, csum });
    }

    /// The first data of the initial subflow may come with MP_CAPABLE instead of a DSS
    /// (RFC 8684 §3.1): a mapping from DSN IDSN+1 at subflow sequence number 1.
    fn on_capable_data(&mut self, id: SubflowId, keys: MpCapableKeys, data: Option<(u64, usize)>) {
        let MpCapableKeys::BothWithData { data_len, checksum, .. } = keys else {
            return;
        };
        if data.is_none_or(|(off, _)| off != 0) || data_len == 0 {
            return;
        }
        let dsn = self.remote.idsn().wrapping_add(1);
        let csum = checksum.map(|c| (c, data_len));
        self.add_rx_map(id, Map { sub: 0, dsn, len: u64::from(data_len), csum });
    }

    fn add_rx_map(&mut self, id: SubflowId, map: Map) {
        if map.len > MAP_MAX {
            self.stats.bad_mappings += 1;
            return;
        }
        let ok = self.subflow_mut(id).is_some_and(|s| s.add_rx_map(map));
        if !ok {
            self.stats.bad_mappings += 1;
        }
    }

    /// A DATA_ACK: data-level bytes below it are delivered and leave the send buffer. One
    /// beyond what was sent is ignored (counted).
    fn on_data_ack(&mut self, now: Instant, id: SubflowId, ack: u64) {
        let fin_end = self.fin.filter(|&f| f == self.snd_nxt).map(|f| f.wrapping_add(1));
        let highest = fin_end.unwrap_or(self.snd_nxt);
        let ahead = ack.wrapping_sub(self.snd_una);
        if ahead > highest.wrapping_sub(self.snd_una) {
            if ack.wrapping_sub(self.snd_una) as i64 > 0 {
                self.stats.bad_data_acks += 1;
            }
            return;
        }
        self.update_window(id, ack);
        if ahead == 0 {
            return;
        }
        let data = ahead.min(self.snd.len() as u64);
        self.snd.ack(data as usize);
        self.snd_una = self.snd_una.wrapping_add(data);
        self.data_progress_at = now;
        self.data_timeouts = 0;
        let gap = now.saturating_duration_since(self.progress_at);
        if gap >= super::GAP_NOTED {
            if self.recent_gaps.len() == super::GAPS_KEPT {
                self.recent_gaps.pop_front();
            }
            self.recent_gaps.push_back((now, gap));
        }
        if let Some(h) = self.handover.as_mut() {
            h.gap = h.gap.max(gap);
            if self.snd_una.wrapping_sub(h.until) as i64 >= 0 {
                self.handover_stall = Some(h.gap);
                self.longest_stall = self.longest_stall.max(Some(h.gap));
                self.handover = None;
            }
        }
        self.progress_at = now;
        if fin_end == Some(ack) {
            self.fin_acked = true;
        }
        let una = self.snd_una;
        self.reinject.retain(|&(_, end)| end.wrapping_sub(una) as i64 > 0);
    }

    /// RFC 8684 §3.3.7: the window a segment advertises counts from its DATA_ACK; the right
    /// edge never moves back. Only segments with a DATA_ACK count: the third ACK of a join
    /// carries the subflow's own TCP window, which the Linux client does not relate to its
    /// data-level receive window, and data sent past that window is dropped by the receiver
    /// after its subflow acknowledged it (found with the kernel client: a 1 s stall at the
    /// start of some downloads, ended only by the data-level retransmission).
    pub(super) fn update_window(&mut self, id: SubflowId, ack: u64) {
        let window = self.subflow(id).map_or(0, |s| u64::from(s.tcp.send_window()));
        let wnd_end = ack.wrapping_add(window);
        if wnd_end.wrapping_sub(self.snd_wnd_end) as i64 > 0 {
            self.snd_wnd_end = wnd_end;
        }
    }

    /// The peer's DATA_FIN at DSN `fin` (§3.3.3).
    /// The peer's DATA_FIN, on subflow `id`. Reached at once (a DATA_FIN without data after
    /// everything else): acknowledged at once, as a TCP FIN is and as Linux acknowledges a
    /// DATA_FIN, rather than with our next segment (which, in a proxy, is often our own
    /// DATA_FIN once the origin closes).
    fn on_peer_fin(&mut self, id: SubflowId, fin: u64) {
        if self.peer_fin.is_some() {
            return;
        }
        self.peer_fin = Some(fin);
        if fin == self.rcv_nxt()
            && let Some(s) = self.subflow_mut(id)
        {
            s.tcp.send_ack_now();
        }
    }

    /// One past the highest DSN received in order (the DATA_ACK we send, before the FIN).
    pub(super) fn rcv_nxt(&self) -> u64 {
        self.rcv_base.wrapping_add(self.rcv.readable_len() as u64)
    }

    /// The DATA_ACK we send: in-order data, plus one for the peer's DATA_FIN once reached.
    pub(super) fn data_ack(&self) -> u64 {
        let nxt = self.rcv_nxt();
        if self.peer_fin == Some(nxt) { nxt.wrapping_add(1) } else { nxt }
    }

    /// Moves every subflow's mapped in-order bytes into the data-level buffer.
    pub(super) fn drain_all(&mut self) {
        for id in 0..self.subflows.len() {
            self.drain(id as u8);
        }
    }

    /// Moves subflow `id`'s in-order bytes, by their mappings, into the data-level buffer,
    /// as far as it has room; bytes without a mapping wait for one.
    pub(super) fn drain(&mut self, id: SubflowId) {
        let had_fin = self.peer_fin == Some(self.rcv_nxt());
        loop {
            let rcv_nxt = self.rcv_nxt();
            let room = self.receive_room() as u64;
            let Some(s) = self.subflows.get_mut(usize::from(id)).and_then(Option::as_mut) else {
                return;
            };
            if s.tcp.readable().0.is_empty() {
                break;
            }
            let Some(map) = s.rx_map(s.rx_read) else {
                break;
            };
            match verify_checksum(s, &map) {
                Verdict::Wait => break,
                Verdict::Bad => return self.checksum_failed(id),
                Verdict::Good => {}
            }
            let (first, _) = s.tcp.readable();
            let skip = s.rx_read - map.sub;
            let n = (first.len() as u64).min(map.len - skip);
            let dsn = map.dsn.wrapping_add(skip);
            let ahead = dsn.wrapping_sub(rcv_nxt) as i64;
            let (trim, offset) = if ahead < 0 { ((-ahead) as u64, 0) } else { (0, ahead as u64) };
            if trim < n && offset + (n - trim) > room {
                break; // no room at the data level: the subflow's window closes instead
            }
            if trim < n {
                let chunk = &first[trim as usize..n as usize];
                let out = self.rcv.insert(offset as usize, chunk);
                if out.dropped_hole_limit {
                    break;
                }
            } else {
                self.stats.duplicate_bytes += n;
            }
            if let Some(s) = self.subflows.get_mut(usize::from(id)).and_then(Option::as_mut) {
                s.tcp.consume(n as usize);
                s.rx_read += n;
            }
        }
        if !had_fin && self.peer_fin == Some(self.rcv_nxt()) {
            // The DATA_FIN is reached: acknowledge it now (§3.3.3).
            if let Some(s) = self.subflow_mut(id) {
                s.tcp.send_ack_now();
            }
        }
    }

    /// RFC 8684 §3.7: a DSS checksum failed. With other subflows the one that carried the
    /// data is reset (its data comes again on the others); alone, the connection is reset
    /// (fallback to an infinite mapping is not supported: see docs/rfc-compliance.md).
    fn checksum_failed(&mut self, id: SubflowId) {
        self.stats.bad_checksums += 1;
        let now = self.clock;
        if self.live_subflows() > 1 {
            if let Some(s) = self.subflow_mut(id) {
                s.reset(now, MpTcpRstReason(0x01));
            }
        } else {
            self.abort(now);
        }
    }
}

/// The 64-bit value whose low 32 bits are `low`, nearest to `reference` (RFC 8684 §3.3.1:
/// relative subflow sequence numbers are 32 bits).
pub(super) fn expand32(low: u32, reference: u64) -> u64 {
    let candidate = (reference & !0xffff_ffff) | u64::from(low);
    let diff = candidate.wrapping_sub(reference) as i64;
    if diff > i64::from(i32::MAX) {
        candidate.wrapping_sub(1 << 32)
    } else if diff < i64::from(i32::MIN) {
        candidate.wrapping_add(1 << 32)
    } else {
        candidate
    }
}

/// Whether the mapping at a subflow's read position may be read.
enum Verdict {
    /// No checksum, or it verified.
    Good,
    /// Its data is not all here yet.
    Wait,
    /// The checksum did not verify.
    Bad,
}

/// RFC 8684 §3.3.1: a mapping with a checksum is read only once all its data is here and
/// the checksum over it verifies.
fn verify_checksum(s: &mut super::Subflow, map: &Map) -> Verdict {
    // The pseudo-header has the mapping's length as sent: with a DATA_FIN, one more than
    // the data (RFC 8684 §3.3.3).
    let Some((expected, wire_len)) = map.csum else {
        return Verdict::Good;
    };
    if s.rx_verified >= map.sub_end() {
        return Verdict::Good;
    }
    if s.rx_read != map.sub {
        return Verdict::Bad; // part of it was read unchecked: cannot happen, never trust it
    }
    let (a, b) = s.tcp.readable();
    let len = map.len as usize;
    if a.len() + b.len() < len {
        return Verdict::Wait;
    }
    let seq = (map.sub as u32).wrapping_add(1);
    let sum = if a.len() >= len {
        super::tx::dss_checksum(map.dsn, seq, wire_len, &a[..len])
    } else {
        let mut data = Vec::with_capacity(len);
        data.extend_from_slice(a);
        data.extend_from_slice(&b[..len - a.len()]);
        super::tx::dss_checksum(map.dsn, seq, wire_len, &data)
    };
    if sum != expected {
        return Verdict::Bad;
    }
    s.rx_verified = map.sub_end();
    Verdict::Good
}
