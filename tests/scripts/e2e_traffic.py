#!/usr/bin/env python3
"""Traffic for the appliance end-to-end test (tests/scripts/appliance-e2e.sh): a real origin
server and clients that check every byte, over plain kernel TCP. Python standard library only.

Subcommands (each prints one JSON summary line and exits non-zero on failure):
  origin --listen ADDR:PORT
  client --connect ADDR:PORT --up N --down M --seed S [--mode simple|client-first|origin-first]
  many --connect ADDR:PORT --count C --max-bytes N --seed S
  expect-reset --connect ADDR:PORT [--allow-fin]
  idle --connect ADDR:PORT --seconds T
  garbage --iface IF --dst-mac MAC --src-mac MAC --dst ADDR:PORT --src ADDR --count N

Protocol. The client opens with a 24-byte header:
    b"NR1" | mode (1 byte) | up_bytes (u64 BE) | down_bytes (u64 BE) | seed (u32 BE)
Modes:
  b"S" simple: the client sends up_bytes of the stream of seed S; the origin reads exactly that,
      then sends down_bytes of the stream of seed S+1 and a trailer, then closes.
  b"C" client closes first: as simple, but the client half-closes (shutdown SHUT_WR) right after
      its data; the origin reads up_bytes, waits for that FIN (no byte more), and only then sends
      the download and the trailer, then closes. Data flows after the client's FIN.
  b"O" origin closes first: the origin sends down_bytes at once and half-closes; the client
      reads to that FIN, and only then sends up_bytes and half-closes. The origin hashes them,
      records the digest under (seed, up, down) and closes. The client then fetches that digest
      on a second connection with mode b"Q" (same header; the origin answers with the 36-byte
      trailer once the record exists, waiting up to 10 s). Data flows after the origin's FIN.
  b"E" echo: the origin echoes every byte after the header until the client's FIN, then closes.
Trailer: b"NRT" | status (1 byte: 0 = the upload had exactly up_bytes, else 1) | sha256 (32
bytes) of what the origin received.

The stream of seed S: a 1 MiB block of random.Random(S).randbytes, cut into 256 KiB chunks; chunk
i is the 8-byte big-endian i followed by the chunk's bytes after its first 8, cycling over the
block. Cheap to make (one copy per chunk), and a lost, duplicated or reordered byte changes the
SHA-256 both ends compute.
"""

import argparse
import hashlib
import json
import random
import socket
import struct
import sys
import threading
import time

HEADER = struct.Struct(">3sBQQI")  # magic, mode, up_bytes, down_bytes, seed: 24 bytes
TRAILER_LEN = 36
MAGIC = b"NR1"
BLOCK = 1 << 20
CHUNK = 256 * 1024
RECV = 1 << 20
MODES = {"simple": ord("S"), "client-first": ord("C"), "origin-first": ord("O")}

_blocks = {}
_blocks_lock = threading.Lock()


def base_block(seed):
    """The 1 MiB random block of `seed` (cached: the origin serves many seeds)."""
    with _blocks_lock:
        block = _blocks.get(seed)
        if block is None:
            if len(_blocks) > 512:
                _blocks.clear()
            block = random.Random(seed).randbytes(BLOCK)
            _blocks[seed] = block
        return block


def stream_chunks(seed, total):
    """Yields the stream of `seed`, `total` bytes in all, in chunks of at most CHUNK bytes."""
    block = memoryview(base_block(seed))
    index = 0
    left = total
    while left > 0:
        off = (index * CHUNK) % BLOCK
        chunk = struct.pack(">Q", index) + block[off + 8 : off + CHUNK]
        yield chunk[: min(left, CHUNK)]
        left -= CHUNK
        index += 1


def stream_digest(seed, total):
    digest = hashlib.sha256()
    for chunk in stream_chunks(seed, total):
        digest.update(chunk)
    return digest.hexdigest()


def send_stream(sock, seed, total):
    digest = hashlib.sha256()
    for chunk in stream_chunks(seed, total):
        sock.sendall(chunk)
        digest.update(chunk)
    return digest.hexdigest()


def recv_exact(sock, count, digest=None):
    """Reads exactly `count` bytes (hashing them into `digest` if given); returns the bytes read
    when no digest is given. Raises EOFError when the stream ends early."""
    buf = bytearray(min(max(count, 1), RECV))
    view = memoryview(buf)
    out = bytearray() if digest is None else None
    left = count
    while left > 0:
        n = sock.recv_into(view[: min(left, len(buf))])
        if n == 0:
            raise EOFError(f"stream ended {left} bytes early")
        if digest is not None:
            digest.update(view[:n])
        else:
            out += view[:n]
        left -= n
    return out


