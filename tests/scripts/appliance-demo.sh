#!/usr/bin/env bash
# Part 2 of the demo: NetReaktor's own AF_XDP data path carrying real traffic.
#
# Builds the appliance testbed (lib/appliance-testbed.sh, no kernel forwarding: only
# NetReaktor can carry traffic), starts a real origin (e2e_traffic.py origin) and
# `netreaktor run -c configs/demo.yaml` in the appliance namespace, then from the client:
# a download and an upload of DEMO2_BYTES each through the service address 10.9.0.2:80
# (SHA-256 checked on both ends), and 50 concurrent connections of random sizes, all checked.
# Shows the appliance's own counters, stops it with SIGTERM (exit status 0, no XDP program
# left on srv0) and tears everything down.
#
#   sudo tests/scripts/appliance-demo.sh     # run by tests/scripts/demo.sh as part 2
#
# Environment: BIN (default target/release/netreaktor), DEMO2_BYTES (default 200000000),
# DEMO2_MANY (concurrent connections, 50), DEMO2_MANY_MAX_BYTES (each way, 2000000).
set -euo pipefail
cd "$(dirname "$0")/../.."

BIN=${BIN:-target/release/netreaktor}
DEMO2_BYTES=${DEMO2_BYTES:-200000000}
DEMO2_MANY=${DEMO2_MANY:-50}
DEMO2_MANY_MAX_BYTES=${DEMO2_MANY_MAX_BYTES:-2000000}
CONFIG=configs/demo.yaml
TRAFFIC=tests/scripts/e2e_traffic.py
METRICS_URL=http://127.0.0.1:9100/metrics

if [[ $(id -u) -ne 0 ]]; then
    echo "appliance-demo: needs root (network namespaces, XDP): sudo $0" >&2
    exit 1
fi
[[ -x $BIN ]] || {
    echo "appliance-demo: no netreaktor binary at $BIN (set BIN)" >&2
    exit 1
}

WORK=$(mktemp -d /tmp/appliance-demo.XXXXXX)
LOG=$WORK/netreaktor.log
APPLIANCE_PID=""
ORIGIN_PID=""
PASSED=""
T0=$(date +%s.%N)

# Runs first on exit and on failure (then the lib removes the namespaces); safe to run twice.
cleanup() {
    local pid
    for pid in $APPLIANCE_PID $ORIGIN_PID; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    APPLIANCE_PID=""
    ORIGIN_PID=""
    if [[ -z $PASSED && -s $LOG ]]; then
        echo "----- netreaktor log (last 40 lines) -----" >&2
        tail -n 40 "$LOG" >&2 || true
    fi
    rm -rf "$WORK"
}

fail() {
    echo "  VERDICT: FAIL: $*" >&2
    exit 1
}

# Seconds since $1 (a `date +%s.%N`), one decimal.
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

