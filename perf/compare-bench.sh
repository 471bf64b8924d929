#!/usr/bin/env bash
# netreaktor-bench through NetReaktor vs HAProxy on kernel MPTCP, side by side in one run:
# throughput, connection rate and request/response latency.
#
# Brings up the appliance testbed (tests/scripts/lib/appliance-testbed.sh): the client with
# Wi-Fi (10.1.0.2, default route) and cellular (10.2.0.2, a `subflow` endpoint), the router,
# the appliance serving 10.9.0.2:80, and as the origin `netreaktor-bench server --tcp` on
# 10.10.0.2:8080 (plain TCP; the bench's 32-byte header passes through a TCP proxy as data).
# The peers, each started fresh for its round:
#   haproxy     HAProxy under `mptcpize run` (its listener is kernel MPTCP), `mode tcp`,
#               bind 10.9.0.2:80 -> server 10.10.0.2:8080, nbthread PERF_HAPROXY_THREADS;
#   netreaktor  `netreaktor run -c configs/demo.yaml` (user-space MPTCP over AF_XDP).
# The client is `netreaktor-bench client --mptcp -c 10.9.0.2:80 --json` (kernel MPTCP, two
# subflows) running, per peer and round, each of
#   download      throughput -t T -R            upload    throughput -t T
#   download_p8   throughput -t T -R -P 8       connect   connect -t T -P 8 --bytes 1024
#   rr            rr -t T --rate PERF_RR_RATE --size 64
# Rounds alternate the peers (haproxy, netreaktor, haproxy, ...), so load from elsewhere on the
# VM hits both alike. The report: per peer the median over the rounds of each figure, and the
# ratios NetReaktor/HAProxy; `--json` prints it as one JSON object with every bench document.
#
#   sudo perf/compare-bench.sh [--json]
#   sudo PERF_SECONDS=2 PERF_ROUNDS=1 perf/compare-bench.sh      # a quick check
#
# Environment (defaults):
#   PERF_SECONDS=10          T, seconds of each scenario
#   PERF_ROUNDS=3            PERF_PEERS="haproxy netreaktor"
#   PERF_RR_RATE=2000        requests/s of the rr scenario (one connection, 64-byte messages)
#   PERF_SCENARIOS="download upload download_p8 connect rr"   the scenarios to run
#   PERF_HAPROXY_THREADS=2   HAProxy nbthread (the VMs have 2 cores; NetReaktor runs 2 workers)
#   PERF_BIN=$CARGO_TARGET_DIR/release/netreaktor or target/release/netreaktor
#   PERF_BENCH=$CARGO_TARGET_DIR/release/netreaktor-bench or target/release/netreaktor-bench
#   PERF_CONFIG=configs/demo.yaml
# Exits 1 when a peer fails (not ready, a bench run that fails or reports a problem, a
# non-zero exit on SIGTERM); the report still prints, with the failure named.
#
# shellcheck disable=SC2317 # start_*, stop_* and perf_cleanup are called indirectly
set -euo pipefail
# Paths given relative to where the script was called from stay so after the cd below.
[[ -n ${PERF_BIN:-} && $PERF_BIN != /* ]] && PERF_BIN="$PWD/$PERF_BIN"
[[ -n ${PERF_BENCH:-} && $PERF_BENCH != /* ]] && PERF_BENCH="$PWD/$PERF_BENCH"
[[ -n ${PERF_CONFIG:-} && $PERF_CONFIG != /* ]] && PERF_CONFIG="$PWD/$PERF_CONFIG"
cd "$(dirname "$0")/.."

SECONDS_EACH=${PERF_SECONDS:-10}
ROUNDS=${PERF_ROUNDS:-3}
PEERS=${PERF_PEERS:-haproxy netreaktor}
RR_RATE=${PERF_RR_RATE:-2000}
ONLY=${PERF_SCENARIOS:-download upload download_p8 connect rr}
HAPROXY_THREADS=${PERF_HAPROXY_THREADS:-2}
CONFIG=${PERF_CONFIG:-configs/demo.yaml}
BIN=${PERF_BIN:-${CARGO_TARGET_DIR:-target}/release/netreaktor}
BENCH=${PERF_BENCH:-${CARGO_TARGET_DIR:-target}/release/netreaktor-bench}
SERVICE_PORT=80
READY_TIMEOUT=20
# name, then the scenario's arguments (T stands for PERF_SECONDS, RATE for PERF_RR_RATE).
SCENARIOS=(
    "download throughput -t T -R"
    "upload throughput -t T"
    "download_p8 throughput -t T -R -P 8"
    "connect connect -t T -P 8 --bytes 1024"
    "rr rr -t T --rate RATE --size 64"
)

# shellcheck source=SCRIPTDIR/lib/run.sh
source perf/lib/run.sh
perf_cli compare-bench "non-zero exit on SIGTERM" "$@"
[[ -x $BENCH ]] || {
    log "$BENCH missing: cargo build --release -p netreaktor-bench"
    exit 1
}
# The peers (perf/lib/peers.sh): HAProxy under mptcpize, and NetReaktor.
HAPROXY_MPTCP=1
HAPROXY_MAXCONN=4000
# shellcheck source=SCRIPTDIR/lib/peers.sh
source perf/lib/peers.sh
peers_check "$PEERS"

# $RESULTS: peer, scenario, round, bench JSON file or "fail"
perf_run_start
# The kernel server's side (HAProxy): room for the client's joins.
at_appliance ip mptcp limits set subflows 4 add_addr_accepted 0
# The connect scenario opens thousands of connections, and the client closes first: let the
# client (and HAProxy toward the origin) reuse ports in TIME_WAIT, so one peer's run does not
# leave the next one short of ports. NetReaktor's own stack does not read these.
at_client sysctl -qw net.ipv4.tcp_tw_reuse=1
at_appliance sysctl -qw net.ipv4.tcp_tw_reuse=1


# ------------------------------------------------------------------ origin and client

# The bench's own server as the origin, for the whole run (sink, source and echo).
start_origin() {
    ip netns exec "$AT_ORIGIN" "$BENCH" server --tcp -l "$AT_ORIGIN_ADDR:$AT_ORIGIN_PORT" \
        >"$WORK/origin.log" 2>&1 &
    ORIGIN_PID=$!
    at_wait_listen "$AT_ORIGIN" "$AT_ORIGIN_PORT"
}

# One bench run: $1 peer, $2 round, $3 the SCENARIOS entry. Appends one line to $RESULTS;
# returns 1 when the run failed (exit status 1: problems in its report; 2: an error).
measure() {
    local peer=$1 round=$2 words=() name args=() out rc=0 a
    read -ra words <<<"$3"
    name=${words[0]}
    for a in "${words[@]:1}"; do
        case $a in
            T) args+=("$SECONDS_EACH") ;;
            RATE) args+=("$RR_RATE") ;;
            *) args+=("$a") ;;
        esac
    done
    out="$WORK/$peer.$name.$round.json"
    # Every scenario starts with the client's ports free: its TIME-WAIT sockets from the
    # scenario before (of either peer) are destroyed. Otherwise a connect run leaves the
    # cellular address's ports for joins (bind(2) takes only ports not in TIME-WAIT, about
    # 14,000 of them) used up for a minute, and the next peer's connect run gets no joins.
    at_client ss -K -tan state time-wait >/dev/null 2>&1 || true
    if ! kill -0 "$ORIGIN_PID" 2>/dev/null; then
        log "the origin died (restarting it); its output: $(tail -n 3 "$WORK/origin.log" | tr '\n' ' ')"
        start_origin
    fi
    at_client timeout $((SECONDS_EACH * 3 + 30)) "$BENCH" client --mptcp \
        -c "$AT_SERVICE_ADDR:$SERVICE_PORT" --json "${args[@]}" >"$out" 2>"$WORK/client.err" || rc=$?
    if ((rc != 0)); then
        fail_peer "$peer $name round $round: netreaktor-bench exit status $rc: $(problems "$out")"
        echo -e "$peer\t$name\t$round\tfail" >>"$RESULTS"
        return 1
    fi
    log "$peer $name round $round: $(headline "$out")"
    echo -e "$peer\t$name\t$round\t$out" >>"$RESULTS"
}

# The problems a bench report $1 lists, or its stderr.
problems() {
    python3 -c 'import json, sys
print("; ".join(json.load(open(sys.argv[1])).get("problems", []))[:300])' "$1" 2>/dev/null ||
        tail -n 3 "$WORK/client.err" | tr '\n' ' '
}

# One line on a bench report $1, for the progress log.
headline() {
    python3 -c 'import json, sys
d = json.load(open(sys.argv[1])); r = d["results"]; s = d["scenario"]
if s == "throughput": print("%.3f Gbit/s" % (r["goodput_bps"] / 1e9))
elif s == "connect": print("%.0f connections/s, %d failed" % (r["per_second"], r["connections_failed"]))
else: print("p50 %d us, p99 %d us, p99.9 %d us at %.0f/s" % (r["latency"]["p50_us"],
    r["latency"]["p99_us"], r["latency"]["p999_us"], r["achieved_rate"]))' "$1" 2>/dev/null || echo "?"
}

# One round of peer $1: start it, every scenario, stop it. Returns 1 on a failure.
run_peer() {
    local peer=$1 round=$2 ok=0 s
    "start_$peer" || return 1
    for s in "${SCENARIOS[@]}"; do
        [[ " $ONLY " == *" ${s%% *} "* ]] || continue
        measure "$peer" "$round" "$s" || ok=1
    done
    "stop_$peer" || ok=1
    return "$ok"
}

# ------------------------------------------------------------------ the runs

CPU=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
NPROC=$(nproc)
KERNEL=$(uname -r)
CC_CLIENT=$(at_client sysctl -n net.ipv4.tcp_congestion_control)
CC_ORIGIN=$(at_origin sysctl -n net.ipv4.tcp_congestion_control)
CC_APPLIANCE=$(at_appliance sysctl -n net.ipv4.tcp_congestion_control)
CC_NETREAKTOR=$(awk '$1 == "congestion:" {print $2; exit}' "$CONFIG" 2>/dev/null || echo unknown)
read -ra ORDER <<<"$PEERS"
log "namespaces ${AT_PREFIX}-*; peers ${ORDER[*]}; scenarios $ONLY x ${SECONDS_EACH}s x $ROUNDS rounds"

start_origin
declare -A BROKEN=()
for ((round = 1; round <= ROUNDS; round++)); do
    for peer in "${ORDER[@]}"; do
        [[ -n ${BROKEN[$peer]:-} ]] && continue
        run_peer "$peer" "$round" || BROKEN[$peer]=1
    done
done

CPU="$CPU" NPROC="$NPROC" KERNEL="$KERNEL" CC_CLIENT="$CC_CLIENT" CC_ORIGIN="$CC_ORIGIN" \
    CC_APPLIANCE="$CC_APPLIANCE" CC_NETREAKTOR="$CC_NETREAKTOR" ORDER="${ORDER[*]}" \
    SECONDS_EACH="$SECONDS_EACH" ROUNDS="$ROUNDS" RR_RATE="$RR_RATE" \
    HAPROXY_THREADS="$HAPROXY_THREADS" \
    python3 - "$RESULTS" "$FAILURES" "$JSON" <<'EOF'
import json, os, statistics, sys
env = os.environ
results, failures, as_json = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
order = env["ORDER"].split()

# The figures of one bench document, by name: (value, unit, better when higher).
def figures(doc):
    r, s = doc["results"], doc["scenario"]
    if s == "throughput":
        return {"goodput_gbps": r["goodput_bps"] / 1e9}
    if s == "connect":
        return {"connections_per_s": r["per_second"],
                "connections_failed": r["connections_failed"],
                "setup_p50_us": r["setup"]["p50_us"], "setup_p99_us": r["setup"]["p99_us"]}
    lat = r["latency"]
    return {"p50_us": lat["p50_us"], "p90_us": lat["p90_us"], "p99_us": lat["p99_us"],
            "p999_us": lat["p999_us"], "max_us": lat["max_us"],
            "achieved_rate": r["achieved_rate"]}

documents = {p: {} for p in order}   # peer -> scenario -> [bench document per round]
runs = {p: {} for p in order}        # peer -> scenario -> figure -> [value per round]
failed = {p: 0 for p in order}
for line in open(results):
    peer, name, _round, path = line.rstrip("\n").split("\t")
    if path == "fail":
        failed[peer] += 1
        continue
    doc = json.load(open(path))
    documents[peer].setdefault(name, []).append(doc)
    for k, v in figures(doc).items():
        runs[peer].setdefault(name, {}).setdefault(k, []).append(v)

# The client namespace's MPTCP counters (MP_CAPABLE, joins, fallbacks), summed over rounds.
mptcp = {p: {} for p in order}
for p in order:
    for s, docs in documents[p].items():
        tally = mptcp[p].setdefault(s, {"capable": 0, "joins": 0, "fallbacks": 0})
        for doc in docs:
            m = doc.get("mptcp") or {}
            tally["capable"] += m.get("capable_client", 0)
            tally["joins"] += m.get("joins_client", 0)
            tally["fallbacks"] += m.get("fallbacks", 0)

median = {p: {s: {k: round(statistics.median(v), 3) for k, v in figs.items()}
              for s, figs in runs[p].items()} for p in order}
ratio = {}
for s, figs in median.get("haproxy", {}).items():
    for k, ha in figs.items():
        nr = median.get("netreaktor", {}).get(s, {}).get(k)
        ratio.setdefault(s, {})[k] = round(nr / ha, 3) if nr is not None and ha else None

warnings = []
for p in order:
    got = median[p].get("rr", {}).get("achieved_rate")
    if got is not None and got < 0.95 * float(env["RR_RATE"]):
        warnings.append(f"{p} sustained {got:.0f} of {env['RR_RATE']} requests/s in rr: "
                        "its latencies include queueing; lower PERF_RR_RATE")
report = {
    "machine": {"cpu": env["CPU"], "nproc": int(env["NPROC"]), "kernel": env["KERNEL"]},
    "congestion_control": {"client": env["CC_CLIENT"], "origin": env["CC_ORIGIN"],
                           "appliance_kernel": env["CC_APPLIANCE"],
                           "netreaktor_config": env["CC_NETREAKTOR"]},
    "seconds": float(env["SECONDS_EACH"]), "rounds": int(env["ROUNDS"]),
    "rr_rate": float(env["RR_RATE"]), "haproxy_nbthread": int(env["HAPROXY_THREADS"]),
    "peers": order,
    "scenarios": {
        "download": "throughput -R (origin to client), 1 connection",
        "upload": "throughput, 1 connection",
        "download_p8": "throughput -R -P 8",
        "connect": "connect -P 8 --bytes 1024",
        "rr": f"rr --rate {env['RR_RATE']} --size 64, 1 connection; latency corrected "
              "for coordinated omission",
    },
    "median": median,
    "runs": runs,
    "ratio_netreaktor_over_haproxy": ratio,
    "mptcp_client": mptcp,
    "failed_runs": failed,
    "failures": [l.strip() for l in open(failures) if l.strip()],
    "warnings": warnings,
    "documents": documents,
}
if as_json:
    print(json.dumps(report))
    sys.exit(0)

m, cc = report["machine"], report["congestion_control"]
print(f"machine: {m['cpu']}, {m['nproc']} cores, kernel {m['kernel']}")
print(f"congestion control: client {cc['client']}, origin {cc['origin']}, appliance kernel "
      f"(HAProxy) {cc['appliance_kernel']}, NetReaktor (config) {cc['netreaktor_config']}")
print(f"netreaktor-bench over kernel MPTCP (2 subflows), {report['seconds']:g} s per scenario, "
      f"{report['rounds']} alternated round{'' if report['rounds'] == 1 else 's'}, HAProxy nbthread {report['haproxy_nbthread']}; "
      "medians over the rounds")
cols = [("download", "goodput_gbps", "down Gb/s", 3), ("upload", "goodput_gbps", "up Gb/s", 3),
        ("download_p8", "goodput_gbps", "-P8 Gb/s", 3),
        ("connect", "connections_per_s", "conn/s", 0),
        ("rr", "p50_us", "rr p50 us", 0), ("rr", "p99_us", "p99 us", 0),
        ("rr", "p999_us", "p99.9 us", 0)]
def cell(v, d):
    return "-" if v is None else f"{v:.{d}f}"
print(f"{'peer':<20}" + "".join(f"{c[2]:>11}" for c in cols))
for p in order:
    print(f"{p:<20}" + "".join(f"{cell(median[p].get(s, {}).get(k), d):>11}"
                               for s, k, _, d in cols))
if "haproxy" in order and "netreaktor" in order:
    print(f"{'netreaktor/haproxy':<20}" + "".join(
        f"{cell(ratio.get(s, {}).get(k), 3):>11}" for s, k, _, _ in cols))
    print("(ratios: above 1 is better for goodput and conn/s, below 1 is better for latency)")
for p in order:
    f = median[p].get("connect", {}).get("connections_failed")
    if f:
        print(f"{p}: {f:.0f} connections failed in connect (median)")
for p in (p for p in order if mptcp[p]):
    print(f"MPTCP at the client, {p} (MP_CAPABLE/joins/fallbacks): " + ", ".join(
        f"{s} {t['capable']}/{t['joins']}/{t['fallbacks']}" for s, t in mptcp[p].items()))
for w in warnings:
    print(f"WARNING: {w}")
for f in report["failures"]:
    print(f"FAILURE: {f}")
EOF

[[ -s $FAILURES ]] && exit 1
exit 0
