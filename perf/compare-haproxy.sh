#!/usr/bin/env bash
# Goodput of NetReaktor vs HAProxy on the same topology, in one run, side by side.
#
# Brings up the appliance testbed (tests/scripts/lib/appliance-testbed.sh) with the appliance
# namespace as a plain host (no IP forwarding), an iperf3 server as the origin on
# 10.10.0.2:8080, and measures an iperf3 client in the client namespace against the service
# address 10.9.0.2:80, served in turn by
#   haproxy     HAProxy, kernel TCP, `mode tcp`, bind 10.9.0.2:80 -> server 10.10.0.2:8080;
#   netreaktor  `netreaktor run -c configs/demo.yaml` (AF_XDP, 2 workers on cores 0 and 1);
#   forward     reference only, not a peer: the appliance kernel routes (ip_forward=1) and the
#               client talks to 10.10.0.2:8080 directly, no proxy, no second TCP connection.
# Each round runs every peer once (paired, A B A B...), each a download (iperf3 -R) and an
# upload of PERF_SECONDS. Goodput is what the receiving iperf3 counted. The report gives the
# median over PERF_REPEAT rounds per peer and direction, and the ratio NetReaktor/HAProxy.
#
#   sudo perf/compare-haproxy.sh [--json]
#
# Environment (defaults):
#   PERF_SECONDS=10   PERF_REPEAT=3
#   PERF_PEERS="haproxy netreaktor"      PERF_FORWARD=1 (0: skip the kernel-forwarding reference)
#   PERF_BIN=$CARGO_TARGET_DIR/release/netreaktor or target/release/netreaktor (built when
#            missing and netreaktor is a peer)      PERF_CONFIG=configs/demo.yaml
#   PERF_HAPROXY_THREADS=2 (nbthread; the VM has 2 cores, NetReaktor runs 2 workers)
#   PERF_HAPROXY_SPLICE=0 (1: `option splice-auto`, kernel splice(2) between the sockets)
# Exits 1 when a peer fails (not ready, a failed transfer, a non-zero exit on SIGTERM); the
# report still prints, with the failure named.
#
# shellcheck disable=SC2317 # start_*, stop_* and perf_cleanup are called indirectly
set -euo pipefail
# Paths given relative to where the script was called from stay so after the cd below.
[[ -n ${PERF_BIN:-} && $PERF_BIN != /* ]] && PERF_BIN="$PWD/$PERF_BIN"
[[ -n ${PERF_CONFIG:-} && $PERF_CONFIG != /* ]] && PERF_CONFIG="$PWD/$PERF_CONFIG"
cd "$(dirname "$0")/.."

SECONDS_EACH=${PERF_SECONDS:-10}
REPEAT=${PERF_REPEAT:-3}
PEERS=${PERF_PEERS:-haproxy netreaktor}
FORWARD=${PERF_FORWARD:-1}
CONFIG=${PERF_CONFIG:-configs/demo.yaml}
HAPROXY_THREADS=${PERF_HAPROXY_THREADS:-2}
HAPROXY_SPLICE=${PERF_HAPROXY_SPLICE:-0}
BIN=${PERF_BIN:-${CARGO_TARGET_DIR:-target}/release/netreaktor}
SERVICE_PORT=80
READY_TIMEOUT=20

# shellcheck source=SCRIPTDIR/lib/run.sh
source perf/lib/run.sh
perf_cli compare-haproxy "report still prints" "$@"
command -v iperf3 >/dev/null || {
    log "iperf3 missing: run tests/scripts/setup.sh"
    exit 1
}
[[ " $PEERS " != *" haproxy "* ]] || command -v haproxy >/dev/null || {
    log "haproxy missing: run tests/scripts/setup.sh"
    exit 1
}
if [[ " $PEERS " == *" netreaktor "* && ! -f $CONFIG ]]; then
    log "$CONFIG missing"
    exit 1
fi
if [[ " $PEERS " == *" netreaktor "* && ! -x $BIN ]]; then
    log "$BIN missing: cargo build --release -p netreaktor"
    cargo build --release -p netreaktor >&2
fi

# $RESULTS: peer, direction, round, Gbit/s ("fail" when the transfer failed)
perf_run_start


# Background processes start with `ip netns exec ... &`, not the at_* helpers: a function in
# the background runs in a subshell, so $! would name the subshell and a signal would miss
# the process itself.

# One iperf3 test: $1 peer, $2 direction (download|upload), $3 round, $4 destination address,
# $5 destination port. A fresh one-off origin server per test, so a failed test leaves no
# stuck server behind. Appends one line to $RESULTS; returns 1 when the transfer failed.
measure() {
    local peer=$1 dir=$2 round=$3 addr=$4 port=$5 out="$WORK/iperf3.json" flags=() gbps
    [[ $dir == download ]] && flags=(-R)
    ip netns exec "$AT_ORIGIN" iperf3 -s -1 -p "$AT_ORIGIN_PORT" >/dev/null 2>&1 &
    ORIGIN_PID=$!
    at_wait_listen "$AT_ORIGIN" "$AT_ORIGIN_PORT"
    # iperf3 3.12 with -J may exit 0 after an error: its JSON's "error" field is what counts.
    if ! at_client timeout $((SECONDS_EACH + 20)) iperf3 -c "$addr" -p "$port" "${flags[@]}" \
        -t "$SECONDS_EACH" -J >"$out" 2>"$WORK/iperf3.err" ||
        ! gbps=$(received_gbps "$out"); then
        fail_peer "$peer $dir round $round: iperf3 failed: $(iperf3_error "$out")"
        echo -e "$peer\t$dir\t$round\tfail" >>"$RESULTS"
        stop_origin
        return 1
    fi
    stop_origin
    log "$peer $dir round $round: $gbps Gbit/s"
    echo -e "$peer\t$dir\t$round\t$gbps" >>"$RESULTS"
}

# The goodput the receiving side counted, in Gbit/s, from iperf3's JSON $1; fails on an error.
received_gbps() {
    python3 -c 'import json,sys
r = json.load(open(sys.argv[1]))
if "error" in r: sys.exit(1)
print("%.3f" % (r["end"]["sum_received"]["bits_per_second"] / 1e9))' "$1" 2>/dev/null
}

iperf3_error() {
    python3 -c 'import json,sys
try:
    print(json.load(open(sys.argv[1])).get("error", "no error in its JSON"))
except Exception:
    print("no JSON output")' "$1" 2>/dev/null
    tail -n 3 "$WORK/iperf3.err" 2>/dev/null | tr '\n' ' '
}

stop_origin() {
    kill "$ORIGIN_PID" 2>/dev/null || true
    wait "$ORIGIN_PID" 2>/dev/null || true
    ORIGIN_PID=""
}

# HAProxy (kernel TCP) and NetReaktor as the appliance.
# shellcheck source=SCRIPTDIR/lib/peers.sh
source perf/lib/peers.sh

# After NetReaktor's clean stop: the counters that say it carried the traffic.
netreaktor_stopped() {
    log "netreaktor stopped, exit 0; its final counters include:"
    grep -E 'frames_received_total|connections_accepted_total|frames_dropped_total.*[1-9][0-9]*$' \
        "$WORK/netreaktor.log" | grep -v ' 0$' | sed 's/^ */    /' >&2 || true
}

start_forward() { at_appliance sysctl -qw net.ipv4.ip_forward=1; }
stop_forward() { at_appliance sysctl -qw net.ipv4.ip_forward=0; }

# One round of peer $1: start it, a download and an upload, stop it. Returns 1 on failure.
run_peer() {
    local peer=$1 round=$2 addr=$AT_SERVICE_ADDR port=$SERVICE_PORT ok=0 dir
    if [[ $peer == forward ]]; then
        addr=$AT_ORIGIN_ADDR
        port=$AT_ORIGIN_PORT
    fi
    "start_$peer" || return 1
    for dir in download upload; do
        measure "$peer" "$dir" "$round" "$addr" "$port" || ok=1
    done
    "stop_$peer" || ok=1
    return "$ok"
}

# The machine and the congestion control, named with the numbers.
CPU=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
NPROC=$(nproc)
KERNEL=$(uname -r)
CC_CLIENT=$(at_client sysctl -n net.ipv4.tcp_congestion_control)
CC_ORIGIN=$(at_origin sysctl -n net.ipv4.tcp_congestion_control)
CC_APPLIANCE=$(at_appliance sysctl -n net.ipv4.tcp_congestion_control)
CC_NETREAKTOR=$(awk '$1 == "congestion:" {print $2; exit}' "$CONFIG" 2>/dev/null || echo unknown)

ORDER=()
for peer in $PEERS; do
    case $peer in
        haproxy | netreaktor) ORDER+=("$peer") ;;
        *)
            log "unknown peer $peer (haproxy, netreaktor)"
            exit 2
            ;;
    esac
