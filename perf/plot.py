#!/usr/bin/env python3
"""SVG plots for docs/performance.md from the benchmarks' JSON (no plotting library needed).

  perf/plot.py handover RESULT.json OUT.svg
      The stall of every handover trial (perf/handover.sh --json), one row per peer, on a
      logarithmic time axis, with the p50 and p99 marked, and the goodput medians.

  perf/plot.py bench RESULT.json OUT_PREFIX
      From perf/compare-bench.sh --json: OUT_PREFIX-throughput.svg (goodput per peer: download,
      upload, download over 8 connections), OUT_PREFIX-connect.svg (connections per second) and
      OUT_PREFIX-latency.svg (request/response p50, p99, p99.9 on a logarithmic axis).

The figures are plain SVG: they render on GitHub and in any browser.
"""

import json
import math
import sys
from xml.sax.saxutils import escape

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


BAR_W, BAR_H, BAR_TOP, BAR_LEFT, BAR_BOTTOM = 760, 420, 80, 80, 70


def subtitle(data):
    """Machine and congestion control of a compare-bench.sh run, for under a title."""
    m, cc = data.get("machine", {}), data.get("congestion_control", {})
    return escape(
        f'{m.get("cpu", "")}, {m.get("nproc", "")} cores, Linux {m.get("kernel", "")}; '
        f'CC client {cc.get("client", "")}, HAProxy (kernel) {cc.get("appliance_kernel", "")}, '
        f'NetReaktor (config) {cc.get("netreaktor_config", "")}'
    )


def bar_frame(title, data):
    """The opening of a bar chart: canvas, title, subtitle, run description."""
    rounds = data.get("rounds", 0)
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{BAR_W}" height="{BAR_H}" '
        'font-family="sans-serif" font-size="13">',
        f'<rect width="{BAR_W}" height="{BAR_H}" fill="white"/>',
        f'<text x="20" y="22" font-size="15" font-weight="bold">{escape(title)}</text>',
        f'<text x="20" y="40" fill="#555" font-size="11">{subtitle(data)}</text>',
        f'<text x="20" y="56" fill="#555" font-size="11">netreaktor-bench over kernel MPTCP '
        f'(2 subflows), median of {rounds} alternated round{"" if rounds == 1 else "s"} of '
        f'{data.get("seconds", 0):g} s each; dots: the rounds</text>',
    ]


def linear_axis(values):
    """A linear y axis from 0: (top value, ticks), with 1-2-5 steps."""
    hi = max([v for v in values if v is not None] + [1e-9])
    step = 10 ** math.floor(math.log10(hi / 5))
    for mult in (1, 2, 5, 10):
        if hi / (step * mult) <= 6:
            step *= mult
            break
    top = step * math.ceil(hi / step)
    return top, [step * i for i in range(int(round(top / step)) + 1)]


