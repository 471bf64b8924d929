//! `netreaktor reload -c FILE`: asks the appliance running with `FILE` to reload it
//! (docs/operations.md, "Reload"), waits for the outcome and prints it. Exit status 0: the
//! reload was applied; 1: it was refused (the running configuration stays); 2: no appliance
//! runs with that file, or it did not answer.
//!
//! The running appliance is found by its command line (`netreaktor run -c FILE`, the path
//! resolved in its working directory, compared with this one's), so the command works when
//! the new file does not load at all; the signal is SIGHUP (`kill -HUP PID` does the same);
//! the outcome is the file the appliance writes after each reload ([`super::outcome`]).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use super::outcome;
use crate::lock::RUN_DIR;

/// How long the command waits for the outcome.
const WAIT: Duration = Duration::from_secs(15);

/// Runs the command.
pub(crate) fn run(config: &Path) -> anyhow::Result<ExitCode> {
    let wanted = std::fs::canonicalize(config)
        .with_context(|| format!("{}: cannot resolve the path", config.display()))?;
    let pid = match instances(&wanted)?.as_slice() {
        [] => {
            eprintln!("netreaktor: no running `netreaktor run -c {}`", wanted.display());
            return Ok(ExitCode::from(2));
        }
        [pid] => *pid,
        many => bail!("several appliances run with {}: pids {many:?}", wanted.display()),
    };
    let file = outcome::path_in(Path::new(RUN_DIR), pid);
    let before = outcome::read(&file).map_or(0, |r| r.attempt);
    let status = std::process::Command::new("kill")
        .args(["-HUP", &pid.to_string()])
        .status()
        .context("running kill -HUP")?;
    anyhow::ensure!(status.success(), "kill -HUP {pid}: {status}");
    let started = Instant::now();
    while started.elapsed() < WAIT {
        if let Some(r) = outcome::read(&file).filter(|r| r.attempt > before) {
            println!("netreaktor (pid {pid}): {}", r.message);
            return Ok(ExitCode::from(if r.result == "applied" { 0 } else { 1 }));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!("netreaktor: pid {pid} did not report a reload within {WAIT:?} ({})", file.display());
    Ok(ExitCode::from(2))
}

/// The pids of `netreaktor run` processes whose config is `wanted` (canonical).
fn instances(wanted: &Path) -> anyhow::Result<Vec<u32>> {
    let me = std::process::id();
    let mut pids = Vec::new();
    for process in procfs::process::all_processes().context("listing processes")? {
        let Ok(process) = process else { continue };
        let pid = u32::try_from(process.pid).unwrap_or(0);
        if pid == me {
            continue;
        }
        let (Ok(args), Ok(cwd)) = (process.cmdline(), process.cwd()) else { continue };
        if run_config(&args).is_some_and(|c| same_file(&cwd.join(c), wanted)) {
            pids.push(pid);
        }
    }
    Ok(pids)
}

/// The config path of a `netreaktor run` command line.
fn run_config(args: &[String]) -> Option<PathBuf> {
    let program = Path::new(args.first()?).file_name()?;
    if program != "netreaktor" || !args.iter().any(|a| a == "run") {
        return None;
    }
    let mut rest = args.iter().skip_while(|a| *a != "run").skip(1);
    while let Some(arg) = rest.next() {
        if arg == "-c" || arg == "--config" {
            return rest.next().map(PathBuf::from);
        }
        if let Some(path) = arg.strip_prefix("--config=").or_else(|| arg.strip_prefix("-c")) {
            return Some(PathBuf::from(path));
        }
    }
    None
}

fn same_file(path: &Path, wanted: &Path) -> bool {
    std::fs::canonicalize(path).is_ok_and(|p| p == wanted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split(' ').map(str::to_owned).collect()
    }

    #[test]
    fn the_config_of_a_run_command_line() {
        let got = |line| run_config(&args(line));
        assert_eq!(got("netreaktor run -c a.yaml"), Some("a.yaml".into()));
        assert_eq!(
            got("/usr/local/bin/netreaktor run --config /etc/n.yaml"),
            Some("/etc/n.yaml".into())
        );
        assert_eq!(
            got("target/release/netreaktor run --log-format json --config=x"),
            Some("x".into())
        );
        assert_eq!(got("netreaktor check -c a.yaml"), None);
        assert_eq!(got("netreaktor reload -c a.yaml"), None);
        assert_eq!(got("haproxy run -c a.yaml"), None);
    }
}
