# shellcheck shell=bash
# The peers the perf scripts measure side by side in the appliance namespace of
# tests/scripts/lib/appliance-testbed.sh: HAProxy (`mode tcp`, bind the service address,
# server the origin) and NetReaktor (`netreaktor run`). Sourced after the testbed library.
#
# The caller sets: WORK (a directory for configs and logs), SERVICE_PORT, BIN and CONFIG
# (NetReaktor's binary and config), READY_TIMEOUT (seconds), and defines fail_peer MESSAGE
# (how a failure is reported) and log MESSAGE. HAProxy's config takes HAPROXY_THREADS
# (nbthread, unset: HAProxy's default), HAPROXY_MAXCONN (default 1000), HAPROXY_SPLICE=1
# (`option splice-auto`) and HAPROXY_MPTCP=1 (started under `mptcpize run`: its listener is
# kernel MPTCP). PEER_PID is the running peer's PID.
#
# Background processes start with `ip netns exec ... &` (not the at_* helpers), so $! is the
# process itself (mptcpize execs HAProxy).
#
# shellcheck disable=SC2317 # the functions are called by the scripts that source this file

PEER_PID=""

# Checks that every peer named in $1 can run here (HAProxy and mptcpize installed when
# HAPROXY_MPTCP=1; NetReaktor's config and binary present); says what is missing and exits
# (1, or 2 for an unknown peer).
peers_check() {
    local peer
    for peer in $1; do
        case $peer in
            haproxy)
                if ! command -v haproxy >/dev/null ||
                    { [[ ${HAPROXY_MPTCP:-0} == 1 ]] && ! command -v mptcpize >/dev/null; }; then
                    log "haproxy or mptcpize missing: run tests/scripts/setup.sh"
                    exit 1
                fi
                ;;
            netreaktor)
                [[ -f $CONFIG ]] || {
                    log "$CONFIG missing"
                    exit 1
                }
                [[ -x $BIN ]] || {
                    log "$BIN missing: cargo build --release -p netreaktor"
                    exit 1
                }
                ;;
            *)
                log "unknown peer $peer (haproxy, netreaktor)"
                exit 2
                ;;
        esac
    done
}

# HAProxy; ready once it listens on the service port.
start_haproxy() {
    local threads="" splice="" launcher=()
    [[ -n ${HAPROXY_THREADS:-} ]] && threads="nbthread $HAPROXY_THREADS"
    [[ ${HAPROXY_SPLICE:-0} == 1 ]] && splice="option splice-auto"
    [[ ${HAPROXY_MPTCP:-0} == 1 ]] && launcher=(mptcpize run)
    cat >"$WORK/haproxy.cfg" <<CFG
global
    $threads
    maxconn ${HAPROXY_MAXCONN:-1000}
defaults
    mode tcp
    timeout connect 5s
    timeout client 1m
    timeout server 1m
    $splice
frontend service
    bind $AT_SERVICE_ADDR:$SERVICE_PORT
    default_backend origin
backend origin
    server o $AT_ORIGIN_ADDR:$AT_ORIGIN_PORT
CFG
    ip netns exec "$AT_APPLIANCE" "${launcher[@]}" haproxy -db -f "$WORK/haproxy.cfg" \
        >"$WORK/haproxy.log" 2>&1 &
    PEER_PID=$!
    if ! at_wait_listen "$AT_APPLIANCE" "$SERVICE_PORT"; then
        fail_peer "haproxy does not listen; its output: $(tail -n 5 "$WORK/haproxy.log" | tr '\n' ' ')"
        stop_haproxy
        return 1
    fi
}

stop_haproxy() {
    kill "$PEER_PID" 2>/dev/null || true
    wait "$PEER_PID" 2>/dev/null || true
    PEER_PID=""
}

# NetReaktor (APPLIANCE-CONTRACT.md): ready once its log says so.
start_netreaktor() {
    local i rc
    ip netns exec "$AT_APPLIANCE" "$BIN" run -c "$CONFIG" 2>"$WORK/netreaktor.log" &
    PEER_PID=$!
    for ((i = 0; i < READY_TIMEOUT * 10; i++)); do
        grep -q 'netreaktor: ready' "$WORK/netreaktor.log" && return 0
        if ! kill -0 "$PEER_PID" 2>/dev/null; then
            rc=0
            wait "$PEER_PID" || rc=$?
            fail_peer "netreaktor exited ($rc) before ready; stderr: $(tail -n 5 "$WORK/netreaktor.log" | tr '\n' ' ')"
            PEER_PID=""
            return 1
        fi
        sleep 0.1
    done
    fail_peer "netreaktor not ready after ${READY_TIMEOUT}s; stderr: $(tail -n 5 "$WORK/netreaktor.log" | tr '\n' ' ')"
    stop_netreaktor || true
    return 1
}

# SIGTERM; a non-zero exit (or a panic) is a failure. Then netreaktor_stopped, if the caller
# defines it (to report from the log).
stop_netreaktor() {
    local rc=0
    kill -TERM "$PEER_PID" 2>/dev/null || true
    wait "$PEER_PID" || rc=$?
    PEER_PID=""
    if ((rc != 0)) || grep -q 'panicked' "$WORK/netreaktor.log"; then
        fail_peer "netreaktor exit status $rc on SIGTERM; stderr: $(tail -n 5 "$WORK/netreaktor.log" | tr '\n' ' ')"
        return 1
    fi
    if declare -F netreaktor_stopped >/dev/null; then
        netreaktor_stopped
    fi
}
