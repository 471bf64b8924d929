//! From the configuration to the pipeline's own types.

use netreaktor_pipeline::tcp::cc::Algorithm;
use netreaktor_pipeline::tcp::config::{Config as TcpConfig, Keepalive};
use netreaktor_pipeline::tcp::listener::ListenerConfig;
use netreaktor_pipeline::tcp::rtt::RttConfig;

use super::schema::{Config, Congestion, Pipeline};

/// Bytes as `usize`; every size is bounded far below `usize::MAX` on a 64-bit host.
fn bytes(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// A count as `u32`; every count the schema reads into one is bounded far below.
fn count(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl Config {
    /// The tunables of every TCP connection (client subflows and origin connections).
    /// Values the file cannot set keep `tcp::Config::default()`.
    pub(crate) fn to_tcp_config(&self) -> TcpConfig {
        let tcp = &self.tcp;
        let delayed_ack = tcp.delayed_ack.0;
        TcpConfig {
            // The schema bounds mss to 536..=9000.
            mss: u16::try_from(tcp.mss.0).unwrap_or(u16::MAX),
            send_buffer: bytes(tcp.send_buffer.0),
            recv_buffer: bytes(tcp.recv_buffer.0),
            congestion: match tcp.congestion {
                Congestion::Cubic => Algorithm::Cubic,
                Congestion::Newreno => Algorithm::NewReno,
            },
            rtt: RttConfig { min_rto: tcp.min_rto.0, ..RttConfig::default() },
            delayed_ack: (delayed_ack.total_micros() > 0).then_some(delayed_ack),
            keepalive: tcp.keepalive.as_ref().map(|k| Keepalive {
                idle: k.idle.0,
                interval: k.interval.0,
                probes: count(k.probes.0),
            }),
            challenge_acks_per_sec: count(tcp.challenge_acks_per_sec.0),
            time_wait: tcp.time_wait.0,
            ..TcpConfig::default()
        }
    }

    /// The listener of one pipeline: the global listener limits, with the pipeline's own
    /// `terminate.limits.half_open_max` when it sets one.
    pub(crate) fn to_listener_config(&self, pipeline: &Pipeline) -> ListenerConfig {
        let half_open =
            pipeline.terminate.limits.half_open_max.unwrap_or(self.listener.half_open_max);
        ListenerConfig {
            tcp: self.to_tcp_config(),
            half_open_max: bytes(half_open.0),
            accept_backlog: bytes(self.listener.accept_backlog.0),
            syn_cookies: self.listener.syn_cookies,
            ..ListenerConfig::default()
        }
    }
}
