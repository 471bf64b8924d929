#!/usr/bin/env python3
"""Tables derived from tshark's decoding of the reference MPTCP captures.

    capture_tables.py options PDML OUT.tsv
        One row per MPTCP option, from `tshark -T pdml` output (make-captures.sh runs
        tshark). Unlike the per-packet TSV, whose multi-occurrence columns cannot say which
        value belongs to which of two options in one packet, every row here holds exactly
        one option: its raw bytes and the fields tshark decoded inside it.

    capture_tables.py check DATA_DIR
        Fails unless every capture has the options its scenario is for, and tshark filled
        the fields each option must have (keys in MP_CAPABLE, HMACs in MP_JOIN, ...).

    capture_tables.py readme DATA_DIR MIB_DIR TEMPLATE
        Writes DATA_DIR/README.md from TEMPLATE: what each capture shows, frame by frame
        for the MPTCP options, counts per subtype, the kernel's MPTCP MIB counters from the
        run (MIB_DIR holds <name>.client.mib / <name>.server.mib), and the column lists.

Nothing here decodes packets itself: values come from tshark; this only rearranges them.
"""

import csv
import hashlib
import hmac
import ipaddress
import platform
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

SUBTYPES = {
    0: "MP_CAPABLE", 1: "MP_JOIN", 2: "DSS", 3: "ADD_ADDR", 4: "REMOVE_ADDR",
    5: "MP_PRIO", 6: "MP_FAIL", 7: "MP_FASTCLOSE", 8: "MP_TCPRST",
}

OPTION_COLUMNS = [
    "frame.number", "tcp.stream", "src", "dst", "tcp.flags", "tcp.len",
    "opt.index", "opt.offset", "opt.len", "opt.hex", "subtype", "subtype.name", "fields",
]


# --- options table --------------------------------------------------------------------------

def first(elem, name):
    """The first descendant <field> called `name`, or None."""
    return elem.find(f".//field[@name='{name}']")


def show(elem, name):
    found = first(elem, name)
    return found.get("show", "") if found is not None else ""


def option_fields(proto):
    """`name=show` for every named field inside one MPTCP option, in tshark's order."""
    out = []
    for field in proto.iter("field"):
        name = field.get("name", "")
        if name and name not in ("tcp.option_kind", "tcp.option_len"):
            out.append(f"{name}={field.get('show', '').strip()}")
    return ";".join(out)


def endpoints(packet):
    src = show(packet, "ip.src") or show(packet, "ipv6.src")
    dst = show(packet, "ip.dst") or show(packet, "ipv6.dst")
    sport, dport = show(packet, "tcp.srcport"), show(packet, "tcp.dstport")
    if ":" in src:
        return f"[{src}]:{sport}", f"[{dst}]:{dport}"
    return f"{src}:{sport}", f"{dst}:{dport}"


def option_rows(packet):
    opts = first(packet, "tcp.options")
    if opts is None:
        return []
    base, raw = int(opts.get("pos")), opts.get("value", "")
    src, dst = endpoints(packet)
    common = {
        "frame.number": show(packet, "frame.number"), "tcp.stream": show(packet, "tcp.stream"),
        "src": src, "dst": dst, "tcp.flags": show(packet, "tcp.flags"),
        "tcp.len": show(packet, "tcp.len"),
    }
    rows = []
    for index, proto in enumerate(opts.iter("proto")):
        if proto.get("name") != "mptcp":
            continue
        offset, size = int(proto.get("pos")) - base, int(proto.get("size"))
        subtype = show(proto, "tcp.options.mptcp.subtype")
        rows.append({
            **common, "opt.index": str(len(rows)), "opt.offset": str(offset),
            "opt.len": str(size), "opt.hex": raw[2 * offset:2 * (offset + size)],
            "subtype": subtype, "subtype.name": SUBTYPES.get(int(subtype), "?") if subtype else "",
            "fields": option_fields(proto),
        })
    return rows


def write_options(pdml_path, out_path):
    with open(out_path, "w", newline="") as out:
        writer = csv.DictWriter(out, OPTION_COLUMNS, delimiter="\t", lineterminator="\n")
        writer.writeheader()
        for _, elem in ET.iterparse(pdml_path, events=("end",)):
            if elem.tag == "packet":
                writer.writerows(option_rows(elem))
                elem.clear()


# --- README ---------------------------------------------------------------------------------

