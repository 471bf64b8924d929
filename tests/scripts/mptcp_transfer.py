#!/usr/bin/env python3
"""Byte-exact transfers over kernel MPTCP (or plain TCP) sockets for the namespace testbed.

  serve --listen ADDR:PORT --bytes N [--seed S] [--tcp] [--count K]
      Accepts K connections (default 1); sends each the N-byte stream of seed S, then closes.
  fetch --connect ADDR:PORT --bytes N [--seed S] [--tcp] [--progress SECONDS]
      Downloads, hashes what arrives, compares with the stream of seed S, and prints one JSON
      line per progress interval and a final JSON summary: bytes, integrity, duration and the
      stall (the longest gap between two arrivals of data).
  sink --listen ADDR:PORT --bytes N [--seed S] [--tcp] [--count K]
      Accepts K connections; reads each to its end, checks it is the N-byte stream of seed S,
      answers with one JSON line (the verdict) and closes. Prints each verdict too.
  push --connect ADDR:PORT --bytes N [--seed S] [--tcp] [--wait-file PATH]
      Uploads the N-byte stream of seed S (after PATH exists, if given: a connection held
      open and idle until then), half-closes, and reads the sink's verdict: the JSON summary
      says whether the sink got every byte right.

The stream is a deterministic pseudo-random byte sequence (64 KiB blocks from Python's
Mersenne Twister seeded with S), so both ends agree on it without sharing a file, and a
duplicated, lost or reordered byte changes the hash.
"""

import argparse
import hashlib
import json
import os
import random
import socket
import sys
import time

IPPROTO_MPTCP = 262
BLOCK = 64 * 1024


def stream_blocks(seed, total):
    """Yields the stream of `seed` in blocks, `total` bytes in all."""
    rng = random.Random(seed)
    left = total
    while left > 0:
        block = rng.randbytes(BLOCK)
        yield block[: min(left, BLOCK)]
        left -= BLOCK


def expected_digest(seed, total):
    digest = hashlib.sha256()
    for block in stream_blocks(seed, total):
        digest.update(block)
    return digest.hexdigest()


def make_socket(family, use_tcp):
    proto = 0 if use_tcp else IPPROTO_MPTCP
    return socket.socket(family, socket.SOCK_STREAM, proto)


def split_addr(text):
    host, _, port = text.rpartition(":")
    host = host.strip("[]")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return family, (host, int(port))


def serve(args):
    family, addr = split_addr(args.listen)
    with make_socket(family, args.tcp) as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(addr)
        listener.listen(64)
        print(json.dumps({"event": "listening", "addr": args.listen}), flush=True)
        for _ in range(args.count):
            conn, peer = listener.accept()
            with conn:
                for block in stream_blocks(args.seed, args.bytes):
                    conn.sendall(block)
                conn.shutdown(socket.SHUT_WR)
                # Wait for the peer's close so the last bytes are not reset away.
                while conn.recv(BLOCK):
                    pass


def sink(args):
    family, addr = split_addr(args.listen)
    with make_socket(family, args.tcp) as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(addr)
        listener.listen(64)
        print(json.dumps({"event": "listening", "addr": args.listen}), flush=True)
        expected = expected_digest(args.seed, args.bytes)
        for _ in range(args.count):
            conn, _peer = listener.accept()
            with conn:
                digest = hashlib.sha256()
                received = 0
                while True:
                    chunk = conn.recv(BLOCK)
                    if not chunk:
                        break
                    received += len(chunk)
                    digest.update(chunk)
                ok = received == args.bytes and digest.hexdigest() == expected
                verdict = {"event": "sunk", "bytes": received, "expected_bytes": args.bytes,
                           "integrity": "ok" if ok else "MISMATCH",
                           "sha256": digest.hexdigest()}
                print(json.dumps(verdict), flush=True)
                conn.sendall(json.dumps(verdict).encode() + b"\n")
                conn.shutdown(socket.SHUT_WR)


