//! Checks that relate several values: uniqueness of cores, pipeline names, origins and
//! announced addresses, no two pipelines matching the same address and port, no empty lists.
//! Each error points at the offending node's line and column.

use std::net::IpAddr;

use serde_saphyr::Spanned;

use super::error::ConfigError;
use super::schema::{Config, Pipeline};
use super::units::PortRange;

/// Every semantic error in `config`, in file order per section.
pub(crate) fn validate(config: &Config) -> Vec<ConfigError> {
    let mut errors = Vec::new();
    check_cores(config, &mut errors);
    check_interfaces(config, &mut errors);
    check_pipelines(config, &mut errors);
    check_capacity(config, &mut errors);
    errors
}

/// Reports a non-empty list's emptiness at the list.
fn non_empty<T>(list: &Spanned<Vec<T>>, path: &str, what: &str, errors: &mut Vec<ConfigError>) {
    if list.value.is_empty() {
        errors.push(ConfigError::at(
            list.referenced,
            path,
            format!("at least one {what} is required"),
        ));
    }
}

/// Reports every item equal to an earlier one.
fn unique<T: PartialEq, D: std::fmt::Display>(
    items: &[Spanned<T>],
    path: &str,
    describe: impl Fn(&T) -> D,
    errors: &mut Vec<ConfigError>,
) {
    for (i, item) in items.iter().enumerate() {
        if let Some(first) = items.iter().take(i).find(|earlier| earlier.value == item.value) {
            let msg = format!(
                "{} is listed twice (first at line {})",
                describe(&item.value),
                first.referenced.line()
            );
            errors.push(ConfigError::at(item.referenced, format!("{path}[{i}]"), msg));
        }
    }
}

fn check_cores(config: &Config, errors: &mut Vec<ConfigError>) {
    non_empty(&config.cores, "cores", "core", errors);
    unique(&config.cores.value, "cores", |core| format!("core {}", core.0), errors);
}

/// Every worker needs a queue, and a share of the origin ports.
fn check_interfaces(config: &Config, errors: &mut Vec<ConfigError>) {
    let workers = config.cores.value.len() as u64;
    if let Some(queues) = &config.interfaces.queues
        && queues.value.0 < workers
    {
        let msg = format!(
            "{} queue(s) for {workers} cores: every worker needs a queue of its own",
            queues.value.0
        );
        errors.push(ConfigError::at(queues.referenced, "interfaces.queues", msg));
    }
    let source = &config.interfaces.origin_source;
    let given = [("address", &source.address), ("ipv4", &source.ipv4), ("ipv6", &source.ipv6)];
    for (key, address) in given {
        if let Some(address) = address
            && !routable(address.value.0)
        {
            let msg = format!("{} cannot be a source address", address.value.0);
            let path = format!("interfaces.origin_source.{key}");
            errors.push(ConfigError::at(address.referenced, path, msg));
        }
    }
    super::families::check_sources(source, errors);
    let ports = &source.ports.value;
    let count = u64::from(ports.last).saturating_sub(u64::from(ports.first)) + 1;
    if ports.first == 0 || ports.last < ports.first || count < workers {
        let msg =
            format!("ports {ports} cannot be shared by {workers} workers (1-65535, one each)");
        errors.push(ConfigError::at(
            source.ports.referenced,
            "interfaces.origin_source.ports",
            msg,
        ));
    }
}

/// What the steering program's maps hold (src/xdp/maps.rs), and what an AF_XDP frame holds.
fn check_capacity(config: &Config, errors: &mut Vec<ConfigError>) {
    let largest = crate::afxdp::FrameSize::FourK.capacity() - crate::afxdp::FRAME_OVERHEAD;
    let mss = &config.tcp.mss;
    if mss.value.0 as usize > largest {
        let msg = format!(
            "mss {} does not fit a 4 KiB AF_XDP frame with its headers (at most {largest})",
            mss.value.0
        );
        errors.push(ConfigError::at(mss.referenced, "tcp.mss", msg));
    }
    let ports: u64 = config
        .pipelines
        .value
        .iter()
        .map(|p| {
            // Announced addresses are served on the pipeline's ports too.
            let addresses = 1 + p.terminate.announce.len() as u64;
            let ports = p.matches.ports.value.iter();
            addresses
                * ports.map(|r| u64::from(r.value.last) - u64::from(r.value.first) + 1).sum::<u64>()
        })
        .sum();
    if ports > crate::xdp::maps::MAX_SERVICES as u64 {
        let msg = format!(
            "{ports} service address ports in all (announced addresses included); the steering program holds at most {}",
            crate::xdp::maps::MAX_SERVICES
        );
        errors.push(ConfigError::at(config.pipelines.referenced, "pipelines", msg));
    }
}

