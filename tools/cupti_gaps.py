#!/usr/bin/env python3
"""Where the GPU sits idle in a CUPTI trace (tools/cupti_trace CSV).

Takes the window from the first to the last launch of a kernel whose name contains --anchor
(default decode_tc_kernel: the serving phase, past the weight upload), merges the records'
[start, end) intervals (programmatic dependent launch overlaps neighbours) and reports the busy
and idle time of the window, a histogram of the idle gaps, and the gaps summed by the pair of
records around them (the record that ended last before the gap -> the one that starts it).

  python3 tools/cupti_gaps.py trace.csv [--anchor NAME] [--top 25] [--out gaps.json]
"""
import argparse
import csv
import gzip
import json
from collections import defaultdict


def short(name):
    """The kernel's name without its namespace noise and parameter list, at most 60 chars."""
    name = name.replace("(anonymous namespace)::", "").replace("qinfer::ops::cuda::", "")
    if name.startswith("void "):
        name = name[5:]
    if name.endswith(")"):  # drop the trailing "(params)"
        depth = 0
        for i in range(len(name) - 1, -1, -1):
            depth += {")": 1, "(": -1}.get(name[i], 0)
            if depth == 0:
                name = name[:i]
                break
    return name if len(name) <= 60 else name[:57] + "..."


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("trace")
    ap.add_argument("--anchor", default="decode_tc_kernel")
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--out")
    a = ap.parse_args()
    opener = gzip.open if a.trace.endswith(".gz") else open
    recs = []
    with opener(a.trace, "rt") as f:
        for r in csv.DictReader(f):
            recs.append((int(r["start_ns"]), int(r["end_ns"]), short(r["name"])))
    recs.sort()
    anchors = [r for r in recs if a.anchor in r[2]]
    if not anchors:
        raise SystemExit(f"cupti_gaps: no record named like {a.anchor!r} in {a.trace}")
    lo, hi = anchors[0][0], max(r[1] for r in anchors)
    win = [r for r in recs if r[0] >= lo and r[0] < hi]
    busy = 0
    gaps = []  # (gap ns, name before, name after)
    cur_s, cur_e, cur_last = win[0][0], win[0][1], win[0][2]
    for s, e, n in win[1:]:
        if s > cur_e:
            busy += cur_e - cur_s
            gaps.append((s - cur_e, cur_last, n))
            cur_s, cur_e, cur_last = s, e, n
        elif e >= cur_e:
            cur_e, cur_last = e, n
    busy += cur_e - cur_s
    span = hi - lo
    idle = sum(g for g, _, _ in gaps)
    print(f"window {span / 1e9:.3f} s (first to last {a.anchor}): busy {busy / 1e9:.3f} s, "
          f"idle {idle / 1e9:.3f} s ({100.0 * idle / span:.2f} %), {len(gaps)} gaps")
    edges = [0, 1e3, 2e3, 5e3, 10e3, 50e3, 100e3, 1e6, float("inf")]
    hist = []
    print(f"\n{'gap':>16} {'count':>9} {'sum ms':>10}")
    for i in range(len(edges) - 1):
        sel = [g for g, _, _ in gaps if edges[i] <= g < edges[i + 1]]
        label = f"{edges[i] / 1e3:g}-{edges[i + 1] / 1e3:g} us"
        print(f"{label:>16} {len(sel):>9} {sum(sel) / 1e6:>10.1f}")
        hist.append({"from_us": edges[i] / 1e3, "to_us": edges[i + 1] / 1e3, "count": len(sel),
                     "sum_ms": sum(sel) / 1e6})
    pairs = defaultdict(lambda: [0, 0])
    for g, b, n in gaps:
        pairs[(b, n)][0] += 1
        pairs[(b, n)][1] += g
    top = sorted(pairs.items(), key=lambda kv: -kv[1][1])[: a.top]
    print(f"\n{'sum ms':>9} {'count':>7} {'us each':>8}  before -> after")
    rows = []
    for (b, n), (c, t) in top:
        print(f"{t / 1e6:>9.1f} {c:>7} {t / c / 1e3:>8.2f}  {b} -> {n}")
        rows.append({"before": b, "after": n, "count": c, "sum_ms": t / 1e6})
    if a.out:
        with open(a.out, "w") as f:
            json.dump({"window_s": span / 1e9, "busy_s": busy / 1e9, "idle_s": idle / 1e9,
                       "gaps": len(gaps), "histogram": hist, "pairs": rows}, f, indent=1)


if __name__ == "__main__":
    main()