def recv_to_eof(sock, limit):
    """Reads until EOF; returns (sha256 of the first `limit` bytes, total bytes, those bytes past
    `limit`, at most 64)."""
    digest = hashlib.sha256()
    buf = bytearray(RECV)
    view = memoryview(buf)
    total = 0
    extra = bytearray()
    while True:
        n = sock.recv_into(view)
        if n == 0:
            return digest, total, bytes(extra)
        keep = max(0, min(n, limit - total))
        digest.update(view[:keep])
        if keep < n and len(extra) < 64:
            extra += view[keep:n]
        total += n


def split_addr(text):
    host, _, port = text.rpartition(":")
    return host.strip("[]"), int(port)


def emit(record, ok):
    record["ok"] = ok
    print(json.dumps(record), flush=True)
    return 0 if ok else 1


# ---------------------------------------------------------------------------------- origin


class Origin:
    """The origin server: one thread per connection."""

    def __init__(self):
        self.records = {}  # (seed, up, down) -> trailer, for mode O
        self.cond = threading.Condition()
        self.stats = {"connections": 0, "errors": 0}

    def serve(self, listen):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(split_addr(listen))
            listener.listen(1024)
            print(json.dumps({"event": "listening", "addr": listen}), flush=True)
            while True:
                conn, peer = listener.accept()
                threading.Thread(target=self.handle, args=(conn, peer), daemon=True).start()

    def handle(self, conn, peer):
        with conn:
            try:
                conn.settimeout(120)
                magic, mode, up, down, seed = HEADER.unpack(recv_exact(conn, HEADER.size))
                if magic != MAGIC:
                    raise ValueError(f"bad magic {magic!r}")
                self.dispatch(conn, chr(mode), up, down, seed)
            except Exception as exc:  # one bad connection must not stop the origin
                with self.cond:
                    self.stats["errors"] += 1
                print(json.dumps({"event": "error", "peer": f"{peer[0]}:{peer[1]}",
                                  "error": repr(exc)}), flush=True)

    def dispatch(self, conn, mode, up, down, seed):
        with self.cond:
            self.stats["connections"] += 1
        if mode in "SC":
            digest = hashlib.sha256()
            recv_exact(conn, up, digest)
            status = 0
            if mode == "C":  # the client's FIN must come right after its data
                status = 0 if conn.recv(1) == b"" else 1
            send_stream(conn, seed + 1, down)
            conn.sendall(b"NRT" + bytes([status]) + digest.digest())
            conn.shutdown(socket.SHUT_WR)
            if mode == "S":
                conn.recv(1)  # wait for the client's close, so nothing is reset away
        elif mode == "O":
            send_stream(conn, seed + 1, down)
            conn.shutdown(socket.SHUT_WR)  # the origin's FIN, before the client's data
            digest, total, _ = recv_to_eof(conn, up)
            trailer = b"NRT" + bytes([0 if total == up else 1]) + digest.digest()
            with self.cond:
                self.records[(seed, up, down)] = trailer
                self.cond.notify_all()
        elif mode == "Q":
            with self.cond:
                self.cond.wait_for(lambda: (seed, up, down) in self.records, timeout=10)
                trailer = self.records.pop((seed, up, down), b"NRT\x02" + bytes(32))
            conn.sendall(trailer)
            conn.shutdown(socket.SHUT_WR)
            conn.recv(1)
        elif mode == "E":
            buf = bytearray(RECV)
            while True:
                n = conn.recv_into(buf)
                if n == 0:
                    break
                conn.sendall(memoryview(buf)[:n])
            conn.shutdown(socket.SHUT_WR)
        else:
            raise ValueError(f"unknown mode {mode!r}")


def cmd_origin(args):
    Origin().serve(args.listen)
    return 0


# ---------------------------------------------------------------------------------- clients


def connect(addr, timeout, local_port=None):
    """A connection to addr; from local_port when given (SO_REUSEADDR, as a client that pins
    its source port does)."""
    if local_port is None:
        sock = socket.create_connection(split_addr(addr), timeout=timeout)
    else:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("0.0.0.0", local_port))
        sock.settimeout(timeout)
        sock.connect(split_addr(addr))
    sock.settimeout(timeout)
    return sock