done
[[ $FORWARD == 1 ]] && ORDER+=(forward)
log "namespaces ${AT_PREFIX}-*; ${#ORDER[@]} peers x 2 directions x ${SECONDS_EACH}s x $REPEAT rounds"

declare -A BROKEN=()
for ((round = 1; round <= REPEAT; round++)); do
    for peer in "${ORDER[@]}"; do
        [[ -n ${BROKEN[$peer]:-} ]] && continue
        run_peer "$peer" "$round" || BROKEN[$peer]=1
    done
done

# The report: medians per peer and direction, the ratio NetReaktor/HAProxy.
CPU="$CPU" NPROC="$NPROC" KERNEL="$KERNEL" CC_CLIENT="$CC_CLIENT" CC_ORIGIN="$CC_ORIGIN" \
    CC_APPLIANCE="$CC_APPLIANCE" CC_NETREAKTOR="$CC_NETREAKTOR" ORDER="${ORDER[*]}" \
    SECONDS_EACH="$SECONDS_EACH" REPEAT="$REPEAT" HAPROXY_THREADS="$HAPROXY_THREADS" \
    HAPROXY_SPLICE="$HAPROXY_SPLICE" \
    python3 - "$RESULTS" "$FAILURES" "$JSON" <<'EOF'
import json, os, statistics, sys
env = os.environ
results, failures, as_json = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
runs = {}
for line in open(results):
    peer, direction, _round, value = line.rstrip("\n").split("\t")
    runs.setdefault(peer, {}).setdefault(direction, [])
    if value != "fail":
        runs[peer][direction].append(float(value))
