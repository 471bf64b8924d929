#!/usr/bin/env bash
# The main job: NetReaktor terminating Multipath TCP, live, then decoding its own traffic.
#
# Builds the namespace topology of configs/demo.yaml (lib/appliance-testbed.sh: a phone with
# Wi-Fi and cellular, an access router, the appliance, an origin server), rate-limits the radios
# at the router, runs `netreaktor run -c configs/demo.yaml` in the appliance namespace and
# downloads through it with the Linux kernel's MPTCP client (tests/scripts/mptcp_transfer.py).
# Part way, Wi-Fi is blackholed at the router. A line every 0.25 s shows the bytes the phone
# got and what the router sent on each radio (demo_live.py); then the longest stall, the
# SHA-256 check, NetReaktor's own counters (/metrics), its clean stop on SIGTERM.
# Part 2 (appliance-demo.sh): plain TCP through NetReaktor's AF_XDP data path.
# Finale: `netreaktor inspect` decodes the capture taken at the router during part 1, recomputing
# every key, token, IDSN and HMAC from what crossed the wire.
# Tears everything down; exits 0 on success, 1 with a "VERDICT: FAIL" line otherwise.
#
#   sudo tests/scripts/demo.sh
#
# Environment: DEMO_BYTES (30000000), DEMO_CUT_AT (seconds into the download, 2),
# DEMO_WIFI_RATE (40mbit), DEMO_CELL_RATE (20mbit), DEMO_BIN (a netreaktor binary to use
# instead of building one), DEMO2_BYTES etc. (see appliance-demo.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD

DEMO_BYTES=${DEMO_BYTES:-30000000}
DEMO_CUT_AT=${DEMO_CUT_AT:-2}
WIFI_RATE=${DEMO_WIFI_RATE:-40mbit}
CELL_RATE=${DEMO_CELL_RATE:-20mbit}
CONFIG=configs/demo.yaml
TRANSFER=tests/scripts/mptcp_transfer.py
METRICS_URL=http://127.0.0.1:9100/metrics
SEED=7

if [[ $(id -u) -ne 0 ]]; then
    echo "demo: needs root (network namespaces, XDP, nftables, packet capture):" >&2
    echo "  sudo $0" >&2
    exit 1
fi

tests/scripts/setup.sh
for tool in ip tc nft tcpdump curl ethtool python3; do
    command -v "$tool" >/dev/null || {
        echo "demo: $tool is missing; sudo tests/scripts/setup.sh installs it" >&2
        exit 1
    }
done
if [[ -n ${DEMO_BIN:-} ]]; then
    NETREAKTOR=$(realpath "$DEMO_BIN")
else
    echo "demo: building netreaktor (release)"
    cargo build --release --locked -q -p netreaktor
    NETREAKTOR=$ROOT/target/release/netreaktor
fi
[[ -x $NETREAKTOR ]] || {
    echo "demo: no netreaktor binary at $NETREAKTOR" >&2
    exit 1
}

WORK=$(mktemp -d /tmp/demo.XXXXXX)
LOG=$WORK/netreaktor.log
APPLIANCE_PID=""
ORIGIN_PID=""
CAPTURE_PID=""
PASSED=""
: >"$LOG"

# Runs first on exit and on failure (then the lib removes the namespaces); safe to run twice.
cleanup() {
    local pid
    for pid in $CAPTURE_PID $APPLIANCE_PID $ORIGIN_PID; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    CAPTURE_PID="" APPLIANCE_PID="" ORIGIN_PID=""
    if [[ -z $PASSED ]]; then
        if [[ -s $LOG ]]; then
            echo "----- netreaktor log (last 40 lines) -----" >&2
            tail -n 40 "$LOG" >&2 || true
        fi
        echo "demo: the capture and logs are kept in $WORK" >&2
    else
        rm -rf "$WORK"
    fi
}

fail() {
    echo >&2
    echo "  VERDICT: FAIL: $*" >&2
    exit 1
}

# Field $1 of the JSON object in file $2 ("" when absent or null).
jget() {
    python3 -c 'import json, sys
v = json.load(open(sys.argv[2])).get(sys.argv[1])
print("" if v is None else v)' "$1" "$2"
}

mb() { awk -v b="$1" 'BEGIN { printf "%.1f MB", b / 1e6 }'; }

