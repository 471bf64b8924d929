//! Command-line flags (iperf3/wrk-like), parsed with clap.

use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::engine::Transport;
use crate::engine::emulated::conn::Service;
use crate::engine::emulated::ios::Generation;

/// netreaktor-bench: a load generator for TCP and Multipath TCP servers.
#[derive(Debug, Parser)]
#[command(name = "netreaktor-bench", version, about, long_about = None)]
pub(crate) struct Cli {
    /// Client or server.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The two roles.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run a scenario against a server.
    Client(ClientArgs),
    /// Serve the bench protocol (sink, source, echo) for clients.
    Server(ServerArgs),
    /// Print a shell completion script.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff).
    Man,
}

/// `--mptcp` (the default) or `--tcp`.
#[derive(Debug, Args, Clone, Copy)]
pub(crate) struct ProtoArgs {
    /// Use Multipath TCP (IPPROTO_MPTCP); the default.
    #[arg(long, global = true, conflicts_with = "tcp")]
    pub(crate) mptcp: bool,
    /// Use plain TCP.
    #[arg(long, global = true)]
    pub(crate) tcp: bool,
}

impl ProtoArgs {
    /// The chosen transport.
    pub(crate) fn transport(&self) -> Transport {
        if self.tcp { Transport::Tcp } else { Transport::Mptcp }
    }
}

/// Flags of `server`.
#[derive(Debug, Args)]
pub(crate) struct ServerArgs {
    /// Address and port to listen on (port 0: any free port, printed on stdout).
    #[arg(short = 'l', long, default_value = "0.0.0.0:5201")]
    pub(crate) listen: String,
    /// Protocol.
    #[command(flatten)]
    pub(crate) proto: ProtoArgs,
    /// Report every connection error, also clients going away.
    #[arg(short, long)]
    pub(crate) verbose: bool,
}

/// The engine that opens connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Engine {
    /// The operating system's sockets.
    Kernel,
    /// An emulated iPhone: the pipeline's TCP engine under an xnu-like MPTCP client
    /// (perf/README.md, "The emulated iPhone").
    Emulated,
}

/// Flags of `client`, shared by every scenario.
#[derive(Debug, Args)]
pub(crate) struct ClientArgs {
    /// Server address and port.
    #[arg(short = 'c', long, global = true, default_value = "127.0.0.1:5201")]
    pub(crate) connect: String,
    /// Engine.
    #[arg(long, value_enum, default_value = "kernel", global = true)]
    pub(crate) engine: Engine,
    /// Protocol.
    #[command(flatten)]
    pub(crate) proto: ProtoArgs,
    /// Print one JSON document instead of tables.
    #[arg(long, global = true)]
    pub(crate) json: bool,
    /// Seconds to wait for a connection to be set up.
    #[arg(long, value_parser = seconds, default_value = "5", global = true)]
    pub(crate) connect_timeout: Duration,
    /// The emulated iPhone's flags (`--engine emulated`).
    #[command(flatten)]
    pub(crate) emulated: EmulatedArgs,
    /// The scenario.
    #[command(subcommand)]
    pub(crate) scenario: Scenario,
}

// --- The emulated engine's flags (kept together for merging) ---

/// Flags of `--engine emulated`.
#[derive(Debug, Args, Clone)]
pub(crate) struct EmulatedArgs {
    /// iOS generation to emulate.
    #[arg(long, value_enum, default_value = "16", global = true)]
    pub(crate) ios: Generation,
    /// Service type (when cellular opens, backup flag).
    #[arg(long, value_enum, default_value = "handover", global = true)]
    pub(crate) service: Service,
    /// The Wi-Fi interface (source address read from it).
    #[arg(long, default_value = "wifi0", global = true)]
    pub(crate) wifi: String,
    /// The cellular interface; none: Wi-Fi only.
    #[arg(long, global = true)]
    pub(crate) cell: Option<String>,
    /// Do not repeat MP_CAPABLE on v1 ACKs before the first data byte.
    #[arg(long, global = true)]
    pub(crate) no_repeat_capable: bool,
    /// Send the v1 first data with a DSS instead of MP_CAPABLE with the data length.
    #[arg(long, global = true)]
    pub(crate) no_capable_data: bool,
    /// Join cellular without the backup bit in handover and interactive modes.
    #[arg(long, global = true)]
    pub(crate) no_backup_cell: bool,
    /// Send the join third ACK once instead of every 500 ms until the server's ACK.
    #[arg(long, global = true)]
    pub(crate) no_join_ack_retx: bool,
    /// Keep cellular subflows when Wi-Fi recovers in handover mode (iOS resets them).
    #[arg(long, global = true)]
    pub(crate) no_cell_reset: bool,
    /// Run the connections of `throughput` one after the other (version learning).
    #[arg(long, global = true)]
    pub(crate) sequential: bool,
}

