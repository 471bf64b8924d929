//! The replies the shard sends for no splice: RSTs to segments that match nothing (RFC 9293
//! §3.10.7.1) and to accepted connections it drops or refuses, queued per side until
//! [`Shard::poll_transmit`] takes them; past [`REPLY_QUEUE`] owed, more are dropped and counted.

use std::net::SocketAddr;

use super::Shard;
use super::output::{ShardTransmit, ip_header_len, write_ip_header};
use super::table::side_index;
use crate::proxy::Side;
use crate::tcp::Connection;
use crate::tcp::listener::{Reply, ReplyOptions};
use crate::wire::tcp::{TcpFlags, TcpRepr, TcpSeqNumber};

/// RSTs the shard may owe at once per side; past it, more are dropped and counted.
pub(super) const REPLY_QUEUE: usize = 1024;

impl Shard {
    pub(super) fn poll_replies(&mut self, side: Side, buf: &mut [u8]) -> Option<ShardTransmit> {
        let queue = &mut self.replies[side_index(side)];
        let ip_len = ip_header_len(queue.front_remote()?);
        let t = queue.poll(buf.get_mut(ip_len..)?)?;
        let len = write_ip_header(buf, t.local, t.remote, t.transmit.len)?;
        Some(ShardTransmit { side, local: t.local, remote: t.remote, len })
    }

    /// Queues a RST toward a client.
    pub(super) fn push_client_reply(&mut self, reply: Reply) {
        if !self.replies[0].push(reply) {
            self.stats.replies_dropped += 1;
        }
    }

    /// RFC 9293 §3.10.7.1: a segment for no connection is answered with a RST (a RST is
    /// not answered).
    pub(super) fn unmatched(&mut self, local: SocketAddr, remote: SocketAddr, seg: &TcpRepr<'_>) {
        self.stats.unmatched += 1;
        if seg.flags.contains(TcpFlags::RST) {
            return;
        }
        let side = self.side_of(local);
        if !self.replies[side_index(side)].push(Reply::reset_for(local, remote, seg)) {
            self.stats.replies_dropped += 1;
        }
    }

    /// Queues a RST, with `options`, for an accepted connection the shard drops: <SEQ=SND.NXT>.
    pub(super) fn reset_accepted(&mut self, conn: &Connection, options: ReplyOptions) {
        let reply = Reply {
            local: conn.local(),
            remote: conn.remote(),
            seq: conn.snd_nxt(),
            ack: TcpSeqNumber(0),
            flags: TcpFlags::RST,
            window: 0,
            options,
        };
        self.push_client_reply(reply);
    }
}
