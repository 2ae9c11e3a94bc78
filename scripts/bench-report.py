#!/usr/bin/env python3
"""Turns bench-out/results.json (scripts/bench.py) into a markdown table and docs/benchmarks.svg.

    scripts/bench-report.py bench-out/results.json [--svg docs/benchmarks.svg] [--table FILE] [--doc docs/benchmarks.md]

The table (printed, and written to --table) has one row per audio run and the ratios the issue's
targets are stated in; the SVG plots p50 and p99 added latency against deliveries/s for the paced
runs, WindowRelay beside the C relay (lws-mirror as points). Standard library only.
"""
import argparse
import json
import math
import sys

TARGETS = {"windowrelay": "WindowRelay", "windowrelay-norec": "WindowRelay, recording off",
           "windowrelay-poll": "WindowRelay, poll", "c-relay-libev": "C relay", "c-relay": "C relay, poll",
           "lws-mirror": "lws-mirror"}
COLOURS = {"windowrelay": "#c0392b", "windowrelay-norec": "#e59866", "windowrelay-poll": "#884ea0",
           "c-relay-libev": "#2471a3", "c-relay": "#76b7e5", "lws-mirror": "#7d8c2f"}
# The C relays WindowRelay is divided by: the same event backend first (the like-for-like figure).
REFERENCES = ["c-relay-libev", "c-relay"]


def series(r):
    """The server as run: the label's first part (windowrelay-norec is WindowRelay, recording off)."""
    label = r["run"].get("label") or r["run"]["target"]
    return label.split("/", 1)[0]


def duration(ns):
    """A latency for people: whole µs below 1 ms, then ms with 3 significant digits, then s."""
    us = ns / 1000
    if us < 1000:
        return f"{us:.0f} µs"
    if us < 10_000:
        return f"{us / 1000:.2f} ms"
    if us < 100_000:
        return f"{us / 1000:.1f} ms"
    if us < 1_000_000:
        return f"{us / 1000:.0f} ms"
    return f"{us / 1e6:.2f} s"


def audio_runs(results):
    """The audio runs, by server (in TARGETS order), paced by size, then the flood."""
    order = list(TARGETS)

    def key(r):
        name = series(r)
        return (order.index(name) if name in order else len(order), r["run"]["pace"] == "flood",
                r["run"]["sessions"])

    return sorted((r for r in results["runs"] if "latencyNanos" in r), key=key)


def by_label(results):
    return {r["run"].get("label"): r for r in results["runs"]}


def row(r):
    """The table's cells for one audio run."""
    run, lat, server = r["run"], r["latencyNanos"], r.get("server", {})
    seconds = r.get("measuredSeconds") or 1
    shape = f"{run['sessions']} × {run['parties']}"
    if run["pace"] == "flood":
        shape += f", flood {run['inFlight']} in flight"
    conns = server.get("connections", run.get("connections", 0))
    rss_after = server.get("rssAfterBytes", 0)
    per_conn = (rss_after - server.get("rssBeforeBytes", 0)) / conns / 1024 if conns else 0
    lost = r["lost"]
    lost_cell = "0" if lost == 0 else f"{lost:,} ({100 * lost / max(1, r['expected']):.1f} %)"
    return [
        TARGETS.get(series(r), series(r)), shape, f"{conns:,}",
        f"{r['deliveriesPerSecond']:,.0f}", f"{100 * server.get('cpuShare', 0):.0f} %",
        f"{server.get('microsPerDelivery', 0):.1f}",
        duration(lat["p50"]), duration(lat["p99"]), duration(lat["p999"]), duration(lat["max"]), lost_cell,
        f"{rss_after / 1048576:.1f} MiB ({per_conn:.0f} KiB)",
        f"{100 * r.get('generatorCPUSeconds', 0) / seconds:.0f} %"
        + (f" ({r['lateSends']:,} sends ≥ 5 ms late)" if r.get("lateSends") else ""),
    ]


HEADER = ["server", "sessions × parties", "connections", "deliveries/s", "server CPU", "µs per delivery",
          "p50", "p99", "p99.9", "max", "lost", "server RSS after (per conn.)", "generator CPU"]


def ratios(results):
    """WindowRelay / each C relay: CPU per delivery at each paced size, and the flood ceilings."""
    runs = by_label(results)
    out = {}
    for reference in REFERENCES:
        for label, r in runs.items():
            if not label or not label.startswith("windowrelay/"):
                continue
            name = label.split("/", 1)[1]
            c = runs.get(f"{reference}/{name}")
            if not c or "server" not in r or "server" not in c:
                continue
            if name == "flood":
                out[f"flood ceiling ÷ {TARGETS[reference]}"] = r["deliveriesPerSecond"] / c["deliveriesPerSecond"]
            if c["server"]["microsPerDelivery"] > 0:
                out[f"CPU per delivery, {name}, ÷ {TARGETS[reference]}"] = (
                    r["server"]["microsPerDelivery"] / c["server"]["microsPerDelivery"])
    return out


def runs_table(results):
    """One row per audio run; empty when there are none."""
    found = audio_runs(results)
    if not found:
        return []
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    return lines + ["| " + " | ".join(row(r)) + " |" for r in found]


def ratios_table(results):
    found = ratios(results)
    if not found:
        return []
    return ["| WindowRelay ÷ reference | ratio |", "|---|---|"] + [f"| {n} | {v:.2f} |" for n, v in found.items()]


