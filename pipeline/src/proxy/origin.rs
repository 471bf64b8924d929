//! Choosing the origin server: round-robin over a fixed list, skipping origins passive
//! health has ejected ([`health`](super::health)), and on a connect failure the next one in
//! the list, up to a configured number of tries.
//!
//! The owner reports every attempt's outcome ([`OriginPicker::report`]) with the attempt's
//! [`Attempt::index`]; the picker turns them into ejections, trials and restorations, which
//! the owner takes with [`OriginPicker::poll_change`]. A picker's health state is its own:
//! the appliance has one picker per service per worker, so each worker ejects an origin from
//! what its own connections saw.

use std::collections::VecDeque;
use std::net::SocketAddr;

use super::health::{HealthChange, HealthConfig, HealthInput, OriginHealth};
use crate::time::Instant;

/// Round-robin over origin servers, with passive health.
#[derive(Debug, Clone)]
pub struct OriginPicker {
    origins: Vec<SocketAddr>,
    /// Each origin's health, by index.
    health: Vec<OriginHealth>,
    /// `None`: passive health is off, every origin is always picked in turn.
    cfg: Option<HealthConfig>,
    /// Index of the origin the next client connection starts with.
    next: usize,
    /// Connect attempts per client connection, the first included (at least 1).
    max_tries: u32,
    /// Health changes not yet taken: (origin index, change).
    changes: VecDeque<(usize, HealthChange)>,
}

/// The origin attempts made for one client connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempt {
    /// Index of the origin tried last.
    index: usize,
    /// Where the client connection started in the list, and how many positions after it the
    /// attempts went (skipped ejected origins included): an origin is tried at most once.
    start: usize,
    offset: usize,
    /// Attempts made so far.
    tries: u32,
}

impl Attempt {
    /// Attempts made so far (1 after [`OriginPicker::pick`]).
    pub fn tries(&self) -> u32 {
        self.tries
    }

    /// Index of the origin tried last, in [`OriginPicker::origins`].
    pub fn index(&self) -> usize {
        self.index
    }

    /// This attempt as seen by a picker rebuilt with a new origin list
    /// ([`OriginPicker::rebuilt`]): its origin is `moved` (`Some(new index)`) or was removed
    /// (`None`: its outcome is reported to no origin). A retry goes on from the origin after
    /// it in the new list (the first one when it was removed); the tries made still count.
    pub fn moved(self, moved: Option<usize>, len: usize) -> Attempt {
        match moved {
            Some(index) => Attempt { index, start: index, offset: 0, tries: self.tries },
            None => {
                let last = len.saturating_sub(1);
                Attempt { index: usize::MAX, start: last, offset: 0, tries: self.tries }
            }
        }
    }
}

impl OriginPicker {
    /// A picker over `origins` allowing `max_tries` connect attempts per client connection
    /// (0 is taken as 1), passive health per `health` (`None`: off). `None` when `origins`
    /// is empty.
    pub fn new(
        origins: Vec<SocketAddr>,
        max_tries: u32,
        health: Option<HealthConfig>,
    ) -> Option<OriginPicker> {
        if origins.is_empty() {
            return None;
        }
        Some(OriginPicker {
            health: vec![OriginHealth::default(); origins.len()],
            origins,
            cfg: health,
            next: 0,
            max_tries: max_tries.max(1),
            changes: VecDeque::new(),
        })
    }

    /// A picker over a new origin list, for a configuration reload: an origin that stays
    /// (same address) keeps its health state, a new one starts up (as in [`new`](Self::new)).
    /// Also returns, per origin of `self`, its index in the new list (`None`: removed), for
    /// [`Attempt::moved`]. `None` when `origins` is empty.
    pub fn rebuilt(
        &self,
        origins: Vec<SocketAddr>,
        max_tries: u32,
        health: Option<HealthConfig>,
    ) -> Option<(OriginPicker, Vec<Option<usize>>)> {
        let mut picker = OriginPicker::new(origins, max_tries, health)?;
        let moved: Vec<Option<usize>> =
            self.origins.iter().map(|o| picker.origins.iter().position(|n| n == o)).collect();
        for (old, new) in moved.iter().enumerate() {
            if let (Some(new), Some(h)) = (new, self.health.get(old)) {
                picker.health[*new] = *h;
            }
        }
        picker.next = self.next % picker.origins.len();
        Some((picker, moved))
    }

    /// The health configuration (`None`: health off).
    pub fn health_config(&self) -> Option<&HealthConfig> {
        self.cfg.as_ref()
    }

    /// The origin servers, in order.
    pub fn origins(&self) -> &[SocketAddr] {
        &self.origins
    }

    /// The health of origin `index`.
    pub fn health(&self, index: usize) -> Option<&OriginHealth> {
        self.health.get(index)
    }

    /// The origin for a new client connection at `now`, and its attempt record: the next in
    /// round-robin order that is available (not ejected, or its back-off passed: then this
    /// connection is its trial). When none is, the next in order as if health were off.
    pub fn pick(&mut self, now: Instant) -> (SocketAddr, Attempt) {
        let len = self.origins.len();
        let start = self.next % len;
        let offset = (0..len).find(|&k| self.available((start + k) % len, now)).unwrap_or(0);
        let index = (start + offset) % len;
        self.next = (index + 1) % len;
        self.picked(index, now);
        (self.origins[index], Attempt { index, start, offset, tries: 1 })
    }

    /// The origin to try after the attempt in `attempt` failed at `now`: the next available
    /// one in the list not tried for this client, else the next one in the list; `None`
    /// once `max_tries` attempts were made, or with health on once every origin was tried or
    /// skipped (then the client is reset). Report the failure first
    /// ([`report`](Self::report)).
    pub fn retry(&mut self, attempt: &mut Attempt, now: Instant) -> Option<SocketAddr> {
        let len = self.origins.len();
        let passed_all = self.cfg.is_some() && attempt.offset + 1 >= len;
        if attempt.tries >= self.max_tries || passed_all {
            return None;
        }
        let untried = attempt.offset + 1..len;
        let offset = untried
            .clone()
            .find(|&k| self.available((attempt.start + k) % len, now))
            .unwrap_or(attempt.offset + 1);
        attempt.offset = offset;
        attempt.index = (attempt.start + offset) % len;
        attempt.tries += 1;
        self.picked(attempt.index, now);
        Some(self.origins[attempt.index])
    }

    /// Reports what became of an attempt to origin `index` (a [`Attempt::index`]) at `now`.
    pub fn report(&mut self, index: usize, input: HealthInput, now: Instant) {
        let Some(cfg) = self.cfg else { return };
        if let Some(change) = self.health.get_mut(index).and_then(|h| h.on(input, now, &cfg)) {
            self.changes.push_back((index, change));
        }
    }

    /// The next health change, oldest first: (origin index, change).
    pub fn poll_change(&mut self) -> Option<(usize, HealthChange)> {
        self.changes.pop_front()
    }

    /// Whether origin `index` may take a new connection at `now`.
    fn available(&self, index: usize, now: Instant) -> bool {
        match (&self.cfg, self.health.get(index)) {
            (Some(cfg), Some(h)) => h.available(now, cfg),
            _ => true,
        }
    }

    fn picked(&mut self, index: usize, now: Instant) {
        self.report(index, HealthInput::Picked, now);
    }
}
