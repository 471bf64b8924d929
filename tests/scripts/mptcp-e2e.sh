#!/usr/bin/env bash
# The end-to-end MPTCP test against the Linux kernel's MPTCP client, on the appliance testbed
# (tests/scripts/lib/appliance-testbed.sh: client wifi0 10.1.0.2 + cell0 10.2.0.2 -> router ->
# appliance srv0, service address 10.9.0.2:80 -> origin 10.10.0.2:8080). The client is
# tests/scripts/mptcp_transfer.py on kernel MPTCP sockets; the origin is the same script over
# plain TCP. Steps (E2E_STEPS selects them, default all), each printing PASS/FAIL with numbers:
#   1. two subflows: a 1 GiB download and a 1 GiB upload, byte-exact (SHA-256); the client's
#      MIB (nstat) shows the joins acknowledged, no HMAC failure, no fallback; ss saw 2 subflows;
#   2. Wi-Fi blackholed at the router (both directions) ~1 s into a rate-limited download: it
#      completes byte-exact; the stall (longest gap between arrivals) is printed;
#   3. cell as a backup endpoint: while Wi-Fi is healthy the router sends < 256 KiB toward
#      the client on the cell link; after Wi-Fi is cut the rest of the data comes over cell;
#   4. ADD_ADDR: the appliance announces a second address 10.9.0.3; the client (no subflow
#      endpoint of its own) receives it and joins a subflow to it; byte-exact;
#   5. fallback: a plain TCP client (no MPTCP) downloads and uploads byte-exact;
#   6. forged MP_JOIN (tests/scripts/mptcp_forge_join.py, scapy): a join SYN with an unknown
#      token gets a RST; a join with the right token but a wrong third-ACK HMAC gets a RST;
#      the real connection whose token was used then transfers byte-exact;
#   8. DSS checksums: the client requires them (net.mptcp.checksum_enabled=1, MP_CAPABLE A=1):
#      a download and an upload over two subflows, byte-exact, with no checksum error
#      counted by the client (MPTcpExtDataCsumErr) and no fallback;
#   7. tshark on what the router saw on r-srv during the other steps: no malformed MPTCP
#      packet, no expert error on MPTCP fields; the MPTCP options counted by subtype.
#
#   sudo tests/scripts/mptcp-e2e.sh                        # netreaktor (target/release)
#   sudo E2E_APPLIANCE=haproxy tests/scripts/mptcp-e2e.sh  # HAProxy under mptcpize (kernel MPTCP)
#   sudo E2E_STEPS="2 3" E2E_APPLIANCE=haproxy tests/scripts/mptcp-e2e.sh
#
# Environment (defaults): E2E_APPLIANCE=netreaktor|haproxy, E2E_BIN
# ($CARGO_TARGET_DIR/release/netreaktor or target/release/netreaktor), E2E_CONFIG
# (configs/demo.yaml), E2E_STEPS ("1 2 3 4 5 6 7"), E2E_BIG_BYTES (1 GiB), E2E_CUT_BYTES
# (64 MiB, steps 2 and 3), E2E_RADIO_RATE (100mbit: tbf on the router's r-wifi and r-cell
# toward the client in steps 2-4), E2E_CUT_AFTER (1 s). A failed step does not stop the run;
# the script exits 1 when any step failed. The appliance's log is printed on failure.
set -euo pipefail
[[ -n ${E2E_BIN:-} && $E2E_BIN != /* ]] && E2E_BIN="$PWD/$E2E_BIN"
[[ -n ${E2E_CONFIG:-} && $E2E_CONFIG != /* ]] && E2E_CONFIG="$PWD/$E2E_CONFIG"
cd "$(dirname "$0")/../.."

APPLIANCE=${E2E_APPLIANCE:-netreaktor}
BIN=${E2E_BIN:-${CARGO_TARGET_DIR:-target}/release/netreaktor}
CONFIG=${E2E_CONFIG:-configs/demo.yaml}
STEPS=" ${E2E_STEPS:-1 2 3 4 5 6 8 7} "
BIG=${E2E_BIG_BYTES:-1073741824}
CUT_BYTES=${E2E_CUT_BYTES:-67108864}
RATE=${E2E_RADIO_RATE:-100mbit}
CUT_AFTER=${E2E_CUT_AFTER:-1}
TRANSFER=tests/scripts/mptcp_transfer.py
FORGE=tests/scripts/mptcp_forge_join.py
SECOND_ADDR=10.9.0.3
BACKUP_LIMIT=$((256 * 1024))
FAILED=0
CAPTURE=""
[[ $STEPS == *" 7 "* ]] && CAPTURE=1

say() { echo "mptcp-e2e: $*"; }
die() {
    echo "mptcp-e2e: FAIL: $*" >&2
    show_logs
    exit 1
}
pass() { say "PASS $*"; }
fail() {
    echo "mptcp-e2e: FAIL $*" >&2
    FAILED=$((FAILED + 1))
}
want() { [[ $STEPS == *" $1 "* ]]; }

if [[ $(id -u) -ne 0 ]]; then
    echo "mptcp-e2e: SKIPPED, needs root (network namespaces)" >&2
    exit 0
fi
case $APPLIANCE in
netreaktor) [[ -x $BIN ]] || die "no netreaktor binary at $BIN (set E2E_BIN)" ;;
haproxy)
    command -v haproxy >/dev/null || die "haproxy not installed (tests/scripts/setup.sh)"
    command -v mptcpize >/dev/null || die "mptcpize not installed (tests/scripts/setup.sh)"
    ;;
*) die "E2E_APPLIANCE must be netreaktor or haproxy" ;;
esac
# scapy is a Debian package: use the system's python3 for it (a pyenv python may lack it).
FORGE_PY=python3
python3 -c 'import scapy' 2>/dev/null || FORGE_PY=/usr/bin/python3
if want 6; then
    "$FORGE_PY" -c 'import scapy' 2>/dev/null || die "python3-scapy missing (tests/scripts/setup.sh)"
fi
for tool in nft tcpdump nstat; do
    command -v "$tool" >/dev/null || die "$tool missing (tests/scripts/setup.sh)"
done
if [[ -n $CAPTURE ]]; then command -v tshark >/dev/null || die "tshark missing (tests/scripts/setup.sh)"; fi

WORK=$(mktemp -d /tmp/mptcp-e2e.XXXXXX)
LOG=$WORK/appliance.log
APPLIANCE_PID=""
ORIGIN_PID=""
CLIENT_PID=""
CAPTURE_PID=""
WATCH_PID=""
LOGS_SHOWN=""
: >"$LOG"

show_logs() {
    [[ -z $LOGS_SHOWN ]] || return 0
    LOGS_SHOWN=1
    echo "----- appliance log ($LOG) -----" >&2
    tail -n 60 "$LOG" >&2 2>/dev/null || true
}

# Runs on exit (then the lib removes the namespaces); safe to run twice.
cleanup() {
    local rc=$? pid
    for pid in $CLIENT_PID $WATCH_PID $CAPTURE_PID $ORIGIN_PID $APPLIANCE_PID; do
        kill "$pid" 2>/dev/null || true
    done
    CLIENT_PID="" WATCH_PID="" CAPTURE_PID="" ORIGIN_PID="" APPLIANCE_PID=""
    if ((rc != 0 || FAILED != 0)); then
        show_logs
        echo "mptcp-e2e: work files kept in $WORK" >&2
    else
        rm -rf "$WORK"
    fi
}

# shellcheck source=SCRIPTDIR/lib/appliance-testbed.sh
source tests/scripts/lib/appliance-testbed.sh
# shellcheck source=SCRIPTDIR/lib/capture.sh
source tests/scripts/lib/capture.sh
appliance_testbed_trap cleanup
# shellcheck disable=SC2119 # no "forward": only the appliance carries traffic
appliance_testbed_up
SERVICE="$AT_SERVICE_ADDR:80"
# The second service address (step 4) lives on srv0 from the start, so ARP answers for it.
at_appliance ip addr add "$SECOND_ADDR/24" dev "$AT_CLIENT_IF"
say "namespaces ${AT_PREFIX}-{client,router,appliance,origin}, appliance: $APPLIANCE, steps:$STEPS"

# ------------------------------------------------------------------ the appliance

# Writes the appliance's configuration to $1; $2 "announce" adds the ADD_ADDR of step 4.
write_config() {
    local file=$1 announce=${2:-}
    if [[ $APPLIANCE == netreaktor ]]; then
        if [[ -n $announce ]]; then
            # 10.9.0.3 is private, which iOS ignores; the client here is Linux.
            sed -e "s/^\( *\)announce: \[\]/\1announce: [$SECOND_ADDR]\n\1announce_ignored_by_ios: true/" \
                "$CONFIG" >"$file"
            grep -q "announce: \[$SECOND_ADDR\]" "$file" || die "could not set announce in $file"
        else
            cp "$CONFIG" "$file"
        fi
        "$BIN" check -c "$file" >>"$LOG" 2>&1 || die "netreaktor check -c $file"
    else
        # Bound to both service addresses: a join toward 10.9.0.3 (step 4) needs a listener.
        cat >"$file" <<EOF
global
    maxconn 4000
defaults
    mode tcp
    timeout connect 2s
    timeout client 60s
    timeout server 60s
frontend service
    bind $AT_SERVICE_ADDR:80
    bind $SECOND_ADDR:80
    default_backend origins
backend origins
    server origin1 $AT_ORIGIN_ADDR:$AT_ORIGIN_PORT
EOF
    fi
}

# Starts the appliance with config $1 (lib/appliance-testbed.sh: at_appliance_start); HAProxy
# under mptcpize, so its listener is kernel MPTCP.
AT_HAPROXY_LAUNCHER=(mptcpize run)
start_appliance() { at_appliance_start "$1" || die "$AT_ERROR"; }

# Stops it: exit status 0 within 10 s, no panic (at_appliance_stop).
stop_appliance() { at_appliance_stop || die "$AT_ERROR"; }

# The sum over workers of NetReaktor's metric $1 (a full series name, such as
# netreaktor_mptcp_handover_stall_seconds_count), read from /metrics at the config's address.
nr_metric() {
    local listen
    listen=$(sed -n '/^metrics:/,/^[^ ]/s/^ *listen: *//p' "$CONFIG" | head -n 1)
    at_appliance curl -sf "http://${listen:-127.0.0.1:9100}/metrics" | at_metric_sum "$1" -
}

# ------------------------------------------------------------------ origin and client

# Starts a one-connection origin: $1 serve|sink, $2 bytes, $3 seed, $4 connections (1).
origin_start() {
    ip netns exec "$AT_ORIGIN" python3 "$TRANSFER" "$1" --tcp \
        --listen "$AT_ORIGIN_ADDR:$AT_ORIGIN_PORT" --bytes "$2" --seed "$3" --count "${4:-1}" \
        >>"$WORK/origin.log" 2>&1 &
    ORIGIN_PID=$!
    at_wait_listen "$AT_ORIGIN" "$AT_ORIGIN_PORT"
}

# Waits (up to 10 s) for the origin to finish its connections, then makes sure it is gone.
origin_stop() {
    local i
    for i in $(seq 100); do
        kill -0 "$ORIGIN_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill "$ORIGIN_PID" 2>/dev/null || true
    wait "$ORIGIN_PID" 2>/dev/null || true
    ORIGIN_PID=""
}

# A client transfer in the client namespace: $1 output file, then mptcp_transfer.py's
# arguments (fetch|push ...). Its JSON lines go to the file; its status is returned.
client() {
    local out=$1
    shift
    local mode=$1
    shift
    at_client timeout 300 python3 "$TRANSFER" "$mode" --connect "$SERVICE" "$@" >"$out" 2>&1
}

# The same in the background: $! (CLIENT_PID) is the transfer.
client_bg() {
    local out=$1 mode=$2
    shift 2
    ip netns exec "$AT_CLIENT" timeout 300 python3 "$TRANSFER" "$mode" --connect "$SERVICE" \
        "$@" >"$out" 2>&1 &
    CLIENT_PID=$!
}

client_wait() {
    local rc=0
    wait "$CLIENT_PID" || rc=$?
    CLIENT_PID=""
    return "$rc"
}

# Field $2 of the last JSON line of file $1 ("" when absent).
jget() {
    python3 -c 'import json, sys
lines = [l for l in open(sys.argv[1]) if l.startswith("{")]
print(json.loads(lines[-1]).get(sys.argv[2], "") if lines else "")' "$1" "$2" 2>/dev/null || true
}

# Whether the transfer summarised in $1 was byte-exact.
exact() { [[ $(jget "$1" integrity) == ok ]]; }

summary() { tail -n 1 "$1"; }

# Bytes received by the fetch writing to $1 so far (its last progress line).
received_so_far() { jget "$1" bytes; }

# ------------------------------------------------------------------ the client's MPTCP state

# The client's path manager: $1 "subflow" (cell as a subflow, the testbed's default),
# "backup" (cell as a backup subflow) or "none" (no endpoint: joins only on ADD_ADDR).
client_endpoints() {
    at_client ip mptcp endpoint flush
    case $1 in
    subflow) at_client ip mptcp endpoint add "$AT_CELL_ADDR" dev cell0 subflow ;;
    backup) at_client ip mptcp endpoint add "$AT_CELL_ADDR" dev cell0 subflow backup ;;
    none) ;;
    esac
}

