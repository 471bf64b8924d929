//! The machine a run happened on, for the report: CPU, cores, kernel, congestion control.

use serde::Serialize;

/// What the report says about the machine.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct Machine {
    /// `model name` from /proc/cpuinfo.
    pub(crate) cpu_model: String,
    /// Cores this process may use.
    pub(crate) cores: usize,
    /// /proc/sys/kernel/osrelease.
    pub(crate) kernel: String,
    /// /proc/sys/net/ipv4/tcp_congestion_control (this network namespace's default).
    pub(crate) congestion_control: String,
}

/// Reads the machine's facts; unknown ones are `"unknown"`.
pub(crate) fn probe() -> Machine {
    let read = |p: &str| {
        std::fs::read_to_string(p)
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| "unknown".to_string())
    };
    Machine {
        cpu_model: cpu_model(&read("/proc/cpuinfo")),
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        kernel: read("/proc/sys/kernel/osrelease"),
        congestion_control: read("/proc/sys/net/ipv4/tcp_congestion_control"),
    }
}

/// The first `model name` of a /proc/cpuinfo text.
fn cpu_model(cpuinfo: &str) -> String {
    cpuinfo
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim() == "model name")
        .map_or_else(|| "unknown".to_string(), |(_, v)| v.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_model_is_the_first_model_name() {
        let text = "processor\t: 0\nmodel name\t: AMD EPYC 7R13\nprocessor\t: 1\nmodel name\t: X\n";
        assert_eq!(cpu_model(text), "AMD EPYC 7R13");
        assert_eq!(cpu_model("nothing"), "unknown");
    }
}
