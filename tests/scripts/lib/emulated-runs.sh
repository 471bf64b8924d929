# shellcheck shell=bash
# Runs of the emulated iPhone client (netreaktor-bench --engine emulated) and checks of their
# JSON reports, shared by tests/scripts/emulated-e2e.sh and ios-appliance-e2e.sh. The caller
# defines WORK (each run writes $WORK/NAME.json and NAME.err), `pass`, `fail`, and
# `emulated_client NAME FLAGS...` (runs the client in the phone with those flags, its report
# to $WORK/NAME.json and stderr to $WORK/NAME.err).

# Runs the client as run $1 with the flags that follow; a failed run is reported with its
# problems and connections.
run_step() {
    local name=$1
    shift
    if emulated_client "$name" "$@"; then
        return 0
    fi
    fail "$name: $(tail -3 "$WORK/$name.err") $(python3 -c 'import json,sys
r = json.load(open(sys.argv[1]))
print(r["problems"], r["results"]["connections"])' "$WORK/$name.json" 2>/dev/null)"
    return 1
}

# Prints field $2 of every connection of run $1, space-separated.
conns() {
    python3 -c 'import json,sys
r = json.load(open(sys.argv[1]))
print(" ".join(str(c.get(sys.argv[2])) for c in r["results"]["connections"]))' "$WORK/$1.json" "$2"
}

# PASS when the connections of run $1 read $3 in field $2 (the run itself checked the bytes).
expect() {
    local run=$1 field=$2 want=$3 got
    got=$(conns "$run" "$field" 2>/dev/null || echo "no report")
    if [[ $got == "$want" ]]; then
        pass "$run: $field = $got; $(conns "$run" bytes) bytes, byte-exact"
    else
        fail "$run: $field = $got, want $want; $(tail -3 "$WORK/$run.err" 2>/dev/null)"
    fi
}

# Starts tcpdump in network namespace $1, writing $2, with the filter that follows (headers
# only, a 32 MB kernel buffer, each packet written as it comes); sets CAP_PID to tcpdump's own
# pid (`ip netns exec` executes it in place) and returns once it listens.
capture_start() {
    local ns=$1 pcap=$2 i
    shift 2
    ip netns exec "$ns" tcpdump -q -i any -s 160 -B 32768 -U -w "$pcap" "$@" 2>"$pcap.log" &
    CAP_PID=$!
    for i in $(seq 50); do
        grep -q 'listening on' "$pcap.log" && return 0
        sleep 0.1
    done
    fail "tcpdump did not start: $(cat "$pcap.log")"
}

# Stops the capture of capture_start and waits for tcpdump to finish its file, so tshark never
# reads a capture cut short; sets CAP_DROPPED to the packets the kernel dropped before tcpdump
# saw them. Not to be called in a subshell, which cannot wait for tcpdump.
capture_stop() {
    local pcap=$1
    [[ -n ${CAP_PID:-} ]] || return 0
    kill -INT "$CAP_PID" 2>/dev/null || true
    wait "$CAP_PID" 2>/dev/null || true
    CAP_PID=""
    CAP_DROPPED=$(awk '/packets dropped by kernel/ { print $1; found = 1 }
        END { if (!found) print "?" }' "$pcap.log")
}
