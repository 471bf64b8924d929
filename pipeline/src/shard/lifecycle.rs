//! A splice's life after any input: [`Shard::settle`] retries a failed origin, counts bytes,
//! ends and setup times, keeps the census and the `max_connections` release; once a splice
//! has nothing more to send, [`Shard::poll_splices`] reaps it, handing connections in
//! TIME-WAIT to the TIME-WAIT tables (`time_wait.rs`, RFC 9293 §3.4.2) and freeing its
//! entry.

use super::Shard;
use super::events::{HandoverSummary, ShardEvent};
use super::output::{ShardTransmit, ip_header_len, write_ip_header};
use super::stats::{self, Census};
use super::telemetry::EndKind;
use crate::proxy::Side;
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
                // Every 4-tuple of a splice is of one IP version: the service's.
                let ip_len = ip_header_len(e.splice.client().tuple().0);
                let seg = buf.get_mut(ip_len..)?;
                if let Some(((local, remote), t)) = e.splice.poll_transmit_side(now, side, seg) {
                    let len = write_ip_header(buf, local, remote, t.len)?;
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

    fn drop_entry(&mut self, slot: usize) {
        self.forget_token(slot);
        if let Some(e) = self.table.remove(slot) {
            if let Some((phase, subflows)) = e.census {
                let c = &mut self.census;
                c.phases[phase.index()] -= 1;
                c.subflows -= subflows;
                c.mptcp_connections -= usize::from(e.splice.client().mptcp().is_some());
            }
            if !e.released
                && let Some(service) = self.services.get_mut(e.service)
            {
                service.active = service.active.saturating_sub(1);
            }
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
        let (up, down) = e.splice.moved();
        self.stats.bytes_to_origin += up - e.counted.0;
        self.stats.bytes_to_client += down - e.counted.1;
        e.counted = (up, down);
        let phase = e.splice.phase();
        let subflows = e.splice.client().mptcp().map_or(0, |m| m.live_subflows());
        if e.census != Some((phase, subflows)) {
            let c = &mut self.census;
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
        // A closing or ended connection no longer counts toward max_connections: it carries
        // no more bytes, and the last acknowledgements and TIME-WAIT may keep it a while.
        if !e.released && !phase.counts_toward_limit() {
            e.released = true;
            if let Some(service) = self.services.get_mut(e.service) {
                service.active = service.active.saturating_sub(1);
            }
        }
        if let Some(setup) = e.splice.take_setup_time() {
            self.stats.setup.observe(setup);
        }
        let stall = e.splice.client_mut().mptcp_mut().and_then(|m| m.take_handover_stall());
        if let Some(stall) = stall {
            self.stats.mptcp.handover_stall.observe(stall);
        }
        let end = stats::finished(e.status).filter(|_| !e.ended);
        if let Some(end) = end {
            e.ended = true;
            let client = e.splice.client().tuple().1;
            self.stats.ended.add(EndKind::from(end));
            let mptcp = e.splice.client().mptcp().map(|m| {
                let s = m.stats();
                self.stats.mptcp.add_connection(s);
                HandoverSummary {
                    subflows: s.subflows_attached,
                    potentially_failed: s.potentially_failed,
                    reinjected_bytes: s.reinjected_bytes,
                    subflows_closed: s.subflows_closed,
                }
            });
            self.push_event(ShardEvent::Ended { client, end, moved: (up, down), mptcp });
            self.forget_token(slot);
        }
        self.table.touch(slot);
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