# The MIB counters of namespace function $1 (at_client, at_appliance) into file $2.
mib_snap() { "$1" nstat -asz >"$2"; }

# The growth of counter $3 between snapshots $1 and $2.
mib_delta() {
    awk -v name="$3" 'FNR == 1 { file++ } $1 == name { v[file] = $2 }
        END { printf "%d\n", v[2] - v[1] }' "$1" "$2"
}

FALLBACK_COUNTERS="MPTcpExtMPCapableFallbackACK MPTcpExtMPCapableFallbackSYNACK
    MPTcpExtMPFallbackTokenInit MPTcpExtDSSCorruptionFallback MPTcpExtInfiniteMapRx
    MPTcpExtDssFallback MPTcpExtMPCapableDataFallback MPTcpExtMD5SigFallback
    MPTcpExtSimultConnectFallback MPTcpExtFallbackFailed"

# "NAME+N ..." for every fallback counter that grew between snapshots $1 and $2.
fallbacks() {
    local name d out=""
    for name in $FALLBACK_COUNTERS; do
        d=$(mib_delta "$1" "$2" "$name")
        ((d == 0)) || out+=" ${name#MPTcpExt}+$d"
    done
    echo "$out"
}

# Samples the client's TCP connections to port 80 (kernel MPTCP subflows show as TCP
# sockets) every 0.1 s into file $1 until watch_stop.
watch_start() {
    (while true; do
        at_client ss -Htn state established '( dport = :80 )' 2>/dev/null || true
        sleep 0.1
    done) >"$1" &
    WATCH_PID=$!
}

