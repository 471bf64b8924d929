#!/usr/bin/env python3
"""SVG plots for docs/performance.md from the benchmarks' JSON (no plotting library needed).

  perf/plot.py handover RESULT.json OUT.svg
      The stall of every handover trial (perf/handover.sh --json), one row per peer, on a
      logarithmic time axis, with the p50 and p99 marked, and the goodput medians.

The figure is plain SVG: it renders on GitHub and in any browser.
"""

import json
import math
import sys

WIDTH, ROW, LEFT, RIGHT, TOP = 760, 90, 150, 30, 50
COLORS = {"netreaktor": "#1b7837", "haproxy": "#b2182b"}


def x_of(ms, lo, hi):
    """Position of `ms` on a log axis from `lo` to `hi` milliseconds."""
    ms = min(max(ms, lo), hi)
    span = math.log10(hi) - math.log10(lo)
    return LEFT + (WIDTH - LEFT - RIGHT) * (math.log10(ms) - math.log10(lo)) / span


def handover(data):
    peers = list(data["stalls_ms"])
    lo, hi = 1.0, 2000.0
    height = TOP + ROW * len(peers) + 70
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        'font-family="sans-serif" font-size="13">',
        f'<rect width="{WIDTH}" height="{height}" fill="white"/>',
        f'<text x="{LEFT}" y="22" font-size="15" font-weight="bold">Stall when Wi-Fi is '
        "cut mid-download (each dot one trial)</text>",
    ]
    machine = data.get("machine", {})
    cc = data.get("congestion_control", {})
    out.append(
        f'<text x="{LEFT}" y="40" fill="#555">{machine.get("cpu", "")}, {machine.get("nproc", "")} '
        f'cores, Linux {machine.get("kernel", "")}; client CC {cc.get("client", "")}, '
        f'{data.get("rate_per_radio", "")} per radio</text>'
    )
    for i, peer in enumerate(peers):
        y = TOP + ROW * i + ROW / 2
        summary = data["summary"][peer]
        color = COLORS.get(peer, "#333")
        out.append(f'<text x="10" y="{y + 5}" font-weight="bold">{peer}</text>')
        out.append(
            f'<text x="10" y="{y + 22}" fill="#555">p50 {summary["stall_ms_p50"]} ms</text>'
        )
        out.append(
            f'<text x="10" y="{y + 38}" fill="#555">p99 {summary["stall_ms_p99"]} ms</text>'
        )
        for k, ms in enumerate(data["stalls_ms"][peer]):
            jitter = ((k * 7) % 9 - 4) * 3
            out.append(
                f'<circle cx="{x_of(ms, lo, hi):.1f}" cy="{y + jitter}" r="4" '
                f'fill="{color}" fill-opacity="0.6"/>'
            )
        for key, dash in (("stall_ms_p50", ""), ("stall_ms_p99", ' stroke-dasharray="4 3"')):
            x = x_of(summary[key], lo, hi)
            out.append(
                f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y - 25}" y2="{y + 25}" '
                f'stroke="{color}" stroke-width="2"{dash}/>'
            )
    axis_y = TOP + ROW * len(peers) + 10
    out.append(
        f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{axis_y}" y2="{axis_y}" stroke="#333"/>'
    )
    for ms in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000):
        x = x_of(ms, lo, hi)
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{axis_y}" y2="{axis_y + 5}" stroke="#333"/>')
        out.append(f'<text x="{x:.1f}" y="{axis_y + 20}" text-anchor="middle">{ms}</text>')
    out.append(
        f'<text x="{(LEFT + WIDTH - RIGHT) / 2}" y="{axis_y + 40}" text-anchor="middle">'
        "longest gap between arrivals at the client, ms (log scale); solid p50, dashed p99"
        "</text>"
    )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main(argv):
    if len(argv) != 4 or argv[1] != "handover":
        sys.exit(__doc__)
    with open(argv[2]) as f:
        data = json.load(f)
    with open(argv[3], "w") as f:
        f.write(handover(data))


if __name__ == "__main__":
    main(sys.argv)
