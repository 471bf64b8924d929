//! A running shard takes a new configuration of its services (a configuration reload,
//! docs/operations.md, "Reload"), with no connection dropped.
//!
//! What changes: each service's origins, `max_tries`, passive health and active checks,
//! `max_connections`, splice timeouts and PROXY protocol, MPTCP termination settings and the
//! listeners' limits.
//! What cannot (the caller refuses it first, [`Shard::reconfigure`] checks it again): the
//! services themselves (their number, names and listen addresses), the listeners' TCP
//! settings, and everything else of [`ShardConfig`](super::ShardConfig).
//!
//! Which connections see what: a splice keeps the configuration it started with (its splice
//! timeouts, its MPTCP settings, its origin connection and that one's TCP settings); only its
//! origin attempt record moves to the new origin list, so a retry after a failed connect
//! goes on in the new list. New connections get the new configuration. An origin that stays
//! (same address) keeps its health and counters, and its check schedule unless the checks'
//! configuration changed (then its checks start over, spread over the first interval as at
//! start); a new one starts up with zero counters; a removed one gets no new connection and
//! no more checks (the answer to a check in flight is then answered as a stray segment, with
//! a RST).

use std::sync::Arc;

use super::Shard;
use super::config::ServiceConfig;
use crate::proxy::OriginPicker;
use crate::tcp::listener::ListenerConfig;

/// Why [`Shard::reconfigure`] refused a configuration (it changed nothing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReconfigureError {
    /// The number of services differs: adding or removing one needs new listeners and
    /// steering.
    Services { running: usize, new: usize },
    /// Service `service` differs in something only a restart changes (`what`: `name`,
    /// `listen` or `listener`), or has no origin (`origins`).
    Restart { service: usize, what: &'static str },
}

impl std::fmt::Display for ReconfigureError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReconfigureError::Services { running, new } => {
                write!(f, "{new} services instead of {running}: a restart is needed")
            }
            ReconfigureError::Restart { service, what } => {
                write!(f, "service {service}: {what} changed: a restart is needed")
            }
        }
    }
}

impl std::error::Error for ReconfigureError {}

impl Shard {
    /// Takes `services` as the new configuration of the running services; see the
    /// module documentation for what changes and for which connections. On an error nothing
    /// changed. Call between inputs; allocates (once per reload, never per frame).
    pub fn reconfigure(&mut self, services: Vec<ServiceConfig>) -> Result<(), ReconfigureError> {
        self.check_reconfigure(&services)?;
        let mut pickers = Vec::with_capacity(services.len());
        for (i, (running, new)) in self.services.iter().zip(&services).enumerate() {
            let picker = running.picker.rebuilt(new.origins.clone(), new.max_tries, new.health);
            pickers.push(picker.ok_or(ReconfigureError::Restart { service: i, what: "origins" })?);
        }
        self.move_attempts(&pickers);
        for (listener, service) in &mut self.listeners {
            // Checked above: only the limits differ.
            listener.set_limits(services[*service].listener);
        }
        let shared = self.origin_tcp;
        for ((running, new), (picker, moved)) in self.services.iter_mut().zip(services).zip(pickers)
        {
            let len = picker.origins().len();
            running.origin_stats = kept(&running.origin_stats, &moved, len, |s| s);
            let same = check_of(&running.picker) == check_of(&picker);
            running.checks = kept(&running.checks, &moved, len, |c| c.kept(same));
            running.picker = picker;
            running.origin_tcp = Arc::new(super::origin_tcp(&shared, &new.splice));
            running.splice = new.splice;
            running.max_connections = new.max_connections;
            running.mptcp = new.mptcp;
        }
        self.recount_checks();
        Ok(())
    }

    /// Whether `services` differ from the running ones only in what may change live.
    fn check_reconfigure(&self, services: &[ServiceConfig]) -> Result<(), ReconfigureError> {
        if services.len() != self.services.len() {
            let (running, new) = (self.services.len(), services.len());
            return Err(ReconfigureError::Services { running, new });
        }
        for (i, new) in services.iter().enumerate() {
            let restart = |what| Err(ReconfigureError::Restart { service: i, what });
            if new.name != self.services[i].name {
                return restart("name");
            }
            if new.origins.is_empty() {
                return restart("origins");
            }
            let listeners: Vec<_> = self.listeners.iter().filter(|(_, s)| *s == i).collect();
            let listen = listeners.iter().map(|(l, _)| l.local());
            if !listen.eq(new.listen.iter().copied()) {
                return restart("listen");
            }
            if listeners.iter().any(|(l, _)| !limits_only(l.config(), &new.listener)) {
                return restart("listener");
            }
        }
        Ok(())
    }

    /// Every splice's origin attempt, moved to its service's new origin list.
    fn move_attempts(&mut self, pickers: &[(OriginPicker, Vec<Option<usize>>)]) {
        let slots: Vec<usize> = self.table.slots().collect();
        for slot in slots {
            let Some(e) = self.table.get_mut(slot) else { continue };
            let Some((picker, moved)) = pickers.get(e.service) else { continue };
            let to = moved.get(e.attempt.index()).copied().flatten();
            e.attempt = e.attempt.moved(to, picker.origins().len());
        }
    }
}

/// Per-origin state (counters, check schedules) for the new origin list: an origin that
/// stays keeps its own, as `keep` makes it; a new one starts from the default.
fn kept<T: Copy + Default>(
    old: &[T],
    moved: &[Option<usize>],
    len: usize,
    keep: impl Fn(T) -> T,
) -> Vec<T> {
    let mut out = vec![T::default(); len];
    for (i, to) in moved.iter().enumerate() {
        if let (Some(to), Some(s)) = (to, old.get(i)) {
            out[*to] = keep(*s);
        }
    }
    out
}

/// A picker's active check configuration.
fn check_of(picker: &OriginPicker) -> Option<crate::proxy::HealthCheck> {
    picker.health_config().and_then(|h| h.check)
}

/// Whether `new` differs from `running` only in the limits a running listener takes
/// ([`Listener::set_limits`](crate::tcp::listener::Listener::set_limits)).
fn limits_only(running: &ListenerConfig, new: &ListenerConfig) -> bool {
    let limits = ListenerConfig {
        half_open_max: running.half_open_max,
        accept_backlog: running.accept_backlog,
        syn_cookies: running.syn_cookies,
        ..*new
    };
    limits == *running
}
