#!/usr/bin/env bash
# Regenerates the reference MPTCP v1 captures in pipeline/tests/data/: real Linux-kernel MPTCP
# traffic between network namespaces, one small classic pcap (Ethernet) per scenario, with
# tshark's independent decoding of it: <name>.tsv (one row per packet, every field) and
# <name>.options.tsv (one row per MPTCP option), plus README.md describing every file.
# capture_tables.py then cross-checks tokens, IDSNs, HMACs and DSS checksums and fails the
# run if anything is missing or wrong.
#
# Usage (as root): tests/scripts/make-captures.sh [OUTDIR]
#
# Topology (built fresh for every scenario, names prefixed with this script's PID):
#
#   client ns                       router ns                      server ns
#   c-wifi 10.0.1.1 fd00:1::1 ---- r-wifi 10.0.1.254 fd00:1::fe
#   c-cell 10.0.2.1 fd00:2::1 ---- r-cell 10.0.2.254 fd00:2::fe
#                                   r-srv  10.0.3.254 fd00:3::fe ---- s-eth 10.0.3.2 fd00:3::2
#                                          10.0.4.254 fd00:4::fe            10.0.4.2 fd00:4::2
#
# The client connects from wifi to 10.0.3.2 (fd00:3::2) port 5000; its "subflow" endpoint on
# c-cell (address id 2) opens an MP_JOIN subflow; the server's "signal" endpoint 10.0.4.2
# (address id 4) is announced with ADD_ADDR and the client joins it too. Every subflow
# crosses s-eth, so one tcpdump there (Ethernet link type, filter "tcp") sees the whole
# connection. Endpoints are added while the connection is up, at fixed points of the
# transfer (the peers wait for flag files), so the order of events in each capture is the
# same on every run; keys, nonces, ports and ISNs are random.
#
# Offloads are off on every veth so TCP checksums in the captures are real and no frame
# exceeds the 1500-byte MTU. Traffic goes only to addresses inside the namespaces, which
# are deleted on exit, also on failure or interruption.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
OUT=${1:-$REPO/pipeline/tests/data}
PEER="$HERE/mptcp_peer.py"
PORT=5000
PREFIX="nrcap$$"
NS_C="$PREFIX-client"
NS_R="$PREFIX-router"
NS_S="$PREFIX-server"
WORK=$(mktemp -d "/tmp/$PREFIX.XXXXXX")
PIDS=()
# shellcheck source=lib/capture.sh
source "$HERE/lib/capture.sh"

# --- tshark export --------------------------------------------------------------------------
# The exact invocation that produces <name>.tsv. Raw (absolute) TCP and MPTCP sequence numbers,
# MPTCP analysis on (expected token / IDSN, DSN per packet), checksums verified.
TSHARK_OPTS=(
    -o mptcp.analyze_mptcp:TRUE
    -o mptcp.analyze_mappings:TRUE
    -o mptcp.relative_sequence_numbers:FALSE
    -o tcp.relative_sequence_numbers:FALSE
    -o tcp.analyze_sequence_numbers:TRUE
    -o tcp.check_checksum:TRUE
    -o ip.check_checksum:TRUE
)
TSV_FIELDS=(
    frame.number frame.time_relative frame.len
    eth.src eth.dst eth.type
    ip.src ip.dst ip.proto ip.ttl ip.id ip.flags ip.len ip.checksum ip.checksum.status
    ipv6.src ipv6.dst ipv6.nxt ipv6.hlim ipv6.plen ipv6.flow
    tcp.stream tcp.srcport tcp.dstport tcp.seq_raw tcp.ack_raw tcp.flags tcp.window_size_value
    tcp.checksum tcp.checksum.status tcp.hdr_len tcp.len
    tcp.options tcp.option_kind tcp.option_len
    tcp.options.mss_val tcp.options.wscale.shift tcp.options.sack_perm
    tcp.options.timestamp.tsval tcp.options.timestamp.tsecr
    tcp.options.sack_le tcp.options.sack_re
    tcp.options.mptcp.subtype tcp.options.mptcp.version tcp.options.mptcp.flags
    tcp.options.mptcp.reserved tcp.options.mptcp.reserved.flag
    tcp.options.mptcp.checksumreq.flags tcp.options.mptcp.extensibility.flag
    tcp.options.mptcp.nomoresubflows.flag
    tcp.options.mptcp.sha1.flag tcp.options.mptcp.sha256.flag
    tcp.options.mptcp.sendkey tcp.options.mptcp.recvkey
    tcp.options.mptcp.backup.flag tcp.options.mptcp.addrid tcp.options.mptcp.recvtok
    tcp.options.mptcp.sendrand tcp.options.mptcp.sendtrunchmac tcp.options.mptcp.sendhmac
    tcp.options.mptcp.datafin.flag tcp.options.mptcp.dseqn8.flag
    tcp.options.mptcp.dseqnpresent.flag tcp.options.mptcp.dataack8.flag
    tcp.options.mptcp.dataackpresent.flag
    tcp.options.mptcp.rawdataack tcp.options.mptcp.rawdataseqno
    tcp.options.mptcp.subflowseqno tcp.options.mptcp.datalvllen tcp.options.mptcp.checksum
    tcp.options.mptcp.ipver tcp.options.mptcp.echo tcp.options.mptcp.ipv4
    tcp.options.mptcp.ipv6 tcp.options.mptcp.port tcp.options.mptcp.addaddrtrunchmac
    tcp.options.mptcp.flag_U.flag tcp.options.mptcp.flag_V.flag
    tcp.options.mptcp.flag_W.flag tcp.options.mptcp.flag_T.flag tcp.options.mptcp.rst_reason
    mptcp.stream mptcp.master mptcp.expected_token mptcp.expected_idsn
    mptcp.analysis.subflows mptcp.rm_addr.count
    mptcp.dsn mptcp.rawdsn64 mptcp.dss.dsn mptcp.ack
    mptcp.related_mapping mptcp.reinjection_of mptcp.reinjected_in
)

