//! The NetReaktor appliance binary.
//!
//! Commands:
//! - `netreaktor inspect FILE`: decode a packet capture (pcap or pcapng, Ethernet) with
//!   NetReaktor's own wire formats and MPTCP crypto, follow every MPTCP connection in it and
//!   report its subflows, events and the checks of its tokens, IDSNs and HMACs.
//!
//! - `netreaktor check -c FILE`: load and validate a configuration (see
//!   `docs/configuration.md`), print a summary or every error with its line and column.
//!
//! - `netreaktor run -c FILE`: run the appliance (root): XDP steering, AF_XDP workers, the
//!   `/metrics` endpoint; SIGINT or SIGTERM stops it cleanly, SIGHUP reloads `FILE`.
//!
//! - `netreaktor reload -c FILE`: make the appliance running with `FILE` reload it, and
//!   print whether the reload was applied or refused.
//!
//! - `netreaktor completions SHELL`, `netreaktor man [COMMAND] [--dir DIR]`: shell completions
//!   and man pages generated from this command line.

// `unsafe` lives only in the AF_XDP ring and syscall modules and the bpf syscall module,
// which allow it (each block with a `// SAFETY:` note); everywhere else it is an error.
#![deny(unsafe_code)]

// Some accessors (kernel counters, forced bind and attach modes) serve only the root tests
// until the configuration exposes them.
#[cfg_attr(not(test), allow(dead_code))]
mod afxdp;
mod build_info;
mod check;
mod cli_docs;
mod config;
mod endpoint;
mod inspect;
mod lock;
mod logs;
mod metrics;
mod neigh;
mod notify;
mod reload;
mod run;
mod status;
mod telemetry;
#[cfg(test)]
mod testnet;
mod worker;
#[cfg_attr(not(test), allow(dead_code))]
mod xdp;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "netreaktor",
    version = build_info::LONG_VERSION,
    about = "Multipath TCP terminating proxy appliance"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Decode a capture and check every MPTCP connection in it.
    Inspect {
        /// A pcap or pcapng file with Ethernet frames (tcpdump -w, Wireshark).
        file: PathBuf,
        /// Verify TCP checksums (leave off for captures taken on a host with checksum offload).
        #[arg(long)]
        verify_checksums: bool,
    },
    /// Validate a configuration file without running it (exit 0: valid, 1: invalid,
    /// 2: unreadable).
    Check {
        /// The YAML configuration file.
        #[arg(short = 'c', long = "config")]
        config: PathBuf,
    },
    /// Summarise a running appliance: workers, XDP mode, connections, subflows, drops.
    Status {
        /// The running appliance's config (its metrics address is asked).
        #[arg(short = 'c', long = "config")]
        config: Option<PathBuf>,
        /// The metrics address to ask instead (default 127.0.0.1:9100).
        #[arg(long)]
        metrics: Option<std::net::SocketAddr>,
        /// Print the JSON the appliance serves at /status.
        #[arg(long)]
        json: bool,
    },
    /// Run the appliance until SIGINT or SIGTERM (needs root); SIGHUP reloads the file.
    Run {
        /// The YAML configuration file.
        #[arg(short = 'c', long = "config")]
        config: PathBuf,
        /// Log at this level instead of the config's `log_level` (and of `RUST_LOG`).
        #[arg(long, value_enum)]
        log_level: Option<config::LogLevel>,
        /// Log lines as text or as JSON objects.
        #[arg(long, value_enum, default_value_t)]
        log_format: logs::LogFormat,
    },
    /// Reload the configuration of the appliance running with this file (SIGHUP), wait for the
    /// outcome and print it (exit 0: applied, 1: refused, 2: none runs or no answer).
    Reload {
        /// The running appliance's configuration file (edited in place).
        #[arg(short = 'c', long = "config")]
        config: PathBuf,
    },
    /// Print a shell completion script (e.g. `netreaktor completions bash >
    /// /etc/bash_completion.d/netreaktor`).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) of netreaktor or of one of its commands, or write them all
    /// into a directory.
    Man {
        /// The command whose page to print (e.g. `run`); the main page without it.
        command: Option<String>,
        /// Write every page (netreaktor.1, netreaktor-run.1, ...) into this directory instead.
        #[arg(long, conflicts_with = "command")]
        dir: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Inspect { file, verify_checksums } => inspect::run(&file, verify_checksums),
        Command::Check { config } => Ok(check::run(&config)),
        Command::Run { config, log_level, log_format } => run::run(&config, log_level, log_format),
        Command::Status { config, metrics, json } => status::run(config.as_deref(), metrics, json),
        Command::Reload { config } => reload::command::run(&config),
        Command::Completions { shell } => {
            cli_docs::completions(shell, Cli::command(), &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Command::Man { command, dir } => man(command.as_deref(), dir.as_deref()),
    };
    match result {
        Ok(code) => code,
        // `run` logs its fatal error through its subscriber (a JSON log stays JSON); the
        // other commands print theirs.
        Err(error) if tracing::dispatcher::has_been_set() => {
            tracing::error!(target: "netreaktor", "{error:#}");
            ExitCode::from(2)
        }
        Err(error) => {
            eprintln!("netreaktor: {error:#}");
            ExitCode::from(2)
        }
    }
}

/// `netreaktor man`: one page to standard output, or every page into `dir` (each path
/// printed).
fn man(command: Option<&str>, dir: Option<&std::path::Path>) -> anyhow::Result<ExitCode> {
    match dir {
        Some(dir) => {
            for path in cli_docs::man_to_dir(Cli::command(), dir)? {
                println!("{}", path.display());
            }
        }
        None => cli_docs::man(Cli::command(), command, &mut std::io::stdout().lock())?,
    }
    Ok(ExitCode::SUCCESS)
}
