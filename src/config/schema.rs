//! The shape of a configuration file: one struct per YAML mapping, every one with
//! `deny_unknown_fields`, defaults where a key may be left out. Single values check their own
//! bounds while they are read (see [`units`](super::units)); checks that relate several values
//! are in [`validate`](super::validate), which is why their nodes keep their [`Spanned`]
//! locations.

use serde::Deserialize;
use serde_saphyr::{Location, Spanned};

use super::units::{Dur, IfName, Int, IpAddress, PortRange, Size, SockAddr};

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;
const MS: u64 = 1_000;
const SEC: u64 = 1_000 * MS;
const HOUR: u64 = 3_600 * SEC;

/// A value with no place in the file: a default.
fn unplaced<T>(value: T) -> Spanned<T> {
    Spanned { value, referenced: Location::UNKNOWN, defined: Location::UNKNOWN }
}

/// A whole configuration file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Config {
    /// The network interfaces the appliance takes over.
    pub(crate) interfaces: Interfaces,
    /// CPU ids, one worker pinned to each.
    pub(crate) cores: Spanned<Vec<Spanned<Int<0, 4095>>>>,
    /// How much the appliance logs.
    #[serde(default)]
    pub(crate) log_level: LogLevel,
    /// What the appliance logs besides its level (the connection-end lines).
    #[serde(default)]
    pub(crate) log: Log,
    /// How long a worker spins without work before it sleeps in poll(2).
    #[serde(default = "default_idle_spin")]
    pub(crate) idle_spin: Dur<0, { SEC }>,
    /// On SIGTERM, how long connections may go on finishing before they are reset.
    #[serde(default = "default_drain_timeout")]
    pub(crate) drain_timeout: Dur<0, { HOUR }>,
    /// The Prometheus endpoint.
    #[serde(default)]
    pub(crate) metrics: Metrics,
    /// Packet capture to pcapng files (absent: off).
    #[serde(default)]
    pub(crate) capture: Option<Capture>,
    /// TCP tunables for every connection, client and origin side.
    #[serde(default)]
    pub(crate) tcp: Tcp,
    /// Passive-open limits, for every pipeline unless it overrides them.
    #[serde(default)]
    pub(crate) listener: Listener,
    /// Limits of the whole appliance (per pipeline: `pipelines[].limits`).
    #[serde(default)]
    pub(crate) limits: GlobalLimits,
    /// The services: match -> terminate -> forward.
    pub(crate) pipelines: Spanned<Vec<Pipeline>>,
}

/// The client-facing and origin-facing interfaces (the same name is allowed: one NIC).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Interfaces {
    /// Where clients' packets arrive (service addresses).
    pub(crate) client: IfName,
    /// Where origin servers are reached.
    pub(crate) origin: IfName,
    /// AF_XDP queues used on each interface (rx queues 0..queues); absent: one per core.
    /// Worker `i` owns the queues `q` with `q % cores == i`.
    pub(crate) queues: Option<Spanned<Int<1, 256>>>,
    /// Where origin connections come from.
    #[serde(default)]
    pub(crate) origin_source: OriginSource,
    /// How the steering program is attached.
    #[serde(default)]
    pub(crate) xdp_mode: XdpMode,
}

/// The XDP attach mode.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum XdpMode {
    /// Native (in the driver) where the driver has it, else generic.
    #[default]
    Auto,
    /// Native only: start fails where the driver has no XDP.
    Native,
    /// Generic (on the kernel's socket buffers): slower, works on any interface.
    Generic,
}

/// The source address and ports of origin connections. The steering program hands the
/// replies to these ports to the appliance, so the kernel must not use them on this address
/// (keep them out of `net.ipv4.ip_local_port_range`, or list them in
/// `net.ipv4.ip_local_reserved_ports`).
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct OriginSource {
    /// One address of the origin-facing interface, the source toward origins of its own IP
    /// version (the single-address form; `ipv4` / `ipv6` name one per version).
    pub(crate) address: Option<Spanned<IpAddress>>,
    /// The source toward IPv4 origins; absent (and not given as `address`): the origin
    /// interface's first global IPv4 address, read when the appliance starts.
    pub(crate) ipv4: Option<Spanned<IpAddress>>,
    /// The source toward IPv6 origins; absent (and not given as `address`): the origin
    /// interface's first global IPv6 address, read when the appliance starts.
    pub(crate) ipv6: Option<Spanned<IpAddress>>,
    /// Source ports, dealt to the workers in turn.
    pub(crate) ports: Spanned<PortRange>,
}

impl Default for OriginSource {
    fn default() -> Self {
        OriginSource { address: None, ipv4: None, ipv6: None, ports: default_origin_ports() }
    }
}

fn default_idle_spin() -> Dur<0, { SEC }> {
    Dur(netreaktor_pipeline::time::Duration::from_micros(50))
}

