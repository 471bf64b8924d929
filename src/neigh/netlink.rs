//! One rtnetlink request and its replies: a blocking `NETLINK_ROUTE` socket that sends a
//! message and collects every reply up to the end of a dump (`NLMSG_DONE`), the single reply of
//! a plain request, or the kernel's error.

use std::io;

use netlink_packet_core::{
    NLM_F_DUMP, NLM_F_MULTIPART, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage, NetlinkPayload,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};

/// A connected rtnetlink socket with its own sequence numbers.
#[derive(Debug)]
pub(crate) struct Rtnl {
    socket: Socket,
    seq: u32,
}

/// Whether a request asks for one object or for a dump of a whole table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// One object (`NLM_F_REQUEST`): one reply or an error.
    Get,
    /// A whole table (`NLM_F_REQUEST | NLM_F_DUMP`): replies up to `NLMSG_DONE`.
    Dump,
}

impl Rtnl {
    /// Opens a socket in the calling thread's network namespace.
    pub(crate) fn open() -> io::Result<Self> {
        let mut socket = Socket::new(NETLINK_ROUTE)?;
        socket.bind_auto()?;
        socket.connect(&SocketAddr::new(0, 0))?;
        Ok(Self { socket, seq: 0 })
    }

    /// Sends `msg` and returns the kernel's replies. An error reply becomes the `Err` with its
    /// errno (e.g. `ENETUNREACH` for a route lookup with no route).
    pub(crate) fn request(
        &mut self,
        msg: RouteNetlinkMessage,
        kind: Kind,
    ) -> io::Result<Vec<RouteNetlinkMessage>> {
        self.seq = self.seq.wrapping_add(1);
        self.send(msg, kind)?;
        let mut replies = Vec::new();
        loop {
            let (datagram, _) = self.socket.recv_from_full()?;
            if self.absorb(&datagram, &mut replies)? {
                return Ok(replies);
            }
        }
    }

    fn send(&mut self, msg: RouteNetlinkMessage, kind: Kind) -> io::Result<()> {
        let mut header = NetlinkHeader::default();
        header.flags = match kind {
            Kind::Get => NLM_F_REQUEST,
            Kind::Dump => NLM_F_REQUEST | NLM_F_DUMP,
        };
        header.sequence_number = self.seq;
        let mut req = NetlinkMessage::new(header, NetlinkPayload::from(msg));
        req.finalize();
        let mut buf = vec![0; req.buffer_len()];
        req.serialize(&mut buf);
        self.socket.send(&buf, 0)?;
        Ok(())
    }

    /// Parses the messages of one datagram into `replies`; true once the answer is complete.
    fn absorb(&self, mut bytes: &[u8], replies: &mut Vec<RouteNetlinkMessage>) -> io::Result<bool> {
        let mut complete = false;
        while !bytes.is_empty() {
            let msg = NetlinkMessage::<RouteNetlinkMessage>::deserialize(bytes)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
            let len = msg.header.length as usize;
            if len == 0 || len > bytes.len() {
                return Err(io::Error::new(io::ErrorKind::InvalidData, "bad netlink length"));
            }
            // Netlink messages are 4-byte aligned; the last one may lack its padding.
            bytes = bytes.get(len.next_multiple_of(4)..).unwrap_or(&[]);
            if msg.header.sequence_number != self.seq {
                continue; // a stale answer to an earlier, abandoned request
            }
            let multipart = msg.header.flags & NLM_F_MULTIPART != 0;
            match msg.payload {
                NetlinkPayload::Done(_) => complete = true,
                NetlinkPayload::Error(e) if e.code.is_some() => return Err(e.to_io()),
                NetlinkPayload::Error(_) => complete = true, // an ACK
                NetlinkPayload::InnerMessage(inner) => {
                    replies.push(inner);
                    complete |= !multipart;
                }
                _ => {}
            }
        }
        Ok(complete)
    }
}
