//! From the configuration to the pipeline's own types.

use std::net::SocketAddr;
use std::ops::RangeInclusive;

use netreaktor_pipeline::mptcp::conn::{
    Checksums, MptcpConfig, Scheduler as MptcpScheduler, Versions,
};
use netreaktor_pipeline::proxy::{HealthCheck, HealthConfig, SpliceConfig};
use netreaktor_pipeline::shard::ServiceConfig;
use netreaktor_pipeline::tcp::cc::Algorithm;
use netreaktor_pipeline::tcp::config::{Config as TcpConfig, Keepalive};
use netreaktor_pipeline::tcp::listener::ListenerConfig;
use netreaktor_pipeline::tcp::rtt::RttConfig;

use super::schema::{ChecksumMode, Config, Congestion, Health, Pipeline, ProxyProtocol, Scheduler};

/// Bytes as `usize`; every size is bounded far below `usize::MAX` on a 64-bit host.
fn bytes(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// A count as `u32`; every count the schema reads into one is bounded far below.
fn count(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl Config {
    /// The AF_XDP queues used per interface: as configured, or one per core.
    pub(crate) fn queues(&self) -> u32 {
        let queues = self.interfaces.queues.as_ref().map(|q| q.value.0);
        count(queues.unwrap_or(self.cores.value.len() as u64))
    }

    /// One worker's share of `limits.buffer_memory`, in bytes (the budget is split evenly).
    pub(crate) fn buffer_budget_per_worker(&self) -> usize {
        let workers = self.cores.value.len().max(1) as u64;
        bytes(self.limits.buffer_memory.0 / workers)
    }

    /// The tunables of every TCP connection (client subflows and origin connections).
    /// Values the file cannot set keep `tcp::Config::default()`.
    pub(crate) fn to_tcp_config(&self) -> TcpConfig {
        let tcp = &self.tcp;
        let delayed_ack = tcp.delayed_ack.0;
        TcpConfig {
            // The schema bounds mss to 536..=9000.
            mss: u16::try_from(tcp.mss.value.0).unwrap_or(u16::MAX),
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
            // A worker answers a whole receive batch before it transmits: under a SYN flood
            // every SYN of a batch may queue a cookie SYN,ACK, so the queue holds two batches
            // (the library's 256 dropped a third of a flood's SYNs unanswered).
            reply_queue: 2 * crate::worker::BATCH,
            ..ListenerConfig::default()
        }
    }
}

impl Config {
    /// The services every worker runs: one per pipeline, a listener per port, and per worker
    /// its share of `max_connections` (rounded up).
    pub(crate) fn to_services(&self) -> Vec<ServiceConfig> {
        let workers = self.cores.value.len().max(1);
        self.pipelines
            .value
            .iter()
            .map(|p| {
                let address = p.matches.address.value.0;
                // The announced addresses are service addresses too: clients join there.
                let announced = p.terminate.announce.iter().map(|a| a.value.0);
                let addresses: Vec<_> = std::iter::once(address).chain(announced).collect();
                let listen = addresses
                    .iter()
                    .flat_map(|&a| {
                        let ports = p.matches.ports.value.iter();
                        ports
                            .flat_map(|r| r.value.first..=r.value.last)
                            .map(move |port| SocketAddr::new(a, port))
                    })
                    .collect();
                let origins: Vec<SocketAddr> =
                    p.forward.origins.value.iter().map(|o| o.value.0).collect();
                let max = bytes(p.terminate.limits.max_connections.0);
                ServiceConfig {
                    name: p.name.value.clone(),
                    listen,
                    max_tries: count(origins.len() as u64),
                    health: to_health(&p.forward.health),
                    origins,
                    max_connections: max.div_ceil(workers),
                    splice: SpliceConfig {
                        connect_timeout: p.forward.connect_timeout.0,
                        idle_timeout: Some(p.forward.idle_timeout.0),
                        proxy_protocol: p.forward.proxy_protocol == ProxyProtocol::V2,
                        origin_timeout: Some(p.forward.origin_timeout.0),
                    },
                    listener: self.to_listener_config(p),
                    mptcp: self.to_mptcp_config(p),
                }
            })
            .collect()
    }

    /// The MPTCP termination of a pipeline: the versions listed (a SYN of another version
    /// gets plain TCP); `None` when none is (validation refuses an empty list).
    pub(crate) fn to_mptcp_config(&self, p: &Pipeline) -> Option<MptcpConfig> {
        let t = &p.terminate;
        let listed = |n: u64| t.mptcp_versions.value.iter().any(|v| v.value.0 == n);
        let versions = Versions { v0: listed(0), v1: listed(1) };
        if !versions.v0 && !versions.v1 {
            return None;
        }
        Some(MptcpConfig {
            versions,
            max_subflows: t.limits.max_subflows.0 as usize,
            scheduler: match t.scheduler {
                Scheduler::LowestRtt => MptcpScheduler::LowestRtt,
                Scheduler::Redundant => MptcpScheduler::Redundant,
            },
            failover_floor: t.failover.min_stall.0,
            failover_rtts: t.failover.stall_rtts.0 as u32,
            checksums: match t.checksums {
                ChecksumMode::IfClientAsks => Checksums::IfPeerAsks,
                ChecksumMode::Required => Checksums::Required,
            },
            no_join_to_source: t.no_join_to_service_address,
            // Address ids 1.. in the order listed (0 is the service address, RFC 8684 §3.4.1).
            announce: t.announce.iter().zip(1u8..).map(|(a, id)| (id, a.value.0)).collect(),
            add_addr_timeout: t.failover.add_addr_timeout.0,
            recv_buffer: bytes(self.tcp.recv_buffer.0),
            send_buffer: bytes(self.tcp.send_buffer.0),
        })
    }

    /// The origin-side source port range (see [`to_health`] for `forward.health`).
    pub(crate) fn origin_ports(&self) -> RangeInclusive<u16> {
        let ports = &self.interfaces.origin_source.ports.value;
        ports.first..=ports.last
    }
}

/// A pipeline's passive origin health; `None` when `enabled: false`.
fn to_health(h: &Health) -> Option<HealthConfig> {
    h.enabled.then(|| HealthConfig {
        failures: count(h.failures.0),
        backoff: h.backoff.value.0,
        max_backoff: h.max_backoff.value.0,
        check: h.check.as_ref().map(|c| HealthCheck {
            interval: c.value.interval.value.0,
            timeout: c.value.timeout.value.0,
        }),
    })
}