# export NAME: <name>.tsv (one row per packet, the fields above) and <name>.options.tsv
# (one row per MPTCP option, rearranged from tshark's PDML by capture_tables.py).
export_tables() {
    local name=$1 field args=()
    for field in "${TSV_FIELDS[@]}"; do args+=(-e "$field"); done
    tshark -r "$OUT/$name.pcap" "${TSHARK_OPTS[@]}" -T fields -E header=y -E separator=/t \
        -E occurrence=a -E aggregator=, "${args[@]}" >"$OUT/$name.tsv" 2>"$WORK/tshark.err"
    tshark -r "$OUT/$name.pcap" "${TSHARK_OPTS[@]}" -T pdml >"$WORK/$name.pdml" 2>"$WORK/tshark.err"
    python3 "$HERE/capture_tables.py" options "$WORK/$name.pdml" "$OUT/$name.options.tsv"
    # tshark's own verdict: no malformed packet, no bad checksum.
    tshark -r "$OUT/$name.pcap" "${TSHARK_OPTS[@]}" -q -z expert >"$WORK/$name.expert" 2>&1
    if grep -qiE 'malformed|bad checksum|checksum is bad' "$WORK/$name.expert"; then
        log "$name: tshark reports errors:"
        cat "$WORK/$name.expert" >&2
        return 1
    fi
}

# --- namespaces -----------------------------------------------------------------------------
log() { echo "make-captures: $*" >&2; }
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

topo_down() {
    local ns
    for ns in "$NS_C" "$NS_R" "$NS_S"; do
        ip netns del "$ns" 2>/dev/null || true
    done
}

# reap PID: wait for one of our background processes and forget it, so cleanup never
# signals a PID that has since been reused. Returns the process's status.
reap() {
    local pid=$1 rc=0 kept=() p
    wait "$pid" || rc=$?
    for p in "${PIDS[@]}"; do [[ $p == "$pid" ]] || kept+=("$p"); done
    PIDS=("${kept[@]}")
    return "$rc"
}

