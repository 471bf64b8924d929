//! The process's own figures, as every Prometheus client library exports them (`process_*`,
//! read from `/proc/self` when `/metrics` is rendered; docs/operations.md, "Metrics").

use std::fmt;

use procfs::process::{LimitValue, Process};
use prometheus_client::encoding::{DescriptorEncoder, EncodeCounterValue, EncodeGaugeValue};

use super::Kind::{self, Counter, Gauge};
use super::Shared;
use crate::metrics::{family, sample};

/// One reading of the process's figures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ProcessStats {
    /// User and system CPU time, seconds.
    pub(crate) cpu_seconds: f64,
    /// Resident memory, bytes.
    pub(crate) resident_bytes: u64,
    /// Virtual memory, bytes.
    pub(crate) virtual_bytes: u64,
    /// Open file descriptors.
    pub(crate) open_fds: u64,
    /// The soft limit of open file descriptors (`None`: unlimited).
    pub(crate) max_fds: Option<u64>,
    /// Threads.
    pub(crate) threads: u64,
    /// Start time, seconds since the Unix epoch.
    pub(crate) start_time_seconds: f64,
}

/// Where the rendered figures come from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum ProcessSource {
    /// Read from `/proc/self` at each rendering.
    Live,
    /// Fixed figures (the rendering tests).
    #[cfg_attr(not(test), allow(dead_code))]
    Fixed(ProcessStats),
}

impl ProcessSource {
    /// The figures now; `None` if `/proc` cannot be read (then none are exported).
    pub(crate) fn read(&self) -> Option<ProcessStats> {
        match self {
            ProcessSource::Live => read_self().ok(),
            ProcessSource::Fixed(stats) => Some(*stats),
        }
    }
}

/// The `process_*` families (the registry adds the prefix), when `/proc` can be read.
pub(crate) fn encode(shared: &Shared, encoder: &mut DescriptorEncoder<'_>) -> fmt::Result {
    let Some(p) = shared.process.read() else { return Ok(()) };
    let help = "Total user and system CPU time spent in seconds";
    one(encoder, ("cpu_seconds_total", help, Counter), p.cpu_seconds)?;
    let help = "Resident memory size in bytes";
    one(encoder, ("resident_memory_bytes", help, Gauge), p.resident_bytes)?;
    let help = "Virtual memory size in bytes";
    one(encoder, ("virtual_memory_bytes", help, Gauge), p.virtual_bytes)?;
    one(encoder, ("open_fds", "Number of open file descriptors", Gauge), p.open_fds)?;
    let max_fds = ("max_fds", "Maximum number of open file descriptors", Gauge);
    match p.max_fds {
        Some(n) => one(encoder, max_fds, n)?,
        None => one(encoder, max_fds, f64::INFINITY)?,
    }
    one(encoder, ("threads", "Number of OS threads in the process", Gauge), p.threads)?;
    let help = "Start time of the process since unix epoch in seconds";
    one(encoder, ("start_time_seconds", help, Gauge), p.start_time_seconds)
}

/// A family of one sample without labels.
fn one<V: EncodeCounterValue + EncodeGaugeValue>(
    encoder: &mut DescriptorEncoder<'_>,
    (name, help, kind): (&str, &str, Kind),
    value: V,
) -> fmt::Result {
    sample(&mut family(encoder, name, help, kind)?, kind, &[], value)
}

fn read_self() -> procfs::ProcResult<ProcessStats> {
    let me = Process::myself()?;
    let stat = me.stat()?;
    let ticks = procfs::ticks_per_second() as f64;
    let max_fds = match me.limits()?.max_open_files.soft_limit {
        LimitValue::Value(n) => Some(n),
        LimitValue::Unlimited => None,
    };
    Ok(ProcessStats {
        cpu_seconds: (stat.utime + stat.stime) as f64 / ticks,
        resident_bytes: stat.rss * procfs::page_size(),
        virtual_bytes: stat.vsize,
        open_fds: me.fd_count()? as u64,
        max_fds,
        threads: stat.num_threads.max(0) as u64,
        start_time_seconds: procfs::boot_time_secs()? as f64 + stat.starttime as f64 / ticks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_reads_as_itself() {
        let s = ProcessSource::Live.read().expect("/proc/self is readable");
        assert!(s.resident_bytes > 0 && s.virtual_bytes >= s.resident_bytes);
        assert!(s.open_fds >= 3, "stdin, stdout and stderr at least: {}", s.open_fds);
        assert!(s.threads >= 1);
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
        let now = now.expect("after 1970").as_secs_f64();
        assert!(s.start_time_seconds <= now + 1.0 && s.start_time_seconds > now - 86_400.0);
    }
}
