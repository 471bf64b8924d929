//! The client side of a splice: one TCP connection, or an MPTCP connection of several
//! subflows (RFC 8684) whose data-level byte stream stands for it.

use std::net::SocketAddr;

use crate::mptcp::conn::{Connection as Mptcp, SubflowId};
use crate::tcp::{CloseReason, Connection, State, Transmit};
use crate::time::Instant;
use crate::wire::tcp::TcpRepr;

/// A connection's addresses, ours first.
pub type Tuple = (SocketAddr, SocketAddr);

/// The client side of a splice.
///
/// Both variants are boxed: held inline, a TCP connection (1200 bytes) would size every
/// splice, MPTCP ones included, whose connection lives behind its own box; an idle MPTCP
/// connection then costs that much less (docs/performance.md, "Memory"). A plain TCP client
/// pays one allocation at accept.
#[derive(Debug)]
pub enum Client {
    /// Plain TCP (or an MPTCP client that fell back to it).
    Tcp(Box<Connection>),
    /// MPTCP.
    Mptcp(Box<Mptcp>),
}

impl From<Connection> for Client {
    fn from(conn: Connection) -> Client {
        Client::Tcp(Box::new(conn))
    }
}

impl From<Mptcp> for Client {
    fn from(conn: Mptcp) -> Client {
        Client::Mptcp(Box::new(conn))
    }
}

impl Client {
    /// The MPTCP connection, if this is one.
    pub fn mptcp(&self) -> Option<&Mptcp> {
        match self {
            Client::Mptcp(m) => Some(m),
            Client::Tcp(_) => None,
        }
    }

    /// The MPTCP connection, mutably.
    pub fn mptcp_mut(&mut self) -> Option<&mut Mptcp> {
        match self {
            Client::Mptcp(m) => Some(m),
            Client::Tcp(_) => None,
        }
    }

    /// The (initial) connection's addresses: (the service's, the client's).
    pub fn tuple(&self) -> Tuple {
        match self {
            Client::Tcp(c) => (c.local(), c.remote()),
            Client::Mptcp(m) => m.addresses().unwrap_or_else(unspecified),
        }
    }

    /// Every subflow's id and 4-tuple (one, id 0, for TCP).
    pub fn tuples(&self) -> Vec<(SubflowId, Tuple)> {
        match self {
            Client::Tcp(c) => vec![(0, (c.local(), c.remote()))],
            Client::Mptcp(m) => {
                m.subflows().map(|(id, s)| (id, (s.tcp().local(), s.tcp().remote()))).collect()
            }
        }
    }

    pub(super) fn handle_segment(&mut self, now: Instant, sub: SubflowId, seg: &TcpRepr<'_>) {
        match self {
            Client::Tcp(c) => {
                c.handle_segment(now, seg);
            }
            Client::Mptcp(m) => m.handle_segment(now, sub, seg),
        }
    }

    pub(super) fn poll_transmit(
        &mut self,
        now: Instant,
        buf: &mut [u8],
    ) -> Option<(Tuple, Transmit)> {
        match self {
            Client::Tcp(c) => {
                let t = c.poll_transmit(now, buf, &mut ())?;
                Some(((c.local(), c.remote()), t))
            }
            Client::Mptcp(m) => {
                let (id, t) = m.poll_transmit(now, buf)?;
                Some((m.tuple(id)?, t))
            }
        }
    }

    pub(super) fn poll_timeout(&self) -> Option<Instant> {
        match self {
            Client::Tcp(c) => c.poll_timeout(),
            Client::Mptcp(m) => m.poll_timeout(),
        }
    }

    pub(super) fn handle_timeout(&mut self, now: Instant) {
        match self {
            Client::Tcp(c) => {
                if c.poll_timeout().is_some_and(|at| at <= now) {
                    c.handle_timeout(now);
                }
            }
            Client::Mptcp(m) => {
                if m.poll_timeout().is_some_and(|at| at <= now) {
                    m.handle_timeout(now);
                }
            }
        }
    }

