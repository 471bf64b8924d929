//! Admission: the services as the shard runs them, their `max_connections` accounting,
//! draining, accepting a client the listener established and splicing it to an origin, and
//! the origin choice — round-robin over the service's origins, skipping ejected ones, the
//! next one after a refused or timed-out attempt (RFC-free policy), the client reset when
//! none answers. Each attempt's outcome goes to `origins.rs` (counters, passive health).

use std::net::SocketAddr;
use std::sync::Arc;

use super::Shard;
use super::checks::CheckSlot;
use super::events::ShardEvent;
use super::origins::{OriginStats, Outcome};
use super::table::Entry;
use crate::mptcp::conn::MptcpConfig;
use crate::proxy::{Client, OriginPicker, Splice, SpliceConfig, SpliceStatus};
use crate::tcp::listener::ReplyOptions;
use crate::tcp::{Config, Connection};
use crate::time::Instant;
use crate::wire::tcp::TcpRepr;

/// A service as the shard runs it.
#[derive(Debug)]
pub(super) struct Service {
    /// Its pipeline's name, for logs.
    pub(super) name: String,
    pub(super) picker: OriginPicker,
    /// Per origin, in the picker's order.
    pub(super) origin_stats: Vec<OriginStats>,
    /// Per origin, in the picker's order: its active checks (`checks.rs`).
    pub(super) checks: Vec<CheckSlot>,
    pub(super) splice: SpliceConfig,
    pub(super) max_connections: usize,
    pub(super) active: usize,
    pub(super) mptcp: Option<MptcpConfig>,
    /// Its origin connections' config: the shard's, with the service's
    /// [`origin_timeout`](SpliceConfig::origin_timeout) as the user timeout.
    pub(super) origin_tcp: Arc<Config>,
}

impl Shard {
    /// Takes the connections listener `i` established and splices each to an origin.
    /// `establishing` is the segment just given to the listener: the one that completed a
    /// handshake, if any did, whose MPTCP options decide what the connection is.
    pub(super) fn accept(&mut self, now: Instant, i: usize, establishing: Option<&TcpRepr<'_>>) {
        while let Some((client, offered)) = self.listeners[i].0.poll_accept_offered() {
            let service = self.listeners[i].1;
            let seg = establishing.filter(|s| s.src_port == client.remote().port());
            self.accept_one(now, service, client, seg, offered);
        }
    }

    /// Splices an accepted client to an origin; returns its slot.
    pub(super) fn start(&mut self, now: Instant, service: usize, client: Client) -> Option<usize> {
        let svc = self.services.get_mut(service)?;
        if svc.active >= svc.max_connections {
            self.stats.refused_limit += 1;
            self.refuse(&client);
            return None;
        }
        let (origin, attempt) = svc.picker.pick(now);
        let splice_cfg = svc.splice;
        self.take_health_changes(now, service);
        let Some(origin_conn) = self.open_origin(now, (service, attempt.index()), origin) else {
            self.stats.ports_exhausted += 1;
            self.origin_outcome(now, (service, attempt.index()), Outcome::Abandoned);
            self.refuse(&client);
            return None;
        };
        let event = ShardEvent::Accepted { client: client.tuple().1, service, origin };
        let splice = Splice::new(splice_cfg, client, origin_conn, now);
        let slot = self.table.insert(splice, service, attempt);
        self.services[service].active += 1;
        self.stats.accepted += 1;
        self.stats.active = self.table.len() as u64;
        self.push_event(event);
        if let Some(e) = self.table.get_mut(slot) {
            e.status = e.splice.pump(now);
        }
        self.settle(now, slot);
        Some(slot)
    }

    /// Resets an accepted client connection the shard will not keep (an MPTCP one on its
    /// initial subflow, the only one it has yet).
    fn refuse(&mut self, client: &Client) {
        let client = match client {
            Client::Tcp(c) => c,
            Client::Mptcp(m) => match m.subflow(0) {
                Some(s) => s.tcp(),
                None => return,
            },
        };
        self.reset_accepted(client, ReplyOptions::None);
    }

    /// A new origin connection for `service` to `origin` (its origin `index`) from a free
    /// port of this worker's share.
    fn open_origin(
        &mut self,
        now: Instant,
        (service, index): (usize, usize),
        origin: SocketAddr,
    ) -> Option<Connection> {
        let cfg = Arc::clone(&self.services.get(service)?.origin_tcp);
        let local = self.free_port(now, origin)?;
        self.stats.origin_attempts += 1;
        self.origin_attempted(service, index);
        let iss = self.isn.isn(now, local, origin);
        Some(Connection::connect(cfg, local, origin, iss, now))
    }

    /// RFC-free policy: a failed origin attempt moves to the next origin while tries remain.
    /// The failure counts against the failed origin's health first, so the retry already
    /// skips it if that ejected it.
    pub(super) fn retry_failed(&mut self, now: Instant, slot: usize) {
        while let Some(e) = self.table.get_mut(slot) {
            let SpliceStatus::OriginFailed(failure) = e.status else {
                return;
            };
            let (service, mut attempt) = (e.service, e.attempt);
            let client = e.splice.client().tuple().1;
            self.origin_outcome(now, (service, attempt.index()), Outcome::Failed(failure));
            let next =
                self.services.get_mut(service).and_then(|s| s.picker.retry(&mut attempt, now));
            self.take_health_changes(now, service);
            let conn = next.and_then(|origin| {
                let opened = self.open_origin(now, (service, attempt.index()), origin);
                if opened.is_none() {
                    self.origin_outcome(now, (service, attempt.index()), Outcome::Abandoned);
                }
                Some((origin, opened?))
            });
            self.table.unindex_origin(slot);
            let Some(e) = self.table.get_mut(slot) else {
                return;
            };
            e.attempt = attempt;
            match conn {
                Some((origin, conn)) => {
                    e.splice.retry_origin(conn, now);
                    self.stats.origin_retries += 1;
                    self.push_event(ShardEvent::Retry { client, origin, after: failure });
                }
                None => e.splice.give_up(now),
            }
            if let Some(e) = self.table.get_mut(slot) {
                e.status = e.splice.pump(now);
            }
            self.table.index_origin(slot);
        }
    }

    /// Stops taking new connections: from now on a SYN that would open one is answered with
    /// a RST (counted in `refused_draining`), so the client retries elsewhere at once. The
    /// connections held carry on, MPTCP joins to them included. Call
    /// [`unfinished`](Self::unfinished) to learn when they are done.
    pub fn drain(&mut self) {
        self.draining = true;
    }
}

/// Takes a splice out of its service's `max_connections` count, once.
pub(super) fn release(services: &mut [Service], e: &mut Entry) {
    if !e.released {
        e.released = true;
        if let Some(service) = services.get_mut(e.service) {
            service.active = service.active.saturating_sub(1);
        }
    }
}