fn default_drain_timeout() -> Dur<0, { HOUR }> {
    Dur::millis(30_000)
}

fn default_origin_ports() -> Spanned<PortRange> {
    unplaced(PortRange { first: 40_000, last: 59_999 })
}

/// Log verbosity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub(crate) enum LogLevel {
    /// Errors only.
    Error,
    /// Errors and warnings.
    Warn,
    /// Lifecycle events too (the default).
    #[default]
    Info,
    /// Per-connection events.
    Debug,
    /// Everything.
    Trace,
}

/// Log settings beside `log_level`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct Log {
    /// The line logged at `info` when a connection ends.
    pub(crate) connections: ConnectionLog,
}

/// The connection-end lines: at most `per_second` per worker and second, a summary line for
/// the ones dropped above it; 0 turns them off.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct ConnectionLog {
    /// Lines per second and worker.
    pub(crate) per_second: Int<0, 1_000_000>,
}

impl Default for ConnectionLog {
    fn default() -> Self {
        ConnectionLog { per_second: Int(100) }
    }
}

/// Packet capture: each worker writes what it receives and sends to a pcapng file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Capture {
    /// The file; `{worker}` is replaced by the worker's id (else `-ID` goes before the
    /// extension).
    pub(crate) path: String,
    /// Each file stops growing at this size; later frames are counted, not written.
    #[serde(default = "default_capture_size")]
    pub(crate) max_size: Size<{ MIB }, { 64 * 1024 * MIB }>,
}

fn default_capture_size() -> Size<{ MIB }, { 64 * 1024 * MIB }> {
    Size(100 * MIB)
}

/// The metrics endpoint (`/metrics`, `/healthz`, `/readyz`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Metrics {
    /// Address and port of the HTTP listener (kernel socket, management network).
    pub(crate) listen: SockAddr,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics { listen: SockAddr(([127, 0, 0, 1], 9100).into()) }
    }
}

/// The congestion controller.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Congestion {
    /// RFC 9438.
    #[default]
    Cubic,
    /// RFC 5681 / RFC 6582.
    Newreno,
}

/// TCP tunables (see `netreaktor_pipeline::tcp::Config`).
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct Tcp {
    /// MSS announced and used (RFC 879's 536 up to jumbo frames).
    pub(crate) mss: Spanned<Int<536, 9000>>,
    /// Send buffer per connection.
    pub(crate) send_buffer: Size<{ 16 * KIB }, { 64 * MIB }>,
    /// Receive buffer per connection (the window).
    pub(crate) recv_buffer: Size<{ 16 * KIB }, { 64 * MIB }>,
    /// Congestion controller.
    pub(crate) congestion: Congestion,
    /// Lower bound of the RTO (RFC 6298 §2.4).
    pub(crate) min_rto: Dur<{ 10 * MS }, { 2 * SEC }>,
    /// Longest ACK delay; "0ms" acknowledges every segment (RFC 9293 §3.8.6.3: < 500 ms).
    pub(crate) delayed_ack: Dur<0, { 499 * MS }>,
    /// Keepalive probing; absent means off (RFC 9293 MUST-24).
    pub(crate) keepalive: Option<Keepalive>,
    /// Challenge ACKs per second per connection (RFC 5961 §7).
    pub(crate) challenge_acks_per_sec: Int<1, 1000>,
    /// TIME-WAIT length (2·MSL).
    pub(crate) time_wait: Dur<{ SEC }, { 240 * SEC }>,
}

impl Default for Tcp {
    fn default() -> Self {
        Tcp {
            mss: unplaced(Int(1460)),
            send_buffer: Size(256 * KIB),
            recv_buffer: Size(256 * KIB),
            congestion: Congestion::Cubic,
            min_rto: Dur::millis(200),
            delayed_ack: Dur::millis(40),
            keepalive: None,
            challenge_acks_per_sec: Int(10),
            time_wait: Dur::millis(60_000),
        }
    }
}

/// Keepalive probing (RFC 9293 §3.8.4).
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct Keepalive {
    /// Idle time before the first probe.
    pub(crate) idle: Dur<{ SEC }, { 24 * HOUR }>,
    /// Time between unanswered probes.
    pub(crate) interval: Dur<{ SEC }, { HOUR }>,
    /// Unanswered probes before the connection is dropped.
    pub(crate) probes: Int<1, 100>,
}

impl Default for Keepalive {
    fn default() -> Self {
        Keepalive { idle: Dur::millis(7_200_000), interval: Dur::millis(75_000), probes: Int(9) }
    }
}

