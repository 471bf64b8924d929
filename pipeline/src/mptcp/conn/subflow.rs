//! One subflow of an MPTCP connection: its TCP connection, the DSS mappings of the bytes it
//! carries each way, and its failover state (RFC 8684 §3.3.1, §3.3.6).

use std::collections::VecDeque;

use super::fastclose::FastcloseWait;
use crate::tcp::Connection as Tcp;
use crate::tcp::State;
use crate::tcp::cc::CongestionControl;
use crate::time::{Duration, Instant};
use crate::wire::mptcp::MpTcpRstReason;

/// A mapping's length is a 16-bit field (RFC 8684 §3.3.1).
pub(super) const MAP_MAX: u64 = u16::MAX as u64;

/// A run of subflow stream bytes and the data sequence numbers they carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Map {
    /// Subflow stream offset (bytes after the SYN) of the first byte.
    pub(super) sub: u64,
    /// Its data sequence number.
    pub(super) dsn: u64,
    /// Bytes mapped.
    pub(super) len: u64,
    /// The DSS checksum of the mapping and the data-level length it was computed with
    /// (one more than `len` when the mapping carries a DATA_FIN), when checksums are in use.
    pub(super) csum: Option<(u16, u16)>,
}

impl Map {
    pub(super) fn sub_end(&self) -> u64 {
        self.sub + self.len
    }

    /// Whether `off` lies inside.
    pub(super) fn covers(&self, off: u64) -> bool {
        off >= self.sub && off < self.sub_end()
    }
}

/// How often a failed subflow is probed, at the most: its own smoothed RTT, but not more
/// often than this (a LAN RTT of a fraction of a millisecond would flood a dead path).
pub(super) const PROBE_FLOOR: Duration = Duration::from_millis(20);

/// The longest probe interval: unanswered probes back off, each interval twice the last,
/// up to this (docs/architecture.md, "Failover"), so an idle connection with a dead subflow
/// costs a probe every few seconds, not one every RTT until its idle timeout.
pub(super) const PROBE_CAP: Duration = Duration::from_secs(2);

/// A subflow's failover state (RFC 8684 §3.3.6 "potentially failed"; the policy is left to
/// the implementation). Transitions, all in [`Subflow::retire_acked`] and
/// `Connection::after_input`:
///
/// ```text
///   Active --(data outstanding, no ACK for the failover time)--------> Failed
///   Failed --(an ACK of new data: a probe or retransmission answered)-> Active
///   Failed --(probe due, another subflow usable: one segment resent,
///             the next interval doubled up to PROBE_CAP)-------------> Failed
///   Failed --(new data for the connection: the interval back to one
///             base interval, the next probe at most that far off)-----> Failed
/// ```
///
/// The backoff keeps an idle connection cheap; the reset on new data keeps a path's return
/// noticed within about one of its RTTs while the connection carries traffic.
///
/// A failed subflow is the scheduler's last choice until it shows life, whether or not it
/// holds data: a new burst of data does not try it first. Backup subflows follow the same
/// rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Health {
    /// Usable for new data by its rank (non-backup, then backup).
    Active,
    /// Potentially failed; its first unacknowledged segment is resent at `next_probe`,
    /// after `probes` unanswered probes since the last reset of the backoff.
    Failed { next_probe: Instant, probes: u32 },
}

/// A subflow.
#[derive(Debug)]
pub struct Subflow {
    pub(super) tcp: Tcp,
    /// The peer's address id for this subflow's source (0 for the initial subflow).
    pub(super) remote_id: u8,
    /// The peer asked us to use it only as a backup (MP_JOIN B bit, MP_PRIO).
    pub(super) backup: bool,
    /// Its failover state: a failed one is avoided by the scheduler until it makes progress.
    pub(super) health: Health,
    /// When its acknowledged offset last moved, or it last went from idle to busy.
    pub(super) progress_at: Instant,
    /// Its acknowledged stream offset at that time.
    pub(super) acked: u64,
    /// Mappings of the bytes given to its send buffer and not acknowledged by it yet.
    pub(super) tx: VecDeque<Map>,
    /// Stream offset just past the last byte given to its send buffer.
    pub(super) tx_end: u64,
    /// Mappings received for bytes not read from it yet.
    pub(super) rx: VecDeque<Map>,
    /// Stream offset of the next byte to read from its receive buffer.
    pub(super) rx_read: u64,
    /// Stream offset up to which received mappings passed their DSS checksum.
    pub(super) rx_verified: u64,
    /// It sent a DSS with a DATA_ACK (docs/ios-emulation.md §4 rule 1: one must go on or before the
    /// first ACK of the client's data, so a segment may go without one only after).
    pub(super) data_ack_sent: bool,
    /// An ACK is owed for the MPTCP layer's sake (join fourth ACK, signals).
    pub(super) ack_owed: bool,
    /// Its close was requested (REMOVE_ADDR, the connection ending).
    pub(super) closing: bool,
    /// Its end was counted.
    pub(super) counted_closed: bool,
    /// The MP_TCPRST reason its RST carries, when we reset it (RFC 8684 §3.6).
    pub(super) reset_reason: Option<MpTcpRstReason>,
    /// Its FASTCLOSE_WAIT (RFC 8684 §3.5), while our fast close waits for the peer.
    pub(super) fastclose: Option<FastcloseWait>,
}

