//! Logging: `tracing` events to stderr, as text (one line per event, no timestamp: journald
//! and container runtimes add their own) or as JSON lines (`--log-format json`). Every event
//! has the target `netreaktor`, so a text line reads `  INFO netreaktor: ready workers=2 ...`.
//! Nothing is logged per packet; at `info` each connection's end is (rate-limited,
//! `crate::worker`'s `connlog`), at `debug` its start and origin retries too.
//!
//! What is logged is an `EnvFilter` ([`Filter`]): `--log-level` if given, else `RUST_LOG`
//! directives if set (`RUST_LOG=warn,netreaktor=debug`), else the config's `log_level`.
//! `netreaktor run` installs the subscriber before it reads its config, so that every message
//! of a run, config errors and fatal errors included, is in the chosen format; the config's
//! level replaces the provisional `info` once the config is read ([`Logs::use_config_level`]).
//! A panic is logged the same way.

use clap::ValueEnum;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry, reload};

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

/// The directive of a configured level.
fn level_directive(level: LogLevel) -> &'static str {
    match level {
        LogLevel::Error => "error",
        LogLevel::Warn => "warn",
        LogLevel::Info => "info",
        LogLevel::Debug => "debug",
        LogLevel::Trace => "trace",
    }
}

/// Where the filter comes from, highest precedence first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Filter {
    /// `--log-level`.
    Flag(LogLevel),
    /// `RUST_LOG`, set and not empty: its directives.
    Env(String),
    /// The config's `log_level` (until the config is read: `info`).
    Config(LogLevel),
}

impl Filter {
    /// The filter of a run given `--log-level` (`flag`) and `RUST_LOG` (`env`).
    pub(crate) fn choose(flag: Option<LogLevel>, env: Option<&str>) -> Filter {
        match (flag, env.map(str::trim).filter(|e| !e.is_empty())) {
            (Some(level), _) => Filter::Flag(level),
            (None, Some(directives)) => Filter::Env(directives.to_owned()),
            (None, None) => Filter::Config(LogLevel::default()),
        }
    }

    /// Its `EnvFilter`, or why `RUST_LOG` does not parse.
    fn env_filter(&self) -> Result<EnvFilter, String> {
        let directives = match self {
            Filter::Flag(level) | Filter::Config(level) => level_directive(*level),
            Filter::Env(directives) => directives,
        };
        EnvFilter::builder().parse(directives).map_err(|e| format!("{e}"))
    }
}

/// The installed subscriber's filter, which the config's level may still replace.
#[derive(Debug)]
pub(crate) struct Logs {
    filter: Filter,
    handle: Option<reload::Handle<EnvFilter, Registry>>,
}

/// A format layer over the registry and its reloadable filter.
type FormatLayer = Box<
    dyn Layer<tracing_subscriber::layer::Layered<reload::Layer<EnvFilter, Registry>, Registry>>
        + Send
        + Sync,
>;

/// Installs the global subscriber writing `format` to stderr, filtered by `--log-level`
/// (`flag`) or `RUST_LOG`, else `info` until [`Logs::use_config_level`]. A `RUST_LOG` that
/// does not parse is reported (once the subscriber is installed) and the level used instead.
/// Installing twice (tests) keeps the first subscriber.
pub(crate) fn init(flag: Option<LogLevel>, format: LogFormat) -> Logs {
    let rust_log = std::env::var("RUST_LOG").ok();
    let mut filter = Filter::choose(flag, rust_log.as_deref());
    let (env_filter, bad_env) = match filter.env_filter() {
        Ok(f) => (f, None),
        Err(why) => {
            filter = Filter::Config(LogLevel::default());
            (EnvFilter::new(level_directive(LogLevel::default())), Some(why))
        }
    };
    let (reloadable, handle) = reload::Layer::new(env_filter);
    let base = tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_ansi(false);
    let layer: FormatLayer = match format {
        LogFormat::Text => Box::new(base.without_time()),
        LogFormat::Json => Box::new(base.json()),
    };
    let installed = tracing_subscriber::registry().with(reloadable).with(layer).try_init().is_ok();
    if let Some(why) = bad_env {
        tracing::warn!(target: "netreaktor", why = %why, "RUST_LOG ignored: it does not parse");
    }
    if installed {
        log_panics();
    }
    Logs { filter, handle: installed.then_some(handle) }
}

impl Logs {
    /// The config's `log_level` becomes the filter, unless `--log-level` or `RUST_LOG` chose.
    pub(crate) fn use_config_level(&mut self, level: LogLevel) {
        if !matches!(self.filter, Filter::Config(_)) {
            return;
        }
        self.filter = Filter::Config(level);
        if let Some(handle) = &self.handle {
            let _ = handle.reload(EnvFilter::new(level_directive(level)));
        }
    }

    /// Where the filter in use comes from.
    pub(crate) fn filter(&self) -> &Filter {
        &self.filter
    }
}

/// Panics are logged as errors through the subscriber (a JSON log stays JSON), with the
/// thread and the place.
fn log_panics() {
    std::panic::set_hook(Box::new(|info| {
        let thread = std::thread::current();
        let thread = thread.name().unwrap_or("unnamed");
        tracing::error!(target: "netreaktor", thread, "panicked: {info}");
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_wins_then_rust_log_then_the_config() {
        let chosen = Filter::choose(Some(LogLevel::Warn), Some("debug"));
        assert_eq!(chosen, Filter::Flag(LogLevel::Warn));
        let chosen = Filter::choose(None, Some("warn,netreaktor=debug"));
        assert_eq!(chosen, Filter::Env("warn,netreaktor=debug".into()));
        assert_eq!(Filter::choose(None, Some("  ")), Filter::Config(LogLevel::Info));
        assert_eq!(Filter::choose(None, None), Filter::Config(LogLevel::Info));
    }

    #[test]
    fn rust_log_directives_parse_or_say_why_not() {
        assert!(Filter::Env("warn,netreaktor=debug".into()).env_filter().is_ok());
        assert!(Filter::Env("netreaktor[worker]=trace".into()).env_filter().is_ok());
        assert!(Filter::Env("netreaktor=loud".into()).env_filter().is_err());
        assert!(Filter::Config(LogLevel::Trace).env_filter().is_ok());
    }

    #[test]
    fn only_a_config_filter_takes_the_config_level() {
        let mut logs = Logs { filter: Filter::Config(LogLevel::Info), handle: None };
        logs.use_config_level(LogLevel::Debug);
        assert_eq!(logs.filter(), &Filter::Config(LogLevel::Debug));
        let mut logs = Logs { filter: Filter::Env("warn".into()), handle: None };
        logs.use_config_level(LogLevel::Debug);
        assert_eq!(logs.filter(), &Filter::Env("warn".into()));
    }
}
