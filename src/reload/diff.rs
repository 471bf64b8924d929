//! What a reload would change (docs/operations.md, "Reload"): the fields of a new
//! configuration that differ from the running one, split into those that change live and
//! those only a restart changes. A reload with any of the latter is refused, naming each.
//!
//! Restart only: `interfaces.*` (the steering programs and AF_XDP sockets), `cores` (the
//! workers), `idle_spin`, `drain_timeout`, `metrics.listen`, `capture`, `tcp` (every
//! connection's and the listeners' TCP settings, the frame size), and per pipeline its
//! `name`, `match` and `terminate.announce` (service addresses the steering program is loaded
//! with); adding or removing a pipeline. Everything else changes live.

use std::fmt::Debug;

use netreaktor_pipeline::shard::ServiceConfig;

use crate::config::{Config, Pipeline, format_duration};

/// The fields that differ between two configurations.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Diff {
    /// Fields only a restart changes: `field: old -> new`.
    pub(crate) restart: Vec<String>,
    /// Fields that change live: `field: old -> new`, pipelines named.
    pub(crate) live: Vec<String>,
}

/// Compares the running configuration with a new one.
pub(crate) fn compare(running: &Config, new: &Config) -> Diff {
    let mut diff = Diff::default();
    top_restart(running, new, &mut diff.restart);
    top_live(running, new, &mut diff.live);
    let (old_p, new_p) = (&running.pipelines.value, &new.pipelines.value);
    if old_p.len() != new_p.len() {
        let names = |p: &[Pipeline]| p.iter().map(|p| p.name.value.clone()).collect::<Vec<_>>();
        let change = format!("{:?} -> {:?}", names(old_p), names(new_p));
        diff.restart.push(format!("pipelines (adding or removing one): {change}"));
        return diff;
    }
    let (old_s, new_s) = (running.to_services(), new.to_services());
    for (i, (o, n)) in old_p.iter().zip(new_p).enumerate() {
        pipeline_restart(i, (o, n), &mut diff.restart);
        pipeline_live((o, n), (&old_s[i], &new_s[i]), &mut diff.live);
    }
    diff
}

/// Pushes `field: old -> new` onto `out` when the two differ (shown with `Debug`).
fn differs<T: Debug + PartialEq>(out: &mut Vec<String>, field: &str, old: T, new: T) {
    if old != new {
        out.push(format!("{field}: {old:?} -> {new:?}"));
    }
}

fn top_restart(o: &Config, n: &Config, out: &mut Vec<String>) {
    let (oi, ni) = (&o.interfaces, &n.interfaces);
    differs(out, "interfaces.client", &oi.client.0, &ni.client.0);
    differs(out, "interfaces.origin", &oi.origin.0, &ni.origin.0);
    differs(out, "interfaces.queues", o.queues(), n.queues());
    differs(out, "interfaces.xdp_mode", oi.xdp_mode, ni.xdp_mode);
    let sources = |c: &Config| crate::config::configured_sources(&c.interfaces.origin_source);
    differs(out, "interfaces.origin_source", sources(o), sources(n));
    differs(out, "interfaces.origin_source.ports", o.origin_ports(), n.origin_ports());
    let cores = |c: &Config| c.cores.value.iter().map(|c| c.value.0).collect::<Vec<_>>();
    differs(out, "cores", cores(o), cores(n));
    let dur = |d: netreaktor_pipeline::time::Duration| format_duration(d);
    differs(out, "idle_spin", dur(o.idle_spin.0), dur(n.idle_spin.0));
    differs(out, "drain_timeout", dur(o.drain_timeout.0), dur(n.drain_timeout.0));
    differs(out, "metrics.listen", o.metrics.listen.0, n.metrics.listen.0);
    let capture = |c: &Config| c.capture.as_ref().map(|c| (c.path.clone(), c.max_size.0));
    differs(out, "capture", capture(o), capture(n));
    differs(out, "tcp", o.to_tcp_config(), n.to_tcp_config());
    differs(out, "limits.buffer_memory", o.limits.buffer_memory.0, n.limits.buffer_memory.0);
}

fn top_live(o: &Config, n: &Config, out: &mut Vec<String>) {
    differs(out, "log_level", o.log_level, n.log_level);
    let per_second = |c: &Config| c.log.connections.per_second.0;
    differs(out, "log.connections.per_second", per_second(o), per_second(n));
    let listener = |c: &Config| {
        let l = &c.listener;
        (l.half_open_max.0, l.accept_backlog.0, l.syn_cookies)
    };
    differs(out, "listener (half_open_max, accept_backlog, syn_cookies)", listener(o), listener(n));
}

fn pipeline_restart(i: usize, (o, n): (&Pipeline, &Pipeline), out: &mut Vec<String>) {
    let at = format!("pipelines[{i}]");
    differs(out, &format!("{at}.name"), &o.name.value, &n.name.value);
    differs(
        out,
        &format!("{at}.match.address"),
        o.matches.address.value.0,
        n.matches.address.value.0,
    );
    let ports = |p: &Pipeline| {
        p.matches.ports.value.iter().map(|r| r.value.to_string()).collect::<Vec<_>>()
    };
    differs(out, &format!("{at}.match.ports"), ports(o), ports(n));
    let announce =
        |p: &Pipeline| p.terminate.announce.iter().map(|a| a.value.0).collect::<Vec<_>>();
    differs(out, &format!("{at}.terminate.announce"), announce(o), announce(n));
}

/// The live fields of one pipeline, compared as the workers run them (`ServiceConfig`), so
/// a change the workers would not see is not reported, and named as the file names them.
fn pipeline_live(
    (o, n): (&Pipeline, &Pipeline),
    (os, ns): (&ServiceConfig, &ServiceConfig),
    out: &mut Vec<String>,
) {
    let at = format!("pipeline {}", n.name.value);
    let origins = |s: &ServiceConfig| s.origins.iter().map(|o| o.to_string()).collect::<Vec<_>>();
    if os.origins != ns.origins {
        out.push(format!(
            "{at} forward.origins [{}] -> [{}]",
            origins(os).join(", "),
            origins(ns).join(", ")
        ));
    }
    differs(out, &format!("{at} forward.balance"), o.forward.balance, n.forward.balance);
    differs(out, &format!("{at} forward.health"), os.health, ns.health);
    let (osp, nsp) = (&os.splice, &ns.splice);
    let dur = |d: netreaktor_pipeline::time::Duration| format_duration(d);
    differs(
        out,
        &format!("{at} forward.connect_timeout"),
        dur(osp.connect_timeout),
        dur(nsp.connect_timeout),
    );
    differs(
        out,
        &format!("{at} forward.idle_timeout"),
        osp.idle_timeout.map(dur),
        nsp.idle_timeout.map(dur),
    );
    differs(
        out,
        &format!("{at} forward.origin_timeout"),
        osp.origin_timeout.map(dur),
        nsp.origin_timeout.map(dur),
    );
    differs(out, &format!("{at} forward.proxy_protocol"), osp.proxy_protocol, nsp.proxy_protocol);
    let max = |p: &Pipeline| p.terminate.limits.max_connections.0;
    differs(out, &format!("{at} terminate.limits.max_connections"), max(o), max(n));
    let half_open = |p: &Pipeline| p.terminate.limits.half_open_max.map(|h| h.0);
    differs(out, &format!("{at} terminate.limits.half_open_max"), half_open(o), half_open(n));
    if os.mptcp != ns.mptcp {
        out.push(format!("{at} terminate (MPTCP settings: versions, max_subflows, scheduler, failover, checksums)"));
    }
}
