//! From a frame to the connection and subflow it belongs to: parsing, flow lookup, new
//! connections and joins, and the limits on what is kept.

use core::net::SocketAddr;

use netreaktor_pipeline::time::Instant;
use netreaktor_pipeline::wire::frame::{Frame, TcpFrame, parse_frame};
use netreaktor_pipeline::wire::mptcp::{MpCapable, MpJoin, MptcpVersion};
use netreaktor_pipeline::wire::tcp::{TcpFlags, TcpRepr};

use super::connection::Limits;
use super::options::SegmentOptions;
use super::process::Seg;
use super::stats::bump;
use super::{FlowKey, FlowSlot, ObservedConnection, Observer, Side, UnknownJoin};

impl Observer {
    /// Follows one captured Ethernet frame, seen at `now`.
    ///
    /// Any bytes are accepted: frames that do not parse are counted by reason in
    /// [`stats`](Observer::stats), malformed MPTCP options by subtype. Never panics.
    pub fn handle_frame(&mut self, now: Instant, frame: &[u8]) {
        bump(&mut self.stats.frames);
        match parse_frame(frame, self.config.checksums) {
            Ok(Frame::Tcp(tcp)) => {
                bump(&mut self.stats.tcp_frames);
                self.handle_tcp(now, &tcp);
            }
            Ok(_) => bump(&mut self.stats.non_tcp_frames),
            Err(error) => self.stats.count_frame_error(error),
        }
    }

    fn handle_tcp(&mut self, now: Instant, frame: &TcpFrame<'_>) {
        let tcp = &frame.tcp;
        let src = SocketAddr::new(frame.ip.src_addr(), tcp.src_port);
        let dst = SocketAddr::new(frame.ip.dst_addr(), tcp.dst_port);
        let opening = tcp.flags.contains(TcpFlags::SYN) && !tcp.flags.contains(TcpFlags::ACK);
        match self.lookup(src, dst) {
            // A new SYN on a finished subflow: the 4-tuple is reused by a new connection.
            Some((slot, true)) if opening && self.is_finished(slot) => {
                self.flows.remove(&(src, dst));
                self.on_untracked(now, (src, dst), tcp);
            }
            Some((slot, forward)) => self.on_tracked(now, slot, forward, tcp),
            None => self.on_untracked(now, (src, dst), tcp),
        }
    }

    /// The subflow of `src -> dst`, and whether that is the direction of its SYN.
    fn lookup(&self, src: SocketAddr, dst: SocketAddr) -> Option<(FlowSlot, bool)> {
        if let Some(&slot) = self.flows.get(&(src, dst)) {
            return Some((slot, true));
        }
        self.flows.get(&(dst, src)).map(|&slot| (slot, false))
    }

    fn is_finished(&self, slot: FlowSlot) -> bool {
        let conn = self.connections.get(slot.conn);
        conn.and_then(|c| c.subflows().get(slot.sub)).is_some_and(|s| s.is_finished())
    }

    /// A segment of a followed subflow.
    fn on_tracked(&mut self, now: Instant, slot: FlowSlot, forward: bool, tcp: &TcpRepr<'_>) {
        let Some(conn) = self.connections.get_mut(slot.conn) else {
            return;
        };
        let opts = SegmentOptions::parse(tcp.options, conn.version(), &mut self.stats);
        let Some(opened_by) = conn.subflows().get(slot.sub).map(|s| s.opened_by()) else {
            return;
        };
        let from = if forward { opened_by } else { opened_by.peer() };
        conn.on_segment(&Seg { now, sub: slot.sub, from, tcp, opts: &opts });
        self.register_tokens(slot.conn);
    }

