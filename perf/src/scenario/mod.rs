//! The scenarios, and what they share: the connection context and stream I/O helpers.

pub(crate) mod connect;
pub(crate) mod handover;
pub(crate) mod openloop;
pub(crate) mod rr;
pub(crate) mod throughput;

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::engine::{Transport, kernel};
use crate::proto::{Header, REPLY_LEN, SinkReply};
use crate::stream::StreamGen;

/// Size of the client's reads and writes of the stream.
pub(crate) const CHUNK: usize = 128 * 1024;
/// How long a blocked read or write waits before the deadline is checked again.
const POLL: Duration = Duration::from_millis(200);

/// Where and how to connect.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ctx {
    /// The server.
    pub(crate) addr: SocketAddr,
    /// TCP or MPTCP.
    pub(crate) transport: Transport,
    /// Limit on connection set-up.
    pub(crate) connect_timeout: Duration,
}

impl Ctx {
    /// Connects and sends `header`; errors say what went wrong in words.
    pub(crate) fn open(&self, header: &Header) -> Result<TcpStream> {
        let mut s = kernel::connect(&self.addr, self.transport, self.connect_timeout)
            .map_err(|e| kernel::explain(e, &self.addr, self.transport))?;
        s.write_all(&header.encode())
            .with_context(|| format!("sending the header to {}", self.addr))?;
        Ok(s)
    }
}

/// Writes the stream until `deadline`, calling `sent(n, now)` after each write; returns the
/// bytes written. Never loses track of the stream offset on a timed-out write.
pub(crate) fn send_stream(
    stream: &mut TcpStream,
    seed: u64,
    deadline: Instant,
    mut sent: impl FnMut(usize, Instant),
) -> io::Result<u64> {
    stream.set_write_timeout(Some(POLL))?;
    let mut generator = StreamGen::new(seed);
    let mut buf = vec![0u8; CHUNK];
    let mut pos = buf.len();
    let mut total = 0u64;
    while Instant::now() < deadline {
        if pos == buf.len() {
            generator.fill(&mut buf);
            pos = 0;
        }
        match stream.write(&buf[pos..]) {
            Ok(n) => {
                pos += n;
                total += n as u64;
                sent(n, Instant::now());
            }
            Err(e) if is_timeout(&e) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(total)
}

/// Reads until the server closes, calling `got(data, now)` for each read; gives up with
/// `TimedOut` when nothing arrives after `give_up`.
pub(crate) fn receive(
    stream: &mut TcpStream,
    give_up: Instant,
    mut got: impl FnMut(&[u8], Instant),
) -> io::Result<()> {
    stream.set_read_timeout(Some(POLL))?;
    let mut buf = vec![0u8; CHUNK];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => got(&buf[..n], Instant::now()),
            Err(e) if is_timeout(&e) && Instant::now() < give_up => {}
            Err(e) if is_timeout(&e) => {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "no data and no close from the server well past the planned end",
                ));
            }
            Err(e) => return Err(e),
        }
    }
}

/// Ends a sink transfer: shuts the write side and reads the server's [`SinkReply`].
pub(crate) fn finish_sink(stream: &mut TcpStream, wait: Duration) -> Result<SinkReply> {
    stream.shutdown(std::net::Shutdown::Write)?;
    stream.set_read_timeout(Some(wait))?;
    let mut buf = [0u8; REPLY_LEN];
    stream.read_exact(&mut buf).context("reading the server's byte count")?;
    Ok(SinkReply::decode(&buf))
}

/// Whether an error is a socket timeout (`SO_RCVTIMEO`/`SO_SNDTIMEO`).
fn is_timeout(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut)
}

/// Bits per second as text (10^3 multiples).
pub(crate) fn fmt_bps(bps: f64) -> String {
    match bps {
        b if b >= 1e9 => format!("{:.3} Gbit/s", b / 1e9),
        b if b >= 1e6 => format!("{:.2} Mbit/s", b / 1e6),
        b => format!("{:.1} kbit/s", b / 1e3),
    }
}

/// Bytes as text (2^10 multiples).
pub(crate) fn fmt_bytes(b: u64) -> String {
    match b {
        b if b >= 1 << 30 => format!("{:.2} GiB", b as f64 / (1u64 << 30) as f64),
        b if b >= 1 << 20 => format!("{:.2} MiB", b as f64 / (1u64 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}

/// `bytes` over `secs` in bits per second (0 for an empty interval).
pub(crate) fn bps(bytes: u64, secs: f64) -> f64 {
    if secs > 0.0 { bytes as f64 * 8.0 / secs } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(fmt_bps(bps(125_000_000, 1.0)), "1.000 Gbit/s");
        assert_eq!(fmt_bps(2.5e6), "2.50 Mbit/s");
        assert_eq!(fmt_bytes(3 << 20), "3.00 MiB");
        assert_eq!(bps(1, 0.0), 0.0);
    }
}
