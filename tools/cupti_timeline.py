#!/usr/bin/env python3
"""Per-kernel tables from a CUPTI kernel trace (tools/cupti_trace: start_ns,end_ns,graph_id,...).

The replays of the most frequent CUDA graph are the steps (decode steps of `qinfer bench`),
together with those of its siblings (graphs of the same kernel sequence: the runner keeps two
a batch bucket and replays them in turn), in time order. For
each kernel position of a step it prints the median over steps of:
  dur      end - start (under programmatic dependent launch a kernel starts before its
           predecessor ends, so this includes its wait),
  gap      start - the previous kernel's end (negative: it started early),
  advance  end - the latest end before it: how far this kernel moves the step's end, so the
           advances of a step add up to the step's GPU time.
Then the same summed per kernel name and the step's totals, and what runs between two replays
(kernels outside the graph, memory copies and memsets where the trace has them): for each, its
start and end after the previous replay's last end, medians over the steps. Writes it all as JSON.
Usage: tools/cupti_timeline.py trace.csv [--out t.json] [--graph ID] [--positions]
"""
import argparse
import bisect
import collections
import csv
import json
import re
import statistics
import sys


def short_name(name):
    base = name.replace("(anonymous namespace)", "anon").split("(")[0]
    depth, out = 0, []
    for ch in base:  # drop template arguments
        if ch == "<":
            depth += 1
        elif ch == ">":
            depth -= 1
        elif depth == 0:
            out.append(ch)
    base = "".join(out).strip()
    base = re.sub(r"^(void|auto)\s+", "", base)
    if name.startswith(("memcpy ", "memset ")):
        return name
    return base.split("::")[-1] or name[:40]


