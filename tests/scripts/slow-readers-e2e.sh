#!/usr/bin/env bash
# Slow readers under a buffer budget (issue 17, "slow readers" and "memory that is budgeted";
# docs/operations.md, "Memory model"), end to end on the appliance testbed
# (tests/scripts/lib/appliance-testbed.sh, no kernel forwarding):
#   the origin (tests/scripts/e2e_traffic.py origin) pushes a 1 GiB download to every
#   connection; 200 clients (tests/scripts/slow_readers.py, SO_RCVBUF 4 KiB) ask for one each
#   and never read. Once the appliance's buffered bytes stop growing, checked:
#   - netreaktor_buffer_bytes (summed over the workers) <= the budget plus the slack below;
#   - netreaktor_memory_pressure_entries_total >= 1: the workers entered pressure;
#   - process_resident_memory_bytes <= RSS at start + budget + slack + 64 MiB of overhead;
#   - meanwhile 20 other clients download up to 4 MB each, byte-exact (SHA-256,
#     e2e_traffic.py many);
#   - after the slow readers close, netreaktor_buffer_bytes returns to 0.
#   RSS after the close is printed and checked only against the same generous bound: whether
#   the allocator (glibc) gives freed memory back to the system is a finding, not a property of
#   NetReaktor this test checks.
#
# The budget: limits.buffer_memory of configs/demo.yaml set to E2E_SLOW_BUDGET (16MiB; two
# workers, so 8 MiB each, pressure at 6 MiB). Issue 17 names 512 MiB for its scenario, but a
# reader that never reads costs NetReaktor only what it had advertised or accepted (about the
# origin connection's initial 64 KiB receive window plus a small send buffer, operations.md
# "Memory model"), so 200 of them hold about 16 MiB: a 512 MiB (or 64 MiB) budget would never
# see pressure, and the test would check nothing about it.
#
# The slack: the budget is soft (operations.md, "At the budget"): what connections held or had
# advertised when pressure began still arrives. Each connection had advertised at most the
# initial receive space (64 KiB) to the origin, and taken into its send buffer at most the send
# limit: twice the client's first window, at least 16 KiB (the kernel doubles the 4 KiB
# SO_RCVBUF, so that window is at most 8 KiB and the limit 16 KiB; 32 KiB allowed here). The
# slack is 200 x 96 KiB. The 20 downloads add their own buffers to the peak, within it.
#
# Sizes and counts only, no timing: the waits are bounded polls.
#
#   tests/scripts/slow-readers-e2e.sh        # as root; E2E_BIN (target/release/netreaktor)
set -euo pipefail
cd "$(dirname "$0")/../.."

BIN=${E2E_BIN:-target/release/netreaktor}
TRAFFIC=tests/scripts/e2e_traffic.py
SLOW=tests/scripts/slow_readers.py
METRICS_URL=http://127.0.0.1:9100/metrics
BUDGET=${E2E_SLOW_BUDGET:-16MiB}
READERS=${E2E_SLOW_READERS:-200}
DOWNLOADS=20
APPLIANCE=netreaktor
KIB=1024
MIB=$((1024 * 1024))

say() { echo "slow-readers-e2e: $*"; }
fail() {
    echo "slow-readers-e2e: FAIL: $*" >&2
    echo "----- appliance log ($LOG) -----" >&2
    tail -n 60 "$LOG" >&2 2>/dev/null || true
    exit 1
}

if [[ $(id -u) -ne 0 ]]; then
    echo "slow-readers-e2e: SKIPPED, needs root (network namespaces)" >&2
    exit 0
fi
[[ -x $BIN ]] || fail "no netreaktor binary at $BIN (set E2E_BIN)"
[[ $BUDGET =~ ^([0-9]+)MiB$ ]] || fail "E2E_SLOW_BUDGET must be N MiB, not $BUDGET"
BUDGET_BYTES=$((BASH_REMATCH[1] * MIB))
SLACK_BYTES=$((READERS * 96 * KIB))
OVERHEAD_BYTES=$((64 * MIB))

WORK=$(mktemp -d /tmp/slow-readers-e2e.XXXXXX)
LOG=$WORK/appliance.log
: >"$LOG"
APPLIANCE_PID=""
ORIGIN_PID=""
SLOW_PID=""
PASSED=""

cleanup() {
    local pid
    for pid in $SLOW_PID $APPLIANCE_PID $ORIGIN_PID; do
        kill "$pid" 2>/dev/null || true
    done
    SLOW_PID=""
    APPLIANCE_PID=""
    ORIGIN_PID=""
    [[ -z $PASSED ]] || rm -rf "$WORK"
}

# shellcheck source=lib/appliance-testbed.sh
source tests/scripts/lib/appliance-testbed.sh
appliance_testbed_trap cleanup
# shellcheck disable=SC2119 # no "forward": only the appliance carries traffic
appliance_testbed_up
say "namespaces ${AT_PREFIX}-{client,router,appliance,origin}"

# /metrics into $WORK/metrics, then metric $1 summed over the series with labels $2.
metric() {
    at_appliance curl -sf --max-time 5 "$METRICS_URL" >"$WORK/metrics" || fail "no /metrics"
    at_metric_sum "$1" "$WORK/metrics" "${2:-}"
}