/// Flags of `idle`.
#[derive(Debug, Args, Clone, serde::Serialize)]
pub(crate) struct IdleArgs {
    /// Seconds to hold the connections.
    #[arg(short = 't', long = "time", value_parser = seconds, default_value = "10")]
    #[serde(serialize_with = "ser_secs")]
    pub(crate) time: Duration,
    /// Connections to open and hold.
    #[arg(short = 'n', long, default_value = "100")]
    pub(crate) connections: u32,
}

// --- end of the emulated engine's flags ---

/// What to measure.
#[derive(Debug, Subcommand)]
pub(crate) enum Scenario {
    /// Bulk transfer: goodput per interval and in total.
    Throughput(ThroughputArgs),
    /// Connections per second, each one request and one reply.
    Connect(ConnectArgs),
    /// Request/response latency at a fixed rate (coordinated-omission corrected).
    Rr(RrArgs),
    /// A transfer during which a hook cuts (and maybe restores) a path.
    Handover(HandoverArgs),
    /// Open-loop requests on one long-lived connection: time to first byte, failures.
    Openloop(OpenLoopArgs),
    /// Hold connections open (emulated engine only).
    Idle(IdleArgs),
}

/// Flags of `throughput`.
#[derive(Debug, Args, Clone, serde::Serialize)]
pub(crate) struct ThroughputArgs {
    /// Seconds to run.
    #[arg(short = 't', long = "time", value_parser = seconds, default_value = "10")]
    #[serde(serialize_with = "ser_secs")]
    pub(crate) time: Duration,
    /// Parallel connections.
    #[arg(short = 'P', long, default_value = "1", value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub(crate) parallel: u32,
    /// Reverse: the server sends.
    #[arg(short = 'R', long)]
    pub(crate) reverse: bool,
    /// Seconds between interval reports.
    #[arg(short = 'i', long, value_parser = seconds, default_value = "1")]
    #[serde(serialize_with = "ser_secs")]
    pub(crate) interval: Duration,
    /// Seed of the byte stream (connection k uses seed + k).
    #[arg(long, default_value = "1")]
    pub(crate) seed: u64,
}

/// Flags of `connect`.
#[derive(Debug, Args, Clone, serde::Serialize)]
pub(crate) struct ConnectArgs {
    /// Seconds to run.
    #[arg(short = 't', long = "time", value_parser = seconds, default_value = "10")]
    #[serde(serialize_with = "ser_secs")]
    pub(crate) time: Duration,
    /// Connections in flight at once.
    #[arg(short = 'P', long, default_value = "1", value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub(crate) parallel: u32,
    /// Bytes of each request and of each reply.
    #[arg(long, default_value = "64", value_parser = clap::value_parser!(u64).range(1..=16 << 20))]
    pub(crate) bytes: u64,
}

/// Flags of `rr`.
#[derive(Debug, Args, Clone, serde::Serialize)]
pub(crate) struct RrArgs {
    /// Seconds to run.
    #[arg(short = 't', long = "time", value_parser = seconds, default_value = "10")]
    #[serde(serialize_with = "ser_secs")]
    pub(crate) time: Duration,
    /// Connections; the rate is spread over them.
    #[arg(short = 'P', long, default_value = "1", value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub(crate) parallel: u32,
    /// Requests per second, in total.
    #[arg(long, default_value = "1000", value_parser = rate)]
    pub(crate) rate: f64,
    /// Bytes of each request and of each reply.
    #[arg(long, default_value = "64", value_parser = clap::value_parser!(u64).range(1..=16 << 20))]
    pub(crate) size: u64,
}

/// Flags of `handover`.
#[derive(Debug, Args, Clone, serde::Serialize)]
pub(crate) struct HandoverArgs {
    /// Seconds the transfer lasts.
    #[arg(short = 't', long = "time", value_parser = seconds, default_value = "20")]
    #[serde(serialize_with = "ser_secs")]
    pub(crate) time: Duration,
    /// Upload instead of the default download.
    #[arg(short = 'R', long)]
    pub(crate) upload: bool,
    /// Seconds after the start at which to run --cut-cmd.
    #[arg(long, value_parser = seconds, default_value = "5")]
    #[serde(serialize_with = "ser_secs")]
    pub(crate) cut_at: Duration,
    /// Shell command (sh -c) that cuts a path.
    #[arg(long)]
    pub(crate) cut_cmd: Option<String>,
    /// Seconds after the start at which to run --restore-cmd.
    #[arg(long, value_parser = seconds, requires = "restore_cmd")]
    #[serde(serialize_with = "ser_opt_secs")]
    pub(crate) restore_at: Option<Duration>,
    /// Shell command (sh -c) that restores the path.
    #[arg(long, requires = "restore_at")]
    pub(crate) restore_cmd: Option<String>,
    /// Seed of the byte stream.
    #[arg(long, default_value = "1")]
    pub(crate) seed: u64,
}

