#!/usr/bin/env bash
# The end-to-end test of the appliance's data path on the appliance testbed
# (tests/scripts/lib/appliance-testbed.sh, without kernel forwarding: only the appliance can
# carry traffic). A real origin (tests/scripts/e2e_traffic.py origin) listens on
# 10.10.0.2:8080 in the origin namespace, the appliance runs in the appliance namespace with
# the service address 10.9.0.2:80, and clients in the client namespace check every byte:
#   a. a big upload and a big download (E2E_BIG_BYTES each, default 1 GiB), SHA-256 both ways;
#   b. 200 concurrent connections of random sizes (0..E2E_MANY_MAX_BYTES each way), all checked;
#   c. garbage frames (random IPv4 payloads, truncated TCP, bad TCP checksums, bad IP lengths,
#      well-formed TCP for no connection) sent from the router to srv0's MAC while 200 more
#      connections (all three close orders) run: they all pass; for netreaktor the
#      malformed and checksum drop counters and the unmatched-segment counter grow;
#   d. with a configuration whose only origin (10.10.0.2:8081) refuses, the client is reset;
#   e. origin closes first, and client closes first (half-close in both orders), checked;
#   f. a connection idle for 5 s then carries data;
#   k. 12 connections one after another from one pinned client port, each closed by the origin
#      first (so the appliance holds the 4-tuple in TIME-WAIT): every SYN is answered at once
#      (RFC 6191; the client kernel retransmits none) and every transfer is byte-exact;
#   l. for netreaktor: origin health with origins [10.10.0.2:8081 (refuses), 10.10.0.2:8080]:
#      40 concurrent connections all succeed (a refused attempt is retried on the good origin);
#      the refusing origin is ejected (the info log line, netreaktor_origin_up 0 for a worker
#      that counted 3 refusals); 40 more connections all succeed and no ejecting worker makes
#      another attempt to it (its refusal counters do not move: back-off 1m);
#   m. for netreaktor: configuration reload. 50 concurrent MPTCP downloads (kernel client under
#      mptcpize) run while the origin list is changed to a second origin (10.10.0.2:8082) and
#      `netreaktor reload` is run: it exits 0, the log says what changed, none of the 50 is
#      reset and all are byte-exact; new connections then reach the new origin (its
#      origin_connections_established_total grows, the old origin's series are gone); a file
#      with an unknown key is refused (exit 1, the check message logged at error,
#      config_reloads_total{result="refused"}), and traffic still flows on the running
#      configuration; a restart-only change (cores) is refused naming the field;
#   h. for netreaktor: after a SIGKILL, the next start works and carries traffic;
#   i. for netreaktor: while a download runs, a second `netreaktor run` with the same config
#      exits non-zero naming the running instance's pid, and changes nothing: the download
#      completes byte-exact and the first instance's redirected-frame counter keeps growing;
#   j. for netreaktor: SIGTERM while a download runs: /readyz answers 503 "draining" at once,
#      the download completes byte-exact (the drain lets it finish), then the exit status is 0;
#   g. for netreaktor: both workers carried frames and connections; after each stop (SIGTERM,
#      exit status 0) no XDP program remains on srv0 and org0, and the links and addresses of
#      all four namespaces are as before the start (checked in both modes).
#
#   sudo tests/scripts/appliance-e2e.sh                      # netreaktor, target/release
#   sudo E2E_APPLIANCE=haproxy tests/scripts/appliance-e2e.sh # HAProxy (mode tcp) as appliance
#
# Environment: E2E_APPLIANCE (netreaktor|haproxy), E2E_BIN, E2E_BIG_BYTES, E2E_MANY_COUNT
# (200), E2E_MANY_MAX_BYTES (2000000), E2E_GARBAGE_COUNT (frames of each kind, 3000),
# E2E_IDLE_SECONDS (5), E2E_KEEP_GOING (1: a failed traffic step is reported and the run goes
# on to the next; the script still fails at the end). The appliance's output goes to a log
# printed on failure.
set -euo pipefail
cd "$(dirname "$0")/../.."

APPLIANCE=${E2E_APPLIANCE:-netreaktor}
BIN=${E2E_BIN:-target/release/netreaktor}
BIG=${E2E_BIG_BYTES:-1073741824}
MANY_COUNT=${E2E_MANY_COUNT:-200}
MANY_MAX=${E2E_MANY_MAX_BYTES:-2000000}
GARBAGE_COUNT=${E2E_GARBAGE_COUNT:-3000}
IDLE_SECONDS=${E2E_IDLE_SECONDS:-5}
KEEP_GOING=${E2E_KEEP_GOING:-}
FAILED_STEPS=0
TRAFFIC=tests/scripts/e2e_traffic.py
METRICS_URL=http://127.0.0.1:9100/metrics