watch_stop() {
    kill "$WATCH_PID" 2>/dev/null || true
    wait "$WATCH_PID" 2>/dev/null || true
    WATCH_PID=""
}

# Distinct local->peer pairs seen in watch file $1 whose peer matches regex $2.
subflows_seen() {
    awk -v want="$2" '$NF ~ want { seen[$(NF - 1) " " $NF] = 1 }
        END { n = 0; for (k in seen) n++; print n }' "$1"
}

# ------------------------------------------------------------------ the router

# tbf on the router's links toward the client's radios (the download direction).
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

tx_bytes() { at_router cat "/sys/class/net/$1/statistics/tx_bytes"; }

# Captures what crosses r-srv (snaplen 200) into $WORK/cap-$1.pcap when step 7 runs.
# $2: at most this many packets (0: no limit); $3: a capture filter (default all TCP).
capture_start() {
    [[ -n $CAPTURE ]] || return 0
    local name=$1 count=${2:-0} filter=${3:-tcp} args=()
    ((count == 0)) || args=(-c "$count")
    tcpdump_start "$AT_ROUTER" "$WORK/cap-$name.pcap" -i r-srv -s 200 "${args[@]}" "$filter" ||
        die "$TCPDUMP_ERROR"
    CAPTURE_PID=$TCPDUMP_PID
    CAPTURE_PCAP=$WORK/cap-$name.pcap
}