DESCRIPTIONS = {
    "v1-ipv4-basic": """\
IPv4, checksums off. MP_CAPABLE handshake (SYN and SYN/ACK carry one key each, the third
ACK both keys), then the client's first data segment repeats MP_CAPABLE with both keys and
the data-level length (RFC 8684 §3.1). The client's cell address (id 2) joins 10.0.3.2
(MP_JOIN SYN with token and nonce, SYN/ACK with 64-bit truncated HMAC and nonce, ACK with
160-bit HMAC, then the server's fourth ACK). The server announces 10.0.4.2 id 4 with
ADD_ADDR (truncated HMAC); the client echoes it (E=1, no HMAC) and joins it from 10.0.1.1.
Data both ways on the initial subflow (DSS with 8-byte DSN and DATA_ACK, the mapping
repeated on each segment of it). Close: each side's DATA_FIN (DSS with F flag, data-level
length 1, subflow sequence 0) goes out on every subflow, then FIN on every subflow.""",
    "v1-ipv4-checksum": """\
As v1-ipv4-basic with `net.mptcp.checksum_enabled=1` on both hosts: MP_CAPABLE has the C
flag (0x81), MP_CAPABLE-with-data and every DSS mapping carry a DSS checksum (DSS length 28
instead of 26). tshark 4.0 decodes the checksum of MP_CAPABLE-with-data but NOT the DSS
checksum: read it from the last two bytes of the DSS option in `tcp.options` / `opt.hex`.
The receiving kernel accepted every checksum (MPTcpExtDataCsumErr stays 0).""",
    "v1-ipv6": """\
As v1-ipv4-basic over IPv6: join from fd00:2::1, ADD_ADDR for fd00:4::2 (IPv6 form: length
28 with HMAC, 20 for the echo; IPv4 is 16 and 8, and 18 and 10 with a port), join to it.""",
    "v1-prio-remove": """\
IPv4. After the joins (the announced address carries port 5004: ADD_ADDR with port, join
to 10.0.4.2:5004) the server marks the initial subflow's address backup (MP_PRIO B=1 on
the initial subflow), the client marks its cell address backup and back (MP_PRIO B=1, then
B=0 on the cell subflow); data then flows on the cell subflow, whose DSS subflow sequence
numbers are relative to that subflow's ISN. Then the server withdraws 10.0.4.2
(REMOVE_ADDR id 4, that subflow closes with FIN) and the client its cell address
(REMOVE_ADDR id 2, that subflow closes); the rest of the data and the DATA_FIN close run on
the initial subflow. MP_PRIO is 3 bytes long in v1 (no address id).""",
    "v1-fastclose": """\
IPv4. The cell path joins with B=1 in its MP_JOIN SYN (endpoint flag `backup`). The client
sets SO_LINGER {1, 0} and closes with 2000 bytes unread: the kernel sends an RST carrying
MP_FASTCLOSE (the server's key) and MP_TCPRST (reason 0) on every subflow (RFC 8684
§3.5, the RST variant).""",
    "v1-join-rejected": """\
IPv4, the server's subflow limit is 0. The client's MP_JOIN gets a SYN/ACK with HMAC, and
its third ACK (full HMAC) is answered by a bare RST with MP_TCPRST reason 3
("administratively prohibited"), no timestamps; the client also resets with MP_TCPRST
reason 0. The connection carries on over the initial subflow.""",
    "v1-mp-fail-fallback": """\
IPv4, checksums on, one subflow. The router rewrites one 16-bit payload word of the first
client segment of the second phase (urgent pointer compensates, so the TCP checksum is
still right and only the DSS checksum is wrong). The server answers DSS + MP_FAIL (the
DSN of the failed mapping), the client answers with its own MP_FAIL, then sends its next
data under an infinite mapping (DSS with data-level length 0 and checksum 0) and the
connection falls back to plain TCP: later segments carry no MPTCP option (RFC 8684 §3.7).""",
    "v1-mp-fail-reset": """\
As v1-mp-fail-fallback but with a second (cell) subflow: the server resets the damaged
initial subflow with RST + MP_FAIL + MP_TCPRST reason 6 ("middlebox interference"); the
data is reinjected and the connection finishes on the cell subflow.""",
    "v1-c-flag": """\
IPv4, the server has `net.mptcp.allow_join_initial_addr_port=0`: its SYN/ACK sets the
MP_CAPABLE C flag ("do not attempt to establish new subflows to this address and port",
flags 0x21), so the client's cell endpoint, added while the connection is up, opens no
subflow to 10.0.3.2:5000. The server then announces 10.0.4.2 (ADD_ADDR) and the client
joins that address from 10.0.1.1 (the cell endpoint stays unused).""",
    "v1-fallback": """\
MPTCP client, plain TCP server: the SYN carries MP_CAPABLE, the SYN/ACK none, so the
connection is plain TCP from the third ACK on (RFC 8684 §3.1 fallback).""",
}