    /// A segment of no followed subflow: a SYN that opens one, or a frame to count.
    fn on_untracked(&mut self, now: Instant, key: FlowKey, tcp: &TcpRepr<'_>) {
        let flags = tcp.flags;
        let (src, dst) = key;
        // Parsed (and malformed options counted) even when not followed. A SYN carries only
        // MP_CAPABLE or MP_JOIN, whose formats do not depend on the version.
        let opts = SegmentOptions::parse(tcp.options, MptcpVersion::V1, &mut self.stats);
        if !flags.contains(TcpFlags::SYN) || flags.contains(TcpFlags::ACK) {
            if !self.plain.contains(&key) && !self.plain.contains(&(dst, src)) {
                bump(&mut self.stats.frames_without_syn);
            }
            return;
        }
        if let Some(mpc) = opts.mp_capable {
            self.open_connection(now, key, tcp, &mpc, &opts);
        } else if let Some(MpJoin::Syn { backup, addr_id, token, nonce }) = opts.mp_join {
            self.open_join(now, key, tcp, (token, backup, addr_id, nonce), &opts);
        } else {
            bump(&mut self.stats.plain_tcp_flows);
            self.remember_plain(key);
        }
    }

    /// A new connection from its MP_CAPABLE SYN, within the limits.
    fn open_connection(
        &mut self,
        now: Instant,
        key: FlowKey,
        tcp: &TcpRepr<'_>,
        mpc: &MpCapable,
        opts: &SegmentOptions<'_>,
    ) {
        let full = self.connections.len() >= self.config.max_connections;
        if full || self.flows.len() >= self.config.max_flows {
            bump(&mut self.stats.dropped_connections);
            return;
        }
        bump(&mut self.stats.mptcp_connections);
        let limits = Limits {
            max_subflows: self.config.max_subflows.max(1),
            max_events: self.config.max_events,
            max_checks: self.config.max_checks,
        };
        let mut conn = ObservedConnection::new(now, key, mpc, limits);
        conn.on_segment(&Seg { now, sub: 0, from: Side::Initiator, tcp, opts });
        let index = self.connections.len();
        self.connections.push(conn);
        self.flows.insert(key, FlowSlot { conn: index, sub: 0 });
        self.register_tokens(index);
    }

    /// A new MP_JOIN subflow of the connection whose token its SYN carries.
    fn open_join(
        &mut self,
        now: Instant,
        key: FlowKey,
        tcp: &TcpRepr<'_>,
        join: (u32, bool, u8, u32),
        opts: &SegmentOptions<'_>,
    ) {
        let (token, backup, addr_id, _) = join;
        let found = self.tokens.get(&token).copied().and_then(|conn| {
            let responder = self.connections.get(conn)?.side_with_token(token)?;
            Some((conn, responder))
        });
        let Some((conn_index, responder)) = found else {
            bump(&mut self.stats.unknown_token_joins);
            if self.unknown_joins.len() < self.config.max_unknown_joins {
                let (src, dst) = key;
                self.unknown_joins.push(UnknownJoin { at: now, src, dst, token, backup, addr_id });
            }
            self.remember_plain(key);
            return;
        };
        let room = self.flows.len() < self.config.max_flows;
        let Some(conn) = self.connections.get_mut(conn_index).filter(|_| room) else {
            bump(&mut self.stats.dropped_subflows);
            return;
        };
        let joiner = responder.peer();
        let Some(sub) = conn.add_join(now, key, joiner, join) else {
            bump(&mut self.stats.dropped_subflows);
            return;
        };
        conn.on_segment(&Seg { now, sub, from: joiner, tcp, opts });
        self.flows.insert(key, FlowSlot { conn: conn_index, sub });
    }

    /// Remembers a flow that is not followed, so its frames are not counted as missed SYNs.
    fn remember_plain(&mut self, key: FlowKey) {
        if self.plain.len() < self.config.max_plain_flows {
            self.plain.insert(key);
        } else if !self.plain.contains(&key) {
            bump(&mut self.stats.dropped_plain_flows);
        }
    }

    /// Indexes the tokens of a connection's keys learnt since the last call.
    fn register_tokens(&mut self, conn_index: usize) {
        let Some(conn) = self.connections.get_mut(conn_index) else {
            return;
        };
        for side in Side::BOTH {
            let token = conn.token(side);
            let registered = conn.tokens_registered.get_mut(side);
            if let (false, Some(token)) = (*registered, token) {
                *registered = true;
                self.tokens.insert(token, conn_index);
            }
        }
    }
}
