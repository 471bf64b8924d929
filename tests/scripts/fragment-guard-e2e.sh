#!/usr/bin/env bash
# The host kernel never answers for NetReaktor's connections (docs/architecture.md, "The host
# kernel never answers for us"), end to end on the appliance testbed
# (tests/scripts/lib/appliance-testbed.sh, no kernel forwarding):
#   during a download through NetReaktor (shaped at the router so it lasts seconds), the client
#   namespace sends fragmented copies of the connection's 20th ACK (tests/scripts/fragment_ack.py,
#   8 bytes of TCP header per IPv4 fragment) to the service address. Checked:
#   - the download was still running after the fragments were sent, and finishes byte-exact
#     (SHA-256, tests/scripts/e2e_traffic.py);
#   - a capture on the router's link to the appliance (r-srv) shows the fragments going to the
#     appliance and no RST coming from it;
#   - the appliance's kernel reassembled nothing and sent no RST (nstat IpReasmReqds,
#     TcpOutRsts unchanged);
#   - the steering program counted them: netreaktor_xdp_frames_total{verdict="drop_fragment"}
#     grew by at least the number of fragments sent.
#
#   tests/scripts/fragment-guard-e2e.sh        # as root; E2E_BIN (target/release/netreaktor)
set -euo pipefail
cd "$(dirname "$0")/../.."

BIN=${E2E_BIN:-target/release/netreaktor}
TRAFFIC=tests/scripts/e2e_traffic.py
METRICS_URL=http://127.0.0.1:9100/metrics
DOWN_BYTES=${E2E_FRAG_DOWN_BYTES:-60000000}
APPLIANCE=netreaktor

say() { echo "fragment-guard-e2e: $*"; }
fail() {
    echo "fragment-guard-e2e: FAIL: $*" >&2
    echo "----- appliance log ($LOG) -----" >&2
    tail -n 60 "$LOG" >&2 2>/dev/null || true
    exit 1
}

if [[ $(id -u) -ne 0 ]]; then
    echo "fragment-guard-e2e: SKIPPED, needs root (network namespaces)" >&2
    exit 0
fi
[[ -x $BIN ]] || fail "no netreaktor binary at $BIN (set E2E_BIN)"
/usr/bin/python3 -c 'import scapy' 2>/dev/null || fail "scapy missing (apt-get install python3-scapy)"

WORK=$(mktemp -d /tmp/fragment-guard-e2e.XXXXXX)
LOG=$WORK/appliance.log
: >"$LOG"
APPLIANCE_PID=""
ORIGIN_PID=""
CAP_PID=""
PASSED=""

cleanup() {
    local pid
    for pid in $CAP_PID $APPLIANCE_PID $ORIGIN_PID; do
        kill "$pid" 2>/dev/null || true
    done
    CAP_PID=""
    APPLIANCE_PID=""
    ORIGIN_PID=""
    [[ -z $PASSED ]] || rm -rf "$WORK"
}

# shellcheck source=lib/appliance-testbed.sh
source tests/scripts/lib/appliance-testbed.sh
# shellcheck source=lib/capture.sh
source tests/scripts/lib/capture.sh
appliance_testbed_trap cleanup
# shellcheck disable=SC2119 # no "forward": only the appliance carries traffic
appliance_testbed_up
say "namespaces ${AT_PREFIX}-{client,router,appliance,origin}"

metrics() { at_appliance curl -sf --max-time 5 "$METRICS_URL"; }
# The steering program's count of verdict $1 on the client-facing interface, from /metrics.
verdict() {
    metrics | at_metric_sum netreaktor_xdp_frames_total - "interface=\"$AT_CLIENT_IF\",verdict=\"$1\""
}
# The appliance kernel's counter $1 (nstat -s: no history file shared across namespaces).
kernel_counter() { at_appliance nstat -saz "$1" | awk -v n="$1" '$1 == n { print $2 }'; }

ip netns exec "$AT_ORIGIN" python3 "$TRAFFIC" origin --listen "$AT_ORIGIN_ADDR:$AT_ORIGIN_PORT" \
    >"$WORK/origin.log" 2>&1 &
ORIGIN_PID=$!
at_wait_listen "$AT_ORIGIN" "$AT_ORIGIN_PORT"
"$BIN" check -c configs/demo.yaml >>"$LOG" 2>&1 || fail "netreaktor check -c configs/demo.yaml"
at_appliance_start configs/demo.yaml || fail "$AT_ERROR"
say "netreaktor ready"