/// Passive-open limits (see `netreaktor_pipeline::tcp::listener::ListenerConfig`).
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct Listener {
    /// Half-open connections kept per listener; past it, SYN cookies. 0: cookies always.
    pub(crate) half_open_max: Int<0, 1_000_000>,
    /// Established connections waiting to be taken.
    pub(crate) accept_backlog: Int<1, 65_535>,
    /// Answer SYNs with cookies when the half-open table is full (else drop them).
    pub(crate) syn_cookies: bool,
}

impl Default for Listener {
    fn default() -> Self {
        Listener { half_open_max: Int(1024), accept_backlog: Int(128), syn_cookies: true }
    }
}

/// One service: match -> terminate -> forward.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Pipeline {
    /// A unique name (metrics labels, logs).
    pub(crate) name: Spanned<String>,
    /// Which client traffic this pipeline takes.
    #[serde(rename = "match")]
    pub(crate) matches: Match,
    /// How client connections are terminated.
    #[serde(default)]
    pub(crate) terminate: Terminate,
    /// Where the byte streams go.
    pub(crate) forward: Forward,
}

/// The service address and ports.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Match {
    /// The service address, on the client-facing interface.
    pub(crate) address: Spanned<IpAddress>,
    /// Ports and port ranges.
    pub(crate) ports: Spanned<Vec<Spanned<PortRange>>>,
}

/// MPTCP termination.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct Terminate {
    /// MPTCP versions terminated: 0 (RFC 6824, iOS 11-15) and 1 (RFC 8684); a SYN of a version
    /// not listed gets plain TCP.
    pub(crate) mptcp_versions: Spanned<Vec<Spanned<Int<0, 1>>>>,
    /// Per-pipeline limits.
    pub(crate) limits: Limits,
    /// Addresses announced with ADD_ADDR (public ones: iOS ignores private addresses).
    pub(crate) announce: Vec<Spanned<IpAddress>>,
    /// Which subflow carries the next bytes.
    pub(crate) scheduler: Scheduler,
    /// When a subflow is given up on.
    pub(crate) failover: Failover,
    /// DSS checksums (RFC 8684 §3.3.1).
    pub(crate) checksums: ChecksumMode,
    /// The MP_CAPABLE C flag: clients should join announced addresses only.
    pub(crate) no_join_to_service_address: bool,
    /// The operator's word that `announce` may list addresses iOS ignores (private, CGNAT,
    /// link-local...): they are for other clients (Linux, macOS on a private network).
    pub(crate) announce_ignored_by_ios: bool,
}

impl Default for Terminate {
    fn default() -> Self {
        Terminate {
            mptcp_versions: unplaced(vec![unplaced(Int(0)), unplaced(Int(1))]),
            limits: Limits::default(),
            announce: Vec::new(),
            scheduler: Scheduler::default(),
            failover: Failover::default(),
            checksums: ChecksumMode::default(),
            no_join_to_service_address: false,
            announce_ignored_by_ios: false,
        }
    }
}

/// When DSS checksums are used.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ChecksumMode {
    /// When the client asks for them (its MP_CAPABLE A flag).
    #[default]
    IfClientAsks,
    /// Always (our MP_CAPABLE sets A).
    Required,
}

/// Limits of the whole appliance (docs/operations.md, "Memory model").
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct GlobalLimits {
    /// The bytes all connections' send and receive buffers may hold together, split evenly
    /// among the workers; at three quarters of it a worker is under memory pressure.
    pub(crate) buffer_memory: Size<{ MIB }, { 1024 * 1024 * MIB }>,
}

impl Default for GlobalLimits {
    fn default() -> Self {
        GlobalLimits { buffer_memory: Size(1024 * MIB) }
    }
}

/// Per-pipeline connection limits.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct Limits {
    /// MPTCP (or TCP) connections at once.
    pub(crate) max_connections: Int<1, 10_000_000>,
    /// Subflows per MPTCP connection (Linux allows at most 8).
    pub(crate) max_subflows: Int<1, 8>,
    /// Overrides `listener.half_open_max` for this pipeline.
    pub(crate) half_open_max: Option<Int<0, 1_000_000>>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_connections: Int(100_000), max_subflows: Int(4), half_open_max: None }
    }
}

/// The MPTCP packet scheduler.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Scheduler {
    /// The non-backup subflow with the lowest RTT that has window; backups last.
    #[default]
    LowestRtt,
    /// Every segment on every subflow (lowest latency, double the bytes).
    Redundant,
}

/// Failover timing.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct Failover {
    /// A subflow with data outstanding and no acknowledgement for `stall_rtts` smoothed RTTs
    /// (plus 4 RTT variations), and at least `min_stall`, is potentially failed: its data is
    /// reinjected on the other subflows at once.
    pub(crate) stall_rtts: Int<1, 16>,
    /// The floor of that time.
    pub(crate) min_stall: Dur<{ MS }, { 10 * SEC }>,
    /// An ADD_ADDR not echoed is sent again after this long, 3 times at most (Linux: 120 s).
    pub(crate) add_addr_timeout: Dur<{ SEC }, { HOUR }>,
}

