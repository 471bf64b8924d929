//! The emulated iPhone's radios: frames out by a raw IPv4 socket per radio (bound to the
//! radio's address and interface, so the kernel routes and resolves neighbours as it does
//! for the kernel client), frames in by one AF_PACKET socket that sees every IPv4 frame of
//! the client namespace before netfilter. An nftables table (removed on drop) keeps the
//! client kernel from answering the bench's segments. Safe `socket2` calls only.

use std::io::{self, Read, Write as _};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use netreaktor_pipeline::wire::ip::IpProtocol;
use netreaktor_pipeline::wire::ipv4::{Ipv4Packet, Ipv4Repr};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

/// `IPPROTO_RAW`: a raw socket that sends whole IP datagrams (implies `IP_HDRINCL`).
const IPPROTO_RAW: i32 = 255;
/// `ETH_P_IP` in network byte order, the protocol of the AF_PACKET socket.
const ETH_P_IP: u16 = 0x0800;
/// The bench's own source ports: below Linux's default ephemeral range (32768-60999), so no
/// kernel socket of the namespace picks them, and above the well-known and registered ports the
/// testbeds serve on.
pub(crate) const PORTS: std::ops::RangeInclusive<u16> = 10000..=32767;

/// One radio: an interface, its IPv4 address, the socket that sends from it.
#[derive(Debug)]
pub(crate) struct Radio {
    /// Its IPv4 address.
    pub(crate) addr: Ipv4Addr,
    tx: Socket,
    ident: u16,
}

impl Radio {
    /// Opens the radio `name`, reading its address from the interface.
    pub(crate) fn open(name: &str) -> Result<Self> {
        let addr = interface_v4(name)?;
        let tx = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(IPPROTO_RAW)))
            .context("a raw socket (needs CAP_NET_RAW)")?;
        tx.bind(&SockAddr::from(SocketAddr::new(IpAddr::V4(addr), 0)))?;
        tx.bind_device(Some(name.as_bytes())).with_context(|| format!("binding to {name}"))?;
        tx.set_send_buffer_size(4 << 20)?;
        Ok(Self { addr, tx, ident: 0 })
    }

    /// Sends `tcp` (a whole TCP segment) to `dst` in an IPv4 datagram of ours.
    pub(crate) fn send(&mut self, dst: Ipv4Addr, tcp: &[u8], buf: &mut Vec<u8>) -> io::Result<()> {
        let repr = Ipv4Repr {
            src_addr: self.addr,
            dst_addr: dst,
            next_header: IpProtocol::Tcp,
            payload_len: tcp.len(),
            hop_limit: 64,
            dscp: 0,
            ecn: 0,
            ident: self.ident,
            dont_frag: true,
            more_frags: false,
            frag_offset: 0,
            options: &[],
        };
        self.ident = self.ident.wrapping_add(1);
        buf.clear();
        buf.resize(repr.buffer_len() + tcp.len(), 0);
        let header = repr.buffer_len();
        repr.emit(&mut Ipv4Packet::new_unchecked(&mut buf[..]));
        buf[header..].copy_from_slice(tcp);
        match self.tx.send_to(buf, &SockAddr::from(SocketAddrV4::new(dst, 0))) {
            Ok(_) => Ok(()),
            // A full queue is a lost segment: TCP retransmits.
            Err(e) if e.kind() == io::ErrorKind::WouldBlock || e.raw_os_error() == Some(105) => {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }
}

/// The receive tap: every IPv4 packet the namespace's interfaces see, in and out.
#[derive(Debug)]
pub(crate) struct Tap {
    rx: Socket,
}

impl Tap {
    /// Opens the tap; reads wait at most `wait`.
    pub(crate) fn open(wait: Duration) -> Result<Self> {
        let proto = Protocol::from(i32::from(ETH_P_IP.to_be()));
        let rx = Socket::new(Domain::PACKET, Type::DGRAM, Some(proto))
            .context("an AF_PACKET socket (needs CAP_NET_RAW)")?;
        rx.set_recv_buffer_size(16 << 20)?;
        rx.set_read_timeout(Some(wait))?;
        Ok(Self { rx })
    }

    /// The next IPv4 packet into `buf`, or `None` when none came within the wait.
    pub(crate) fn recv(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        match (&self.rx).read(buf) {
            Ok(n) => Ok(Some(n)),
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Switches between waiting (`Some`) and not waiting at all (`None`).
    pub(crate) fn set_wait(&self, wait: Option<Duration>) -> io::Result<()> {
        match wait {
            Some(w) => {
                self.rx.set_nonblocking(false)?;
                self.rx.set_read_timeout(Some(w.max(Duration::from_micros(100))))
            }
            None => self.rx.set_nonblocking(true),
        }
    }
}

/// The IPv4 address of interface `name` (`ip -j addr`).
fn interface_v4(name: &str) -> Result<Ipv4Addr> {
    let out = Command::new("ip").args(["-j", "-4", "addr", "show", "dev", name]).output()?;
    if !out.status.success() {
        bail!("no interface {name}: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    v.pointer("/0/addr_info/0/local")
        .and_then(|a| a.as_str())
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| anyhow!("interface {name} has no IPv4 address"))
}

/// The nftables table that drops the server's segments to the bench's ports before the
/// client kernel's TCP sees them (it would answer with RSTs). Named
/// `netreaktor_bench_emulated_<pid>`; deleted on drop.
#[derive(Debug)]
pub(crate) struct Guard {
    table: String,
}

impl Guard {
    /// Installs the table for `server`.
    pub(crate) fn install(server: SocketAddrV4) -> Result<Self> {
        let table = format!("netreaktor_bench_emulated_{}", std::process::id());
        let script = format!(
            "table ip {table} {{\n chain pre {{\n  type filter hook prerouting priority -300; policy accept;\n  \
             ip saddr {} tcp sport {} tcp dport {}-{} drop\n }}\n}}\n",
            server.ip(),
            server.port(),
            PORTS.start(),
            PORTS.end()
        );
        nft(&["-f", "-"], Some(&script))
            .context("installing the nftables guard (is nft installed?)")?;
        Ok(Self { table })
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = nft(&["delete", "table", "ip", &self.table], None);
    }
}

/// Runs `nft` with `args`, feeding `stdin`.
fn nft(args: &[&str], stdin: Option<&str>) -> Result<()> {
    let mut child = Command::new("nft")
        .args(args)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("running nft")?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes())?;
    }
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!("nft {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}