NOT_TRIGGERED = """\
- MPTCP v0 (RFC 6824) of any kind: Linux speaks v1 only.
- 4-byte DSN or DATA_ACK: Linux always sends the 8-byte forms.
- MP_FASTCLOSE in an ACK (RFC 8684 §3.5 option A): Linux sends it in an RST only.
- MP_TCPRST reasons other than 0 (unspecified), 3 (administratively prohibited) and
  6 (middlebox interference), and the T (transient) flag set.
- REMOVE_ADDR with more than one id; ADD_ADDR sent by the client.
- MP_JOIN with a wrong HMAC or an unknown token, SYN cookies, ADD_ADDR retransmission
  (add_addr_timeout is 120 s): a stock kernel peer does not produce them.
- MP_FAIL is produced only by the payload-rewriting router of the v1-mp-fail files.
"""


def read_tsv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def subtype_counts(option_rows_):
    counts = Counter(row["subtype.name"] for row in option_rows_)
    return ", ".join(f"{name} {counts[name]}" for name in SUBTYPES.values() if counts[name])


def flag_note(row):
    """Short notes on the notable MPTCP fields of one option row."""
    fields = dict(kv.split("=", 1) for kv in row["fields"].split(";") if "=" in kv)
    notes = []
    for key, label in (("tcp.options.mptcp.addrid", "id"), ("tcp.options.mptcp.backup.flag", "B"),
                       ("tcp.options.mptcp.echo", "E"), ("tcp.options.mptcp.ipv4", "addr"),
                       ("tcp.options.mptcp.ipv6", "addr"), ("tcp.options.mptcp.port", "port"),
                       ("tcp.options.mptcp.rst_reason", "reason"),
                       ("tcp.options.mptcp.datalvllen", "dlen")):
        if key in fields:
            notes.append(f"{label}={fields[key]}")
    if fields.get("tcp.options.mptcp.datafin.flag") == "1":
        notes.append("DATA_FIN")
    if row["subtype"] == "6":
        notes.append(f"dsn={fields.get('tcp.options.mptcp.rawdataseqno', '?')}")
    return " ".join(notes)


TCP_FLAGS = {0x02: "SYN", 0x12: "SYN/ACK", 0x10: "ACK", 0x18: "PSH/ACK", 0x11: "FIN/ACK",
             0x14: "RST/ACK", 0x04: "RST", 0x19: "FIN/PSH/ACK"}


def frame_table(option_rows_):
    """Frames whose MPTCP options are not a plain DSS, one line each."""
    lines = ["| frame | subflow | direction | TCP | MPTCP options |", "|---|---|---|---|---|"]
    by_frame = {}
    for row in option_rows_:
        by_frame.setdefault(row["frame.number"], []).append(row)
    for frame, rows in by_frame.items():
        names = [r["subtype.name"] for r in rows]
        notes = [flag_note(r) for r in rows]
        if names == ["DSS"] and "DATA_FIN" not in notes[0] and notes[0] != "dlen=0":
            continue
        flags = TCP_FLAGS.get(int(rows[0]["tcp.flags"], 16), rows[0]["tcp.flags"])
        opts = "; ".join(f"{n} {x}".strip() for n, x in zip(names, notes))
        lines.append(f"| {frame} | {rows[0]['tcp.stream']} | {rows[0]['src']} → {rows[0]['dst']} "
                     f"| {flags} len {rows[0]['tcp.len']} | {opts} |")
    return "\n".join(lines)


def mib_lines(mib_dir, name):
    out = []
    for side in ("client", "server"):
        path = Path(mib_dir) / f"{name}.{side}.mib"
        if path.exists():
            counters = [line.split()[:2] for line in path.read_text().splitlines()
                        if line.startswith("MPTcpExt") and line.split()[1] != "0"]
            out.append(f"- {side}: " + (", ".join(f"{k.removeprefix('MPTcpExt')} {v}"
                                                  for k, v in counters) or "(none)"))
    return "\n".join(out)