fn check_pipelines(config: &Config, errors: &mut Vec<ConfigError>) {
    let pipelines = &config.pipelines.value;
    non_empty(&config.pipelines, "pipelines", "pipeline", errors);
    for (i, pipeline) in pipelines.iter().enumerate() {
        let path = format!("pipelines[{i}]");
        check_name(pipeline, &pipelines[..i], &path, errors);
        check_match(pipeline, &pipelines[..i], &path, errors);
        check_terminate(pipeline, &path, errors);
        super::families::check_announced_for_ios(pipeline, &path, errors);
        check_forward(pipeline, &path, errors);
        check_health(pipeline, &path, errors);
        check_active(pipeline, &path, errors);
    }
}

fn check_name(
    pipeline: &Pipeline,
    earlier: &[Pipeline],
    path: &str,
    errors: &mut Vec<ConfigError>,
) {
    let name = &pipeline.name;
    let path = format!("{path}.name");
    let valid = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.';
    if name.value.is_empty() || !name.value.chars().all(valid) {
        let msg = format!("invalid pipeline name {:?}: letters, digits, '-', '_', '.'", name.value);
        errors.push(ConfigError::at(name.referenced, path, msg));
    } else if let Some(first) = earlier.iter().find(|p| p.name.value == name.value) {
        let msg = format!(
            "duplicate pipeline name {:?} (first at line {})",
            name.value,
            first.name.referenced.line()
        );
        errors.push(ConfigError::at(name.referenced, path, msg));
    }
}

/// Announced addresses per pipeline, at most (Linux's path manager accepts at most 8).
const MAX_ANNOUNCED: usize = 8;

/// Whether an address can be a service or announced address.
fn routable(addr: IpAddr) -> bool {
    let broadcast = matches!(addr, IpAddr::V4(v4) if v4.is_broadcast());
    !(addr.is_unspecified() || addr.is_multicast() || broadcast)
}

fn check_match(
    pipeline: &Pipeline,
    earlier: &[Pipeline],
    path: &str,
    errors: &mut Vec<ConfigError>,
) {
    let address = &pipeline.matches.address;
    if !routable(address.value.0) {
        let msg = format!("{} cannot be a service address", address.value.0);
        errors.push(ConfigError::at(address.referenced, format!("{path}.match.address"), msg));
    }
    let ports = &pipeline.matches.ports;
    non_empty(ports, &format!("{path}.match.ports"), "port", errors);
    for (k, range) in ports.value.iter().enumerate() {
        let at = format!("{path}.match.ports[{k}]");
        if let Some(other) = ports.value.iter().take(k).find(|r| r.value.overlaps(&range.value)) {
            let msg =
                format!("ports {} overlap ports {} of this pipeline", range.value, other.value);
            errors.push(ConfigError::at(range.referenced, at, msg));
        } else if let Some(owner) = overlapping(earlier, address.value.0, &range.value) {
            let msg = format!(
                "{} port {} is already matched by pipeline {:?} (line {})",
                address.value.0,
                range.value,
                owner.name.value,
                owner.name.referenced.line()
            );
            errors.push(ConfigError::at(range.referenced, at, msg));
        }
    }
}

/// The first pipeline of `earlier` that matches `address` on a port of `range`.
fn overlapping<'a>(
    earlier: &'a [Pipeline],
    address: IpAddr,
    range: &PortRange,
) -> Option<&'a Pipeline> {
    earlier.iter().find(|p| {
        p.matches.address.value.0 == address
            && p.matches.ports.value.iter().any(|r| r.value.overlaps(range))
    })
}

