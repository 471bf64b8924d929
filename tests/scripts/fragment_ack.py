#!/usr/bin/python3
"""Sends fragmented copies of a live connection's ACK (RFC 791 §3.2 fragments), for
tests/scripts/fragment-guard-e2e.sh.

Run in the client's network namespace while a download runs: it waits for one segment the
client sends to --dst:--dport (sniffed on --iface), copies its TCP header (ports, sequence and
acknowledgment numbers, window, options; no payload), and sends that ACK --count times as IPv4
fragments of --fragsize bytes of TCP header each (so even the first fragment carries only the
ports and the sequence number). Prints one JSON line: the connection and the fragments sent.

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
    p.add_argument("--timeout", type=float, default=10, help="seconds to wait for a segment")
    args = p.parse_args()
    conf.verb = 0
    seen = sniff(iface=args.iface, count=1, timeout=args.timeout,
                 filter=f"tcp and dst host {args.dst} and dst port {args.dport}")
    if not seen:
        print(json.dumps({"error": "no segment of the connection seen"}))
        return 1
    live = seen[0]
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
