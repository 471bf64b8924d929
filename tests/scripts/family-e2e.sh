#!/usr/bin/env bash
# Every address family combination through NetReaktor, end to end on the appliance testbed
# (tests/scripts/lib/appliance-testbed.sh with IPv6 beside IPv4, no kernel forwarding) with the
# Linux kernel's client (docs/architecture.md, "Address families"). Four pipelines on the
# service addresses 10.9.0.2 and fd09::2, ports 80 and 81, forward to an IPv4 origin
# (10.10.0.2:8080, stream seed 41) and an IPv6 one ([fd10::2]:8080, seed 61), one of each
# family per service address:
#
#   client IPv4 -> 10.9.0.2:80  -> IPv6 origin     (announces fd09::a)
#   client IPv4 -> 10.9.0.2:81  -> IPv4 origin
#   client IPv6 -> [fd09::2]:80 -> IPv4 origin     (announces 10.9.0.10)
#   client IPv6 -> [fd09::2]:81 -> IPv6 origin
#
# Checked, every download byte-exact against its origin's seed (so each went to the origin of
# the family it should):
#   1. plain TCP through each of the four;
#   2. MPTCP, Wi-Fi IPv4 and an IPv6-only cellular radio: the connection opens over IPv4, the
#      client joins the announced fd09::a from its cellular IPv6 address, Wi-Fi is cut, the
#      IPv6 subflow finishes the download;
#   3. the reverse: Wi-Fi IPv6, IPv4-only cellular joining the announced 10.9.0.10;
#   4. MPTCP over IPv6 on both radios (the cellular subflow joins fd09::2 itself), Wi-Fi cut.
# In 2-4 the client's join of the other radio is seen in its own socket table (ss) before
# the cut, and the appliance counts one accepted join per connection and no fallback.
#
#   tests/scripts/family-e2e.sh        # as root; E2E_BIN (target/release/netreaktor)
set -euo pipefail
cd "$(dirname "$0")/../.."

BIN=${E2E_BIN:-target/release/netreaktor}
TRANSFER=tests/scripts/mptcp_transfer.py
METRICS_URL=http://127.0.0.1:9100/metrics
BYTES=${E2E_FAMILY_BYTES:-20000000}
APPLIANCE=netreaktor

say() { echo "family-e2e: $*"; }
fail() {
    echo "family-e2e: FAIL: $*" >&2
    echo "----- appliance log ($LOG) -----" >&2
    tail -n 60 "$LOG" >&2 2>/dev/null || true
    exit 1
}

if [[ $(id -u) -ne 0 ]]; then
    echo "family-e2e: SKIPPED, needs root (network namespaces)" >&2
    exit 0
fi
[[ -x $BIN ]] || fail "no netreaktor binary at $BIN (set E2E_BIN)"

WORK=$(mktemp -d /tmp/family-e2e.XXXXXX)
LOG=$WORK/appliance.log
: >"$LOG"
APPLIANCE_PID=""
ORIGIN_PIDS=""
PASSED=""

cleanup() {
    local pid
    for pid in $APPLIANCE_PID $ORIGIN_PIDS; do
        kill "$pid" 2>/dev/null || true
    done
    APPLIANCE_PID="" ORIGIN_PIDS=""
    [[ -z $PASSED ]] || rm -rf "$WORK"
}

# shellcheck source=lib/appliance-testbed.sh
source tests/scripts/lib/appliance-testbed.sh
appliance_testbed_trap cleanup
# shellcheck disable=SC2119 # no "forward": only the appliance carries traffic
appliance_testbed_up
appliance_testbed_ipv6
# The announced addresses answer ARP and ND on the client-facing interface.
at_appliance ip addr add 10.9.0.10/24 dev "$AT_CLIENT_IF"
at_appliance ip addr add fd09::a/64 dev "$AT_CLIENT_IF" nodad
# Downloads last seconds: Wi-Fi 100 Mbit/s, cellular 30 Mbit/s toward the client.
at_router tc qdisc add dev r-wifi root tbf rate 100mbit burst 64kb latency 100ms
at_router tc qdisc add dev r-cell root tbf rate 30mbit burst 64kb latency 100ms
say "namespaces ${AT_PREFIX}-{client,router,appliance,origin}, IPv4 and IPv6"

