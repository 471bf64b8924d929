# shellcheck shell=bash
# The namespace testbed: a phone with two radios, an access router, a server.
#
#   phone ── wifi0 10.1.0.2 ─── r-wifi 10.1.0.1 ┐
#                                              router ── r-srv 10.9.0.1 ─── srv0 10.9.0.2 ── server
#   phone ── cell0 10.2.0.2 ─── r-cell 10.2.0.1 ┘
#
# Both subflows reach the server's one interface from different source addresses, as they
# would from the internet. Source: this file, then call testbed_up; testbed_down tears it down
# (the caller should `trap testbed_down EXIT`). Namespace names carry a prefix with the PID
# so runs can proceed in parallel. Traffic stays inside these namespaces.

# shellcheck source=radio-cut.sh
source "$(dirname "${BASH_SOURCE[0]}")/radio-cut.sh"

TB_PREFIX=${TB_PREFIX:-nr$$}
TB_PHONE="${TB_PREFIX}-phone"
TB_ROUTER="${TB_PREFIX}-router"
TB_SERVER="${TB_PREFIX}-server"
TB_SERVER_ADDR=10.9.0.2
TB_WIFI_ADDR=10.1.0.2
TB_CELL_ADDR=10.2.0.2

tb_phone() { ip netns exec "$TB_PHONE" "$@"; }
tb_router() { ip netns exec "$TB_ROUTER" "$@"; }
tb_server() { ip netns exec "$TB_SERVER" "$@"; }

# A veth pair between two namespaces, addressed, up, with offloads off so that captures show
# real checksums and frames no larger than the MTU.
tb_link() {
    local ns_a=$1 if_a=$2 addr_a=$3 ns_b=$4 if_b=$5 addr_b=$6
    ip link add "$if_a" netns "$ns_a" type veth peer name "$if_b" netns "$ns_b"
    ip -n "$ns_a" addr add "$addr_a" dev "$if_a"
    ip -n "$ns_b" addr add "$addr_b" dev "$if_b"
    ip -n "$ns_a" link set "$if_a" up
    ip -n "$ns_b" link set "$if_b" up
    ip netns exec "$ns_a" ethtool -K "$if_a" tx off rx off tso off gso off gro off >/dev/null 2>&1 || true
    ip netns exec "$ns_b" ethtool -K "$if_b" tx off rx off tso off gso off gro off >/dev/null 2>&1 || true
}

# Builds the topology. $1: "backup" to make cellular a backup path (as iOS does).
testbed_up() {
    local cell_flags=${1:-}
    for ns in "$TB_PHONE" "$TB_ROUTER" "$TB_SERVER"; do
        ip netns add "$ns"
        ip -n "$ns" link set lo up
    done
    tb_link "$TB_PHONE" wifi0 "$TB_WIFI_ADDR/24" "$TB_ROUTER" r-wifi 10.1.0.1/24
    tb_link "$TB_PHONE" cell0 "$TB_CELL_ADDR/24" "$TB_ROUTER" r-cell 10.2.0.1/24
    tb_link "$TB_ROUTER" r-srv 10.9.0.1/24 "$TB_SERVER" srv0 "$TB_SERVER_ADDR/24"
    tb_router sysctl -qw net.ipv4.ip_forward=1
    tb_server ip route add default via 10.9.0.1
    # The phone: Wi-Fi is the default route; traffic from the cellular address leaves by the
    # cellular radio (source routing, as a phone's two interfaces behave).
    tb_phone ip route add default via 10.1.0.1 dev wifi0
    tb_phone ip rule add from "$TB_CELL_ADDR" table 102
    tb_phone ip route add default via 10.2.0.1 dev cell0 table 102
    # Kernel MPTCP on the phone: a second subflow over cellular.
    tb_phone sysctl -qw net.mptcp.enabled=1
    tb_server sysctl -qw net.mptcp.enabled=1
    tb_phone ip mptcp limits set subflows 4 add_addr_accepted 4
    tb_server ip mptcp limits set subflows 4 add_addr_accepted 4
    # shellcheck disable=SC2086 # $cell_flags is empty or one word
    tb_phone ip mptcp endpoint add "$TB_CELL_ADDR" dev cell0 subflow $cell_flags
}

# Shapes a radio at the router with a token bucket (no netem on these kernels).
# $1: wifi|cell, $2: rate (e.g. 40mbit).
tb_shape() {
    local iface="r-$1" rate=$2
    tb_router tc qdisc replace dev "$iface" root tbf rate "$rate" burst 32kb latency 100ms
}

# Blackholes radio $1 (wifi|cell) at the router in both directions; tb_restore undoes it.
tb_cut() { radio_cut tb_router "$1"; }
tb_restore() { radio_restore tb_router "$1"; }

# Transmitted bytes of the router's interface toward the phone on radio $1 (wifi|cell).
tb_radio_bytes() {
    tb_router cat "/sys/class/net/r-$1/statistics/tx_bytes"
}

testbed_down() {
    local ns
    for ns in "$TB_PHONE" "$TB_ROUTER" "$TB_SERVER"; do
        ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true
        ip netns del "$ns" 2>/dev/null || true
    done
}
