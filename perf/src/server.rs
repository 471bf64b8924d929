//! `netreaktor-bench server`: the sink, source and echo ends of the bench protocol
//! ([`crate::proto`]), one thread per connection.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::cli::ServerArgs;
use crate::engine::kernel;
use crate::proto::{HEADER_LEN, Header, Mode, SinkReply};
use crate::stream::{StreamGen, Verifier};

/// How long a new connection may take to send its header.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Size of the server's reads and writes of the stream.
const CHUNK: usize = 128 * 1024;

/// Listens and serves until killed.
pub(crate) fn run(args: &ServerArgs) -> Result<()> {
    let addr = crate::cli::resolve(&args.listen)?;
    let transport = args.proto.transport();
    let listener = kernel::listen(&addr, transport)?;
    let local = listener.local_addr()?;
    // Tests and scripts read this line to learn the port when given port 0.
    println!("netreaktor-bench: listening on {local} ({transport})");
    io::stdout().flush()?;
    for conn in listener.incoming() {
        match conn {
            Ok(stream) => {
                let verbose = args.verbose;
                thread::spawn(move || serve(stream, verbose));
            }
            Err(e) => eprintln!("netreaktor-bench: accept: {e}"),
        }
    }
    Ok(())
}

/// Serves one connection; reports unexpected failures on stderr.
fn serve(mut stream: TcpStream, verbose: bool) {
    let peer = stream.peer_addr().map(|a| a.to_string()).unwrap_or_default();
    let result = header(&mut stream).and_then(|h| match h.mode {
        Mode::Sink => sink(&mut stream, h.seed),
        Mode::Source => source(&mut stream, h.seed, Duration::from_micros(h.a)),
        Mode::Echo => echo(&mut stream, h.a, h.b),
    });
    match result {
        Err(e) if verbose || !is_ordinary(&e) => eprintln!("netreaktor-bench: {peer}: {e:#}"),
        _ => {}
    }
}

/// Whether an error is a peer going away, which ends many bench connections.
fn is_ordinary(e: &anyhow::Error) -> bool {
    e.downcast_ref::<io::Error>().is_some_and(kernel::is_peer_gone)
}

/// Reads and checks the connection's header.
fn header(stream: &mut TcpStream) -> Result<Header> {
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(HEADER_TIMEOUT))?;
    let mut buf = [0u8; HEADER_LEN];
    stream.read_exact(&mut buf).context("reading the header")?;
    stream.set_read_timeout(None)?;
    Header::decode(&buf)
}

/// Receives and checks the stream until the client shuts its side, then replies.
fn sink(stream: &mut TcpStream, seed: u64) -> Result<()> {
    let mut verifier = Verifier::new(seed);
    let mut buf = vec![0u8; CHUNK];
    let mut last: Option<Instant> = None;
    let mut max_gap = Duration::ZERO;
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        let now = Instant::now();
        if let Some(prev) = last {
            max_gap = max_gap.max(now - prev);
        }
        last = Some(now);
        verifier.check(&buf[..n]);
    }
    let reply = SinkReply {
        bytes: verifier.bytes(),
        mismatch: verifier.mismatch(),
        max_gap_us: u64::try_from(max_gap.as_micros()).unwrap_or(u64::MAX),
    };
    stream.write_all(&reply.encode())?;
    Ok(())
}

/// Sends the stream for `duration`, then closes.
fn source(stream: &mut TcpStream, seed: u64, duration: Duration) -> Result<()> {
    let mut generator = StreamGen::new(seed);
    let mut buf = vec![0u8; CHUNK];
    let end = Instant::now() + duration;
    while Instant::now() < end {
        generator.fill(&mut buf);
        stream.write_all(&buf)?;
    }
    stream.shutdown(Shutdown::Write)?;
    // Wait for the client's close so the last bytes are not lost to a reset.
    let _ = stream.read(&mut buf);
    Ok(())
}

/// Answers each request of `request` bytes with `reply` bytes until the client closes.
fn echo(stream: &mut TcpStream, request: u64, reply: u64) -> Result<()> {
    // Both sizes are at most proto::MAX_MESSAGE (16 MiB), checked by Header::decode.
    let mut req = vec![0u8; usize::try_from(request)?];
    let rep = vec![0x5Au8; usize::try_from(reply)?];
    loop {
        match stream.read_exact(&mut req) {
            Ok(()) => stream.write_all(&rep)?,
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(e.into()),
        }
    }
}
