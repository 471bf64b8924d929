//! Active origin health checks (docs/operations.md, "Origin health"): every
//! [`interval`](HealthCheck::interval), the shard opens a TCP connection to each origin of a
//! service whose health has [`check`](crate::proxy::HealthConfig::check) on, from a source
//! port of its own share (`ports.rs`, the same allocation as origin connections, TIME-WAIT
//! reuse included) and through the origin side's reply queue, so the SYN takes the same path
//! as a client's origin connection (next hop, transmit ring).
//!
//! - A SYN,ACK acknowledging our SYN is a success. The shard answers it with a RST
//!   <SEQ=SEG.ACK> (RFC 9293 §3.10.7.3: the RST a SYN-SENT end may send; the origin drops
//!   its half-open connection, §3.10.7.4): the origin's application never accepts the
//!   check, neither end keeps TIME-WAIT, and the port is free at once. A FIN would need the
//!   handshake completed, an accepted connection in the origin's application and a
//!   TIME-WAIT on our side for each check.
//! - A RST acknowledging our SYN is a failure (`refused`), and so is no answer within the
//!   [`timeout`](HealthCheck::timeout) (`timeout`): the SYN is not retransmitted, the
//!   health's `failures` in a row absorb a lost one.
//! - A segment with an unacceptable ACK is answered with a RST <SEQ=SEG.ACK> and the check
//!   goes on (RFC 9293 §3.10.7.3).
//!
//! Outcomes go to the origin's health as connect outcomes do ([`HealthInput`]); each is
//! counted per origin ([`CheckResult`]). Every shard checks every origin: health is per shard
//! (each worker's picker judges the origins itself), and a check's outcome only reaches the
//! picker of the shard that made it. The workers' first checks are spread over one interval
//! (worker `w` of `n` starts `w/n` of an interval in) so an origin sees them evenly.
//! Time is a parameter: [`Shard::handle_timeout`] runs the checks that are due.

use std::net::SocketAddr;

use super::Shard;
use super::table::FourTuple;
use super::telemetry::CheckResult;
use crate::proxy::{HealthCheck, HealthInput};
use crate::tcp::hooks::SynAckOptions;
use crate::tcp::listener::{Reply, ReplyOptions};
use crate::time::{Duration, Instant};
use crate::wire::tcp::{TcpFlags, TcpRepr, TcpSeqNumber};

/// The origin side's index in the shard's reply queues.
const ORIGIN: usize = 1;

/// One origin's checks in one shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct CheckSlot {
    /// When the next check is sent; `None`: not scheduled yet (a new shard, a reload).
    due: Option<Instant>,
    /// The check waiting for its answer.
    probe: Option<Probe>,
}

/// A check's SYN, sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Probe {
    /// Its source address and port.
    local: SocketAddr,
    /// Its sequence number: the SYN,ACK or RST must acknowledge `iss + 1`.
    iss: TcpSeqNumber,
    /// Past it, the check failed.
    deadline: Instant,
}

impl CheckSlot {
    /// The slot an origin that stays in a reload keeps: its schedule and its check in
    /// flight, when the check configuration is the same; otherwise a fresh one.
    pub(super) fn kept(self, same: bool) -> CheckSlot {
        if same { self } else { CheckSlot::default() }
    }

    /// When the slot needs [`Shard::run_checks`] next.
    fn deadline(&self) -> Option<Instant> {
        match self.probe {
            Some(p) => Some(p.deadline),
            None => Some(self.due.unwrap_or(Instant::ZERO)),
        }
    }
}

impl Shard {
    /// When [`run_checks`](Self::run_checks) is due next.
    pub(super) fn checks_deadline(&self) -> Option<Instant> {
        self.next_check
    }

    /// Recomputes [`checks_deadline`](Self::checks_deadline) over every slot: O(origins),
    /// once per check sent or answered.
    fn schedule_checks(&mut self) {
        let checked = self.services.iter().filter(|s| check_of(s).is_some());
        let slots = checked.flat_map(|s| s.checks.iter());
        self.next_check = slots.filter_map(CheckSlot::deadline).min();
    }

    /// Fails the checks past their timeout and sends those that are due at `now`.
    pub(super) fn run_checks(&mut self, now: Instant) {
        if self.next_check.is_none_or(|at| at > now) {
            return;
        }
        for service in 0..self.services.len() {
            let Some(check) = check_of(&self.services[service]) else { continue };
            for index in 0..self.services[service].checks.len() {
                self.run_check(now, (service, index), check);
            }
        }
        self.schedule_checks();
    }

    fn run_check(&mut self, now: Instant, (service, index): (usize, usize), check: HealthCheck) {
        let slot = self.services[service].checks[index];
        if let Some(probe) = slot.probe {
            if now < probe.deadline {
                return;
            }
            self.services[service].checks[index].probe = None;
            self.probes -= 1;
            self.check_outcome(now, (service, index), CheckResult::Timeout);
        }
        let due = match slot.due {
            Some(due) => due,
            None => now + self.first_check_offset(check.interval),
        };
        self.services[service].checks[index].due = Some(due);
        if now < due {
            return;
        }
        self.services[service].checks[index].due = Some(now + check.interval);
        self.send_check(now, (service, index), check.timeout);
    }