order = [p for p in env["ORDER"].split() if p in runs]
def median(peer, direction):
    values = runs.get(peer, {}).get(direction, [])
    return round(statistics.median(values), 3) if values else None
ratio = {}
for direction in ("download", "upload"):
    nr, ha = median("netreaktor", direction), median("haproxy", direction)
    ratio[direction] = round(nr / ha, 3) if nr is not None and ha else None
report = {
    "machine": {"cpu": env["CPU"], "nproc": int(env["NPROC"]), "kernel": env["KERNEL"]},
    "congestion_control": {"client": env["CC_CLIENT"], "origin": env["CC_ORIGIN"],
                           "appliance_kernel": env["CC_APPLIANCE"],
                           "netreaktor_config": env["CC_NETREAKTOR"]},
    "seconds": int(env["SECONDS_EACH"]), "repeat": int(env["REPEAT"]),
    "haproxy_nbthread": int(env["HAPROXY_THREADS"]),
    "haproxy_splice": env["HAPROXY_SPLICE"] == "1",
    "unit": "Gbit/s",
    "median": {p: {d: median(p, d) for d in ("download", "upload")} for p in order},
    "runs": {p: runs[p] for p in order},
    "ratio_netreaktor_over_haproxy": ratio,
    "reference": "forward (kernel IP forwarding, no proxy) is a reference, not a peer",
    "failures": [l.strip() for l in open(failures) if l.strip()],
}
if as_json:
    print(json.dumps(report))
    sys.exit(0)
m, cc = report["machine"], report["congestion_control"]
print(f"machine: {m['cpu']}, {m['nproc']} cores, kernel {m['kernel']}")
print(f"congestion control: client {cc['client']}, origin {cc['origin']}, "
      f"appliance kernel (HAProxy) {cc['appliance_kernel']}, "
      f"NetReaktor (config) {cc['netreaktor_config']}")
print(f"iperf3 {report['seconds']} s per test, {report['repeat']} paired rounds, "
      f"HAProxy nbthread {report['haproxy_nbthread']}, "
      f"splice {'on' if report['haproxy_splice'] else 'off'}; median goodput in Gbit/s")
fmt = lambda v: "-" if v is None else f"{v:.3f}"
print(f"{'peer':<24}{'download':>10}{'upload':>10}   runs (down | up)")
for p in order:
    label = p + (" (reference)" if p == "forward" else "")
    med = report["median"][p]
    rr = " | ".join(" ".join(f"{v:.2f}" for v in runs[p][d]) for d in ("download", "upload"))
    print(f"{label:<24}{fmt(med['download']):>10}{fmt(med['upload']):>10}   {rr}")
print(f"{'netreaktor/haproxy':<24}{fmt(ratio['download']):>10}{fmt(ratio['upload']):>10}")
for f in report["failures"]:
    print(f"FAILURE: {f}")
EOF

[[ -s $FAILURES ]] && exit 1
exit 0