say() { echo "appliance-e2e: $*"; }

if [[ $(id -u) -ne 0 ]]; then
    echo "appliance-e2e: SKIPPED, needs root (network namespaces)" >&2
    exit 0
fi
case $APPLIANCE in
netreaktor)
    [[ -x $BIN ]] || {
        echo "appliance-e2e: FAIL: no netreaktor binary at $BIN (set E2E_BIN)" >&2
        exit 1
    }
    ;;
haproxy) command -v haproxy >/dev/null || {
    echo "appliance-e2e: FAIL: haproxy not installed (tests/scripts/setup.sh)" >&2
    exit 1
} ;;
*)
    echo "appliance-e2e: FAIL: E2E_APPLIANCE must be netreaktor or haproxy" >&2
    exit 1
    ;;
esac

WORK=$(mktemp -d /tmp/appliance-e2e.XXXXXX)
LOG=$WORK/appliance.log
ORIGIN_LOG=$WORK/origin.log
APPLIANCE_PID=""
ORIGIN_PID=""
ORIGIN2_PID=""
LOGS_SHOWN=""
PASSED=""
T0=$(date +%s.%N)

show_logs() {
    [[ -z $LOGS_SHOWN ]] || return 0
    LOGS_SHOWN=1
    echo "----- appliance log ($LOG) -----" >&2
    tail -n 100 "$LOG" >&2 2>/dev/null || true
    echo "----- origin log ($ORIGIN_LOG) -----" >&2
    tail -n 20 "$ORIGIN_LOG" >&2 2>/dev/null || true
}

# Runs first on exit and on failure (then the lib removes the namespaces); safe to run twice.
cleanup() {
    local rc=$?
    local pid
    for pid in $APPLIANCE_PID $ORIGIN_PID $ORIGIN2_PID; do
        kill "$pid" 2>/dev/null || true
    done
    APPLIANCE_PID=""
    ORIGIN_PID=""
    ORIGIN2_PID=""
    if ((rc != 0)); then
        show_logs
    fi
    if [[ -n $PASSED ]]; then
        rm -rf "$WORK"
    fi
}

fail() {
    echo "appliance-e2e: FAIL: $*" >&2
    show_logs
    exit 1
}

# A failed step: fatal, unless E2E_KEEP_GOING is set (then counted; returns 1).
fail_step() {
    [[ -n $KEEP_GOING ]] || fail "$@"
    echo "appliance-e2e: FAIL: $*" >&2
    FAILED_STEPS=$((FAILED_STEPS + 1))
    return 1
}

# Seconds since $1 (a `date +%s.%N`), one decimal.
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

# shellcheck source=lib/appliance-testbed.sh
source tests/scripts/lib/appliance-testbed.sh
appliance_testbed_trap cleanup
# shellcheck disable=SC2119 # no "forward": only the appliance carries traffic
appliance_testbed_up
SERVICE="$AT_SERVICE_ADDR:80"
say "namespaces ${AT_PREFIX}-{client,router,appliance,origin}, appliance: $APPLIANCE"

# ------------------------------------------------------------------ configurations

# Writes the configuration for origins "$2" (ADDR:PORT) to file $1.
write_config() {
    local file=$1 origin=$2
    if [[ $APPLIANCE == netreaktor ]]; then
        sed -e "s/\"10\.10\.0\.2:8080\"/\"$origin\"/" configs/demo.yaml >"$file"
        grep -q "\"$origin\"" "$file" || fail "could not set the origin in $file"
        "$BIN" check -c "$file" >>"$LOG" 2>&1 || fail "netreaktor check -c $file"
    else
        cat >"$file" <<EOF
global
    maxconn 4000
defaults
    mode tcp
    timeout connect 1s
    timeout client 60s
    timeout server 60s
    timeout client-fin 30s
    timeout server-fin 30s
frontend service
    bind $SERVICE
    default_backend origins
backend origins
    server origin1 $origin
EOF
    fi
}

# ------------------------------------------------------------------ the appliance

# Starts the appliance with config $1 (lib/appliance-testbed.sh: at_appliance_start).
start_appliance() { at_appliance_start "$1" || fail "$AT_ERROR"; }

# Stops it: exit status 0 within 10 s, no panic (at_appliance_stop).
stop_appliance() { at_appliance_stop || fail "$AT_ERROR"; }

