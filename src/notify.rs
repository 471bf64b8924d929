//! The systemd readiness protocol (`sd_notify(3)`, `Type=notify` units): a datagram of
//! `KEY=VALUE` lines to the socket named by `$NOTIFY_SOCKET`. Without that variable (not
//! started by systemd) every call does nothing. Abstract socket names (a leading `@`) are
//! not supported by the standard library's safe API and are skipped: systemd passes a path.

use std::ffi::OsStr;
use std::os::unix::net::UnixDatagram;

/// Sends `state` (for example `READY=1`) to systemd, if it is listening. Errors are ignored:
/// the appliance runs the same with or without a supervisor.
pub(crate) fn notify(state: &str) {
    if let Some(path) = std::env::var_os("NOTIFY_SOCKET") {
        let _ = notify_to(&path, state);
    }
}

/// Sends `state` to the notification socket at `path`.
fn notify_to(path: &OsStr, state: &str) -> std::io::Result<()> {
    if path.to_string_lossy().starts_with('@') {
        return Ok(());
    }
    UnixDatagram::unbound()?.send_to(state.as_bytes(), path).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sends_the_state_to_the_notify_socket() {
        let dir = std::env::temp_dir().join(format!("nr-notify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notify.sock");
        let listener = UnixDatagram::bind(&path).unwrap();
        notify_to(path.as_os_str(), "READY=1\nSTATUS=test").unwrap();
        let mut buf = [0u8; 64];
        let n = listener.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1\nSTATUS=test");
        notify_to(OsStr::new("@abstract"), "READY=1").unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
