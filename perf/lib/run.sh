# shellcheck shell=bash disable=SC2034 # JSON is read by the script that sources this file
# What the perf scripts share: their command line, their work files and the testbed.
# Sourced after the script's `cd` to the repository.
#
#   perf_cli NAME HELP_END "$@"
#
# --json sets JSON=1 (JSON=0 otherwise); -h or --help prints the script's header comment, from
# its second line to the line starting "# HELP_END", and exits 0; anything else exits 2 with
# a hint. Then the script must run as root (network namespaces), or it exits 1. `log MESSAGE`
# writes "NAME: MESSAGE" to stderr.

JSON=0
# (SCRIPTDIR: the perf/ script sourcing this file.)
# shellcheck source=SCRIPTDIR/../tests/scripts/lib/appliance-testbed.sh
source tests/scripts/lib/appliance-testbed.sh

PERF_NAME=perf
log() { echo "$PERF_NAME: $*" >&2; }

perf_cli() {
    local help_end=$2 arg
    PERF_NAME=$1
    shift 2
    for arg in "$@"; do
        case $arg in
            --json) JSON=1 ;;
            -h | --help)
                sed -n "2,/^# $help_end/p" "$0" | sed 's/^# \{0,1\}//'
                exit 0
                ;;
            *)
                log "unknown argument $arg (try --help)"
                exit 2
                ;;
        esac
    done
    if [[ $(id -u) -ne 0 ]]; then
        log "needs root (network namespaces)"
        exit 1
    fi
}

# A run's work directory $WORK (/tmp/NAME.XXXXXX) with empty $RESULTS and $FAILURES files,
# and the appliance testbed (tests/scripts/lib/appliance-testbed.sh) up without forwarding:
# the proxy under test carries the traffic. On exit the processes in $CLIENT_PID,
# $FLOOD_PID, $PEER_PID and $ORIGIN_PID (those the script set) are killed, $WORK removed
# (kept when PERF_KEEP is set) and the namespaces torn down.
perf_run_start() {
    WORK=$(mktemp -d "/tmp/$PERF_NAME.XXXXXX")
    RESULTS="$WORK/results.tsv"
    FAILURES="$WORK/failures.txt"
    : >"$RESULTS"
    : >"$FAILURES"
    PEER_PID=""
    ORIGIN_PID=""
    appliance_testbed_trap perf_cleanup
    appliance_testbed_up ""
}

perf_cleanup() {
    local pid
    for pid in ${CLIENT_PID:-} ${FLOOD_PID:-} ${PEER_PID:-} ${ORIGIN_PID:-}; do
        kill "$pid" 2>/dev/null || true
    done
    if [[ -n ${PERF_KEEP:-} ]]; then
        log "work files kept in $WORK"
    else
        rm -rf "$WORK"
    fi
}

# A peer failed: said on stderr and kept in $FAILURES for the report (perf/lib/peers.sh
# calls it too).
fail_peer() {
    log "FAIL: $*"
    echo "$*" >>"$FAILURES"
}
