//! netreaktor-bench: a load generator for TCP and Multipath TCP servers, with a server of
//! its own (sink, source, echo) so it runs end to end. See perf/README.md.

mod cli;
mod engine;
mod latency;
mod machine;
mod netstat;
mod progress;
mod proto;
mod report;
mod scenario;
mod server;
mod stream;

use std::process::ExitCode;

use anyhow::Result;
use clap::{CommandFactory, Parser};

use cli::{Cli, ClientArgs, Command, Scenario};
use report::{Outcome, Report};
use scenario::Ctx;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Server(args) => server::run(args).map(|()| true),
        Command::Client(args) => client(args),
        Command::Completions { shell } => {
            let mut cmd = Cli::command();
            clap_complete::generate(*shell, &mut cmd, "netreaktor-bench", &mut std::io::stdout());
            Ok(true)
        }
        Command::Man => clap_mangen::Man::new(Cli::command().disable_help_subcommand(true))
            .render(&mut std::io::stdout())
            .map(|()| true)
            .map_err(Into::into),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("netreaktor-bench: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Runs a scenario and prints its report; `Ok(false)` when the report names problems.
fn client(args: &ClientArgs) -> Result<bool> {
    let ctx = Ctx {
        addr: cli::resolve(&args.connect)?,
        transport: args.proto.transport(),
        connect_timeout: args.connect_timeout,
    };
    let before = netstat::read();
    let (name, params, outcome) = match args.engine {
        cli::Engine::Kernel => run_scenario(&ctx, &args.scenario)?,
        cli::Engine::Emulated => engine::emulated::run(args, &ctx)?,
    };
    let mptcp = before.zip(netstat::read()).map(|(b, a)| netstat::delta(&b, &a));
    let report = Report {
        tool: "netreaktor-bench",
        version: env!("CARGO_PKG_VERSION"),
        scenario: name,
        engine: args.engine,
        protocol: ctx.transport,
        target: ctx.addr.to_string(),
        params,
        machine: machine::probe(),
        results: outcome.results,
        mptcp,
        problems: outcome.problems,
        sections: outcome.sections,
    };
    if args.json {
        println!("{}", report.json());
    } else {
        print!("{}", report.human());
    }
    Ok(report.problems.is_empty())
}

/// Dispatches to the scenario: its name, its parameters as JSON, its outcome.
fn run_scenario(ctx: &Ctx, s: &Scenario) -> Result<(&'static str, serde_json::Value, Outcome)> {
    Ok(match s {
        Scenario::Throughput(a) => ("throughput", to_json(a)?, scenario::throughput::run(ctx, a)?),
        Scenario::Connect(a) => ("connect", to_json(a)?, scenario::connect::run(ctx, a)?),
        Scenario::Rr(a) => ("rr", to_json(a)?, scenario::rr::run(ctx, a)?),
        Scenario::Handover(a) => ("handover", to_json(a)?, scenario::handover::run(ctx, a)?),
        Scenario::Openloop(a) => ("openloop", to_json(a)?, scenario::openloop::run(ctx, a)?),
        Scenario::Idle(_) => anyhow::bail!("`idle` runs on --engine emulated only"),
    })
}

/// A scenario's flags as JSON.
pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> Result<serde_json::Value> {
    Ok(serde_json::to_value(v)?)
}