capture_stop() {
    [[ -n $CAPTURE_PID ]] || return 0
    sleep 0.2
    tcpdump_stop "$CAPTURE_PID" "$CAPTURE_PCAP"
    CAPTURE_PID=""
}

# Control packets and every packet without a full-size payload: the options of each
# handshake, join, ADD_ADDR, DATA_ACK and DATA_FIN, without every bulk data segment.
CONTROL_FILTER='tcp and (len < 400 or tcp[tcpflags] & (tcp-syn|tcp-fin|tcp-rst) != 0)'

# ------------------------------------------------------------------ the steps

# 1. Two subflows, 1 GiB each way.
step1() {
    local out=$WORK/s1-down.json up=$WORK/s1-up.json n joins hmac fb capable wifi cell
    client_endpoints subflow
    mib_snap at_client "$WORK/s1.mib0"
    capture_start s1-down 20000
    origin_start serve "$BIG" 101
    watch_start "$WORK/s1.ss"
    wifi=$(tx_bytes r-wifi)
    cell=$(tx_bytes r-cell)
    client "$out" fetch --bytes "$BIG" --seed 101 || true
    wifi=$(($(tx_bytes r-wifi) - wifi))
    cell=$(($(tx_bytes r-cell) - cell))
    watch_stop
    origin_stop
    capture_stop
    if exact "$out"; then
        pass "1 download: $BIG bytes byte-exact (MPTCP socket), $(jget "$out" duration_s) s;" \
            "router sent toward the client: wifi $wifi B, cell $cell B"
    else
        fail "1 download: $(summary "$out")"
    fi
    n=$(subflows_seen "$WORK/s1.ss" "^$AT_SERVICE_ADDR:80\$")
    if ((n >= 2)); then
        pass "1 subflows: ss saw $n subflows to $SERVICE during the download"
    else
        fail "1 subflows: ss saw $n subflow(s) to $SERVICE during the download (want 2)"
    fi
    capture_start s1-up 20000
    origin_start sink "$BIG" 102
    client "$up" push --bytes "$BIG" --seed 102 || true
    origin_stop
    capture_stop
    if exact "$up"; then
        pass "1 upload: $BIG bytes byte-exact (MPTCP socket; checked by the origin), $(jget "$up" duration_s) s"
    else
        fail "1 upload: $(summary "$up")"
    fi
    mib_snap at_client "$WORK/s1.mib1"
    capable=$(mib_delta "$WORK/s1.mib0" "$WORK/s1.mib1" MPTcpExtMPCapableSYNACKRX)
    joins=$(mib_delta "$WORK/s1.mib0" "$WORK/s1.mib1" MPTcpExtMPJoinSynAckRx)
    hmac=$(($(mib_delta "$WORK/s1.mib0" "$WORK/s1.mib1" MPTcpExtMPJoinSynAckHMacFailure) +
        $(mib_delta "$WORK/s1.mib0" "$WORK/s1.mib1" MPTcpExtMPJoinAckHMacFailure)))
    fb=$(fallbacks "$WORK/s1.mib0" "$WORK/s1.mib1")
    if ((capable >= 2 && joins >= 2 && hmac == 0)) && [[ -z $fb ]]; then
        pass "1 nstat: MPCapableSYNACKRX +$capable, MPJoinSynAckRx +$joins, HMAC failures 0, no fallback"
    else
        fail "1 nstat: MPCapableSYNACKRX +$capable (want 2), MPJoinSynAckRx +$joins (want >= 2)," \
            "HMAC failures +$hmac (want 0), fallbacks:${fb:- none}"
    fi
}

