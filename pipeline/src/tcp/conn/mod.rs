//! One TCP connection: the RFC 9293 state machine with its companions, sans I/O.
//!
//! Drive it like quinn-proto's connection:
//! - [`handle_segment`](Connection::handle_segment) for every segment of this 4-tuple, after
//!   the caller has checked its checksum;
//! - [`handle_timeout`](Connection::handle_timeout) once [`poll_timeout`](Connection::poll_timeout)
//!   has passed;
//! - [`poll_transmit`](Connection::poll_transmit) until it returns `None`, after each of the
//!   calls above and after the user API ([`send`](Connection::send),
//!   [`recv`](Connection::recv), [`close`](Connection::close)...);
//! - [`poll_event`](Connection::poll_event) to learn what changed for the user.
//!
//! The pieces: `input` (segment arrival, RFC 9293 §3.10.7), `ack` (the ACK field: send
//! window, RTT, congestion control, SACK recovery), `plan` (which segment goes next),
//! `output` (its bytes), `timers` (RTO, persist, delayed ACK, keepalive, TIME-WAIT, recovery
//! timeout, tail loss probe), `options` (option negotiation, timestamps and PAWS), `user` (the
//! user calls), `seq` (the RFC 9293 §3.3.1 variables).

mod ack;
mod input;
mod options;
mod output;
mod plan;
mod seq;
mod timers;
mod tune;
mod user;

#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::sync::Arc;

pub use input::Received;
pub use output::Transmit;
pub use timers::Timer;
pub use tune::{INITIAL_RCV_SPACE, MIN_BUFFER};

use self::options::{PeerSyn, Timestamps};
use self::seq::{RecvSeq, SendSeq};
use self::timers::Timers;
use self::tune::RcvSpace;
use super::buffer::{Reassembler, SendBuffer};
use super::cc::{self, Controller, HyStart};
use super::config::Config;
use super::rtt::RttEstimator;
use super::sack::Scoreboard;
use super::state::{Event, State};
use super::syncookie::SynState;
use crate::time::Instant;
use crate::wire::tcp::{TcpRepr, TcpSeqNumber};

/// Why a connection ended, reported once by [`Connection::poll_event`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloseReason {
    /// Both FINs were exchanged and acknowledged.
    Closed,
    /// The peer reset the connection.
    Reset,
    /// The peer refused the connection (RST in answer to our SYN).
    Refused,
    /// Retransmissions, probes or keepalives went unanswered (RFC 9293 §3.8.3 R2).
    TimedOut,
    /// The user aborted (RFC 9293 §3.10.5 ABORT): a RST was sent.
    Aborted,
}

/// What changed for the user since the last [`Connection::poll_event`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnEvent {
    /// The handshake completed.
    Connected,
    /// New data can be read.
    Readable,
    /// The peer finished sending (its FIN arrived in order): reads will end.
    PeerFinished,
    /// Send buffer space was freed by acknowledgments.
    Writable,
    /// The connection is over; nothing more will happen.
    Closed(CloseReason),
}

/// Counters of one connection, for metrics and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    /// Segments accepted by the sequence test.
    pub segments_in: u64,
    /// Segments emitted.
    pub segments_out: u64,
    /// Data bytes delivered in order to the receive buffer.
    pub bytes_in: u64,
    /// Data bytes acknowledged by the peer.
    pub bytes_acked: u64,
    /// Segments carrying retransmitted data or FIN.
    pub retransmits: u64,
    /// Retransmission timeouts.
    pub rtos: u64,
    /// Fast-recovery episodes (dup-ACK or SACK loss detection).
    pub fast_recoveries: u64,
    /// Retransmissions found lost in recovery and sent again without waiting for the RTO.
    pub lost_retransmits: u64,
    /// SACK recoveries that stalled (no ACK for two RTTs) and resent all unSACKed data.
    pub recovery_timeouts: u64,
    /// Tail loss probes sent (RFC 8985 §7).
    pub tail_probes: u64,
    /// Segments dropped as unacceptable (RFC 9293 §3.10.7.4 "first").
    pub dropped_unacceptable: u64,
    /// Segments dropped by PAWS (RFC 7323 §5).
    pub dropped_paws: u64,
    /// Challenge ACKs sent (RFC 5961).
    pub challenge_acks: u64,
    /// Challenge ACKs suppressed by the rate limit.
    pub challenge_acks_suppressed: u64,
    /// ACKs for data never sent, ignored.
    pub acks_unsent: u64,
    /// Zero-window probes sent.
    pub window_probes: u64,
    /// Keepalive probes sent.
    pub keepalives: u64,
}