def check_trailer(trailer, up_hex):
    if len(trailer) != TRAILER_LEN or trailer[:3] != b"NRT":
        return f"bad trailer {trailer[:8].hex()} ({len(trailer)} bytes)"
    if trailer[3] != 0:
        return f"origin status {trailer[3]} (upload length wrong or record missing)"
    if trailer[4:].hex() != up_hex:
        return "origin's hash of the upload differs"
    return None


def transfer(addr, up, down, seed, mode="simple", timeout=60, local_port=None):
    """One verified transfer; returns a result dict with "error" None on success."""
    result = {"mode": mode, "up": up, "down": down, "seed": seed, "error": None}
    expected = {}
    worker = threading.Thread(target=lambda: expected.update(d=stream_digest(seed + 1, down)))
    worker.start()
    start = time.monotonic()
    try:
        with connect(addr, timeout, local_port) as sock:
            sock.sendall(HEADER.pack(MAGIC, MODES[mode], up, down, seed))
            if mode == "origin-first":
                down_digest, got, extra = recv_to_eof(sock, down)
                result["down_done_s"] = round(time.monotonic() - start, 3)
                up_hex = send_stream(sock, seed, up)
                sock.shutdown(socket.SHUT_WR)
                trailer = query_record(addr, up, down, seed, timeout)
                if got != down:
                    result["error"] = f"received {got} bytes, expected {down} then FIN"
            else:
                up_hex = send_stream(sock, seed, up)
                result["up_done_s"] = round(time.monotonic() - start, 3)
                if mode == "client-first":
                    sock.shutdown(socket.SHUT_WR)
                down_digest, got, extra = recv_to_eof(sock, down)
                trailer = extra
                if got != down + TRAILER_LEN:
                    result["error"] = f"received {got} bytes, expected {down + TRAILER_LEN}"
    except (OSError, EOFError) as exc:
        result["error"] = repr(exc)
    result["duration_s"] = round(time.monotonic() - start, 3)
    worker.join()
    if result["error"] is None:
        if down_digest.hexdigest() != expected["d"]:
            result["error"] = "download hash differs from the seeded stream"
        else:
            result["error"] = check_trailer(trailer, up_hex)
    return result


def query_record(addr, up, down, seed, timeout):
    with connect(addr, timeout) as sock:
        sock.sendall(HEADER.pack(MAGIC, ord("Q"), up, down, seed))
        _, _, trailer = recv_to_eof(sock, 0)
        return trailer


def cmd_client(args):
    result = transfer(args.connect, args.up, args.down, args.seed, args.mode, args.timeout)
    for key in ("up", "down"):
        secs = result["duration_s"] or 1e-9
        result[f"{key}_mbit_s"] = round(result[key] * 8 / secs / 1e6, 1)
    return emit(result, result["error"] is None)


def cmd_reuse(args):
    """Connections one after another from one pinned source port. Each ends with the origin's
    FIN first, so the appliance closes the client side first and holds its TIME-WAIT; the next
    SYN on the same 4-tuple, newer by timestamp, must be answered (RFC 6191), never dropped."""
    rounds = []
    for i in range(args.rounds):
        r = transfer(args.connect, 1000, 100_000, args.seed + i, "simple", args.timeout,
                     args.port)
        rounds.append({"round": i, "duration_s": r["duration_s"], "error": r["error"]})
        if r["error"] is not None:
            break
        time.sleep(args.pause)
    failed = [r for r in rounds if r["error"] is not None]
    record = {"port": args.port, "rounds": len(rounds), "failed": failed,
              "slowest_s": max(r["duration_s"] for r in rounds)}
    return emit(record, not failed and len(rounds) == args.rounds)


