# shellcheck shell=bash
# Blackholing a client radio at the access router, shared by both testbeds. nftables drops
# everything forwarded in or out of the router's interface toward that radio (r-wifi or
# r-cell); the link stays up, as when a phone walks out of Wi-Fi range and its packets just
# stop.

# $1: the function that runs a command in the router namespace, $2: wifi|cell.
radio_cut() {
    local in_router=$1 radio=$2 iface="r-$2"
    "$in_router" nft add table inet "cut_$radio"
    "$in_router" nft add chain inet "cut_$radio" blackhole "{ type filter hook forward priority 0; policy accept; }"
    "$in_router" nft add rule inet "cut_$radio" blackhole iifname "$iface" drop
    "$in_router" nft add rule inet "cut_$radio" blackhole oifname "$iface" drop
}

# The command, as one string, that cuts radio $2 (wifi|cell) as radio_cut does, in router
# namespace $1: for a program that runs the cut itself (netreaktor-bench --cut-cmd), from the
# repository root. radio_restore undoes it.
radio_cut_cmd() {
    printf "bash -c 'source tests/scripts/lib/radio-cut.sh; r() { ip netns exec %s \"\$@\"; }; radio_cut r %s'" "$1" "$2"
}

# $1: the router function, $2: wifi|cell. Safe when the radio is not cut.
radio_restore() {
    "$1" nft delete table inet "cut_$2" 2>/dev/null || true
}
