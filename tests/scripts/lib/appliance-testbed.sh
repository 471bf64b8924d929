# shellcheck shell=bash
# The appliance testbed (docs/architecture.md, "Tests"): a client with two radios, an access router, the
# appliance with a client-facing and an origin-facing interface, and an origin server.
#
#   client ── wifi0 10.1.0.2 ── r-wifi 10.1.0.1 ┐
#                                              router ── r-srv 10.9.0.1 ── srv0 10.9.0.2 ┐
#   client ── cell0 10.2.0.2 ── r-cell 10.2.0.1 ┘        (service address)              │
#                                                                               appliance
#   origin ── o-app 10.10.0.2 (origin server, :8080) ─────────── org0 10.10.0.1 ────────┘
#
# Both subflows reach the appliance's one client-facing interface (srv0) from different source
# addresses, as they would from the internet. srv0 and org0, and their peers r-srv and o-app,
# have 2 transmit and 2 receive queues (a veth's receive queue follows the sender's transmit
# queue), so two workers can each own one queue. configs/demo.yaml names these interfaces and
# addresses.
#
# Routes: the router knows the service network (on-link) and the origin network via the
# appliance; the appliance's default route is the router; the origin's is the appliance. The
# appliance forwards nothing unless asked (`appliance_testbed_up forward`: IP forwarding on, so
# the kernel routes client <-> origin, for checking the topology before NetReaktor runs there).
#
# Use: source this file, `appliance_testbed_trap`, `appliance_testbed_up [forward]`;
# `at_client CMD...` etc. run commands in a namespace. Namespace names carry a prefix with the
# PID (AT_PREFIX, default nra<PID>) so runs proceed in parallel; `appliance_testbed_up` first
# removes namespaces left by runs whose process is gone, so a killed run leaves nothing behind
# for long. Traffic stays inside these namespaces.

# shellcheck source=radio-cut.sh
source "$(dirname "${BASH_SOURCE[0]}")/radio-cut.sh"

AT_PREFIX=${AT_PREFIX:-nra$$}
AT_CLIENT="${AT_PREFIX}-client"
AT_ROUTER="${AT_PREFIX}-router"
AT_APPLIANCE="${AT_PREFIX}-appliance"
AT_ORIGIN="${AT_PREFIX}-origin"

AT_WIFI_ADDR=10.1.0.2
AT_CELL_ADDR=10.2.0.2
AT_SERVICE_ADDR=10.9.0.2 # the appliance's client-facing address: the service address
AT_APPLIANCE_ORIGIN_ADDR=10.10.0.1
AT_ORIGIN_ADDR=10.10.0.2
AT_ORIGIN_PORT=8080
AT_CLIENT_IF=srv0 # the appliance's client-facing interface
AT_ORIGIN_IF=org0 # the appliance's origin-facing interface
AT_QUEUES=2
AT_HAPROXY_LAUNCHER=() # what goes in front of haproxy in at_appliance_start
AT_ERROR=""            # why at_appliance_start or at_appliance_stop failed

at_client() { ip netns exec "$AT_CLIENT" "$@"; }
at_router() { ip netns exec "$AT_ROUTER" "$@"; }
at_appliance() { ip netns exec "$AT_APPLIANCE" "$@"; }
at_origin() { ip netns exec "$AT_ORIGIN" "$@"; }

# A veth pair between two namespaces, both ends with $queues queues, addressed and up, offloads
# off (captures show real checksums; frames no larger than the MTU, as AF_XDP sees them).
at_link() {
    local queues=$1 ns_a=$2 if_a=$3 addr_a=$4 ns_b=$5 if_b=$6 addr_b=$7
    ip link add "$if_a" numtxqueues "$queues" numrxqueues "$queues" netns "$ns_a" type veth \
        peer name "$if_b" numtxqueues "$queues" numrxqueues "$queues" netns "$ns_b"
    ip -n "$ns_a" addr add "$addr_a" dev "$if_a"
    ip -n "$ns_b" addr add "$addr_b" dev "$if_b"
    ip -n "$ns_a" link set "$if_a" up
    ip -n "$ns_b" link set "$if_b" up
    ip netns exec "$ns_a" ethtool -K "$if_a" tx off rx off tso off gso off gro off >/dev/null 2>&1 || true
    ip netns exec "$ns_b" ethtool -K "$if_b" tx off rx off tso off gso off gro off >/dev/null 2>&1 || true
}