# A field of the JSON object on stdin: $1 the key.
json() { python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

# shellcheck source=SCRIPTDIR/lib/appliance-testbed.sh
source tests/scripts/lib/appliance-testbed.sh
appliance_testbed_trap cleanup
# shellcheck disable=SC2119 # no "forward": only the appliance carries traffic
appliance_testbed_up
SERVICE="$AT_SERVICE_ADDR:80"

cat <<INTRO

Part 2: NetReaktor's own data path (AF_XDP, plain TCP) carrying real traffic

  client ── router ── srv0 $AT_SERVICE_ADDR:80 ┐  NetReaktor  ┌ org0 ── origin $AT_ORIGIN_ADDR:$AT_ORIGIN_PORT
                                          (AF_XDP, 2 queues, 2 workers)
  The appliance's kernel forwards nothing: every byte goes through NetReaktor's workers.

INTRO

ip netns exec "$AT_ORIGIN" python3 "$TRAFFIC" origin --listen "$AT_ORIGIN_ADDR:$AT_ORIGIN_PORT" \
    >"$WORK/origin.log" 2>&1 &
ORIGIN_PID=$!
at_wait_listen "$AT_ORIGIN" "$AT_ORIGIN_PORT"

# `ip netns exec` directly (not at_appliance, a shell function): $! is netreaktor's own PID,
# so the SIGTERM below reaches it.
ip netns exec "$AT_APPLIANCE" "$BIN" run -c "$CONFIG" 2>"$LOG" &
APPLIANCE_PID=$!
t=$(date +%s.%N)
ready=""
for _ in $(seq 200); do
    kill -0 "$APPLIANCE_PID" 2>/dev/null || fail "netreaktor exited during start-up"
    if grep -q 'netreaktor: ready' "$LOG"; then
        ready=1
        break
    fi
    sleep 0.1
done
[[ -n $ready ]] || fail "netreaktor not ready after 20 s"
echo "== netreaktor run -c $CONFIG: ready in $(since "$t") s; it logged:"
sed -n '1,/netreaktor: ready/p' "$LOG" | sed 's/^/   | /'
echo

traffic() { ip netns exec "$AT_CLIENT" python3 "$TRAFFIC" "$@" --connect "$SERVICE"; }

# One big transfer: $1 label, $2 up bytes, $3 down bytes, $4 seed; prints a line.
big() {
    local label=$1 up=$2 down=$3 seed=$4 out secs mbit
    out=$(traffic client --up "$up" --down "$down" --seed "$seed" --timeout 120) ||
        fail "$label: $out"
    secs=$(json duration_s <<<"$out")
    mbit=$(awk -v b="$((up + down))" -v s="$secs" 'BEGIN { printf "%.0f", b * 8 / s / 1e6 }')
    printf '  %-9s %6.1f MB in %6.2f s  %6s Mbit/s  SHA-256 matches on both ends\n' \
        "$label" "$(awk -v b="$((up + down))" 'BEGIN { print b / 1e6 }')" "$secs" "$mbit"
}

echo "== Through $SERVICE, every byte checked (SHA-256 at the client and at the origin)"
big download 0 "$DEMO2_BYTES" 11
big upload "$DEMO2_BYTES" 0 12
out=$(traffic many --count "$DEMO2_MANY" --max-bytes "$DEMO2_MANY_MAX_BYTES" --seed 21 --timeout 60) ||
    fail "concurrent connections: $out"
printf '  %-9s %d concurrent connections, %.1f MB up + %.1f MB down in %.2f s, %d failed\n' \
    many "$(json count <<<"$out")" "$(awk -v b="$(json up_bytes <<<"$out")" 'BEGIN { print b / 1e6 }')" \
    "$(awk -v b="$(json down_bytes <<<"$out")" 'BEGIN { print b / 1e6 }')" \
    "$(json duration_s <<<"$out")" "$(json failed <<<"$out")"
echo

ip netns exec "$AT_APPLIANCE" curl -sf --max-time 5 "$METRICS_URL" >"$WORK/metrics" ||
    fail "GET $METRICS_URL in the appliance namespace"
# Sum of the samples of metric $1 whose labels match the regex $2 (default any).
metric() {
    awk -v name="$1" -v want="${2:-}" '
        { split($1, parts, "{") }
        parts[1] == name && $1 ~ want { sum += $NF }
        END { printf "%d\n", sum }' "$WORK/metrics"
}
# The label values of label $2 of metric $1, one per line.
label_values() {
    grep -o "^$1{[^}]*" "$WORK/metrics" | grep -o "$2=\"[^\"]*\"" | cut -d'"' -f2 | sort -u
}
echo "== NetReaktor's own counters ($METRICS_URL)"
printf '  %-34s %14s %14s\n' "" "worker 0" "worker 1"
row() {
    local label=$1 name=$2 want=${3:-}
    printf '  %-34s %14s %14s\n' "$label" "$(metric "$name" "worker=\"0\".*$want")" \
        "$(metric "$name" "worker=\"1\".*$want")"
}
row "frames received" netreaktor_frames_received_total
row "frames sent" netreaktor_frames_sent_total
row "frames handed off to other worker" netreaktor_frames_handed_off_total
row "connections accepted" netreaktor_connections_accepted_total
row "bytes client -> origin" netreaktor_bytes_to_origin_total
row "bytes origin -> client" netreaktor_bytes_to_client_total
for end in $(label_values netreaktor_splices_ended_total end); do
    row "splices ended: $end" netreaktor_splices_ended_total "end=\"$end\""
