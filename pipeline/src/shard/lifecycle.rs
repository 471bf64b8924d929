//! A splice's life after any input: [`Shard::settle`] retries a failed origin, counts bytes,
//! ends and setup times, reports an origin's connection (or an attempt abandoned) to its
//! health, keeps the census and the `max_connections` release; once a splice
//! has nothing more to send, [`Shard::poll_splices`] reaps it, handing connections in
//! TIME-WAIT to the TIME-WAIT tables (`time_wait.rs`, RFC 9293 §3.4.2) and freeing its
//! entry.

use super::Shard;
use super::admission::release;
use super::events::{HandoverSummary, ShardEvent};
use super::origins::Outcome;
use super::output::{ShardTransmit, ip_header_len, place_ip_header};
use super::stats::{Census, ShardStats, finished};
use super::table::Entry;
use super::telemetry::EndKind;
use crate::proxy::{Side, SpliceEnd, SplicePhase};
use crate::time::Instant;

impl Shard {
    /// The splices queued on `side`, front first; an entry leaves the queue once it has
    /// nothing more to send there, and the shard once both its connections are closed.
    pub(super) fn poll_splices(
        &mut self,
        now: Instant,
        side: Side,
        buf: &mut [u8],
    ) -> Option<ShardTransmit> {
        loop {
            let slot = self.table.queued_front(side)?;
            if let Some(e) = self.table.get_mut(slot) {
                // The side's (initial) 4-tuple guesses the IP header's length: a splice's
                // two sides may be of different IP versions, and a join subflow of another
                // version than the initial one is placed by `place_ip_header`.
                let ip_len = ip_header_len(match side {
                    Side::Client => e.splice.client().tuple().1,
                    Side::Origin => e.splice.origin().remote(),
                });
                let seg = buf.get_mut(ip_len..)?;
                if let Some(((local, remote), t)) = e.splice.poll_transmit_side(now, side, seg) {
                    let len = place_ip_header(buf, ip_len, local, remote, t.len)?;
                    return Some(ShardTransmit { side, local, remote, len });
                }
            }
            self.table.dequeue_front(side);
            self.reap_subflows(slot);
            if self.table.droppable(slot) {
                self.drop_entry(slot);
            } else if self.table.retirable(slot) {
                self.retire(now, slot);
            }
        }
    }

    /// Hands the connections of a finished splice that are in TIME-WAIT to the TIME-WAIT
    /// tables and frees its entry.
    fn retire(&mut self, now: Instant, slot: usize) {
        if let Some(e) = self.table.get(slot) {
            self.time_wait.retire(now, &e.splice);
        }
        self.drop_entry(slot);
    }

    /// Frees a splice's entry: forgets its MPTCP token, takes it out of the census and, if
    /// it still counted, out of its service's `max_connections`.
    fn drop_entry(&mut self, slot: usize) {
        self.forget_token(slot);
        if let Some(mut e) = self.table.remove(slot) {
            self.memory.account(e.buffer_bytes, 0);
            uncount(&mut self.census, &e);
            release(&mut self.services, &mut e);
            self.stats.active = self.table.len() as u64;
        }
    }

    /// After any input to a splice: retries or gives up a failed origin, counts bytes and
    /// ends, queues it for transmission and re-arms its timer.
    pub(super) fn settle(&mut self, now: Instant, slot: usize) {
        self.retry_failed(now, slot);
        let Some(e) = self.table.get_mut(slot) else {
            return;
        };
        let (moved, delta) = count_bytes(&mut self.stats, e);
        let origin = (e.service, e.attempt.index());
        self.origin_bytes(origin, delta.0, delta.1);
        let Some(e) = self.table.get_mut(slot) else {
            return;
        };
        let phase = e.splice.phase();
        recount(&mut self.census, e, phase);
        // A closing or ended connection no longer counts toward max_connections: it carries
        // no more bytes, and the last acknowledgements and TIME-WAIT may keep it a while.
        if !phase.counts_toward_limit() {
            release(&mut self.services, e);
        }
        let connected = observe_times(&mut self.stats, e);
        let ended = count_end(&mut self.stats, e, moved, now);
        // An end before the origin connected that is not the origin's doing (the client
        // left, the appliance stops) says nothing about the origin.
        let abandoned = !e.splice.origin_connected()
            && matches!(ended, Some(ShardEvent::Ended { end, .. })
                if !matches!(end, SpliceEnd::OriginUnreachable(_)));
        self.report_origin(now, origin, connected, abandoned);
        if let Some(ended) = ended {
            self.push_event(ended);
            self.forget_token(slot);
        }
        // RFC 8684 §3.2: a join names its connection by token, and a connection that ended
        // at the data level takes no join. Its subflows may close for a while yet (their
        // FINs retransmitted, FIN-WAIT-2): the token is free for a new connection now.
        let mptcp_over = self.table.get(slot).and_then(|e| e.splice.client().mptcp());
        if mptcp_over.is_some_and(|m| m.end().is_some()) {
            self.forget_token(slot);
        }
        self.account_buffers(slot);
        self.table.touch(slot);
    }