impl Subflow {
    pub(super) fn new(tcp: Tcp, remote_id: u8, backup: bool, now: Instant) -> Subflow {
        Subflow {
            tcp,
            remote_id,
            backup,
            health: Health::Active,
            progress_at: now,
            acked: 0,
            tx: VecDeque::new(),
            tx_end: 0,
            rx: VecDeque::new(),
            rx_read: 0,
            rx_verified: 0,
            data_ack_sent: false,
            ack_owed: false,
            closing: false,
            counted_closed: false,
            reset_reason: None,
            fastclose: None,
        }
    }

    /// Closes it for our fast close (RFC 8684 §3.5): the TCP connection closes without a
    /// RST, its data and mappings are dropped, and FASTCLOSE_WAIT begins, its first ACK due.
    pub(super) fn begin_fastclose(&mut self, now: Instant) {
        let high = self.tcp.snd_nxt();
        // The send buffer holds the bytes from SND.UNA on: its start is at most SND.UNA.
        let low = high - self.tcp.send_queued();
        self.tcp.abort_without_reset(now);
        self.tx.clear();
        self.health = Health::Active;
        self.closing = true;
        self.fastclose = Some(FastcloseWait::new(now, low, high));
    }

    /// Whether nothing more will pass on it: its TCP connection is CLOSED and no fast close
    /// waits on it.
    pub(super) fn is_closed(&self) -> bool {
        self.tcp.is_closed() && self.fastclose.is_none()
    }

    /// Resets this subflow alone, its RST carrying MP_TCPRST with `reason` (RFC 8684 §3.6).
    pub(super) fn reset(&mut self, now: Instant, reason: MpTcpRstReason) {
        self.reset_reason = Some(reason);
        self.tcp.abort(now);
    }

    /// The TCP connection.
    pub fn tcp(&self) -> &Tcp {
        &self.tcp
    }

    /// Whether the peer asked for it to be a backup.
    pub fn is_backup(&self) -> bool {
        self.backup
    }

    /// Whether it is potentially failed now.
    pub fn is_stalled(&self) -> bool {
        self.health != Health::Active
    }

    /// Marks it potentially failed (RFC 8684 §3.3.6); its first probe is due one probe
    /// interval from `now`.
    pub(super) fn fail(&mut self, now: Instant) {
        self.health = Health::Failed { next_probe: now + self.probe_interval(0), probes: 0 };
    }

    /// New data for the connection: a failed subflow's probing restarts from one base
    /// interval, so its return is seen within about one RTT while there is traffic.
    pub(super) fn reset_probing(&mut self, now: Instant) {
        if let Health::Failed { next_probe, probes } = self.health
            && probes > 0
        {
            let soon = now + self.probe_interval(0);
            self.health = Health::Failed { next_probe: next_probe.min(soon), probes: 0 };
        }
    }

    /// When a failed subflow's next probe is due.
    pub(super) fn probe_deadline(&self) -> Option<Instant> {
        match self.health {
            Health::Failed { next_probe, .. } if !self.ended() => Some(next_probe),
            _ => None,
        }
    }

    /// Probes a failed subflow whose probe is due by `now`: its first unacknowledged segment
    /// goes out again at once (no congestion response), so the first ACK after the path
    /// returns shows progress; the next probe is one interval later, the interval doubling
    /// with every unanswered probe up to [`PROBE_CAP`]. Returns the bytes resent.
    pub(super) fn probe(&mut self, now: Instant) -> u64 {
        let Health::Failed { next_probe, probes } = self.health else { return 0 };
        if self.ended() || next_probe > now {
            return 0;
        }
        let probes = probes.saturating_add(1);
        self.health = Health::Failed { next_probe: now + self.probe_interval(probes), probes };
        self.tcp.resend_first_segment() as u64
    }

    /// The probe interval after `probes` unanswered probes: its smoothed RTT, at least
    /// [`PROBE_FLOOR`], doubled per probe, at most [`PROBE_CAP`].
    fn probe_interval(&self, probes: u32) -> Duration {
        let base = self.srtt().max(PROBE_FLOOR);
        base.saturating_mul(1u64 << probes.min(16)).min(PROBE_CAP.max(base))
    }

    /// Whether it can carry new data (established, not closing).
    pub(super) fn usable(&self) -> bool {
        matches!(self.tcp.state(), State::Established | State::CloseWait) && !self.closing
    }

    /// Whether its TCP connection is over (CLOSED or TIME-WAIT) and no fast close waits on
    /// it (one with only its RST left to send waits no more).
    pub(super) fn ended(&self) -> bool {
        let over = self.tcp.is_closed() || self.tcp.state() == State::TimeWait;
        over && self.fastclose.is_none_or(|w| w.only_rst_left())
    }

