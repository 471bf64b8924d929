//! Configuration errors: where (line, column, field path) and what.

use std::fmt;

use serde_saphyr::{Location, MessageFormatter, UserMessageFormatter};

use super::locate::{PathIndex, Role};

/// One error in a configuration file. Display: `LINE:COLUMN: PATH: MESSAGE`; the caller puts
/// the file name in front (see [`ConfigError::in_file`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConfigError {
    /// 1-based line, 0 when unknown.
    pub(crate) line: u64,
    /// 1-based column, 0 when unknown.
    pub(crate) column: u64,
    /// The field path, e.g. `pipelines[0].forward.origins[1]`; empty for the whole file.
    pub(crate) path: String,
    /// What is wrong.
    pub(crate) message: String,
}

impl ConfigError {
    /// An error at a node's location.
    pub(crate) fn at(at: Location, path: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            line: at.line(),
            column: at.column(),
            path: path.into(),
            message: message.into(),
        }
    }

    /// Turns a serde-saphyr error into ours, finding its field path in `text`.
    pub(crate) fn from_yaml(error: &serde_saphyr::Error, text: &str) -> Self {
        let error = error.without_snippet();
        let message = plain(&UserMessageFormatter.format_message(error));
        let Some(at) = error.location().filter(|at| at.line() > 0) else {
            return ConfigError { line: 0, column: 0, path: String::new(), message };
        };
        let role = if message.starts_with("unknown field") || message.starts_with("duplicate") {
            Role::Key
        } else if message.starts_with("missing field") {
            Role::Container
        } else {
            Role::Value
        };
        let path = PathIndex::new(text).path_at(at.line(), at.column(), role);
        ConfigError::at(at, path, message)
    }

    /// Displays as `FILE:LINE:COLUMN: PATH: MESSAGE`.
    pub(crate) fn in_file<'a>(&'a self, file: &'a str) -> impl fmt::Display + 'a {
        InFile { file, error: self }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "{}:{}: ", self.line, self.column)?;
        }
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

/// serde-saphyr's parser-level wording, in the words of the reference.
const REWORDED: [(&str, &str); 4] = [
    ("expected mapping start", "expected a mapping"),
    ("expected sequence start", "expected a list"),
    ("expected string scalar", "expected a string"),
    ("invalid boolean", "expected true or false"),
];

fn plain(message: &str) -> String {
    match REWORDED.iter().find(|(from, _)| *from == message) {
        Some((_, to)) => (*to).to_owned(),
        None => message.to_owned(),
    }
}

struct InFile<'a> {
    file: &'a str,
    error: &'a ConfigError,
}

impl fmt::Display for InFile<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sep = if self.error.line > 0 { ":" } else { ": " };
        write!(f, "{}{sep}{}", self.file, self.error)
    }
}
