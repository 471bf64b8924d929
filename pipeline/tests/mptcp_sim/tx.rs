//! The test client's own sending and housekeeping: its scheduler (first usable subflow or
//! round-robin; backups only when nothing else is usable, RFC 8684 §3.2 B bit), reinjection
//! of what a stalled or ended subflow held (§3.3.6), the data-level retransmission of data
//! and DATA_FIN (§3.3.3), the join third ACK repeated until acknowledged (§3.2), and closing
//! the subflows once both DATA_FINs are acknowledged.

use netreaktor_pipeline::tcp::State;
use netreaktor_pipeline::time::{Duration, Instant};

use super::client::MpClient;
use super::hook::Mode;
use super::subflow::{Kind, Sub};

/// Data-level retransmission timeout.
const DATA_RTO: Duration = Duration::from_secs(1);
/// A join's third ACK is sent again after this long without the server's ACK.
const JOIN_ACK_RETRY: Duration = Duration::from_millis(500);

impl MpClient {
    /// Everything after an input or a timeout.
    pub(crate) fn step(&mut self, now: Instant) {
        if self.fastclosed {
            return;
        }
        self.housekeep(now);
        match self.mode {
            Mode::Pending => self.first_piece(now),
            Mode::Mptcp => self.schedule(now),
            Mode::Plain => self.plain(now),
        }
        self.data_timer(now);
        self.finish(now);
    }

    /// Subflow progress, ends and stalls (their data goes to other subflows), join retries.
    fn housekeep(&mut self, now: Instant) {
        for i in 0..self.subs.len() {
            let s = &mut self.subs[i];
            s.retire(now);
            let ended = s.ended() && !s.end_seen;
            let stalled = s.stall_deadline().is_some_and(|t| t <= now);
            if ended {
                s.end_seen = true;
            }
            if stalled {
                s.stalled = true;
            }
            if (ended || stalled) && self.mode == Mode::Mptcp {
                self.reinject_from(i, ended);
            }
            let s = &mut self.subs[i];
            if let Some(at) = join_retry_at(s)
                && at <= now
            {
                s.tcp.send_ack_now();
                s.progress_at = now;
            }
        }
    }

    fn reinject_from(&mut self, i: usize, clear: bool) {
        let una = self.snd_una;
        let runs: Vec<(u64, u64)> = self.subs[i]
            .tx
            .iter()
            .map(|m| (m.data, m.data + m.len))
            .filter(|r| r.1 > una)
            .collect();
        if clear {
            self.subs[i].tx.clear();
        }
        for r in runs {
            if !self.reinject.contains(&r) {
                self.log.reinjected += r.1 - r.0.max(una);
                self.reinject.push_back(r);
            }
        }
    }

    /// RFC 8684 §3.1: before the server shows it speaks MPTCP, only the first segment of
    /// data goes out (mapped by the MP_CAPABLE option).
    fn first_piece(&mut self, now: Instant) {
        let s = &self.subs[0];
        if self.snd_nxt > 0 || self.cfg.tx_len == 0 || s.tcp.state() != State::Established {
            return;
        }
        let n = (s.tcp.effective_mss() as u64).min(self.cfg.tx_len);
        self.give(now, 0, 0, n);
        self.snd_nxt = self.subs[0].tx_end;
    }

    /// Plain TCP: everything on the initial subflow.
    fn plain(&mut self, now: Instant) {
        let end = self.cfg.tx_len;
        let start = self.snd_nxt;
        let open = matches!(self.subs[0].tcp.state(), State::Established | State::CloseWait);
        if start < end && open {
            let given = self.give(now, 0, start, end);
            self.snd_nxt += given;
        }
        let s = &self.subs[0];
        self.snd_una = s.acked.min(self.cfg.tx_len);
    }

    /// Reinjections first, then new data up to the server's data-level window.
    fn schedule(&mut self, now: Instant) {
        loop {
            let reinjecting = self.reinject.front().copied();
            let (start, end) = match reinjecting {
                Some((a, b)) => (a.max(self.snd_una), b),
                None => (self.snd_nxt, self.cfg.tx_len.min(self.wnd_end.max(self.snd_una))),
            };
            if start >= end {
                if reinjecting.is_none() {
                    return;
                }
                self.reinject.pop_front();
                continue;
            }
            let Some(i) = self.pick(reinjecting.is_some()) else { return };
            let given = self.give(now, i, start, end);
            if given == 0 {
                return;
            }
            match self.reinject.front_mut() {
                Some(r) if reinjecting.is_some() => {
                    r.0 = start + given;
                }
                _ => self.snd_nxt = start + given,
            }
        }
    }

    /// The subflow for the next bytes.
    fn pick(&mut self, reinjecting: bool) -> Option<usize> {
        let tier = |s: &Sub| if s.stalled { 2 } else { u8::from(s.backup()) };
        let best = self.subs.iter().filter(|s| s.usable()).map(tier).min()?;
        let ok = |s: &Sub| s.usable() && tier(s) == best && s.room() > 0;
        let n = self.subs.len();
        let start = if self.cfg.sched == super::client::Sched::RoundRobin && !reinjecting {
            self.rr
        } else {
            0
        };
        let i = (0..n).map(|k| (start + k) % n).find(|&i| ok(&self.subs[i]))?;
        self.rr = i + 1;
        Some(i)
    }

