#!/usr/bin/python3
"""Sends fragmented copies of a live connection's ACK (RFC 791 §3.2 fragments), for
tests/scripts/fragment-guard-e2e.sh.

Run in the client's network namespace before a download starts: once it sniffs on --iface it
touches --ready; it then waits for the --nth ACK (SYN clear) the client sends to --dst:--dport,
so the download is under way, copies its TCP header (ports, sequence and acknowledgment
numbers, window, options; no payload), and sends that ACK --count times as IPv4 fragments of
--fragsize bytes of TCP header each (so even the first fragment carries only the ports and the
sequence number). Prints one JSON line: the connection and the fragments sent.

Needs scapy (Debian python3-scapy) and root.
"""

import argparse
import json
import random
import sys

from scapy.all import IP, TCP, conf, fragment, send, sniff


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--iface", required=True, help="the client interface the connection uses")
    p.add_argument("--dst", required=True, help="the service address")
    p.add_argument("--dport", type=int, required=True, help="the service port")
    p.add_argument("--count", type=int, default=3, help="fragmented ACKs to send")
    p.add_argument("--fragsize", type=int, default=8, help="bytes of TCP header per fragment")
    p.add_argument("--nth", type=int, default=20, help="which of the client's ACKs to copy")
    p.add_argument("--ready", required=True, help="file touched once sniffing")
    p.add_argument("--timeout", type=float, default=30, help="seconds to wait for the ACKs")
    args = p.parse_args()
    conf.verb = 0
    seen = sniff(iface=args.iface, count=args.nth, timeout=args.timeout,
                 started_callback=lambda: open(args.ready, "w").close(),
                 filter=f"tcp and dst host {args.dst} and dst port {args.dport}"
                        " and tcp[13] & 0x12 == 0x10")
    if len(seen) < args.nth:
        print(json.dumps({"error": f"{len(seen)} ACKs of the connection seen, {args.nth} awaited"}))
        return 1
    live = seen[-1]
    tcp = live[TCP].copy()
    tcp.remove_payload()
    tcp.flags = "A"
    del tcp.chksum
    sent = 0
    for _ in range(args.count):
        datagram = IP(src=live[IP].src, dst=live[IP].dst, id=random.randrange(1, 65536)) / tcp
        pieces = fragment(datagram, fragsize=args.fragsize)
        send(pieces)
        sent += len(pieces)
    print(json.dumps({"sport": tcp.sport, "dport": tcp.dport, "seq": tcp.seq, "ack": tcp.ack,
                      "tcp_header_bytes": len(tcp), "datagrams": args.count,
                      "fragments": sent}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