# shellcheck source=SCRIPTDIR/lib/appliance-testbed.sh
source tests/scripts/lib/appliance-testbed.sh
# shellcheck source=SCRIPTDIR/lib/capture.sh
source tests/scripts/lib/capture.sh
appliance_testbed_trap cleanup
# shellcheck disable=SC2119 # no "forward": only NetReaktor carries traffic
appliance_testbed_up
for radio in wifi cell; do
    rate=$WIFI_RATE
    [[ $radio == cell ]] && rate=$CELL_RATE
    at_router tc qdisc replace dev "r-$radio" root tbf rate "$rate" burst 32kb latency 100ms
done

cat <<INTRO

Part 1: a phone downloads through NetReaktor over Multipath TCP, and loses Wi-Fi

  phone ── wifi0 $AT_WIFI_ADDR ── Wi-Fi ${WIFI_RATE/mbit/ Mbit/s} ──┐
                                              router ── $AT_SERVICE_ADDR:80 NetReaktor ── origin $AT_ORIGIN_ADDR:$AT_ORIGIN_PORT
  phone ── cell0 $AT_CELL_ADDR ── cell  ${CELL_RATE/mbit/ Mbit/s} ──┘            (AF_XDP, MPTCP v1)   (plain TCP)

  The phone is the Linux kernel's own MPTCP client: it opens the connection on Wi-Fi and
  joins a second subflow from cellular. It downloads $(mb "$DEMO_BYTES"); at ${DEMO_CUT_AT} s the
  router starts dropping everything on Wi-Fi, without telling anyone.

INTRO

# The origin: the seeded byte stream, over plain TCP (NetReaktor terminates MPTCP).
ip netns exec "$AT_ORIGIN" python3 "$TRANSFER" serve --tcp --listen "$AT_ORIGIN_ADDR:$AT_ORIGIN_PORT" \
    --bytes "$DEMO_BYTES" --seed "$SEED" >/dev/null 2>&1 &
ORIGIN_PID=$!
at_wait_listen "$AT_ORIGIN" "$AT_ORIGIN_PORT" || fail "the origin server did not start"

# `ip netns exec` directly: $! is netreaktor's own PID, for the SIGTERM below.
ip netns exec "$AT_APPLIANCE" "$NETREAKTOR" run -c "$CONFIG" 2>>"$LOG" >>"$LOG" &
APPLIANCE_PID=$!
t0=$(date +%s%N)
for _ in $(seq 200); do
    kill -0 "$APPLIANCE_PID" 2>/dev/null || fail "netreaktor exited during start-up"
    grep -q 'netreaktor: ready' "$LOG" && break
    sleep 0.1
done
grep -q 'netreaktor: ready' "$LOG" || fail "netreaktor not ready after 20 s"
echo "== netreaktor run -c $CONFIG: ready in $((($(date +%s%N) - t0) / 1000000)) ms"

# The capture at the router's appliance-facing link, for the finale: whole frames (inspect
# reads no truncated ones); the radios' rate limits keep it to DEMO_BYTES and some.
tcpdump_start "$AT_ROUTER" "$WORK/demo.pcap" -i r-srv -s 0 tcp port 80 || fail "$TCPDUMP_ERROR"
CAPTURE_PID=$TCPDUMP_PID
echo

# The download, shown live by demo_live.py in the router namespace (it also makes the cut).
CUT_CMD=(bash -c 'source tests/scripts/lib/radio-cut.sh && radio_cut env wifi')
at_client timeout 60 python3 "$TRANSFER" fetch --connect "$AT_SERVICE_ADDR:80" \
    --bytes "$DEMO_BYTES" --seed "$SEED" --progress 0.25 2>&1 |
    at_router python3 tests/scripts/demo_live.py --cut-at "$DEMO_CUT_AT" \
        --summary "$WORK/summary.json" --cut-cmd "${CUT_CMD[@]}" ||
    true
S=$WORK/summary.json
[[ -s $S ]] || fail "the live view wrote no summary"

integrity=$(jget integrity "$S")
bytes=$(jget bytes "$S")
cut_done=""
[[ -n $(jget cut "$S") ]] && cut_done=1

# Let the connection's last segments pass, then stop the capture.
sleep 0.3
tcpdump_stop "$CAPTURE_PID" "$WORK/demo.pcap"
CAPTURE_PID=""
at_restore wifi

