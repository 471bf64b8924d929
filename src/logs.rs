//! Logging: `tracing` events to stderr, as text (one line per event, no timestamp: journald
//! and container runtimes add their own) or as JSON lines (`--log-format json`), at the
//! config's `log_level` unless `--log-level` overrides it. Every event has the target
//! `netreaktor`, so a text line reads `  INFO netreaktor: ready workers=2 ...`. Nothing is
//! logged per packet; at `info` each connection's end is (rate-limited, `crate::worker`'s
//! `connlog`), at `debug` its start and origin retries too.

use clap::ValueEnum;
use tracing::level_filters::LevelFilter;

use crate::config::LogLevel;

/// How log events are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub(crate) enum LogFormat {
    /// One human-readable line per event.
    #[default]
    Text,
    /// One JSON object per line (timestamp, level, target, fields).
    Json,
}

/// The level filter of a configured level.
pub(crate) fn filter(level: LogLevel) -> LevelFilter {
    match level {
        LogLevel::Error => LevelFilter::ERROR,
        LogLevel::Warn => LevelFilter::WARN,
        LogLevel::Info => LevelFilter::INFO,
        LogLevel::Debug => LevelFilter::DEBUG,
        LogLevel::Trace => LevelFilter::TRACE,
    }
}

/// Installs the global subscriber. A second call does nothing (tests).
pub(crate) fn init(level: LogLevel, format: LogFormat) {
    let builder = tracing_subscriber::fmt()
        .with_max_level(filter(level))
        .with_writer(std::io::stderr)
        .with_ansi(false);
    let _ = match format {
        LogFormat::Text => builder.without_time().try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