# One pipeline: $1 name, $2 service address, $3 port, $4 origin, $5 announced address or "".
pipeline() {
    local announce="[]" ios=""
    [[ -z $5 ]] || announce="[\"$5\"]" ios="announce_ignored_by_ios: true"
    cat <<EOF
  - name: $1
    match: {address: "$2", ports: [$3]}
    terminate:
      announce: $announce
      $ios
      failover: {min_stall: 50ms}
    forward: {origins: ["$4"], connect_timeout: 3s}
EOF
}
CONFIG=$WORK/family.yaml
{
    sed -n '1,/^pipelines:/p' configs/demo.yaml | sed "s/^    ipv4: .*/    ipv4: $AT_APPLIANCE_ORIGIN_ADDR\n    ipv6: $AT_APPLIANCE_ORIGIN_ADDR6/"
    pipeline v4-to-v6 "$AT_SERVICE_ADDR" 80 "[$AT_ORIGIN_ADDR6]:$AT_ORIGIN_PORT" fd09::a
    pipeline v4-to-v4 "$AT_SERVICE_ADDR" 81 "$AT_ORIGIN_ADDR:$AT_ORIGIN_PORT" ""
    pipeline v6-to-v4 "$AT_SERVICE_ADDR6" 80 "$AT_ORIGIN_ADDR:$AT_ORIGIN_PORT" 10.9.0.10
    pipeline v6-to-v6 "$AT_SERVICE_ADDR6" 81 "[$AT_ORIGIN_ADDR6]:$AT_ORIGIN_PORT" ""
} >"$CONFIG"
"$BIN" check -c "$CONFIG" >>"$LOG" 2>&1 || fail "check -c $CONFIG: $(tail -5 "$LOG")"

# The origins: plain TCP, each serving its seeded stream to every connection.
origin() {
    ip netns exec "$AT_ORIGIN" python3 "$TRANSFER" serve --tcp --listen "$1" --bytes "$BYTES" \
        --seed "$2" --count 100 >>"$WORK/origins.log" 2>&1 &
    ORIGIN_PIDS="$ORIGIN_PIDS $!"
}
origin "$AT_ORIGIN_ADDR:$AT_ORIGIN_PORT" 41
origin "[$AT_ORIGIN_ADDR6]:$AT_ORIGIN_PORT" 61
for _ in $(seq 50); do
    (($(at_origin ss -Hltn "sport = :$AT_ORIGIN_PORT" | wc -l) == 2)) && break
    sleep 0.1
done
(($(at_origin ss -Hltn "sport = :$AT_ORIGIN_PORT" | wc -l) == 2)) || fail "the origins do not listen: $(cat "$WORK/origins.log")"

at_appliance_start "$CONFIG" || fail "$AT_ERROR"
say "netreaktor ready: $(grep -c '^  - name:' "$CONFIG") pipelines"

metrics() { at_appliance curl -sf --max-time 5 "$METRICS_URL"; }
metric() { metrics | at_metric_sum "$1" - "${2:-}"; }

# The client's routes: $1 the radio for IPv4, $2 the radio for IPv6 (wifi0 or cell0); the
# other radio has no route of that family, as a phone's IPv4-only or IPv6-only radio.
routes() {
    local via4=10.1.0.1 via6=fd01::1
    [[ $1 == wifi0 ]] || via4=10.2.0.1
    [[ $2 == wifi0 ]] || via6=fd02::1
    at_client ip route replace default via "$via4" dev "$1"
    at_client ip -6 route replace default via "$via6" dev "$2"
}

# A download: $1 name, $2 "--tcp" or "", $3 where, $4 seed. Its report goes to $WORK/$1.json.
fetch() {
    # shellcheck disable=SC2086 # $2 is one flag or none
    at_client python3 "$TRANSFER" fetch $2 --connect "$3" --bytes "$BYTES" --seed "$4" \
        --progress 60 >"$WORK/$1.json" 2>&1
}

