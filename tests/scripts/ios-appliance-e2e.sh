#!/usr/bin/env bash
# The emulated iPhone (netreaktor-bench --engine emulated, docs/ios-emulation.md) against
# NetReaktor on the appliance testbed (tests/scripts/lib/appliance-testbed.sh: phone wifi0
# 10.1.0.2 + cell0 10.2.0.2 -> router -> appliance srv0, service 10.9.0.2:80 -> origin
# 10.10.0.2:8080, where `netreaktor-bench server` listens on plain TCP). This is where MPTCP v0
# (RFC 6824) is proven end to end: iOS 11-15 speak it. Steps, each printing PASS/FAIL:
#   1. --ios 13 (v0 only): a download and an upload over v0 with a cellular join (B=1),
#      byte-exact;
#   2. --ios 13, Wi-Fi blackholed at the router mid-download: it completes byte-exact over
#      cellular; the stall the client measured is printed beside the appliance's
#      netreaktor_mptcp_handover_stall_seconds observation for it, and whether they agree
#      within 10% or 3 ms (reported, not required: they do not agree yet, issue 18 and
#      docs/operations.md, "The handover stall");
#   3. --ios 11 (v0, 3 MP_CAPABLE SYNs, gives up MPTCP on the C flag): v0, byte-exact;
#   4. --ios 15, two connections: both v0 (v0 works here, so nothing is learnt);
#   5. --ios 16: v1 with a join, byte-exact (v1 beside v0 on one appliance);
#   5b. --ios 13 idle: E2E_IDLE_CONNECTIONS (10,000) connections opened and held at once,
#      every one MPTCP v0 (no fallback);
#   6. the appliance's /metrics: every connection above was MPTCP (mptcp_connections_total),
#      none fell back, no join was refused, nothing dropped as malformed;
#   7. tshark on the phone's capture: no malformed packet or MPTCP expert error; the appliance
#      answered v0 SYNs with v0 and v1 SYNs with v1 (never the other version, docs/ios-emulation.md
#      §1); every join SYN's token is the one Wireshark derives from the appliance's key.
#
#   tests/scripts/ios-appliance-e2e.sh    # as root
# Environment: E2E_BIN (netreaktor), E2E_BENCH (netreaktor-bench), both default to
# $CARGO_TARGET_DIR/release or target/release and are built if missing; E2E_TIME (seconds per
# transfer, 2); E2E_RATE (tbf rate of each radio toward the phone and from it, 100mbit);
# E2E_IDLE_CONNECTIONS (step 5b, 10000).
set -euo pipefail
[[ -n ${E2E_BIN:-} && $E2E_BIN != /* ]] && E2E_BIN="$PWD/$E2E_BIN"
[[ -n ${E2E_BENCH:-} && $E2E_BENCH != /* ]] && E2E_BENCH="$PWD/$E2E_BENCH"
cd "$(dirname "$0")/../.."

TARGET=${CARGO_TARGET_DIR:-target}/release
[[ $TARGET != /* ]] && TARGET="$PWD/$TARGET"
BIN=${E2E_BIN:-$TARGET/netreaktor}
BENCH=${E2E_BENCH:-$TARGET/netreaktor-bench}
TIME=${E2E_TIME:-2}
IDLE=${E2E_IDLE_CONNECTIONS:-10000}
RATE=${E2E_RATE:-100mbit}
APPLIANCE=netreaktor
FAILED=0

say() { echo "ios-appliance-e2e: $*"; }
pass() { say "PASS $*"; }
fail() {
    say "FAIL $*"
    FAILED=1
}
if [[ $(id -u) -ne 0 ]]; then
    echo "ios-appliance-e2e: SKIPPED, needs root (network namespaces)" >&2
    exit 0
fi
[[ -x $BIN && -x $BENCH ]] || cargo build --release --locked -p netreaktor -p netreaktor-bench
for tool in nft tcpdump tshark curl; do
    command -v "$tool" >/dev/null || { say "$tool missing (tests/scripts/setup.sh)"; exit 1; }
done

WORK=$(mktemp -d /tmp/ios-appliance-e2e.XXXXXX)
LOG=$WORK/appliance.log
APPLIANCE_PID="" ORIGIN_PID="" CAP_PID=""
: >"$LOG"
cleanup() {
    local pid
    for pid in $CAP_PID $ORIGIN_PID $APPLIANCE_PID; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if ((FAILED)); then
        say "work files kept in $WORK"
    else
        rm -rf "$WORK"
    fi
}
# shellcheck source=SCRIPTDIR/lib/appliance-testbed.sh
source tests/scripts/lib/appliance-testbed.sh
appliance_testbed_trap cleanup
# shellcheck disable=SC2119 # no "forward": only the appliance carries traffic
appliance_testbed_up
# The phone's kernel MPTCP is not used: the bench speaks for the phone.
at_client ip mptcp endpoint flush
for radio in wifi cell; do
    at_router tc qdisc replace dev "r-$radio" root tbf rate "$RATE" burst 32kb latency 100ms
    at_client tc qdisc replace dev "${radio}0" root tbf rate "$RATE" burst 32kb latency 100ms
done

at_origin "$BENCH" server -l "$AT_ORIGIN_ADDR:$AT_ORIGIN_PORT" >"$WORK/origin.log" 2>&1 &
ORIGIN_PID=$!
at_wait_listen "$AT_ORIGIN" "$AT_ORIGIN_PORT"
# configs/demo.yaml with room for the many connections of step 5b on each worker.
sed -e 's/max_connections: 10000$/max_connections: 40000/' configs/demo.yaml >"$WORK/appliance.yaml"
grep -q 'max_connections: 40000' "$WORK/appliance.yaml" || { say "FAIL could not raise max_connections"; exit 1; }
at_appliance_start "$WORK/appliance.yaml" || { cat "$LOG"; say "FAIL start: $AT_ERROR"; exit 1; }
METRICS=127.0.0.1:9100 # configs/demo.yaml, in the appliance's namespace

# Runs the emulated client in the phone; $1 names the run, the rest are its flags.
emulated_client() {
    local name=$1
    shift
    at_client "$BENCH" client --engine emulated --wifi wifi0 --cell cell0 \
        -c "$AT_SERVICE_ADDR:80" --json "$@" >"$WORK/$name.json" 2>"$WORK/$name.err"
}
# shellcheck source=lib/emulated-runs.sh
source tests/scripts/lib/emulated-runs.sh
capture_start "$AT_CLIENT" "$WORK/phone.pcap" tcp port 80

MPTCP_CONNS=0 # MPTCP connections the steps opened, for step 6

# 1. iOS 13: v0 only.
if run_step ios13-down --ios 13 --service interactive throughput -t "$TIME" -R; then
    expect ios13-down version v0
    expect ios13-down joins 1
fi
if run_step ios13-up --ios 13 --service interactive throughput -t "$TIME"; then
    expect ios13-up version v0
fi
MPTCP_CONNS=$((MPTCP_CONNS + 2))

# 2. A Wi-Fi cut mid-download on v0.
# The appliance's handover stall histogram (count and sum over every worker), as "COUNT SUM_MS".
stall_histogram() {
    local text
    text=$(at_appliance curl -fsS "http://$METRICS/metrics" 2>/dev/null || true)
    awk -v n="$(at_metric_sum netreaktor_mptcp_handover_stall_seconds_count - <<<"$text")" \
        -v s="$(at_metric_sum netreaktor_mptcp_handover_stall_seconds_sum - <<<"$text")" \
        'BEGIN { printf "%d %.3f\n", n, s * 1000 }'
}
# Whether the client's stall $1 and the appliance's $2 (ms) agree: within 10% of the
# client's, or 3 ms at LAN RTT (docs/operations.md, netreaktor_mptcp_handover_stall_seconds).
stalls_agree() {
    python3 -c 'import sys
c, a = float(sys.argv[1]), float(sys.argv[2])
sys.exit(0 if abs(a - c) <= max(0.1 * c, 3.0) else 1)' "$1" "$2"
}
read -r stall_n0 stall_ms0 <<<"$(stall_histogram)"
CUT=$(radio_cut_cmd "$AT_ROUTER" wifi)
if run_step ios13-cut --ios 13 --service interactive handover -t $((TIME + 2)) --cut-at 1 \
    --cut-cmd "$CUT"; then
    expect ios13-cut version v0
    say "     stall $(conns ios13-cut max_stall_ms) ms, reinjected $(conns ios13-cut reinjected_bytes) bytes"
    # The appliance's figure for the same handover: the histogram's sum over this step,
    # when exactly one handover was observed in it (workers publish their metrics within
    # a second).
    sleep 1.5
    read -r stall_n1 stall_ms1 <<<"$(stall_histogram)"
    client_ms=$(conns ios13-cut max_stall_ms)
    appliance_ms=$(python3 -c 'import sys; print(round(float(sys.argv[1]) - float(sys.argv[2]), 1))' "$stall_ms1" "$stall_ms0")
    handovers=$((stall_n1 - stall_n0))
    if ((handovers != 1)); then
        say "     stall: $handovers handovers observed by the appliance, none compared"
    elif stalls_agree "$client_ms" "$appliance_ms"; then
        say "     stall: client $client_ms ms, appliance $appliance_ms ms: within 10% or 3 ms"
    else
        say "     stall: client $client_ms ms, appliance $appliance_ms ms: NOT within 10% or 3 ms (issue 18 open)"
    fi
fi
at_restore wifi
MPTCP_CONNS=$((MPTCP_CONNS + 1))

# 3. iOS 11-12: v0, and the appliance does not set the C flag (which would cost MPTCP).
if run_step ios11 --ios 11 throughput -t 1 -R; then
    expect ios11 version v0
fi
MPTCP_CONNS=$((MPTCP_CONNS + 1))

# 4. iOS 15 offers v0 first; v0 works, so the second connection offers v0 again.
if run_step ios15 --ios 15 --sequential throughput -t 1 -P 2; then
    expect ios15 offered "v0 v0"
    expect ios15 version "v0 v0"
fi
MPTCP_CONNS=$((MPTCP_CONNS + 2))

# 5. iOS 16: v1 on the same appliance.
if run_step ios16 --ios 16 --service interactive throughput -t "$TIME" -R; then
    expect ios16 version v1
    expect ios16 joins 1
fi
MPTCP_CONNS=$((MPTCP_CONNS + 1))

# 5b. Many iPhones at once: IDLE iOS 13 connections opened and held; every one MPTCP v0.
if run_step idle --ios 13 idle -n "$IDLE" -t 2; then
    got=$(python3 -c 'import json,sys
r = json.load(open(sys.argv[1]))["results"]
print(r["established"], r["mptcp"], round(r["connections_per_second"]))' "$WORK/idle.json")
    read -r established mptcp rate <<<"$got"
    if ((established == IDLE && mptcp == IDLE)); then
        pass "idle: $IDLE iOS 13 connections held at once, all MPTCP v0 (opened at $rate/s)"
    else
        fail "idle: $established established, $mptcp MPTCP of $IDLE"
    fi
fi
MPTCP_CONNS=$((MPTCP_CONNS + IDLE))

# 6. What the appliance counted.
metrics=$(at_appliance curl -fsS "http://$METRICS/metrics" 2>/dev/null || true)
# The sum of metric $1's series (whose labels contain $2, default all) in /metrics.
sum() { at_metric_sum "$1" - "${2:-}" <<<"$metrics"; }
established=$(sum netreaktor_mptcp_connections_total)
fallbacks=$(sum netreaktor_mptcp_fallbacks_total)
refused=$(sum netreaktor_mptcp_joins_refused_total)
malformed=$(sum netreaktor_frames_dropped_total 'reason="malformed"')
accepted=$(sum netreaktor_mptcp_joins_accepted_total)
say "     metrics: $established MPTCP connections, $accepted joins accepted, $fallbacks fallbacks, $refused joins refused, $malformed malformed"
if ((established == MPTCP_CONNS && fallbacks == 0 && refused == 0 && malformed == 0 && accepted > 0)); then
    pass "metrics: all $MPTCP_CONNS connections were MPTCP, no fallback, no refused join"
else
    fail "metrics: want $MPTCP_CONNS MPTCP connections and no fallback/refused join/malformed packet"
fi

# 7. tshark on the phone's capture.
sleep 0.5
capture_stop "$WORK/phone.pcap"
ts() {
    tshark -r "$WORK/phone.pcap" -o mptcp.analyze_mptcp:TRUE -o tcp.analyze_sequence_numbers:FALSE \
        -d tcp.port==80,data "$@" 2>>"$WORK/tshark.err" || true
}
# 8388608: Wireshark's expert severity "Error".
bad=$(ts -Y '_ws.malformed || mptcp.connection.echoed_key_mismatch || _ws.expert.severity >= 8388608' | wc -l)
# Per MP_CAPABLE SYN, the version offered and the version of the SYN/ACK (by TCP stream).
pairs=$(ts -Y 'tcp.flags.syn == 1 && tcp.options.mptcp.subtype == 0' -T fields \
    -e tcp.stream -e tcp.flags.ack -e tcp.options.mptcp.version |
    awk -F'\t' '$2 == "0" || $2 == "False" { syn[$1] = $3 } $2 == "1" || $2 == "True" { ack[$1] = $3 }
        END { for (s in syn) print syn[s] "->" (s in ack ? ack[s] : "none") }' | sort | uniq -c |
    awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $2, $1 }')
mismatched=$(grep -Eo 'v?[01]->(none|[01])' <<<"${pairs//, /$'\n'}" | awk -F'->' '$1 != $2' | wc -l)
joins=$(ts -Y 'tcp.flags.syn == 1 && tcp.flags.ack == 0 && tcp.options.mptcp.subtype == 1' \
    -T fields -e tcp.options.mptcp.recvtok)
tokens=$(ts -Y 'tcp.flags.syn == 1 && tcp.flags.ack == 1 && tcp.options.mptcp.subtype == 0' \
    -T fields -e mptcp.expected_token | sort -u)
njoins=0 bad_tokens=0
while read -r tok; do
    [[ -z $tok ]] && continue
    njoins=$((njoins + 1))
    grep -qx "$tok" <<<"$tokens" || bad_tokens=$((bad_tokens + 1))
done <<<"$joins"
say "     tshark: $CAP_DROPPED packets dropped by the capture, $bad bad; SYN version -> SYN/ACK version: ${pairs:-none}; $njoins join SYNs, $bad_tokens with a token Wireshark did not derive"
if ((bad == 0 && mismatched == 0 && njoins > 0 && bad_tokens == 0)) && [[ $pairs == *"0->0"* && $pairs == *"1->1"* ]]; then
    pass "tshark: every option decodes; each SYN answered in its own version; join tokens agree"
else
    fail "tshark"
fi

# The idle step's phones reset their connections as the bench exits, but a RST the radios'
# tbf dropped leaves that connection held until the idle timeout, and a drain (SIGTERM) would
# wait for it: stop at once (SIGINT), which resets what is held, and require a clean exit.
say "     $(sum netreaktor_connections_active "$(at_appliance curl -fsS "http://$METRICS/metrics")") connections held at the stop"
kill -INT "$APPLIANCE_PID"
at_appliance_wait_exit SIGINT || fail "stop: $AT_ERROR"
if ((FAILED)); then
    tail -n 40 "$LOG"
    exit 1
fi
say "all steps passed"