    /// Accounts the splice's buffer bytes in the budget and passes the pressure state on to
    /// its connections, for the segments and the moves that follow (`memory.rs`).
    fn account_buffers(&mut self, slot: usize) {
        let Some(e) = self.table.get_mut(slot) else {
            return;
        };
        let bytes = e.splice.heap_bytes();
        self.memory.account(e.buffer_bytes, bytes);
        e.buffer_bytes = bytes;
        e.splice.set_memory_pressure(self.memory.pressure());
    }

    /// Tells an origin's health what settling a splice found: its origin connection just
    /// connected, or the splice ended before that for a reason of its own.
    fn report_origin(
        &mut self,
        now: Instant,
        origin: (usize, usize),
        connected: bool,
        abandoned: bool,
    ) {
        if connected {
            self.origin_outcome(now, origin, Outcome::Connected);
        } else if abandoned {
            self.origin_outcome(now, origin, Outcome::Abandoned);
        }
    }

    /// The census counted afresh over the whole table, O(connections), to check the kept
    /// [`census`](Self::census) (tests and fuzzing).
    pub fn census_by_scan(&self) -> Census {
        let mut census = Census::default();
        for e in self.table.slots().filter_map(|s| self.table.get(s)) {
            census.phases[e.splice.phase().index()] += 1;
            if let Some(m) = e.splice.client().mptcp() {
                census.mptcp_connections += 1;
                census.subflows += m.live_subflows();
            }
        }
        census
    }
}

/// Counts the bytes a splice moved since it was last counted; returns its totals and what
/// it moved since (to the origin, to the client).
fn count_bytes(stats: &mut ShardStats, e: &mut Entry) -> ((u64, u64), (u64, u64)) {
    let (up, down) = e.splice.moved();
    let delta = (up - e.counted.0, down - e.counted.1);
    stats.bytes_to_origin += delta.0;
    stats.bytes_to_client += delta.1;
    e.counted = (up, down);
    ((up, down), delta)
}

/// Moves a splice in the census to `phase` and its live MPTCP subflows, from where it was
/// last counted (a first count also counts an MPTCP connection).
fn recount(c: &mut Census, e: &mut Entry, phase: SplicePhase) {
    let subflows = e.splice.client().mptcp().map_or(0, |m| m.live_subflows());
    if e.census == Some((phase, subflows)) {
        return;
    }
    match e.census {
        Some((was, had)) => {
            c.phases[was.index()] -= 1;
            c.subflows -= had;
        }
        None => c.mptcp_connections += usize::from(e.splice.client().mptcp().is_some()),
    }
    c.phases[phase.index()] += 1;
    c.subflows += subflows;
    e.census = Some((phase, subflows));
}

/// Takes a splice that is leaving the table out of the census, if it was counted.
fn uncount(c: &mut Census, e: &Entry) {
    if let Some((phase, subflows)) = e.census {
        c.phases[phase.index()] -= 1;
        c.subflows -= subflows;
        c.mptcp_connections -= usize::from(e.splice.client().mptcp().is_some());
    }
}

/// Observes a splice's setup time and latest MPTCP handover stall, each once; returns
/// whether the setup time was there (the origin connection just connected).
fn observe_times(stats: &mut ShardStats, e: &mut Entry) -> bool {
    let setup = e.splice.take_setup_time();
    if let Some(setup) = setup {
        stats.setup.observe(setup);
    }
    let stall = e.splice.client_mut().mptcp_mut().and_then(|m| m.take_handover_stall());
    if let Some(stall) = stall {
        stats.mptcp.handover_stall.observe(stall);
    }
    setup.is_some()
}

/// Counts a splice's end at `now`, once, with its MPTCP connection's counters; returns the
/// event that reports it.
fn count_end(
    stats: &mut ShardStats,
    e: &mut Entry,
    moved: (u64, u64),
    now: Instant,
) -> Option<ShardEvent> {
    let end = finished(e.status).filter(|_| !e.ended)?;
    e.ended = true;
    let client = e.splice.client().tuple().1;
    let origin = e.splice.origin().remote();
    let duration = now - e.splice.created();
    stats.ended.add(EndKind::from(end));
    let mptcp = e.splice.client().mptcp().map(|m| {
        let s = m.stats();
        stats.mptcp.add_connection(s);
        HandoverSummary {
            subflows: s.subflows_attached,
            potentially_failed: s.potentially_failed,
            reinjected_bytes: s.reinjected_bytes,
            subflows_closed: s.subflows_closed,
            longest_stall: m.longest_handover_stall(),
        }
    });
    Some(ShardEvent::Ended { client, service: e.service, origin, duration, end, moved, mptcp })
}
