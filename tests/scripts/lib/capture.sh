# shellcheck shell=bash
# Packet captures for the test scripts: start tcpdump in a namespace and know it listens before
# the traffic starts; stop it and know its file is whole before anything reads it.
#
# tcpdump runs packet-buffered (-U, --immediate-mode) with a 32 MB kernel buffer, as root (-Z)
# so it can write into the scripts' private work directories. It handles SIGTERM by flushing
# and closing its file; SIGINT would not do, as a script's background jobs ignore it.

# tcpdump_start NS PCAP TCPDUMP-ARGS...: starts tcpdump in namespace NS writing PCAP (its
# messages in PCAP.log) with the given interface, snap length and filter, and waits up to 5 s
# for it to listen. Sets TCPDUMP_PID to tcpdump's own pid ("ip netns exec" execs it), or
# returns 1 with the reason in TCPDUMP_ERROR.
tcpdump_start() {
    local ns=$1 pcap=$2 i
    shift 2
    ip netns exec "$ns" tcpdump -n -U --immediate-mode -Z root -B 32768 -w "$pcap" "$@" \
        2>"$pcap.log" &
    TCPDUMP_PID=$!
    for i in $(seq 100); do
        grep -q 'listening on' "$pcap.log" && return 0
        kill -0 "$TCPDUMP_PID" 2>/dev/null || break
        sleep 0.05
    done
    TCPDUMP_ERROR="tcpdump in $ns did not start: $(cat "$pcap.log")"
    return 1
}

# tcpdump_stop PID PCAP: stops the tcpdump of tcpdump_start (a no-op when PID is empty) and
# waits for it to finish its file, so no reader sees a capture cut short. Sets TCPDUMP_DROPPED
# to the packets the kernel dropped before tcpdump saw them ("?" when it did not say). Not to
# be called in a subshell, which cannot wait for tcpdump.
tcpdump_stop() {
    local pid=$1 pcap=$2
    TCPDUMP_DROPPED="?"
    [[ -n $pid ]] || return 0
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    TCPDUMP_DROPPED=$(awk '/packets dropped by kernel/ { print $1; found = 1 }
        END { if (!found) print "?" }' "$pcap.log")
}
