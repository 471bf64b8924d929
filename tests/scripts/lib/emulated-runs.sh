# shellcheck shell=bash
# Runs of the emulated iPhone client (netreaktor-bench --engine emulated) and checks of their
# JSON reports, shared by tests/scripts/emulated-e2e.sh and ios-appliance-e2e.sh. The caller
# defines WORK (each run writes $WORK/NAME.json and NAME.err), `pass`, `fail`, and
# `emulated_client NAME FLAGS...` (runs the client in the phone with those flags, its report
# to $WORK/NAME.json and stderr to $WORK/NAME.err).

# shellcheck source=capture.sh
source tests/scripts/lib/capture.sh

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

# The phone's capture (tests/scripts/lib/capture.sh): tcpdump in namespace $1 writing $2 with
# the filter that follows, headers only; sets CAP_PID.
capture_start() {
    local ns=$1 pcap=$2
    shift 2
    tcpdump_start "$ns" "$pcap" -q -i any -s 160 "$@" || fail "$TCPDUMP_ERROR"
    CAP_PID=$TCPDUMP_PID
}

# Stops the capture of capture_start and waits for its file; sets CAP_DROPPED.
capture_stop() {
    tcpdump_stop "${CAP_PID:-}" "$1"
    CAP_PID=""
    CAP_DROPPED=$TCPDUMP_DROPPED
}
