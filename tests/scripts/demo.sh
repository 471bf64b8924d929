#!/usr/bin/env bash
# The main job: a live look at Multipath TCP, decoded by NetReaktor.
#
# Builds the testbed (a phone with Wi-Fi and cellular, an access router, a server; see
# lib/testbed.sh), downloads over kernel MPTCP, blackholes Wi-Fi part way, shows bytes per
# radio as it goes, then decodes the capture with `netreaktor inspect`: every MPTCP option
# parsed by NetReaktor's wire code, every token, IDSN and HMAC recomputed by its crypto and
# checked against what the Linux kernel sent. Tears everything down at the end.
# Part 2 (appliance-demo.sh) then runs NetReaktor's own AF_XDP data path carrying real traffic.
#
#   sudo tests/scripts/demo.sh            # DEMO_BYTES=40000000 DEMO_CUT_AT=2 by default
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD

DEMO_BYTES=${DEMO_BYTES:-40000000}
DEMO_CUT_AT=${DEMO_CUT_AT:-2}
PORT=8080

if [[ $(id -u) -ne 0 ]]; then
    echo "demo: needs root (network namespaces, nftables, packet capture): sudo $0" >&2
    exit 1
fi

tests/scripts/setup.sh
echo "demo: building netreaktor (release)"
cargo build --release --locked -q -p netreaktor
NETREAKTOR=$ROOT/target/release/netreaktor

# shellcheck source=lib/testbed.sh
source tests/scripts/lib/testbed.sh
WORK=$(mktemp -d)
cleanup() {
    testbed_down
    rm -rf "$WORK"
}
trap cleanup EXIT

testbed_up
tb_shape wifi 40mbit
tb_shape cell 20mbit

cat <<INTRO

  phone ── Wi-Fi 40 Mbit/s ──┐
                             router ── server ($TB_SERVER_ADDR:$PORT, Linux kernel MPTCP)
  phone ── cell  20 Mbit/s ──┘

  The phone downloads $((DEMO_BYTES / 1000000)) MB over one MPTCP connection; Wi-Fi is
  blackholed at ${DEMO_CUT_AT}s. The router's counters show which radio carries the bytes.

INTRO

tb_router tcpdump -q -i r-srv -s 0 -U -w "$WORK/demo.pcap" tcp port $PORT 2>/dev/null &
CAPTURE=$!
tb_server python3 tests/scripts/mptcp_transfer.py serve --listen "$TB_SERVER_ADDR:$PORT" \
    --bytes "$DEMO_BYTES" >/dev/null &
sleep 1

printf '  %6s  %10s  %10s  %10s\n' time received "via Wi-Fi" "via cell"
mb() { awk -v b="$1" 'BEGIN { printf "%7.1f MB", b / 1e6 }'; }
cut_done=0
summary=""
while read -r event t rest; do
    if [[ $event == progress ]]; then
        read -r bytes <<<"$rest"
        printf '  %5.2fs  %s  %s  %s\n' "$t" "$(mb "$bytes")" \
            "$(mb "$(tb_radio_bytes wifi)")" "$(mb "$(tb_radio_bytes cell)")"
        if ((cut_done == 0)) && awk -v t="$t" -v c="$DEMO_CUT_AT" 'BEGIN { exit !(t >= c) }'; then
            tb_cut wifi
            cut_done=1
            echo "  ------  Wi-Fi blackholed (both directions, at the router)  ------"
        fi
    else
        summary="$event $t $rest"
    fi
done < <(tb_phone python3 tests/scripts/mptcp_transfer.py fetch \
    --connect "$TB_SERVER_ADDR:$PORT" --bytes "$DEMO_BYTES" --progress 0.25 --text)

sleep 0.5
kill "$CAPTURE" 2>/dev/null || true
wait "$CAPTURE" 2>/dev/null || true

read -r _ bytes expected integrity duration stall_ms _ <<<"$summary"
echo
echo "  received ${bytes}/${expected} bytes in ${duration}s; integrity: ${integrity}"
echo "  longest stall (no bytes arriving): ${stall_ms} ms, server: Linux kernel MPTCP"
echo
echo "NetReaktor's decoding of the capture ($(tcpdump -r "$WORK/demo.pcap" 2>/dev/null | wc -l) frames):"
echo
"$NETREAKTOR" inspect "$WORK/demo.pcap"
[[ $integrity == ok ]]

# Part 2: NetReaktor's own data path (tests/scripts/appliance-demo.sh, its own testbed).
testbed_down
BIN=$NETREAKTOR tests/scripts/appliance-demo.sh