# The links and addresses of every namespace of the testbed (IPv6 link-local addresses, which
# the kernel adds on its own once a link has carrier, left out).
link_state() {
    local ns
    for ns in "$AT_CLIENT" "$AT_ROUTER" "$AT_APPLIANCE" "$AT_ORIGIN"; do
        echo "== $ns"
        ip -n "$ns" -o link show
        ip -n "$ns" -o addr show | grep -v ' inet6 fe80::' || true
    done
}

# Waits (up to 5 s) until every veth of the testbed has carrier, so the snapshot is settled.
wait_carrier() {
    local i state
    for i in $(seq 50); do
        state=$(link_state)
        [[ $state == *NO-CARRIER* ]] || return 0
        sleep 0.1
    done
    fail "links without carrier after 5 s (pass $i): $(link_state | grep NO-CARRIER)"
}

# After a stop: no XDP program on srv0 and org0, and links and addresses as at the start.
check_clean_after_stop() {
    local ifc
    for ifc in "$AT_CLIENT_IF" "$AT_ORIGIN_IF"; do
        if at_appliance ip link show dev "$ifc" | grep xdp >/dev/null; then
            fail "an XDP program remains on $ifc after stop: $(at_appliance ip link show dev "$ifc")"
        fi
    done
    link_state >"$WORK/links.after"
    diff -u "$WORK/links.before" "$WORK/links.after" >&2 ||
        fail "the testbed's links or addresses changed"
}

# ------------------------------------------------------------------ metrics (netreaktor)

metrics() { at_appliance curl -sf --max-time 5 "$METRICS_URL"; }

# Redirected frames counted by the steering program on the client-facing interface, in
# metrics file $1.
redirected() { at_metric_sum netreaktor_xdp_frames_total "$1" "interface=\"$AT_CLIENT_IF\",verdict=\"redirected\""; }

# GET /readyz: "STATUS BODY" (the body's newline dropped).
readyz() {
    local body
    body=$(at_appliance curl -s --max-time 5 -w ' %{http_code}' "${METRICS_URL%/metrics}/readyz") || true
    echo "${body##* } ${body% *}"
}

# Limits the router's link to the client's Wi-Fi, so a download of a few tens of MB lasts
# seconds (at_unshape undoes it).
at_shape() { at_router tc qdisc add dev r-wifi root tbf rate 100mbit burst 64kb latency 100ms; }
at_unshape() { at_router tc qdisc del dev r-wifi root 2>/dev/null || true; }

# ------------------------------------------------------------------ traffic

# SYNs the client namespace's kernel has retransmitted so far (TcpExt TCPSynRetrans).
syn_retransmissions() {
    at_client awk '/^TcpExt:/ { if (!c) { for (i = 1; i <= NF; i++) if ($i == "TCPSynRetrans") c = i }
        else print $c }' /proc/net/netstat
}

traffic() { at_client python3 "$TRAFFIC" "$@" --connect "$SERVICE"; }

# Runs a traffic command in the client namespace; fails the test unless it passes. $1: label.
# Its JSON summary is left in $OUT.
run_traffic() {
    local label=$1
    shift
    if ! traffic "$@" >"$WORK/traffic.json" 2>&1; then
        fail_step "$label: $(cat "$WORK/traffic.json")" || true
        return 1
    fi
    OUT=$(cat "$WORK/traffic.json")
}

wait_carrier
link_state >"$WORK/links.before"
: >"$LOG"
ip netns exec "$AT_ORIGIN" python3 "$TRAFFIC" origin --listen "$AT_ORIGIN_ADDR:$AT_ORIGIN_PORT" >"$ORIGIN_LOG" 2>&1 &
ORIGIN_PID=$!
at_wait_listen "$AT_ORIGIN" "$AT_ORIGIN_PORT"

write_config "$WORK/base.conf" "$AT_ORIGIN_ADDR:$AT_ORIGIN_PORT"
write_config "$WORK/refused.conf" "$AT_ORIGIN_ADDR:8081"
if [[ $APPLIANCE == netreaktor ]]; then
    # Two origins, the first refusing; passive health with a back-off longer than step l.
    write_config "$WORK/health.conf" "$AT_ORIGIN_ADDR:8081\", \"$AT_ORIGIN_ADDR:$AT_ORIGIN_PORT"
    sed -i -e '/^      origins:/a\      health: {failures: 3, backoff: 1m, max_backoff: 5m}' "$WORK/health.conf"
    "$BIN" check -c "$WORK/health.conf" >>"$LOG" 2>&1 || fail "netreaktor check -c $WORK/health.conf"
fi
start_appliance "$WORK/base.conf"
say "$APPLIANCE ready"