# 2. Wi-Fi blackholed mid-download.
step2() {
    local out=$WORK/s2.json at_cut="" handovers0=0 handovers=0
    client_endpoints subflow
    [[ $APPLIANCE == netreaktor ]] && handovers0=$(nr_metric netreaktor_mptcp_handover_stall_seconds_count)
    shape_on
    capture_start s2 0 "$CONTROL_FILTER"
    origin_start serve "$CUT_BYTES" 201
    client_bg "$out" fetch --bytes "$CUT_BYTES" --seed 201 --progress 0.1
    sleep "$CUT_AFTER"
    at_cut=$(received_so_far "$out")
    at_cut wifi
    client_wait || true
    at_restore wifi
    origin_stop
    capture_stop
    shape_off
    if [[ $APPLIANCE == netreaktor ]]; then
        sleep 0.1 # workers publish every 10 ms
        handovers=$(($(nr_metric netreaktor_mptcp_handover_stall_seconds_count) - handovers0))
    fi
    if ! exact "$out"; then
        fail "2 Wi-Fi cut: $(summary "$out")"
    elif [[ -z $at_cut || $at_cut -ge $CUT_BYTES ]]; then
        fail "2 Wi-Fi cut: the cut came after the download (at ${at_cut:-?} bytes); lower E2E_RADIO_RATE"
    elif [[ $APPLIANCE == netreaktor && $handovers -lt 1 ]]; then
        fail "2 Wi-Fi cut: netreaktor_mptcp_handover_stall_seconds counted no handover"
    else
        pass "2 Wi-Fi cut after $CUT_AFTER s (at $at_cut of $CUT_BYTES bytes): byte-exact," \
            "stall $(jget "$out" stall_ms) ms, $(jget "$out" duration_s) s in all" \
            "${handovers:+(handover stalls in /metrics: +$handovers)}"
    fi
}

