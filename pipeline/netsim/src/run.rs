//! The event loop: choosing the next step, performing it, and routing what nodes send.

use core::fmt;

use netreaktor_pipeline::time::{Duration, Instant};

use super::Network;
use super::event::Event;
use super::link::{Direction, LinkId};
use super::node::Transmit;

/// Why a `run_*` call returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stop {
    /// The condition of [`Network::run_while`] became false.
    Condition,
    /// Nothing is left to do: no pending events and no node timeouts.
    Idle,
    /// The next step lies past the deadline of [`Network::run_until`].
    Deadline,
}

/// A `run_*` call took more steps than [`Network::set_step_limit`] allows: a node keeps
/// asking for a timeout at the same instant, or nodes bounce frames without end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StepLimitExceeded {
    /// The limit that was reached.
    pub limit: u64,
    /// The virtual time when it was reached.
    pub at: Instant,
}

impl fmt::Display for StepLimitExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "netsim: step limit of {} exceeded at {} (a node never goes idle, or frames bounce \
             without end; raise it with Network::set_step_limit if the scenario is that long)",
            self.limit, self.at
        )
    }
}

impl std::error::Error for StepLimitExceeded {}

/// The next thing to do.
#[derive(Debug, Clone, Copy)]
enum Work {
    /// The earliest queued event.
    Event,
    /// The timeout of the node at this index.
    Timeout(usize),
}

/// Running.
impl Network {
    /// Sets how many steps one `run_*` call may take before it gives up (panics, or returns
    /// [`StepLimitExceeded`] from the `try_` variants). A step is one delivered frame, one
    /// fired timeout, one transmitter wake-up, one scheduled action, or one frame taken
    /// from `poll_transmit`. The default is [`DEFAULT_STEP_LIMIT`](super::DEFAULT_STEP_LIMIT).
    pub fn set_step_limit(&mut self, steps: u64) {
        self.step_limit = steps;
    }