def file_section(data_dir, mib_dir, name):
    packets = read_tsv(data_dir / f"{name}.tsv")
    options = read_tsv(data_dir / f"{name}.options.tsv")
    size = (data_dir / f"{name}.pcap").stat().st_size
    return f"""### {name}.pcap

{DESCRIPTIONS.get(name, "")}

{len(packets)} packets, {size} bytes. MPTCP options (from tshark): {subtype_counts(options) or "none"}.

Cross-checked (see below): {cross_check(data_dir, name)[1]}.

Kernel MPTCP counters after the run (nstat, non-zero):
{mib_lines(mib_dir, name)}

Frames with options other than a plain DSS mapping/ack:

{frame_table(options)}
"""


def write_readme(data_dir, mib_dir, static_path):
    data_dir = Path(data_dir)
    names = sorted(p.stem for p in data_dir.glob("*.pcap"))
    head = Path(static_path).read_text()
    header = read_tsv(data_dir / f"{names[0]}.tsv")[0].keys() if names else []
    sections = "\n".join(file_section(data_dir, mib_dir, n) for n in names)
    tshark = subprocess.run(["tshark", "--version"], capture_output=True, text=True,
                            check=True).stdout.splitlines()[0]
    text = (head.replace("@PACKET_COLUMNS@", "\n".join(f"- `{c}`" for c in header))
            .replace("@PLATFORM@", f"Linux {platform.release()}")
            .replace("@TSHARK@", tshark)
            .replace("@FILES@", sections)
            .replace("@NOT_TRIGGERED@", NOT_TRIGGERED))
    (data_dir / "README.md").write_text(text)


# --- checks ---------------------------------------------------------------------------------

# (subtype, TCP flags or None for any) -> fields tshark must have decoded in that option.
REQUIRED = [
    (0, 0x02, ["tcp.options.mptcp.version", "tcp.options.mptcp.sha256.flag"]),
    (0, 0x12, ["tcp.options.mptcp.sendkey", "mptcp.expected_token", "mptcp.expected_idsn"]),
    (0, 0x10, ["tcp.options.mptcp.sendkey", "tcp.options.mptcp.recvkey"]),
    (1, 0x02, ["tcp.options.mptcp.addrid", "tcp.options.mptcp.recvtok",
               "tcp.options.mptcp.sendrand", "tcp.options.mptcp.backup.flag"]),
    (1, 0x12, ["tcp.options.mptcp.addrid", "tcp.options.mptcp.sendtrunchmac",
               "tcp.options.mptcp.sendrand"]),
    (1, 0x10, ["tcp.options.mptcp.sendhmac"]),
    (2, None, ["tcp.options.mptcp.flags", "tcp.options.mptcp.dataackpresent.flag"]),
    (3, None, ["tcp.options.mptcp.addrid", "tcp.options.mptcp.echo"]),
    (4, None, ["tcp.options.mptcp.addrid", "mptcp.rm_addr.count"]),
    (5, None, ["tcp.options.mptcp.backup.flag"]),
    (6, None, ["tcp.options.mptcp.rawdataseqno"]),
    (7, None, ["tcp.options.mptcp.recvkey"]),
    (8, None, ["tcp.options.mptcp.rst_reason", "tcp.options.mptcp.flag_T.flag"]),
]

# Per file: the subtypes that must appear.
EXPECTED_SUBTYPES = {
    "v1-ipv4-basic": {0, 1, 2, 3}, "v1-ipv4-checksum": {0, 1, 2, 3}, "v1-ipv6": {0, 1, 2, 3},
    "v1-prio-remove": {0, 1, 2, 3, 4, 5}, "v1-fastclose": {0, 1, 2, 3, 7, 8},
    "v1-join-rejected": {0, 1, 2, 8}, "v1-mp-fail-fallback": {0, 2, 6},
    "v1-c-flag": {0, 1, 2, 3},
    "v1-mp-fail-reset": {0, 1, 2, 6, 8}, "v1-fallback": {0},
}