done
for reason in $(label_values netreaktor_frames_dropped_total reason); do
    row "frames dropped: $reason" netreaktor_frames_dropped_total "reason=\"$reason\""
done
row "unmatched segments (RST)" netreaktor_unmatched_segments_total
echo

# What Prometheus sends in Accept when it scrapes: it gets OpenMetrics.
PROMETHEUS_ACCEPT='application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1'
echo "== /metrics as scrapers read it (docs/operations.md, Metrics)"
ip netns exec "$AT_APPLIANCE" curl -sf --max-time 5 -D "$WORK/openmetrics.headers" \
    -H "Accept: $PROMETHEUS_ACCEPT" "$METRICS_URL" >"$WORK/metrics.openmetrics" ||
    fail "GET $METRICS_URL as Prometheus asks for it"
grep -qi '^content-type: application/openmetrics-text; version=1.0.0; charset=utf-8' \
    "$WORK/openmetrics.headers" || fail "OpenMetrics asked for, not served: $(cat "$WORK/openmetrics.headers")"
[[ $(tail -n 1 "$WORK/metrics.openmetrics") == "# EOF" ]] || fail "the OpenMetrics text has no # EOF"
text_samples=$(grep -vc '^#' "$WORK/metrics")
openmetrics_samples=$(grep -vc '^#' "$WORK/metrics.openmetrics")
((text_samples == openmetrics_samples)) ||
    fail "$text_samples samples in the Prometheus text, $openmetrics_samples in OpenMetrics"
if command -v promtool >/dev/null; then
    promtool check metrics <"$WORK/metrics" || fail "promtool check metrics (Prometheus text)"
    # Prometheus' own OpenMetrics parser (the backfill's, which wants a timestamp per sample).
    awk -v t="$(date +%s)" '/^#/ { print; next } { print $0 " " t }' "$WORK/metrics.openmetrics" \
        >"$WORK/metrics.openmetrics.stamped"
    promtool tsdb create-blocks-from openmetrics "$WORK/metrics.openmetrics.stamped" \
        "$WORK/blocks" >/dev/null || fail "Prometheus' OpenMetrics parser refused the text"
    echo "  Prometheus text: promtool check metrics passes; OpenMetrics: Prometheus' parser reads it"
else
    echo "  (no promtool here: the two texts were not linted)"
fi
echo "  $text_samples samples in each format"
echo

echo "== Stop: SIGTERM"
kill -TERM "$APPLIANCE_PID"
for _ in $(seq 100); do
    kill -0 "$APPLIANCE_PID" 2>/dev/null || break
    sleep 0.1
done
if kill -0 "$APPLIANCE_PID" 2>/dev/null; then
    fail "netreaktor still running 10 s after SIGTERM"
fi
rc=0
wait "$APPLIANCE_PID" || rc=$?
APPLIANCE_PID=""
((rc == 0)) || fail "netreaktor exited with status $rc after SIGTERM"
! grep -q panicked "$LOG" || fail "netreaktor panicked"
if ip -n "$AT_APPLIANCE" link show dev "$AT_CLIENT_IF" | grep -q xdp; then
    fail "an XDP program remains on $AT_CLIENT_IF"
fi
echo "  netreaktor exited with status 0; no XDP program left on $AT_CLIENT_IF"
PASSED=1
echo
echo "  VERDICT: PASS: NetReaktor's data path carried $((2 * DEMO2_BYTES / 1000000)) MB and $DEMO2_MANY concurrent connections byte-exact, and stopped cleanly ($(since "$T0") s)"