# Removes the namespaces of earlier runs (prefix nra<PID>-) whose process no longer exists.
appliance_testbed_sweep() {
    local ns pid
    for ns in $(ip netns list | awk '{print $1}' | grep -E '^nra[0-9]+-' || true); do
        pid=${ns#nra}
        pid=${pid%%-*}
        if [[ $pid != "$$" ]] && ! kill -0 "$pid" 2>/dev/null; then
            ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true
            ip netns del "$ns" 2>/dev/null || true
        fi
    done
}

# Builds the topology. $1: "forward" to let the appliance's kernel route client <-> origin.
appliance_testbed_up() {
    local mode=${1:-}
    appliance_testbed_sweep
    appliance_testbed_down # a failed earlier run with the same AT_PREFIX
    local ns
    for ns in "$AT_CLIENT" "$AT_ROUTER" "$AT_APPLIANCE" "$AT_ORIGIN"; do
        ip netns add "$ns"
        ip -n "$ns" link set lo up
    done
    at_link 1 "$AT_CLIENT" wifi0 "$AT_WIFI_ADDR/24" "$AT_ROUTER" r-wifi 10.1.0.1/24
    at_link 1 "$AT_CLIENT" cell0 "$AT_CELL_ADDR/24" "$AT_ROUTER" r-cell 10.2.0.1/24
    at_link "$AT_QUEUES" "$AT_ROUTER" r-srv 10.9.0.1/24 "$AT_APPLIANCE" "$AT_CLIENT_IF" "$AT_SERVICE_ADDR/24"
    at_link "$AT_QUEUES" "$AT_APPLIANCE" "$AT_ORIGIN_IF" "$AT_APPLIANCE_ORIGIN_ADDR/24" "$AT_ORIGIN" o-app "$AT_ORIGIN_ADDR/24"
    at_router sysctl -qw net.ipv4.ip_forward=1
    at_router ip route add 10.10.0.0/24 via "$AT_SERVICE_ADDR"
    at_appliance ip route add default via 10.9.0.1
    at_origin ip route add default via "$AT_APPLIANCE_ORIGIN_ADDR"
    if [[ $mode == forward ]]; then
        at_appliance sysctl -qw net.ipv4.ip_forward=1
    fi
    # The client: Wi-Fi is the default route; traffic from the cellular address leaves by the
    # cellular radio (source routing, as a phone's two interfaces behave).
    at_client ip route add default via 10.1.0.1 dev wifi0
    at_client ip rule add from "$AT_CELL_ADDR" table 102
    at_client ip route add default via 10.2.0.1 dev cell0 table 102
    at_client sysctl -qw net.mptcp.enabled=1
    at_client ip mptcp limits set subflows 4 add_addr_accepted 4
    at_client ip mptcp endpoint add "$AT_CELL_ADDR" dev cell0 subflow
}

# IPv6 beside IPv4 (appliance_testbed_ipv6, after appliance_testbed_up): the same links get
# ULA addresses, fdNN:: following 10.NN.0.0 (wifi fd01::2, cell fd02::2, service fd09::2,
# origin fd10::2), and the router and appliance routes of IPv4 for IPv6. The client gets no
# IPv6 route: each script says which radio carries which family. No DAD: addresses are
# usable at once.
AT_WIFI_ADDR6=fd01::2
AT_CELL_ADDR6=fd02::2
AT_SERVICE_ADDR6=fd09::2
AT_APPLIANCE_ORIGIN_ADDR6=fd10::1
AT_ORIGIN_ADDR6=fd10::2
appliance_testbed_ipv6() {
    at_client ip addr add "$AT_WIFI_ADDR6/64" dev wifi0 nodad
    at_router ip addr add fd01::1/64 dev r-wifi nodad
    at_client ip addr add "$AT_CELL_ADDR6/64" dev cell0 nodad
    at_router ip addr add fd02::1/64 dev r-cell nodad
    at_router ip addr add fd09::1/64 dev r-srv nodad
    at_appliance ip addr add "$AT_SERVICE_ADDR6/64" dev "$AT_CLIENT_IF" nodad
    at_appliance ip addr add "$AT_APPLIANCE_ORIGIN_ADDR6/64" dev "$AT_ORIGIN_IF" nodad
    at_origin ip addr add "$AT_ORIGIN_ADDR6/64" dev o-app nodad
    at_router sysctl -qw net.ipv6.conf.all.forwarding=1
    at_router ip -6 route add fd10::/64 via "$AT_SERVICE_ADDR6"
    at_appliance ip -6 route add default via fd09::1
    at_origin ip -6 route add default via "$AT_APPLIANCE_ORIGIN_ADDR6"
}

# Starts the origin server in the background: the seeded stream of $2 bytes (seed $3, default
# 1) to each of $1 connections, over plain TCP (tests/scripts/mptcp_transfer.py serve).
# Returns once it listens.
appliance_testbed_origin() {
    local count=$1 bytes=$2 seed=${3:-1}
    local script
    script="$(dirname "${BASH_SOURCE[0]}")/../mptcp_transfer.py"
    at_origin python3 "$script" serve --tcp --listen "$AT_ORIGIN_ADDR:$AT_ORIGIN_PORT" \
        --bytes "$bytes" --seed "$seed" --count "$count" >/dev/null &
    at_wait_listen "$AT_ORIGIN" "$AT_ORIGIN_PORT"
}

# Waits (up to 5 s) until something in namespace $1 listens on TCP port $2.
at_wait_listen() {
    local ns=$1 port=$2 i
    for i in $(seq 50); do
        if ip netns exec "$ns" ss -Hltn "sport = :$port" | grep -q LISTEN; then
            return 0
        fi
        sleep 0.1
    done
    echo "appliance-testbed: nothing listens on port $port in $ns" >&2
    return 1
}

# at_metric_sum NAME FILE [LABELS]: the sum of the series of metric NAME (labelled or not) in
# the Prometheus text in FILE ("-": stdin) whose labels contain the string LABELS (say
# 'reason="malformed"'); 0 when there is none. Integral sums print as integers.
at_metric_sum() {
    awk -v name="$1" -v want="${3:-}" '
        { split($1, parts, "{") }
        parts[1] == name && index($1, want) { sum += $2 }
        END { if (sum == int(sum)) printf "%.0f\n", sum; else printf "%.9g\n", sum }' "$2"
}

# Blackholes client radio $1 (wifi|cell) at the router in both directions; at_restore undoes it.
at_cut() { radio_cut at_router "$1"; }
at_restore() { radio_restore at_router "$1"; }

# Removes every namespace of this run (killing what runs in them); safe to call twice.
appliance_testbed_down() {
    local ns
    for ns in "$AT_CLIENT" "$AT_ROUTER" "$AT_APPLIANCE" "$AT_ORIGIN"; do
        ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true
        ip netns del "$ns" 2>/dev/null || true
    done
}

# Tears the testbed down when the calling script exits, fails (ERR, keeping the failing
# status) or is interrupted. $1: an extra cleanup command run first (optional).
appliance_testbed_trap() {
    AT_EXTRA_CLEANUP=${1:-true}
    trap '$AT_EXTRA_CLEANUP; appliance_testbed_down' EXIT
    trap 'at_rc=$?; $AT_EXTRA_CLEANUP; appliance_testbed_down; exit $at_rc' ERR
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

# The appliance under test, for the end-to-end scripts: $APPLIANCE (netreaktor or haproxy),
# started with `ip netns exec` (not at_appliance, which would run in a subshell), so
# $APPLIANCE_PID is the appliance's own PID and signals reach it; its output is appended to
# $LOG. NetReaktor runs $BIN. $AT_HAPROXY_LAUNCHER (an array, e.g. (mptcpize run)) goes in
# front of HAProxy. On failure these functions set AT_ERROR and return 1.

# Starts the appliance with config $1; returns once it is ready (NetReaktor's log says so,
# HAProxy listens on port 80), at most 20 s.
at_appliance_start() {
    local config=$1 from i
    from=$(($(wc -l <"$LOG") + 1))
    echo "=== start $APPLIANCE -c $config" >>"$LOG"
    if [[ $APPLIANCE == netreaktor ]]; then
        ip netns exec "$AT_APPLIANCE" "$BIN" run -c "$config" >>"$LOG" 2>&1 &
    else
        ip netns exec "$AT_APPLIANCE" "${AT_HAPROXY_LAUNCHER[@]}" haproxy -db -f "$config" \
            >>"$LOG" 2>&1 &
    fi
    APPLIANCE_PID=$!
    for i in $(seq 200); do
        if ! kill -0 "$APPLIANCE_PID" 2>/dev/null; then
            AT_ERROR="$APPLIANCE exited during start-up"
            return 1
        fi
        if [[ $APPLIANCE == netreaktor ]]; then
            tail -n +"$from" "$LOG" | grep 'netreaktor: ready' >/dev/null && return 0
        elif at_appliance ss -Hltn "sport = :80" | grep LISTEN >/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    AT_ERROR="$APPLIANCE not ready after 20 s (pass $i)"
    return 1
}

# Stops the appliance (netreaktor: SIGTERM; HAProxy: SIGUSR1, its graceful stop, since it
# answers SIGTERM with status 143); it must exit with status 0 within 10 s, without a panic.
at_appliance_stop() {
    local signal=TERM
    [[ -n $APPLIANCE_PID ]] || return 0
    [[ $APPLIANCE == netreaktor ]] || signal=USR1
    kill -"$signal" "$APPLIANCE_PID"
    at_appliance_wait_exit "SIG$signal"
}

# Waits for the appliance, already sent signal $1 (e.g. SIGTERM), to exit: with status 0
# within 10 s, without a panic (else SIGKILL, AT_ERROR, return 1).
at_appliance_wait_exit() {
    local pid=$APPLIANCE_PID rc=0 i signal=${1#SIG}
    [[ -n $pid ]] || return 0
    for i in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null || true
        AT_ERROR="$APPLIANCE still running 10 s after SIG$signal"
        return 1
    fi
    wait "$pid" || rc=$?
    APPLIANCE_PID=""
    echo "=== $APPLIANCE exited with status $rc (after $i polls)" >>"$LOG"
    if ((rc != 0)); then
        AT_ERROR="$APPLIANCE exited with status $rc after SIG$signal"
        return 1
    fi
    if grep -q 'panicked' "$LOG"; then
        AT_ERROR="$APPLIANCE panicked"
        return 1
    fi
}
