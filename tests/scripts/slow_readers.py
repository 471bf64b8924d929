#!/usr/bin/env python3
"""Slow readers for tests/scripts/slow-readers-e2e.sh (issue 17, "slow readers"): COUNT
connections that ask the origin of tests/scripts/e2e_traffic.py for a DOWN-byte download
(mode simple, nothing uploaded) and then never read a byte, with a small SO_RCVBUF set before
connecting so each offers a small window. Python standard library only.

  slow_readers.py --connect ADDR:PORT --count C --down N --rcvbuf B --ready PATH --stop PATH

Writes PATH given by --ready once every connection is open and its header sent, holds them all
until the file given by --stop exists (at most --hold seconds), then closes them (with unread
data queued the kernel answers with an RST) and prints one JSON line: opened, closed.
"""

import argparse
import json
import os
import socket
import sys
import time

from e2e_traffic import HEADER, MAGIC, split_addr


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--connect", required=True)
    p.add_argument("--count", type=int, default=200)
    p.add_argument("--down", type=int, default=1 << 30)
    p.add_argument("--rcvbuf", type=int, default=4096)
    p.add_argument("--seed", type=int, default=9000)
    p.add_argument("--ready", required=True)
    p.add_argument("--stop", required=True)
    p.add_argument("--hold", type=float, default=120)
    args = p.parse_args()
    addr = split_addr(args.connect)
    socks = []
    try:
        for i in range(args.count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, args.rcvbuf)
            sock.settimeout(10)
            sock.connect(addr)
            sock.sendall(HEADER.pack(MAGIC, ord("S"), 0, args.down, args.seed + i))
            socks.append(sock)
    except OSError as exc:
        print(json.dumps({"opened": len(socks), "error": repr(exc)}), flush=True)
        return 1
    with open(args.ready, "w") as ready:
        ready.write(f"{len(socks)}\n")
    deadline = time.monotonic() + args.hold
    while not os.path.exists(args.stop) and time.monotonic() < deadline:
        time.sleep(0.1)
    for sock in socks:
        sock.close()
    print(json.dumps({"opened": len(socks), "closed": len(socks)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
