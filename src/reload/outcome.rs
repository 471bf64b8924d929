//! The outcome of the last reload, in a file `netreaktor reload` reads: `RUN_DIR/reload-PID`
//! (the lock directory of [`crate::lock`]), written whole and renamed into place. The
//! appliance writes it at start (attempt 0) and after every reload, and removes it when it
//! stops.

use std::path::{Path, PathBuf};

use tracing::warn;

use crate::lock::RUN_DIR;

/// One reload's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record {
    /// Reloads tried since the start (0: none yet).
    pub(crate) attempt: u64,
    /// `started`, `applied` or `refused`.
    pub(crate) result: String,
    /// The configuration generation in force.
    pub(crate) generation: u64,
    /// What changed, or why it was refused.
    pub(crate) message: String,
}

/// The file of the appliance with process id `pid`, in `dir`.
pub(crate) fn path_in(dir: &Path, pid: u32) -> PathBuf {
    dir.join(format!("reload-{pid}"))
}

/// Removes this process's record (the appliance stops).
pub(crate) fn remove() {
    let _ = std::fs::remove_file(path_in(Path::new(RUN_DIR), std::process::id()));
}

/// Writes this process's record (a failure is logged: the reload itself stands).
pub(crate) fn write(record: &Record) {
    let path = path_in(Path::new(RUN_DIR), std::process::id());
    if let Err(error) = write_to(&path, record) {
        warn!(target: "netreaktor", path = %path.display(), "cannot write the reload outcome: {error}");
    }
}

fn write_to(path: &Path, r: &Record) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let text = format!(
        "attempt {}\nresult {}\ngeneration {}\nmessage {}\n",
        r.attempt,
        r.result,
        r.generation,
        r.message.replace('\n', " ")
    );
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

/// Reads a record; `None` when the file is missing or not one.
pub(crate) fn read(path: &Path) -> Option<Record> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut r = Record { attempt: 0, result: String::new(), generation: 0, message: String::new() };
    for line in text.lines() {
        let (key, value) = line.split_once(' ').unwrap_or((line, ""));
        match key {
            "attempt" => r.attempt = value.parse().ok()?,
            "result" => r.result = value.to_owned(),
            "generation" => r.generation = value.parse().ok()?,
            "message" => r.message = value.to_owned(),
            _ => {}
        }
    }
    (!r.result.is_empty()).then_some(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_reads_back_as_written() {
        let dir = std::env::temp_dir().join(format!("nr-outcome-{}", std::process::id()));
        let path = path_in(&dir, 42);
        let record = Record {
            attempt: 3,
            result: "refused".into(),
            generation: 2,
            message: "x.yaml:1:2: cores: bad\nsecond line".into(),
        };
        write_to(&path, &record).expect("write");
        let back = read(&path).expect("read");
        assert_eq!(back, Record { message: "x.yaml:1:2: cores: bad second line".into(), ..record });
        assert_eq!(read(&dir.join("missing")), None);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
