#!/usr/bin/env bash
# Active origin health checks end to end (docs/operations.md, "Origin health") on the
# appliance testbed (tests/scripts/lib/appliance-testbed.sh, no kernel forwarding). NetReaktor
# runs configs/demo.yaml with two origins, 10.10.0.2:8080 and 10.10.0.2:8083 (real servers,
# tests/scripts/e2e_traffic.py origin), and forward.health {failures: 2, backoff: 1m,
# check: {interval: 500ms, timeout: 300ms}}. Checked, on states and counters only:
#   a. both origins are up and every worker counts successful checks of each;
#   b. the second origin's server is stopped with NO client traffic: every worker ejects it
#      (netreaktor_origin_up 0, refused checks counted, an "origin ejected" log line) while its
#      client connect attempts stay 0: the checks alone found it down;
#   c. 40 connections then all pass byte-exact, every one on the first origin: the ejected
#      origin gets no connect attempt (so no client waits for it or is retried off it), and
#      /readyz stays 200;
#   d. its server is started again: every worker restores it (netreaktor_origin_up 1, successful
#      checks counted, an "origin restored" log line) with still no client attempt to it: no
#      client is sent as a trial;
#   e. 40 more connections all pass, and the origin takes its share of them again;
#   f. /status lists both origins up, and netreaktor stops with status 0.
# Waits are bounded polls of /metrics (at most E2E_HEALTH_WAIT seconds, default 30), never
# assertions on how long something took.
#
#   tests/scripts/health-check-e2e.sh        # as root; E2E_BIN (target/release/netreaktor)
set -euo pipefail
cd "$(dirname "$0")/../.."

BIN=${E2E_BIN:-target/release/netreaktor}
TRAFFIC=tests/scripts/e2e_traffic.py
METRICS_URL=http://127.0.0.1:9100/metrics
WAIT=${E2E_HEALTH_WAIT:-30}
APPLIANCE=netreaktor
SECOND_PORT=8083

say() { echo "health-check-e2e: $*"; }
fail() {
    echo "health-check-e2e: FAIL: $*" >&2
    echo "----- appliance log ($LOG) -----" >&2
    tail -n 60 "$LOG" >&2 2>/dev/null || true
    exit 1
}

if [[ $(id -u) -ne 0 ]]; then
    echo "health-check-e2e: SKIPPED, needs root (network namespaces)" >&2
    exit 0
fi
[[ -x $BIN ]] || fail "no netreaktor binary at $BIN (set E2E_BIN)"

WORK=$(mktemp -d /tmp/health-check-e2e.XXXXXX)
LOG=$WORK/appliance.log
: >"$LOG"
APPLIANCE_PID=""
ORIGIN_PID=""
SECOND_PID=""
PASSED=""

cleanup() {
    local pid
    for pid in $APPLIANCE_PID $ORIGIN_PID $SECOND_PID; do
        kill "$pid" 2>/dev/null || true
    done
    APPLIANCE_PID=""
    ORIGIN_PID=""
    SECOND_PID=""
    [[ -z $PASSED ]] || rm -rf "$WORK"
}

# shellcheck source=lib/appliance-testbed.sh
source tests/scripts/lib/appliance-testbed.sh
appliance_testbed_trap cleanup
# shellcheck disable=SC2119 # no "forward": only the appliance carries traffic
appliance_testbed_up
say "namespaces ${AT_PREFIX}-{client,router,appliance,origin}"

FIRST="$AT_ORIGIN_ADDR:$AT_ORIGIN_PORT"
SECOND="$AT_ORIGIN_ADDR:$SECOND_PORT"

metrics() { at_appliance curl -sf --max-time 5 "$METRICS_URL" >"$WORK/metrics.txt"; }

# Metric $1 of origin $2 on worker $3 (all workers if empty), with more labels $4.
of() {
    local worker=""
    [[ -z $3 ]] || worker="worker=\"$3\","
    at_metric_sum "netreaktor_$1" "$WORK/metrics.txt" "$worker""pipeline=\"demo-http\",origin=\"$2\"${4:-}"
}

# Polls /metrics until `$@` succeeds, at most $WAIT s; returns 1 if it never does.
wait_for() {
    local i
    for i in $(seq $((WAIT * 10))); do
        metrics || return 1
        "$@" && return 0
        sleep 0.1
    done
    return 1
}

# Whether origin $1 has netreaktor_origin_up $2 on both workers.
up_on_all() { (($(of origin_up "$1" 0) == $2 && $(of origin_up "$1" 1) == $2)); }

# Whether every worker counted at least $3 checks of origin $1 with result $2.
checks_on_all() {
    local w
    for w in 0 1; do
        (($(of origin_health_checks_total "$1" "$w" ",result=\"$2\"") >= $3)) || return 1
    done
}

start_origin() {
    ip netns exec "$AT_ORIGIN" python3 "$TRAFFIC" origin --listen "$1" >>"$WORK/origin-$2.log" 2>&1 &
}

traffic() {
    at_client python3 "$TRAFFIC" many --connect "$AT_SERVICE_ADDR:80" --count 40 \
        --max-bytes 20000 --seed "$1" >"$WORK/many.json" 2>&1 || fail "$2: $(cat "$WORK/many.json")"
}

start_origin "$FIRST" first
ORIGIN_PID=$!
start_origin "$SECOND" second
SECOND_PID=$!
at_wait_listen "$AT_ORIGIN" "$AT_ORIGIN_PORT"
at_wait_listen "$AT_ORIGIN" "$SECOND_PORT"