    /// Runs every step due at or before `deadline`, then sets the clock to `deadline` (if it
    /// is later than now).
    ///
    /// # Panics
    /// If the step limit is exceeded.
    pub fn run_until(&mut self, deadline: Instant) -> Stop {
        self.try_run_until(deadline).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Runs for `span` of virtual time: [`Network::run_until`] `now + span`.
    ///
    /// # Panics
    /// If the step limit is exceeded.
    pub fn run_for(&mut self, span: Duration) -> Stop {
        self.run_until(self.now + span)
    }

    /// Runs until no event is pending and no node wants a timeout. A node with a periodic
    /// timer never lets the network go idle: use [`Network::run_until`] then.
    ///
    /// # Panics
    /// If the step limit is exceeded.
    pub fn run_until_idle(&mut self) -> Stop {
        self.try_run_while(|_| true).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Runs while `cond` holds, checking it before every step; stops early when idle.
    /// `net.run_while(|net| net.node::<Sink>(b).received.len() < 10)`.
    ///
    /// # Panics
    /// If the step limit is exceeded.
    pub fn run_while(&mut self, cond: impl FnMut(&Network) -> bool) -> Stop {
        self.try_run_while(cond).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`Network::run_until`], returning an error instead of panicking at the step limit.
    pub fn try_run_until(&mut self, deadline: Instant) -> Result<Stop, StepLimitExceeded> {
        let stop = self.run_guarded(deadline, &mut |_| true)?;
        self.now = self.now.max(deadline);
        Ok(stop)
    }

    /// [`Network::run_while`], returning an error instead of panicking at the step limit.
    pub fn try_run_while(
        &mut self,
        mut cond: impl FnMut(&Network) -> bool,
    ) -> Result<Stop, StepLimitExceeded> {
        self.run_guarded(Instant::MAX, &mut cond)
    }

    fn run_guarded(
        &mut self,
        deadline: Instant,
        cond: &mut dyn FnMut(&Network) -> bool,
    ) -> Result<Stop, StepLimitExceeded> {
        assert!(!self.running, "netsim: a run_* method was called from a scheduled action");
        self.running = true;
        self.run_steps = 0;
        let result = self.run_loop(deadline, cond);
        self.running = false;
        result
    }

    /// The loop: collect transmits, then repeatedly pick the earliest work, advance the
    /// clock to it, perform it and collect transmits again.
    fn run_loop(
        &mut self,
        deadline: Instant,
        cond: &mut dyn FnMut(&Network) -> bool,
    ) -> Result<Stop, StepLimitExceeded> {
        self.drain_transmits()?;
        loop {
            if !cond(self) {
                return Ok(Stop::Condition);
            }
            let Some((at, work)) = self.next_work() else { return Ok(Stop::Idle) };
            let at = at.max(self.now);
            if at > deadline {
                return Ok(Stop::Deadline);
            }
            self.spend_step()?;
            self.now = at;
            self.perform(work);
            self.drain_transmits()?;
        }
    }

    fn spend_step(&mut self) -> Result<(), StepLimitExceeded> {
        if self.run_steps >= self.step_limit {
            return Err(StepLimitExceeded { limit: self.step_limit, at: self.now });
        }
        self.run_steps += 1;
        self.steps = self.steps.saturating_add(1);
        Ok(())
    }

    /// The earliest pending event or node timeout; at equal times the event comes first,
    /// and among nodes the one added first.
    fn next_work(&self) -> Option<(Instant, Work)> {
        let event = self.events.peek_time();
        let timeout = self.earliest_timeout();
        match (event, timeout) {
            (Some(e), Some((t, node))) if t < e => Some((t, Work::Timeout(node))),
            (Some(e), _) => Some((e, Work::Event)),
            (None, Some((t, node))) => Some((t, Work::Timeout(node))),
            (None, None) => None,
        }
    }

    fn earliest_timeout(&self) -> Option<(Instant, usize)> {
        let mut best: Option<(Instant, usize)> = None;
        for (index, slot) in self.nodes.iter().enumerate() {
            if let Some(t) = slot.node.poll_timeout()
                && best.is_none_or(|(b, _)| t < b)
            {
                best = Some((t, index));
            }
        }
        best
    }

    fn perform(&mut self, work: Work) {
        match work {
            Work::Timeout(index) => {
                let now = self.now;
                if let Some(slot) = self.nodes.get_mut(index) {
                    slot.node.handle_timeout(now);
                }
            }
            Work::Event => {
                if let Some((_, event)) = self.events.pop() {
                    self.perform_event(event);
                }
            }
        }
    }

    // Link and node indices below come from the network's own tables (routes, events it
    // scheduled), never from frame contents, so they are in bounds.
    fn perform_event(&mut self, event: Event) {
        match event {
            Event::Deliver { link, dir, frame } => self.deliver(link, dir, frame),
            Event::Wake { link, dir } => {
                let now = self.now;
                let channel = &mut self.links[link.index()].channels[dir.index()];
                channel.wake(now, &mut self.effects);
                self.apply_effects(link, dir);
            }
            Event::Action(action) => action(self),
        }
    }

    fn deliver(&mut self, link: LinkId, dir: Direction, frame: Vec<u8>) {
        let to = self.link(link).receiver(dir);
        self.channel_mut(link, dir).record_delivery(frame.len());
        self.record(link, dir, super::LinkEvent::Delivered, frame.len());
        self.capture_frame(to, &frame);
        let now = self.now;
        if let Some(slot) = self.nodes.get_mut(to.node.index()) {
            slot.node.handle_frame(now, to.iface, &frame);
        }
    }

    /// Takes every frame every node has to send, nodes in the order they were added.
    fn drain_transmits(&mut self) -> Result<(), StepLimitExceeded> {
        for index in 0..self.nodes.len() {
            while let Some(tx) = self.nodes[index].node.poll_transmit(self.now) {
                self.spend_step()?;
                self.route(index, tx);
            }
        }
        Ok(())
    }

    /// Offers a frame from node `index` to the link attached to its interface.
    fn route(&mut self, index: usize, tx: Transmit) {
        let from = super::Endpoint { node: super::NodeId(index as u32), iface: tx.iface };
        self.capture_frame(from, &tx.frame);
        let Some((link, dir)) = self.nodes[index].route(tx.iface) else {
            self.unrouted = self.unrouted.saturating_add(1);
            self.hash.write(b"unrouted");
            self.hash.write_u64(tx.frame.len() as u64);
            return;
        };
        self.hash.write(&tx.frame);
        let now = self.now;
        let channel = &mut self.links[link.index()].channels[dir.index()];
        channel.offer(now, tx.frame, &mut self.effects);
        self.apply_effects(link, dir);
    }

    /// Applies what a channel asked for: trace lines, deliveries, transmitter wake-ups.
    fn apply_effects(&mut self, link: LinkId, dir: Direction) {
        let mut effects = core::mem::take(&mut self.effects);
        for effect in effects.drain(..) {
            match effect {
                super::channel::Effect::Trace(event, len) => self.record(link, dir, event, len),
                super::channel::Effect::Deliver { at, frame } => {
                    self.events.push(at, Event::Deliver { link, dir, frame });
                }
                super::channel::Effect::Wake(at) => self.events.push(at, Event::Wake { link, dir }),
            }
        }
        self.effects = effects;
    }
}