/// One TCP connection (a TCB, RFC 9293 §3.3.1).
#[derive(Debug)]
pub struct Connection {
    /// Shared by every connection a listener or an owner makes with it: 8 bytes a connection
    /// instead of the config's 168 (docs/performance.md, "Memory").
    cfg: Arc<Config>,
    local: SocketAddr,
    remote: SocketAddr,
    state: State,
    snd: SendSeq,
    rcv: RecvSeq,
    ts: Timestamps,
    /// Both SYNs carried SACK-permitted.
    sack_ok: bool,
    /// Both SYNs carried window scale.
    wscale_ok: bool,
    /// Option bytes reserved on every segment for the upper layer's hook (MPTCP's DSS).
    hook_space: usize,
    rtt: RttEstimator,
    cc: Controller,
    hystart: HyStart,
    sb: Scoreboard,
    timers: Timers,
    /// A RST is to be sent (abort, or a give-up).
    rst_due: bool,
    /// A RST answering a bad segment is to be sent, with this sequence number.
    reply_rst: Option<TcpSeqNumber>,
    /// A zero-window or keepalive probe is to be sent.
    probe_due: bool,
    /// The persist timer fired on a small window: send what fits despite SWS avoidance.
    sws_override: bool,
    /// We opened actively (a RST in SYN-RECEIVED then means "refused").
    active_open: bool,
    /// Challenge ACKs (RFC 5961 §7): start of the current one-second window, ACKs sent in it.
    challenge: (Instant, u32),
    /// Pending user events, one bit each (`ConnEvent` order).
    events: u8,
    reason: Option<CloseReason>,
    /// When the last segment arrived (keepalive idle time).
    last_heard: Instant,
    /// Receive-window autotuning (`tune.rs`).
    rcv_space: RcvSpace,
    /// The owner's buffer budget is under pressure (`tune.rs`).
    pressure: bool,
    stats: Stats,
}

const EV_CONNECTED: u8 = 1;
const EV_READABLE: u8 = 2;
const EV_PEER_FIN: u8 = 4;
const EV_WRITABLE: u8 = 8;
const EV_CLOSED: u8 = 16;

impl Connection {
    /// An active open (RFC 9293 §3.10.1 OPEN, active): SYN-SENT, the SYN due at the next
    /// [`poll_transmit`](Self::poll_transmit). `iss` comes from an
    /// [`IsnGenerator`](super::isn::IsnGenerator) (RFC 6528).
    pub fn connect(
        cfg: impl Into<Arc<Config>>,
        local: SocketAddr,
        remote: SocketAddr,
        iss: TcpSeqNumber,
        now: Instant,
    ) -> Connection {
        let mut conn = Connection::new(cfg.into(), local, remote, iss, now);
        conn.transition(State::Closed, Event::ActiveOpen);
        conn.snd.syn_due = true;
        conn.active_open = true;
        conn
    }

    /// A passive open (RFC 9293 §3.10.7.2): a listener received `syn`, a SYN without ACK, and
    /// hands it over. SYN-RECEIVED, the SYN,ACK due at the next
    /// [`poll_transmit`](Self::poll_transmit).
    pub fn accept(
        cfg: impl Into<Arc<Config>>,
        local: SocketAddr,
        remote: SocketAddr,
        iss: TcpSeqNumber,
        syn: &TcpRepr<'_>,
        now: Instant,
    ) -> Connection {
        let mut conn = Connection::new(cfg.into(), local, remote, iss, now);
        conn.transition(State::Closed, Event::PassiveOpen);
        conn.transition(State::Listen, Event::RecvSyn);
        conn.rcv.on_syn(syn.seq_number);
        conn.negotiate(now, PeerSyn::from_segment(syn));
        conn.snd.syn_due = true;
        conn
    }