def cmd_many(args):
    rng = random.Random(args.seed)
    modes = list(MODES) if args.mixed_modes else ["simple"]
    low = args.min_bytes
    jobs = [(rng.randint(low, args.max_bytes), rng.randint(low, args.max_bytes),
             (args.seed * 100003 + i) & 0x7FFFFFFF, modes[i % len(modes)])
            for i in range(args.count)]
    results = [None] * args.count
    barrier = threading.Barrier(args.count, timeout=30)

    def run(i):
        up, down, seed, mode = jobs[i]
        try:
            barrier.wait()  # all start together: they are concurrent
        except threading.BrokenBarrierError:
            pass
        results[i] = transfer(args.connect, up, down, seed, mode, args.timeout)

    start = time.monotonic()
    threads = [threading.Thread(target=run, args=(i,)) for i in range(args.count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    failed = [r for r in results if r["error"] is not None]
    record = {"count": args.count, "failed": len(failed),
              "up_bytes": sum(r["up"] for r in results),
              "down_bytes": sum(r["down"] for r in results),
              "duration_s": round(time.monotonic() - start, 3),
              "first_errors": [f"seed {r['seed']}: {r['error']}" for r in failed[:5]]}
    return emit(record, not failed)


def cmd_expect_reset(args):
    record = {"outcome": None}
    start = time.monotonic()
    try:
        sock = connect(args.connect, args.timeout)
    except ConnectionRefusedError:
        record["outcome"] = "refused_on_connect"
        return emit(record, True)
    except ConnectionResetError:
        # The handshake completed and the RST arrived before connect() returned to Python:
        # the kernel reports the reset from connect() itself.
        record["outcome"] = "reset_on_connect"
        return emit(record, True)
    except OSError as exc:
        record["outcome"] = f"connect_error: {exc!r}"
        return emit(record, False)
    with sock:
        try:
            sock.sendall(HEADER.pack(MAGIC, ord("S"), 16, 16, 1) + bytes(16))
            data = sock.recv(4096)
            while data:
                record.setdefault("received", 0)
                record["received"] += len(data)
                data = sock.recv(4096)
            record["outcome"] = "fin"
        except ConnectionResetError:
            record["outcome"] = "reset"
        except socket.timeout:
            record["outcome"] = "timeout"
        except OSError as exc:
            record["outcome"] = f"error: {exc!r}"
    record["after_s"] = round(time.monotonic() - start, 3)
    allowed = ("reset", "fin") if args.allow_fin else ("reset",)
    return emit(record, record["outcome"] in allowed)


def cmd_idle(args):
    rng = random.Random(args.seed)
    record = {"seconds": args.seconds, "rounds": []}
    start = time.monotonic()
    try:
        with connect(args.connect, args.seconds + 30) as sock:
            sock.sendall(HEADER.pack(MAGIC, ord("E"), 0, 0, args.seed))
            for rnd in range(2):
                data = rng.randbytes(args.bytes)
                sock.sendall(data)
                back = recv_exact(sock, len(data))
                record["rounds"].append({"bytes": len(data), "echo_ok": back == data,
                                         "at_s": round(time.monotonic() - start, 3)})
                if back != data:
                    record["error"] = f"echo differs in round {rnd}"
                    return emit(record, False)
                if rnd == 0:
                    time.sleep(args.seconds)
            sock.shutdown(socket.SHUT_WR)
            if sock.recv(1) != b"":
                record["error"] = "data after the echo"
                return emit(record, False)
    except (OSError, EOFError) as exc:
        record["error"] = repr(exc)
        return emit(record, False)
    return emit(record, True)


# ---------------------------------------------------------------------------------- garbage


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ipv4_header(src, dst, payload_len, total_len=None, proto=6):
    total = 20 + payload_len if total_len is None else total_len
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, random.getrandbits(16), 0x4000, 64,
                      proto, 0, socket.inet_aton(src), socket.inet_aton(dst))
    return hdr[:10] + struct.pack("!H", checksum(hdr)) + hdr[12:]


def tcp_segment(src, dst, sport, dport, flags, payload, good_checksum=True):
    seq, ack = random.getrandbits(32), random.getrandbits(32)
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags,
                      random.randint(0, 65535), 0, 0)
    seg = hdr + payload
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(seg))
    csum = checksum(pseudo + seg)
    if not good_checksum:
        csum ^= random.randint(1, 0xFFFF)
    return seg[:16] + struct.pack("!H", csum) + seg[18:]


