#!/usr/bin/env bash
# The test command: formatting, lints, every test, and a short run of every fuzz target.
# Installs what a fresh machine lacks first (tests/scripts/setup.sh), so it is the only command
# a fresh machine needs to check the tree.
set -euo pipefail
cd "$(dirname "$0")/../.."

FUZZ_SECONDS=${FUZZ_SECONDS:-10}

step() { printf '\n==> %s\n' "$*"; }

step "setup"
tests/scripts/setup.sh

step "format"
cargo fmt --all --check

step "XDP object matches its source (tests/scripts/build-xdp.sh)"
xdp_tmp="$(mktemp -d)"
tests/scripts/build-xdp.sh "$xdp_tmp/steer.bpf.o"
if ! cmp "$xdp_tmp/steer.bpf.o" src/xdp/steer.bpf.o; then
    echo "src/xdp/steer.bpf.o is not what src/xdp/steer.bpf.c compiles to:" >&2
    echo "run tests/scripts/build-xdp.sh and commit src/xdp/steer.bpf.o" >&2
    rm -rf "$xdp_tmp"
    exit 1
fi
rm -rf "$xdp_tmp"

step "lints"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "docs (broken intra-doc links are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked --quiet

step "tests"
cargo test --workspace --locked --release

step "metrics text and alert rules (promtool)"
promtool check metrics <src/testdata/metrics.txt
promtool check rules configs/prometheus/netreaktor-alerts.yml
(cd configs/prometheus && promtool test rules netreaktor-alerts.test.yml)

step "demo, small: kernel MPTCP over two paths, Wi-Fi cut, capture checked by netreaktor inspect"
DEMO_BYTES=4000000 DEMO_CUT_AT=0.5 tests/scripts/demo.sh >/tmp/netreaktor-demo.log 2>&1 || {
    cat /tmp/netreaktor-demo.log >&2
    exit 1
}
tail -n 12 /tmp/netreaktor-demo.log

step "appliance testbed: client -> router -> appliance (kernel routing) -> origin, bytes verified"
tests/scripts/appliance-testbed-check.sh >/tmp/netreaktor-appliance-testbed.log 2>&1 || {
    cat /tmp/netreaktor-appliance-testbed.log >&2
    exit 1
}
tail -n 1 /tmp/netreaktor-appliance-testbed.log

step "appliance end to end: kernel clients -> NetReaktor (AF_XDP, 2 workers) -> real origin"
tests/scripts/appliance-e2e.sh >/tmp/netreaktor-appliance-e2e.log 2>&1 || {
    cat /tmp/netreaktor-appliance-e2e.log >&2
    exit 1
}
grep -E 'PASS|total' /tmp/netreaktor-appliance-e2e.log | cut -c1-120

step "fragments of a live connection: dropped by the steering program, never answered by the appliance's kernel"
tests/scripts/fragment-guard-e2e.sh >/tmp/netreaktor-fragment-guard-e2e.log 2>&1 || {
    cat /tmp/netreaktor-fragment-guard-e2e.log >&2
    exit 1
}
grep -E 'PASS' /tmp/netreaktor-fragment-guard-e2e.log | cut -c1-200

step "active origin health checks: an origin stopped with no client traffic is ejected, and restored, by checks alone"
tests/scripts/health-check-e2e.sh >/tmp/netreaktor-health-check-e2e.log 2>&1 || {
    cat /tmp/netreaktor-health-check-e2e.log >&2
    exit 1
}
grep -E 'PASS' /tmp/netreaktor-health-check-e2e.log | cut -c1-200

step "MPTCP end to end: the kernel's MPTCP client -> NetReaktor -> real origin (RFC 8684)"
tests/scripts/mptcp-e2e.sh >/tmp/netreaktor-mptcp-e2e.log 2>&1 || {
    cat /tmp/netreaktor-mptcp-e2e.log >&2
    exit 1
}
grep -E 'PASS|FAIL|passed' /tmp/netreaktor-mptcp-e2e.log | cut -c1-160

step "emulated iPhone: netreaktor-bench --engine emulated -> Linux kernel MPTCP server (v1, v0 fallback, learning, cut)"
tests/scripts/emulated-e2e.sh >/tmp/netreaktor-emulated-e2e.log 2>&1 || {
    cat /tmp/netreaktor-emulated-e2e.log >&2
    exit 1
}
grep -E 'PASS|FAIL|passed|stall|tshark:' /tmp/netreaktor-emulated-e2e.log | cut -c1-160

step "emulated iPhones -> NetReaktor: MPTCP v0 (iOS 11-15) and v1 (iOS 16) end to end, Wi-Fi cut on v0, 10,000 held"
tests/scripts/ios-appliance-e2e.sh >/tmp/netreaktor-ios-appliance-e2e.log 2>&1 || {
    cat /tmp/netreaktor-ios-appliance-e2e.log >&2
    exit 1
}
grep -E 'PASS|FAIL|passed|stall|metrics:|tshark:' /tmp/netreaktor-ios-appliance-e2e.log | cut -c1-160

step "fuzz targets: build, then ${FUZZ_SECONDS}s each"
tests/scripts/fuzz.sh "$FUZZ_SECONDS"

step "all checks passed"
