#!/usr/bin/env python3
"""Summarizes the block timelines that `qinfer bench` writes with QINFER_CUDA_PROBE=1 and
QINFER_CUDA_PROBE_OUT=FILE in a build configured with -DQINFER_CUDA_PROBES=ON
(src/ops/cuda/probe.cuh): records of 8 little-endian u64, launch << 32
| block, multiprocessor, then six %globaltimer stamps (ns, 0 where unset): start, after the PDL
wait, then the kernel's own: the GEMV its prologue done (x made) and its end; the attention its
keys done, its warps merged, its cluster barrier passed, its end.

Records of one captured graph node share a launch number; each replay of the graph adds one
record a block. The summary takes one replay (a step) in the middle and prints, for each
probed kernel in time order: its kind, blocks, when its blocks were released from their wait
relative to the previous probed kernel's last block end (release: first / median / last), its
blocks' time from release to midpoint and to end (median, max), and its advance (last end
minus the previous one's).

Usage: tools/probe_summary.py FILE [--step K]
"""
import argparse
import statistics
import struct
import sys

KINDS = {1: "attention"}


def kind_name(k):
    if k in KINDS:
        return KINDS[k]
    if k >= 16:
        base = k & 31
        xm = (base - 16) // 2
        rope = (base - 16) % 2
        name = ["gemv x global", "gemv x copied", "gemv norm", "gemv from silu"][xm]
        if rope:
            name += " +rope"
        if k & 32:
            name += " silu pair"
        if k & 64:
            name += " +=y"
        return name
    return "kind %d" % k


def load_steps(path):
    """The records of FILE (8-tuples: launch << 32 | block, multiprocessor, six stamps), and for
    every replay (step) of the graph the probed kernels in time order, each a list of its
    blocks' records: (records, [kernels of step 0, 1, ...])."""
    data = open(path, "rb").read()
    n = len(data) // 64
    recs = [struct.unpack_from("<8Q", data, 64 * i) for i in range(n)]
    by_launch = {}
    for r in recs:
        if r[2] == 0:
            continue
        by_launch.setdefault(r[0] >> 32, []).append(r)
    # Split each launch's records into replays: a gap of 50 us between block starts.
    replays = {}
    for lid, rs in by_launch.items():
        rs.sort(key=lambda r: r[2])
        groups, cur = [], [rs[0]]
        for r in rs[1:]:
            if r[2] - cur[-1][2] > 50_000:
                groups.append(cur)
                cur = []
            cur.append(r)
        groups.append(cur)
        replays[lid] = groups
    # Steps: the replays of the first launch (in time) of the graph.
    counts = {}
    for lid, g in replays.items():
        counts[len(g)] = counts.get(len(g), 0) + 1
    n_steps = max(counts, key=lambda c: (counts[c], c))
    lids = [lid for lid, g in replays.items() if len(g) == n_steps]
    steps = [sorted((replays[lid][k] for lid in lids), key=lambda g: min(r[2] for r in g))
             for k in range(n_steps)]
    return n, steps


def load_step(path, step=-1):
    """load_steps' one replay (step; -1: the middle): (records, kernels, steps, step)."""
    n, steps = load_steps(path)
    k = step if step >= 0 else len(steps) // 2
    return n, steps[k], len(steps), k


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--step", type=int, default=-1, help="which replay (default: the middle)")
    a = ap.parse_args()
    n, kernels, n_steps, k = load_step(a.file, a.step)
    # The end stamp: the last one set.
    kernels = [[r[:4] + (r[4], max(r[4:])) + r[4:] for r in g] for g in kernels]
    print("%d records, %d probed launches a step, %d steps; step %d"
          % (n, len(kernels), n_steps, k))
    print("%3s %-28s %6s %8s %8s %8s %8s %8s %8s %8s %8s" % (
        "#", "kernel", "blocks", "rel0", "relmed", "rellast", "mid med", "end med", "end max",
        "postwait", "advance"))
    prev_end = None
    tot = {}
    for i, g in enumerate(kernels):
        kind = kind_name((g[0][0] >> 56) & 0xff)
        starts = [r[2] for r in g]
        waits = sorted(r[3] for r in g)
        mids = [r[4] - r[3] for r in g]
        ends = [r[5] - r[3] for r in g]
        last_end = max(r[5] for r in g)
        ref = prev_end if prev_end is not None else min(starts)
        rel = [w - ref for w in waits]
        adv = last_end - ref
        print("%3d %-28s %6d %8.2f %8.2f %8.2f %8.2f %8.2f %8.2f %8.2f %8.2f" % (
            i, kind, len(g), rel[0] / 1e3, statistics.median(rel) / 1e3, rel[-1] / 1e3,
            statistics.median(mids) / 1e3, statistics.median(ends) / 1e3, max(ends) / 1e3,
            (last_end - waits[0]) / 1e3, adv / 1e3))
        t = tot.setdefault(kind, [0, 0.0, 0.0, 0.0])
        t[0] += 1
        t[1] += rel[0] / 1e3
        t[2] += (last_end - waits[0]) / 1e3
        t[3] += adv / 1e3
        prev_end = last_end
    print("\nper kind: count, mean first release after the previous end, mean post-wait span, "
          "mean advance (us)")
    for kind, t in tot.items():
        print("  %-28s %4d %8.2f %8.2f %8.2f" % (kind, t[0], t[1] / t[0], t[2] / t[0], t[3] / t[0]))


if __name__ == "__main__":
    sys.exit(main())