def check_option(name, row):
    fields = {kv.split("=", 1)[0]: kv.split("=", 1)[1]
              for kv in row["fields"].split(";") if "=" in kv}
    subtype, flags = int(row["subtype"]), int(row["tcp.flags"], 16)
    errors = []
    for want_subtype, want_flags, required in REQUIRED:
        if subtype == want_subtype and want_flags in (None, flags & 0x12):
            errors += [f"{name} frame {row['frame.number']}: {SUBTYPES[subtype]} lacks {f}"
                       for f in required if not fields.get(f)]
    mapping = subtype == 2 and int(fields.get("tcp.options.mptcp.flags", "0"), 16) & 0x04
    if mapping:
        errors += [f"{name} frame {row['frame.number']}: DSS mapping lacks {f}"
                   for f in ("tcp.options.mptcp.rawdataseqno", "tcp.options.mptcp.subflowseqno",
                             "tcp.options.mptcp.datalvllen") if not fields.get(f)]
    if subtype == 3 and fields.get("tcp.options.mptcp.echo") == "0":
        errors += [f"{name} frame {row['frame.number']}: ADD_ADDR lacks its HMAC"
                   for _ in [0] if not fields.get("tcp.options.mptcp.addaddrtrunchmac")]
    return errors


def check_packet(name, row):
    errors = []
    where = f"{name} frame {row['frame.number']}"
    if row["tcp.checksum.status"] != "1":
        errors.append(f"{where}: TCP checksum not verified good ({row['tcp.checksum.status']})")
    if int(row["frame.len"]) > 1514:
        errors.append(f"{where}: frame of {row['frame.len']} bytes exceeds the MTU")
    if row["eth.type"] not in ("0x0800", "0x86dd"):
        errors.append(f"{where}: not Ethernet/IP ({row['eth.type']})")
    return errors


# --- independent cross-checks: crypto and DSS checksums (RFC 8684 §3.1-3.5) ----------------

def fields_of(row):
    return {kv.split("=", 1)[0]: kv.split("=", 1)[1] for kv in row["fields"].split(";") if "=" in kv}


def be(value, size):
    return int(value).to_bytes(size, "big")


def token_idsn(key):
    """RFC 8684 §3.1: token = top 32 bits, IDSN = low 64 bits of SHA-256(key)."""
    digest = hashlib.sha256(be(key, 8)).digest()
    return int.from_bytes(digest[:4], "big"), int.from_bytes(digest[-8:], "big")


def hmac256(key, msg):
    return hmac.new(key, msg, hashlib.sha256).digest()


class Capture:
    """One capture's tables, indexed for the cross-checks."""

    def __init__(self, data_dir, name):
        self.name = name
        self.packets = {r["frame.number"]: r for r in read_tsv(data_dir / f"{name}.tsv")}
        self.options = read_tsv(data_dir / f"{name}.options.tsv")
        self.pcap = data_dir / f"{name}.pcap"
        self.initiator = {}  # tcp.stream -> src "addr:port" of its SYN
        for row in self.options:
            if int(row["tcp.flags"], 16) == 0x02:
                self.initiator[row["tcp.stream"]] = row["src"]
        self.keys = {}  # mptcp.stream -> (client key, server key)
        for row in self.options:
            f = fields_of(row)
            if row["subtype"] == "0" and "tcp.options.mptcp.recvkey" in f:
                self.keys[self.mptcp_stream(row)] = (int(f["tcp.options.mptcp.sendkey"]),
                                                     int(f["tcp.options.mptcp.recvkey"]))

    def mptcp_stream(self, row):
        return self.packets[row["frame.number"]]["mptcp.stream"]

    def from_initiator(self, row):
        return self.initiator.get(row["tcp.stream"]) == row["src"]

    def sender_receiver_keys(self, row):
        client, server = self.keys[self.mptcp_stream(row)]
        return (client, server) if self.from_initiator(row) else (server, client)


def check_tokens(cap):
    errors, n = [], 0
    for row in cap.options:
        f = fields_of(row)
        if row["subtype"] == "0" and "mptcp.expected_token" in f:
            token, idsn = token_idsn(f["tcp.options.mptcp.sendkey"])
            n += 1
            if (token, idsn) != (int(f["mptcp.expected_token"]), int(f["mptcp.expected_idsn"])):
                errors.append(f"{cap.name} frame {row['frame.number']}: token/IDSN differ from tshark")
    return errors, f"{n} token/IDSN pairs"