    /// Stream offset up to which the peer acknowledged our bytes.
    pub(super) fn acked_offset(&self) -> u64 {
        self.tx_end - self.tcp.send_queued().min(self.tx_end as usize) as u64
    }

    /// Bytes it may take now: what its congestion window has room for beyond what it
    /// holds, and what its send buffer has room for.
    pub(super) fn room(&self) -> usize {
        let cwnd = self.tcp.congestion().cwnd();
        let window = (self.tcp.send_window() as usize).max(self.tcp.effective_mss());
        let held = self.tcp.send_queued();
        cwnd.min(window).saturating_sub(held).min(self.tcp.send_capacity())
    }

    /// Smoothed RTT (the initial RTO's worth before a sample).
    pub(super) fn srtt(&self) -> Duration {
        self.tcp.rtt().srtt().unwrap_or(Duration::from_secs(1))
    }

    /// Gives `data` (DSN `dsn`) to its send buffer; returns the bytes taken and records
    /// their mapping. A mapping is never extended once made: segments already sent carry
    /// it, and a receiver may refuse a different mapping for bytes it holds (RFC 8684
    /// §3.3.1 requires mappings to be consistent).
    pub(super) fn push(
        &mut self,
        now: Instant,
        dsn: u64,
        data: &[u8],
        csum: Option<(u16, u16)>,
    ) -> usize {
        let taken = self.tcp.send(data) as u64;
        if taken == 0 {
            return 0;
        }
        let sub = self.tx_end;
        self.tx_end += taken;
        if self.tx.is_empty() {
            // A busy period starts: progress is measured from now.
            self.progress_at = now;
        }
        self.tx.push_back(Map { sub, dsn, len: taken, csum });
        taken as usize
    }

    /// The longest mapping: whole segments up to the 16-bit length field, so segment
    /// boundaries do not cut data short.
    pub(super) fn map_limit(&self) -> u64 {
        let mss = self.tcp.effective_mss().max(1) as u64;
        (MAP_MAX / mss).max(1) * mss
    }

    /// Drops the mappings of bytes the peer acknowledged; notes progress.
    pub(super) fn retire_acked(&mut self, now: Instant) -> bool {
        let acked = self.acked_offset();
        let moved = acked > self.acked;
        if moved {
            self.acked = acked;
            self.progress_at = now;
            self.health = Health::Active;
        }
        while self.tx.front().is_some_and(|m| m.sub_end() <= acked) {
            self.tx.pop_front();
        }
        moved
    }

    /// Whether data is outstanding with no acknowledgement for longer than the failover
    /// time (RFC 8684 §3.3.6 leaves the policy to the implementation).
    pub(super) fn stall_deadline(&self, floor: Duration, rtts: u32) -> Option<Instant> {
        if self.is_stalled() || self.tx.is_empty() || self.ended() {
            return None;
        }
        let rtt = self.tcp.rtt();
        let var = rtt.rttvar().unwrap_or_default().saturating_mul(4);
        let base = rtt.srtt().map(|s| s.saturating_mul(u64::from(rtts)) + var);
        Some(self.progress_at + base.unwrap_or(floor).max(floor))
    }

    /// Records a received mapping; one wholly read is ignored, one overlapping a held
    /// mapping with the same offset (a peer that extended its mapping) widens it. Returns
    /// false when it contradicts one held (same bytes, another DSN).
    pub(super) fn add_rx_map(&mut self, map: Map) -> bool {
        if map.sub_end() <= self.rx_read || map.len == 0 {
            return true;
        }
        let delta = map.dsn.wrapping_sub(map.sub);
        if let Some(m) = self.rx.iter_mut().find(|m| m.sub < map.sub_end() && map.sub < m.sub_end())
        {
            if m.dsn.wrapping_sub(m.sub) != delta {
                return false;
            }
            if map.csum.is_none() && m.csum.is_none() {
                let (start, end) = (m.sub.min(map.sub), m.sub_end().max(map.sub_end()));
                *m = Map {
                    sub: start,
                    dsn: delta.wrapping_add(start),
                    len: end - start,
                    csum: None,
                };
            }
            return true;
        }
        let at = self.rx.iter().position(|m| m.sub > map.sub).unwrap_or(self.rx.len());
        if self.rx.len() < RX_MAPS_MAX {
            self.rx.insert(at, map);
        }
        true
    }

    /// The received mapping covering stream offset `off`, dropping the ones before it.
    pub(super) fn rx_map(&mut self, off: u64) -> Option<Map> {
        while self.rx.front().is_some_and(|m| m.sub_end() <= off) {
            self.rx.pop_front();
        }
        self.rx.front().copied().filter(|m| m.covers(off))
    }
}

/// Mappings held per subflow for bytes not read yet: a bounded list, so a peer sending many
/// small mappings ahead of the data cannot grow memory (RFC 8684 §3.3.1 lets a receiver
/// drop what it cannot hold; the data is retransmitted with its mapping).
const RX_MAPS_MAX: usize = 256;