# a. Big transfers, one each way.
t=$(date +%s.%N)
run_traffic "upload" client --up "$BIG" --down 0 --seed 11 --timeout 120 &&
    say "PASS a: upload of $BIG bytes, sha256 matches ($(since "$t") s) $OUT"
t=$(date +%s.%N)
run_traffic "download" client --up 0 --down "$BIG" --seed 12 --timeout 120 &&
    say "PASS a: download of $BIG bytes, sha256 matches ($(since "$t") s) $OUT"

# b. Many concurrent connections.
t=$(date +%s.%N)
run_traffic "many" many --count "$MANY_COUNT" --max-bytes "$MANY_MAX" --seed 21 &&
    say "PASS b: $MANY_COUNT concurrent connections, all verified ($(since "$t") s) $OUT"

# c. Garbage frames from the router to srv0 while connections run.
if [[ $APPLIANCE == netreaktor ]]; then
    metrics >"$WORK/metrics.before" || fail "GET $METRICS_URL"
fi
t=$(date +%s.%N)
srv_mac=$(at_appliance cat "/sys/class/net/$AT_CLIENT_IF/address")
rsrv_mac=$(at_router cat /sys/class/net/r-srv/address)
tx_before=$(at_router cat /sys/class/net/r-srv/statistics/tx_packets)
traffic many --count "$MANY_COUNT" --max-bytes "$MANY_MAX" --seed 31 --mixed-modes \
    >"$WORK/many-c.json" 2>&1 &
many_pid=$!
garbage=$(at_router python3 "$TRAFFIC" garbage --iface r-srv --dst-mac "$srv_mac" \
    --src-mac "$rsrv_mac" --dst "$SERVICE" --src 10.9.0.1 --count "$GARBAGE_COUNT" --seed 32 --pace 0.05) ||
    fail "c: sending garbage: $garbage"
tx_sent=$(($(at_router cat /sys/class/net/r-srv/statistics/tx_packets) - tx_before))
garbage_total=$((GARBAGE_COUNT * 5))
((tx_sent >= garbage_total)) || fail "c: r-srv sent $tx_sent frames, fewer than the $garbage_total garbage frames"
rc=0
wait "$many_pid" || rc=$?
c_ok=1
((rc == 0)) || fail_step "c: connections during garbage: $(cat "$WORK/many-c.json")" || c_ok=""
if [[ $APPLIANCE == netreaktor ]]; then
    metrics >"$WORK/metrics.after" || fail "GET $METRICS_URL"
    # Malformed frames and bad checksums are dropped and counted; well-formed segments for no
    # connection are answered with a RST (RFC 9293 §3.10.7.2) and counted as unmatched.
    drops=""
    for reason in malformed checksum; do
        before=$(at_metric_sum netreaktor_frames_dropped_total "$WORK/metrics.before" "reason=\"$reason\"")
        after=$(at_metric_sum netreaktor_frames_dropped_total "$WORK/metrics.after" "reason=\"$reason\"")
        drops+=" $reason +$((after - before))"
        if ((after <= before)); then
            fail_step "c: frames_dropped_total{reason=\"$reason\"} did not grow ($before -> $after)" || c_ok=""
        fi
    done
    before=$(at_metric_sum netreaktor_unmatched_segments_total "$WORK/metrics.before")
    after=$(at_metric_sum netreaktor_unmatched_segments_total "$WORK/metrics.after")
    drops+=" unmatched (answered with RST) +$((after - before))"
    if ((after <= before)); then
        fail_step "c: unmatched_segments_total did not grow ($before -> $after)" || c_ok=""
    fi
    say "c: frames dropped:$drops"
fi
[[ -z $c_ok ]] || say "PASS c: garbage frames $garbage; meanwhile $(cat "$WORK/many-c.json") ($(since "$t") s)"

# e. Half-close in both orders.
t=$(date +%s.%N)
run_traffic "client closes first" client --up 20000000 --down 30000000 --seed 41 \
    --mode client-first &&
    say "PASS e: client closes first (data flows after the client's FIN) $OUT"
run_traffic "origin closes first" client --up 30000000 --down 20000000 --seed 42 \
    --mode origin-first &&
    say "PASS e: origin closes first (data flows after the origin's FIN) $OUT ($(since "$t") s)"

# f. An idle connection survives.
run_traffic "idle" idle --seconds "$IDLE_SECONDS" --seed 51 &&
    say "PASS f: a connection idle for $IDLE_SECONDS s then carries data $OUT"

