//! Passive origin health: an origin that fails `failures` connect attempts in a row is
//! ejected (it gets no new connections) for a back-off; when the back-off has passed, one
//! connection is let through as a trial (half-open, in the manner of a circuit breaker and
//! of Envoy's outlier detection): its success restores the origin, its failure ejects it
//! again for twice the back-off, up to `max_backoff`. Any success resets the failure count.
//!
//! No RFC governs this; it is policy. Time is a parameter: the owner passes the `now` of the
//! event. Each [`OriginPicker`](super::OriginPicker) keeps its own state, so in the appliance
//! every worker judges the origins from its own connections.
//!
//! The transitions ([`OriginHealth::on`] holds them; `tests_health.rs` covers each):
//!
//! ```text
//!            failure (count < N)        success
//!             +------+               +-----------+
//!             |      v               |           v
//!           +----------+  N-th failure in a row  +---------+
//!   ------> |    Up    | ----------------------> | Ejected |<----+
//!           +----------+                         +---------+     |
//!             ^   ^ success          back-off passed |           | failure:
//!             |   +-------------+    and picked      v           | back-off x2
//!             |                 |                 +-------+      | (<= max_backoff)
//!             +-- success ------+---------------- | Trial | -----+
//!                                                 +-------+
//! ```
//!
//! A trial whose attempt is abandoned (its client went away before the origin answered)
//! returns to `Ejected` with its back-off already passed, so the next connection is the next
//! trial; a trial with no outcome after `max_backoff` is taken as abandoned too.
//!
//! Active checks ([`HealthCheck`], run by the shard: `shard/checks.rs`) feed the same table:
//! a completed handshake is a `Success`, a refused or unanswered one a `Failure`. With
//! checks on, an ejected origin is not available at the end of its back-off
//! ([`OriginHealth::available`]): no client connection is sent to it as a trial, the next
//! successful check restores it (docs/operations.md, "Origin health").

use crate::time::{Duration, Instant};

/// When an origin is ejected and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthConfig {
    /// Consecutive connect failures that eject an origin (at least 1).
    pub failures: u32,
    /// The first back-off after an ejection.
    pub backoff: Duration,
    /// The longest back-off: a failed trial doubles the back-off up to this.
    pub max_backoff: Duration,
    /// Active checks: a TCP handshake to each origin at an interval; `None`: passive only.
    pub check: Option<HealthCheck>,
}

/// Active health checks (`forward.health.check`): every `interval`, a SYN to each origin;
/// its SYN,ACK within `timeout` is a success, a RST or silence a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthCheck {
    /// From one check of an origin to the next.
    pub interval: Duration,
    /// How long a check waits for the SYN,ACK (at most `interval`).
    pub timeout: Duration,
}

impl Default for HealthConfig {
    /// 3 failures, 10 s doubling up to 5 min: what `forward.health` defaults to.
    fn default() -> Self {
        HealthConfig {
            failures: 3,
            backoff: Duration::from_secs(10),
            max_backoff: Duration::from_secs(300),
            check: None,
        }
    }
}

/// Where one origin stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthState {
    /// Takes connections; `failures` consecutive connect failures so far.
    Up {
        /// Connect failures since the last success.
        failures: u32,
    },
    /// Takes no new connection until `until`, unless every origin is ejected.
    Ejected {
        /// When the back-off ends and a trial may go.
        until: Instant,
        /// The back-off that ends then.
        backoff: Duration,
    },
    /// One trial connection is being made; no other goes to the origin meanwhile.
    Trial {
        /// When the trial started.
        since: Instant,
        /// The back-off that preceded it.
        backoff: Duration,
    },
}

/// What happened to an origin's attempt, or to the origin's turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthInput {
    /// A connect attempt to it failed.
    Failure,
    /// A connect attempt to it succeeded.
    Success,
    /// An attempt to it ended with no outcome (the client left first).
    Abandoned,
    /// It was picked for a new connection.
    Picked,
}

