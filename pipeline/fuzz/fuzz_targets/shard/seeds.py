#!/usr/bin/env python3
"""Writes the seed inputs of the `shard` fuzz target (its op format is in shard.rs's module
docs) to fuzz/seeds/shard/: splices that reach the established phase and close.
    python3 fuzz/fuzz_targets/shard/seeds.py   (from pipeline/)"""
import pathlib
import struct


def syn(slot, kind, iss, extra=b""):
    return bytes([0, slot, kind]) + struct.pack(">I", iss) + extra


def hs_ack(slot, mode=0, data=b""):
    return bytes([1, slot, mode]) + (bytes([len(data)]) + data if mode & 1 else b"")


def data(slot, mode, payload):
    return bytes([2, slot, mode, len(payload)]) + payload


def ack(slot, mode=0):
    return bytes([3, slot, mode])


def origin_syn_ack(idx, mode, iss):
    return bytes([5, idx, mode]) + struct.pack(">I", iss)


def origin_data(idx, mode, payload):
    return bytes([6, idx, mode, len(payload)]) + payload


def origin_ack(idx, mode=0):
    return bytes([7, idx, mode])


def time(mode, amount):
    return bytes([10, mode]) + struct.pack(">H", amount)


NEXT_TIMER = time(0, 0)
TWO_MINUTES = time(3, 120)


def transfer_and_close(slot, dss=0):
    """Data both ways, the client closes first, then the origin; TIME-WAIT runs out."""
    return (data(slot, dss, b"hello") + origin_ack(0) + origin_data(0, 0, b"world")
            + ack(slot) + NEXT_TIMER + data(slot, 0x04 | dss | (dss and 0x08), b"")
            + origin_data(0, 1, b"") + ack(slot) + origin_ack(0)
            + TWO_MINUTES + NEXT_TIMER + NEXT_TIMER + NEXT_TIMER)


SEEDS = {
    # Plain TCP on worker 0: handshake, origin connect, data both ways, close, TIME-WAIT.
    "plain_splice": bytes([0]) + syn(0, 0x18, 100) + hs_ack(0) + origin_syn_ack(0, 0, 0x1000)
    + transfer_and_close(0),
    # The same on worker 1 (RSS), with the PROXY protocol header toward the origin.
    "plain_splice_worker1": bytes([1]) + syn(3, 0x98, 200) + hs_ack(3)
    + origin_syn_ack(0, 0x80, 0x2000) + transfer_and_close(3),
    # MPTCP: MP_CAPABLE v1, a join carrying the token of the shard's key, data on both
    # subflows, DATA_FIN both ways, FIN on both subflows.
    "mptcp_join": bytes([0]) + syn(1, 0x11, 300) + hs_ack(1) + origin_syn_ack(0, 0, 0x3000)
    + data(1, 0x03, b"hello") + origin_ack(0) + origin_data(0, 0, b"world") + ack(1)
    + syn(2, 0x14, 400, bytes([1]) + struct.pack(">I", 0xABCDEF01)) + hs_ack(2)
    + data(2, 0x03, b"abc") + origin_ack(0) + origin_data(0, 0, b"more") + ack(1) + ack(2)
    + data(1, 0x0F, b"") + origin_data(0, 1, b"") + ack(1) + ack(2) + origin_ack(0)
    + data(2, 0x04, b"") + ack(1) + ack(2) + TWO_MINUTES + NEXT_TIMER + NEXT_TIMER + NEXT_TIMER,
    # MPTCP with DSS checksums (the client sets A) and data on the third ACK.
    "mptcp_checksums": bytes([0]) + syn(5, 0x12, 500) + hs_ack(5, 1, b"first")
    + origin_syn_ack(0, 0, 0x5000) + transfer_and_close(5, dss=0x03),
    # MPTCP v0 (RFC 6824): the key in the SYN, the v0 third ACK, a join with HMAC-SHA1.
    "mptcp_v0_join": bytes([0]) + syn(1, 0x13, 300) + hs_ack(1) + origin_syn_ack(0, 0, 0x3000)
    + data(1, 0x03, b"hello") + origin_ack(0) + origin_data(0, 0, b"world") + ack(1)
    + syn(2, 0x14, 400, bytes([1]) + struct.pack(">I", 0xABCDEF01)) + hs_ack(2)
    + data(2, 0x03, b"abc") + origin_ack(0) + origin_data(0, 0, b"more") + ack(1) + ack(2)
    + data(1, 0x0F, b"") + origin_data(0, 1, b"") + ack(1) + ack(2) + origin_ack(0)
    + data(2, 0x04, b"") + ack(1) + ack(2) + TWO_MINUTES + NEXT_TIMER + NEXT_TIMER + NEXT_TIMER,
    # MPTCP v0 whose third ACK is lost: the first data with a DSS completes the handshake.
    "mptcp_v0_third_ack_lost": bytes([0]) + syn(6, 0x13, 600) + data(6, 0x03, b"first")
    + origin_syn_ack(0, 0, 0x6000) + transfer_and_close(6, dss=0x03),
}

out = pathlib.Path(__file__).resolve().parents[2] / "seeds" / "shard"
out.mkdir(parents=True, exist_ok=True)
for name, seed in SEEDS.items():
    (out / name).write_bytes(seed)
