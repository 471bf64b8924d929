#!/usr/bin/env bash
# Builds every fuzz target in pipeline/fuzz and runs each for a few seconds.
#   tests/scripts/fuzz.sh [SECONDS_PER_TARGET]
# Runs on the stable toolchain: `-s none` keeps libFuzzer's coverage guidance without the
# sanitizers that need nightly (the pipeline forbids `unsafe`, so there is no memory-safety
# class for AddressSanitizer to find); `-a` keeps debug assertions and overflow checks on, so an
# arithmetic overflow on hostile input is a crash the fuzzer reports.
set -euo pipefail
cd "$(dirname "$0")/../../pipeline"

seconds=${1:-10}
cargo fuzz build -s none -a
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for target in $(cargo fuzz list); do
    # fuzz/corpus/TARGET (not committed) grows across runs; fuzz/seeds/TARGET holds frames and
    # options from the kernel captures in tests/data, so runs start from real MPTCP traffic.
    mkdir -p "fuzz/corpus/$target"
    if ! cargo fuzz run -s none -a "$target" "fuzz/corpus/$target" "fuzz/seeds/$target" \
        -- -max_total_time="$seconds" >"$log" 2>&1; then
        tail -n 60 "$log" >&2
        echo "fuzz: ${target} failed; the crashing input is under pipeline/fuzz/artifacts/${target}" >&2
        exit 1
    fi
    echo "fuzz: ${target}: $(grep -Eo 'Done [0-9]+ runs in [0-9]+ second' "$log" | tail -n 1)"
done