fn check_terminate(pipeline: &Pipeline, path: &str, errors: &mut Vec<ConfigError>) {
    let terminate = &pipeline.terminate;
    let versions = format!("{path}.terminate.mptcp_versions");
    non_empty(&terminate.mptcp_versions, &versions, "MPTCP version", errors);
    unique(&terminate.mptcp_versions.value, &versions, |v| format!("version {}", v.0), errors);
    let announce = format!("{path}.terminate.announce");
    unique(&terminate.announce, &announce, |a| format!("address {}", a.0), errors);
    for (k, addr) in terminate.announce.iter().enumerate() {
        let a = addr.value.0;
        let msg = if !routable(a) {
            format!("{a} cannot be announced")
        } else if a == pipeline.matches.address.value.0 {
            format!("{a} is the service address (clients join it without an announcement)")
        } else if k >= MAX_ANNOUNCED {
            format!("at most {MAX_ANNOUNCED} addresses can be announced")
        } else {
            continue;
        };
        errors.push(ConfigError::at(addr.referenced, format!("{announce}[{k}]"), msg));
    }
}

/// A back-off cannot start above its cap. The error goes where the operator wrote the
/// value: at `max_backoff`, or at `backoff` when `max_backoff` is the default.
fn check_health(pipeline: &Pipeline, path: &str, errors: &mut Vec<ConfigError>) {
    use super::units::format_duration;
    let h = &pipeline.forward.health;
    let (backoff, max) = (h.backoff.value.0, h.max_backoff.value.0);
    if backoff <= max {
        return;
    }
    let at = format!("{path}.forward.health");
    let (b, m) = (format_duration(backoff), format_duration(max));
    if h.max_backoff.referenced == serde_saphyr::Location::UNKNOWN {
        let msg = format!("backoff {b} is longer than max_backoff ({m} unless set)");
        errors.push(ConfigError::at(h.backoff.referenced, format!("{at}.backoff"), msg));
    } else {
        let msg = format!("max_backoff {m} is shorter than backoff {b}");
        errors.push(ConfigError::at(h.max_backoff.referenced, format!("{at}.max_backoff"), msg));
    }
}

/// Active checks need health on, and wait for an answer at most one interval. The error
/// goes where the operator wrote the value, as for the back-off.
fn check_active(pipeline: &Pipeline, path: &str, errors: &mut Vec<ConfigError>) {
    use super::units::format_duration;
    let h = &pipeline.forward.health;
    let Some(check) = &h.check else { return };
    let at = format!("{path}.forward.health.check");
    if !h.enabled {
        let msg = "active checks feed passive health: they need health enabled".to_owned();
        errors.push(ConfigError::at(check.referenced, at, msg));
        return;
    }
    let (c, t) = (&check.value.interval, &check.value.timeout);
    if t.value.0 <= c.value.0 {
        return;
    }
    let (i, t_s) = (format_duration(c.value.0), format_duration(t.value.0));
    let unset = serde_saphyr::Location::UNKNOWN;
    if t.referenced == unset {
        let msg = format!("interval {i} is shorter than timeout ({t_s} unless set)");
        errors.push(ConfigError::at(c.referenced, format!("{at}.interval"), msg));
    } else {
        let default = if c.referenced == unset { " (the default)" } else { "" };
        let msg = format!("timeout {t_s} is longer than interval {i}{default}");
        errors.push(ConfigError::at(t.referenced, format!("{at}.timeout"), msg));
    }
}

/// The origins: listed, unique, routable. Their IP version need not be the service's: an
/// origin connection leaves from the origin source of the origin's own version (found at
/// start when not configured, `run.rs`).
fn check_forward(pipeline: &Pipeline, path: &str, errors: &mut Vec<ConfigError>) {
    let origins = &pipeline.forward.origins;
    let at = format!("{path}.forward.origins");
    non_empty(origins, &at, "origin", errors);
    unique(&origins.value, &at, |o| format!("origin {}", o.0), errors);
    for (k, origin) in origins.value.iter().enumerate() {
        if !routable(origin.value.0.ip()) {
            let msg = format!("{} cannot be an origin address", origin.value.0.ip());
            errors.push(ConfigError::at(origin.referenced, format!("{at}[{k}]"), msg));
        }
    }
}
