#!/usr/bin/env bash
# Handover benchmark: how long a download through an MPTCP proxy stalls when the client's
# Wi-Fi is blackholed mid-transfer, NetReaktor vs HAProxy on kernel MPTCP, side by side.
#
# Brings up the appliance testbed (tests/scripts/lib/appliance-testbed.sh): the kernel MPTCP
# client (tests/scripts/mptcp_transfer.py fetch) with Wi-Fi (10.1.0.2, default route) and
# cellular (10.2.0.2, a `subflow` endpoint), the router, the appliance serving 10.9.0.2:80,
# and an origin (mptcp_transfer.py serve, plain TCP) on 10.10.0.2:8080. The peers:
#   haproxy     HAProxy under `mptcpize run` (its listener is kernel MPTCP), `mode tcp`,
#               bind 10.9.0.2:80 -> server 10.10.0.2:8080;
#   netreaktor  `netreaktor run -c configs/demo.yaml` (user-space MPTCP over AF_XDP).
# Each trial runs every peer once (alternated: haproxy, netreaktor, haproxy, ...; each peer
# started fresh for its trial): both radios rate-limited at the router (tbf, PERF_RATE toward
# the client), a PERF_BYTES download, Wi-Fi blackholed at the router in both directions
# PERF_CUT_AFTER seconds in, the stall measured (the longest gap between two arrivals of
# data at the client), every byte checked (SHA-256), Wi-Fi restored before the next trial.
# Then PERF_GOODPUT_ROUNDS rounds of a PERF_GOODPUT_BYTES download over both subflows, no
# rate limit, no cut: MPTCP goodput (bytes over the client's transfer time).
# The report: stall p50 and p99 per peer (nearest rank: with fewer than 100 trials p99 is the
# maximum), goodput median, and the ratios NetReaktor/HAProxy.
#
# PERF_CLIENTS names the phones, each measured against every peer (a row "PEER CLIENT"):
#   kernel          the kernel MPTCP client, cellular a `subflow` endpoint (both subflows active);
#   kernel-backup   the same with the cellular endpoint `backup` (its join carries B=1);
#   ios13, ios16    netreaktor-bench --engine emulated as iOS 13 (MPTCP v0) or iOS 16 (v1),
#                   interactive service (cellular joined at once with B=1, docs/ios-emulation.md
#                   §5), a `handover` download of PERF_EMULATED_SECONDS from `netreaktor-bench
#                   server`, the stall its longest gap between arrivals. HAProxy is not run
#                   for ios13: kernel MPTCP has no v0, so that phone gets plain TCP from it,
#                   which a Wi-Fi cut ends (the report says so).
# Goodput rounds run with the kernel client only.
#
#   sudo perf/handover.sh [--json]
#   sudo PERF_PEERS=haproxy perf/handover.sh
#   sudo PERF_CLIENTS="kernel-backup ios13 ios16" PERF_GOODPUT_ROUNDS=0 perf/handover.sh
#
# Environment (defaults):
#   PERF_TRIALS=20            PERF_PEERS="haproxy netreaktor"
#   PERF_CLIENTS=kernel       PERF_EMULATED_SECONDS=4
#   PERF_RATE=100mbit         tbf rate per radio (router -> client)
#   PERF_BYTES=50331648       48 MiB: ~1 s on two radios, then ~2 s on cellular alone
#   PERF_CUT_AFTER=1          seconds into the download
#   PERF_GOODPUT_ROUNDS=3     PERF_GOODPUT_BYTES=536870912 (512 MiB)
#   PERF_BIN=$CARGO_TARGET_DIR/release/netreaktor or target/release/netreaktor
#   PERF_BENCH=$CARGO_TARGET_DIR/release/netreaktor-bench or target/release/netreaktor-bench
#   PERF_CONFIG=configs/demo.yaml
# Exits 1 when a peer fails (not ready, a transfer failed or not byte-exact, a non-zero
# exit on SIGTERM); the report still prints, with the failure named.
#
# shellcheck disable=SC2317 # start_*, stop_* and perf_cleanup are called indirectly
set -euo pipefail
[[ -n ${PERF_BIN:-} && $PERF_BIN != /* ]] && PERF_BIN="$PWD/$PERF_BIN"
[[ -n ${PERF_CONFIG:-} && $PERF_CONFIG != /* ]] && PERF_CONFIG="$PWD/$PERF_CONFIG"
[[ -n ${PERF_BENCH:-} && $PERF_BENCH != /* ]] && PERF_BENCH="$PWD/$PERF_BENCH"
cd "$(dirname "$0")/.."

TRIALS=${PERF_TRIALS:-20}
PEERS=${PERF_PEERS:-haproxy netreaktor}
CLIENTS=${PERF_CLIENTS:-kernel}
EMULATED_SECONDS=${PERF_EMULATED_SECONDS:-4}
RATE=${PERF_RATE:-100mbit}
BYTES=${PERF_BYTES:-50331648}
CUT_AFTER=${PERF_CUT_AFTER:-1}
GOODPUT_ROUNDS=${PERF_GOODPUT_ROUNDS:-3}
GOODPUT_BYTES=${PERF_GOODPUT_BYTES:-536870912}
CONFIG=${PERF_CONFIG:-configs/demo.yaml}
BIN=${PERF_BIN:-${CARGO_TARGET_DIR:-target}/release/netreaktor}
BENCH=${PERF_BENCH:-${CARGO_TARGET_DIR:-target}/release/netreaktor-bench}
TRANSFER=tests/scripts/mptcp_transfer.py
SERVICE_PORT=80
READY_TIMEOUT=20

# shellcheck source=SCRIPTDIR/lib/run.sh
source perf/lib/run.sh
perf_cli handover "exit on SIGTERM" "$@"
# The peers (perf/lib/peers.sh): HAProxy under mptcpize, and NetReaktor.
HAPROXY_MPTCP=1
# shellcheck source=SCRIPTDIR/lib/peers.sh
source perf/lib/peers.sh
peers_check "$PEERS"
for client in $CLIENTS; do
    case $client in
    kernel | kernel-backup) ;;
    ios13 | ios16) [[ -x $BENCH ]] || {
        log "no netreaktor-bench at $BENCH (cargo build --release -p netreaktor-bench, or set PERF_BENCH)"
        exit 1
    } ;;
    *)
        log "PERF_CLIENTS: unknown client $client (kernel, kernel-backup, ios13, ios16)"
        exit 1
        ;;
    esac
done
command -v nft >/dev/null || {
    log "nft missing: run tests/scripts/setup.sh"
    exit 1
}

# $RESULTS: kind (stall|goodput), peer, trial, value or "fail", detail
CLIENT_PID=""
perf_run_start
# The kernel server's side (HAProxy): room for the client's joins.
at_appliance ip mptcp limits set subflows 4 add_addr_accepted 0


# ------------------------------------------------------------------ origin, client, router

# A one-connection origin sending $1 bytes of seed $2.
origin_start() {
    ip netns exec "$AT_ORIGIN" python3 "$TRANSFER" serve --tcp \
        --listen "$AT_ORIGIN_ADDR:$AT_ORIGIN_PORT" --bytes "$1" --seed "$2" >/dev/null 2>&1 &
    ORIGIN_PID=$!
    at_wait_listen "$AT_ORIGIN" "$AT_ORIGIN_PORT"
}

origin_stop() {
    local i
    for i in $(seq 50); do
        kill -0 "$ORIGIN_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill "$ORIGIN_PID" 2>/dev/null || true
    wait "$ORIGIN_PID" 2>/dev/null || true
    ORIGIN_PID=""
}

# Field $2 of the last JSON line of file $1 ("" when absent).
jget() {
    python3 -c 'import json, sys
lines = [l for l in open(sys.argv[1]) if l.startswith("{")]
print(json.loads(lines[-1]).get(sys.argv[2], "") if lines else "")' "$1" "$2" 2>/dev/null || true
}

shape_on() {
    local dev
    for dev in r-wifi r-cell; do
        at_router tc qdisc replace dev "$dev" root tbf rate "$RATE" burst 32kb latency 100ms
    done
}

shape_off() {
    local dev
    for dev in r-wifi r-cell; do
        at_router tc qdisc del dev "$dev" root 2>/dev/null || true
    done
}

# The cellular endpoint of the kernel client: $1 "backup" for B=1, or nothing.
cell_endpoint() {
    at_client ip mptcp endpoint flush
    # shellcheck disable=SC2086 # $1 is one flag or none
    at_client ip mptcp endpoint add "$AT_CELL_ADDR" dev cell0 subflow ${1:-}
}

# One handover trial of row $1 (peer already started) with client $3, trial $2.
handover_trial() {
    case $3 in
    kernel) kernel_trial "$1" "$2" ;;
    kernel-backup)
        local rc=0
        cell_endpoint backup
        kernel_trial "$1" "$2" || rc=$?
        cell_endpoint
        return "$rc"
        ;;
    *) emulated_trial "$1" "$2" "${3#ios}" ;;
    esac
}

# One handover trial of the kernel client: row $1, trial $2; appends a stall line.
kernel_trial() {
    local peer=$1 trial=$2 out="$WORK/trial.json" at_cut rc=0 stall
    shape_on
    origin_start "$BYTES" "$trial"
    ip netns exec "$AT_CLIENT" timeout 30 python3 "$TRANSFER" fetch --connect \
        "$AT_SERVICE_ADDR:$SERVICE_PORT" --bytes "$BYTES" --seed "$trial" --progress 0.1 \
        >"$out" 2>&1 &
    CLIENT_PID=$!
    sleep "$CUT_AFTER"
    at_cut=$(jget "$out" bytes)
    at_cut wifi
    wait "$CLIENT_PID" || rc=$?
    CLIENT_PID=""
    at_restore wifi
    origin_stop
    shape_off
    stall=$(jget "$out" stall_ms)
    if ((rc != 0)) || [[ $(jget "$out" integrity) != ok ]]; then
        fail_peer "$peer trial $trial: transfer failed (status $rc): $(tail -n 1 "$out")"
        echo -e "stall\t$peer\t$trial\tfail\t" >>"$RESULTS"
        return 1
    fi
    if [[ -z $at_cut || $at_cut -ge $BYTES ]]; then
        fail_peer "$peer trial $trial: the cut came after the download (at ${at_cut:-?} bytes): lower PERF_RATE"
        echo -e "stall\t$peer\t$trial\tfail\t" >>"$RESULTS"
        return 1
    fi
    log "$peer trial $trial: stall $stall ms (cut at $at_cut of $BYTES bytes, $(jget "$out" duration_s) s)"
    echo -e "stall\t$peer\t$trial\t$stall\t$at_cut" >>"$RESULTS"
}

# What the emulated phone runs at the cut (in its namespace): Wi-Fi blackholed at the router.
EMULATED_CUT=$(radio_cut_cmd "$AT_ROUTER" wifi)

# One handover trial of the emulated phone as iOS $3: row $1, trial $2; appends a stall line.
emulated_trial() {
    local peer=$1 trial=$2 ios=$3 out="$WORK/trial.json" rc=0 fields stall version bytes
    ip netns exec "$AT_ORIGIN" "$BENCH" server -l "$AT_ORIGIN_ADDR:$AT_ORIGIN_PORT" \
        >/dev/null 2>&1 &
    ORIGIN_PID=$!
    at_wait_listen "$AT_ORIGIN" "$AT_ORIGIN_PORT"
    shape_on
    # A phone started within milliseconds of the peer, the origin and the shaping failed to
    # connect at all in 2 of 8 trials (no SYN,ACK seen by it before the cut, against
    # NetReaktor; the kernel client, which starts slower, never did); with a second's pause
    # first, 58 of 58 connected. The cause was not found (docs/performance.md); the pause keeps
    # the trials about the handover.
    sleep 1
    at_client timeout $((EMULATED_SECONDS + 30)) "$BENCH" client --engine emulated \
        --wifi wifi0 --cell cell0 -c "$AT_SERVICE_ADDR:$SERVICE_PORT" --json --ios "$ios" \
        --service interactive handover -t "$EMULATED_SECONDS" --cut-at "$CUT_AFTER" \
        --cut-cmd "$EMULATED_CUT" >"$out" 2>"$WORK/trial.err" || rc=$?
    at_restore wifi
    shape_off
    kill "$ORIGIN_PID" 2>/dev/null || true
    wait "$ORIGIN_PID" 2>/dev/null || true
    ORIGIN_PID=""
    fields=$(python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))
c = r["results"]["connections"][0]
ok = not r.get("problems") and c["mismatch"] is None and c["bytes"] > 0
print(c["max_stall_ms"] if ok else "fail", c["version"] or "tcp", c["bytes"])' "$out" 2>/dev/null || echo "fail ? 0")
    read -r stall version bytes <<<"$fields"
    if ((rc != 0)) || [[ $stall == fail ]]; then
        fail_peer "$peer trial $trial: transfer failed (status $rc): $(tail -n 2 "$WORK/trial.err")" \
            "$(python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))
print(r.get("problems"), r["results"].get("connections"))' "$out" 2>/dev/null || head -c 300 "$out")"
        echo -e "stall\t$peer\t$trial\tfail\t" >>"$RESULTS"
        return 1
    fi
    log "$peer trial $trial: stall $stall ms (MPTCP $version, $bytes bytes, byte-exact)"
    echo -e "stall\t$peer\t$trial\t$stall\t$version" >>"$RESULTS"
}

# One goodput round of peer $1 (already started), round $2: both subflows, no limit, no cut.
goodput_round() {
    local peer=$1 round=$2 out="$WORK/goodput.json" rc=0 gbps
    origin_start "$GOODPUT_BYTES" $((1000 + round))
    at_client timeout 120 python3 "$TRANSFER" fetch --connect "$AT_SERVICE_ADDR:$SERVICE_PORT" \
        --bytes "$GOODPUT_BYTES" --seed $((1000 + round)) --progress 1 >"$out" 2>&1 || rc=$?
    origin_stop
    if ((rc != 0)) || [[ $(jget "$out" integrity) != ok ]]; then
        fail_peer "$peer goodput round $round: transfer failed (status $rc): $(tail -n 1 "$out")"
        echo -e "goodput\t$peer\t$round\tfail\t" >>"$RESULTS"
        return 1
    fi
    gbps=$(awk -v b="$GOODPUT_BYTES" -v s="$(jget "$out" duration_s)" 'BEGIN { printf "%.3f", b * 8 / s / 1e9 }')
    log "$peer goodput round $round: $gbps Gbit/s"
    echo -e "goodput\t$peer\t$round\t$gbps\t" >>"$RESULTS"
}

# Starts peer $1, runs "$2" (handover_trial|goodput_round) for trial $3 as row $4 (default the
# peer) with client $5 (handover_trial), stops the peer.
with_peer() {
    local peer=$1 what=$2 n=$3 row=${4:-$1} ok=0
    "start_$peer" || return 1
    "$what" "$row" "$n" "${5:-}" || ok=1
    "stop_$peer" || ok=1
    return "$ok"
}

# ------------------------------------------------------------------ the runs

CPU=$(lscpu | awk -F': *' '/^Model name/ {print $2; exit}')
NPROC=$(nproc)
KERNEL=$(uname -r)
CC_CLIENT=$(at_client sysctl -n net.ipv4.tcp_congestion_control)
CC_APPLIANCE=$(at_appliance sysctl -n net.ipv4.tcp_congestion_control)
CC_NETREAKTOR=$(awk '$1 == "congestion:" {print $2; exit}' "$CONFIG" 2>/dev/null || echo unknown)
read -ra PEER_LIST <<<"$PEERS"
read -ra CLIENT_LIST <<<"$CLIENTS"
# The rows: "PEER" for the kernel client (as before PERF_CLIENTS), "PEER CLIENT" otherwise.
row_name() { [[ $2 == kernel ]] && echo "$1" || echo "$1 $2"; }
ORDER=()
NOT_RUN=()
for client in "${CLIENT_LIST[@]}"; do
    for peer in "${PEER_LIST[@]}"; do
        if [[ $peer == haproxy && $client == ios13 ]]; then
            NOT_RUN+=("haproxy ios13: not run: kernel MPTCP has no v0, so an iOS 13 phone gets plain TCP, which the Wi-Fi cut ends")
            continue
        fi
        ORDER+=("$(row_name "$peer" "$client")")
    done
done
log "namespaces ${AT_PREFIX}-*; peers ${PEER_LIST[*]}; clients ${CLIENT_LIST[*]}; $TRIALS trials of a $BYTES-byte download at $RATE per radio, Wi-Fi cut at $CUT_AFTER s"

declare -A BROKEN=()
for client in "${CLIENT_LIST[@]}"; do
    for ((trial = 1; trial <= TRIALS; trial++)); do
        for peer in "${PEER_LIST[@]}"; do
            row=$(row_name "$peer" "$client")
            [[ $peer == haproxy && $client == ios13 ]] && continue
            [[ -n ${BROKEN[$row]:-} ]] && continue
            with_peer "$peer" handover_trial "$trial" "$row" "$client" || BROKEN[$row]=1
        done
    done
done
if [[ " ${CLIENT_LIST[*]} " == *" kernel "* ]]; then
    for ((round = 1; round <= GOODPUT_ROUNDS; round++)); do
        for peer in "${PEER_LIST[@]}"; do
            [[ -n ${BROKEN[$peer]:-} ]] && continue
            with_peer "$peer" goodput_round "$round" || BROKEN[$peer]=1
        done
    done
fi

CPU="$CPU" NPROC="$NPROC" KERNEL="$KERNEL" CC_CLIENT="$CC_CLIENT" CC_APPLIANCE="$CC_APPLIANCE" \
    CC_NETREAKTOR="$CC_NETREAKTOR" ORDER="$(printf '%s\n' "${ORDER[@]}")" TRIALS="$TRIALS" RATE="$RATE" \
    NOT_RUN="$(printf '%s\n' "${NOT_RUN[@]}")" EMULATED_SECONDS="$EMULATED_SECONDS" \
    BYTES="$BYTES" CUT_AFTER="$CUT_AFTER" GOODPUT_ROUNDS="$GOODPUT_ROUNDS" \
    GOODPUT_BYTES="$GOODPUT_BYTES" \
    python3 - "$RESULTS" "$FAILURES" "$JSON" <<'EOF'
import json, math, os, statistics, sys
env = os.environ
results, failures, as_json = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
order = [r for r in env["ORDER"].split("\n") if r]
not_run = [r for r in env["NOT_RUN"].split("\n") if r]
stalls = {p: [] for p in order}
goodput = {p: [] for p in order}
failed = {p: 0 for p in order}
for line in open(results):
    kind, peer, _n, value, _detail = line.rstrip("\n").split("\t")
    if value == "fail":
        failed[peer] += 1
        continue
    (stalls if kind == "stall" else goodput)[peer].append(float(value))

def rank(values, q):
    """Nearest-rank percentile: the ceil(q * n)-th smallest value."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]

def ratio(a, b):
    return round(a / b, 3) if a is not None and b else None

summary = {}
for p in order:
    summary[p] = {
        "trials_ok": len(stalls[p]), "failed": failed[p],
        "stall_ms_p50": rank(stalls[p], 0.50), "stall_ms_p99": rank(stalls[p], 0.99),
        "stall_ms_min": min(stalls[p]) if stalls[p] else None,
        "goodput_gbps_median": round(statistics.median(goodput[p]), 3) if goodput[p] else None,
    }
KEYS = ("stall_ms_p50", "stall_ms_p99", "goodput_gbps_median")
# NetReaktor over HAProxy per client ("kernel" for the rows named by the peer alone).
ratios = {}
for p in order:
    peer, _, client = p.partition(" ")
    other = " ".join(["haproxy"] + ([client] if client else []))
    if peer == "netreaktor" and other in summary:
        ratios[client or "kernel"] = {k: ratio(summary[p].get(k), summary[other].get(k))
                                      for k in KEYS}
report = {
    "machine": {"cpu": env["CPU"], "nproc": int(env["NPROC"]), "kernel": env["KERNEL"]},
    "congestion_control": {"client": env["CC_CLIENT"], "appliance_kernel": env["CC_APPLIANCE"],
                           "netreaktor_config": env["CC_NETREAKTOR"]},
    "trials": int(env["TRIALS"]), "rate_per_radio": env["RATE"], "bytes": int(env["BYTES"]),
    "cut_after_s": float(env["CUT_AFTER"]),
    "goodput_rounds": int(env["GOODPUT_ROUNDS"]), "goodput_bytes": int(env["GOODPUT_BYTES"]),
    "percentile_method": "nearest rank; with fewer than 100 trials p99 is the maximum",
    "summary": summary,
    "stalls_ms": stalls, "goodput_gbps": goodput,
    "ratio_netreaktor_over_haproxy": ratios.get("kernel", {k: None for k in KEYS}),
    "ratios_by_client": ratios,
    "failures": [l.strip() for l in open(failures) if l.strip()],
    "not_run": not_run,
    "emulated_seconds": float(env["EMULATED_SECONDS"]),
}
if as_json:
    print(json.dumps(report))
    sys.exit(0)
m, cc = report["machine"], report["congestion_control"]
print(f"machine: {m['cpu']}, {m['nproc']} cores, kernel {m['kernel']}")
print(f"congestion control: client {cc['client']}, appliance kernel (HAProxy) "
      f"{cc['appliance_kernel']}, NetReaktor (config) {cc['netreaktor_config']}")
print(f"handover: {report['trials']} trials per peer (alternated), {report['bytes']} bytes at "
      f"{report['rate_per_radio']} per radio, Wi-Fi blackholed at {report['cut_after_s']} s; "
      f"p99 by nearest rank" + (" (= the maximum with < 100 trials)" if report["trials"] < 100 else ""))
print(f"goodput: {report['goodput_rounds']} rounds of {report['goodput_bytes']} bytes over two "
      f"subflows, no rate limit, median")
fmt = lambda v, d=1: "-" if v is None else f"{v:.{d}f}"
print(f"{'peer':<26}{'ok/fail':>9}{'stall p50 ms':>14}{'stall p99 ms':>14}{'min ms':>9}"
      f"{'goodput Gbit/s':>16}")
for p in order:
    s = summary[p]
    print(f"{p:<26}{str(s['trials_ok']) + '/' + str(s['failed']):>9}{fmt(s['stall_ms_p50']):>14}"
          f"{fmt(s['stall_ms_p99']):>14}{fmt(s['stall_ms_min']):>9}"
          f"{fmt(s['goodput_gbps_median'], 3):>16}")
for client, r in ratios.items():
    name = "netreaktor/haproxy" + ("" if client == "kernel" else " " + client)
    print(f"{name:<26}{'':>9}{fmt(r['stall_ms_p50'], 3):>14}{fmt(r['stall_ms_p99'], 3):>14}"
          f"{'':>9}{fmt(r['goodput_gbps_median'], 3):>16}")
for p in order:
    print(f"stalls {p} (ms): " + " ".join(f"{v:.0f}" for v in stalls[p]))
for n in not_run:
    print(f"NOT RUN: {n}")
for f in report["failures"]:
    print(f"FAILURE: {f}")
EOF

[[ -s $FAILURES ]] && exit 1
exit 0
