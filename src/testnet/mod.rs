//! Test-only helpers for the root tests that need real interfaces: two fresh network
//! namespaces joined by veth, python3 peers (echo server and client, ICMP ping through a raw
//! socket, so no ping binary is needed), and the root check that skips visibly otherwise.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::net::Ipv4Addr;
use std::os::unix::fs::MetadataExt;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

/// True when running as root; otherwise prints why `test` is skipped, past the test
/// harness's capture so the skip shows in every run.
pub(crate) fn root_or_skip(test: &str, needs: &str) -> bool {
    let root = std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
    if !root {
        let _ = writeln!(std::io::stderr(), "SKIPPED {test}: needs root ({needs})");
    }
    root
}

static NEXT: AtomicU32 = AtomicU32::new(0);

/// Runs `ip` with `args` and asserts it succeeded.
pub(crate) fn ip(args: &[&str]) {
    let status = Command::new("ip").args(args).status().expect("ip runs");
    assert!(status.success(), "ip {} failed", args.join(" "));
}

/// Two namespaces `a` (the peer) and `b` (the appliance side, holding interface `ifb`)
/// joined by veth, addressed `addr_a/24` and `addr_b/24`. Named after the process id, a
/// per-user `letter` and a counter; deleted on drop, also on failure.
pub(crate) struct VethPair {
    pub(crate) a: String,
    pub(crate) b: String,
    pub(crate) ifa: String,
    pub(crate) ifb: String,
    pub(crate) addr_b: Ipv4Addr,
}

impl VethPair {
    pub(crate) fn new(letter: char, addr_a: Ipv4Addr, addr_b: Ipv4Addr) -> VethPair {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let tag = format!("{}{letter}{n}", std::process::id());
        let pair = VethPair {
            a: format!("nra{tag}"),
            b: format!("nrb{tag}"),
            ifa: format!("va{tag}"),
            ifb: format!("vb{tag}"),
            addr_b,
        };
        ip(&["netns", "add", &pair.a]);
        ip(&["netns", "add", &pair.b]);
        ip(&[
            "link", "add", &pair.ifa, "netns", &pair.a, "type", "veth", "peer", "name", &pair.ifb,
            "netns", &pair.b,
        ]);
        for (ns, dev, addr) in [(&pair.a, &pair.ifa, addr_a), (&pair.b, &pair.ifb, addr_b)] {
            let cidr = format!("{addr}/24");
            ip(&["-n", ns, "addr", "add", &cidr, "dev", dev]);
            ip(&["-n", ns, "link", "set", dev, "up"]);
            ip(&["-n", ns, "link", "set", "lo", "up"]);
        }
        pair
    }

    /// veth leaves TCP checksums to the receiver (CHECKSUM_PARTIAL) and AF_XDP hands the frame
    /// up as is: have `a` compute them so `b` can verify what it receives.
    pub(crate) fn checksums_in_software_on_a(&self) {
        let status = Command::new("ip")
            .args(["netns", "exec", &self.a, "ethtool", "-K", &self.ifa, "tx", "off"])
            .stdout(Stdio::null())
            .status()
            .expect("ethtool runs");
        assert!(status.success(), "ethtool -K {} tx off", self.ifa);
    }

    /// Runs `f` on a thread inside namespace `b`.
    pub(crate) fn in_b<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        let ns = File::open(format!("/run/netns/{}", self.b)).expect("netns file");
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    crate::xdp::sys::enter_netns(&ns).expect("setns");
                    f()
                })
                .join()
                .expect("test thread")
        })
    }

    /// A python3 script run in namespace `ns` with `args`.
    pub(crate) fn python(&self, ns: &str, script: &str, args: &[String]) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", ns, "python3", "-c", script]).args(args);
        command
    }

    /// An echo server in `b` on `ports`, ready when this returns.
    pub(crate) fn echo_server(&self, ports: &[u16]) -> Server {
        let ports: Vec<String> = ports.iter().map(u16::to_string).collect();
        let mut child = self
            .python(&self.b, ECHO_SERVER, &ports)
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("piped stdout");
        BufReader::new(stdout).read_line(&mut line).expect("server output");
        assert_eq!(line.trim(), "ready", "echo server did not start");
        Server(child)
    }

    /// A TCP connection from `a` to `b:port` that sends a line and reads it back.
    pub(crate) fn tcp_echo(&self, port: u16) -> bool {
        let args = [self.addr_b.to_string(), port.to_string()];
        self.python(&self.a, ECHO_CLIENT, &args).status().is_ok_and(|s| s.success())
    }

    /// Two ICMP echo requests from `a` to `b`, each answered within 2 s.
    pub(crate) fn ping(&self) -> bool {
        let args = [self.addr_b.to_string()];
        self.python(&self.a, PING, &args).status().is_ok_and(|s| s.success())
    }

    /// `ip -d link show` of `b`'s interface.
    pub(crate) fn link_details(&self) -> String {
        let out = Command::new("ip")
            .args(["-n", &self.b, "-d", "link", "show", "dev", &self.ifb])
            .output()
            .expect("ip runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for VethPair {
    fn drop(&mut self) {
        for ns in [&self.a, &self.b] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

/// A child process killed on drop.
pub(crate) struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Echo servers on the ports given as arguments; prints "ready" once listening.
const ECHO_SERVER: &str = r#"
import socket, sys, threading
socks = []
for port in sys.argv[1:]:
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", int(port))); s.listen(16); socks.append(s)
def serve(s):
    while True:
        c, _ = s.accept()
        with c:
            data = c.recv(100)
            c.sendall(data)
for s in socks:
    threading.Thread(target=serve, args=(s,), daemon=True).start()
print("ready", flush=True)
threading.Event().wait()
"#;

/// Connects to argv[1]:argv[2], sends a line and expects it back.
const ECHO_CLIENT: &str = r#"
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
s.sendall(b"netreaktor\n")
got = b""
while len(got) < 11:
    chunk = s.recv(100)
    if not chunk: break
    got += chunk
sys.exit(0 if got == b"netreaktor\n" else 1)
"#;

/// Two ICMP echo requests, each answered within 2 s (a raw socket: no ping binary needed).
const PING: &str = r#"
import socket, struct, sys, time
def checksum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.settimeout(2)
for seq in (1, 2):
    body = struct.pack("!BBHHH", 8, 0, 0, 0x4e52, seq) + b"netreaktor-ping"
    s.sendto(body[:2] + struct.pack("!H", checksum(body + b"\0")) + body[4:], (sys.argv[1], 0))
    deadline = time.time() + 2
    while True:
        reply = s.recv(200)
        icmp = reply[(reply[0] & 15) * 4:]
        if icmp[0] == 0 and struct.unpack("!HH", icmp[4:8]) == (0x4e52, seq):
            break
        if time.time() > deadline:
            sys.exit(1)
"#;