    /// A connection rebuilt from a SYN cookie (RFC 4987 §3.6) when `ack` completes the
    /// handshake: the listener has verified the cookie and decoded `syn`. The ACK is processed
    /// as the ESTABLISHED state would (its data, if any, is received). `advertised` is the
    /// window our SYN,ACK carried.
    pub fn from_cookie(
        cfg: impl Into<Arc<Config>>,
        local: SocketAddr,
        remote: SocketAddr,
        ack: &TcpRepr<'_>,
        syn: &SynState,
        advertised: u16,
        now: Instant,
    ) -> (Connection, Received) {
        let iss = ack.ack_number - 1usize;
        let mut conn = Connection::new(cfg.into(), local, remote, iss, now);
        conn.transition(State::Closed, Event::PassiveOpen);
        conn.transition(State::Listen, Event::RecvSyn);
        conn.rcv.on_syn(ack.seq_number - 1usize);
        let tsval = ack.options.timestamps().map(|(tsval, _)| tsval);
        let peer = PeerSyn {
            mss: Some(syn.mss),
            wscale: syn.wscale,
            sack_permitted: syn.sack_permitted,
            tsval: if syn.timestamps { tsval } else { None },
        };
        conn.negotiate(now, peer);
        conn.snd.nxt = iss + 1usize;
        conn.rcv.adv = conn.rcv.nxt + usize::from(advertised);
        conn.ts.last_ack_sent = conn.rcv.nxt;
        let received = conn.on_segment(now, ack);
        (conn, received)
    }

    fn new(
        cfg: Arc<Config>,
        local: SocketAddr,
        remote: SocketAddr,
        iss: TcpSeqNumber,
        now: Instant,
    ) -> Connection {
        let mss = usize::from(cfg.mss);
        let mut cc_cfg = cc::Config::new(mss);
        cc_cfg.algorithm = cfg.congestion;
        Connection {
            snd: SendSeq::new(iss, send_buffer(&cfg), default_mss(remote)),
            rcv: RecvSeq::new(receive_buffer(&cfg)),
            ts: Timestamps::new(iss),
            sack_ok: false,
            wscale_ok: false,
            hook_space: 0,
            rtt: RttEstimator::new(cfg.rtt),
            cc: Controller::new(&cc_cfg),
            hystart: HyStart::default(),
            sb: Scoreboard::new(iss, u32::from(cfg.mss)),
            timers: Timers::default(),
            rst_due: false,
            reply_rst: None,
            probe_due: false,
            sws_override: false,
            active_open: false,
            challenge: (now, 0),
            events: 0,
            reason: None,
            last_heard: now,
            rcv_space: RcvSpace::new(cfg.initial_rcv_space, cfg.recv_buffer, now),
            pressure: false,
            stats: Stats::default(),
            state: State::Closed,
            cfg,
            local,
            remote,
        }
    }

    /// Changes state through the declared table ([`State::on`]). An edge the table lacks is a
    /// bug in this module, not something a peer can cause: the state stays and a debug build
    /// stops.
    fn transition(&mut self, from: State, event: Event) {
        debug_assert_eq!(self.state, from, "transition {event:?} from the wrong state");
        match from.on(event) {
            Some(next) => self.state = next,
            None => debug_assert!(false, "no edge {from:?} --{event:?}-->"),
        }
    }