    pub(super) fn drain_events(&mut self) {
        if let Client::Tcp(c) = self {
            while c.poll_event().is_some() {}
        }
    }

    pub(super) fn close(&mut self, now: Instant) {
        match self {
            Client::Tcp(c) => c.close(now),
            Client::Mptcp(m) => m.close(now),
        }
    }

    pub(super) fn abort(&mut self, now: Instant) {
        match self {
            Client::Tcp(c) => c.abort(now),
            Client::Mptcp(m) => m.abort(now),
        }
    }

    pub(super) fn close_reason(&self) -> Option<CloseReason> {
        match self {
            Client::Tcp(c) => c.close_reason(),
            Client::Mptcp(m) => m.close_reason(),
        }
    }

    pub(super) fn is_read_closed(&self) -> bool {
        match self {
            Client::Tcp(c) => c.is_read_closed(),
            Client::Mptcp(m) => m.is_read_closed(),
        }
    }

    pub(super) fn is_closed(&self) -> bool {
        match self {
            Client::Tcp(c) => c.is_closed(),
            Client::Mptcp(m) => m.is_closed(),
        }
    }

    /// CLOSED or TIME-WAIT (every subflow, for MPTCP): nothing more will pass.
    pub(super) fn ended(&self) -> bool {
        match self {
            Client::Tcp(c) => c.is_closed() || c.state() == State::TimeWait,
            Client::Mptcp(m) => m.ended(),
        }
    }

    /// Both byte streams complete; at most the closing handshake remains.
    pub(super) fn streams_done(&self) -> bool {
        match self {
            Client::Tcp(c) => c.streams_done(),
            Client::Mptcp(m) => m.streams_done(),
        }
    }

    /// Both directions completed cleanly (FINs, or DATA_FINs for MPTCP).
    pub(super) fn done_cleanly(&self) -> bool {
        match self {
            Client::Tcp(c) => {
                c.state() == State::TimeWait || c.close_reason() == Some(CloseReason::Closed)
            }
            Client::Mptcp(m) => m.done_cleanly(),
        }
    }

    pub(super) fn heap_bytes(&self) -> usize {
        match self {
            Client::Tcp(c) => c.heap_bytes(),
            Client::Mptcp(m) => m.heap_bytes(),
        }
    }

    pub(super) fn set_memory_pressure(&mut self, on: bool) {
        match self {
            Client::Tcp(c) => c.set_memory_pressure(on),
            Client::Mptcp(m) => m.set_memory_pressure(on),
        }
    }
}

fn unspecified() -> Tuple {
    let any = SocketAddr::from(([0, 0, 0, 0], 0));
    (any, any)
}

/// A byte stream a splice moves data between.
pub(super) trait Stream {
    fn readable(&self) -> (&[u8], &[u8]);
    fn consume(&mut self, n: usize) -> usize;
    fn send(&mut self, data: &[u8]) -> usize;
    fn send_capacity(&self) -> usize;
}

impl Stream for Connection {
    fn readable(&self) -> (&[u8], &[u8]) {
        Connection::readable(self)
    }
    fn consume(&mut self, n: usize) -> usize {
        Connection::consume(self, n)
    }
    fn send(&mut self, data: &[u8]) -> usize {
        Connection::send(self, data)
    }
    fn send_capacity(&self) -> usize {
        Connection::send_capacity(self)
    }
}

impl Stream for Client {
    fn readable(&self) -> (&[u8], &[u8]) {
        match self {
            Client::Tcp(c) => c.readable(),
            Client::Mptcp(m) => m.readable(),
        }
    }
    fn consume(&mut self, n: usize) -> usize {
        match self {
            Client::Tcp(c) => c.consume(n),
            Client::Mptcp(m) => m.consume(n),
        }
    }
    fn send(&mut self, data: &[u8]) -> usize {
        match self {
            Client::Tcp(c) => c.send(data),
            Client::Mptcp(m) => m.send(data),
        }
    }
    fn send_capacity(&self) -> usize {
        match self {
            Client::Tcp(c) => c.send_capacity(),
            Client::Mptcp(m) => m.send_capacity(),
        }
    }
}