# 3. Cell as a backup subflow: idle while Wi-Fi works, the path after Wi-Fi is cut.
step3() {
    local out=$WORK/s3.json wifi0 cell0 cell_healthy cell_cut wifi_all cell_after at_cut
    client_endpoints backup
    shape_on
    capture_start s3 0 "$CONTROL_FILTER"
    origin_start serve "$CUT_BYTES" 301
    wifi0=$(tx_bytes r-wifi)
    cell0=$(tx_bytes r-cell)
    client_bg "$out" fetch --bytes "$CUT_BYTES" --seed 301 --progress 0.1
    sleep "$CUT_AFTER"
    at_appliance ss -tni '( sport = :80 )' >"$WORK/s3.ss" 2>&1 || true
    cell_cut=$(tx_bytes r-cell)
    at_cut=$(received_so_far "$out")
    at_cut wifi
    client_wait || true
    at_restore wifi
    origin_stop
    capture_stop
    shape_off
    client_endpoints subflow
    cell_healthy=$((cell_cut - cell0))
    cell_after=$(($(tx_bytes r-cell) - cell_cut))
    wifi_all=$(($(tx_bytes r-wifi) - wifi0))
    if ! exact "$out"; then
        fail "3 backup: $(summary "$out")"
        return
    fi
    if [[ -z $at_cut || $at_cut -ge $CUT_BYTES ]]; then
        fail "3 backup: the cut came after the download (at ${at_cut:-?} bytes)"
    elif ((cell_healthy >= BACKUP_LIMIT)); then
        fail "3 backup: the router sent $cell_healthy B toward the client on cell while Wi-Fi" \
            "was healthy (limit $BACKUP_LIMIT)"
    elif ((cell_after + wifi_all < CUT_BYTES || cell_after == 0)); then
        fail "3 backup: after the cut cell carried $cell_after B, Wi-Fi $wifi_all B in all:" \
            "less than the $CUT_BYTES bytes delivered"
    else
        pass "3 backup: cell carried $cell_healthy B while Wi-Fi was healthy (< $BACKUP_LIMIT)," \
            "$cell_after B after the cut at $at_cut B (Wi-Fi $wifi_all B in all); byte-exact," \
            "stall $(jget "$out" stall_ms) ms"
    fi
}

# 4. ADD_ADDR of a second service address; the client joins it.
step4() {
    local out=$WORK/s4.json addaddr joins n accepted
    client_endpoints none
    accepted=$(at_client ip mptcp limits show | awk '{for (i = 1; i < NF; i++) if ($i == "add_addr_accepted") print $(i + 1)}')
    if [[ $APPLIANCE == netreaktor ]]; then
        stop_appliance
        write_config "$WORK/announce.conf" announce
        start_appliance "$WORK/announce.conf"
    else
        at_appliance ip mptcp endpoint add "$SECOND_ADDR" dev "$AT_CLIENT_IF" signal
    fi
    shape_on
    mib_snap at_client "$WORK/s4.mib0"
    capture_start s4 0 "$CONTROL_FILTER"
    origin_start serve $((CUT_BYTES / 2)) 401
    watch_start "$WORK/s4.ss"
    client "$out" fetch --bytes $((CUT_BYTES / 2)) --seed 401 || true
    watch_stop
    origin_stop
    capture_stop
    shape_off
    mib_snap at_client "$WORK/s4.mib1"
    if [[ $APPLIANCE == netreaktor ]]; then
        stop_appliance
        start_appliance "$WORK/base.conf"
    else
        at_appliance ip mptcp endpoint flush
    fi
    client_endpoints subflow
    addaddr=$(mib_delta "$WORK/s4.mib0" "$WORK/s4.mib1" MPTcpExtAddAddr)
    joins=$(mib_delta "$WORK/s4.mib0" "$WORK/s4.mib1" MPTcpExtMPJoinSynAckRx)
    n=$(subflows_seen "$WORK/s4.ss" "^${SECOND_ADDR//./\\.}:80\$")
    if exact "$out" && ((accepted >= 1 && addaddr >= 1 && joins >= 1 && n >= 1)); then
        pass "4 ADD_ADDR: client (add_addr_accepted $accepted, no subflow endpoint) got" \
            "AddAddr +$addaddr, MPJoinSynAckRx +$joins, ss saw $n subflow(s) to $SECOND_ADDR:80;" \
            "$((CUT_BYTES / 2)) bytes byte-exact"
    else
        fail "4 ADD_ADDR: add_addr_accepted $accepted, AddAddr +$addaddr, MPJoinSynAckRx +$joins," \
            "subflows to $SECOND_ADDR:80 seen $n (want all >= 1); transfer: $(summary "$out")"
    fi
}

# 5. Plain TCP clients.
step5() {
    local down=$WORK/s5-down.json up=$WORK/s5-up.json syns
    mib_snap at_client "$WORK/s5.mib0"
    capture_start s5 0 "$CONTROL_FILTER"
    origin_start serve "$CUT_BYTES" 501
    client "$down" fetch --tcp --bytes "$CUT_BYTES" --seed 501 || true
    origin_stop
    origin_start sink "$CUT_BYTES" 502
    client "$up" push --tcp --bytes "$CUT_BYTES" --seed 502 || true
    origin_stop
    capture_stop
    mib_snap at_client "$WORK/s5.mib1"
    syns=$(mib_delta "$WORK/s5.mib0" "$WORK/s5.mib1" MPTcpExtMPCapableSYNTX)
    if exact "$down" && exact "$up" && ((syns == 0)); then
        pass "5 plain TCP: $CUT_BYTES bytes down and up byte-exact (no MP_CAPABLE sent)"
    else
        fail "5 plain TCP: MPCapableSYNTX +$syns; down $(summary "$down"); up $(summary "$up")"
    fi
}

