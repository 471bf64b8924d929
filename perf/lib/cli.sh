# shellcheck shell=bash disable=SC2034 # JSON is read by the script that sources this file
# The command line the perf scripts share. Sourced after the script's `cd` to the repository.
#
#   perf_cli NAME HELP_END "$@"
#
# --json sets JSON=1 (JSON=0 otherwise); -h or --help prints the script's header comment, from
# its second line to the line starting "# HELP_END", and exits 0; anything else exits 2 with
# a hint. Then the script must run as root (network namespaces), or it exits 1. `log MESSAGE`
# writes "NAME: MESSAGE" to stderr.

JSON=0
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