def garbage_frame(kind, eth, src, dst, dport):
    sport = random.randint(1024, 65535)
    if kind == "ip_random_payload":
        payload = random.randbytes(random.randint(1, 1400))
        return eth + ipv4_header(src, dst, len(payload)) + payload
    if kind == "truncated_tcp":
        seg = tcp_segment(src, dst, sport, dport, 0x10, b"")[: random.randint(0, 19)]
        return eth + ipv4_header(src, dst, len(seg)) + seg
    if kind == "bad_tcp_checksum":
        flags = random.choice([0x02, 0x10, 0x18, 0x11, 0x04])
        seg = tcp_segment(src, dst, sport, dport, flags, random.randbytes(random.randint(0, 512)),
                          good_checksum=False)
        return eth + ipv4_header(src, dst, len(seg)) + seg
    if kind == "bad_ip_length":
        seg = tcp_segment(src, dst, sport, dport, 0x18, random.randbytes(64))
        total = random.choice([random.randint(0, 19), 20 + len(seg) + random.randint(1, 1000)])
        return eth + ipv4_header(src, dst, len(seg), total_len=total) + seg
    if kind == "unmatched_tcp":
        flags = random.getrandbits(8) & ~0x02 if random.random() < 0.9 else 0x02
        seg = tcp_segment(src, dst, sport, dport, flags, random.randbytes(random.randint(0, 256)))
        return eth + ipv4_header(src, dst, len(seg)) + seg
    raise ValueError(kind)


GARBAGE_KINDS = ["ip_random_payload", "truncated_tcp", "bad_tcp_checksum", "bad_ip_length",
                 "unmatched_tcp"]


def cmd_garbage(args):
    dst, dport = split_addr(args.dst)
    mac = lambda text: bytes.fromhex(text.replace(":", ""))  # noqa: E731
    eth = mac(args.dst_mac) + mac(args.src_mac) + b"\x08\x00"
    random.seed(args.seed)
    sent = {kind: 0 for kind in GARBAGE_KINDS}
    start = time.monotonic()
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW) as sock:
        sock.bind((args.iface, 0))
        for i in range(args.count):
            for kind in GARBAGE_KINDS:
                sock.send(garbage_frame(kind, eth, args.src, dst, dport))
                sent[kind] += 1
            if args.pace and i % 100 == 99:
                time.sleep(args.pace)
    return emit({"sent": sent, "total": sum(sent.values()),
                 "duration_s": round(time.monotonic() - start, 3)}, True)


# ---------------------------------------------------------------------------------- main


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("origin")
    p.add_argument("--listen", required=True)
    p.set_defaults(func=cmd_origin)
    p = sub.add_parser("client")
    p.add_argument("--connect", required=True)
    p.add_argument("--up", type=int, required=True)
    p.add_argument("--down", type=int, required=True)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--mode", choices=list(MODES), default="simple")
    p.add_argument("--timeout", type=float, default=60)
    p.set_defaults(func=cmd_client)
    p = sub.add_parser("reuse")
    p.add_argument("--connect", required=True)
    p.add_argument("--port", type=int, required=True, help="the pinned source port")
    p.add_argument("--rounds", type=int, default=12)
    p.add_argument("--pause", type=float, default=0.2, help="seconds between connections")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--timeout", type=float, default=10)
    p.set_defaults(func=cmd_reuse)
    p = sub.add_parser("many")
    p.add_argument("--connect", required=True)
    p.add_argument("--count", type=int, default=200)
    p.add_argument("--max-bytes", type=int, default=2_000_000)
    p.add_argument("--min-bytes", type=int, default=0, help="the least each way")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--mixed-modes", action="store_true", help="cycle through all three modes")
    p.add_argument("--timeout", type=float, default=60)
    p.set_defaults(func=cmd_many)
    p = sub.add_parser("expect-reset")
    p.add_argument("--connect", required=True)
    p.add_argument("--timeout", type=float, default=10)
    p.add_argument("--allow-fin", action="store_true",
                   help="also pass on an orderly close (for kernel proxies such as HAProxy)")
    p.set_defaults(func=cmd_expect_reset)
    p = sub.add_parser("idle")
    p.add_argument("--connect", required=True)
    p.add_argument("--seconds", type=float, default=5)
    p.add_argument("--bytes", type=int, default=65536)
    p.add_argument("--seed", type=int, default=1)
    p.set_defaults(func=cmd_idle)
    p = sub.add_parser("garbage")
    p.add_argument("--iface", required=True)
    p.add_argument("--dst-mac", required=True)
    p.add_argument("--src-mac", required=True)
    p.add_argument("--dst", required=True)
    p.add_argument("--src", required=True)
    p.add_argument("--count", type=int, default=1000, help="frames of each kind")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--pace", type=float, default=0.001, help="sleep after every 100 rounds")
    p.set_defaults(func=cmd_garbage)
    args = parser.parse_args()
    sys.exit(args.func(args))


if __name__ == "__main__":
    main()