def wait_for_file(path, limit=60.0):
    deadline = time.monotonic() + limit
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise SystemExit(f"push: {path} did not appear within {limit} s")
        time.sleep(0.05)


def push(args):
    family, addr = split_addr(args.connect)
    with make_socket(family, args.tcp) as sock:
        sock.connect(addr)
        if args.wait_file:
            print(json.dumps({"event": "connected", "wait_file": args.wait_file}), flush=True)
            wait_for_file(args.wait_file)
        started = time.monotonic()
        for block in stream_blocks(args.seed, args.bytes):
            sock.sendall(block)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while True:
            chunk = sock.recv(BLOCK)
            if not chunk:
                break
            answer += chunk
        duration = time.monotonic() - started
    try:
        verdict = json.loads(answer.decode())
    except ValueError:
        verdict = {"integrity": "NO VERDICT", "answer": answer[:200].decode("latin-1")}
    ok = verdict.get("integrity") == "ok" and verdict.get("bytes") == args.bytes
    report(args, {"event": "done", "bytes": args.bytes, "sink_bytes": verdict.get("bytes"),
                  "integrity": "ok" if ok else "MISMATCH", "duration_s": round(duration, 3),
                  "sha256": verdict.get("sha256")})
    return 0 if ok else 1


def report(args, record):
    """One line per record: JSON, or with --text the values alone, space-separated."""
    if args.text:
        print(" ".join(str(v) for v in record.values()), flush=True)
    else:
        print(json.dumps(record), flush=True)


def fetch(args):
    family, addr = split_addr(args.connect)
    digest = hashlib.sha256()
    received = 0
    stall = 0.0
    with make_socket(family, args.tcp) as sock:
        started = time.monotonic()
        sock.connect(addr)
        last_data = time.monotonic()
        next_report = started + args.progress
        sock.settimeout(args.progress)
        while True:
            try:
                chunk = sock.recv(BLOCK)
            except socket.timeout:
                chunk = None
            now = time.monotonic()
            if chunk == b"":
                break
            if chunk:
                stall = max(stall, now - last_data)
                last_data = now
                received += len(chunk)
                digest.update(chunk)
            if args.progress and now >= next_report:
                report(args, {"event": "progress", "t": round(now - started, 3),
                              "bytes": received})
                next_report = now + args.progress
        duration = time.monotonic() - started
    ok = received == args.bytes and digest.hexdigest() == expected_digest(args.seed, args.bytes)
    report(args, {"event": "done", "bytes": received, "expected_bytes": args.bytes,
                  "integrity": "ok" if ok else "MISMATCH", "duration_s": round(duration, 3),
                  "stall_ms": round(stall * 1000, 1), "sha256": digest.hexdigest()})
    return 0 if ok else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    for name in ("serve", "fetch", "sink", "push"):
        p = sub.add_parser(name)
        p.add_argument("--bytes", type=int, required=True)
        p.add_argument("--seed", type=int, default=1)
        p.add_argument("--tcp", action="store_true", help="plain TCP instead of MPTCP")
    sub.choices["serve"].add_argument("--listen", required=True)
    sub.choices["serve"].add_argument("--count", type=int, default=1)
    sub.choices["sink"].add_argument("--listen", required=True)
    sub.choices["sink"].add_argument("--count", type=int, default=1)
    sub.choices["push"].add_argument("--connect", required=True)
    sub.choices["push"].add_argument("--wait-file", help="send only once this file exists")
    sub.choices["push"].add_argument("--text", action="store_true")
    sub.choices["fetch"].add_argument("--connect", required=True)
    sub.choices["fetch"].add_argument("--progress", type=float, default=0.25)
    sub.choices["fetch"].add_argument("--text", action="store_true",
                                      help="space-separated values instead of JSON lines")
    args = parser.parse_args()
    return {"serve": serve, "fetch": fetch, "sink": sink, "push": push}[args.mode](args)


if __name__ == "__main__":
    sys.exit(main())