    /// Gives data-level bytes `start..end` (as many as fit) to subflow `i`.
    fn give(&mut self, now: Instant, i: usize, start: u64, end: u64) -> u64 {
        let mut buf = vec![0u8; 64 * 1024];
        let mut given = 0;
        while start + given < end {
            let s = &self.subs[i];
            let room = (s.room() as u64).min(s.map_limit()).min(end - start - given);
            let room = room.min(buf.len() as u64) as usize;
            if room == 0 {
                break;
            }
            self.cfg.tx.fill(start + given, &mut buf[..room]);
            let s = &mut self.subs[i];
            let taken = s.tcp.send(&buf[..room]) as u64;
            if taken == 0 {
                break;
            }
            s.record_tx(now, start + given, taken);
            given += taken;
        }
        given
    }

    /// When data or our DATA_FIN has waited too long for its DATA_ACK.
    pub(crate) fn data_deadline(&self) -> Option<Instant> {
        let fin_due = self.snd_nxt == self.cfg.tx_len && !self.fin_acked;
        let waiting = self.snd_una < self.snd_nxt || fin_due;
        (self.mode == Mode::Mptcp && waiting && !self.fastclosed)
            .then_some(self.data_progress_at + DATA_RTO)
    }

    /// The data-level retransmission: the oldest unacknowledged run again, and an ACK to
    /// carry a pending DATA_FIN.
    fn data_timer(&mut self, now: Instant) {
        if self.data_deadline().is_none_or(|t| t > now) {
            return;
        }
        self.data_progress_at = now;
        let end = self.snd_nxt.min(self.snd_una + 64 * 1024);
        if end > self.snd_una && !self.reinject.contains(&(self.snd_una, end)) {
            self.reinject.push_front((self.snd_una, end));
            self.schedule(now);
        }
        if let Some(s) = self.subs.iter_mut().find(|s| s.usable()) {
            s.tcp.send_ack_now();
        }
    }

    /// Reading done, progress noted, subflows closed once the data level is done.
    fn finish(&mut self, now: Instant) {
        let s0 = &self.subs[0];
        let read_closed = match self.mode {
            Mode::Plain => s0.tcp.is_read_closed(),
            _ => self.peer_fin == Some(self.rcv_nxt),
        };
        if self.rcv_nxt == self.cfg.rx_len && read_closed {
            self.log.read_all_at.get_or_insert(now);
        }
        let progress = (self.rcv_nxt, self.snd_una);
        if progress != self.last_seen {
            self.last_seen = progress;
            self.last_progress = now;
        }
        let incomplete = self.log.read_all_at.is_none() || self.snd_una < self.cfg.tx_len;
        if incomplete {
            let stall = now.saturating_duration_since(self.last_progress);
            self.log.longest_stall = self.log.longest_stall.max(stall);
        }
        match self.mode {
            Mode::Plain => self.finish_plain(now),
            Mode::Mptcp => self.finish_mptcp(now),
            Mode::Pending => {}
        }
    }

    fn finish_plain(&mut self, now: Instant) {
        let s0 = &mut self.subs[0];
        let open = matches!(s0.tcp.state(), State::Established | State::CloseWait);
        if self.snd_nxt == self.cfg.tx_len && open && !self.closed_subflows {
            self.closed_subflows = true;
            s0.tcp.close(now);
        }
        let done = matches!(s0.tcp.state(), State::FinWait2 | State::TimeWait | State::Closed);
        if self.closed_subflows && done && s0.tcp.send_queued() == 0 {
            self.fin_acked = true;
        }
    }

    fn finish_mptcp(&mut self, now: Instant) {
        let fin_due = self.snd_nxt == self.cfg.tx_len && self.reinject.is_empty();
        if fin_due && !self.fin_nudged {
            self.fin_nudged = true;
            self.data_progress_at = now;
            if let Some(s) = self.subs.iter_mut().find(|s| s.usable()) {
                s.tcp.send_ack_now();
            }
        }
        if self.fin_acked && self.log.read_all_at.is_some() && !self.closed_subflows {
            self.closed_subflows = true;
            for s in self.subs.iter_mut().filter(|s| !s.ended()) {
                s.closing = true;
                s.tcp.close(now);
            }
        }
    }

    /// The next time a join's third ACK is repeated.
    pub(crate) fn join_retry(&self) -> Option<Instant> {
        self.subs.iter().filter_map(join_retry_at).min()
    }
}

fn join_retry_at(s: &Sub) -> Option<Instant> {
    let waiting = matches!(s.kind, Kind::Join { .. })
        && !s.joined
        && s.ack_hmac.is_some()
        && s.tcp.state() == State::Established;
    waiting.then_some(s.progress_at + JOIN_ACK_RETRY)
}
