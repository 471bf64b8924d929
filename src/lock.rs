//! One appliance per interface: an ownership lock taken before anything is attached to an
//! interface or detached from it.
//!
//! The lock is `flock(2)` (through [`std::fs::File::try_lock`]) on a file in [`RUN_DIR`] named
//! after the interface and the network namespace (interface names are per namespace), holding
//! the owner's pid. The kernel releases the lock when its owner exits, crashed or killed
//! included, so a free lock means no appliance runs on the interface, and an XDP program still
//! there is stale. The file stays after the owner's exit: its lock is what counts, not its
//! existence.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};

/// Where the lock files live.
pub(crate) const RUN_DIR: &str = "/run/netreaktor";

/// An interface owned by this process until dropped.
#[derive(Debug)]
pub(crate) struct InterfaceLock {
    /// Holds the lock: closing it releases it.
    _file: File,
    path: PathBuf,
}

impl InterfaceLock {
    /// The lock file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

/// Takes the lock of `interface` in `dir` (created if missing), or fails naming the process
/// that holds it. Never waits for the lock.
pub(crate) fn take(dir: &Path, interface: &str) -> anyhow::Result<InterfaceLock> {
    if interface.is_empty() || interface.contains('/') || interface.starts_with('.') {
        bail!("interface name {interface:?} cannot name a lock file");
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join(format!("{interface}.netns-{}.lock", netns()?));
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let owner = owner(&mut file).map_or("unknown".to_owned(), |pid| pid.to_string());
            bail!(
                "interface {interface} is in use by another NetReaktor (pid {owner}, lock {}); \
                 stop it first. Nothing was changed",
                path.display()
            );
        }
        Err(TryLockError::Error(error)) => {
            return Err(error).with_context(|| format!("locking {}", path.display()));
        }
    }
    file.set_len(0).and_then(|()| file.rewind())?;
    writeln!(file, "{}", std::process::id())
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(InterfaceLock { _file: file, path })
}

/// The pid a lock file holds. Its owner writes it just after taking the lock: a reader that
/// finds the file empty retries for a moment.
fn owner(file: &mut File) -> Option<u32> {
    for _ in 0..10 {
        let mut text = String::new();
        let read = file.rewind().and_then(|()| file.read_to_string(&mut text));
        if let (Ok(_), Ok(pid)) = (read, text.trim().parse()) {
            return Some(pid);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// The inode of this thread's network namespace: interface names are unique only within one.
fn netns() -> anyhow::Result<u64> {
    let meta =
        std::fs::metadata("/proc/thread-self/ns/net").context("reading the network namespace")?;
    Ok(meta.ino())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("nr-lock-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn a_second_owner_is_refused_with_the_first_ones_pid() {
        let dir = scratch("second");
        let first = take(&dir, "srv0").expect("a free lock is taken");
        let text = std::fs::read_to_string(first.path()).expect("the lock file");
        assert_eq!(text, format!("{}\n", std::process::id()));
        // flock locks belong to the open file: a second open in this process is refused too.
        let error = take(&dir, "srv0").expect_err("the lock is held");
        let message = format!("{error:#}");
        assert!(message.contains("interface srv0 is in use"), "{message}");
        assert!(message.contains(&format!("pid {}", std::process::id())), "{message}");
        // Another interface is another lock.
        let other = take(&dir, "org0").expect("org0 is free");
        drop((first, other));
        let again = take(&dir, "srv0").expect("free again once its owner let go");
        let text = std::fs::read_to_string(again.path()).expect("the lock file");
        assert_eq!(text, format!("{}\n", std::process::id()), "the pid is rewritten, not appended");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn names_that_cannot_be_a_file_are_refused() {
        let dir = scratch("names");
        for name in ["", "a/b", "..", ".x"] {
            assert!(take(&dir, name).is_err(), "{name:?}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
