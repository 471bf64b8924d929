//! The control thread's HTTP endpoint on a kernel socket (management network): `/metrics`
//! (Prometheus text format 0.0.4, [`crate::metrics`]), `/status` (JSON, [`crate::status`]),
//! `/healthz` (the process runs) and `/readyz` (the workers run and steering is attached).
//! One request per connection, served in turn: it is for a scraper and an operator, not for
//! load.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;

use crate::telemetry::Shared;

/// Binds `listen` and serves from a background thread until `stop` is set.
pub(crate) fn serve(
    listen: SocketAddr,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<std::thread::JoinHandle<()>> {
    let listener =
        TcpListener::bind(listen).with_context(|| format!("metrics: binding {listen}"))?;
    listener.set_nonblocking(true).context("metrics: non-blocking")?;
    let handle = std::thread::Builder::new().name("nr-metrics".into()).spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            match listener.accept() {
                Ok((stream, _)) => {
                    let _ = answer(stream, &shared);
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    })?;
    Ok(handle)
}

fn answer(stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    let mut line = String::new();
    BufReader::new(&stream).read_line(&mut line)?;
    let path = line.split_whitespace().nth(1).unwrap_or("");
    let (status, body) = match path {
        "/metrics" => ("200 OK", crate::metrics::render(shared)),
        "/status" => ("200 OK", crate::status::render(shared)),
        "/healthz" => ("200 OK", "ok\n".to_owned()),
        "/readyz" if shared.ready.load(Ordering::Relaxed) => ("200 OK", "ready\n".to_owned()),
        "/readyz" => ("503 Service Unavailable", "starting\n".to_owned()),
        _ => ("404 Not Found", "not found\n".to_owned()),
    };
    let mut out = &stream;
    write!(
        out,
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

#[cfg(test)]
mod tests {
    /// Two workers with every cell distinct and one steering program, rendered byte for
    /// byte as `src/testdata/metrics.txt` and `status.json` (written anew with
    /// NETREAKTOR_BLESS=1).
    #[test]
    fn the_whole_text_is_unchanged() {
        let shared = crate::telemetry::sample();
        let text = crate::metrics::render(&shared);
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/testdata/metrics.txt");
        if std::env::var_os("NETREAKTOR_BLESS").is_some() {
            std::fs::write(path, &text).expect("writable testdata");
        }
        assert_eq!(text, include_str!("testdata/metrics.txt"));
        let status = crate::status::render(&shared);
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/testdata/status.json");
        if std::env::var_os("NETREAKTOR_BLESS").is_some() {
            std::fs::write(path, &status).expect("writable testdata");
        }
        assert_eq!(status, include_str!("testdata/status.json"));
    }
}
