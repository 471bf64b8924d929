//! The [`Network`]: nodes, links, scheduled events and what was observed. The event loop
//! is in `run.rs`.

use core::any::Any;
use core::fmt;

use netreaktor_pipeline::time::{Duration, Instant};

use super::channel::{Channel, Effect};
use super::event::{Event, EventQueue};
use super::link::{Direction, Dirs, LinkConfig, LinkId};
use super::node::{Endpoint, Node, NodeId, NodeSlot};
use super::pcap::PcapWriter;
use super::rng::Rng;
use super::stats::LinkStats;
use super::trace::{Fnv64, LinkEvent, TraceEntry, hash_entry};

/// The default [`Network::set_step_limit`]: steps one `run_*` call may take.
pub const DEFAULT_STEP_LIMIT: u64 = 1_000_000;

/// A point-to-point link: endpoint A, endpoint B, and one channel per direction.
#[derive(Debug)]
pub(crate) struct Link {
    pub(crate) a: Endpoint,
    pub(crate) b: Endpoint,
    pub(crate) channels: [Channel; 2],
}

impl Link {
    /// The endpoint frames travelling in `dir` arrive at.
    pub(crate) fn receiver(&self, dir: Direction) -> Endpoint {
        match dir {
            Direction::AToB => self.b,
            Direction::BToA => self.a,
        }
    }
}

/// A deterministic network simulation: nodes joined by point-to-point links, driven in
/// virtual time. See the [module documentation](super) for the event loop and an example.
pub struct Network {
    pub(crate) now: Instant,
    seed: u64,
    rng: Rng,
    pub(crate) nodes: Vec<NodeSlot>,
    pub(crate) links: Vec<Link>,
    pub(crate) events: EventQueue,
    trace: Option<Vec<TraceEntry>>,
    pub(crate) hash: Fnv64,
    captures: Vec<(Endpoint, PcapWriter)>,
    pub(crate) step_limit: u64,
    pub(crate) steps: u64,
    pub(crate) run_steps: u64,
    pub(crate) running: bool,
    pub(crate) unrouted: u64,
    pub(crate) effects: Vec<Effect>,
}

impl fmt::Debug for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Network")
            .field("now", &self.now)
            .field("seed", &self.seed)
            .field("nodes", &self.nodes)
            .field("links", &self.links.len())
            .field("pending_events", &self.events.len())
            .field("steps", &self.steps)
            .finish_non_exhaustive()
    }
}

impl Network {
    /// An empty network at time zero. Every random decision derives from `seed`.
    pub fn new(seed: u64) -> Self {
        Network {
            now: Instant::ZERO,
            seed,
            rng: Rng::stream(seed, u64::MAX),
            nodes: Vec::new(),
            links: Vec::new(),
            events: EventQueue::default(),
            trace: None,
            hash: Fnv64::new(),
            captures: Vec::new(),
            step_limit: DEFAULT_STEP_LIMIT,
            steps: 0,
            run_steps: 0,
            running: false,
            unrouted: 0,
            effects: Vec::new(),
        }
    }

    /// The current virtual time.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// The seed the network was created with.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// A random stream for the scenario itself (payloads, keys, start times), derived from
    /// the seed and independent of the links' streams.
    pub fn rng(&mut self) -> &mut Rng {
        &mut self.rng
    }

    /// Adds a node; its interfaces are attached with [`Network::connect`].
    pub fn add_node<N: Node>(&mut self, node: N) -> NodeId {
        let id = NodeId(u32::try_from(self.nodes.len()).expect("fewer than 2^32 nodes"));
        self.nodes.push(NodeSlot { node: Box::new(node), ifaces: Vec::new() });
        id
    }

    /// The node `id` as its concrete type, or `None` if it is another type.
    ///
    /// # Panics
    /// If `id` belongs to another network.
    pub fn try_node<N: Node>(&self, id: NodeId) -> Option<&N> {
        let node: &dyn Any = self.slot(id).node.as_ref();
        node.downcast_ref::<N>()
    }

    /// The node `id` as its concrete type, mutably, or `None` if it is another type.
    ///
    /// # Panics
    /// If `id` belongs to another network.
    pub fn try_node_mut<N: Node>(&mut self, id: NodeId) -> Option<&mut N> {
        let node: &mut dyn Any = self.slot_mut(id).node.as_mut();
        node.downcast_mut::<N>()
    }

    /// The node `id` as its concrete type.
    ///
    /// # Panics
    /// If `id` is not an `N` or belongs to another network.
    pub fn node<N: Node>(&self, id: NodeId) -> &N {
        self.try_node(id).unwrap_or_else(|| panic!("{id} is not a {}", core::any::type_name::<N>()))
    }

    /// The node `id` as its concrete type, mutably. Frames it queues while a test holds it
    /// are collected at the start of the next `run_*` call (or right after the scheduled
    /// action that holds it returns).
    ///
    /// # Panics
    /// If `id` is not an `N` or belongs to another network.
    pub fn node_mut<N: Node>(&mut self, id: NodeId) -> &mut N {
        self.try_node_mut(id)
            .unwrap_or_else(|| panic!("{id} is not a {}", core::any::type_name::<N>()))
    }

