//! Each origin as this shard sees it: connect attempts, failures by reason, connections
//! established, and its passive health ([`proxy::health`](crate::proxy::health)), which the
//! service's [`OriginPicker`](crate::proxy::OriginPicker) keeps from the outcomes reported
//! here. Health changes (ejected, trial, restored) are queued for the worker's logs
//! ([`Shard::poll_health_event`]). The state is this shard's own: each worker ejects an origin
//! from what its own connections saw.

use std::net::SocketAddr;

use super::Shard;
use super::telemetry::{CheckResult, Counts, OriginFailure};
use crate::proxy::{ConnectFailure, HealthChange, HealthInput};
use crate::time::Instant;

/// Health events kept for [`Shard::poll_health_event`]; past it, the oldest are dropped.
const HEALTH_QUEUE: usize = 1024;

/// One origin's counters in one shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OriginStats {
    /// Connect attempts (a SYN sent), retries included.
    pub attempts: u64,
    /// Attempts that failed, by reason.
    pub failures: Counts<OriginFailure>,
    /// Attempts that connected.
    pub established: u64,
    /// Active health checks, by result (`checks.rs`).
    pub checks: Counts<CheckResult>,
    /// Bytes moved from clients to the origin, counted as they flow (each time a splice
    /// settles), retransmissions not included.
    pub bytes_to_origin: u64,
    /// Bytes moved from the origin to clients, counted likewise.
    pub bytes_from_origin: u64,
}

/// One origin of one service, as [`Shard::origins`] lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OriginReport<'a> {
    /// The service's index in the configuration.
    pub service: usize,
    /// The origin.
    pub origin: SocketAddr,
    /// Its counters.
    pub stats: &'a OriginStats,
    /// It takes connections: not ejected, no trial in progress.
    pub up: bool,
}

/// A change of an origin's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthEvent {
    /// The service's index in the configuration.
    pub service: usize,
    /// The origin.
    pub origin: SocketAddr,
    /// What changed.
    pub change: HealthChange,
    /// When.
    pub at: Instant,
}

impl Shard {
    /// Every origin of every service, in configuration order, with its counters and health.
    pub fn origins(&self) -> impl Iterator<Item = OriginReport<'_>> + '_ {
        self.services.iter().enumerate().flat_map(|(service, s)| {
            let picker = &s.picker;
            picker.origins().iter().zip(&s.origin_stats).enumerate().map(
                move |(i, (&origin, stats))| OriginReport {
                    service,
                    origin,
                    stats,
                    up: picker.health(i).is_none_or(|h| h.is_up()),
                },
            )
        })
    }

    /// The name of service `service` (its pipeline's).
    pub fn service_name(&self, service: usize) -> Option<&str> {
        self.services.get(service).map(|s| s.name.as_str())
    }

    /// The next health change, oldest first.
    pub fn poll_health_event(&mut self) -> Option<HealthEvent> {
        self.health_events.pop_front()
    }

    /// Counts an attempt to origin `index` of `service`.
    pub(super) fn origin_attempted(&mut self, service: usize, index: usize) {
        if let Some(stats) = self.origin_stats_mut(service, index) {
            stats.attempts += 1;
        }
    }

    /// Reports what became of an attempt to origin `index` of `service`: counted, and given
    /// to the picker's health.
    pub(super) fn origin_outcome(
        &mut self,
        now: Instant,
        (service, index): (usize, usize),
        outcome: Outcome,
    ) {
        if let Some(stats) = self.origin_stats_mut(service, index) {
            match outcome {
                Outcome::Connected => stats.established += 1,
                Outcome::Failed(why) => stats.failures.add(OriginFailure::from(why)),
                Outcome::Abandoned => {}
            }
        }
        let input = match outcome {
            Outcome::Connected => HealthInput::Success,
            Outcome::Failed(_) => HealthInput::Failure,
            Outcome::Abandoned => HealthInput::Abandoned,
        };
        if let Some(s) = self.services.get_mut(service) {
            s.picker.report(index, input, now);
        }
        self.take_health_changes(now, service);
    }

    /// Moves the changes the picker of `service` made into the health event queue.
    pub(super) fn take_health_changes(&mut self, now: Instant, service: usize) {
        let Some(s) = self.services.get_mut(service) else { return };
        while let Some((index, change)) = s.picker.poll_change() {
            let Some(&origin) = s.picker.origins().get(index) else { continue };
            if self.health_events.len() >= HEALTH_QUEUE {
                self.health_events.pop_front();
            }
            self.health_events.push_back(HealthEvent { service, origin, change, at: now });
        }
    }

    /// Counts bytes a splice moved to and from origin `index` of `service`.
    pub(super) fn origin_bytes(&mut self, (service, index): (usize, usize), up: u64, down: u64) {
        if let Some(stats) = self.origin_stats_mut(service, index) {
            stats.bytes_to_origin += up;
            stats.bytes_from_origin += down;
        }
    }

    fn origin_stats_mut(&mut self, service: usize, index: usize) -> Option<&mut OriginStats> {
        self.services.get_mut(service)?.origin_stats.get_mut(index)
    }
}

/// What became of an origin attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    /// The origin connection reached ESTABLISHED.
    Connected,
    /// It failed before connecting.
    Failed(ConnectFailure),
    /// The splice ended otherwise before it connected (the client left, the appliance
    /// stopped, no source port): no word on the origin.
    Abandoned,
}
