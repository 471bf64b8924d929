//! The appliance's configuration: a YAML file read with serde-saphyr into [`Config`], then
//! checked as a whole ([`validate`]). Every error, from the YAML syntax to two pipelines
//! matching the same port, names its line, column and field path. The reference of every
//! key is `docs/configuration.md`.

mod convert;
mod error;
mod families;
mod locate;
mod schema;
mod units;
mod validate;

#[cfg(test)]
mod tests;

use std::path::Path;

pub(crate) use error::ConfigError;
pub(crate) use families::{configured_sources, origin_versions};
pub(crate) use schema::{Config, LogLevel, Pipeline, ProxyProtocol, XdpMode};
pub(crate) use units::{format_duration, format_size};

/// Why a file could not be loaded.
#[derive(Debug)]
pub(crate) enum LoadError {
    /// The file could not be read.
    Io(std::io::Error),
    /// The file was read and is not a valid configuration.
    Invalid(Vec<ConfigError>),
}

/// Parses and validates a configuration; `Err` holds every error found.
pub(crate) fn parse(text: &str) -> Result<Config, Vec<ConfigError>> {
    let options = serde_saphyr::options! { with_snippet: false };
    let config: Config = serde_saphyr::from_str_with_options(text, options)
        .map_err(|error| vec![ConfigError::from_yaml(&error, text)])?;
    let errors = validate::validate(&config);
    if errors.is_empty() { Ok(config) } else { Err(errors) }
}

/// Reads, parses and validates the file at `path`.
pub(crate) fn load(path: &Path) -> Result<Config, LoadError> {
    let text = std::fs::read_to_string(path).map_err(LoadError::Io)?;
    parse(&text).map_err(LoadError::Invalid)
}