def bars(data, title, unit, groups, fmt, log=False):
    """Grouped vertical bars: `groups` is [(label, {peer: (median, [runs])})]; a log y axis
    when `log` (values must be positive)."""
    peers = data.get("peers") or sorted({p for _, g in groups for p in g})
    values = [v for _, g in groups for med, runs in g.values() for v in [med, *runs]]
    values = [v for v in values if v is not None]
    plot_h = BAR_H - BAR_TOP - BAR_BOTTOM
    base = BAR_H - BAR_BOTTOM
    if log:
        lo = 10 ** math.floor(math.log10(min([v for v in values if v > 0] or [1])))
        hi = 10 ** math.ceil(math.log10(max(values or [10]) * 1.01))
        ticks = [10**e for e in range(round(math.log10(lo)), round(math.log10(hi)) + 1)]

        def y_of(v):
            v = min(max(v, lo), hi)
            span = math.log10(hi) - math.log10(lo)
            return base - plot_h * (math.log10(v) - math.log10(lo)) / span
    else:
        top, ticks = linear_axis(values)

        def y_of(v):
            return base - plot_h * v / top
    out = bar_frame(title, data)
    right = BAR_W - 30
    for t in ticks:
        y = y_of(t)
        out.append(f'<line x1="{BAR_LEFT}" x2="{right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{BAR_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{t:g}</text>')
    mid = (BAR_TOP + base) / 2
    out.append(
        f'<text x="16" y="{mid}" transform="rotate(-90 16 {mid})" '
        f'text-anchor="middle">{escape(unit)}</text>'
    )
    group_w = (right - BAR_LEFT) / max(len(groups), 1)
    bar_w = min(70, group_w * 0.7 / max(len(peers), 1))
    for gi, (label, g) in enumerate(groups):
        x0 = BAR_LEFT + group_w * gi + (group_w - bar_w * len(peers)) / 2
        for pi, peer in enumerate(peers):
            med, runs = g.get(peer, (None, []))
            if med is None:
                continue
            x, color = x0 + bar_w * pi, COLORS.get(peer, "#333")
            y = y_of(med)
            out.append(
                f'<rect x="{x + 2:.1f}" y="{y:.1f}" width="{bar_w - 4:.1f}" '
                f'height="{base - y:.1f}" fill="{color}" fill-opacity="0.8"/>'
            )
            out.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{y - 5:.1f}" text-anchor="middle" '
                f'font-size="11">{fmt(med)}</text>'
            )
            for v in runs:
                out.append(
                    f'<circle cx="{x + bar_w / 2:.1f}" cy="{y_of(v):.1f}" r="2.5" fill="black" '
                    'fill-opacity="0.5"/>'
                )
        out.append(
            f'<text x="{BAR_LEFT + group_w * (gi + 0.5):.1f}" y="{base + 20}" '
            f'text-anchor="middle">{escape(label)}</text>'
        )
    out.append(f'<line x1="{BAR_LEFT}" x2="{right}" y1="{base}" y2="{base}" stroke="#333"/>')
    for pi, peer in enumerate(peers):
        x = BAR_LEFT + 170 * pi
        out.append(
            f'<rect x="{x}" y="{base + 36}" width="12" height="12" '
            f'fill="{COLORS.get(peer, "#333")}"/>'
        )
        out.append(f'<text x="{x + 18}" y="{base + 47}">{escape(peer)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def series(data, scenario, key):
    """{peer: (median, [runs])} of one figure of one scenario."""
    return {
        p: (
            data["median"].get(p, {}).get(scenario, {}).get(key),
            data["runs"].get(p, {}).get(scenario, {}).get(key, []),
        )
        for p in data.get("peers", data["median"])
    }


def bench(data):
    """The three figures of a compare-bench.sh run: {suffix: svg}."""
    gbps = lambda v: f"{v:.2f}"
    throughput = bars(
        data, "Goodput through the proxy (higher is better)", "Gbit/s",
        [("download", series(data, "download", "goodput_gbps")),
         ("upload", series(data, "upload", "goodput_gbps")),
         ("download, 8 connections", series(data, "download_p8", "goodput_gbps"))],
        gbps,
    )
    connect = bars(
        data, "New connections per second, 8 at a time, 1 KiB each way (higher is better)",
        "connections/s", [("connect", series(data, "connect", "connections_per_s"))],
        lambda v: f"{v:.0f}",
    )
    rate = data.get("rr_rate", 0)
    latency = bars(
        data, f"Request/response latency at {rate:g} requests/s, 64 bytes (lower is better)",
        "microseconds (log scale)",
        [(name, series(data, "rr", key))
         for name, key in (("p50", "p50_us"), ("p99", "p99_us"), ("p99.9", "p999_us"))],
        lambda v: f"{v:.0f}", log=True,
    )
    return {"throughput": throughput, "connect": connect, "latency": latency}


def main(argv):
    if len(argv) != 4 or argv[1] not in ("handover", "bench"):
        sys.exit(__doc__)
    with open(argv[2]) as f:
        data = json.load(f)
    if argv[1] == "handover":
        with open(argv[3], "w") as f:
            f.write(handover(data))
        return
    for suffix, svg in bench(data).items():
        with open(f"{argv[3]}-{suffix}.svg", "w") as f:
            f.write(svg)


if __name__ == "__main__":
    main(sys.argv)
