//! The configuration reload state (docs/operations.md, "Reload"): how many reloads were
//! applied and refused, the generation of the configuration in force (1 at start, one more
//! per applied reload), when the last reload was tried and what became of it. Written by the
//! control thread, read by `/metrics` and `/status`.

use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use prometheus_client::encoding::DescriptorEncoder;
use serde_json::{Value, json};

use super::Kind::{Counter, Gauge};
use super::Shared;
use crate::metrics::{family, sample};

/// The reload state.
#[derive(Debug)]
pub(crate) struct ReloadState {
    generation: AtomicU64,
    applied: AtomicU64,
    refused: AtomicU64,
    /// Unix time (seconds) of the last reload tried; 0: none yet.
    last_at: AtomicU64,
    /// The last reload's result and message.
    last: Mutex<Option<(Outcome, String)>>,
}

/// What became of a reload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Applied,
    Refused,
}

impl Outcome {
    /// The `result` label.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Outcome::Applied => "applied",
            Outcome::Refused => "refused",
        }
    }
}

impl Default for ReloadState {
    fn default() -> Self {
        ReloadState {
            generation: AtomicU64::new(1),
            applied: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            last_at: AtomicU64::new(0),
            last: Mutex::new(None),
        }
    }
}

impl ReloadState {
    /// Records a reload tried at unix time `at` (seconds); an applied one moves the
    /// generation on. Returns the generation in force.
    pub(crate) fn record(&self, outcome: Outcome, message: &str, at: u64) -> u64 {
        let count = match outcome {
            Outcome::Applied => &self.applied,
            Outcome::Refused => &self.refused,
        };
        count.fetch_add(1, Ordering::Relaxed);
        if outcome == Outcome::Applied {
            self.generation.fetch_add(1, Ordering::Relaxed);
        }
        self.last_at.store(at, Ordering::Relaxed);
        if let Ok(mut last) = self.last.lock() {
            *last = Some((outcome, message.to_owned()));
        }
        self.generation()
    }

    /// The generation of the configuration in force.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Relaxed)
    }

    /// The generation an applied reload will have.
    pub(crate) fn next_generation(&self) -> u64 {
        self.generation() + 1
    }

    /// The `/status` object.
    pub(crate) fn status(&self) -> Value {
        let last = self.last.lock().ok().and_then(|l| l.clone());
        let (result, message) = match last {
            Some((outcome, message)) => (Value::from(outcome.name()), Value::from(message)),
            None => (Value::Null, Value::Null),
        };
        json!({
            "generation": self.generation(),
            "applied": self.applied.load(Ordering::Relaxed),
            "refused": self.refused.load(Ordering::Relaxed),
            "last_at": self.last_at.load(Ordering::Relaxed),
            "last_result": result,
            "last_message": message,
        })
    }
}

/// The reload families of `/metrics`.
pub(crate) fn encode(shared: &Shared, encoder: &mut DescriptorEncoder<'_>) -> fmt::Result {
    let state = &shared.reload;
    let load = |cell: &AtomicU64| cell.load(Ordering::Relaxed);
    let help = "Configuration reloads (SIGHUP), by result";
    let mut reloads = family(encoder, "config_reloads_total", help, Counter)?;
    for (outcome, cell) in [(Outcome::Applied, &state.applied), (Outcome::Refused, &state.refused)]
    {
        sample(&mut reloads, Counter, &[("result", outcome.name())], load(cell))?;
    }
    for (name, help, value) in [
        (
            "config_generation",
            "The configuration in force: 1 at start, one more per applied reload",
            state.generation(),
        ),
        (
            "config_last_reload_timestamp_seconds",
            "When the last reload was tried (0: none yet)",
            load(&state.last_at),
        ),
    ] {
        sample(&mut family(encoder, name, help, Gauge)?, Gauge, &[], value)?;
    }
    Ok(())
}