ip netns exec "$AT_ORIGIN" python3 "$TRAFFIC" origin --listen "$AT_ORIGIN_ADDR:$AT_ORIGIN_PORT" \
    >"$WORK/origin.log" 2>&1 &
ORIGIN_PID=$!
at_wait_listen "$AT_ORIGIN" "$AT_ORIGIN_PORT"
sed "s/^  time_wait: .*/&\nlimits:\n  buffer_memory: $BUDGET/" configs/demo.yaml >"$WORK/demo.yaml"
grep -q "buffer_memory: $BUDGET" "$WORK/demo.yaml" || fail "could not set limits.buffer_memory"
"$BIN" check -c "$WORK/demo.yaml" >>"$LOG" 2>&1 || fail "netreaktor check -c $WORK/demo.yaml"
at_appliance_start "$WORK/demo.yaml" || fail "$AT_ERROR"
say "netreaktor ready, limits.buffer_memory $BUDGET"

budget_metric=$(metric netreaktor_buffer_budget_bytes)
((budget_metric == BUDGET_BYTES)) ||
    fail "netreaktor_buffer_budget_bytes sums to $budget_metric, the config says $BUDGET_BYTES"
rss_start=$(metric process_resident_memory_bytes)
entries_start=$(metric netreaktor_memory_pressure_entries_total)

at_client python3 "$SLOW" --connect "$AT_SERVICE_ADDR:80" --count "$READERS" --rcvbuf 4096 \
    --ready "$WORK/slow-ready" --stop "$WORK/slow-stop" >"$WORK/slow.json" 2>&1 &
SLOW_PID=$!
for _ in $(seq 300); do
    [[ -e $WORK/slow-ready ]] && break
    kill -0 "$SLOW_PID" 2>/dev/null || break
    sleep 0.1
done
[[ -e $WORK/slow-ready ]] || fail "slow_readers.py did not open $READERS connections: $(cat "$WORK/slow.json")"

# Until the buffered bytes stop growing: five polls in a row (0.5 s apart) without a new
# peak, at most 60 polls.
peak=0
rss_peak=$rss_start
still=0
for _ in $(seq 60); do
    sleep 0.5
    now=$(metric netreaktor_buffer_bytes)
    rss=$(at_metric_sum process_resident_memory_bytes "$WORK/metrics")
    ((rss > rss_peak)) && rss_peak=$rss
    if ((now > peak)); then
        peak=$now
        still=0
    else
        still=$((still + 1))
        ((still >= 5)) && break
    fi
done
entries=$(($(metric netreaktor_memory_pressure_entries_total) - entries_start))
in_pressure=$(at_metric_sum netreaktor_memory_pressure "$WORK/metrics")
say "$READERS slow readers: buffer bytes peak $peak (budget $BUDGET_BYTES), pressure entries $entries, workers in pressure $in_pressure, RSS $rss_start -> $rss_peak"

# The other clients, while the slow readers hold their connections.
at_client python3 "$TRAFFIC" many --connect "$AT_SERVICE_ADDR:80" --count "$DOWNLOADS" \
    --max-bytes 4000000 --seed 171 --timeout 60 >"$WORK/many.json" 2>&1 ||
    fail "the $DOWNLOADS downloads beside the slow readers: $(cat "$WORK/many.json")"
say "$DOWNLOADS downloads beside them, byte-exact: $(cat "$WORK/many.json")"
now=$(metric netreaktor_buffer_bytes)
((now > peak)) && peak=$now
rss=$(at_metric_sum process_resident_memory_bytes "$WORK/metrics")
((rss > rss_peak)) && rss_peak=$rss

((peak <= BUDGET_BYTES + SLACK_BYTES)) ||
    fail "netreaktor_buffer_bytes reached $peak, above the budget $BUDGET_BYTES + slack $SLACK_BYTES"
((entries >= 1)) || fail "no worker entered pressure (netreaktor_memory_pressure_entries_total +$entries, buffer bytes peak $peak)"
rss_bound=$((rss_start + BUDGET_BYTES + SLACK_BYTES + OVERHEAD_BYTES))
((rss_peak <= rss_bound)) || fail "RSS reached $rss_peak, above $rss_bound (start $rss_start + budget + slack + 64 MiB)"

# Close the slow readers: the buffers must all be freed.
touch "$WORK/slow-stop"
wait "$SLOW_PID" || fail "slow_readers.py: $(cat "$WORK/slow.json")"
SLOW_PID=""
left=$peak
for _ in $(seq 100); do
    left=$(metric netreaktor_buffer_bytes)
    ((left == 0)) && break
    sleep 0.2
done
((left == 0)) || fail "netreaktor_buffer_bytes is $left 20 s after the slow readers closed, not 0"
rss_after=$(at_metric_sum process_resident_memory_bytes "$WORK/metrics")
((rss_after <= rss_bound)) || fail "RSS after the close is $rss_after, above $rss_bound"

at_appliance_stop || fail "$AT_ERROR"
PASSED=1
say "PASS: $READERS slow readers under limits.buffer_memory $BUDGET ($BUDGET_BYTES bytes): buffer bytes peak $peak (<= budget + slack $SLACK_BYTES), pressure entries $entries, 0 after they closed; RSS start $rss_start, peak $rss_peak (bound $rss_bound), after $rss_after (not returned to the system is the allocator's choice); $DOWNLOADS downloads byte-exact beside them"