    /// How far into the first interval this worker's first checks go: `worker/workers` of
    /// it, so the workers' checks of one origin are spread evenly.
    fn first_check_offset(&self, interval: Duration) -> Duration {
        let (worker, workers) = (u64::from(self.worker), u64::from(self.workers.max(1)));
        Duration::from_micros(interval.total_micros() / workers * worker)
    }

    /// Sends a check's SYN to origin `index` of `service`, from a free port of this shard.
    fn send_check(&mut self, now: Instant, (service, index): (usize, usize), timeout: Duration) {
        let Some(&origin) = self.services[service].picker.origins().get(index) else { return };
        let Some(local) = self.free_port(now, origin) else {
            return self.check_outcome(now, (service, index), CheckResult::NotSent);
        };
        let iss = self.isn.isn(now, local, origin);
        let options = ReplyOptions::SynAck {
            mss: self.origin_tcp.mss,
            wscale: None,
            sack: false,
            ts: None,
            extra: SynAckOptions::default(),
        };
        let syn = Reply {
            local,
            remote: origin,
            seq: iss,
            ack: TcpSeqNumber(0),
            flags: TcpFlags::SYN,
            window: u16::MAX,
            options,
        };
        if !self.replies[ORIGIN].push(syn) {
            self.stats.replies_dropped += 1;
            return self.check_outcome(now, (service, index), CheckResult::NotSent);
        }
        let deadline = now + timeout;
        self.services[service].checks[index].probe = Some(Probe { local, iss, deadline });
        self.probes += 1;
    }

    /// Takes a segment that matched no connection if it answers a check in flight; returns
    /// whether it did (then it needs no other answer).
    pub(super) fn check_answer(
        &mut self,
        now: Instant,
        (local, remote): FourTuple,
        seg: &TcpRepr<'_>,
    ) -> bool {
        let Some((service, index, probe)) = self.find_probe(&(local, remote)) else {
            return false;
        };
        let acked = seg.flags.contains(TcpFlags::ACK) && seg.ack_number == probe.iss + 1usize;
        let result = match (seg.flags.contains(TcpFlags::RST), seg.flags.contains(TcpFlags::SYN)) {
            // RFC 9293 §3.10.7.3: in SYN-SENT, a RST counts only if it acknowledges the SYN.
            (true, _) if acked => CheckResult::Refused,
            (true, _) => return true,
            (false, true) if acked => CheckResult::Success,
            // An unacceptable ACK gets <SEQ=SEG.ACK><CTL=RST>, the check goes on; a
            // segment without ACK (a simultaneous open) is dropped.
            (false, _) => {
                if seg.flags.contains(TcpFlags::ACK) {
                    self.reply_origin(Reply::reset_for(local, remote, seg));
                }
                return true;
            }
        };
        if result == CheckResult::Success {
            // The handshake is not completed: <SEQ=SEG.ACK><CTL=RST> ends it at the origin.
            self.reply_origin(Reply::reset_for(local, remote, seg));
        }
        self.services[service].checks[index].probe = None;
        self.probes -= 1;
        self.check_outcome(now, (service, index), result);
        self.schedule_checks();
        true
    }

    fn reply_origin(&mut self, reply: Reply) {
        if !self.replies[ORIGIN].push(reply) {
            self.stats.replies_dropped += 1;
        }
    }

    /// The check in flight on `tuple`, with its service and origin index. O(origins), and
    /// only while a check is in flight.
    fn find_probe(&self, tuple: &FourTuple) -> Option<(usize, usize, Probe)> {
        if self.probes == 0 {
            return None;
        }
        self.services.iter().enumerate().find_map(|(service, s)| {
            let origins = s.picker.origins().iter();
            origins.zip(&s.checks).enumerate().find_map(|(index, (origin, slot))| {
                let probe = slot.probe.filter(|p| (p.local, *origin) == *tuple)?;
                Some((service, index, probe))
            })
        })
    }

    /// Whether a check in flight holds `tuple` (its port is not free).
    pub(super) fn check_holds(&self, tuple: &FourTuple) -> bool {
        self.find_probe(tuple).is_some()
    }

    /// Counts a check's result and gives it to the origin's health.
    fn check_outcome(&mut self, now: Instant, (service, index): (usize, usize), r: CheckResult) {
        let Some(s) = self.services.get_mut(service) else { return };
        if let Some(stats) = s.origin_stats.get_mut(index) {
            stats.checks.add(r);
        }
        let input = match r {
            CheckResult::Success => HealthInput::Success,
            CheckResult::Refused | CheckResult::Timeout => HealthInput::Failure,
            CheckResult::NotSent => return,
        };
        s.picker.report(index, input, now);
        self.take_health_changes(now, service);
    }

    /// Forgets the count of checks in flight and recounts it (after a reload), then
    /// reschedules.
    pub(super) fn recount_checks(&mut self) {
        let slots = self.services.iter().flat_map(|s| s.checks.iter());
        self.probes = slots.filter(|c| c.probe.is_some()).count();
        self.schedule_checks();
    }
}

/// The service's active check configuration, if checks are on.
fn check_of(s: &super::admission::Service) -> Option<HealthCheck> {
    s.picker.health_config().and_then(|h| h.check)
}
