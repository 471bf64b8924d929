#!/usr/bin/env python3
"""Forged MP_JOIN handshakes against an MPTCP server (RFC 8684 §3.2), with scapy.

  token --pcap FILE --server ADDR
      Prints the token (hex) of the connection whose MP_CAPABLE SYN/ACK from ADDR is in the
      capture: the most significant 32 bits of SHA-256 of the server's key (RFC 8684 §3.1).
  unknown-token --src ADDR --sport PORT --dst ADDR:PORT
      A join SYN carrying a random token: the server must answer with a RST (§3.2).
  bad-hmac --src ADDR --sport PORT --dst ADDR:PORT --token HEX
      A join SYN with the right token, then a third ACK whose 160-bit HMAC is wrong: the
      server must reset the subflow (§3.2).

Each mode prints one JSON line: whether a RST came back, and its MP_TCPRST option (kind 30,
subtype 8, §3.6) if it carried one; it exits 0 only when the RST came. The kernel of the
sending namespace owns no socket for --src/--sport: drop its own RSTs from that port (nft) so
it does not answer the server's SYN/ACK itself.
"""

import argparse
import hashlib
import json
import os
import random
import struct
import sys

from scapy.all import IP, TCP, conf, rdpcap, sr1  # noqa: E402

MPTCP_KIND = 30
SUB_MP_CAPABLE = 0
SUB_MP_JOIN = 1
SUB_MP_TCPRST = 8
RST_REASONS = {0: "unspecified", 1: "MPTCP-specific error", 2: "lack of resources",
               3: "administratively prohibited", 4: "too much outstanding data",
               5: "unacceptable performance", 6: "middlebox interference"}


def raw_options(tcp):
    """The TCP options of scapy layer `tcp` as (kind, body) pairs, parsed from the raw header
    (scapy 2.5 does not decode MPTCP options)."""
    raw = bytes(tcp)
    end = min(len(raw), tcp.dataofs * 4)
    i, out = 20, []
    while i < end:
        kind = raw[i]
        if kind == 0:
            break
        if kind == 1:
            i += 1
            continue
        if i + 1 >= end or raw[i + 1] < 2:
            break
        length = raw[i + 1]
        out.append((kind, raw[i + 2:i + length]))
        i += length
    return out


def mptcp_options(tcp):
    """(subtype, body) of each MPTCP option of `tcp`; body starts at the subtype byte."""
    return [(body[0] >> 4, body) for kind, body in raw_options(tcp) if kind == MPTCP_KIND and body]


def token_of(key):
    return hashlib.sha256(struct.pack(">Q", key)).digest()[:4]


def cmd_token(args):
    for pkt in rdpcap(args.pcap):
        if IP not in pkt or TCP not in pkt or pkt[IP].src != args.server:
            continue
        tcp = pkt[TCP]
        if (tcp.flags & 0x12) != 0x12:
            continue
        for subtype, body in mptcp_options(tcp):
            # RFC 8684 §3.1: SYN/ACK MP_CAPABLE, length 12: subtype/version, flags, 64-bit key.
            if subtype == SUB_MP_CAPABLE and len(body) == 10:
                key = struct.unpack(">Q", body[2:10])[0]
                print(json.dumps({"server_key": f"{key:016x}", "token": token_of(key).hex(),
                                  "client_port": tcp.dport}))
                return 0
    print(json.dumps({"error": f"no MP_CAPABLE SYN/ACK from {args.server} in {args.pcap}"}))
    return 1


def join_syn_option(token, nonce, address_id=7):
    # RFC 8684 §3.2, Figure 5: MP_JOIN in a SYN, length 12.
    return bytes([MPTCP_KIND, 12, SUB_MP_JOIN << 4, address_id]) + token + struct.pack(">I", nonce)


def join_ack_option(hmac160):
    # RFC 8684 §3.2, Figure 7: MP_JOIN in the third ACK, length 24, 160-bit HMAC.
    return bytes([MPTCP_KIND, 24, SUB_MP_JOIN << 4, 0]) + hmac160


def tcp_with_options(args, flags, seq, ack, option):
    dst, port = args.dst.rsplit(":", 1)
    # scapy takes unknown options as (kind, body); pad with NOPs to a multiple of 4.
    opts = [(option[0], option[2:])]
    pad = (-len(option)) % 4
    opts = [("NOP", None)] * pad + opts
    return IP(src=args.src, dst=dst) / TCP(sport=args.sport, dport=int(port), flags=flags,
                                           seq=seq, ack=ack, window=65535, options=opts)


def describe(reply):
    """The JSON-ready description of a reply (or None)."""
    if reply is None or TCP not in reply:
        return {"reply": None}
    tcp = reply[TCP]
    out = {"reply": str(tcp.flags), "rst": bool(tcp.flags & 0x04), "mp_tcprst": None}
    for subtype, body in mptcp_options(tcp):
        if subtype == SUB_MP_TCPRST and len(body) >= 2:
            # RFC 8684 §3.6, Figure 15: flags U/V/W/T in the low nibble, then the reason.
            reason = body[1]
            out["mp_tcprst"] = {"flags": body[0] & 0x0F, "reason": reason,
                                "reason_text": RST_REASONS.get(reason, "unknown")}
        else:
            out.setdefault("mptcp_subtypes", []).append(subtype)
    return out


def cmd_unknown_token(args):
    token = os.urandom(4)
    syn = tcp_with_options(args, "S", random.getrandbits(32), 0,
                           join_syn_option(token, random.getrandbits(32)))
    reply = sr1(syn, timeout=args.timeout, verbose=0)
    result = {"test": "unknown-token", "token": token.hex(), **describe(reply)}
    print(json.dumps(result))
    return 0 if result.get("rst") else 1


def cmd_bad_hmac(args):
    token = bytes.fromhex(args.token)
    isn = random.getrandbits(32)
    syn = tcp_with_options(args, "S", isn, 0, join_syn_option(token, random.getrandbits(32)))
    synack = sr1(syn, timeout=args.timeout, verbose=0)
    result = {"test": "bad-hmac", "token": args.token, "syn_answer": describe(synack)}
    if synack is None or TCP not in synack or (synack[TCP].flags & 0x12) != 0x12:
        result["error"] = "the join SYN got no SYN/ACK (token wrong, or over the subflow limit)"
        print(json.dumps(result))
        return 1
    server_isn = synack[TCP].seq
    wrong = os.urandom(20)
    ack = tcp_with_options(args, "A", isn + 1, server_isn + 1, join_ack_option(wrong))
    reply = sr1(ack, timeout=args.timeout, verbose=0)
    result.update(describe(reply))
    print(json.dumps(result))
    return 0 if result.get("rst") else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    p = sub.add_parser("token")
    p.add_argument("--pcap", required=True)
    p.add_argument("--server", required=True)
    for name in ("unknown-token", "bad-hmac"):
        p = sub.add_parser(name)
        p.add_argument("--src", required=True)
        p.add_argument("--sport", type=int, required=True)
        p.add_argument("--dst", required=True)
        p.add_argument("--timeout", type=float, default=3.0)
    sub.choices["bad-hmac"].add_argument("--token", required=True)
    args = parser.parse_args()
    conf.verb = 0
    return {"token": cmd_token, "unknown-token": cmd_unknown_token,
            "bad-hmac": cmd_bad_hmac}[args.mode](args)


if __name__ == "__main__":
    sys.exit(main())
