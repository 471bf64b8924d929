//! Time and state after every input: subflow timers, failover of stalled subflows
//! (RFC 8684 §3.3.6), reinjection of what closed subflows held, the data-level
//! retransmission of DATA_FIN and of data no subflow delivered, signals due, and the
//! connection's end.

use super::{Connection, Handover, MptcpEnd};
use crate::time::{Duration, Instant};

/// The data-level retransmission timeout's floor: data (or a DATA_FIN) not acknowledged at
/// the data level for this long, or four smoothed RTTs of the slowest subflow if longer, is
/// sent again on the best subflow. The floor of TCP's RTO (RFC 6298 with Linux's 200 ms):
/// the case it covers is data a subflow delivered but the peer dropped at the data level.
const DATA_RTO_MIN: Duration = Duration::from_millis(200);

/// The data-level retransmission timeout's ceiling: it doubles with every timeout in a row
/// (the backoff of RFC 6298 §5.5) up to this.
const DATA_RTO_MAX: Duration = Duration::from_secs(10);

/// Data-level retransmissions of our DATA_FIN, once the peer's DATA_FIN is in and only ours
/// awaits its DATA_ACK (a data-level LAST-ACK), before the connection is reset: with the
/// backoff, about 22 s. TCP bounds LAST-ACK by its retransmissions the same way; without a
/// bound a client that vanished after its DATA_FIN would hold the connection until the idle
/// timeout.
const DATA_FIN_RETRIES: u32 = 6;

/// Bytes reinjected at once by the data-level retransmission timer.
const DATA_RTO_BURST: u64 = 64 * 1024;

/// The shortest time between two ACKs sent for a signal (an ADD_ADDR or its echo) that is
/// still due: a smoothed RTT, but at least this.
const SIGNAL_GAP_MIN: Duration = Duration::from_millis(10);

