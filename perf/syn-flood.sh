#!/usr/bin/env bash
# SYN flood benchmark: a spoofed-source SYN flood toward the service address from one core of
# the access router while legitimate clients open connections, through NetReaktor and through
# HAProxy on kernel MPTCP, side by side in one run.
#
# Brings up the appliance testbed (tests/scripts/lib/appliance-testbed.sh): the client with
# Wi-Fi (10.1.0.2), the router, the appliance serving 10.9.0.2:80 (its default route is the
# router, so replies to spoofed sources leave and are dropped there) and the origin
# `netreaktor-bench server --tcp` (echo) on 10.10.0.2:8080. Per peer, for PERF_SECONDS:
#   - the router runs `hping3 -S --flood --rand-source` at the service address and port;
#   - the client runs two `netreaktor-bench client connect` at once, kernel MPTCP and plain
#     TCP, each with PERF_PARALLEL connections in flight, each connection one request and one
#     reply of PERF_BYTES, connect timeout PERF_CONNECT_TIMEOUT.
# The report per peer: legitimate connections made and failed and their set-up p50/p99, MPTCP
# clients downgraded (the client kernel's MPCapableSYNTXDrop, a SYN retransmitted without
# MP_CAPABLE, plus MPCapableFallbackSYNACK), and for NetReaktor where every flood SYN went:
# sent by hping3, seen by the steering program, lost on a full RX ring, received by the
# listeners, answered (half-open table or cookie) and dropped by reason (/metrics).
#
#   perf/syn-flood.sh [--json]
#   PERF_PEERS=netreaktor PERF_SECONDS=10 perf/syn-flood.sh
#
# Environment (defaults):
#   PERF_SECONDS=30           PERF_PARALLEL=2       PERF_BYTES=100000
#   PERF_CONNECT_TIMEOUT=5    (seconds)
#   PERF_PEERS="netreaktor haproxy"
#   PERF_BIN=$CARGO_TARGET_DIR/release/netreaktor or target/release/netreaktor
#   PERF_BENCH=$CARGO_TARGET_DIR/release/netreaktor-bench or target/release/netreaktor-bench
#   PERF_CONFIG=configs/demo.yaml (its metrics on 127.0.0.1:9100 in the appliance namespace)
# Exits 1 when a peer fails (not ready, a client failed, a non-zero exit on SIGTERM); the
# report still prints, with the failure named.
#
# shellcheck disable=SC2317 # start_*, stop_* and perf_cleanup are called indirectly
set -euo pipefail
[[ -n ${PERF_BIN:-} && $PERF_BIN != /* ]] && PERF_BIN="$PWD/$PERF_BIN"
[[ -n ${PERF_BENCH:-} && $PERF_BENCH != /* ]] && PERF_BENCH="$PWD/$PERF_BENCH"
[[ -n ${PERF_CONFIG:-} && $PERF_CONFIG != /* ]] && PERF_CONFIG="$PWD/$PERF_CONFIG"
cd "$(dirname "$0")/.."

SECS=${PERF_SECONDS:-30}
PARALLEL=${PERF_PARALLEL:-2}
BYTES=${PERF_BYTES:-100000}
CONNECT_TIMEOUT=${PERF_CONNECT_TIMEOUT:-5}
PEERS=${PERF_PEERS:-netreaktor haproxy}
CONFIG=${PERF_CONFIG:-configs/demo.yaml}
BIN=${PERF_BIN:-${CARGO_TARGET_DIR:-target}/release/netreaktor}
BENCH=${PERF_BENCH:-${CARGO_TARGET_DIR:-target}/release/netreaktor-bench}
SERVICE_PORT=80
READY_TIMEOUT=20
METRICS=127.0.0.1:9100

# shellcheck source=SCRIPTDIR/lib/run.sh
source perf/lib/run.sh
perf_cli syn-flood "report still prints" "$@"
HAPROXY_MPTCP=1
HAPROXY_MAXCONN=9000 # within the 20,000 file descriptors HAProxy may have here
# shellcheck source=SCRIPTDIR/lib/peers.sh
source perf/lib/peers.sh
peers_check "$PEERS"
for tool in hping3 nstat curl; do
    command -v "$tool" >/dev/null || {
        log "$tool missing: run tests/scripts/setup.sh"
        exit 1
    }
done
[[ -x $BENCH ]] || {
    log "$BENCH missing: cargo build --release -p netreaktor-bench"
    exit 1
}

CLIENT_PID=""
FLOOD_PID=""
perf_run_start
ip netns exec "$AT_ORIGIN" "$BENCH" server --tcp -l "$AT_ORIGIN_ADDR:$AT_ORIGIN_PORT" \
    >"$WORK/origin.log" 2>&1 &
ORIGIN_PID=$!
at_wait_listen "$AT_ORIGIN" "$AT_ORIGIN_PORT"

# One peer's run: $1 peer; its server already started. Writes $WORK/$1.env for the report.
measure() {
    local peer=$1 rc=0 proto pids=() sent
    at_client nstat -n # resets nstat's history: the next call prints the deltas
    [[ $peer == netreaktor ]] && at_appliance curl -fsS "http://$METRICS/metrics" >"$WORK/$peer.before"
    ip netns exec "$AT_ROUTER" hping3 -S --flood --rand-source -p "$SERVICE_PORT" "$AT_SERVICE_ADDR" \
        >"$WORK/$peer.hping" 2>&1 &
    FLOOD_PID=$!
    sleep 1 # the flood is on before the first legitimate SYN
    for proto in mptcp tcp; do
        ip netns exec "$AT_CLIENT" "$BENCH" client -c "$AT_SERVICE_ADDR:$SERVICE_PORT" "--$proto" \
            --connect-timeout "$CONNECT_TIMEOUT" --json connect -t "$SECS" -P "$PARALLEL" \
            --bytes "$BYTES" >"$WORK/$peer-$proto.json" 2>"$WORK/$peer-$proto.err" &
        pids+=($!)
    done
    CLIENT_PID="${pids[*]}"
    for pid in "${pids[@]}"; do
        wait "$pid" || rc=$?
    done
    CLIENT_PID=""
    kill -INT "$FLOOD_PID" 2>/dev/null || true
    wait "$FLOOD_PID" 2>/dev/null || true
    FLOOD_PID=""
    sleep 1 # the last SYNs reach the counters
    at_client nstat -az >"$WORK/$peer.nstat"
    if [[ $peer == netreaktor ]]; then
        at_appliance curl -fsS "http://$METRICS/metrics" >"$WORK/$peer.after"
    fi
    if ((rc > 1)); then
        fail_peer "$peer: a client failed (status $rc): $(tail -q -n 2 "$WORK/$peer"-*.err | tr '\n' ' ')"
    fi
    sent=$(awk '/packets transmitted/ { print $1 }' "$WORK/$peer.hping")
    {
        echo "sent=${sent:-0}"
        for n in MPTcpExtMPCapableSYNTX MPTcpExtMPCapableSYNTXDrop MPTcpExtMPCapableFallbackSYNACK \
            MPTcpExtMPCapableSYNACKRX; do
            echo "$n=$(awk -v n="$n" '$1 == n { print $2 }' "$WORK/$peer.nstat")"
        done
    } >"$WORK/$peer.env"
    [[ $peer == netreaktor ]] && flood_accounting >>"$WORK/$peer.env"
    echo "$peer" >>"$RESULTS"
    log "$peer: $(cat "$WORK/$peer.env" | tr '\n' ' ')"
}

# NetReaktor's /metrics deltas over the run, as name=value lines.
flood_accounting() {
    local name labels key before after
    while read -r key name labels; do
        before=$(at_metric_sum "$name" "$WORK/netreaktor.before" "$labels")
        after=$(at_metric_sum "$name" "$WORK/netreaktor.after" "$labels")
        echo "$key=$((${after%.*} - ${before%.*}))"
    done <<'LIST'
xdp_seen netreaktor_xdp_frames_total interface="srv0"
rx_ring_full netreaktor_afxdp_socket_events_total event="rx_ring_full"
rx_dropped netreaktor_afxdp_socket_events_total event="rx_dropped"
frames_received netreaktor_frames_received_total
syns_received netreaktor_syns_received_total
synack_table netreaktor_syn_acks_sent_total kind="table"
synack_cookie netreaktor_syn_acks_sent_total kind="cookie"
syns_dropped netreaktor_syns_dropped_total
cookies_valid netreaktor_syn_cookies_checked_total result="valid"
handoff_dropped netreaktor_handoff_dropped_total
tx_ring_full netreaktor_tx_ring_full_total
mptcp_connections netreaktor_mptcp_connections_total
LIST
}

CPU=$(lscpu | awk -F': *' '/^Model name/ {print $2; exit}')
CC_CLIENT=$(at_client sysctl -n net.ipv4.tcp_congestion_control)
CC_NETREAKTOR=$(awk '$1 == "congestion:" {print $2; exit}' "$CONFIG" 2>/dev/null || echo unknown)
SYNCOOKIES=$(at_appliance sysctl -n net.ipv4.tcp_syncookies)
log "namespaces ${AT_PREFIX}-*; peers $PEERS; ${SECS}s each"
for peer in $PEERS; do
    "start_$peer" || continue
    measure "$peer" || true
    "stop_$peer" || true
done

CPU="$CPU" NPROC="$(nproc)" KERNEL="$(uname -r)" CC_CLIENT="$CC_CLIENT" \
    CC_NETREAKTOR="$CC_NETREAKTOR" SYNCOOKIES="$SYNCOOKIES" SECS="$SECS" PARALLEL="$PARALLEL" \
    BYTES="$BYTES" CONNECT_TIMEOUT="$CONNECT_TIMEOUT" WORK="$WORK" \
    python3 - "$RESULTS" "$FAILURES" "$JSON" <<'EOF'
import json, os, sys
env = os.environ
results, failures, as_json = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
work = env["WORK"]
peers = {}
for peer in (l.strip() for l in open(results) if l.strip()):
    facts = dict(l.strip().split("=", 1) for l in open(f"{work}/{peer}.env") if "=" in l)
    facts = {k: int(v or 0) for k, v in facts.items()}
    runs = {}
    for proto in ("mptcp", "tcp"):
        try:
            r = json.load(open(f"{work}/{peer}-{proto}.json"))["results"]
        except (OSError, ValueError, KeyError):
            continue
        runs[proto] = {"ok": r["connections_ok"], "failed": r["connections_failed"],
                       "setup_ms_p50": r["setup"]["p50_us"] / 1e3,
                       "setup_ms_p99": r["setup"]["p99_us"] / 1e3,
                       "failures": r["failures"]}
    ok = sum(r["ok"] for r in runs.values())
    failed = sum(r["failed"] for r in runs.values())
    peers[peer] = {
        "legitimate": runs,
        "success": ok / (ok + failed) if ok + failed else None,
        "mptcp_downgraded": facts.get("MPTcpExtMPCapableSYNTXDrop", 0)
        + facts.get("MPTcpExtMPCapableFallbackSYNACK", 0),
        "flood": facts,
    }
report = {
    "machine": {"cpu": env["CPU"], "nproc": int(env["NPROC"]), "kernel": env["KERNEL"]},
    "congestion_control": {"client": env["CC_CLIENT"], "netreaktor_config": env["CC_NETREAKTOR"]},
    "appliance_kernel_syncookies": int(env["SYNCOOKIES"]),
    "seconds": float(env["SECS"]), "parallel": int(env["PARALLEL"]), "bytes": int(env["BYTES"]),
    "connect_timeout_s": float(env["CONNECT_TIMEOUT"]),
    "peers": peers,
    "failures": [l.strip() for l in open(failures) if l.strip()],
}
if as_json:
    print(json.dumps(report))
    sys.exit(0)
m = report["machine"]
print(f"machine: {m['cpu']}, {m['nproc']} cores, kernel {m['kernel']}; congestion control: "
      f"client {report['congestion_control']['client']}, NetReaktor "
      f"{report['congestion_control']['netreaktor_config']}")
print(f"{report['seconds']:.0f} s of spoofed SYN flood (hping3, one core of the router); "
      f"legitimate: {report['parallel']} MPTCP + {report['parallel']} TCP connections in flight, "
      f"{report['bytes']} bytes each way")
print(f"{'peer':<12}{'proto':<7}{'ok':>7}{'failed':>7}{'set-up p50 ms':>15}{'p99 ms':>10}")
for p, s in peers.items():
    for proto, r in s["legitimate"].items():
        print(f"{p:<12}{proto:<7}{r['ok']:>7}{r['failed']:>7}{r['setup_ms_p50']:>15.2f}"
              f"{r['setup_ms_p99']:>10.2f}")
    rate = "n/a" if s["success"] is None else f"{100 * s['success']:.2f}%"
    print(f"{p:<12}success {rate}, MPTCP clients downgraded {s['mptcp_downgraded']}, "
          f"flood SYNs sent {s['flood'].get('sent', 0)}")
    f = s["flood"]
    if "syns_received" in f:
        unaccounted = f["syns_received"] - f["synack_table"] - f["synack_cookie"] - f["syns_dropped"]
        print(f"{'':<12}steering saw {f['xdp_seen']} frames; RX ring full {f['rx_ring_full']}, "
              f"kernel rx_dropped {f['rx_dropped']}; workers received {f['frames_received']}; "
              f"listeners: {f['syns_received']} new SYNs, SYN,ACKs {f['synack_table']} table + "
              f"{f['synack_cookie']} cookie, dropped {f['syns_dropped']} (unaccounted {unaccounted}); "
              f"cookies valid {f['cookies_valid']}")
for f in report["failures"]:
    print(f"FAILURE: {f}")
EOF

[[ -s $FAILURES ]] && exit 1
exit 0