def extra_table(results):
    """Idle memory and start-up times (`bench.py extra`); empty when there are none."""
    runs = by_label(results)
    extra = []
    if "idle" in runs:
        i = runs["idle"]
        extra.append(f"| idle connections after hello | {i['run']['connections']:,}: "
                     f"{i['rssPerConnectionBytes'] / 1024:.1f} KiB each "
                     f"({i['rssBeforeBytes'] / 1048576:.1f} → {i['rssAfterBytes'] / 1048576:.1f} MiB) |")
    for label, r in runs.items():
        if label and label.startswith("start-"):
            times = ", ".join(f"{t * 1000:.0f}" for t in r["allStartSeconds"])
            extra.append(f"| start to `listening`, {label[6:].replace('-', ' ')} | "
                         f"median {r['startSeconds'] * 1000:.0f} ms (runs: {times} ms) |")
    return ["| measure | result |", "|---|---|"] + extra if extra else []


BLOCKS = {"runs": runs_table, "ratios": ratios_table, "extra": extra_table}


def table(results):
    parts = [block(results) for block in BLOCKS.values()]
    return "\n\n".join("\n".join(p) for p in parts if p) + "\n"


def update_doc(text, results):
    """Replaces each `<!-- bench:NAME -->` … `<!-- /bench:NAME -->` block of a markdown text with
    its table, for the blocks these results have (a `make bench` run leaves the extra block alone)."""
    for name, block in BLOCKS.items():
        lines = block(results)
        begin, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
        if not lines or begin not in text or end not in text:
            continue
        head, rest = text.split(begin, 1)
        text = head + begin + "\n" + "\n".join(lines) + "\n" + end + rest.split(end, 1)[1]
    return text


def svg(results, width=720, height=420):
    """p50 and p99 added latency (log scale) against deliveries/s of the paced runs."""
    paced = [r for r in audio_runs(results) if r["run"]["pace"] == "paced" and r["delivered"] > 0]
    left, right, top, bottom = 70, 170, 30, 50
    w, h = width - left - right, height - top - bottom
    xmax = max([r["deliveriesPerSecond"] for r in paced] + [1])
    xmax = math.ceil(xmax / 10_000) * 10_000
    ys = [r["latencyNanos"][k] / 1e6 for r in paced for k in ("p50", "p99")] or [1]
    lo = 10 ** math.floor(math.log10(max(min(ys), 1e-3)))
    hi = 10 ** math.ceil(math.log10(max(ys)))
    if hi <= lo:
        hi = lo * 10

    def x(v):
        return left + w * v / xmax

    def y(ms):
        return top + h * (1 - (math.log10(max(ms, lo)) - math.log10(lo)) / (math.log10(hi) - math.log10(lo)))

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{left}" y="18" font-size="14">Added latency against load: 2-party Opus sessions, '
           f'server on one core</text>']
    for i in range(6):
        v = xmax * i / 5
        out.append(f'<line x1="{x(v):.1f}" y1="{top}" x2="{x(v):.1f}" y2="{top + h}" stroke="#ddd"/>')
        out.append(f'<text x="{x(v):.1f}" y="{top + h + 16}" text-anchor="middle">{v / 1000:.0f}k</text>')
    decade = lo
    while decade <= hi * 1.0001:
        label = f"{decade:g} ms"
        out.append(f'<line x1="{left}" y1="{y(decade):.1f}" x2="{left + w}" y2="{y(decade):.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{y(decade) + 4:.1f}" text-anchor="end">{label}</text>')
        decade *= 10
    out.append(f'<text x="{left + w / 2}" y="{height - 10}" text-anchor="middle">deliveries/s</text>')
    out.append(f'<text transform="translate(16 {top + h / 2}) rotate(-90)" text-anchor="middle">'
               f'added latency (log)</text>')
    legend = 0
    for target in TARGETS:
        points = sorted((r for r in paced if series(r) == target), key=lambda r: r["deliveriesPerSecond"])
        if not points:
            continue
        for key, dash in (("p50", ""), ("p99", ' stroke-dasharray="5 3"')):
            coords = [(x(r["deliveriesPerSecond"]), y(r["latencyNanos"][key] / 1e6)) for r in points]
            colour = COLOURS[target]
            if len(coords) > 1:
                path = " ".join(f"{px:.1f},{py:.1f}" for px, py in coords)
                out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>')
            for px, py in coords:
                out.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3.5" fill="{colour}"/>')
            ly = top + 10 + 18 * legend
            out.append(f'<line x1="{left + w + 12}" y1="{ly}" x2="{left + w + 36}" y2="{ly}" stroke="{colour}" '
                       f'stroke-width="2"{dash}/>')
            out.append(f'<text x="{left + w + 42}" y="{ly + 4}">{TARGETS[target]} {key}</text>')
            legend += 1
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("results")
    p.add_argument("--svg")
    p.add_argument("--table")
    p.add_argument("--doc", help="markdown file whose <!-- bench:runs|ratios|extra --> blocks get the tables")
    args = p.parse_args()
    with open(args.results) as f:
        results = json.load(f)
    text = table(results)
    sys.stdout.write(text)
    if args.table:
        with open(args.table, "w") as f:
            f.write(text)
    if args.svg:
        with open(args.svg, "w") as f:
            f.write(svg(results))
    if args.doc:
        with open(args.doc) as f:
            doc = f.read()
        with open(args.doc, "w") as f:
            f.write(update_doc(doc, results))


if __name__ == "__main__":
    main()