# 8. DSS checksums required by the client (RFC 8684 §3.3.1): both directions byte-exact.
step8() {
    local down=$WORK/s8-down.json up=$WORK/s8-up.json errs fallbacks
    client_endpoints subflow
    at_client sysctl -qw net.mptcp.checksum_enabled=1
    mib_snap at_client "$WORK/s8.mib0"
    capture_start s8 0 "$CONTROL_FILTER"
    origin_start serve "$CUT_BYTES" 801
    client "$down" fetch --bytes "$CUT_BYTES" --seed 801 || true
    origin_stop
    origin_start sink "$CUT_BYTES" 802
    client "$up" push --bytes "$CUT_BYTES" --seed 802 || true
    origin_stop
    capture_stop
    mib_snap at_client "$WORK/s8.mib1"
    at_client sysctl -qw net.mptcp.checksum_enabled=0
    errs=$(mib_delta "$WORK/s8.mib0" "$WORK/s8.mib1" MPTcpExtDataCsumErr)
    fallbacks=$(fallbacks "$WORK/s8.mib0" "$WORK/s8.mib1")
    if exact "$down" && exact "$up" && ((errs == 0)) && [[ -z $fallbacks ]]; then
        pass "8 DSS checksums: $CUT_BYTES bytes down and up byte-exact, DataCsumErr +0, no fallback"
    else
        fail "8 DSS checksums: DataCsumErr +$errs, fallbacks:${fallbacks:- none};" \
            "down $(summary "$down"); up $(summary "$up")"
    fi
}

# 6. Forged MP_JOINs against a live connection's token, which then still works.
step6() {
    local out=$WORK/s6.json go=$WORK/s6.go tok=$WORK/s6-token.pcap dump token a b rc i
    local port_a=47001 port_b=47002 bytes=$((16 * 1024 * 1024)) mib0=$WORK/s6.mib0 mib1=$WORK/s6.mib1
    client_endpoints none
    mib_snap at_appliance "$mib0"
    capture_start s6 0 "$CONTROL_FILTER"
    # The real connection's MP_CAPABLE SYN/ACK, seen in the client namespace.
    tcpdump_start "$AT_CLIENT" "$tok" -i wifi0 -s 200 -c 1 \
        "src host $AT_SERVICE_ADDR and src port 80 and tcp[tcpflags] & (tcp-syn|tcp-ack) == (tcp-syn|tcp-ack)" ||
        die "$TCPDUMP_ERROR"
    dump=$TCPDUMP_PID
    origin_start sink "$bytes" 601
    client_bg "$out" push --bytes "$bytes" --seed 601 --wait-file "$go"
    for i in $(seq 50); do
        kill -0 "$dump" 2>/dev/null || break
        sleep 0.1
    done
    kill "$dump" 2>/dev/null || true
    wait "$dump" 2>/dev/null || true
    token=$("$FORGE_PY" "$FORGE" token --pcap "$tok" --server "$AT_SERVICE_ADDR" || true)
    say "6 the live connection: $token"
    token=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1]).get("token", ""))' "$token" 2>/dev/null || true)
    # The client's kernel has no socket on these ports: keep it from resetting the forgeries.
    at_client nft add table inet forge
    at_client nft add chain inet forge out '{ type filter hook output priority 0; policy accept; }'
    at_client nft add rule inet forge out tcp sport "{ $port_a, $port_b }" tcp flags \& rst == rst drop
    rc=0
    a=$(at_client "$FORGE_PY" "$FORGE" unknown-token --src "$AT_WIFI_ADDR" --sport "$port_a" \
        --dst "$SERVICE" 2>&1) || rc=$?
    if ((rc == 0)); then
        pass "6a unknown token: the join SYN was reset: $a"
    else
        fail "6a unknown token: no RST: $a"
    fi
    if [[ -z $token ]]; then
        fail "6b wrong HMAC: no token read from the live connection's SYN/ACK"
    else
        rc=0
        b=$(at_client "$FORGE_PY" "$FORGE" bad-hmac --src "$AT_WIFI_ADDR" --sport "$port_b" \
            --dst "$SERVICE" --token "$token" 2>&1) || rc=$?
        if ((rc == 0)); then
            pass "6b right token $token, wrong third-ACK HMAC: reset: $b"
        else
            fail "6b right token $token, wrong third-ACK HMAC: no RST: $b"
        fi
    fi
    at_client nft delete table inet forge
    touch "$go"
    client_wait || true
    origin_stop
    capture_stop
    mib_snap at_appliance "$mib1"
    client_endpoints subflow
    if [[ $APPLIANCE == haproxy ]]; then
        say "6 the appliance kernel counted: MPJoinNoTokenFound +$(mib_delta "$mib0" "$mib1" MPTcpExtMPJoinNoTokenFound)," \
            "MPJoinSynRx +$(mib_delta "$mib0" "$mib1" MPTcpExtMPJoinSynRx)," \
            "MPJoinAckHMacFailure +$(mib_delta "$mib0" "$mib1" MPTcpExtMPJoinAckHMacFailure)"
    fi
    if exact "$out"; then
        pass "6 the live connection then carried $bytes bytes byte-exact: $(summary "$out")"
    else
        fail "6 the live connection after the forgeries: $(summary "$out")"
    fi
}