    /// Applies `event` to the current state.
    fn apply(&mut self, event: Event) {
        self.transition(self.state, event);
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// Our address and port.
    pub fn local(&self) -> SocketAddr {
        self.local
    }

    /// The peer's address and port.
    pub fn remote(&self) -> SocketAddr {
        self.remote
    }

    /// Our initial sequence number.
    pub fn iss(&self) -> TcpSeqNumber {
        self.snd.iss
    }

    /// The peer's initial sequence number, once its SYN arrived.
    pub fn irs(&self) -> Option<TcpSeqNumber> {
        self.rcv.irs
    }

    /// Counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The RTT estimator (SRTT, RTTVAR, RTO).
    pub fn rtt(&self) -> &RttEstimator {
        &self.rtt
    }

    /// The congestion controller.
    pub fn congestion(&self) -> &Controller {
        &self.cc
    }

    /// The data bytes a full segment carries: the peer's MSS less our per-segment options.
    pub fn effective_mss(&self) -> usize {
        self.snd.eff_mss
    }

    /// Reserves `bytes` of option space on every segment for the upper layer's
    /// [`SegmentHook`](super::hooks::SegmentHook), so full segments leave room for it.
    pub fn reserve_option_space(&mut self, bytes: usize) {
        self.hook_space = bytes.min(crate::wire::tcp_option::MAX_OPTIONS_LEN);
        self.update_eff_mss();
    }

    /// The peer's window, in bytes, as last advertised (scaled).
    pub fn send_window(&self) -> u32 {
        self.snd.wnd
    }

    /// Why the connection ended, once it has.
    pub fn close_reason(&self) -> Option<CloseReason> {
        self.reason
    }

    /// Whether the connection is over and can be dropped (CLOSED; TIME-WAIT is not over).
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// Ends the connection with `reason` (any state to CLOSED) and stops its timers.
    fn finish(&mut self, _now: Instant, reason: CloseReason) {
        if self.state == State::Closed {
            return;
        }
        let event = match reason {
            CloseReason::Closed if self.state == State::TimeWait => Event::TimeWaitTimeout,
            CloseReason::Closed if self.state == State::LastAck => Event::RecvAckOfFin,
            CloseReason::Closed => Event::Close,
            CloseReason::Reset | CloseReason::Refused => Event::RecvRst,
            CloseReason::TimedOut => Event::GiveUp,
            CloseReason::Aborted => Event::Abort,
        };
        self.apply(event);
        self.reason = Some(reason);
        self.events |= EV_CLOSED;
        self.timers.clear();
        self.snd.buf = SendBuffer::new(0);
    }

    /// SND.NXT, for a compact TIME-WAIT entry ([`time_wait`](super::time_wait)).
    pub fn snd_nxt(&self) -> TcpSeqNumber {
        self.snd.nxt
    }

    /// RCV.NXT, for a compact TIME-WAIT entry.
    pub fn rcv_nxt(&self) -> TcpSeqNumber {
        self.rcv.nxt
    }

    /// The window field our segments carry now (scaled down by our shift), for a TIME-WAIT
    /// entry's ACKs.
    pub fn rcv_window_field(&self) -> u16 {
        (self.rcv.wnd() >> self.rcv.wscale).min(u32::from(u16::MAX)) as u16
    }

    /// Our window scale shift (RFC 7323 §2.2 Rcv.Wind.Shift).
    pub fn rcv_wscale(&self) -> u8 {
        self.rcv.wscale
    }

    /// TS.Recent, when timestamps are in use (RFC 7323 §4.3).
    pub fn ts_recent(&self) -> Option<u32> {
        self.ts.enabled.then_some(self.ts.recent)
    }

    /// Our TSval clock at `now`, when timestamps are in use.
    pub fn ts_clock(&self, now: Instant) -> Option<u32> {
        self.ts.enabled.then(|| self.ts.clock(now))
    }

    /// The TSval clock a connection whose ISS is `iss` runs at `now`: a SYN cookie's TSval
    /// must not exceed it, so the connection rebuilt from the cookie never sends a TSval
    /// below it (RFC 7323 §5.4).
    pub fn ts_clock_for_iss(iss: TcpSeqNumber, now: Instant) -> u32 {
        Timestamps::new(iss).clock(now)
    }

    /// Bytes this connection holds in memory beyond its own struct: buffer storage and the
    /// out-of-order ranges.
    pub fn heap_bytes(&self) -> usize {
        self.snd.buf.allocated_bytes() + self.rcv.reasm.allocated_bytes()
    }
}

/// The send buffer: released by the release timer, or at once when drained without one.
fn send_buffer(cfg: &Config) -> SendBuffer {
    let mut buf = SendBuffer::new(cfg.send_buffer);
    buf.set_release_on_drain(cfg.buffer_release.is_none());
    buf
}

/// The receive buffer: released by the release timer, or at once when drained without one.
fn receive_buffer(cfg: &Config) -> Reassembler {
    let mut buf = Reassembler::with_max_holes(cfg.recv_buffer, cfg.max_holes);
    buf.set_release_on_drain(cfg.buffer_release.is_none());
    buf
}

/// RFC 9293 §3.7.1 (MUST-15): without an MSS option the peer takes 536 bytes (IPv4) or
/// 1220 bytes (IPv6, RFC 8200 §5 minimum MTU less headers).
fn default_mss(remote: SocketAddr) -> u16 {
    if remote.is_ipv4() { 536 } else { 1220 }
}
