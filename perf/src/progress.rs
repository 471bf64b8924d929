//! A progress bar on stderr, shown only when stderr is a terminal.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// A bar over a run's planned duration, or nothing.
#[derive(Debug)]
pub(crate) struct Progress(Option<ProgressBar>);

impl Progress {
    /// A bar for a run of `planned`, if stderr is a terminal.
    pub(crate) fn new(planned: Duration) -> Self {
        if !std::io::stderr().is_terminal() {
            return Self(None);
        }
        let bar = ProgressBar::new(u64::try_from(planned.as_millis()).unwrap_or(u64::MAX));
        let style = ProgressStyle::with_template("{elapsed:>4} [{bar:30}] {msg}")
            .map(|s| s.progress_chars("=> "))
            .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        Self(Some(bar))
    }

    /// Moves the bar to `elapsed` and shows `msg`.
    pub(crate) fn set(&self, elapsed: Duration, msg: String) {
        if let Some(bar) = &self.0 {
            bar.set_position(u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX));
            bar.set_message(msg);
        }
    }

    /// Removes the bar.
    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}