def join_rows(cap):
    """tcp.stream -> {TCP flags -> MP_JOIN option fields}."""
    joins = {}
    for row in cap.options:
        if row["subtype"] == "1":
            flags = int(row["tcp.flags"], 16) & 0x12
            joins.setdefault(row["tcp.stream"], {})[flags] = (row, fields_of(row))
    return joins


def check_joins(cap):
    errors, n = [], 0
    for stream, rows in join_rows(cap).items():
        if not {0x02, 0x12, 0x10} <= rows.keys():
            continue
        (syn, fs), (_, fsa), (_, fa) = rows[0x02], rows[0x12], rows[0x10]
        key_a, key_b = cap.keys[cap.mptcp_stream(syn)]
        ra, rb = be(fs["tcp.options.mptcp.sendrand"], 4), be(fsa["tcp.options.mptcp.sendrand"], 4)
        ok = (int(fs["tcp.options.mptcp.recvtok"]) == token_idsn(key_b)[0]
              and hmac256(be(key_b, 8) + be(key_a, 8), rb + ra)[:8]
              == be(fsa["tcp.options.mptcp.sendtrunchmac"], 8)
              # PDML shows FT_BYTES with colons (-T fields without)
              and hmac256(be(key_a, 8) + be(key_b, 8), ra + rb)[:20].hex()
              == fa["tcp.options.mptcp.sendhmac"].replace(":", ""))
        n += 1
        if not ok:
            errors.append(f"{cap.name} tcp.stream {stream}: MP_JOIN token/HMACs do not verify")
    return errors, f"{n} MP_JOIN handshakes (token, truncated and full HMAC)"


def check_add_addr(cap):
    errors, n = [], 0
    for row in cap.options:
        f = fields_of(row)
        if row["subtype"] != "3" or f.get("tcp.options.mptcp.echo") != "0":
            continue
        sender, receiver = cap.sender_receiver_keys(row)
        addr = f.get("tcp.options.mptcp.ipv4") or f.get("tcp.options.mptcp.ipv6")
        msg = (be(f["tcp.options.mptcp.addrid"], 1) + ipaddress.ip_address(addr).packed
               + be(f.get("tcp.options.mptcp.port", 0), 2))
        n += 1
        if hmac256(be(sender, 8) + be(receiver, 8), msg)[-8:] != \
                be(f["tcp.options.mptcp.addaddrtrunchmac"], 8):
            errors.append(f"{cap.name} frame {row['frame.number']}: ADD_ADDR HMAC does not verify")
    return errors, f"{n} ADD_ADDR HMACs"


def check_fastclose(cap):
    errors, n = [], 0
    for row in cap.options:
        if row["subtype"] == "7":
            n += 1
            if int(fields_of(row)["tcp.options.mptcp.recvkey"]) != cap.sender_receiver_keys(row)[1]:
                errors.append(f"{cap.name} frame {row['frame.number']}: MP_FASTCLOSE key is not the receiver's")
    return errors, f"{n} MP_FASTCLOSE keys"


def tcp_payloads(pcap_path):
    """frame number -> TCP payload, from a classic little- or big-endian Ethernet pcap."""
    data = Path(pcap_path).read_bytes()
    endian = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    if struct.unpack(endian + "I", data[20:24])[0] != 1:
        raise ValueError(f"{pcap_path}: not Ethernet")
    out, off, number = {}, 24, 0
    while off + 16 <= len(data):
        incl = struct.unpack(endian + "I", data[off + 8:off + 12])[0]
        frame, off, number = data[off + 16:off + 16 + incl], off + 16 + incl, number + 1
        ip = frame[14:]
        if frame[12:14] == b"\x08\x00":
            tcp = ip[(ip[0] & 0x0F) * 4:int.from_bytes(ip[2:4], "big")]
        else:  # IPv6 without extension headers
            tcp = ip[40:40 + int.from_bytes(ip[4:6], "big")]
        out[str(number)] = tcp[(tcp[12] >> 4) * 4:]
    return out


