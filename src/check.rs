//! `netreaktor check -c FILE`: load and validate a configuration without running it.
//!
//! Prints `FILE: ok` and one line per pipeline, exit status 0; or every error as
//! `FILE:LINE:COLUMN: PATH: MESSAGE`, exit status 1; or, when the file cannot be read, the
//! reason, exit status 2.

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use crate::config::{
    self, Config, LoadError, Pipeline, ProxyProtocol, format_duration, format_size,
};

/// Runs the command and returns the process's exit status.
pub(crate) fn run(path: &Path) -> ExitCode {
    let file = path.display().to_string();
    match config::load(path) {
        Ok(config) => {
            println!("{file}: ok");
            print!("{}", summary(&config));
            ExitCode::SUCCESS
        }
        Err(LoadError::Invalid(errors)) => {
            for error in &errors {
                eprintln!("{}", error.in_file(&file));
            }
            ExitCode::from(1)
        }
        Err(LoadError::Io(error)) => {
            eprintln!("{file}: cannot read: {error}");
            ExitCode::from(2)
        }
    }
}

/// What the configuration sets up, one line per part and per pipeline.
pub(crate) fn summary(config: &Config) -> String {
    let tcp = config.to_tcp_config();
    let ifs = &config.interfaces;
    let cores: Vec<String> = config.cores.value.iter().map(|c| c.value.0.to_string()).collect();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "  interfaces: client {} origin {}, {} queue(s) each; cores [{}]; log {}{}; metrics {}",
        ifs.client.0,
        ifs.origin.0,
        config.queues(),
        cores.join(", "),
        snake(config.log_level),
        match config.log.connections.per_second.0 {
            0 => " (connection ends off)".to_owned(),
            n => format!(" (connection ends <= {n}/s per worker)"),
        },
        config.metrics.listen.0,
    );
    let _ = writeln!(
        out,
        "  tcp: mss {}, buffers {}/{}, {}, min_rto {}, keepalive {}",
        tcp.mss,
        format_size(config.tcp.send_buffer.0),
        format_size(config.tcp.recv_buffer.0),
        snake(config.tcp.congestion),
        format_duration(tcp.rtt.min_rto),
        if tcp.keepalive.is_some() { "on" } else { "off" },
    );
    for pipeline in &config.pipelines.value {
        let _ = writeln!(out, "  {}", pipeline_line(config, pipeline));
    }
    out
}

/// A Debug name in the file's spelling: `RoundRobin` -> `round_robin`.
fn snake(debug: impl std::fmt::Debug) -> String {
    let mut out = String::new();
    for (i, c) in format!("{debug:?}").chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// `pipeline web: 10.0.0.1:80,443 -> 10.1.0.2:8080 (round robin), ...`
fn pipeline_line(config: &Config, pipeline: &Pipeline) -> String {
    let m = &pipeline.matches;
    let t = &pipeline.terminate;
    let f = &pipeline.forward;
    let ports: Vec<String> = m.ports.value.iter().map(|p| p.value.to_string()).collect();
    let origins: Vec<String> = f.origins.value.iter().map(|o| o.value.0.to_string()).collect();
    let versions: Vec<String> =
        t.mptcp_versions.value.iter().map(|v| format!("v{}", v.value.0)).collect();
    let listener = config.to_listener_config(pipeline);
    format!(
        "pipeline {}: {} port {} -> {} ({}); mptcp {}, {}, max {} conns x {} subflows, \
         half-open {}, {} announced; proxy_protocol {}; connect {}, idle {}",
        pipeline.name.value,
        m.address.value.0,
        ports.join(","),
        origins.join(", "),
        snake(f.balance),
        versions.join("+"),
        snake(t.scheduler),
        t.limits.max_connections.0,
        t.limits.max_subflows.0,
        listener.half_open_max,
        t.announce.len(),
        match f.proxy_protocol {
            ProxyProtocol::Off => "off",
            ProxyProtocol::V2 => "v2",
        },
        format_duration(f.connect_timeout.0),
        format_duration(f.idle_timeout.0),
    )
}
