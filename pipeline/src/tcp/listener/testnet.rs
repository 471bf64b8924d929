//! A test network: client connections talking through a [`Listener`] to the server-side
//! connections it accepts, in virtual time. Shared by the listener and TIME-WAIT tests.

use std::collections::VecDeque;
use std::net::SocketAddr;

use super::{Listener, ListenerConfig};
use crate::tcp::config::Config;
use crate::tcp::conn::Connection;
use crate::tcp::isn::IsnGenerator;
use crate::tcp::syncookie::SynCookies;
use crate::time::{Duration, Instant};
use crate::wire::tcp::{TcpPacket, TcpRepr, TcpSeqNumber};

pub(crate) fn addr(s: &str) -> SocketAddr {
    s.parse().expect("test address")
}

/// The listener's address.
pub(crate) fn server_addr() -> SocketAddr {
    addr("10.0.0.2:80")
}

/// Parses a segment we wrote.
pub(crate) fn parse(bytes: &[u8]) -> TcpRepr<'_> {
    let packet = TcpPacket::new_checked(bytes).expect("segment parses");
    TcpRepr::parse(&packet).expect("segment repr parses")
}

/// A listener keyed with fixed secrets.
pub(crate) fn listener(cfg: ListenerConfig) -> Listener {
    Listener::new(cfg, server_addr(), IsnGenerator::new([7; 32]), SynCookies::new([9; 32]))
}

/// Decides whether a segment is lost: (to_server, bytes) -> drop.
pub(crate) type DropFn = Box<dyn FnMut(bool, &[u8]) -> bool>;

/// One client, the listener, and the server connection once accepted.
pub(crate) struct Net {
    pub(crate) now: Instant,
    pub(crate) client: Connection,
    pub(crate) listener: Listener,
    pub(crate) server: Option<Connection>,
    /// (arrival, to_server, bytes)
    pub(crate) wire: VecDeque<(Instant, bool, Vec<u8>)>,
    /// Every segment sent to the client, for inspection.
    pub(crate) to_client_log: Vec<Vec<u8>>,
    pub(crate) delay: Duration,
    pub(crate) drop: DropFn,
}

impl Net {
    pub(crate) fn new(client_cfg: Config, cfg: ListenerConfig) -> Net {
        Net::with_listener(client_cfg, listener(cfg), addr("10.0.0.1:40000"))
    }

    pub(crate) fn with_listener(client_cfg: Config, listener: Listener, from: SocketAddr) -> Net {
        let now = Instant::from_secs(1000);
        let client =
            Connection::connect(client_cfg, from, server_addr(), TcpSeqNumber(0x1234_5678), now);
        Net {
            now,
            client,
            listener,
            server: None,
            wire: VecDeque::new(),
            to_client_log: Vec::new(),
            delay: Duration::from_millis(10),
            drop: Box::new(|_, _| false),
        }
    }

    /// Queues everything the three parties want to send.
    fn transmit(&mut self) {
        let mut buf = vec![0u8; 2048];
        let at = self.now + self.delay;
        while let Some(t) = self.client.poll_transmit(self.now, &mut buf, &mut ()) {
            if !(self.drop)(true, &buf[..t.len]) {
                self.wire.push_back((at, true, buf[..t.len].to_vec()));
            }
        }
        while let Some(t) = self.listener.poll_transmit(self.now, &mut buf) {
            // Segments for other peers (a flood's sources) go nowhere.
            if t.remote == self.client.local() {
                self.send_to_client(at, &buf[..t.transmit.len]);
            }
        }
        while let Some(server) = self.server.as_mut() {
            let Some(t) = server.poll_transmit(self.now, &mut buf, &mut ()) else { break };
            self.send_to_client(at, &buf[..t.len]);
        }
    }

    fn send_to_client(&mut self, at: Instant, bytes: &[u8]) {
        self.to_client_log.push(bytes.to_vec());
        if !(self.drop)(false, bytes) {
            self.wire.push_back((at, false, bytes.to_vec()));
        }
    }

    /// Delivers one segment.
    fn deliver(&mut self, to_server: bool, bytes: &[u8]) {
        let seg = parse(bytes);
        if !to_server {
            self.client.handle_segment(self.now, &seg);
            return;
        }
        match self.server.as_mut() {
            Some(server) => {
                server.handle_segment(self.now, &seg);
            }
            None => {
                let (local, remote) = (server_addr(), self.client.local());
                self.listener.handle_segment(self.now, local, remote, &seg);
                self.server = self.server.take().or_else(|| self.listener.poll_accept());
            }
        }
    }

    /// Runs until `done` or `limit` of virtual time.
    pub(crate) fn run(&mut self, limit: Duration, mut done: impl FnMut(&mut Net) -> bool) {
        let end = self.now + limit;
        while self.now < end && !done(self) {
            self.transmit();
            let timers = [
                self.client.poll_timeout(),
                self.listener.poll_timeout(),
                self.server.as_ref().and_then(Connection::poll_timeout),
            ];
            let next_wire = self.wire.front().map(|w| w.0);
            let Some(next) = timers.into_iter().chain([next_wire]).flatten().min() else { break };
            self.now = next.max(self.now).min(end);
            while self.wire.front().is_some_and(|w| w.0 <= self.now) {
                let (_, to_server, bytes) = self.wire.pop_front().expect("front checked");
                self.deliver(to_server, &bytes);
            }
            self.client.handle_timeout(self.now);
            self.listener.handle_timeout(self.now);
            if let Some(server) = self.server.as_mut() {
                server.handle_timeout(self.now);
            }
        }
        self.transmit();
    }

    /// Runs until both ends are ESTABLISHED (or 10 s pass).
    pub(crate) fn handshake(&mut self) -> bool {
        self.run(Duration::from_secs(10), |n| {
            n.client.state().is_synchronized()
                && n.server.as_ref().is_some_and(|s| s.state().is_synchronized())
        });
        self.client.state().is_synchronized()
            && self.server.as_ref().is_some_and(|s| s.state().is_synchronized())
    }

    pub(crate) fn server(&mut self) -> &mut Connection {
        self.server.as_mut().expect("the server connection was accepted")
    }
}