# k. Port reuse: the appliance holds each connection's 4-tuple in TIME-WAIT when the next SYN
# on it comes (RFC 6191).
syn_before=$(syn_retransmissions)
if run_traffic "reuse" reuse --port 47001 --rounds 12 --seed 71; then
    syn_retrans=$(($(syn_retransmissions) - syn_before))
    if ((syn_retrans == 0)); then
        say "PASS k: 12 connections from client port 47001, each over a 4-tuple the appliance held in TIME-WAIT: every SYN answered at once (client SYN retransmissions: 0), byte-exact $OUT"
    else
        fail_step "k: $syn_retrans SYNs on a reused 4-tuple went unanswered (the client retransmitted them) $OUT" || true
    fi
fi

# i. A second instance on the same interfaces, while a download runs through the first.
if [[ $APPLIANCE == netreaktor ]]; then
    at_shape
    t=$(date +%s.%N)
    traffic client --up 0 --down 80000000 --seed 61 --timeout 60 >"$WORK/i.json" 2>&1 &
    i_pid=$!
    sleep 1.5 # the download runs; the steering counters were copied since (about once a second)
    metrics >"$WORK/metrics.i0" || fail "GET $METRICS_URL"
    second_rc=0
    at_appliance "$BIN" run -c "$WORK/base.conf" >"$WORK/second.log" 2>&1 || second_rc=$?
    # The counters are copied about every 1.05 s: each 1.2 s window holds a copy.
    sleep 1.2
    metrics >"$WORK/metrics.i1" || fail "GET $METRICS_URL"
    sleep 1.2
    metrics >"$WORK/metrics.i2" || fail "GET $METRICS_URL"
    running=$(kill -0 "$i_pid" 2>/dev/null && echo "still running" || echo "finished")
    rc=0
    wait "$i_pid" || rc=$?
    at_unshape
    i_ok=1
    r0=$(redirected "$WORK/metrics.i0")
    r1=$(redirected "$WORK/metrics.i1")
    r2=$(redirected "$WORK/metrics.i2")
    refusal=$(grep -m1 'in use by another NetReaktor' "$WORK/second.log" || true)
    ((second_rc != 0)) || fail_step "i: the second instance exited 0: $(cat "$WORK/second.log")" || i_ok=""
    [[ $refusal == *"interface $AT_CLIENT_IF is in use by another NetReaktor (pid $APPLIANCE_PID,"* ]] ||
        fail_step "i: the second instance did not name pid $APPLIANCE_PID: $(cat "$WORK/second.log")" || i_ok=""
    if grep -q 'stale\|steering attached\|AF_XDP socket bound' "$WORK/second.log"; then
        fail_step "i: the second instance touched the interfaces: $(cat "$WORK/second.log")" || i_ok=""
    fi
    ((rc == 0)) || fail_step "i: the download through the first instance: $(cat "$WORK/i.json")" || i_ok=""
    ((r2 > r1 && r1 > r0)) ||
        fail_step "i: redirected frames on $AT_CLIENT_IF did not keep growing: $r0 -> $r1 -> $r2" || i_ok=""
    at_appliance ip link show dev "$AT_CLIENT_IF" | grep -q 'prog/xdp' ||
        fail_step "i: no XDP program left on $AT_CLIENT_IF" || i_ok=""
    [[ -z $i_ok ]] || say "PASS i: a second instance exited $second_rc (\"$refusal\"); the first one's download of 80000000 bytes matches ($(since "$t") s; $running 2.4 s after the refusal), redirected frames on $AT_CLIENT_IF before, 1.2 s and 2.4 s after: $r0 -> $r1 -> $r2 $(cat "$WORK/i.json")"
fi

# g (part). Both workers carried traffic.
if [[ $APPLIANCE == netreaktor ]]; then
    metrics >"$WORK/metrics.end" || fail "GET $METRICS_URL"
    for w in 0 1; do
        frames=$(at_metric_sum netreaktor_frames_received_total "$WORK/metrics.end" "worker=\"$w\"")
        conns=$(at_metric_sum netreaktor_connections_accepted_total "$WORK/metrics.end" "worker=\"$w\"")
        ((frames > 0 && conns > 0)) ||
            fail_step "g: worker $w: frames_received_total $frames, connections_accepted_total $conns" || true
        say "g: worker $w received $frames frames, accepted $conns connections"
    done
    # The live text, as Prometheus will scrape it: well formed, with the build, process and
    # AF_XDP socket families.
    promtool check metrics <"$WORK/metrics.end" >"$WORK/promtool.out" 2>&1 ||
        fail_step "g: promtool check metrics on the live text: $(cat "$WORK/promtool.out")" || true
    for family in netreaktor_build_info process_resident_memory_bytes netreaktor_afxdp_socket_events_total; do
        grep -q "^$family[{ ]" "$WORK/metrics.end" || fail_step "g: no $family in /metrics" || true
    done
    rss=$(at_metric_sum process_resident_memory_bytes "$WORK/metrics.end")
    say "g: /metrics passes promtool; resident memory $rss bytes"