# The capture: fragments to the appliance, RSTs from it.
tcpdump_start "$AT_ROUTER" "$WORK/r-srv.pcap" -i r-srv -s 0 \
    "host $AT_SERVICE_ADDR and ((ip[6:2] & 0x3fff != 0) or (tcp[13] & 4 != 0))" ||
    fail "$TCPDUMP_ERROR"
CAP_PID=$TCPDUMP_PID

reasm_before=$(kernel_counter IpReasmReqds)
rsts_before=$(kernel_counter TcpOutRsts)
dropped_before=$(verdict drop_fragment)

at_router tc qdisc add dev r-wifi root tbf rate 100mbit burst 64kb latency 100ms
at_client /usr/bin/python3 tests/scripts/fragment_ack.py --iface wifi0 --dst "$AT_SERVICE_ADDR" \
    --dport 80 --count 3 --ready "$WORK/sniffing" >"$WORK/fragments.json" 2>&1 &
fragmenter_pid=$!
for _ in $(seq 400); do
    [[ -e $WORK/sniffing ]] && break
    kill -0 "$fragmenter_pid" 2>/dev/null || break
    sleep 0.05
done
[[ -e $WORK/sniffing ]] || fail "fragment_ack.py did not start sniffing: $(cat "$WORK/fragments.json")"
at_client python3 "$TRAFFIC" client --connect "$AT_SERVICE_ADDR:80" --up 0 --down "$DOWN_BYTES" \
    --seed 71 --timeout 60 >"$WORK/download.json" 2>&1 &
download_pid=$!
wait "$fragmenter_pid" || fail "fragment_ack.py: $(cat "$WORK/fragments.json")"
running=$(kill -0 "$download_pid" 2>/dev/null && echo yes || echo no)
rc=0
wait "$download_pid" || rc=$?
at_router tc qdisc del dev r-wifi root
((rc == 0)) || fail "the download: $(cat "$WORK/download.json")"
[[ $running == yes ]] ||
    fail "the download had finished before the fragments were sent: nothing shown (raise E2E_FRAG_DOWN_BYTES)"
sent=$(sed -n 's/.*"fragments": \([0-9]*\).*/\1/p' "$WORK/fragments.json")
[[ -n $sent ]] || fail "fragment_ack.py said: $(cat "$WORK/fragments.json")"

# The steering counters reach /metrics about once a second: wait for the copy (at most 10 s).
dropped=0
for _ in $(seq 100); do
    dropped=$(($(verdict drop_fragment) - dropped_before))
    ((dropped >= sent)) && break
    sleep 0.1
done
reasm=$(($(kernel_counter IpReasmReqds) - reasm_before))
rsts=$(($(kernel_counter TcpOutRsts) - rsts_before))

sleep 0.5 # frames still in flight reach the capture
tcpdump_stop "$CAP_PID" "$WORK/r-srv.pcap"
CAP_PID=""
captured_fragments=$(tcpdump -r "$WORK/r-srv.pcap" -n "dst host $AT_SERVICE_ADDR and ip[6:2] & 0x3fff != 0" 2>/dev/null | wc -l)
captured_rsts=$(tcpdump -r "$WORK/r-srv.pcap" -n "src host $AT_SERVICE_ADDR and tcp[13] & 4 != 0" 2>/dev/null | wc -l)

((captured_fragments >= sent)) || fail "the capture on r-srv shows $captured_fragments fragments to the appliance, $sent sent"
((captured_rsts == 0)) || fail "the appliance sent $captured_rsts RST(s): $(tcpdump -r "$WORK/r-srv.pcap" -n 'tcp[13] & 4 != 0' 2>/dev/null)"
((reasm == 0)) || fail "the appliance's kernel received $reasm fragments to reassemble (IpReasmReqds)"
((rsts == 0)) || fail "the appliance's kernel sent $rsts RST(s) (TcpOutRsts)"
((dropped >= sent)) || fail "xdp verdict drop_fragment grew by $dropped, $sent fragments sent"

at_appliance_stop || fail "$AT_ERROR"
PASSED=1
say "PASS: $sent fragments of the live connection's ACK $(cat "$WORK/fragments.json") sent mid-download; capture on r-srv: $captured_fragments fragments to the appliance, $captured_rsts RSTs from it; appliance kernel: IpReasmReqds +$reasm, TcpOutRsts +$rsts; xdp drop_fragment +$dropped; download of $DOWN_BYTES bytes byte-exact $(cat "$WORK/download.json")"