    fn slot(&self, id: NodeId) -> &NodeSlot {
        self.nodes.get(id.index()).unwrap_or_else(|| panic!("{id} is not in this network"))
    }

    fn slot_mut(&mut self, id: NodeId) -> &mut NodeSlot {
        self.nodes.get_mut(id.index()).unwrap_or_else(|| panic!("{id} is not in this network"))
    }
}

/// Links: creating, configuring, cutting.
impl Network {
    /// Joins endpoints `a` and `b` with a link that behaves as `config` in both directions.
    ///
    /// # Panics
    /// If either endpoint is already attached to a link, or names a node of another network.
    pub fn connect(&mut self, a: Endpoint, b: Endpoint, config: LinkConfig) -> LinkId {
        self.connect_asym(a, b, config.clone(), config)
    }

    /// Joins `a` and `b` with a link whose directions behave differently (an asymmetric
    /// access link, say).
    ///
    /// # Panics
    /// As [`Network::connect`].
    pub fn connect_asym(
        &mut self,
        a: Endpoint,
        b: Endpoint,
        a_to_b: LinkConfig,
        b_to_a: LinkConfig,
    ) -> LinkId {
        let id = LinkId(u32::try_from(self.links.len()).expect("fewer than 2^32 links"));
        self.attach(a, id, Direction::AToB);
        self.attach(b, id, Direction::BToA);
        let stream = |dir: Direction| (id.0 as u64) * 2 + dir.index() as u64;
        let channels = [
            Channel::new(a_to_b, Rng::stream(self.seed, stream(Direction::AToB))),
            Channel::new(b_to_a, Rng::stream(self.seed, stream(Direction::BToA))),
        ];
        self.links.push(Link { a, b, channels });
        id
    }

    fn attach(&mut self, ep: Endpoint, link: LinkId, sends: Direction) {
        let slot = self.slot_mut(ep.node);
        assert!(slot.route(ep.iface).is_none(), "{ep} is already attached to a link");
        slot.ifaces.push((ep.iface, link, sends));
    }

    /// The endpoints of `link`: (A, B).
    pub fn endpoints(&self, link: LinkId) -> (Endpoint, Endpoint) {
        let l = self.link(link);
        (l.a, l.b)
    }

    /// The configuration of `link` in direction `dir`.
    pub fn config(&self, link: LinkId, dir: Direction) -> &LinkConfig {
        &self.channel(link, dir).config
    }

    /// Replaces the configuration of `link` in `dirs`. A frame already being serialized
    /// keeps its finish time and frames already on the wire keep their arrival time; the
    /// new settings apply to every frame after.
    pub fn set_config(&mut self, link: LinkId, dirs: impl Into<Dirs>, config: LinkConfig) {
        self.update_config(link, dirs, |c| *c = config.clone());
    }

    /// Changes the configuration of `link` in `dirs` in place:
    /// `net.update_config(l, Dirs::Both, |c| c.loss_ppm = 0)`.
    pub fn update_config(
        &mut self,
        link: LinkId,
        dirs: impl Into<Dirs>,
        mut change: impl FnMut(&mut LinkConfig),
    ) {
        let dirs = dirs.into();
        for dir in Direction::ALL.into_iter().filter(|&d| dirs.contains(d)) {
            change(&mut self.channel_mut(link, dir).config);
        }
    }

    /// Cuts `link` in `dirs`: from now on every frame offered there is dropped
    /// ([`DropReason::Cut`](super::DropReason::Cut)). Frames already queued or on the wire
    /// still arrive.
    pub fn cut(&mut self, link: LinkId, dirs: impl Into<Dirs>) {
        self.set_cut(link, dirs.into(), true);
    }

    /// Restores `link` in `dirs` after [`Network::cut`].
    pub fn restore(&mut self, link: LinkId, dirs: impl Into<Dirs>) {
        self.set_cut(link, dirs.into(), false);
    }

    fn set_cut(&mut self, link: LinkId, dirs: Dirs, cut: bool) {
        for dir in Direction::ALL.into_iter().filter(|&d| dirs.contains(d)) {
            self.channel_mut(link, dir).cut = cut;
        }
    }

    /// Whether `link` is cut in direction `dir`.
    pub fn is_cut(&self, link: LinkId, dir: Direction) -> bool {
        self.channel(link, dir).cut
    }

    pub(crate) fn link(&self, link: LinkId) -> &Link {
        self.links.get(link.index()).unwrap_or_else(|| panic!("{link} is not in this network"))
    }

    pub(crate) fn channel(&self, link: LinkId, dir: Direction) -> &Channel {
        &self.link(link).channels[dir.index()]
    }

    pub(crate) fn channel_mut(&mut self, link: LinkId, dir: Direction) -> &mut Channel {
        let l = self.links.get_mut(link.index());
        &mut l.unwrap_or_else(|| panic!("{link} is not in this network")).channels[dir.index()]
    }
}

