//! The NetReaktor appliance binary.
//!
//! Commands:
//! - `netreaktor inspect FILE`: decode a packet capture (pcap or pcapng, Ethernet) with
//!   NetReaktor's own wire formats and MPTCP crypto, follow every MPTCP connection in it and
//!   report its subflows, events and the checks of its tokens, IDSNs and HMACs.
//!
//! The appliance itself (`run`, `check`, `status`) arrives with the data path.

mod inspect;
// The data path (AF_XDP workers, `run`) uses it next; until then only its tests do.
#[cfg_attr(not(test), allow(dead_code))]
mod xdp;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "netreaktor", version, about = "Multipath TCP terminating proxy appliance")]
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Inspect { file, verify_checksums } => inspect::run(&file, verify_checksums),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("netreaktor: {error:#}");
            ExitCode::from(2)
        }
    }
}