fi

# j. SIGTERM while a download runs: not ready from the first moment of the drain, the
# download completes, then a clean exit.
if [[ $APPLIANCE == netreaktor ]]; then
    before=$(readyz)
    [[ $before == "200 ready" ]] || fail "j: /readyz before the drain: $before"
    at_shape
    t=$(date +%s.%N)
    traffic client --up 0 --down 40000000 --seed 71 --timeout 60 >"$WORK/j.json" 2>&1 &
    j_pid=$!
    sleep 1
    kill -TERM "$APPLIANCE_PID"
    sleep 0.2
    during=$(readyz)
    running=$(kill -0 "$j_pid" 2>/dev/null && echo "still running" || echo "finished")
    rc=0
    wait "$j_pid" || rc=$?
    at_unshape
    at_appliance_wait_exit SIGTERM || fail "j: $AT_ERROR"
    j_ok=1
    [[ $during == "503 draining" ]] || fail_step "j: /readyz during the drain: $during" || j_ok=""
    [[ $running == "still running" ]] || fail_step "j: the download ended before /readyz was asked" || j_ok=""
    ((rc == 0)) || fail_step "j: the download during the drain: $(cat "$WORK/j.json")" || j_ok=""
    drained=$(grep -o 'drained after=[^ ]*' "$LOG" | tail -n 1)
    [[ -n $drained ]] || fail_step "j: no 'drained' line in the log" || j_ok=""
    [[ -z $j_ok ]] || say "PASS j: /readyz \"$before\" then \"$during\" 0.2 s after SIGTERM (download $running); the download of 40000000 bytes matches ($(since "$t") s), $drained, exit 0 $(cat "$WORK/j.json")"
else
    stop_appliance
fi
check_clean_after_stop

# d. The only origin refuses: the client is reset.
start_appliance "$WORK/refused.conf"
# HAProxy, a kernel proxy, closes the client's connection with a FIN when no origin answers
# (after its retries); netreaktor must reset it. Either way the client must not hang.
if [[ $APPLIANCE == netreaktor ]]; then
    run_traffic "origin refuses" expect-reset &&
        say "PASS d: origin refuses -> client reset $OUT"
else
    run_traffic "origin refuses" expect-reset --allow-fin &&
        say "PASS d: origin refuses -> client's connection ends (haproxy: FIN allowed) $OUT"
fi
stop_appliance
check_clean_after_stop

