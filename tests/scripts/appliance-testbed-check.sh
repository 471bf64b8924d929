#!/usr/bin/env bash
# Checks the appliance testbed (tests/scripts/lib/appliance-testbed.sh) before NetReaktor runs
# in it: brings it up with the appliance namespace as a plain kernel router, then
#   1. the appliance's client- and origin-facing interfaces have 2 RX and 2 TX queues;
#   2. a kernel TCP download client -> origin through the router and the appliance, from the
#      real origin server (mptcp_transfer.py serve --tcp), arrives byte-exact: its SHA-256
#      equals that of the seeded stream, computed independently;
#   3. the same from the cellular address (the second radio's path);
#   4. client traffic to the service address reaches the appliance namespace;
# and tears everything down (also on failure). Needs root; about 5 s.
#
#   sudo tests/scripts/appliance-testbed-check.sh      # AT_CHECK_BYTES=20000000 by default
set -euo pipefail
cd "$(dirname "$0")/../.."

BYTES=${AT_CHECK_BYTES:-20000000}
SEED=7
TRANSFER=tests/scripts/mptcp_transfer.py

if [[ $(id -u) -ne 0 ]]; then
    echo "appliance-testbed-check: SKIPPED, needs root (network namespaces)" >&2
    exit 0
fi

# shellcheck source=lib/appliance-testbed.sh
source tests/scripts/lib/appliance-testbed.sh
appliance_testbed_trap
appliance_testbed_up forward
echo "appliance-testbed-check: namespaces ${AT_PREFIX}-{client,router,appliance,origin}"

fail() {
    echo "appliance-testbed-check: FAIL: $*" >&2
    exit 1
}

# 1. Queues.
for ifc in "$AT_CLIENT_IF" "$AT_ORIGIN_IF"; do
    queues=$(at_appliance ls "/sys/class/net/$ifc/queues" | sort | tr '\n' ' ')
    [[ $queues == "rx-0 rx-1 tx-0 tx-1 " ]] || fail "$ifc queues: $queues"
done
echo "appliance-testbed-check: $AT_CLIENT_IF and $AT_ORIGIN_IF have 2 RX and 2 TX queues"

# The expected digest, computed here rather than trusting the fetcher's own comparison.
expected=$(python3 -c "
import hashlib, random, sys
rng, left, h = random.Random($SEED), $BYTES, hashlib.sha256()
while left > 0:
    block = rng.randbytes(65536)[:min(left, 65536)]
    h.update(block)
    left -= len(block)
print(h.hexdigest())")

# 2 and 3. Downloads from the origin, from the Wi-Fi and then the cellular address.
appliance_testbed_origin 2 "$BYTES" "$SEED"
fetch_from() {
    local label=$1 result sha # then the interpreter command
    shift
    result=$(at_client "$@" "$TRANSFER" fetch --tcp --progress 1 \
        --connect "$AT_ORIGIN_ADDR:$AT_ORIGIN_PORT" --bytes "$BYTES" --seed "$SEED" | tail -n 1)
    sha=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["sha256"])' "$result")
    [[ $sha == "$expected" ]] || fail "$label: sha256 $sha, expected $expected ($result)"
    echo "appliance-testbed-check: $label: $BYTES bytes origin -> client, sha256 ok ($result)"
}
fetch_from "via wifi0" python3
# A source-bound client: the cellular address's rule sends it out by cell0.
fetch_from "via cell0" env NR_BIND="$AT_CELL_ADDR" python3 -c "
import os, socket, sys, runpy
real = socket.socket.connect
def connect(self, addr):
    self.bind((os.environ['NR_BIND'], 0))
    return real(self, addr)
socket.socket.connect = connect
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name='__main__')"
cell_bytes=$(at_router cat /sys/class/net/r-cell/statistics/tx_bytes)
((cell_bytes >= BYTES)) || fail "the cellular download did not cross r-cell ($cell_bytes bytes)"
routed=$(at_appliance cat "/sys/class/net/$AT_CLIENT_IF/statistics/tx_bytes")
((routed >= 2 * BYTES)) || fail "the downloads did not leave the appliance by $AT_CLIENT_IF ($routed bytes)"

# 4. The service address is the appliance's: a listener there answers the client.
at_appliance python3 "$TRANSFER" serve --tcp --listen "$AT_SERVICE_ADDR:80" --bytes 100000 \
    --seed 3 >/dev/null &
at_wait_listen "$AT_APPLIANCE" 80
at_client python3 "$TRANSFER" fetch --tcp --progress 1 --connect "$AT_SERVICE_ADDR:80" \
    --bytes 100000 --seed 3 >/dev/null || fail "service address $AT_SERVICE_ADDR:80"
echo "appliance-testbed-check: client -> service address $AT_SERVICE_ADDR:80 reaches the appliance"

echo "appliance-testbed-check: ok"