# NetReaktor's view. Its per-connection MPTCP counters are added when a connection ends.
echo
echo "== NetReaktor's own counters ($METRICS_URL, in the appliance namespace)"
metric() { at_metric_sum "$1" "$WORK/metrics" "${2:-}"; }
ended=""
for _ in $(seq 50); do
    at_appliance curl -sf --max-time 5 "$METRICS_URL" >"$WORK/metrics" ||
        fail "GET $METRICS_URL in the appliance namespace"
    if (($(metric netreaktor_splices_ended_total) > 0)); then
        ended=1
        break
    fi
    sleep 0.1
done
row() { printf '  %-44s %14s\n' "$1" "$(metric "$2" "${3:-}")"; }
row "MPTCP connections established" netreaktor_mptcp_connections_total
row "subflows joined (MP_JOIN, HMAC verified)" netreaktor_mptcp_joins_accepted_total
row "joins refused" netreaktor_mptcp_joins_refused_total
row "subflows found stalled (potentially failed)" netreaktor_mptcp_potentially_failed_total
row "bytes resent on another subflow" netreaktor_mptcp_reinjected_bytes_total
# The handover histogram: how many, and the mean stall (its _sum is in seconds).
handovers=$(metric netreaktor_mptcp_handover_stall_seconds_count)
stall_ms=$(awk -v s="$(metric netreaktor_mptcp_handover_stall_seconds_sum)" 'BEGIN { printf "%.1f", s * 1000 }')
mean="-"
((handovers > 0)) && mean=$(awk -v s="$stall_ms" -v n="$handovers" 'BEGIN { printf "%.1f ms", s / n }')
printf '  %-44s %14s\n' "handovers (mean stall, NetReaktor's measure)" "$handovers ($mean)"
row "fallbacks to plain TCP" netreaktor_mptcp_fallbacks_total
row "bytes origin -> phone" netreaktor_bytes_to_client_total
row "bytes phone -> origin" netreaktor_bytes_to_origin_total
[[ -n $ended ]] || echo "  (the connection had not ended 5 s after the download: the subflow counters" \
    "above are added when it does)"

echo
echo "== Stop: SIGTERM"
kill -TERM "$APPLIANCE_PID"
for _ in $(seq 100); do
    kill -0 "$APPLIANCE_PID" 2>/dev/null || break
    sleep 0.1
done
kill -0 "$APPLIANCE_PID" 2>/dev/null && fail "netreaktor still running 10 s after SIGTERM"
rc=0
wait "$APPLIANCE_PID" || rc=$?
APPLIANCE_PID=""
((rc == 0)) || fail "netreaktor exited with status $rc after SIGTERM"
! grep -q panicked "$LOG" || fail "netreaktor panicked"
echo "  netreaktor exited with status 0"

[[ $integrity == ok ]] || fail "the MPTCP download: received $bytes of $DEMO_BYTES bytes, integrity $integrity"
(($(metric netreaktor_mptcp_connections_total) >= 1)) ||
    fail "NetReaktor counted no MPTCP connection (the client fell back to plain TCP?)"
(($(metric netreaktor_mptcp_joins_accepted_total) >= 1)) ||
    fail "NetReaktor accepted no MP_JOIN: the cellular subflow never joined"
if [[ -n $cut_done ]] && (($(jget cell_after_cut "$S") == 0)); then
    fail "after the Wi-Fi cut nothing came over cellular"
fi
kill "$ORIGIN_PID" 2>/dev/null || true
wait "$ORIGIN_PID" 2>/dev/null || true
ORIGIN_PID=""
appliance_testbed_down
echo
echo "  Part 1: PASS: $(mb "$DEMO_BYTES") over MPTCP through NetReaktor byte-exact${cut_done:+, across the Wi-Fi cut}"

# Part 2: plain TCP through NetReaktor's data path (its own testbed).
BIN=$NETREAKTOR tests/scripts/appliance-demo.sh || fail "part 2 (appliance-demo.sh)"

# Finale: NetReaktor decodes what crossed the router in part 1.
echo
echo "Finale: \`netreaktor inspect\` of the capture at the router during part 1" \
    "($(tcpdump -r "$WORK/demo.pcap" 2>/dev/null | wc -l) frames)"
echo
"$NETREAKTOR" inspect "$WORK/demo.pcap" || fail "netreaktor inspect of the capture"
PASSED=1
echo
echo "  VERDICT: PASS: MPTCP through NetReaktor survived losing Wi-Fi byte-exact," \
    "plain TCP too, and its capture decodes with every key and HMAC checked ($SECONDS s)"