def subflow_streams(cap):
    """(tcp.stream, src) -> bytearray of that direction's payload, index 0 = ISN + 1."""
    payloads, isn, streams = tcp_payloads(cap.pcap), {}, {}
    for frame, row in cap.packets.items():
        key = (row["tcp.stream"], row["ip.src"] or row["ipv6.src"], row["tcp.srcport"])
        if int(row["tcp.flags"], 16) & 0x02:
            isn[key] = int(row["tcp.seq_raw"])
        data = payloads[frame]
        if data and key in isn:
            start = (int(row["tcp.seq_raw"]) - isn[key] - 1) % 2**32
            buf = streams.setdefault(key, bytearray())
            if len(buf) < start + len(data):
                buf.extend(bytes(start + len(data) - len(buf)))
            if not any(buf[start:start + len(data)]):  # keep the first copy of a retransmission
                buf[start:start + len(data)] = data
    return streams


def ones_complement_ok(blob):
    if len(blob) % 2:
        blob += b"\0"
    total = sum(struct.unpack(f"!{len(blob) // 2}H", blob))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total == 0xFFFF


def mappings_with_checksum(cap):
    """(row, dsn, ssn, length, checksum bytes) for every checksummed mapping, deduplicated."""
    seen = {}
    for row in cap.options:
        f, raw = fields_of(row), bytes.fromhex(row["opt.hex"])
        length = int(f.get("tcp.options.mptcp.datalvllen", "0"))
        if row["subtype"] == "2" and len(raw) == 28 and length:
            dsn, ssn = int(f["tcp.options.mptcp.rawdataseqno"]), int(f["tcp.options.mptcp.subflowseqno"])
        elif row["subtype"] == "0" and len(raw) == 24:  # MP_CAPABLE with data and checksum
            dsn, ssn = (token_idsn(f["tcp.options.mptcp.sendkey"])[1] + 1) % 2**64, 1
        else:
            continue
        key = (row["tcp.stream"], row["src"], dsn, ssn, length)
        seen.setdefault(key, (row, dsn, ssn, length, raw[-2:]))
    return seen.values()


def check_dss_checksums(cap, allowed_bad):
    streams = subflow_streams(cap)
    errors, good, bad = [], 0, 0
    for row, dsn, ssn, length, csum in mappings_with_checksum(cap):
        packet = cap.packets[row["frame.number"]]
        key = (row["tcp.stream"], packet["ip.src"] or packet["ipv6.src"], packet["tcp.srcport"])
        if ssn == 0 and length == 1:
            data = b""  # DATA_FIN alone: no payload, subflow sequence 0 (RFC 8684 §3.3.3)
        else:
            data = bytes(streams.get(key, b"")[ssn - 1:ssn - 1 + length])
            if len(data) < length:
                continue  # mapping not fully captured
        pseudo = be(dsn, 8) + be(ssn, 4) + be(length, 2) + csum
        if ones_complement_ok(pseudo + data):
            good += 1
        else:
            bad += 1
    if bad != allowed_bad:
        errors.append(f"{cap.name}: {bad} DSS checksums fail, expected {allowed_bad}")
    return errors, f"{good} DSS checksums good, {bad} bad"


def cross_check(data_dir, name):
    """All independent checks of one capture: (errors, summary)."""
    cap = Capture(Path(data_dir), name)
    errors, notes = [], []
    for result in (check_tokens(cap), check_joins(cap), check_add_addr(cap),
                   check_fastclose(cap),
                   check_dss_checksums(cap, 1 if name.startswith("v1-mp-fail") else 0)):
        errors += result[0]
        notes.append(result[1])
    return errors, "; ".join(notes)



def check(data_dir):
    data_dir = Path(data_dir)
    errors = []
    for name, expected in EXPECTED_SUBTYPES.items():
        if not (data_dir / f"{name}.pcap").exists():
            errors.append(f"{name}.pcap missing")
            continue
        options = read_tsv(data_dir / f"{name}.options.tsv")
        seen = {int(r["subtype"]) for r in options if r["subtype"]}
        errors += [f"{name}: no {SUBTYPES[s]}" for s in sorted(expected - seen)]
        for row in options:
            errors += check_option(name, row)
        for row in read_tsv(data_dir / f"{name}.tsv"):
            errors += check_packet(name, row)
        cross_errors, summary = cross_check(data_dir, name)
        errors += cross_errors
        print(f"check: {name}: {summary}", file=sys.stderr)
    for error in errors:
        print(f"check: {error}", file=sys.stderr)
    return 1 if errors else 0


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "options":
        write_options(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 3 and sys.argv[1] == "check":
        sys.exit(check(sys.argv[2]))
    elif len(sys.argv) == 5 and sys.argv[1] == "readme":
        write_readme(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
