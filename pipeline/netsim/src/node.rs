//! What the simulator drives: nodes, their interfaces, and the frames they emit.

use core::any::Any;
use core::fmt;

use netreaktor_pipeline::time::Instant;

/// Identifies a node in one [`Network`](super::Network): the order in which it was added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub(crate) u32);

/// A node-local interface number, chosen by the node (`IfaceId(0)`, `IfaceId(1)`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IfaceId(pub u16);

/// One end of a link: an interface of a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Endpoint {
    /// The node.
    pub node: NodeId,
    /// The node's interface.
    pub iface: IfaceId,
}

impl NodeId {
    /// Interface `iface` of this node, as a link endpoint.
    pub const fn iface(self, iface: u16) -> Endpoint {
        Endpoint { node: self, iface: IfaceId(iface) }
    }

    /// The node's index: 0 for the first node added.
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "node{}", self.0)
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/if{}", self.node, self.iface.0)
    }
}

/// An Ethernet frame a node hands to the simulator, and the interface it leaves by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// The interface the frame leaves by.
    pub iface: IfaceId,
    /// The whole frame, from the destination MAC address on, without the FCS.
    pub frame: Vec<u8>,
}

impl Transmit {
    /// A frame leaving by interface `iface`.
    pub fn new(iface: IfaceId, frame: Vec<u8>) -> Self {
        Transmit { iface, frame }
    }
}

/// A sans-I/O participant in a simulation, shaped like the pipeline's drive API (and like
/// quinn-proto's `Connection`): the simulator owns the clock and calls in; the node never
/// blocks, sleeps or reads a clock.
///
/// How the simulator calls a node, within one step at virtual time `now`:
/// 1. [`handle_frame`](Node::handle_frame) when a frame arrives on one of its interfaces, or
///    [`handle_timeout`](Node::handle_timeout) when `now` reached the deadline the node last
///    reported from [`poll_timeout`](Node::poll_timeout), or a scheduled action pokes it
///    through [`Network::node_mut`](super::Network::node_mut);
/// 2. then, for every node in the order they were added,
///    [`poll_transmit`](Node::poll_transmit) repeatedly until it returns `None`; this also
///    happens once at the start of every `run_*` call, so a node built with frames to send
///    needs no kick;
/// 3. before choosing the next step, [`poll_timeout`](Node::poll_timeout) on every node.
///
/// `Node: Any` lets tests get their concrete node back with
/// [`Network::node`](super::Network::node).
pub trait Node: Any {
    /// A frame arrived on interface `iface` at `now`. The node copies what it keeps.
    fn handle_frame(&mut self, now: Instant, iface: IfaceId, frame: &[u8]);

    /// The deadline from [`poll_timeout`](Node::poll_timeout) has been reached; `now` is that
    /// deadline, or the current time if the deadline was already in the past. A node that
    /// does not move its deadline forward here is called again at the same instant, until the
    /// step limit stops the run.
    fn handle_timeout(&mut self, now: Instant);

    /// The earliest time at which the node wants [`handle_timeout`](Node::handle_timeout),
    /// or `None`. Called before every step, so it must be cheap and must not change state.
    fn poll_timeout(&self) -> Option<Instant>;

    /// The next frame to send, or `None` when there is nothing to send now.
    fn poll_transmit(&mut self, now: Instant) -> Option<Transmit>;
}

/// A node with its bookkeeping, as the network stores it.
pub(crate) struct NodeSlot {
    pub(crate) node: Box<dyn Node>,
    /// The links the node's interfaces are attached to, sorted by interface.
    pub(crate) ifaces: Vec<(IfaceId, super::LinkId, super::Direction)>,
}

impl NodeSlot {
    /// The link and sending direction attached to `iface`, if any.
    pub(crate) fn route(&self, iface: IfaceId) -> Option<(super::LinkId, super::Direction)> {
        self.ifaces.iter().find(|(i, _, _)| *i == iface).map(|&(_, link, dir)| (link, dir))
    }
}

impl fmt::Debug for NodeSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeSlot")
            .field("timeout", &self.node.poll_timeout())
            .field("ifaces", &self.ifaces)
            .finish()
    }
}
