#!/usr/bin/env bash
# Installs what a fresh machine lacks to build, test and demo NetReaktor.
# Idempotent: packages already present are not reinstalled.
set -euo pipefail

APT_PACKAGES=(
    iproute2      # ip netns, veth, tc
    nftables      # blackholes on a link (no netem on these kernels)
    tshark        # decodes MPTCP options: the independent check of our wire formats
    tcpdump       # captures in the namespace testbed
    python3-scapy # crafts forged MP_JOIN packets (tests/scripts/mptcp_forge_join.py)
    mptcpize      # runs unmodified programs (HAProxy, the peer baseline) on kernel MPTCP sockets
    haproxy       # the peer baseline on kernel MPTCP
    iperf3        # goodput of NetReaktor vs HAProxy (perf/compare-haproxy.sh)
    hping3        # the spoofed SYN flood of perf/syn-flood.sh
    ethtool
    clang         # rebuilds the XDP steering object (cargo build itself needs no clang)
    llvm          # llvm-strip: drops DWARF from that object (tests/scripts/build-xdp.sh)
    libbpf-dev
    python3
    curl          # reads the appliance's /metrics in the end-to-end test
    prometheus    # promtool: checks the metrics text and the alert rules (configs/prometheus)
)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$pkg")
    fi
done

if ((${#missing[@]})); then
    if [[ $(id -u) -ne 0 ]]; then
        echo "setup: missing packages: ${missing[*]}" >&2
        echo "setup: run as root, or: sudo apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
    echo "setup: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # tshark asks whether non-root users may capture; answer once, non-interactively.
    echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The Rust toolchain is the one thing this script cannot install (it comes from rustup, not
# from Debian's archive): say exactly how, and stop.
if ! command -v cargo >/dev/null 2>&1 || ! command -v rustup >/dev/null 2>&1; then
    echo "setup: no Rust toolchain (cargo and rustup). Install it as this user, then run again:" >&2
    echo "  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --default-toolchain 1.95.0" >&2
    echo "  . \"\$HOME/.cargo/env\"" >&2
    exit 1
fi

for component in rustfmt clippy; do
    if ! rustup component list --installed 2>/dev/null | grep -q "^${component}"; then
        rustup component add "$component"
    fi
done

# Coverage-guided fuzzing of the wire parsers (libFuzzer; runs on stable with `-s none`).
if ! command -v cargo-fuzz >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked --version 0.13.2
fi

echo "setup: ok"