impl Connection {
    /// The earliest time [`handle_timeout`](Self::handle_timeout) must be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let (floor, rtts) = (self.cfg.failover_floor, self.cfg.failover_rtts);
        let subs = self.subflows.iter().flatten();
        let tcp = subs.clone().filter_map(|s| s.tcp.poll_timeout());
        let stalls = subs.clone().filter_map(|s| s.stall_deadline(floor, rtts));
        let probes = (0..self.subflows.len())
            .filter(|&id| self.other_usable(id))
            .filter_map(|id| self.subflows[id].as_ref().and_then(super::Subflow::probe_deadline));
        let own = [self.announce_deadline(), self.data_deadline(), self.fastclose_deadline()];
        tcp.chain(stalls).chain(probes).chain(own.into_iter().flatten()).min()
    }

    /// Runs the timers due by `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.clock = now;
        for s in self.subflows.iter_mut().flatten() {
            if s.tcp.poll_timeout().is_some_and(|at| at <= now) {
                s.tcp.handle_timeout(now);
            }
        }
        if self.data_deadline().is_some_and(|at| at <= now) {
            self.data_timeout(now);
        }
        self.fastclose_timeout(now);
        self.after_input(now);
    }

    /// Bookkeeping after any input: progress, failover, closed subflows, signals, the end.
    pub(super) fn after_input(&mut self, now: Instant) {
        let (floor, rtts) = (self.cfg.failover_floor, self.cfg.failover_rtts);
        for id in 0..self.subflows.len() {
            let Some(s) = self.subflows[id].as_mut() else { continue };
            s.retire_acked(now);
            let silent_since = s.progress_at;
            let ended = s.ended() && !s.counted_closed;
            let stalled = s.stall_deadline(floor, rtts).is_some_and(|at| at <= now);
            if ended {
                s.counted_closed = true;
                self.stats.subflows_closed += 1;
            }
            if stalled {
                s.fail(now);
                self.stats.potentially_failed += 1;
            }
            // RFC 8684 §3.3.6: a stalled subflow's data is reinjected on the others. With no
            // other, it stays: a copy queued behind the original on the same subflow could
            // only arrive after it; the subflow's own retransmission resends it.
            let reinject = ended || (stalled && self.other_usable(id));
            let held = reinject && self.reinject_from(id);
            // A handover: the subflow failed or ended while data was outstanding (its own,
            // now reinjected, or another's). One under way is extended to what is
            // outstanding now.
            if (ended || stalled) && (held || self.snd_nxt != self.snd_una) {
                self.begin_handover(now, silent_since);
            }
            self.probe(now, id);
        }
        self.nudge_signals(now);
        self.check_end(now);
    }

    /// RFC 8684 §3.3.6: a potentially failed subflow is probed while another carries the
    /// data, so its return is seen within about one of its RTTs, not at its next backed-off
    /// retransmission timeout: its first unacknowledged segment (data the others already
    /// carry) goes out again every probe interval. A lone subflow is left to its own
    /// retransmission timer: no other path waits for its verdict.
    fn probe(&mut self, now: Instant, id: usize) {
        if !self.other_usable(id) {
            return;
        }
        let Some(s) = self.subflows[id].as_mut() else { return };
        self.stats.probe_bytes += s.probe(now);
    }

    /// RFC 8684 §3.3.6: the data of every stalled subflow, kept while it had no other to go
    /// to, is queued for reinjection now that another has joined. An iPhone in handover mode
    /// opens its cellular subflow only once Wi-Fi looks bad: the data the dead Wi-Fi subflow
    /// holds moves to it at once, not at the data-level timeout.
    pub(super) fn reinject_stalled(&mut self) {
        let stalled = |s: &Option<super::Subflow>| s.as_ref().is_some_and(|s| s.is_stalled());
        let ids: Vec<usize> =
            (0..self.subflows.len()).filter(|&i| stalled(&self.subflows[i])).collect();
        for id in ids {
            if self.other_usable(id) {
                self.reinject_from(id);
            }
        }
    }

    /// Whether a subflow other than `id` can carry data.
    fn other_usable(&self, id: usize) -> bool {
        let others = self.subflows.iter().enumerate().filter(|&(i, _)| i != id);
        others.filter_map(|(_, s)| s.as_ref()).any(super::Subflow::usable)
    }

    /// A handover from a subflow silent since `since`: its stall counts the data-level gaps
    /// from then on, the one running now included.
    fn begin_handover(&mut self, now: Instant, since: Instant) {
        let running = now.saturating_duration_since(self.progress_at);
        let past = self.recent_gaps.iter().filter(|g| g.0 >= since).map(|g| g.1).max();
        let gap = past.map_or(running, |p| p.max(running));
        let until = self.snd_nxt;
        let h = self.handover.get_or_insert(Handover { until, gap });
        h.until = until;
        h.gap = h.gap.max(gap);
    }

    /// Queues the runs subflow `id` holds and the peer has not acknowledged at the data
    /// level, to go out on the other subflows at once; returns whether there were any.
    fn reinject_from(&mut self, id: usize) -> bool {
        let una = self.snd_una;
        let Some(s) = self.subflows[id].as_mut() else { return false };
        let ended = s.ended();
        let runs: Vec<(u64, u64)> =
            s.tx.iter()
                .map(|m| (m.dsn, m.dsn.wrapping_add(m.len)))
                .filter(|&(_, end)| end.wrapping_sub(una) as i64 > 0)
                .collect();
        if ended {
            s.tx.clear();
        }
        let held = !runs.is_empty();
        for run in runs {
            if !self.reinject.contains(&run) {
                self.reinject.push_back(run);
            }
        }
        held
    }

    /// Makes a subflow send an ACK when an option waits for one: a DATA_FIN not sent yet,
    /// an ADD_ADDR or its echo. Signals ride only on segments without data (a data segment's
    /// DSS and timestamps leave no room), and a sender with data to send has none of those:
    /// for them the ACK is a segment of its own, ahead of the data (RFC 8684 §3.4.1; Linux
    /// sends ADD_ADDR on a pure ACK the same way), once the subflow has sent a DATA_ACK (its
    /// DSS may then be left out to make room, `DssHook::write_pure_ack`). At most one such
    /// ACK a smoothed RTT (`signal_retry`): a signal that still
    /// does not fit (SACK blocks take the room) waits for the next try rather than making
    /// an ACK of every input, or a timer due at once.
    fn nudge_signals(&mut self, now: Instant) {
        let fin_due = self.fin.is_some_and(|f| f == self.snd_nxt) && !self.fin_acked;
        let signal = self.echo.is_some() || self.announce_due(now).is_some();
        if !(fin_due || signal) || self.end.is_some() {
            return;
        }
        let try_signal = signal && self.signal_retry.is_none_or(|at| at <= now);
        let Some(id) = self.pick_any() else { return };
        let Some(s) = self.subflow_mut(id) else { return };
        let gap = s.srtt().max(SIGNAL_GAP_MIN);
        if try_signal && s.data_ack_sent {
            s.tcp.send_pure_ack_now();
        } else if try_signal || (fin_due && !s.ack_owed) {
            s.tcp.send_ack_now();
        }
        s.ack_owed = fin_due;
        if try_signal {
            self.signal_retry = Some(now + gap);
        }
    }

    /// A usable subflow for control options: the scheduler's choice, ignoring room.
    fn pick_any(&self) -> Option<u8> {
        self.pick(None, 1).or_else(|| self.subflows().find(|(_, s)| s.usable()).map(|(id, _)| id))
    }

    /// When data-level progress is overdue: data or a DATA_FIN outstanding.
    fn data_deadline(&self) -> Option<Instant> {
        let outstanding = self.snd_nxt != self.snd_una || (self.fin.is_some() && !self.fin_acked);
        if !outstanding || self.end.is_some() {
            return None;
        }
        let slowest = self.subflows.iter().flatten().map(|s| s.srtt()).max()?;
        let rto = slowest.saturating_mul(4).max(DATA_RTO_MIN);
        let backed_off = rto.saturating_mul(1u64 << self.data_timeouts.min(16)).min(DATA_RTO_MAX);
        Some(self.data_progress_at + backed_off.max(rto))
    }

    /// The data-level retransmission: the oldest unacknowledged run goes out again on the
    /// best subflow, and a pending DATA_FIN with it.
    fn data_timeout(&mut self, now: Instant) {
        self.stats.data_timeouts += 1;
        if self.only_data_fin_outstanding() && self.data_timeouts >= DATA_FIN_RETRIES {
            self.stats.data_fin_gave_up += 1;
            self.abort(now);
            return;
        }
        self.data_timeouts += 1;
        self.data_progress_at = now;
        let end =
            self.snd_una.wrapping_add(DATA_RTO_BURST.min(self.snd_nxt.wrapping_sub(self.snd_una)));
        if end != self.snd_una && !self.reinject.contains(&(self.snd_una, end)) {
            self.reinject.push_front((self.snd_una, end));
        }
        if let Some(s) = self.subflow_mut_any() {
            s.ack_owed = false;
            s.tcp.send_ack_now();
        }
    }

    fn subflow_mut_any(&mut self) -> Option<&mut super::Subflow> {
        let id = self.pick_any()?;
        self.subflow_mut(id)
    }

    /// The connection's end: clean once both DATA_FINs are acknowledged (then every
    /// subflow closes), reset when every subflow is gone before that.
    fn check_end(&mut self, now: Instant) {
        if self.end.is_some() {
            return;
        }
        let peer_done = self.peer_fin.is_some_and(|f| f == self.rcv_nxt());
        if self.fin_acked && peer_done {
            self.end = Some(MptcpEnd::Closed);
            for s in self.subflows.iter_mut().flatten() {
                s.closing = true;
                s.tcp.close(now);
            }
            return;
        }
        if self.subflows.iter().flatten().all(|s| s.ended()) {
            self.end = Some(MptcpEnd::Reset);
        }
    }
}