# The payloads are random bytes on port 80: decode them as plain data, so that neither the HTTP
# dissector nor a heuristic one (Thrift took a random payload for itself once) reports errors
# about them; the check is about the TCP and MPTCP options.
TSHARK_OPTS=(-d 'tcp.port==80,data')

# The number of packets of capture $1 matching display filter $2; a tshark error is a FAIL.
tshark_count() {
    local out
    if ! out=$(tshark "${TSHARK_OPTS[@]}" -r "$1" -Y "$2" 2>"$WORK/tshark.err"); then
        fail "7 tshark -r $1 -Y '$2': $(grep -v 'Running as user' "$WORK/tshark.err" | head -n 3)"
        return 1
    fi
    grep -c . <<<"$out" || true
}

# 7. What tshark makes of the MPTCP options the router saw.
step7() {
    local cap total=0 malformed=0 errors=0 n
    local caps=("$WORK"/cap-*.pcap)
    if [[ ! -e ${caps[0]} ]]; then
        fail "7 tshark: no capture (select steps 1-6 with step 7)"
        return
    fi
    : >"$WORK/subtypes"
    for cap in "${caps[@]}"; do
        n=$(tshark_count "$cap" 'mptcp && _ws.malformed') || return 0
        malformed=$((malformed + n))
        n=$(tshark_count "$cap" 'mptcp && _ws.expert.severity == error') || return 0
        errors=$((errors + n))
        tshark "${TSHARK_OPTS[@]}" -r "$cap" -Y mptcp -T fields -e tcp.options.mptcp.subtype \
            2>/dev/null >>"$WORK/subtypes" || true
    done
    total=$(wc -l <"$WORK/subtypes")
    local counts
    counts=$(tr ',' '\n' <"$WORK/subtypes" | awk '
        BEGIN { split("MP_CAPABLE MP_JOIN DSS ADD_ADDR REMOVE_ADDR MP_PRIO MP_FAIL MP_FASTCLOSE MP_TCPRST", name, " ") }
        NF { c[$1]++ }
        END { for (s in c) printf "%s(%d)=%d ", (s + 1 in name ? name[s + 1] : "subtype"), s, c[s] }')
    if ((total > 0 && malformed == 0 && errors == 0)); then
        pass "7 tshark: $total packets with MPTCP options in ${#caps[@]} captures, 0 malformed," \
            "0 expert errors; options by subtype: $counts"
    else
        fail "7 tshark: $total MPTCP packets, $malformed malformed, $errors expert errors;" \
            "by subtype: $counts (captures in $WORK)"
    fi
}

write_config "$WORK/base.conf"
if [[ $APPLIANCE == haproxy ]]; then
    # The kernel's server side: room for the joins of steps 4 and 6.
    at_appliance ip mptcp limits set subflows 4 add_addr_accepted 0
fi
start_appliance "$WORK/base.conf"
say "$APPLIANCE ready"

for step in 1 2 3 4 5 6 8; do
    if want "$step"; then
        t=$SECONDS
        "step$step"
        say "step $step took $((SECONDS - t)) s"
    fi
done
stop_appliance
if want 7; then step7; fi

if ((FAILED > 0)); then
    say "$FAILED check(s) FAILED"
    exit 1
fi
say "all selected steps passed ($SECONDS s)"