/// Scheduling actions at future times.
impl Network {
    /// Runs `action` on the network at `at` (or now, if `at` has passed). At one instant,
    /// scheduled actions and frame deliveries run in the order they were scheduled, all
    /// before node timeouts. The action may poke nodes with [`Network::node_mut`], reconfigure
    /// links, or schedule more actions; it must not call a `run_*` method.
    pub fn schedule(&mut self, at: Instant, action: impl FnOnce(&mut Network) + 'static) {
        let at = at.max(self.now);
        self.events.push(at, Event::Action(Box::new(action)));
    }

    /// Runs `action` after `delay` from now.
    pub fn schedule_in(&mut self, delay: Duration, action: impl FnOnce(&mut Network) + 'static) {
        self.schedule(self.now + delay, action);
    }

    /// Cuts `link` in `dirs` at `from` and restores it at `until` (which should be later):
    /// frames offered in `from..until` are dropped.
    pub fn schedule_cut(
        &mut self,
        link: LinkId,
        dirs: impl Into<Dirs>,
        from: Instant,
        until: Instant,
    ) {
        let dirs = dirs.into();
        self.schedule(from, move |net| net.cut(link, dirs));
        self.schedule(until, move |net| net.restore(link, dirs));
    }

    /// Replaces the configuration of `link` in `dirs` at `at`.
    pub fn schedule_config(
        &mut self,
        at: Instant,
        link: LinkId,
        dirs: impl Into<Dirs>,
        config: LinkConfig,
    ) {
        let dirs = dirs.into();
        self.schedule(at, move |net| net.set_config(link, dirs, config));
    }

    /// Changes the configuration of `link` in `dirs` at `at`:
    /// `net.schedule_update(t, l, Dirs::Both, |c| c.loss_ppm = percent(2))`.
    pub fn schedule_update(
        &mut self,
        at: Instant,
        link: LinkId,
        dirs: impl Into<Dirs>,
        change: impl FnMut(&mut LinkConfig) + 'static,
    ) {
        let dirs = dirs.into();
        self.schedule(at, move |net| net.update_config(link, dirs, change));
    }

    /// How many events (deliveries, transmitter wake-ups, actions) are pending.
    pub fn pending_events(&self) -> usize {
        self.events.len()
    }
}

/// Observation: counters, trace, capture.
impl Network {
    /// The counters of `link` in direction `dir`.
    pub fn stats(&self, link: LinkId, dir: Direction) -> LinkStats {
        self.channel(link, dir).stats
    }

    /// Frames and bytes waiting in the queue of `link` in `dir`, behind the frame being
    /// serialized.
    pub fn queued(&self, link: LinkId, dir: Direction) -> (usize, usize) {
        self.channel(link, dir).queued()
    }

    /// Frames sent on an interface with no link attached (dropped).
    pub fn unrouted(&self) -> u64 {
        self.unrouted
    }

    /// Steps taken over the network's life (see [`Network::set_step_limit`]).
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Starts recording every link event into [`Network::trace`]. The hash
    /// ([`Network::trace_hash`]) is kept whether or not the trace is recorded.
    pub fn enable_trace(&mut self) {
        self.trace.get_or_insert_with(Vec::new);
    }

    /// The recorded trace (empty unless [`Network::enable_trace`] was called).
    pub fn trace(&self) -> &[TraceEntry] {
        self.trace.as_deref().unwrap_or(&[])
    }

    /// A 64-bit FNV-1a hash over every link event so far (time, link, direction, event,
    /// length) and the bytes of every frame sent. Two runs with the same seed and scenario
    /// have the same hash; asserting that is a cheap determinism test.
    pub fn trace_hash(&self) -> u64 {
        self.hash.finish()
    }

    /// Starts capturing at `ep`, like tcpdump on that interface: frames the node sends (when
    /// it sends them, even if the link drops them later) and frames it receives (when they
    /// arrive).
    pub fn capture(&mut self, ep: Endpoint) {
        if !self.captures.iter().any(|(e, _)| *e == ep) {
            self.captures.push((ep, PcapWriter::new()));
        }
    }

    /// The pcap file captured at `ep` so far, if capturing.
    pub fn pcap(&self, ep: Endpoint) -> Option<&[u8]> {
        self.captures.iter().find(|(e, _)| *e == ep).map(|(_, w)| w.as_bytes())
    }

    pub(crate) fn record(&mut self, link: LinkId, dir: Direction, event: LinkEvent, len: usize) {
        let entry = TraceEntry { time: self.now, link, dir, event, len };
        hash_entry(&mut self.hash, &entry);
        if let Some(trace) = &mut self.trace {
            trace.push(entry);
        }
    }

    pub(crate) fn capture_frame(&mut self, ep: Endpoint, frame: &[u8]) {
        let now = self.now;
        for (_, w) in self.captures.iter_mut().filter(|(e, _)| *e == ep) {
            w.write(now, frame);
        }
    }
}
