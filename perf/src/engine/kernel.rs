//! The `kernel` engine: blocking sockets of the OS, opened with `socket2` so that MPTCP
//! (`socket(AF_INET*, SOCK_STREAM, IPPROTO_MPTCP)`) needs no `unsafe`.

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use anyhow::anyhow;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use super::Transport;

/// `IPPROTO_MPTCP` (Linux `include/uapi/linux/in.h`).
const IPPROTO_MPTCP: i32 = 262;
/// Where Linux says whether MPTCP sockets may be created in this namespace.
const MPTCP_ENABLED: &str = "/proc/sys/net/mptcp/enabled";

/// A new, unconnected stream socket for `addr`'s family.
fn socket(addr: &SocketAddr, transport: Transport) -> io::Result<Socket> {
    let protocol = match transport {
        Transport::Tcp => Protocol::TCP,
        Transport::Mptcp => Protocol::from(IPPROTO_MPTCP),
    };
    Socket::new(Domain::for_address(*addr), Type::STREAM, Some(protocol))
}

/// Connects to `addr`, giving up after `timeout`; sets `TCP_NODELAY`.
pub(crate) fn connect(
    addr: &SocketAddr,
    transport: Transport,
    timeout: Duration,
) -> io::Result<TcpStream> {
    let s = socket(addr, transport)?;
    s.connect_timeout(&SockAddr::from(*addr), timeout)?;
    s.set_tcp_nodelay(true)?;
    Ok(s.into())
}

/// A listening socket on `addr` (with `SO_REUSEADDR`).
pub(crate) fn listen(addr: &SocketAddr, transport: Transport) -> anyhow::Result<TcpListener> {
    let s = socket(addr, transport).map_err(|e| explain(e, addr, transport))?;
    s.set_reuse_address(true)?;
    s.bind(&SockAddr::from(*addr)).map_err(|e| anyhow!("cannot listen on {addr}: {e}"))?;
    s.listen(1024)?;
    Ok(s.into())
}

/// The congestion control a connected socket uses, if the OS says.
pub(crate) fn congestion(stream: &TcpStream) -> Option<String> {
    let name = socket2::SockRef::from(stream).tcp_congestion().ok()?;
    let name = String::from_utf8_lossy(&name);
    Some(name.trim_end_matches('\0').to_string())
}

/// A clear message for a failed socket or connect call.
pub(crate) fn explain(err: io::Error, addr: &SocketAddr, transport: Transport) -> anyhow::Error {
    let mptcp_off = || {
        let enabled = std::fs::read_to_string(MPTCP_ENABLED).unwrap_or_default();
        match enabled.trim() {
            "0" => "MPTCP is not enabled in this network namespace (net.mptcp.enabled=0): \
                    `sysctl -w net.mptcp.enabled=1`, or use --tcp"
                .to_string(),
            "" => "this kernel has no MPTCP (no /proc/sys/net/mptcp): use --tcp".to_string(),
            _ => format!("the kernel refused an MPTCP socket ({err}): use --tcp"),
        }
    };
    match (err.kind(), err.raw_os_error(), transport) {
        // ENOPROTOOPT (92) when disabled by sysctl, EPROTONOSUPPORT (93) without the module.
        (_, Some(92 | 93), Transport::Mptcp) => anyhow!(mptcp_off()),
        (io::ErrorKind::ConnectionRefused, ..) => {
            anyhow!("connection refused by {addr}: is `netreaktor-bench server` listening there?")
        }
        (io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock, ..) => {
            anyhow!("connecting to {addr} timed out")
        }
        _ => anyhow!("{transport} connection to {addr}: {err}"),
    }
}

/// Whether an I/O error is the ordinary end of a connection the peer closed.
pub(crate) fn is_peer_gone(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::UnexpectedEof
    )
}