/// A state change worth reporting (logs, the up gauge).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthChange {
    /// Ejected for `backoff` (after `failures` consecutive failures, or a failed trial).
    Ejected {
        /// How long it gets no connections.
        backoff: Duration,
        /// Consecutive failures that led here (1 for a failed trial).
        failures: u32,
    },
    /// The back-off passed: one connection goes to it as a trial.
    Trial,
    /// A connection to it succeeded: it takes connections again.
    Restored,
}

/// One origin's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OriginHealth {
    state: HealthState,
}

impl Default for OriginHealth {
    fn default() -> Self {
        OriginHealth { state: HealthState::Up { failures: 0 } }
    }
}

impl OriginHealth {
    /// Its state.
    pub fn state(&self) -> HealthState {
        self.state
    }

    /// Puts it in `state` (tests).
    #[cfg(test)]
    pub(crate) fn set(&mut self, state: HealthState) {
        self.state = state;
    }

    /// Whether it takes connections (not ejected, no trial in progress).
    pub fn is_up(&self) -> bool {
        matches!(self.state, HealthState::Up { .. })
    }

    /// Whether a new connection may go to it at `now`: it is up, or its back-off has passed
    /// (the connection is then its trial), or its trial went unanswered for `max_backoff`.
    /// With active checks on, only an up origin is available: a check, not a client, finds
    /// out whether an ejected one recovered.
    pub fn available(&self, now: Instant, cfg: &HealthConfig) -> bool {
        let trials = cfg.check.is_none();
        match self.state {
            HealthState::Up { .. } => true,
            HealthState::Ejected { until, .. } => trials && now >= until,
            HealthState::Trial { since, .. } => trials && now >= since + cfg.max_backoff,
        }
    }

    /// Applies `input` at `now`; returns the change to report, if any.
    pub fn on(
        &mut self,
        input: HealthInput,
        now: Instant,
        cfg: &HealthConfig,
    ) -> Option<HealthChange> {
        let (next, change) = transition(self.state, input, now, cfg);
        self.state = next;
        change
    }
}

/// The declared table: the next state and the change it reports.
fn transition(
    state: HealthState,
    input: HealthInput,
    now: Instant,
    cfg: &HealthConfig,
) -> (HealthState, Option<HealthChange>) {
    use HealthInput::{Abandoned, Failure, Picked, Success};
    use HealthState::{Ejected, Trial, Up};
    let up = Up { failures: 0 };
    match (state, input) {
        (Up { failures }, Failure) if failures + 1 >= cfg.failures.max(1) => {
            let backoff = cfg.backoff.min(cfg.max_backoff);
            let change = HealthChange::Ejected { backoff, failures: failures + 1 };
            (Ejected { until: now + backoff, backoff }, Some(change))
        }
        (Up { failures }, Failure) => (Up { failures: failures + 1 }, None),
        (Up { .. }, Success) => (up, None),
        (Up { .. }, Abandoned | Picked) => (state, None),
        // Attempts started before the ejection may still finish: a success shows the
        // origin works, a failure adds nothing to what ejected it.
        (Ejected { .. }, Success) | (Trial { .. }, Success) => (up, Some(HealthChange::Restored)),
        (Ejected { until, backoff }, Picked) if now >= until => {
            (Trial { since: now, backoff }, Some(HealthChange::Trial))
        }
        (Ejected { .. }, Failure | Abandoned | Picked) => (state, None),
        (Trial { backoff, .. }, Failure) => {
            let backoff = backoff.saturating_mul(2).min(cfg.max_backoff);
            let change = HealthChange::Ejected { backoff, failures: 1 };
            (Ejected { until: now + backoff, backoff }, Some(change))
        }
        (Trial { backoff, .. }, Abandoned) => (Ejected { until: now, backoff }, None),
        // A trial unanswered for max_backoff is taken as lost: this pick is the next trial.
        (Trial { since, backoff }, Picked) if now >= since + cfg.max_backoff => {
            (Trial { since: now, backoff }, Some(HealthChange::Trial))
        }
        (Trial { .. }, Picked) => (state, None),
    }
}