def load(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        r["start"] = int(r["start_ns"])
        r["end"] = int(r["end_ns"])
        r["graph"] = int(r["graph_id"])
        r["node"] = int(r["graph_node"])
        r["short"] = short_name(r["name"])
    rows.sort(key=lambda r: r["start"])
    return rows


def split_steps(rows, graph):
    """Replays of one graph: a step ends where a node id repeats."""
    steps, cur, seen = [], [], set()
    for r in rows:
        if r["graph"] != graph:
            continue
        if r["node"] in seen:
            steps.append(cur)
            cur, seen = [], set()
        cur.append(r)
        seen.add(r["node"])
    if cur:
        steps.append(cur)
    n = collections.Counter(len(s) for s in steps).most_common(1)[0][0]
    return [s for s in steps if len(s) == n]


def analyse(steps):
    per_pos = []
    for i in range(len(steps[0])):
        durs, gaps, advs = [], [], []
        for s in steps:
            r = s[i]
            prev_end = max((q["end"] for q in s[:i]), default=r["start"])
            last_end = s[i - 1]["end"] if i else r["start"]
            durs.append(r["end"] - r["start"])
            gaps.append(r["start"] - last_end)
            advs.append(max(0, r["end"] - prev_end))
        r0 = steps[0][i]
        per_pos.append({"pos": i, "kernel": r0["short"], "grid": int(r0["grid_x"]),
                        "block": int(r0["block_x"]), "dur_us": statistics.median(durs) / 1e3,
                        "gap_us": statistics.median(gaps) / 1e3,
                        "advance_us": statistics.median(advs) / 1e3})
    by_name = collections.OrderedDict()
    for p in per_pos:
        e = by_name.setdefault(p["kernel"], {"kernel": p["kernel"], "count": 0, "dur_us": 0.0,
                                             "advance_us": 0.0})
        e["count"] += 1
        e["dur_us"] += p["dur_us"]
        e["advance_us"] += p["advance_us"]
    spans = [s[-1]["end"] - s[0]["start"] for s in steps]
    gpu = [max(r["end"] for r in s) - s[0]["start"] for s in steps]
    between = [b[0]["start"] - max(r["end"] for r in a) for a, b in zip(steps, steps[1:])]
    return per_pos, list(by_name.values()), {
        "steps": len(steps), "kernels_per_step": len(steps[0]),
        "step_gpu_us": statistics.median(gpu) / 1e3, "step_span_us": statistics.median(spans) / 1e3,
        "between_steps_us": statistics.median(between) / 1e3 if between else 0.0}


def between_steps(rows, steps):
    """What runs between consecutive replays: (name, start, end) after the replay's last end,
    medians over the gaps that hold the most common sequence of names."""
    outside = [r for r in rows if r["graph"] == 0]  # sorted by start, as load() leaves rows
    starts = [r["start"] for r in outside]
    gaps = []  # (the replay's last end, what starts from 2 us before it to the next replay)
    for a, b in zip(steps, steps[1:]):
        t0 = max(r["end"] for r in a)
        q = outside[bisect.bisect_left(starts, t0 - 2000):bisect.bisect_left(starts, b[0]["start"])]
        gaps.append((t0, q, tuple(r["short"] for r in q)))
    if not gaps:
        return []
    names = collections.Counter(g[2] for g in gaps).most_common(1)[0][0]
    same = [(t0, q) for t0, q, n in gaps if n == names]
    return [{"name": n, "start_us": statistics.median(q[i]["start"] - t0 for t0, q in same) / 1e3,
             "end_us": statistics.median(q[i]["end"] - t0 for t0, q in same) / 1e3}
            for i, n in enumerate(names)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("trace")
    ap.add_argument("--out")
    ap.add_argument("--graph", type=int, help="graph id (default: the most frequent)")
    ap.add_argument("--positions", action="store_true", help="print every kernel position")
    a = ap.parse_args()
    rows = load(a.trace)
    counts = collections.Counter(r["graph"] for r in rows if r["graph"] != 0)
    if not counts:
        sys.exit(f"{a.trace}: no kernels from CUDA graphs")
    graph = a.graph if a.graph is not None else counts.most_common(1)[0][0]
    steps = split_steps(rows, graph)
    graphs = [graph]
    if a.graph is None:  # the siblings' replays too
        sig = tuple(r["short"] for r in steps[0])
        for g in counts:
            if g == graph:
                continue
            more = split_steps(rows, g)
            if more and tuple(r["short"] for r in more[0]) == sig:
                steps += more
                graphs.append(g)
        steps.sort(key=lambda s: s[0]["start"])
    per_pos, by_name, tot = analyse(steps)
    print(f"graph {'+'.join(map(str, graphs))}: {tot['steps']} steps of "
          f"{tot['kernels_per_step']} kernels; step on the GPU {tot['step_gpu_us']:.1f} us "
          f"(median), {tot['between_steps_us']:.1f} us between steps")
    if a.positions:
        print(f"{'pos':>4} {'kernel':<36} {'grid':>6} {'dur us':>8} {'gap us':>8} {'adv us':>8}")
        for p in per_pos:
            print(f"{p['pos']:>4} {p['kernel'][:36]:<36} {p['grid']:>6} {p['dur_us']:>8.2f} "
                  f"{p['gap_us']:>8.2f} {p['advance_us']:>8.2f}")
    btw = between_steps(rows, steps)
    if btw:
        print("between steps (us after the replay's last end):")
        for e in btw:
            print(f"  {e['name'][:40]:<40} {e['start_us']:>8.2f} .. {e['end_us']:>8.2f}")
    print(f"{'kernel':<40} {'n':>4} {'dur us':>9} {'adv us':>9} {'adv/each':>9} {'share':>6}")
    total_adv = sum(e["advance_us"] for e in by_name) or 1.0
    for e in sorted(by_name, key=lambda e: -e["advance_us"]):
        print(f"{e['kernel'][:40]:<40} {e['count']:>4} {e['dur_us']:>9.1f} {e['advance_us']:>9.1f} "
              f"{e['advance_us'] / e['count']:>9.2f} {e['advance_us'] / total_adv:>6.1%}")
    if a.out:
        with open(a.out, "w") as f:
            json.dump({"trace": a.trace, "graph": graphs, "totals": tot, "by_kernel": by_name,
                       "between_steps": btw,
                       "positions": per_pos}, f, indent=1)


if __name__ == "__main__":
    main()
