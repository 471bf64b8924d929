#!/usr/bin/env bash
# Flaky Wi-Fi benchmark: open-loop request/response over one long-lived connection while the
# client's Wi-Fi comes and goes, plain TCP and MPTCP through NetReaktor and MPTCP through
# HAProxy on kernel MPTCP, side by side in one run, on the same seeded trace.
#
# Brings up the appliance testbed (tests/scripts/lib/appliance-testbed.sh): the client with
# Wi-Fi (10.1.0.2, default route) and cellular (10.2.0.2, a `subflow` endpoint), the router,
# the appliance serving 10.9.0.2:80, and the origin `netreaktor-bench server --tcp` (echo) on
# 10.10.0.2:8080. Both radios are rate-limited at the router toward the client (tbf: Wi-Fi
# PERF_WIFI_RATE, cellular PERF_CELL_RATE). The client, `netreaktor-bench client openloop`,
# asks for PERF_REPLY bytes every PERF_INTERVAL seconds for PERF_SECONDS seconds on one
# connection, whatever the answers do (open-loop: a blackout delays every request it
# overlaps), and reports per request the time to first byte from its scheduled time and
# whether the answer was complete within PERF_DEADLINE seconds (else a failure).
# While it runs, Wi-Fi is blackholed at the router in both directions on a trace drawn from
# PERF_SEED: up 2-6 s, down 0.5-3 s, repeated over PERF_SECONDS (cellular always up); every
# peer gets the same trace, started with its client. The peers, in this order:
#   tcp-netreaktor     plain TCP (`--tcp`: one path, Wi-Fi) through `netreaktor run`;
#   mptcp-netreaktor   kernel MPTCP client through `netreaktor run`;
#   mptcp-haproxy      kernel MPTCP client through HAProxy under `mptcpize run`.
# The report: requests, failures, TTFB p50/p95/p99 per peer, the trace, the machine and the
# congestion control.
#
#   sudo perf/flaky-wifi.sh [--json]
#   sudo PERF_PEERS="mptcp-netreaktor" PERF_SECONDS=20 perf/flaky-wifi.sh
#
# Environment (defaults):
#   PERF_SEED=19              PERF_SECONDS=60       PERF_INTERVAL=0.25
#   PERF_REPLY=20000          PERF_DEADLINE=1       (seconds)
#   PERF_WIFI_RATE=50mbit     PERF_CELL_RATE=20mbit
#   PERF_PEERS="tcp-netreaktor mptcp-netreaktor mptcp-haproxy"
#   PERF_BIN=$CARGO_TARGET_DIR/release/netreaktor or target/release/netreaktor
#   PERF_BENCH=$CARGO_TARGET_DIR/release/netreaktor-bench or target/release/netreaktor-bench
#   PERF_CONFIG=configs/demo.yaml
# Exits 1 when a peer fails (not ready, the client failed, a non-zero exit on SIGTERM); the
# report still prints, with the failure named.
#
# shellcheck disable=SC2317 # start_*, stop_* and perf_cleanup are called indirectly
set -euo pipefail
[[ -n ${PERF_BIN:-} && $PERF_BIN != /* ]] && PERF_BIN="$PWD/$PERF_BIN"
[[ -n ${PERF_BENCH:-} && $PERF_BENCH != /* ]] && PERF_BENCH="$PWD/$PERF_BENCH"
[[ -n ${PERF_CONFIG:-} && $PERF_CONFIG != /* ]] && PERF_CONFIG="$PWD/$PERF_CONFIG"
cd "$(dirname "$0")/.."

SEED=${PERF_SEED:-19}
SECS=${PERF_SECONDS:-60}
INTERVAL=${PERF_INTERVAL:-0.25}
REPLY=${PERF_REPLY:-20000}
DEADLINE=${PERF_DEADLINE:-1}
WIFI_RATE=${PERF_WIFI_RATE:-50mbit}
CELL_RATE=${PERF_CELL_RATE:-20mbit}
PEERS=${PERF_PEERS:-tcp-netreaktor mptcp-netreaktor mptcp-haproxy}
CONFIG=${PERF_CONFIG:-configs/demo.yaml}
BIN=${PERF_BIN:-${CARGO_TARGET_DIR:-target}/release/netreaktor}
BENCH=${PERF_BENCH:-${CARGO_TARGET_DIR:-target}/release/netreaktor-bench}
SERVICE_PORT=80
READY_TIMEOUT=20

# shellcheck source=SCRIPTDIR/lib/run.sh
source perf/lib/run.sh
perf_cli flaky-wifi "report still prints" "$@"
HAPROXY_MPTCP=1
# shellcheck source=SCRIPTDIR/lib/peers.sh
source perf/lib/peers.sh
servers=""
for peer in $PEERS; do
    case $peer in
        tcp-netreaktor | mptcp-netreaktor) servers="$servers netreaktor" ;;
        mptcp-haproxy) servers="$servers haproxy" ;;
        *)
            log "unknown peer $peer (tcp-netreaktor, mptcp-netreaktor, mptcp-haproxy)"
            exit 2
            ;;
    esac
done
peers_check "$servers"
[[ -x $BENCH ]] || {
    log "$BENCH missing: cargo build --release -p netreaktor-bench"
    exit 1
}
command -v nft >/dev/null || {
    log "nft missing: run tests/scripts/setup.sh"
    exit 1
}

# The trace: "cut restore" pairs of seconds from the client's start, drawn from the seed.
TRACE=$(python3 - "$SEED" "$SECS" <<'EOF'
import random, sys
rng, end, t = random.Random(int(sys.argv[1])), float(sys.argv[2]), 0.0
while True:
    t += rng.uniform(2.0, 6.0)
    if t >= end:
        break
    down = rng.uniform(0.5, 3.0)
    print(f"{t:.3f} {min(t + down, end):.3f}")
    t += down
EOF
)

CLIENT_PID=""
TRACE_PID=""
perf_run_start
at_appliance ip mptcp limits set subflows 4 add_addr_accepted 0
ip netns exec "$AT_ORIGIN" "$BENCH" server --tcp -l "$AT_ORIGIN_ADDR:$AT_ORIGIN_PORT" \
    >"$WORK/origin.log" 2>&1 &
ORIGIN_PID=$!
at_wait_listen "$AT_ORIGIN" "$AT_ORIGIN_PORT"
at_router tc qdisc replace dev r-wifi root tbf rate "$WIFI_RATE" burst 32kb latency 100ms
at_router tc qdisc replace dev r-cell root tbf rate "$CELL_RATE" burst 32kb latency 100ms

# Plays the trace from now on (in the background): Wi-Fi cut and restored at its times.
play_trace() {
    local t0 cut restore
    t0=$(date +%s.%N)
    while read -r cut restore; do
        sleep "$(awk -v a="$cut" -v t0="$t0" -v n="$(date +%s.%N)" 'BEGIN { d = a - (n - t0); print (d > 0 ? d : 0) }')"
        at_cut wifi
        sleep "$(awk -v a="$restore" -v t0="$t0" -v n="$(date +%s.%N)" 'BEGIN { d = a - (n - t0); print (d > 0 ? d : 0) }')"
        at_restore wifi
    done <<<"$TRACE"
}

# One peer's run: $1 peer; its server already started. Appends a result line.
measure() {
    local peer=$1 proto=--mptcp out="$WORK/$1.json" rc=0
    [[ $peer == tcp-* ]] && proto=--tcp
    ip netns exec "$AT_CLIENT" "$BENCH" client -c "$AT_SERVICE_ADDR:$SERVICE_PORT" "$proto" \
        --json openloop -t "$SECS" --interval "$INTERVAL" --reply "$REPLY" \
        --deadline "$DEADLINE" >"$out" 2>"$WORK/$peer.err" &
    CLIENT_PID=$!
    play_trace &
    TRACE_PID=$!
    wait "$CLIENT_PID" || rc=$?
    CLIENT_PID=""
    kill "$TRACE_PID" 2>/dev/null || true
    wait "$TRACE_PID" 2>/dev/null || true
    TRACE_PID=""
    at_restore wifi
    if ((rc > 1)) || ! [[ -s $out ]]; then
        fail_peer "$peer: client failed (status $rc): $(tail -n 2 "$WORK/$peer.err" | tr '\n' ' ')"
        return 1
    fi
    echo "$peer $out" >>"$RESULTS"
    log "$peer: $(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"]; print(r["requests"], "requests,", r["failures"], "failures, TTFB p95", r["ttfb"]["p95_us"], "us")' "$out")"
}

CPU=$(lscpu | awk -F': *' '/^Model name/ {print $2; exit}')
CC_CLIENT=$(at_client sysctl -n net.ipv4.tcp_congestion_control)
CC_APPLIANCE=$(at_appliance sysctl -n net.ipv4.tcp_congestion_control)
CC_NETREAKTOR=$(awk '$1 == "congestion:" {print $2; exit}' "$CONFIG" 2>/dev/null || echo unknown)
log "namespaces ${AT_PREFIX}-*; peers $PEERS; trace (seed $SEED): $(echo "$TRACE" | tr '\n' ';')"
for peer in $PEERS; do
    server=netreaktor
    [[ $peer == *-haproxy ]] && server=haproxy
    "start_$server" || continue
    measure "$peer" || true
    "stop_$server" || true
done

CPU="$CPU" NPROC="$(nproc)" KERNEL="$(uname -r)" CC_CLIENT="$CC_CLIENT" \
    CC_APPLIANCE="$CC_APPLIANCE" CC_NETREAKTOR="$CC_NETREAKTOR" TRACE="$TRACE" SEED="$SEED" \
    SECS="$SECS" INTERVAL="$INTERVAL" REPLY="$REPLY" DEADLINE="$DEADLINE" \
    WIFI_RATE="$WIFI_RATE" CELL_RATE="$CELL_RATE" \
    python3 - "$RESULTS" "$FAILURES" "$JSON" <<'EOF'
import json, os, sys
env = os.environ
results, failures, as_json = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
peers = {}
for line in open(results):
    peer, path = line.split()
    peers[peer] = json.load(open(path))["results"]
summary = {p: {"requests": r["requests"], "failures": r["failures"],
               "unanswered": r["unanswered"],
               "ttfb_ms_p50": r["ttfb"]["p50_us"] / 1e3, "ttfb_ms_p95": r["ttfb"]["p95_us"] / 1e3,
               "ttfb_ms_p99": r["ttfb"]["p99_us"] / 1e3, "ttfb_ms_max": r["ttfb"]["max_us"] / 1e3}
           for p, r in peers.items()}
report = {
    "machine": {"cpu": env["CPU"], "nproc": int(env["NPROC"]), "kernel": env["KERNEL"]},
    "congestion_control": {"client": env["CC_CLIENT"], "appliance_kernel": env["CC_APPLIANCE"],
                           "netreaktor_config": env["CC_NETREAKTOR"]},
    "seed": int(env["SEED"]), "seconds": float(env["SECS"]), "interval_s": float(env["INTERVAL"]),
    "reply_bytes": int(env["REPLY"]), "deadline_s": float(env["DEADLINE"]),
    "wifi_rate": env["WIFI_RATE"], "cell_rate": env["CELL_RATE"],
    "trace_wifi_down_s": [[float(x) for x in l.split()] for l in env["TRACE"].splitlines() if l],
    "percentile_method": "nearest rank",
    "summary": summary,
    "failures": [l.strip() for l in open(failures) if l.strip()],
}
if as_json:
    print(json.dumps(report))
    sys.exit(0)
m, cc = report["machine"], report["congestion_control"]
down = sum(b - a for a, b in report["trace_wifi_down_s"])
print(f"machine: {m['cpu']}, {m['nproc']} cores, kernel {m['kernel']}")
print(f"congestion control: client {cc['client']}, appliance kernel (HAProxy) "
      f"{cc['appliance_kernel']}, NetReaktor (config) {cc['netreaktor_config']}")
print(f"open-loop: {report['reply_bytes']} bytes every {report['interval_s']} s for "
      f"{report['seconds']} s on one connection; failure: not complete within "
      f"{report['deadline_s']} s; Wi-Fi {report['wifi_rate']}, cellular {report['cell_rate']}")
print(f"trace (seed {report['seed']}): Wi-Fi down {len(report['trace_wifi_down_s'])} times, "
      f"{down:.1f} s in all: " + ", ".join(f"{a:.1f}-{b:.1f}" for a, b in report["trace_wifi_down_s"]))
print(f"{'peer':<18}{'requests':>9}{'failures':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}")
for p, s in summary.items():
    print(f"{p:<18}{s['requests']:>9}{s['failures']:>9}{s['ttfb_ms_p50']:>9.1f}"
          f"{s['ttfb_ms_p95']:>9.1f}{s['ttfb_ms_p99']:>9.1f}{s['ttfb_ms_max']:>9.1f}")
for f in report["failures"]:
    print(f"FAILURE: {f}")
EOF

[[ -s $FAILURES ]] && exit 1
exit 0
