//! The report of a run: one JSON document (`--json`) or human tables.

use std::fmt::Write as _;

use serde::Serialize;

use crate::cli::Engine;
use crate::engine::Transport;
use crate::machine::Machine;
use crate::netstat::MptcpDelta;

/// A table for humans: a title, column names, rows.
#[derive(Debug, Clone, Default)]
pub(crate) struct Section {
    /// Printed above the table.
    pub(crate) title: String,
    /// Column names.
    pub(crate) header: Vec<String>,
    /// Cells, one row a line.
    pub(crate) rows: Vec<Vec<String>>,
}

impl Section {
    /// A table titled `title` with columns `header`.
    pub(crate) fn new(title: &str, header: &[&str]) -> Self {
        Self {
            title: title.to_string(),
            header: header.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row.
    pub(crate) fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The table with every column padded to its widest cell.
    fn render(&self) -> String {
        let all = std::iter::once(&self.header).chain(&self.rows);
        let mut widths = vec![0; self.header.len()];
        for row in all.clone() {
            for (w, c) in widths.iter_mut().zip(row) {
                *w = (*w).max(c.chars().count());
            }
        }
        let mut out = format!("{}\n", self.title);
        for row in all {
            let line: Vec<String> =
                row.iter().zip(&widths).map(|(c, &w)| format!("{c:>w$}")).collect();
            let _ = writeln!(out, "  {}", line.join("  "));
        }
        out
    }
}

/// What one scenario measured.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    /// The numbers, as JSON.
    pub(crate) results: serde_json::Value,
    /// The same for humans.
    pub(crate) sections: Vec<Section>,
    /// What went wrong (integrity, failed hooks...): the exit code is non-zero if any.
    pub(crate) problems: Vec<String>,
}

/// The whole report.
#[derive(Debug, Serialize)]
pub(crate) struct Report {
    /// Always `netreaktor-bench`.
    pub(crate) tool: &'static str,
    /// The bench's version.
    pub(crate) version: &'static str,
    /// throughput, connect, rr or handover.
    pub(crate) scenario: &'static str,
    /// The engine.
    pub(crate) engine: Engine,
    /// tcp or mptcp.
    pub(crate) protocol: Transport,
    /// The server's address.
    pub(crate) target: String,
    /// The scenario's flags.
    pub(crate) params: serde_json::Value,
    /// Where it ran.
    pub(crate) machine: Machine,
    /// The scenario's numbers.
    pub(crate) results: serde_json::Value,
    /// MPTcpExt counter deltas (namespace-wide), when the kernel has MPTCP.
    pub(crate) mptcp: Option<MptcpDelta>,
    /// Problems; empty on success.
    pub(crate) problems: Vec<String>,
    /// Human tables (not in the JSON).
    #[serde(skip)]
    pub(crate) sections: Vec<Section>,
}

impl Report {
    /// The report as one JSON document.
    pub(crate) fn json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report is plain data and serializes")
    }

    /// The report as text for a terminal.
    pub(crate) fn human(&self) -> String {
        let m = &self.machine;
        let mut out = format!(
            "netreaktor-bench {} {}: engine {}, {} to {}\nmachine: {}, {} cores, kernel {}, congestion control {}\n\n",
            self.version,
            self.scenario,
            serde_plain(&self.engine),
            self.protocol,
            self.target,
            m.cpu_model,
            m.cores,
            m.kernel,
            m.congestion_control,
        );
        for s in &self.sections {
            out.push_str(&s.render());
            out.push('\n');
        }
        if let Some(d) = &self.mptcp {
            let _ = writeln!(
                out,
                "MPTCP counters (whole network namespace, /proc/net/netstat): MP_CAPABLE client {} server {}, joins client {} server {}, fallbacks {}",
                d.capable_client, d.capable_server, d.joins_client, d.joins_server, d.fallbacks
            );
        }
        for p in &self.problems {
            let _ = writeln!(out, "PROBLEM: {p}");
        }
        out
    }
}

/// A unit enum's serde name.
fn serde_plain<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Report {
        let mut s = Section::new("t", &["a", "bbb"]);
        s.row(vec!["1000".into(), "2".into()]);
        Report {
            tool: "netreaktor-bench",
            version: "0",
            scenario: "rr",
            engine: Engine::Kernel,
            protocol: Transport::Mptcp,
            target: "127.0.0.1:1".into(),
            params: serde_json::json!({"rate": 10.0}),
            machine: Machine {
                cpu_model: "cpu".into(),
                cores: 2,
                kernel: "6.18".into(),
                congestion_control: "bbr".into(),
            },
            results: serde_json::json!({"requests": 3}),
            mptcp: None,
            problems: vec![],
            sections: vec![s],
        }
    }

    #[test]
    fn json_has_every_top_level_key() {
        let v: serde_json::Value = serde_json::from_str(&sample().json()).unwrap();
        for key in [
            "tool", "version", "scenario", "engine", "protocol", "target", "params", "machine",
            "results", "mptcp", "problems",
        ] {
            assert!(v.get(key).is_some(), "{key}");
        }
        assert_eq!(v["engine"], "kernel");
        assert_eq!(v["protocol"], "mptcp");
        assert_eq!(v["machine"]["congestion_control"], "bbr");
        assert!(v.get("sections").is_none());
    }

    #[test]
    fn tables_are_aligned() {
        let text = sample().human();
        assert!(text.contains("engine kernel, mptcp to 127.0.0.1:1"));
        assert!(text.contains("     a  bbb\n  1000    2\n"), "{text}");
    }
}