# l. Origin health: the refusing origin is ejected, then gets no attempt from the workers that
# ejected it.
if [[ $APPLIANCE == netreaktor ]]; then
    start_appliance "$WORK/health.conf"
    dead_labels="pipeline=\"demo-http\",origin=\"$AT_ORIGIN_ADDR:8081\""
    l_ok=1
    run_traffic "health, first 40" many --count 40 --max-bytes 20000 --seed 41 || l_ok=""
    metrics >"$WORK/metrics.l1" || fail "GET $METRICS_URL"
    ejected_workers=()
    for w in 0 1; do
        refused=$(at_metric_sum netreaktor_origin_connect_failures_total "$WORK/metrics.l1" "worker=\"$w\",$dead_labels,reason=\"refused\"")
        up=$(at_metric_sum netreaktor_origin_up "$WORK/metrics.l1" "worker=\"$w\",$dead_labels")
        if ((refused >= 3)); then
            ((up == 0)) || fail_step "l: worker $w counted $refused refusals and still has origin_up $up" || l_ok=""
            ejected_workers+=("$w:$refused")
        fi
    done
    ((${#ejected_workers[@]} > 0)) || fail_step "l: no worker ejected $AT_ORIGIN_ADDR:8081" || l_ok=""
    grep -q "origin ejected .*pipeline=\"demo-http\" origin=$AT_ORIGIN_ADDR:8081" "$LOG" ||
        fail_step "l: no 'origin ejected' line in the log" || l_ok=""
    # The good origin is up, so the appliance stays ready.
    ready=$(readyz)
    [[ $ready == "200 ready" ]] || fail_step "l: /readyz with one origin up: $ready" || l_ok=""
    t=$(date +%s.%N)
    run_traffic "health, next 40" many --count 40 --max-bytes 20000 --seed 42 || l_ok=""
    metrics >"$WORK/metrics.l2" || fail "GET $METRICS_URL"
    for entry in "${ejected_workers[@]}"; do
        w=${entry%%:*}
        attempts1=$(at_metric_sum netreaktor_origin_connect_attempts_total "$WORK/metrics.l1" "worker=\"$w\",$dead_labels")
        attempts2=$(at_metric_sum netreaktor_origin_connect_attempts_total "$WORK/metrics.l2" "worker=\"$w\",$dead_labels")
        ((attempts1 == attempts2)) ||
            fail_step "l: worker $w ejected the origin yet tried it again ($attempts1 -> $attempts2)" || l_ok=""
    done
    [[ -z $l_ok ]] || say "PASS l: refusing origin ejected by worker(s) ${ejected_workers[*]} (worker:refusals), 40 + 40 connections verified, none tried it after its ejection ($(since "$t") s) $OUT"
    stop_appliance
    check_clean_after_stop
fi

# m. Reload while 50 MPTCP downloads run; then a bad file and a restart-only change refused.
if [[ $APPLIANCE == netreaktor ]]; then
    m_ok=1
    old_origin="$AT_ORIGIN_ADDR:$AT_ORIGIN_PORT"
    new_origin="$AT_ORIGIN_ADDR:8082"
    ip netns exec "$AT_ORIGIN" python3 "$TRAFFIC" origin --listen "$new_origin" >"$WORK/origin2.log" 2>&1 &
    ORIGIN2_PID=$!
    at_wait_listen "$AT_ORIGIN" 8082
    cp "$WORK/base.conf" "$WORK/live.conf"
    start_appliance "$WORK/live.conf"
    # Kernel MPTCP clients (mptcpize): $1 label, then `many` arguments; JSON left in $OUT.
    m_many() {
        local label=$1
        shift
        if ! at_client mptcpize run python3 "$TRAFFIC" many --connect "$SERVICE" "$@" >"$WORK/m.json" 2>&1; then
            fail_step "m: $label: $(cat "$WORK/m.json")" || true
            return 1
        fi
        OUT=$(cat "$WORK/m.json")
    }
    # The reload command's exit status and output: "RC OUTPUT".
    m_reload() {
        local out rc=0
        out=$("$BIN" reload -c "$WORK/live.conf" 2>&1) || rc=$?
        echo "$rc $out"
    }
    at_shape
    t=$(date +%s.%N)
    at_client mptcpize run python3 "$TRAFFIC" many --connect "$SERVICE" --count 50 \
        --min-bytes 3000000 --max-bytes 4000000 --seed 81 >"$WORK/m-during.json" 2>&1 &
    m_pid=$!
    sleep 1 # the 50 connections are open and carrying data
    metrics >"$WORK/metrics.m0" || fail "GET $METRICS_URL"
    held=$(at_metric_sum netreaktor_connections_active "$WORK/metrics.m0")
    sed -i -e "s/\"$old_origin\"/\"$new_origin\"/" "$WORK/live.conf"
    applied=$(m_reload)
    running=$(kill -0 "$m_pid" 2>/dev/null && echo "still running" || echo "finished")
    rc=0
    wait "$m_pid" || rc=$?
    at_unshape
    [[ $applied == "0 "*"reload applied"* ]] || fail_step "m: netreaktor reload: $applied" || m_ok=""
    changed="reload applied: pipeline demo-http forward.origins [$old_origin] -> [$new_origin]"
    grep -qF "$changed" "$LOG" || fail_step "m: no '$changed' line in the log" || m_ok=""
    ((rc == 0)) || fail_step "m: downloads during the reload: $(cat "$WORK/m-during.json")" || m_ok=""
    [[ $running == "still running" ]] || fail_step "m: the downloads ended before the reload" || m_ok=""
    during=$(cat "$WORK/m-during.json")
    m_many "after the reload" --count 20 --max-bytes 20000 --seed 82 || m_ok=""
    metrics >"$WORK/metrics.m1" || fail "GET $METRICS_URL"
    to_new=$(at_metric_sum netreaktor_origin_connections_established_total "$WORK/metrics.m1" "origin=\"$new_origin\"")
    ((to_new >= 20)) || fail_step "m: $to_new connections established to $new_origin after the reload" || m_ok=""
    if grep -q "origin=\"$old_origin\"" "$WORK/metrics.m1"; then
        fail_step "m: the removed origin $old_origin still has series" || m_ok=""
    fi
    mptcp=$(at_metric_sum netreaktor_mptcp_connections_total "$WORK/metrics.m1")
    ((mptcp >= 70)) || fail_step "m: only $mptcp MPTCP connections (kernel client under mptcpize)" || m_ok=""
    generation=$(at_metric_sum netreaktor_config_generation "$WORK/metrics.m1")
    ((generation == 2)) || fail_step "m: config generation $generation after one reload" || m_ok=""
    # A file that does not load is refused; the running configuration stays.
    cp "$WORK/live.conf" "$WORK/good.conf"
    echo "bogus_key: 1" >>"$WORK/live.conf"
    bad=$(m_reload)
    [[ $bad == "1 "*"reload refused"*"bogus_key"* ]] || fail_step "m: a bad file: $bad" || m_ok=""
    grep -q "ERROR.*reload refused: $WORK/live.conf:[0-9]*:[0-9]*: .*bogus_key" "$LOG" ||
        fail_step "m: no error line with the check message for the bad file" || m_ok=""
    m_many "after the refused reload" --count 20 --max-bytes 20000 --seed 83 || m_ok=""
    metrics >"$WORK/metrics.m2" || fail "GET $METRICS_URL"
    refused=$(at_metric_sum netreaktor_config_reloads_total "$WORK/metrics.m2" 'result="refused"')
    ((refused == 1)) || fail_step "m: config_reloads_total{result=\"refused\"} is $refused" || m_ok=""
    to_new2=$(at_metric_sum netreaktor_origin_connections_established_total "$WORK/metrics.m2" "origin=\"$new_origin\"")
    ((to_new2 >= to_new + 20)) || fail_step "m: traffic after the refusal: $to_new -> $to_new2 to $new_origin" || m_ok=""
    # A change only a restart makes is refused, naming the field.
    sed -e 's/^cores: \[0, 1\]/cores: [0]/' "$WORK/good.conf" >"$WORK/live.conf"
    restart=$(m_reload)
    [[ $restart == "1 "*"cores: [0, 1] -> [0]: a restart is needed"* ]] ||
        fail_step "m: a restart-only change: $restart" || m_ok=""
    metrics >"$WORK/metrics.m3" || fail "GET $METRICS_URL"
    generation=$(at_metric_sum netreaktor_config_generation "$WORK/metrics.m3")
    ((generation == 2)) || fail_step "m: config generation $generation after two refusals" || m_ok=""
    stop_appliance
    check_clean_after_stop
    kill "$ORIGIN2_PID" 2>/dev/null || true
    ORIGIN2_PID=""
    [[ -z $m_ok ]] || say "PASS m: origins [$old_origin] -> [$new_origin] reloaded while 50 MPTCP downloads ran ($held connections held at the reload; downloads $running then): ${applied#0 }; all 50 byte-exact, none reset $during; then 20 new connections reached $new_origin (established $to_new), $mptcp MPTCP connections in all; bad file refused (exit 1): ${bad#1 }; 20 more connections on the running configuration (established $to_new2); restart-only change refused (exit 1): ${restart#1 }; generation $generation ($(since "$t") s)"
fi

# h. A crash (SIGKILL: no clean-up at all) and a restart: the next start finds the interfaces
# usable (a program left attached is removed as stale) and carries traffic again.
if [[ $APPLIANCE == netreaktor ]]; then
    start_appliance "$WORK/base.conf"
    kill -KILL "$APPLIANCE_PID"
    wait "$APPLIANCE_PID" 2>/dev/null || true
    APPLIANCE_PID=""
    left="none"
    if at_appliance ip link show dev "$AT_CLIENT_IF" | grep xdp >/dev/null; then
        left="still attached"
    fi
    start_appliance "$WORK/base.conf"
    if run_traffic "after a crash" client --up 1000000 --down 1000000 --seed 77; then
        stale=$(grep -c 'removed a stale NetReaktor program' "$LOG" || true)
        say "PASS h: restart after SIGKILL carries traffic (program after the crash: $left; stale programs removed: $stale)"
    fi
    stop_appliance
    check_clean_after_stop
fi

((FAILED_STEPS == 0)) || fail "$FAILED_STEPS step(s) failed (E2E_KEEP_GOING)"
if grep -q '"event": "error"' "$ORIGIN_LOG"; then
    fail "the origin saw errors: $(grep '"event": "error"' "$ORIGIN_LOG" | head -3)"
fi
if [[ $APPLIANCE == netreaktor ]]; then
    say "PASS g: both workers carried traffic; exits 0 on SIGTERM; no XDP left on $AT_CLIENT_IF, $AT_ORIGIN_IF; links unchanged"
else
    say "PASS g: exits 0 on SIGUSR1; links unchanged (per-worker metrics skipped for haproxy)"
fi
PASSED=1
say "ok ($APPLIANCE, total $(since "$T0") s)"
