#!/usr/bin/env python3
"""Where a whole run's GPU time goes, from a CUPTI kernel trace (tools/cupti_trace CSV).

For a throughput run (`qinfer bench --mode throughput` under the tracer) whose kernels overlap
under programmatic dependent launch, summed durations count each kernel's wait; this sums each
kernel's *advance* instead (its end minus the latest end before it, 0 if it ends earlier), so
the advances add up to the time the GPU was busy, and splits them into the CUDA-graph decode
steps and the eager steps (prefill chunks, mixed batches). Also prints the idle time between
kernels and, per graph, its replays and median replay span.
--grid REGEX splits the kernels whose label matches by their grid's x size (a row count for the
kernels that take a block a row), to time each shape of an element-wise kernel apart.
Usage: tools/cupti_sums.py trace.csv [--top N] [--grid REGEX] [--out sums.json]
"""
import argparse
import collections
import json
import re
import statistics
import sys

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from cupti_timeline import load, short_name  # noqa: E402


def label(name):
    if "cutlass" in name and "device_kernel" in name:  # CUTLASS GEMMs (names come mangled)
        mma = re.search(r"MMA_64x(\d+)x32", name)
        kind = "coop" if "Cooperative" in name else "pingpong" if "Pingpong" in name else ""
        return f"cutlass_gemm_mma64x{mma.group(1) if mma else '?'}_{kind}"
    return short_name(name)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("trace")
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--grid", help="split kernels matching this regex by grid x")
    ap.add_argument("--out")
    a = ap.parse_args()
    grid_re = re.compile(a.grid) if a.grid else None

    def key(r):
        k = label(r["name"])
        return f"{k} [{r['grid_x']}]" if grid_re and grid_re.search(k) else k

    rows = [(r["start"], r["end"], r["graph"], r["node"], key(r)) for r in load(a.trace)]
    if not rows:
        sys.exit(f"{a.trace}: no kernels")
    adv = {k: collections.defaultdict(lambda: [0, 0.0]) for k in (0, 1)}
    last_end, idle, busy = rows[0][0], 0.0, 0.0
    for s, e, g, _, n in rows:
        if s > last_end:
            idle += s - last_end
        d = adv[1 if g else 0][n]
        d[0] += 1
        if e > last_end:
            d[1] += e - max(s, last_end)
            busy += e - max(s, last_end)
            last_end = e
    span = last_end - rows[0][0]
    # graph replays: a replay ends where a node id repeats
    replays = collections.defaultdict(list)
    cur = {}
    for s, e, g, node, _ in rows:
        if not g:
            continue
        c = cur.setdefault(g, {"nodes": set(), "start": s, "end": e})
        if node in c["nodes"]:
            replays[g].append(c["end"] - c["start"])
            c = cur[g] = {"nodes": set(), "start": s, "end": e}
        c["nodes"].add(node)
        c["end"] = max(c["end"], e)
    for g, c in cur.items():
        replays[g].append(c["end"] - c["start"])
    out = {"trace": a.trace, "span_s": span / 1e9, "busy_s": busy / 1e9, "idle_s": idle / 1e9,
           "graphs": {}, "eager": {}, "decode_graphs": {}}
    print(f"span {span / 1e9:.3f} s: GPU busy {busy / 1e9:.3f} s, idle between kernels "
          f"{idle / 1e9:.3f} s")
    for key, title in ((1, "graphs (decode steps)"), (0, "eager (prefill / mixed steps)")):
        d = adv[key]
        total = sum(v[1] for v in d.values())
        print(f"\n{title}: advance {total / 1e9:.3f} s")
        print(f"  {'kernel':<56} {'launches':>9} {'advance ms':>11} {'us each':>8} {'share':>6}")
        for k, v in sorted(d.items(), key=lambda kv: -kv[1][1])[:a.top]:
            print(f"  {k[:56]:<56} {v[0]:>9} {v[1] / 1e6:>11.1f} {v[1] / 1e3 / v[0]:>8.2f} "
                  f"{v[1] / max(total, 1):>6.1%}")
        out["graphs" if key else "eager"] = {k: {"launches": v[0], "advance_ms": v[1] / 1e6}
                                             for k, v in d.items()}
    print(f"\n  {'graph':>6} {'replays':>8} {'median span us':>15} {'sum s':>8}")
    for g, sp in sorted(replays.items(), key=lambda kv: -sum(kv[1])):
        print(f"  {g:>6} {len(sp):>8} {statistics.median(sp) / 1e3:>15.1f} {sum(sp) / 1e9:>8.3f}")
        out["decode_graphs"][str(g)] = {"replays": len(sp), "sum_s": sum(sp) / 1e9,
                                        "median_us": statistics.median(sp) / 1e3}
    if a.out:
        with open(a.out, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
