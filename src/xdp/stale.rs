//! Finding and removing a NetReaktor XDP program left on an interface by an earlier run.
//!
//! A program attached through a BPF link (what [`super::Steering`] uses) leaves the interface
//! when the last fd of the link closes, so a crash normally leaves nothing behind. A program
//! stays when it was attached through netlink (kernels without XDP links, or `ip link set ...
//! xdp obj`) or when its link outlives its owner (pinned, or leaked inside a process). Before
//! attaching, every XDP program on the interface is listed (`ip -d link show`); one named
//! [`PROGRAM_NAME`] is removed, any other program is an error: it is not ours to remove.
//!
//! `netreaktor run` gets here only holding the interface's ownership lock (`crate::lock`),
//! which the kernel releases when its holder exits: a NetReaktor program found then has no
//! running owner. A second instance never reaches this, so it cannot detach a live one.

use std::process::Command;

use anyhow::{Context, bail};
use aya::programs::links::LinkType;

use super::sys;

/// The kernel name of the steering program (the function name in `steer.bpf.c`).
pub(crate) const PROGRAM_NAME: &str = "nr_steer";

/// An XDP program attached to an interface, as `ip -d link show` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AttachedProgram {
    /// The kernel's program id.
    pub(crate) id: u32,
    /// The program name (truncated by the kernel to 15 bytes).
    pub(crate) name: String,
}

/// Parses the `prog/xdp* id N name NAME` entries of `ip -d link show` output.
pub(crate) fn parse_ip_link(output: &str) -> Vec<AttachedProgram> {
    let tokens: Vec<&str> = output.split_whitespace().collect();
    let mut programs = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        if !token.starts_with("prog/xdp") {
            continue;
        }
        let field = |name: &str| {
            let rest = tokens.get(i + 1..)?;
            let at = rest.iter().take(8).position(|t| *t == name)?;
            rest.get(at + 1).copied()
        };
        if let Some(id) = field("id").and_then(|id| id.parse().ok()) {
            let name = field("name").unwrap_or("").to_owned();
            programs.push(AttachedProgram { id, name });
        }
    }
    programs
}

/// The XDP programs attached to `interface`, in any mode.
pub(crate) fn attached_programs(interface: &str) -> anyhow::Result<Vec<AttachedProgram>> {
    let output = run_ip(&["-d", "link", "show", "dev", interface])?;
    Ok(parse_ip_link(&output))
}

/// Removes a NetReaktor program left on `interface`; fails on a foreign XDP program.
/// Returns the ids of the programs removed.
pub(crate) fn remove_stale(interface: &str) -> anyhow::Result<Vec<u32>> {
    let programs = attached_programs(interface)?;
    ensure_ours(interface, &programs)?;
    let mut removed = Vec::new();
    for program in programs {
        detach_program(interface, program.id)?;
        removed.push(program.id);
    }
    let left = attached_programs(interface)?;
    if let Some(program) = left.first() {
        bail!("xdp: could not remove stale program id {} from {interface}", program.id);
    }
    Ok(removed)
}

/// Fails if any of `programs` is not NetReaktor's: another tool's program is not ours to remove.
pub(crate) fn ensure_ours(interface: &str, programs: &[AttachedProgram]) -> anyhow::Result<()> {
    if let Some(foreign) = programs.iter().find(|p| p.name != PROGRAM_NAME) {
        bail!(
            "xdp: {interface} already has XDP program {:?} (id {}), not NetReaktor's; \
             remove it first (ip link set dev {interface} xdp off)",
            foreign.name,
            foreign.id
        );
    }
    Ok(())
}

/// Detaches program `id` from `interface`: through its BPF link if it has one, else netlink.
fn detach_program(interface: &str, id: u32) -> anyhow::Result<()> {
    let mut detached_link = false;
    for info in aya::programs::loaded_links() {
        let Ok(info) = info else { continue };
        if info.program_id() != id || !matches!(info.link_type(), Ok(LinkType::Xdp)) {
            continue;
        }
        let link = sys::link_fd_by_id(info.id())
            .with_context(|| format!("xdp: opening stale link {}", info.id()))?;
        sys::link_detach(&link)
            .with_context(|| format!("xdp: detaching stale link {}", info.id()))?;
        detached_link = true;
    }
    if !detached_link {
        // Attached through netlink: clear both generic and native slots.
        run_ip(&["link", "set", "dev", interface, "xdpgeneric", "off"])?;
        run_ip(&["link", "set", "dev", interface, "xdpdrv", "off"])?;
    }
    Ok(())
}

/// Runs `ip ARGS`, returning its standard output.
fn run_ip(args: &[&str]) -> anyhow::Result<String> {
    let output = Command::new("ip")
        .args(args)
        .output()
        .with_context(|| format!("xdp: running ip {}", args.join(" ")))?;
    if !output.status.success() {
        bail!(
            "xdp: ip {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}
