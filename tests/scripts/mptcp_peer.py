#!/usr/bin/env python3
"""A tiny kernel-MPTCP peer for making reference packet captures.

Runs as a client or a server on `socket(AF_INET/AF_INET6, SOCK_STREAM,
IPPROTO_MPTCP)` (or plain TCP with --plain) and executes a list of steps, so a
capture script can place path-manager events (endpoint add/change/delete)
between exactly chosen points of a transfer:

    mptcp_peer.py server 10.0.3.2 5000 --ready-file R --steps recv:3000,send:6000,eof,close
    mptcp_peer.py client 10.0.3.2 5000 --steps wait:GO,send:3000,recv:6000,close

The server accepts one connection; the client connects. Then the steps run in
order (comma separated):

    send:N      send N bytes of a fixed pattern (deterministic payload)
    recv:N      read exactly N bytes (fails on early EOF)
    eof         read until the peer closes (fails if any data arrives)
    reset       read until the connection is reset (fails on data or clean EOF)
    wait:FILE   wait until FILE exists (the capture script creates it)
    touch:FILE  create FILE (tells the capture script we got here)
    sleep:S     sleep S seconds (float)
    linger0     set SO_LINGER {on, 0}: close() then aborts the connection
    sndbuf:N    set SO_SNDBUF to N (the kernel doubles it); MPTCP copies it to every
                subflow, and a small one makes the scheduler spread data over subflows
    shutwr      shutdown(SHUT_WR): send our FIN / DATA_FIN, keep reading
    close       close the socket

The payload pattern depends only on the byte offset and the side, so the DSS
checksums of a given mapping are reproducible from the TSV alone.

Exit status 0 on success, 1 on any error (timeout, short read, refused).
"""

import argparse
import os
import socket
import struct
import sys
import time

IPPROTO_MPTCP = 262
STEP_TIMEOUT_S = 20.0
PATTERN_LEN = 251  # prime, so the pattern does not line up with segment sizes


def pattern(side: str, offset: int, length: int) -> bytes:
    """Bytes `offset..offset+length` of the payload `side` ("c"/"s") sends."""
    base = b"NetReaktor capture payload, client to server. " if side == "c" \
        else b"NetReaktor capture payload, server to client. "
    cycle = (base * (PATTERN_LEN // len(base) + 1))[:PATTERN_LEN]
    out = bytearray()
    while len(out) < length:
        start = (offset + len(out)) % PATTERN_LEN
        out += cycle[start:start + (length - len(out))]
    return bytes(out)


def family_of(addr: str) -> int:
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def make_socket(addr: str, plain: bool) -> socket.socket:
    proto = 0 if plain else IPPROTO_MPTCP
    return socket.socket(family_of(addr), socket.SOCK_STREAM, proto)


def wait_for_file(path: str) -> None:
    deadline = time.monotonic() + STEP_TIMEOUT_S
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise TimeoutError(f"wait:{path} timed out")
        time.sleep(0.01)


def recv_exact(conn: socket.socket, n: int) -> None:
    got = 0
    while got < n:
        chunk = conn.recv(min(65536, n - got))
        if not chunk:
            raise ConnectionError(f"EOF after {got} of {n} bytes")
        got += len(chunk)


def recv_eof(conn: socket.socket) -> None:
    chunk = conn.recv(65536)
    if chunk:
        raise ConnectionError(f"expected EOF, got {len(chunk)} bytes")


def recv_reset(conn: socket.socket) -> None:
    try:
        chunk = conn.recv(65536)
    except ConnectionResetError:
        return
    raise ConnectionError(f"expected a reset, got {len(chunk)} bytes")


class Peer:
    """Holds the connected socket and the per-side send offset."""

    def __init__(self, conn: socket.socket, side: str, listener=None):
        self.conn = conn
        # The server keeps listening until "close": MP_JOIN SYNs are matched by the listener.
        self.listener = listener
        self.side = side
        self.sent = 0

    def run(self, step: str) -> None:
        name, _, arg = step.partition(":")
        if name == "send":
            data = pattern(self.side, self.sent, int(arg))
            self.conn.sendall(data)
            self.sent += len(data)
        elif name == "recv":
            recv_exact(self.conn, int(arg))
        elif name == "eof":
            recv_eof(self.conn)
        elif name == "reset":
            recv_reset(self.conn)
        elif name == "wait":
            wait_for_file(arg)
        elif name == "touch":
            open(arg, "w").close()
        elif name == "sleep":
            time.sleep(float(arg))
        elif name == "linger0":
            self.conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                 struct.pack("ii", 1, 0))
        elif name == "sndbuf":
            self.conn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, int(arg))
        elif name == "shutwr":
            self.conn.shutdown(socket.SHUT_WR)
        elif name == "close":
            self.conn.close()
            if self.listener is not None:
                self.listener.close()
        else:
            raise ValueError(f"unknown step {step!r}")


def serve(args):
    """Listens, accepts one connection; returns (connection, listener)."""
    lsock = make_socket(args.addr, args.plain)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Wildcard bind: joins to addresses announced with ADD_ADDR must find this listener too.
    lsock.bind(("::" if lsock.family == socket.AF_INET6 else "0.0.0.0", args.port))
    lsock.listen(1)
    if args.ready_file:
        open(args.ready_file, "w").close()
    lsock.settimeout(STEP_TIMEOUT_S)
    conn, _ = lsock.accept()
    return conn, lsock


def connect(args):
    """Connects; returns (connection, None)."""
    sock = make_socket(args.addr, args.plain)
    sock.settimeout(STEP_TIMEOUT_S)
    sock.connect((args.addr, args.port))
    return sock, None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["client", "server"])
    ap.add_argument("addr", help="server address (the server listens on the wildcard "
                    "address of its family)")
    ap.add_argument("port", type=int)
    ap.add_argument("--plain", action="store_true", help="plain TCP, not MPTCP")
    ap.add_argument("--ready-file", help="server: created once listening")
    ap.add_argument("--steps", default="close", help="comma separated steps")
    args = ap.parse_args()

    try:
        conn, listener = serve(args) if args.mode == "server" else connect(args)
        conn.settimeout(STEP_TIMEOUT_S)
        peer = Peer(conn, "s" if args.mode == "server" else "c", listener)
        for step in args.steps.split(","):
            peer.run(step)
    except (OSError, ValueError) as err:
        print(f"mptcp_peer {args.mode}: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
