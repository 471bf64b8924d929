//! Shell completions (`netreaktor completions SHELL`, clap_complete) and man pages
//! (`netreaktor man`, clap_mangen), generated from the clap definition of the command line,
//! so they cannot drift from it.

use std::io::{self, Write};
use std::path::Path;

use clap_complete::Shell;
use clap_mangen::Man;

/// Writes the completion script of `shell` for `cmd` (named `cmd`'s name) to `out`.
pub(crate) fn completions(shell: Shell, mut cmd: clap::Command, out: &mut dyn Write) {
    let name = cmd.get_name().to_owned();
    clap_complete::generate(shell, &mut cmd, name, out);
}

/// The command as its man pages describe it: without clap's `help` subcommand, built (so each
/// subcommand has its display name, `netreaktor-run`).
fn for_man(cmd: clap::Command) -> clap::Command {
    let mut cmd = cmd.disable_help_subcommand(true);
    cmd.build();
    cmd
}

/// Writes the roff man page of `cmd`, or of its subcommand `sub`, to `out`.
pub(crate) fn man(cmd: clap::Command, sub: Option<&str>, out: &mut dyn Write) -> io::Result<()> {
    let cmd = for_man(cmd);
    let page = match sub {
        None => cmd,
        Some(name) => cmd
            .find_subcommand(name)
            .cloned()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("no command {name}")))?,
    };
    page_of(page).render(out)
}

/// The man page of `cmd`, its source (the footer) the package and its version.
fn page_of(cmd: clap::Command) -> Man {
    Man::new(cmd).source(format!("netreaktor {}", env!("CARGO_PKG_VERSION")))
}

/// Writes every page (the command's and each subcommand's, `netreaktor-run.1` and so on) into
/// `dir` (created if missing); returns the files written.
pub(crate) fn man_to_dir(cmd: clap::Command, dir: &Path) -> io::Result<Vec<std::path::PathBuf>> {
    let cmd = for_man(cmd);
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    for page in std::iter::once(&cmd).chain(cmd.get_subcommands()) {
        written.push(page_of(page.clone()).generate_to(dir)?);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    /// The subcommands a user types.
    fn subcommands() -> Vec<String> {
        let cmd = crate::Cli::command();
        let names = cmd.get_subcommands().map(|s| s.get_name().to_owned());
        names.filter(|n| n != "help").collect()
    }

    #[test]
    fn bash_completion_offers_every_subcommand() {
        let mut out = Vec::new();
        completions(Shell::Bash, crate::Cli::command(), &mut out);
        let script = String::from_utf8(out).unwrap();
        assert!(script.contains("complete -F _netreaktor"), "{script}");
        let subs = subcommands();
        for expected in ["inspect", "check", "status", "run", "completions", "man"] {
            assert!(subs.iter().any(|s| s == expected), "{subs:?}");
        }
        for sub in &subs {
            assert!(script.contains(&format!("netreaktor,{sub})")), "{sub}");
        }
        // The flags of a subcommand, and the values of a value enum.
        assert!(script.contains("--log-format"));
        assert!(script.contains("text json"));
    }

    #[test]
    fn every_shell_gets_a_script() {
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish, Shell::Elvish, Shell::PowerShell] {
            let mut out = Vec::new();
            completions(shell, crate::Cli::command(), &mut out);
            let script = String::from_utf8(out).unwrap();
            assert!(script.contains("inspect") && script.contains("completions"), "{shell}");
        }
    }

    #[test]
    fn the_man_page_has_name_synopsis_and_every_subcommand() {
        let mut out = Vec::new();
        man(crate::Cli::command(), None, &mut out).unwrap();
        let page = String::from_utf8(out).unwrap();
        assert!(page.contains("\n.TH netreaktor 1  \"netreaktor 0.1.0\""), "{page}");
        for section in [".SH NAME", ".SH SYNOPSIS", ".SH SUBCOMMANDS", ".SH VERSION"] {
            assert!(page.contains(section), "{section} missing:\n{page}");
        }
        for sub in subcommands() {
            assert!(page.contains(&format!("netreaktor\\-{sub}(1)")), "{sub} missing:\n{page}");
        }
        assert!(!page.contains("netreaktor\\-help"));
    }

    #[test]
    fn a_subcommand_has_its_own_page_with_its_options() {
        let mut out = Vec::new();
        man(crate::Cli::command(), Some("run"), &mut out).unwrap();
        let page = String::from_utf8(out).unwrap();
        assert!(page.contains("\n.TH netreaktor-run 1  \"netreaktor 0.1.0\""), "{page}");
        assert!(page.contains("\\-\\-log\\-format"), "{page}");
        let missing = man(crate::Cli::command(), Some("nope"), &mut Vec::new());
        assert_eq!(missing.unwrap_err().kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn a_directory_gets_one_page_per_command() {
        let dir = std::env::temp_dir().join(format!("nr-man-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let written = man_to_dir(crate::Cli::command(), &dir).unwrap();
        let mut names: Vec<String> =
            written.iter().map(|p| p.file_name().unwrap().to_string_lossy().into()).collect();
        names.sort();
        let mut expected: Vec<String> =
            subcommands().iter().map(|s| format!("netreaktor-{s}.1")).collect();
        expected.push("netreaktor.1".into());
        expected.sort();
        assert_eq!(names, expected);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
