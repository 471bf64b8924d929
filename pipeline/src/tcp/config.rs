//! The tunables of one TCP connection, with the defaults a proxy wants.

use super::cc::Algorithm;
use super::rtt::RttConfig;
use crate::time::Duration;

/// Keepalive probing (RFC 9293 §3.8.4, MUST-24: off unless asked for).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keepalive {
    /// Idle time before the first probe (RFC 9293: no less than 2 hours by default; a proxy
    /// usually wants less, and the user chooses).
    pub idle: Duration,
    /// Time between unanswered probes.
    pub interval: Duration,
    /// Unanswered probes before the connection is declared dead.
    pub probes: u32,
}

impl Default for Keepalive {
    /// RFC 9293 §3.8.4's two hours, then 75 s between 9 probes (Linux's defaults).
    fn default() -> Self {
        Keepalive { idle: Duration::from_secs(7200), interval: Duration::from_secs(75), probes: 9 }
    }
}

/// Everything a connection can be tuned with. `Config::default()` is what the appliance uses
/// unless the operator says otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// The MSS we announce: the largest segment we can receive, from the interface MTU minus
    /// 40 (IPv4) or 60 (IPv6) bytes of headers. Also caps the segments we send.
    pub mss: u16,
    /// Send buffer budget in bytes: unacknowledged plus unsent data.
    pub send_buffer: usize,
    /// Receive buffer budget in bytes: unread plus out-of-order data. The receive window is
    /// what unread data leaves of it.
    pub recv_buffer: usize,
    /// Offer window scaling (RFC 7323 §2).
    pub window_scaling: bool,
    /// Offer SACK (RFC 2018).
    pub sack: bool,
    /// Offer timestamps (RFC 7323 §3).
    pub timestamps: bool,
    /// The congestion controller (RFC 9438 CUBIC by default).
    pub congestion: Algorithm,
    /// End the initial slow start when the RTT grows (HyStart++, RFC 9406), before the
    /// bottleneck queue overflows.
    pub hystart: bool,
    /// Tail loss probes (RFC 8985 §7; used only with SACK): a lost tail of data is found
    /// after two RTTs instead of an RTO.
    pub tail_loss_probe: bool,
    /// RTO bounds (RFC 6298).
    pub rtt: RttConfig,
    /// Longest delay of an ACK for in-order data (RFC 9293 §3.8.6.3: less than 0.5 s;
    /// RFC 5681 §4.2 and the issue: 40 ms here). `None` acknowledges every segment at once.
    pub delayed_ack: Option<Duration>,
    /// Nagle's algorithm (RFC 9293 §3.7.4). Off for a proxy: it forwards what it gets.
    pub nagle: bool,
    /// Keepalive probing; `None` (off) by default as RFC 9293 MUST-24 requires.
    pub keepalive: Option<Keepalive>,
    /// SYN (or SYN,ACK) retransmissions before giving up (RFC 9293 §3.8.3 R2 for SYNs:
    /// MUST-23, at least 3 minutes of trying: 7 retries with backoff from 1 s and a 60 s cap
    /// give up 183 s after the first SYN).
    pub syn_retries: u32,
    /// Data retransmissions (or unanswered zero-window probes) before giving up (§3.8.3 R2:
    /// at least 100 s). 15, as Linux: about 15 minutes with a 200 ms minimum RTO.
    pub data_retries: u32,
    /// RFC 9293 §3.8.3's USER TIMEOUT (RFC 5482; Linux's `TCP_USER_TIMEOUT`): give up as after
    /// `data_retries` once data or a FIN has waited this long for the peer to acknowledge
    /// anything, counted from the last time SND.UNA advanced (or from the send that found
    /// nothing outstanding). Whichever of the two limits comes first ends the connection.
    /// A zero window counts only while the peer is silent: every ACK it sends with a zero
    /// window (an answered probe) restarts the clock, and unanswered zero-window probes run it
    /// from the first one. SYNs are not covered (`syn_retries`). `None`: no such limit.
    pub user_timeout: Option<Duration>,
    /// How long TIME-WAIT lasts: 2·MSL (§3.4.2); MSL is taken as 30 s.
    pub time_wait: Duration,
    /// How long drained send and receive buffers stay allocated before they are freed: a
    /// connection that keeps data flowing keeps its storage (no allocation and regrowth per
    /// burst), an idle one gives it back. `None`: freed the moment they drain.
    pub buffer_release: Option<Duration>,
    /// How long FIN-WAIT-2 may last without a segment from the peer (not in RFC 9293;
    /// Linux's `tcp_fin_timeout`): every accepted segment restarts it, so a peer still sending
    /// after our half-close is never cut off, only one gone silent. `None`: forever.
    pub fin_wait2_timeout: Option<Duration>,
    /// Challenge ACKs (RFC 5961 §7) allowed per second on one connection.
    pub challenge_acks_per_sec: u32,
    /// Largest number of out-of-order holes held by the receiver.
    pub max_holes: usize,
    /// The receive space a connection starts with: receive-window autotuning grows it with
    /// what the application drains per RTT, up to `recv_buffer` (docs/operations.md, "Memory
    /// model"). `recv_buffer` or more offers the whole buffer from the first segment.
    pub initial_rcv_space: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            mss: 1460,
            send_buffer: 256 * 1024,
            recv_buffer: 256 * 1024,
            window_scaling: true,
            sack: true,
            timestamps: true,
            congestion: Algorithm::Cubic,
            hystart: true,
            tail_loss_probe: true,
            rtt: RttConfig::default(),
            delayed_ack: Some(Duration::from_millis(40)),
            nagle: false,
            keepalive: None,
            syn_retries: 7,
            data_retries: 15,
            user_timeout: None,
            time_wait: Duration::from_secs(60),
            buffer_release: Some(Duration::from_secs(1)),
            fin_wait2_timeout: Some(Duration::from_secs(60)),
            challenge_acks_per_sec: 10,
            max_holes: super::buffer::DEFAULT_MAX_HOLES,
            initial_rcv_space: super::conn::INITIAL_RCV_SPACE,
        }
    }
}

impl Config {
    /// The window scale shift we announce: the smallest that lets the receive buffer be
    /// advertised whole (RFC 7323 §2.3, at most 14).
    pub fn rcv_wscale(&self) -> u8 {
        let mut shift = 0u8;
        while shift < MAX_WSCALE && (self.recv_buffer >> shift) > usize::from(u16::MAX) {
            shift += 1;
        }
        shift
    }
}

/// RFC 7323 §2.3: the largest shift count.
pub const MAX_WSCALE: u8 = 14;