sed -e "s/\"10\.10\.0\.2:8080\"/\"$FIRST\", \"$SECOND\"/" configs/demo.yaml >"$WORK/health.yaml"
sed -i -e '/^      origins:/a\      health: {failures: 2, backoff: 1m, max_backoff: 5m, check: {interval: 500ms, timeout: 300ms}}' \
    "$WORK/health.yaml"
"$BIN" check -c "$WORK/health.yaml" >>"$LOG" 2>&1 || fail "netreaktor check -c $WORK/health.yaml: $(tail -n 3 "$LOG")"
at_appliance_start "$WORK/health.yaml" || fail "$AT_ERROR"
say "netreaktor ready"

# a. Both origins up, checked successfully by every worker.
wait_for checks_on_all "$FIRST" success 2 || fail "a: no 2 successful checks of $FIRST on each worker"
wait_for checks_on_all "$SECOND" success 2 || fail "a: no 2 successful checks of $SECOND on each worker"
up_on_all "$FIRST" 1 && up_on_all "$SECOND" 1 || fail "a: an origin is not up: $(grep origin_up "$WORK/metrics.txt")"
say "PASS a: both origins up, checked: $(of origin_health_checks_total "$SECOND" "" ',result="success"') successful checks of $SECOND so far"

# b. The second origin's server stops; no client traffic: the checks eject it.
kill "$SECOND_PID"
wait "$SECOND_PID" 2>/dev/null || true
SECOND_PID=""
wait_for up_on_all "$SECOND" 0 || fail "b: $SECOND not ejected by every worker: $(grep "origin_up" "$WORK/metrics.txt")"
refused=$(of origin_health_checks_total "$SECOND" "" ',result="refused"')
attempts=$(of origin_connect_attempts_total "$SECOND" "")
checks_on_all "$SECOND" refused 2 || fail "b: ejected without 2 refused checks on each worker ($refused)"
((attempts == 0)) || fail "b: $attempts client connect attempts to $SECOND before any client traffic"
grep -q "origin ejected .*pipeline=\"demo-http\" origin=$SECOND" "$LOG" || fail "b: no 'origin ejected' line for $SECOND"
say "PASS b: $SECOND stopped with no client traffic: ejected by every worker on checks alone ($refused refused checks, 0 client attempts)"

# c. Traffic goes to the first origin only; no client waits for the second.
before=$(of origin_connections_established_total "$FIRST" "")
traffic 51 "c: 40 connections with $SECOND ejected"
metrics || fail "GET $METRICS_URL"
attempts=$(of origin_connect_attempts_total "$SECOND" "")
to_first=$(($(of origin_connections_established_total "$FIRST" "") - before))
((attempts == 0)) || fail "c: $attempts client connect attempts went to the ejected $SECOND"
((to_first == 40)) || fail "c: $to_first of 40 connections reached $FIRST"
ready=$(at_appliance curl -s --max-time 5 -o /dev/null -w '%{http_code}' "${METRICS_URL%/metrics}/readyz") || true
[[ $ready == 200 ]] || fail "c: /readyz $ready with $FIRST up"
say "PASS c: 40 connections byte-exact, all 40 on $FIRST, 0 attempts to $SECOND, /readyz 200 $(cat "$WORK/many.json")"

# d. The second origin's server is back: the checks restore it, no client is its trial.
start_origin "$SECOND" second
SECOND_PID=$!
at_wait_listen "$AT_ORIGIN" "$SECOND_PORT"
successes=$(of origin_health_checks_total "$SECOND" "" ',result="success"')
wait_for up_on_all "$SECOND" 1 || fail "d: $SECOND not restored by every worker: $(grep "origin_up" "$WORK/metrics.txt")"
restored_by=$(($(of origin_health_checks_total "$SECOND" "" ',result="success"') - successes))
attempts=$(of origin_connect_attempts_total "$SECOND" "")
((restored_by >= 2)) || fail "d: restored after $restored_by successful checks (one per worker at least)"
((attempts == 0)) || fail "d: $attempts client connect attempts to $SECOND before it was restored"
grep -q "origin restored .*pipeline=\"demo-http\" origin=$SECOND" "$LOG" || fail "d: no 'origin restored' line for $SECOND"
say "PASS d: $SECOND restarted: restored by every worker on checks alone (+$restored_by successful checks, 0 client attempts)"

# e. It takes connections again.
traffic 52 "e: 40 connections with both origins up"
metrics || fail "GET $METRICS_URL"
to_second=$(of origin_connections_established_total "$SECOND" "")
((to_second > 0)) || fail "e: no connection reached $SECOND after its restoration"
bytes=$(of origin_bytes_total "$SECOND" "" ',direction="to_client"')
((bytes > 0)) || fail "e: origin_bytes_total{direction=\"to_client\"} of $SECOND is $bytes"
say "PASS e: 40 connections byte-exact, $to_second on $SECOND again ($bytes bytes from it) $(cat "$WORK/many.json")"

# f. /status lists both origins up; a clean stop.
status=$(at_appliance "$BIN" status --metrics 127.0.0.1:9100) || fail "f: netreaktor status"
for origin in "$FIRST" "$SECOND"; do
    grep -q "demo-http $origin up (2/2 workers)" <<<"$status" || fail "f: netreaktor status: $status"
done
at_appliance_stop || fail "$AT_ERROR"
PASSED=1
say "PASS f: netreaktor status lists both origins up; exit 0"