/// Flags of `openloop`.
#[derive(Debug, Args, Clone, serde::Serialize)]
pub(crate) struct OpenLoopArgs {
    /// Seconds during which requests are sent.
    #[arg(short = 't', long = "time", value_parser = seconds, default_value = "60")]
    #[serde(serialize_with = "ser_secs")]
    pub(crate) time: Duration,
    /// Seconds between two requests, whatever the answers do.
    #[arg(long, value_parser = seconds, default_value = "0.25")]
    #[serde(serialize_with = "ser_secs")]
    pub(crate) interval: Duration,
    /// Bytes of each request.
    #[arg(long, default_value = "100", value_parser = clap::value_parser!(u64).range(1..=16 << 20))]
    pub(crate) request: u64,
    /// Bytes of each answer.
    #[arg(long, default_value = "20000", value_parser = clap::value_parser!(u64).range(1..=16 << 20))]
    pub(crate) reply: u64,
    /// Seconds after its scheduled time by which an answer must be complete, else the
    /// request is a failure.
    #[arg(long, value_parser = seconds, default_value = "1")]
    #[serde(serialize_with = "ser_secs")]
    pub(crate) deadline: Duration,
}

/// Parses a positive, finite number of seconds.
fn seconds(s: &str) -> Result<Duration, String> {
    let v: f64 = s.parse().map_err(|_| format!("`{s}` is not a number of seconds"))?;
    if !(v.is_finite() && v > 0.0 && v <= 1e6) {
        return Err(format!("`{s}`: seconds must be above 0 and at most 1000000"));
    }
    Ok(Duration::from_secs_f64(v))
}

/// Parses a positive, finite rate.
fn rate(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("`{s}` is not a rate"))?;
    if !(v.is_finite() && v > 0.0 && v <= 1e7) {
        return Err(format!("`{s}`: the rate must be above 0 and at most 10000000"));
    }
    Ok(v)
}

/// Serializes a duration as seconds.
fn ser_secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// Serializes an optional duration as seconds or null.
fn ser_opt_secs<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_f64(d.as_secs_f64()),
        None => s.serialize_none(),
    }
}

/// Resolves `host:port` to its first address.
pub(crate) fn resolve(addr: &str) -> Result<SocketAddr> {
    addr.to_socket_addrs()
        .with_context(|| format!("`{addr}` is not an address:port"))?
        .next()
        .ok_or_else(|| anyhow!("`{addr}` resolves to no address"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_flags_are_errors_not_panics() {
        for argv in [
            &["b", "client", "rr", "--rate", "-1"][..],
            &["b", "client", "throughput", "-t", "nan"],
            &["b", "client", "throughput", "-P", "0"],
            &["b", "client", "--tcp", "--mptcp", "connect"],
            &["b", "client", "handover", "--restore-at", "3"],
            &["b", "server", "--bogus"],
        ] {
            assert!(Cli::try_parse_from(argv).is_err(), "{argv:?}");
        }
    }

    #[test]
    fn flags_parse() {
        let cli = Cli::try_parse_from([
            "b",
            "client",
            "-c",
            "127.0.0.1:9",
            "--tcp",
            "throughput",
            "-t",
            "0.5",
            "-P",
            "4",
            "-R",
        ])
        .unwrap();
        let Command::Client(c) = cli.command else { panic!("not a client") };
        assert_eq!(c.proto.transport(), Transport::Tcp);
        let Scenario::Throughput(t) = c.scenario else { panic!("not throughput") };
        assert_eq!((t.time, t.parallel, t.reverse), (Duration::from_millis(500), 4, true));
    }

    #[test]
    fn completions_and_man_page_name_the_subcommands() {
        use clap::CommandFactory;
        let mut bash = Vec::new();
        clap_complete::generate(clap_complete::Shell::Bash, &mut Cli::command(), "b", &mut bash);
        let mut man = Vec::new();
        clap_mangen::Man::new(Cli::command()).render(&mut man).unwrap();
        let (bash, man) = (String::from_utf8(bash).unwrap(), String::from_utf8(man).unwrap());
        assert!(man.contains(".SH NAME") && man.contains(".SH SYNOPSIS"), "{man}");
        for sub in ["client", "server", "completions", "man"] {
            assert!(bash.contains(&format!(",{sub})")), "{sub}");
            assert!(man.contains(&format!("netreaktor\\-bench\\-{sub}(1)")), "{sub}");
        }
    }
}
