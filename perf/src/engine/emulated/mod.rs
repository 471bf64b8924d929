//! The `emulated` engine: an iPhone in the bench. The pipeline's TCP engine in client role
//! (`netreaktor_pipeline::tcp::Connection::connect`) under a client-side MPTCP layer that
//! speaks as xnu does, per iOS generation and service type (docs/ios-emulation.md). Written
//! from RFC 6824, RFC 8684 and that document; it shares only the wire types and the TCP
//! engine with the appliance, never its MPTCP engine, so a shared misreading of the wire
//! cannot hide (tshark checks every option it sends in tests/scripts/emulated-e2e.sh).
//!
//! - [`keys`]: key, token, IDSN, join HMACs (SHA-1 for v0, SHA-256 for v1).
//! - [`options`]: the option bytes iOS writes, and what it reads from a server.
//! - [`ios`]: generations (versions, SYN retries, C flag) and the version cache.
//! - [`conn`]: one connection: subflows, data level, xnu's habits.
//! - [`io`]: the radios (raw IPv4 out, AF_PACKET in) and the nftables guard.
//! - [`driver`]: the run-to-completion loop.
//! - [`scenario`]: throughput, handover, idle on this engine.

pub(crate) mod conn;
pub(crate) mod driver;
pub(crate) mod io;
pub(crate) mod ios;
pub(crate) mod keys;
pub(crate) mod options;
pub(crate) mod scenario;

use self::conn::{Habits, Service};
use self::ios::Generation;

/// Everything that makes one emulated phone.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// The generation.
    pub(crate) generation: Generation,
    /// The service type.
    pub(crate) service: Service,
    /// Wire habits (each on by default).
    pub(crate) habits: Habits,
    /// The Wi-Fi interface (every connection starts there).
    pub(crate) wifi: String,
    /// The cellular interface, if the phone has one.
    pub(crate) cell: Option<String>,
    /// Offer MPTCP (`--mptcp`, the default) or plain TCP (`--tcp`).
    pub(crate) mptcp: bool,
}

/// Runs `args`' scenario on the emulated engine: its name, parameters and outcome.
pub(crate) fn run(
    args: &crate::cli::ClientArgs,
    ctx: &crate::scenario::Ctx,
) -> anyhow::Result<(&'static str, serde_json::Value, crate::report::Outcome)> {
    use crate::cli::Scenario;
    let std::net::SocketAddr::V4(server) = ctx.addr else {
        anyhow::bail!("the emulated engine speaks IPv4 only so far");
    };
    let e = &args.emulated;
    let settings = Settings {
        generation: e.ios,
        service: e.service,
        habits: Habits {
            repeat_capable: !e.no_repeat_capable,
            capable_data: !e.no_capable_data,
            backup_cell: !e.no_backup_cell,
            join_ack_retx: !e.no_join_ack_retx,
            reset_cell_on_recovery: !e.no_cell_reset,
        },
        wifi: e.wifi.clone(),
        cell: e.cell.clone(),
        mptcp: ctx.transport == crate::engine::Transport::Mptcp,
    };

    Ok(match &args.scenario {
        Scenario::Throughput(a) => {
            let plan = scenario::Transfer {
                parallel: a.parallel,
                sequential: e.sequential,
                time: a.time,
                reverse: a.reverse,
                seed: a.seed,
                cut: None,
                restore: None,
            };
            ("throughput", crate::to_json(a)?, scenario::transfer(&settings, server, &plan)?)
        }
        Scenario::Handover(a) => {
            let plan = scenario::Transfer {
                parallel: 1,
                sequential: false,
                time: a.time,
                reverse: !a.upload,
                seed: a.seed,
                cut: a.cut_cmd.clone().map(|c| (a.cut_at, c)),
                restore: a.restore_cmd.clone().zip(a.restore_at).map(|(c, t)| (t, c)),
            };
            ("handover", crate::to_json(a)?, scenario::transfer(&settings, server, &plan)?)
        }
        Scenario::Idle(a) => {
            ("idle", crate::to_json(a)?, scenario::idle(&settings, server, a.connections, a.time)?)
        }
        Scenario::Connect(_) | Scenario::Rr(_) | Scenario::Openloop(_) => {
            anyhow::bail!("`connect`, `rr` and `openloop` do not run on the emulated engine yet")
        }
    })
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::conn::Service;
    use super::ios::Generation;
    use crate::cli::{Cli, Command, Engine, Scenario};

    #[test]
    fn emulated_flags_parse() {
        let cli = Cli::try_parse_from([
            "b",
            "client",
            "--engine",
            "emulated",
            "--ios",
            "15",
            "--service",
            "interactive",
            "--cell",
            "cell0",
            "--no-backup-cell",
            "idle",
            "-n",
            "5",
        ])
        .expect("parses");
        let Command::Client(c) = cli.command else { panic!("not a client") };
        assert_eq!(c.engine, Engine::Emulated);
        let e = &c.emulated;
        assert_eq!((e.ios, e.service), (Generation::Ios15, Service::Interactive));
        assert_eq!((e.wifi.as_str(), e.cell.as_deref()), ("wifi0", Some("cell0")));
        assert!(e.no_backup_cell && !e.no_repeat_capable);
        let Scenario::Idle(a) = c.scenario else { panic!("not idle") };
        assert_eq!(a.connections, 5);
        assert!(Cli::try_parse_from(["b", "client", "--ios", "14", "idle"]).is_err());
    }
}