cleanup() {
    local rc=$? pid
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    topo_down
    rm -rf "$WORK"
    if ((rc != 0)); then log "FAILED (exit $rc)"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# veth pair with fixed MACs (02:00:00:00:<subnet>:<host>), offloads off, both ends up.
veth() {
    local ns1=$1 if1=$2 mac1=$3 ns2=$4 if2=$5 mac2=$6
    ip link add "$if1" netns "$ns1" address "$mac1" type veth \
        peer name "$if2" netns "$ns2" address "$mac2"
    in_ns "$ns1" ethtool -K "$if1" tx off rx off tso off gso off gro off >/dev/null
    in_ns "$ns2" ethtool -K "$if2" tx off rx off tso off gso off gro off >/dev/null
    in_ns "$ns1" ip link set "$if1" up
    in_ns "$ns2" ip link set "$if2" up
}

# addr NS IF ADDR/LEN; IPv6 without duplicate address detection (no tentative delay).
addr() {
    if [[ $3 == *:* ]]; then
        in_ns "$1" ip addr add "$3" dev "$2" nodad
    else
        in_ns "$1" ip addr add "$3" dev "$2"
    fi
}

# neigh NS IF MAC ADDR...: permanent neighbour entries.
neigh() {
    local ns=$1 dev=$2 mac=$3 a
    shift 3
    for a in "$@"; do in_ns "$ns" ip neigh replace "$a" lladdr "$mac" dev "$dev" nud permanent; done
}

# topo_up CHECKSUM(0|1): fresh namespaces, links, addresses, routes, MPTCP sysctls and limits.
topo_up() {
    local csum=$1 ns
    topo_down
    for ns in "$NS_C" "$NS_R" "$NS_S"; do
        ip netns add "$ns"
        in_ns "$ns" ip link set lo up
        in_ns "$ns" sysctl -qw net.mptcp.enabled=1 net.mptcp.checksum_enabled="$csum"
    done
    veth "$NS_C" c-wifi 02:00:00:00:01:01 "$NS_R" r-wifi 02:00:00:00:01:fe
    veth "$NS_C" c-cell 02:00:00:00:02:01 "$NS_R" r-cell 02:00:00:00:02:fe
    veth "$NS_S" s-eth 02:00:00:00:03:02 "$NS_R" r-srv 02:00:00:00:03:fe

    addr "$NS_C" c-wifi 10.0.1.1/24; addr "$NS_C" c-wifi fd00:1::1/64
    addr "$NS_C" c-cell 10.0.2.1/24; addr "$NS_C" c-cell fd00:2::1/64
    addr "$NS_R" r-wifi 10.0.1.254/24; addr "$NS_R" r-wifi fd00:1::fe/64
    addr "$NS_R" r-cell 10.0.2.254/24; addr "$NS_R" r-cell fd00:2::fe/64
    addr "$NS_R" r-srv 10.0.3.254/24; addr "$NS_R" r-srv fd00:3::fe/64
    addr "$NS_R" r-srv 10.0.4.254/24; addr "$NS_R" r-srv fd00:4::fe/64
    addr "$NS_S" s-eth 10.0.3.2/24; addr "$NS_S" s-eth fd00:3::2/64
    addr "$NS_S" s-eth 10.0.4.2/24; addr "$NS_S" s-eth fd00:4::2/64

    in_ns "$NS_R" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
    # Static neighbours: no ARP/ND wait, which would delay the first SYN past the client's
    # 1 s SYN retransmission and put duplicate handshakes in the capture.
    neigh "$NS_C" c-wifi 02:00:00:00:01:fe 10.0.1.254 fd00:1::fe
    neigh "$NS_C" c-cell 02:00:00:00:02:fe 10.0.2.254 fd00:2::fe
    neigh "$NS_R" r-wifi 02:00:00:00:01:01 10.0.1.1 fd00:1::1
    neigh "$NS_R" r-cell 02:00:00:00:02:01 10.0.2.1 fd00:2::1
    neigh "$NS_R" r-srv 02:00:00:00:03:02 10.0.3.2 fd00:3::2 10.0.4.2 fd00:4::2
    neigh "$NS_S" s-eth 02:00:00:00:03:fe 10.0.3.254 fd00:3::fe 10.0.4.254 fd00:4::fe
    # Client: wifi is the default path; traffic sourced from the cell address leaves via cell.
    in_ns "$NS_C" ip route add default via 10.0.1.254 dev c-wifi
    in_ns "$NS_C" ip -6 route add default via fd00:1::fe dev c-wifi
    in_ns "$NS_C" ip rule add from 10.0.2.1 table 102
    in_ns "$NS_C" ip -6 rule add from fd00:2::1 table 102
    in_ns "$NS_C" ip route add default via 10.0.2.254 dev c-cell table 102
    in_ns "$NS_C" ip -6 route add default via fd00:2::fe dev c-cell table 102
    in_ns "$NS_S" ip route add default via 10.0.3.254 dev s-eth
    in_ns "$NS_S" ip -6 route add default via fd00:3::fe dev s-eth

    for ns in "$NS_C" "$NS_S"; do
        in_ns "$ns" ip mptcp endpoint flush
        in_ns "$ns" ip mptcp limits set subflows 4 add_addr_accepted 4
    done
}

# --- capture and peers ----------------------------------------------------------------------
CAP_PID=""
capture_start() {
    tcpdump_start "$NS_S" "$1" -i s-eth -s 0 tcp || { log "$TCPDUMP_ERROR"; return 1; }
    CAP_PID=$TCPDUMP_PID
    PIDS+=("$CAP_PID")
}

# capture_stop NAME: ends the capture, keeps the kernel's MPTCP counters of both hosts.
capture_stop() {
    sleep 0.5 # trailing ACKs / FINs
    kill -TERM "$CAP_PID"
    reap "$CAP_PID" || true
    # -s: do not touch nstat's history file (shared by all namespaces); the namespaces are
    # fresh, so absolute values are this scenario's.
    in_ns "$NS_C" nstat -saz 'MPTcp*' >"$WORK/$1.client.mib"
    in_ns "$NS_S" nstat -saz 'MPTcp*' >"$WORK/$1.server.mib"
}

# wait_file PATH: the peers signal progress by creating files.
wait_file() {
    local i
    for i in $(seq 400); do
        [[ -e $1 ]] && return 0
        sleep 0.05
    done
    log "timed out waiting for $1"
    return 1
}

# wait_subflows N: until the client has N established TCP subflows (all TCP in the client
# namespace belongs to the one connection under test).
wait_subflows() {
    local want=$1 i n
    for i in $(seq 200); do
        n=$(in_ns "$NS_C" ss -tnH state established | wc -l)
        ((n == want)) && { sleep 0.2; return 0; }
        sleep 0.05
    done
    log "expected $want subflows, have $n"
    in_ns "$NS_C" ss -tniM >&2 || true
    return 1
}

SRV_PID="" CLI_PID=""
# peers_start SERVER_ADDR SERVER_STEPS CLIENT_STEPS [extra server args...]
# Started directly with "ip netns exec" so the PIDs are the python processes.
peers_start() {
    local saddr=$1 ssteps=$2 csteps=$3
    shift 3
    rm -f "$WORK"/flag-*
    ip netns exec "$NS_S" python3 "$PEER" server "$saddr" "$PORT" --ready-file "$WORK/flag-ready" \
        --steps "$ssteps" "$@" &
    SRV_PID=$!
    PIDS+=("$SRV_PID")
    wait_file "$WORK/flag-ready"
    ip netns exec "$NS_C" python3 "$PEER" client "$saddr" "$PORT" --steps "$csteps" &
    CLI_PID=$!
    PIDS+=("$CLI_PID")
}

peers_wait() {
    reap "$CLI_PID"
    reap "$SRV_PID"
}

# join_and_announce V4|V6 [CELL_FLAGS [SIGNAL_EXTRA]]: client subflow endpoint on cell (id 2),
# wait for the join; then the server's signal endpoint (id 4), wait for ADD_ADDR, its echo and
# the client's join to the announced address.
join_and_announce() {
    local cell=10.0.2.1 extra=10.0.4.2 cell_flags=${2:-subflow} signal_extra=${3:-}
    if [[ $1 == V6 ]]; then cell=fd00:2::1 extra=fd00:4::2; fi
    # shellcheck disable=SC2086 # flag words are split on purpose
    in_ns "$NS_C" ip mptcp endpoint add "$cell" dev c-cell id 2 $cell_flags
    wait_subflows 2
    # shellcheck disable=SC2086
    in_ns "$NS_S" ip mptcp endpoint add "$extra" dev s-eth id 4 $signal_extra signal
    wait_subflows 3
}

# mangle_payload: the router rewrites one 16-bit word of TCP payload in the first client data
# segment that starts at stream offset 1000 (DSS with checksum: 60-byte TCP header, payload
# at byte 60 = bit 480 of the TCP header), and compensates in the urgent pointer (URG is not
# set, so receivers ignore it) so the TCP checksum stays valid: only the DSS checksum sees
# the change, as with a payload-rewriting middlebox (RFC 8684 §3.7).
mangle_payload() {
    local word new
    word=$(PYTHONDONTWRITEBYTECODE=1 python3 -c \
        "import sys; sys.path.insert(0, '$HERE'); import mptcp_peer as p; print(p.pattern('c', 1000, 2).hex())")
    new=$(printf '%04x' $((0x$word + 1)))
    # One's complement sum: (word + 1) + 0xfffe == word + 0xffff == word.
    in_ns "$NS_R" nft -f - <<NFT
table ip mangle {
    chain middlebox {
        type filter hook forward priority 0; policy accept;
        tcp dport $PORT tcp doff 15 @th,480,16 0x$word limit rate 1/hour burst 1 packets counter @th,480,16 set 0x$new @th,144,16 set 0xfffe
    }
}
NFT
}

mangled_count() {
    in_ns "$NS_R" nft list chain ip mangle middlebox | sed -n 's/.*counter packets \([0-9]*\).*/\1/p'
}

F="$WORK/flag"
# Client: first data right after connect (MP_CAPABLE with data length), then waits for the
# script at each "wait", then a normal DATA_FIN close. 24 KB from the server overflow the
# initial subflow's window, so the joined subflows carry data too.
BASIC_SERVER="recv:1000,send:1000,recv:8000,send:24000,eof,close"
BASIC_CLIENT="send:1000,recv:1000,touch:$F-p1,wait:$F-go1,send:8000,recv:24000,close"

# --- scenarios ------------------------------------------------------------------------------
scenario_basic() { # NAME FAMILY CHECKSUM
    local name=$1 fam=$2 csum=$3 saddr=10.0.3.2
    [[ $fam == V6 ]] && saddr=fd00:3::2
    topo_up "$csum"
    capture_start "$WORK/$name.pcap"
    peers_start "$saddr" "$BASIC_SERVER" "$BASIC_CLIENT"
    wait_file "$F-p1"
    join_and_announce "$fam"
    touch "$F-go1"
    peers_wait
    capture_stop "$name"
}

scenario_prio_remove() {
    local name=$1
    topo_up 0
    capture_start "$WORK/$name.pcap"
    peers_start 10.0.3.2 \
        "recv:1000,send:1000,recv:2000,send:2000,recv:2000,send:2000,recv:2000,send:2000,eof,close" \
        "send:1000,recv:1000,touch:$F-p1,wait:$F-go1,send:2000,recv:2000,touch:$F-p2,wait:$F-go2,send:2000,recv:2000,touch:$F-p3,wait:$F-go3,send:2000,recv:2000,close"
    wait_file "$F-p1"
    # The announced address carries a port: ADD_ADDR with port, join to 10.0.4.2:5004.
    join_and_announce V4 subflow "port 5004"
    touch "$F-go1"
    wait_file "$F-p2"
    # MP_PRIO: the server marks the initial subflow's address (10.0.3.2, given an endpoint
    # id 3 without flags) backup, the client its cell address backup and back; data then
    # moves to the joined subflows.
    in_ns "$NS_S" ip mptcp endpoint add 10.0.3.2 dev s-eth id 3
    in_ns "$NS_S" ip mptcp endpoint change id 3 backup
    sleep 0.3
    in_ns "$NS_C" ip mptcp endpoint change id 2 backup
    sleep 0.3
    in_ns "$NS_C" ip mptcp endpoint change id 2 nobackup
    sleep 0.3
    touch "$F-go2"
    wait_file "$F-p3"
    # REMOVE_ADDR: the server withdraws its announced address, then the client its cell one.
    in_ns "$NS_S" ip mptcp endpoint delete id 4
    wait_subflows 2
    in_ns "$NS_C" ip mptcp endpoint delete id 2
    wait_subflows 1
    touch "$F-go3"
    peers_wait
    capture_stop "$name"
}

scenario_fastclose() {
    local name=$1
    topo_up 0
    capture_start "$WORK/$name.pcap"
    # The client aborts (SO_LINGER 0) with 2000 unread bytes: MP_FASTCLOSE on every subflow.
    peers_start 10.0.3.2 \
        "recv:1000,send:1000,recv:1000,send:2000,touch:$F-p2,reset" \
        "send:1000,recv:1000,touch:$F-p1,wait:$F-go1,send:1000,wait:$F-p2,sleep:0.3,linger0,close"
    wait_file "$F-p1"
    # The cell path joins as backup (B=1 in the MP_JOIN SYN), as iOS does for cellular.
    join_and_announce V4 "subflow backup"
    touch "$F-go1"
    peers_wait
    capture_stop "$name"
}

scenario_join_rejected() {
    local name=$1
    topo_up 0
    # The server accepts no extra subflow: the client's MP_JOIN is refused (MP_TCPRST).
    in_ns "$NS_S" ip mptcp limits set subflows 0 add_addr_accepted 0
    capture_start "$WORK/$name.pcap"
    peers_start 10.0.3.2 "$BASIC_SERVER" "$BASIC_CLIENT"
    wait_file "$F-p1"
    in_ns "$NS_C" ip mptcp endpoint add 10.0.2.1 dev c-cell id 2 subflow
    sleep 1
    wait_subflows 1
    touch "$F-go1"
    peers_wait
    capture_stop "$name"
}

# scenario_mp_fail NAME JOIN(0|1): DSS checksums on, one payload word rewritten by the router.
# Alone on one subflow the receiver answers MP_FAIL and the connection falls back to an
# infinite mapping; with a second subflow the damaged subflow is reset instead.
scenario_mp_fail() {
    local name=$1 join=$2
    topo_up 1
    mangle_payload
    capture_start "$WORK/$name.pcap"
    peers_start 10.0.3.2 "recv:1000,send:1000,recv:3000,recv:2000,send:3000,eof,close" \
        "send:1000,recv:1000,touch:$F-p1,wait:$F-go1,send:3000,sleep:0.3,send:2000,recv:3000,close"
    wait_file "$F-p1"
    if ((join)); then
        in_ns "$NS_C" ip mptcp endpoint add 10.0.2.1 dev c-cell id 2 subflow
        wait_subflows 2
    fi
    touch "$F-go1"
    peers_wait
    capture_stop "$name"
    [[ $(mangled_count) == 1 ]] || { log "$name: the router rewrote no segment"; return 1; }
}

# The server forbids joins to its initial address and port: C flag in its MP_CAPABLE.
scenario_c_flag() {
    local name=$1
    topo_up 0
    in_ns "$NS_S" sysctl -qw net.mptcp.allow_join_initial_addr_port=0
    capture_start "$WORK/$name.pcap"
    peers_start 10.0.3.2 "$BASIC_SERVER" "$BASIC_CLIENT"
    wait_file "$F-p1"
    in_ns "$NS_C" ip mptcp endpoint add 10.0.2.1 dev c-cell id 2 subflow
    sleep 0.5
    wait_subflows 1
    in_ns "$NS_S" ip mptcp endpoint add 10.0.4.2 dev s-eth id 4 signal
    wait_subflows 2
    touch "$F-go1"
    peers_wait
    capture_stop "$name"
}

scenario_fallback() {
    local name=$1
    topo_up 0
    capture_start "$WORK/$name.pcap"
    # MPTCP client, plain TCP server: the SYN/ACK has no MP_CAPABLE.
    peers_start 10.0.3.2 "recv:1000,send:1000,recv:3000,send:3000,eof,close" \
        "send:1000,recv:1000,send:3000,recv:3000,close" --plain
    peers_wait
    capture_stop "$name"
}

# --- main -----------------------------------------------------------------------------------
main() {
    [[ $(id -u) -eq 0 ]] || { log "must run as root"; exit 1; }
    local tool
    for tool in tshark tcpdump ethtool nft python3 ip ss; do
        command -v "$tool" >/dev/null || { log "missing $tool (run tests/scripts/setup.sh)"; exit 1; }
    done
    mkdir -p "$OUT"
    scenario_basic v1-ipv4-basic V4 0
    scenario_basic v1-ipv4-checksum V4 1
    scenario_basic v1-ipv6 V6 0
    scenario_prio_remove v1-prio-remove
    scenario_fastclose v1-fastclose
    scenario_join_rejected v1-join-rejected
    scenario_mp_fail v1-mp-fail-fallback 0
    scenario_mp_fail v1-mp-fail-reset 1
    scenario_c_flag v1-c-flag
    scenario_fallback v1-fallback
    topo_down
    local pcap name
    rm -f "$OUT"/v1-*.pcap "$OUT"/v1-*.tsv
    for pcap in "$WORK"/*.pcap; do
        name=$(basename "$pcap" .pcap)
        cp "$pcap" "$OUT/$name.pcap"
        export_tables "$name"
        log "$name: $(($(wc -l <"$OUT/$name.tsv") - 1)) packets, $(stat -c %s "$OUT/$name.pcap") bytes"
    done
    python3 "$HERE/capture_tables.py" check "$OUT"
    python3 "$HERE/capture_tables.py" readme "$OUT" "$WORK" "$HERE/captures-README.in.md"
    log "done: $OUT"
}

main "$@"