# 1. Plain TCP, every combination.
routes wifi0 wifi0
for case in "10.9.0.2:80 61" "10.9.0.2:81 41" "[fd09::2]:80 41" "[fd09::2]:81 61"; do
    read -r where seed <<<"$case"
    fetch "tcp-$seed-${where//[^0-9a-f]/}" --tcp "$where" "$seed" ||
        fail "1 plain TCP to $where (origin seed $seed): $(cat "$WORK/tcp-$seed-${where//[^0-9a-f]/}.json")"
    say "PASS 1 plain TCP to $where -> origin of seed $seed: $BYTES bytes byte-exact"
done

# An MPTCP download with a Wi-Fi cut once the other radio's subflow is up: $1 name, $2 where,
# $3 seed, $4 an ss filter that only the cellular subflow matches. Checks the join
# in the client's socket table, the cut, the bytes, and the appliance's join and fallback
# counts.
mptcp_cut() {
    local name=$1 where=$2 seed=$3 join=$4 pid joins0 fallbacks0 seen="" rc=0
    joins0=$(metric netreaktor_mptcp_joins_accepted_total)
    fallbacks0=$(metric netreaktor_mptcp_fallbacks_total)
    fetch "$name" "" "$where" "$seed" &
    pid=$!
    for _ in $(seq 100); do
        seen=$(at_client ss -Htn state established "$join" 2>/dev/null | head -n 1)
        [[ -n $seen ]] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    [[ -n $seen ]] || { wait "$pid" || true; fail "$name: no subflow ($join) in the client: $(cat "$WORK/$name.json")"; }
    sleep 0.3
    at_cut wifi
    wait "$pid" || rc=$?
    at_restore wifi
    ((rc == 0)) || fail "$name: the download: $(tail -n 3 "$WORK/$name.json")"
    local joins=$(($(metric netreaktor_mptcp_joins_accepted_total) - joins0))
    local fallbacks=$(($(metric netreaktor_mptcp_fallbacks_total) - fallbacks0))
    ((joins == 1 && fallbacks == 0)) || fail "$name: the appliance counted $joins joins, $fallbacks fallbacks"
    say "PASS $name: MPTCP to $where, joined from the other radio ($(awk '{ print $3, "->", $4 }' <<<"$seen")), Wi-Fi cut, $BYTES bytes byte-exact $(tail -n 1 "$WORK/$name.json")"
}

# The kernel's path manager: no endpoint of its own (joins follow the announcements, from the
# address the route gives) for 2 and 3.
at_client ip mptcp endpoint flush

# 2. Wi-Fi IPv4, cellular IPv6 only: the connection is an IPv6 socket to the v4-mapped
#    service address, so the kernel may join the announced IPv6 address over cellular.
routes wifi0 cell0
mptcp_cut "2-wifi4-cell6" "[::ffff:$AT_SERVICE_ADDR]:80" 61 "src [$AT_CELL_ADDR6] and dst [fd09::a]:80"

# 3. Wi-Fi IPv6, cellular IPv4 only: joins the announced 10.9.0.10 over cellular.
routes cell0 wifi0
mptcp_cut "3-wifi6-cell4" "[$AT_SERVICE_ADDR6]:80" 41 "src $AT_CELL_ADDR and dst 10.9.0.10:80"

# 4. IPv6 on both radios: the cellular endpoint joins the service address itself.
at_client ip -6 rule add from "$AT_CELL_ADDR6" table 102
at_client ip -6 route add default via fd02::1 dev cell0 table 102
at_client ip mptcp endpoint add "$AT_CELL_ADDR6" dev cell0 subflow
routes wifi0 wifi0
mptcp_cut "4-ipv6" "[$AT_SERVICE_ADDR6]:81" 61 "src [$AT_CELL_ADDR6] and dst [$AT_SERVICE_ADDR6]:81"

at_appliance_stop || fail "$AT_ERROR"
PASSED=1
say "all steps passed"
