#!/usr/bin/env python3
"""The live view of tests/scripts/demo.sh: bytes per radio as the download goes, and the cut.

Runs in the access router's namespace (its /sys/class/net shows the router's interfaces) and
reads, on stdin, the JSON lines of `mptcp_transfer.py fetch --progress`. For every progress
line it prints the time, the bytes the phone has received, and what the router has sent
toward the phone on each radio (the tx bytes of r-wifi and r-cell: headers and retransmissions
included) with the rate since the line before. Once the download has run --cut-at seconds it
runs --cut-cmd (the blackhole of Wi-Fi) and prints a marked line. At the end it prints the
transfer's summary and writes it, with the per-radio totals, as JSON to --summary. If nothing
arrives for --give-up seconds it stops reading (the fetch dies on its closed pipe) and writes
an integrity of STALLED.

  ip netns exec ROUTER python3 demo_live.py --cut-at 2 --summary out.json \
      --cut-cmd bash -c '...' < fetch-output
"""

import argparse
import json
import subprocess
import sys
import time

BAR_MBIT = 2.0  # one bar character per this many Mbit/s


def tx_bytes(iface):
    with open(f"/sys/class/net/{iface}/statistics/tx_bytes") as f:
        return int(f.read())


def mb(n):
    return f"{n / 1e6:6.1f} MB"


def rate_col(total, mbit):
    return f"{mb(total)} {mbit:4.0f} Mbit/s {'#' * round(mbit / BAR_MBIT):<21}"


class Live:
    def __init__(self, args):
        self.args = args
        self.base = {r: tx_bytes(i) for r, i in (("wifi", args.wifi), ("cell", args.cell))}
        self.last = {"t": 0.0, "received": 0, "wifi": 0, "cell": 0}
        self.cut = None
        self.summary = None
        self.got, self.since = 0, 0.0

    def sent(self):
        return {"wifi": tx_bytes(self.args.wifi) - self.base["wifi"],
                "cell": tx_bytes(self.args.cell) - self.base["cell"]}

    def stalled_for(self, t, received):
        """Seconds since the phone last got data (progress lines are the clock)."""
        if received != self.got:
            self.got, self.since = received, t
        return t - self.since

    def header(self):
        print(f"  {'time':>6}  {'phone got':>9}   {'router -> phone via Wi-Fi':<41}"
              "via cellular")

    def progress(self, t, received):
        sent = self.sent()
        dt = max(t - self.last["t"], 1e-3)
        rates = {r: (sent[r] - self.last[r]) * 8 / dt / 1e6 for r in ("wifi", "cell")}
        idle = "  <- nothing arrived" if received == self.last["received"] else ""
        print(f"  {t:5.2f}s  {mb(received)}   {rate_col(sent['wifi'], rates['wifi'])}"
              f"{rate_col(sent['cell'], rates['cell'])}".rstrip() + idle, flush=True)
        self.last = {"t": t, "received": received, **sent}
        if self.cut is None and t >= self.args.cut_at:
            self.do_cut(t, received)

    def do_cut(self, t, received):
        started = time.monotonic()
        subprocess.run(self.args.cut_cmd, check=True)
        took = (time.monotonic() - started) * 1000
        self.cut = {"t": t, "received": received, **self.sent()}
        print(f"  ------ {t:5.2f}s  WI-FI CUT: the router now drops everything to and from "
              f"the phone's Wi-Fi ({took:.0f} ms to apply) ------", flush=True)

    def done(self, record):
        sent = self.sent()
        self.summary = dict(record)
        self.summary["router_wifi_bytes"] = sent["wifi"]
        self.summary["router_cell_bytes"] = sent["cell"]
        self.summary["cut"] = self.cut
        if self.cut is not None:
            self.summary["wifi_after_cut"] = sent["wifi"] - self.cut["wifi"]
            self.summary["cell_after_cut"] = sent["cell"] - self.cut["cell"]
        self.report()

    def report(self):
        s = self.summary
        print()
        if self.cut is None:
            print(f"  The download ended before {self.args.cut_at} s: Wi-Fi was never cut.")
        else:
            print(f"  Wi-Fi cut at {self.cut['t']:.2f} s with {mb(self.cut['received']).strip()} "
                  f"received; after it the router sent {mb(s['cell_after_cut']).strip()} on "
                  f"cellular, {mb(s['wifi_after_cut']).strip()} on Wi-Fi.")
        print(f"  Longest stall (no data arriving at the phone): {s['stall_ms']:.0f} ms.")
        print(f"  The phone received {s['bytes']} of {s['expected_bytes']} bytes in "
              f"{s['duration_s']:.2f} s; SHA-256 {s['sha256'][:16]}...: "
              f"{'matches the origin stream' if s['integrity'] == 'ok' else s['integrity']}.",
              flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cut-at", type=float, required=True, help="seconds into the download")
    p.add_argument("--summary", required=True, help="where to write the final JSON")
    p.add_argument("--give-up", type=float, default=10.0,
                   help="stop (the fetch then dies on its closed pipe) after this many seconds"
                   " without data")
    p.add_argument("--wifi", default="r-wifi")
    p.add_argument("--cell", default="r-cell")
    p.add_argument("--cut-cmd", nargs=argparse.REMAINDER, required=True,
                   help="the command that cuts Wi-Fi (the rest of the arguments)")
    args = p.parse_args()
    live = Live(args)
    live.header()
    for line in sys.stdin:
        try:
            record = json.loads(line)
        except ValueError:
            print(f"  fetch: {line.rstrip()}", flush=True)
            continue
        if record.get("event") == "progress":
            live.progress(record["t"], record["bytes"])
            if live.stalled_for(record["t"], record["bytes"]) >= args.give_up:
                print(f"  ------ nothing arrived for {args.give_up:.0f} s: giving up ------")
                live.summary = {"integrity": f"STALLED (nothing arrived for {args.give_up:.0f} s"
                                f" from {live.since:.2f} s, with {record['bytes']} bytes)"}
                break
        elif record.get("event") == "done":
            live.done(record)
    with open(args.summary, "w") as f:
        json.dump(live.summary or {"integrity": "NO SUMMARY (the fetch failed)"}, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