impl Default for Failover {
    fn default() -> Self {
        Failover {
            stall_rtts: Int(2),
            min_stall: Dur::millis(50),
            add_addr_timeout: Dur::millis(120_000),
        }
    }
}

/// Origin-side forwarding.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Forward {
    /// Origin servers, tried in balance order.
    pub(crate) origins: Spanned<Vec<Spanned<SockAddr>>>,
    /// How connections are spread over the origins.
    #[serde(default)]
    pub(crate) balance: Balance,
    /// Whether a PROXY protocol header starts each origin connection.
    #[serde(default)]
    pub(crate) proxy_protocol: ProxyProtocol,
    /// Longest wait for an origin's SYN,ACK before the next origin is tried.
    #[serde(default = "default_connect_timeout")]
    pub(crate) connect_timeout: Dur<{ 100 * MS }, { 120 * SEC }>,
    /// A connection idle this long in both directions is closed.
    #[serde(default = "default_idle_timeout")]
    pub(crate) idle_timeout: Dur<{ SEC }, { 168 * HOUR }>,
    /// An origin connection with data unacknowledged this long is given up (RFC 9293 §3.8.3
    /// USER TIMEOUT) and the client reset.
    #[serde(default = "default_origin_timeout")]
    pub(crate) origin_timeout: Dur<{ SEC }, { HOUR }>,
    /// Passive health: origins failing their connect attempts are ejected for a while.
    #[serde(default)]
    pub(crate) health: Health,
}

/// Passive origin health (`forward.health`): `failures` connect failures in a row eject an
/// origin for `backoff`, doubled after each failed trial up to `max_backoff`.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct Health {
    /// `false`: every origin is tried in turn, whatever it did.
    pub(crate) enabled: bool,
    /// Consecutive connect failures that eject an origin.
    pub(crate) failures: Int<1, 100>,
    /// The first back-off.
    pub(crate) backoff: Spanned<Dur<{ SEC }, { HOUR }>>,
    /// The longest back-off.
    pub(crate) max_backoff: Spanned<Dur<{ SEC }, { 24 * HOUR }>>,
    /// Active checks: a TCP handshake to each origin at an interval; absent means off.
    pub(crate) check: Option<Spanned<Check>>,
}

/// Active origin health checks (`forward.health.check`): every `interval` each worker sends
/// a SYN to each origin; a SYN,ACK within `timeout` is a success, a RST or silence a failure.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct Check {
    /// From one check of an origin to the next.
    pub(crate) interval: Spanned<Dur<{ 100 * MS }, { HOUR }>>,
    /// How long a check waits for the SYN,ACK (at most `interval`).
    pub(crate) timeout: Spanned<Dur<{ 10 * MS }, { 60 * SEC }>>,
}

impl Default for Check {
    fn default() -> Self {
        Check { interval: unplaced(Dur::millis(2_000)), timeout: unplaced(Dur::millis(1_000)) }
    }
}

impl Default for Health {
    fn default() -> Self {
        Health {
            enabled: true,
            failures: Int(3),
            backoff: unplaced(Dur::millis(10_000)),
            max_backoff: unplaced(Dur::millis(300_000)),
            check: None,
        }
    }
}

fn default_connect_timeout() -> Dur<{ 100 * MS }, { 120 * SEC }> {
    Dur::millis(5_000)
}

fn default_idle_timeout() -> Dur<{ SEC }, { 168 * HOUR }> {
    Dur::millis(300_000)
}

fn default_origin_timeout() -> Dur<{ SEC }, { HOUR }> {
    Dur::millis(30_000)
}

/// Origin balancing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Balance {
    /// Each new connection goes to the next origin.
    #[default]
    RoundRobin,
}

/// The PROXY protocol header sent to origins: `false` (none) or `v2`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum ProxyProtocol {
    /// No header.
    #[default]
    Off,
    /// The binary PROXY protocol v2 header.
    V2,
}

impl<'de> Deserialize<'de> for ProxyProtocol {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ProxyProtocolVisitor)
    }
}

struct ProxyProtocolVisitor;

impl serde::de::Visitor<'_> for ProxyProtocolVisitor {
    type Value = ProxyProtocol;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("false or v2")
    }

    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<ProxyProtocol, E> {
        match v {
            false => Ok(ProxyProtocol::Off),
            true => Err(E::custom("proxy_protocol: say `v2` (the only version sent), or false")),
        }
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ProxyProtocol, E> {
        match v {
            "v2" => Ok(ProxyProtocol::V2),
            "off" => Ok(ProxyProtocol::Off),
            _ => Err(E::custom(format!("invalid proxy_protocol {v:?}: expected false or v2"))),
        }
    }
}
