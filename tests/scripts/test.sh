#!/usr/bin/env bash
# The test command: formatting, lints, every test, and a short run of every fuzz target.
# Installs what a fresh machine lacks first (tests/scripts/setup.sh), so it is the only command
# a fresh machine needs to check the tree.
set -euo pipefail
cd "$(dirname "$0")/../.."

FUZZ_SECONDS=${FUZZ_SECONDS:-10}

step() { printf '\n==> %s\n' "$*"; }

# e2e SCRIPT SUMMARY [ENV...]: runs tests/scripts/SCRIPT.sh (with the ENV assignments given),
# its output kept in /tmp/netreaktor-SCRIPT.log and shown whole when it fails; on success,
# prints its last N lines when SUMMARY is "last:N", else the lines that SUMMARY (an extended
# regex) matches, cut to 200 columns.
e2e() {
    local script=$1 summary=$2 log=/tmp/netreaktor-$1.log
    shift 2
    env "$@" "tests/scripts/$script.sh" >"$log" 2>&1 || {
        cat "$log" >&2
        exit 1
    }
    if [[ $summary == last:* ]]; then
        tail -n "${summary#last:}" "$log"
    else
        grep -E "$summary" "$log" | cut -c1-200
    fi
}

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
# The OpenMetrics text (what Prometheus asks for when it scrapes): `check metrics` reads only
# text 0.0.4, so it goes through Prometheus' own OpenMetrics parser, that of the backfill,
# which wants a timestamp on each sample.
om_tmp="$(mktemp -d)"
awk '/^#/ { print; next } { print $0 " 1796000000" }' src/testdata/metrics.openmetrics.txt \
    >"$om_tmp/metrics.txt"
promtool tsdb create-blocks-from openmetrics "$om_tmp/metrics.txt" "$om_tmp/blocks" >/dev/null
rm -rf "$om_tmp"
promtool check rules configs/prometheus/netreaktor-alerts.yml
(cd configs/prometheus && promtool test rules netreaktor-alerts.test.yml)

step "demo, small: kernel MPTCP over two paths, Wi-Fi cut, capture checked by netreaktor inspect"
e2e demo last:12 DEMO_BYTES=4000000 DEMO_CUT_AT=0.5

step "appliance testbed: client -> router -> appliance (kernel routing) -> origin, bytes verified"
e2e appliance-testbed-check last:1

step "appliance end to end: kernel clients -> NetReaktor (AF_XDP, 2 workers) -> real origin"
e2e appliance-e2e 'PASS|total'

step "fragments of a live connection: dropped by the steering program, never answered by the appliance's kernel"
e2e fragment-guard-e2e 'PASS'

step "slow readers: 200 clients that never read under a 16 MiB buffer budget, pressure entered, buffers freed, others served"
e2e slow-readers-e2e 'PASS'

step "address families: IPv4 and IPv6 clients to IPv4 and IPv6 origins, MPTCP joins of the other family, Wi-Fi cut"
e2e family-e2e 'PASS|passed'

step "active origin health checks: an origin stopped with no client traffic is ejected, and restored, by checks alone"
e2e health-check-e2e 'PASS'

step "MPTCP end to end: the kernel's MPTCP client -> NetReaktor -> real origin (RFC 8684)"
e2e mptcp-e2e 'PASS|FAIL|passed'

step "emulated iPhone: netreaktor-bench --engine emulated -> Linux kernel MPTCP server (v1, v0 fallback, learning, cut)"
e2e emulated-e2e 'PASS|FAIL|passed|stall|tshark:'

step "emulated iPhones -> NetReaktor: MPTCP v0 (iOS 11-15) and v1 (iOS 16) end to end, Wi-Fi cut on v0, 10,000 held"
e2e ios-appliance-e2e 'PASS|FAIL|passed|stall|metrics:|tshark:'

step "fuzz targets: build, then ${FUZZ_SECONDS}s each"
tests/scripts/fuzz.sh "$FUZZ_SECONDS"

step "all checks passed"
