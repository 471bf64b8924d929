//! SYN cookies in the listener (RFC 4987 §3.6): the SYN,ACK that encodes a SYN's state when
//! the half-open table is full, and the ACK that brings it back.

use std::net::SocketAddr;
use std::sync::Arc;

use super::{DropReason, Listener, ListenerOutcome, Reply, ReplyOptions};
use crate::tcp::conn::Connection;
use crate::tcp::hooks::{SynAckOptions, SynNote};
use crate::tcp::syncookie::{CookieError, SynState, cookie_tsval};
use crate::time::Instant;
use crate::wire::tcp::{TcpFlags, TcpRepr};

/// RFC 9293 §3.7.1 (MUST-15): without an MSS option the peer takes 536 bytes (IPv4) or
/// 1220 bytes (IPv6).
fn default_mss(remote: SocketAddr) -> u16 {
    if remote.is_ipv4() { 536 } else { 1220 }
}

impl Listener {
    /// The window field of our SYN,ACKs: the receive buffer, unscaled (RFC 7323 §2.2), as
    /// the connection's own SYN,ACK carries it.
    fn syn_ack_window(&self) -> u16 {
        self.cfg.tcp.recv_buffer.min(usize::from(u16::MAX)) as u16
    }

    /// What the cookie will remember of `syn`: window scale and SACK-permitted only with
    /// timestamps (they travel in the TSval's low bits), and only what we offer ourselves.
    fn cookie_state(
        &self,
        remote: SocketAddr,
        syn: &TcpRepr<'_>,
        extra: &SynAckOptions,
    ) -> SynState {
        let cfg = &self.cfg.tcp;
        let opts = syn.options;
        let ts = cfg.timestamps && opts.timestamps().is_some();
        SynState {
            mss: opts.mss().unwrap_or_else(|| default_mss(remote)),
            wscale: opts.window_scale().filter(|_| ts && cfg.window_scaling),
            sack_permitted: ts && cfg.sack && opts.sack_permitted(),
            timestamps: ts,
            ecn: false,
            mp_capable: !extra.is_empty(),
            mptcp_v0: !extra.is_empty() && extra.note().version0,
        }
    }

    /// The cookie SYN,ACK answering `syn` (RFC 4987 §3.6).
    pub(super) fn cookie_syn_ack(
        &self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        syn: &TcpRepr<'_>,
        extra: SynAckOptions,
    ) -> Reply {
        let state = self.cookie_state(remote, syn, &extra);
        let (isn, bits) = self.cookies.encode(now, local, remote, syn.seq_number, state);
        let peer_ts = syn.options.timestamps().map(|(tsval, _)| tsval);
        let clock = Connection::ts_clock_for_iss(isn, now);
        let ts = bits.zip(peer_ts).map(|(bits, tsecr)| (cookie_tsval(clock, bits), tsecr));
        let options = ReplyOptions::SynAck {
            mss: self.cfg.tcp.mss,
            wscale: state.wscale.map(|_| self.cfg.tcp.rcv_wscale()),
            sack: state.sack_permitted,
            ts,
            extra,
        };
        Reply {
            local,
            remote,
            seq: isn,
            ack: syn.seq_number + 1usize,
            flags: TcpFlags::SYN | TcpFlags::ACK,
            window: self.syn_ack_window(),
            options,
        }
    }

    /// Whether `seg`, an ACK in LISTEN, carries a cookie this listener issued and still
    /// accepts (RFC 4987 §3.6). Changes nothing and counts nothing: for an owner that must
    /// tell its own cookies from another listener's before handing the segment on.
    pub fn issued_cookie(
        &self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        seg: &TcpRepr<'_>,
    ) -> bool {
        let flags = seg.flags;
        let ack_only = flags.contains(TcpFlags::ACK)
            && !flags.contains(TcpFlags::SYN)
            && !flags.contains(TcpFlags::RST);
        if !self.cfg.syn_cookies || !ack_only || local != self.local {
            return false;
        }
        self.decode_cookie(now, local, remote, seg).is_ok()
    }

    /// The SYN's state from the cookie the ACK `seg` returns (its acknowledgment number minus
    /// one is our ISN, its sequence number minus one the client's, its TSecr the option bits).
    fn decode_cookie(
        &self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        seg: &TcpRepr<'_>,
    ) -> Result<SynState, CookieError> {
        let tsecr = seg.options.timestamps().filter(|_| self.cfg.tcp.timestamps).map(|t| t.1);
        let (client_isn, our_isn) = (seg.seq_number - 1usize, seg.ack_number - 1usize);
        self.cookies.decode(now, local, remote, client_isn, our_isn, tsecr)
    }

    /// An ACK in LISTEN: a connection if it carries a valid cookie, else a RST
    /// (RFC 9293 §3.10.7.2 "second, check for an ACK").
    pub(super) fn cookie_ack(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        seg: &TcpRepr<'_>,
    ) -> ListenerOutcome {
        let Ok(syn) = self.decode_cookie(now, local, remote, seg) else {
            self.stats.cookies_invalid += 1;
            return self.reset(Reply::reset_for(local, remote, seg));
        };
        if self.accept_full() {
            self.stats.dropped_accept_queue_full += 1;
            return ListenerOutcome::Dropped(DropReason::AcceptQueueFull);
        }
        let window = self.syn_ack_window();
        let (conn, _) = Connection::from_cookie(
            Arc::clone(&self.tcp[1]),
            local,
            remote,
            seg,
            &syn,
            window,
            now,
        );
        if !conn.state().is_synchronized() {
            self.stats.dropped_cookie_not_established += 1;
            return ListenerOutcome::Dropped(DropReason::CookieNotEstablished);
        }
        self.stats.cookies_valid += 1;
        // A cookie keeps the version but not a v0 client's key (docs/architecture.md, "MPTCP v0").
        let note = SynNote { peer_key: None, version0: syn.mptcp_v0, checksums: false };
        self.enqueue_accept(conn, syn.mp_capable.then_some(note))
    }
}
