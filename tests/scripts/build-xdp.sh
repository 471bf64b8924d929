#!/usr/bin/env bash
# Rebuilds the XDP steering object src/xdp/steer.bpf.o from src/xdp/steer.bpf.c.
#
#   tests/scripts/build-xdp.sh            # writes src/xdp/steer.bpf.o
#   tests/scripts/build-xdp.sh OUT.o      # writes OUT.o (CI compares it with the committed one)
#
# Needs clang and llvm-strip (Debian `clang`) and the libbpf headers (Debian `libbpf-dev`), both
# installed by tests/scripts/setup.sh. `cargo build` needs neither: the object is committed and
# embedded with include_bytes!. The output is deterministic: compiled from a relative path with
# the working directory fixed, then DWARF stripped (BTF and BTF.ext, which aya uses, are kept).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${1:-$root/src/xdp/steer.bpf.o}"
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac

CLANG=${CLANG:-clang}
STRIP=${LLVM_STRIP:-llvm-strip}
for tool in "$CLANG" "$STRIP"; do
    command -v "$tool" >/dev/null || { echo "build-xdp: $tool not found (run tests/scripts/setup.sh)" >&2; exit 1; }
done
[[ -f /usr/include/bpf/bpf_helpers.h ]] || { echo "build-xdp: libbpf headers missing (apt-get install libbpf-dev)" >&2; exit 1; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cd "$root/src/xdp"
"$CLANG" -O2 -g -target bpf -Wall -Werror \
    -I/usr/include/"$(uname -m)"-linux-gnu \
    -fdebug-prefix-map="$root"=. -fno-ident \
    -c steer.bpf.c -o "$tmp/steer.bpf.o"
"$STRIP" --strip-debug "$tmp/steer.bpf.o" -o "$tmp/steer.stripped.o"
mv "$tmp/steer.stripped.o" "$out"
