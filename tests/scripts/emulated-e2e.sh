#!/usr/bin/env bash
# The emulated iPhone (netreaktor-bench --engine emulated, perf/src/engine/emulated) against
# the Linux kernel's MPTCP server (netreaktor-bench server on IPPROTO_MPTCP sockets), on the
# namespace testbed (tests/scripts/lib/testbed.sh: phone wifi0 10.1.0.2 + cell0 10.2.0.2 ->
# router -> server 10.9.0.2). Steps, each printing PASS/FAIL with numbers:
#   1. --ios 16 --service interactive: v1, a cellular join with B=1, download and upload
#      byte-exact;
#   2. the same, Wi-Fi blackholed at the router (tb_cut) mid-transfer: the download and the
#      upload complete byte-exact over cellular; the stall and the reinjected bytes printed;
#   2b. --service handover: a Wi-Fi cut during an upload opens cellular and moves the data;
#      Wi-Fi restored, the cellular subflow is reset (cell_resets 1), byte-exact;
#   3. --ios 13: v0 offered, Linux has no v0: plain TCP (fallback: no MP_CAPABLE in the
#      SYN/ACK), byte-exact;
#   4. --ios 15, two connections one after the other: v0 -> plain TCP, then v1 -> MPTCP
#      (the per-server version cache);
#   5. tshark on the phone's capture of steps 1-4: no malformed packet and no MPTCP expert
#      error; every join SYN's token is the one Wireshark derives from the server's key; the
#      client's DSS mappings on its first subflow, made relative by the IDSN Wireshark derives
#      from the client's key, fall within the bytes sent (and equal their subflow sequence
#      numbers where nothing was reinjected); every MP_CAPABLE kind the
#      client sends (v0 SYN, v1 SYN, third ACK, first data with length) was seen.
#
#   sudo tests/scripts/emulated-e2e.sh
# Environment: E2E_BENCH (the netreaktor-bench binary; default $CARGO_TARGET_DIR/release or
# target/release, built if missing), E2E_TIME (seconds per transfer, 2), E2E_RATE (tbf rate
# of each radio, both ways, 100mbit).
set -euo pipefail
[[ -n ${E2E_BENCH:-} && $E2E_BENCH != /* ]] && E2E_BENCH="$PWD/$E2E_BENCH"
cd "$(dirname "$0")/../.."

BENCH=${E2E_BENCH:-${CARGO_TARGET_DIR:-target}/release/netreaktor-bench}
[[ $BENCH != /* ]] && BENCH="$PWD/$BENCH"
TIME=${E2E_TIME:-2}
RATE=${E2E_RATE:-100mbit}
if [[ ! -x $BENCH ]]; then
    cargo build --release --locked -p netreaktor-bench
fi

TB_PREFIX=emu$$
# shellcheck source=lib/testbed.sh
source tests/scripts/lib/testbed.sh
WORK=$(mktemp -d)
cleanup() {
    [[ -n ${CAP_PID:-} ]] && kill "$CAP_PID" 2>/dev/null
    [[ -n ${SRV_PID:-} ]] && kill "$SRV_PID" 2>/dev/null
    wait 2>/dev/null || true
    testbed_down
    [[ -n ${E2E_KEEP:-} ]] && echo "kept $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT
testbed_up >/dev/null
# The phone's kernel MPTCP is not used: the bench speaks for the phone.
tb_phone ip mptcp endpoint flush
# Radios at $RATE both ways, so transfers (and the capture tshark reads) stay small.
for radio in wifi cell; do
    tb_shape "$radio" "$RATE"
    tb_phone tc qdisc replace dev "${radio}0" root tbf rate "$RATE" burst 32kb latency 100ms
done

tb_server "$BENCH" server --mptcp -l "$TB_SERVER_ADDR:5201" >"$WORK/server.log" 2>&1 &
SRV_PID=$!

FAILED=0
pass() { printf 'PASS %s\n' "$*"; }
fail() {
    printf 'FAIL %s\n' "$*"
    FAILED=1
}

# Runs the emulated client in the phone; $1 names the run, the rest are its flags.
emulated_client() {
    local name=$1
    shift
    tb_phone "$BENCH" client --engine emulated --wifi wifi0 --cell cell0 \
        -c "$TB_SERVER_ADDR:5201" --json "$@" >"$WORK/$name.json" 2>"$WORK/$name.err"
}

# shellcheck source=lib/emulated-runs.sh
source tests/scripts/lib/emulated-runs.sh
capture_start "$TB_PHONE" "$WORK/phone.pcap" tcp port 5201

# 1. v1, joins with B=1, both directions.
if run_step ios16-down --ios 16 --service interactive throughput -t "$TIME" -R; then
    expect ios16-down version v1
    expect ios16-down joins 1
fi
if run_step ios16-up --ios 16 --service interactive throughput -t "$TIME"; then
    expect ios16-up version v1
fi

# 2. A Wi-Fi cut mid-transfer, each direction.
CUT="ip netns exec $TB_ROUTER sh -c 'nft add table inet cut_wifi; nft add chain inet cut_wifi b \"{ type filter hook forward priority 0; policy accept; }\"; nft add rule inet cut_wifi b iifname r-wifi drop; nft add rule inet cut_wifi b oifname r-wifi drop'"
for dir in down up; do
    flags=()
    [[ $dir == up ]] && flags=(-R)
    if run_step "cut-$dir" --ios 16 --service interactive handover -t $((TIME + 2)) --cut-at 1 \
        --cut-cmd "$CUT" "${flags[@]}"; then
        expect "cut-$dir" version v1
        printf '     stall %s ms, reinjected %s bytes\n' "$(conns "cut-$dir" max_stall_ms)" \
            "$(conns "cut-$dir" reinjected_bytes)"
    fi
    tb_restore wifi
done

# 2b. Handover mode: Wi-Fi cut during an upload opens cellular (B=1) and moves the data;
# when Wi-Fi works again iOS resets the cellular subflow and goes on over Wi-Fi.
if run_step handover-mode --ios 16 --service handover handover -t $((TIME + 4)) -R --cut-at 1 \
    --cut-cmd "$CUT" --restore-at 3 --restore-cmd "ip netns exec $TB_ROUTER nft delete table inet cut_wifi"; then
    expect handover-mode joins 1
    expect handover-mode cell_resets 1
fi
tb_restore wifi

# 3. iOS 13 speaks v0 only: plain TCP against Linux.
if run_step ios13 --ios 13 throughput -t 1; then
    expect ios13 version None
    expect ios13 fallback no-capable-in-syn-ack
fi

# 4. iOS 15 learns v1 after v0 failed.
if run_step ios15 --ios 15 --sequential throughput -t 1 -P 2; then
    expect ios15 offered "v0 v1"
    expect ios15 version "None v1"
fi

# 5. tshark on everything the phone sent and received.
sleep 0.5
capture_stop "$WORK/phone.pcap"
printf '     capture: %s packets dropped by the kernel\n' "$CAP_DROPPED"
# The payload is the bench's stream: decoded as data, so no heuristic dissector misreads it.
# What tshark decoded counts even if it exits non-zero (the checks below need joins and
# mappings seen, so an unread capture fails).
ts() {
    tshark -r "$WORK/phone.pcap" -o mptcp.analyze_mptcp:TRUE -o tcp.analyze_sequence_numbers:FALSE \
        -d tcp.port==5201,data "$@" 2>>"$WORK/tshark.err" || true
}
# 8388608: Wireshark's expert severity "Error".
bad=$(ts -Y '_ws.malformed || mptcp.connection.echoed_key_mismatch || _ws.expert.severity >= 8388608' | wc -l)
# Join SYNs: the token we sent, the token Wireshark derives from the server's key.
joins=$(ts -Y 'tcp.flags.syn == 1 && tcp.flags.ack == 0 && tcp.options.mptcp.subtype == 1' \
    -T fields -e tcp.options.mptcp.recvtok -e tcp.options.mptcp.backup.flag -e mptcp.stream)
tokens=$(ts -Y 'tcp.flags.syn == 1 && tcp.flags.ack == 1 && tcp.options.mptcp.subtype == 0' \
    -T fields -e mptcp.expected_token | sort -u)
bad_tokens=0 backup0=0
while read -r tok b _; do
    [[ -z $tok ]] && continue
    grep -qx "$tok" <<<"$tokens" || bad_tokens=$((bad_tokens + 1))
    [[ $b == 1 ]] || backup0=$((backup0 + 1))
done <<<"$joins"
njoins=$(grep -c . <<<"$joins" || true)
# DSS mappings on the first subflow (from wifi0): relative DSN (via the IDSN Wireshark
# derives from our key) equals the SSN on connections that reinjected nothing.
mapped=$(ts -Y 'ip.src == 10.1.0.2 && tcp.options.mptcp.subtype == 2 && tcp.options.mptcp.datalvllen' \
    -T fields -e mptcp.dss.dsn -e tcp.options.mptcp.subflowseqno)
nmapped=$(grep -c . <<<"$mapped" || true)
# A wrong IDSN would leave relative DSNs spread over the whole 32-bit space; reinjection (steps
# 2 and 2b) legitimately moves them away from the SSN, so the bound is the bytes sent.
offset=$(awk -F'\t' '$1 < 1 || $1 > 1073741824' <<<"$mapped" | wc -l)
equal=$(awk -F'\t' '$1 == $2' <<<"$mapped" | wc -l)
kinds=$(ts -Y 'ip.src == 10.1.0.2 && tcp.options.mptcp.subtype == 0' -T fields \
    -e tcp.options.mptcp.version -e tcp.len -e tcp.options.mptcp.datalvllen -e tcp.flags.syn |
    awk -F'\t' '{ k = ($4 == "1" || $4 == "True") ? "syn-v" $1 : ($3 != "" ? "data-v" $1 : "keys-v" $1); print k }' | sort -u | tr '\n' ' ')
echo "     tshark: $bad bad, $njoins join SYNs ($bad_tokens bad tokens, $backup0 without B), $nmapped mappings ($equal with relative DSN = SSN, $offset outside the stream), MP_CAPABLE kinds: $kinds"
want_kinds="data-v1 keys-v0 keys-v1 syn-v0 syn-v1 "
# keys-v0 needs a v0 server; against Linux the v0 SYN is answered without MPTCP.
want_kinds=${want_kinds/keys-v0 /}
if ((bad == 0 && njoins > 0 && bad_tokens == 0 && backup0 == 0 && nmapped > 0 && equal > 0 && offset == 0)) &&
    [[ $kinds == "$want_kinds" ]]; then
    pass "tshark: every option decodes; tokens and IDSNs agree with Wireshark's"
else
    fail "tshark (kinds seen: $kinds; want $want_kinds)"
fi

if ((FAILED)); then
    echo "server log:"
    cat "$WORK/server.log"
    exit 1
fi
echo "emulated-e2e: all steps passed"
