#!/usr/bin/env python3
"""Block residency and phases of one probed decode step, from the records `qinfer bench` writes
with QINFER_CUDA_PROBE=1 QINFER_CUDA_PROBE_OUT=FILE in a -DQINFER_CUDA_PROBES=ON build (record
layout: tools/probe_summary.py). For each probed kernel of the middle replay, in us:
  start   when its blocks started, relative to the previous probed kernel's last block end
          (negative: resident while that kernel ran), quantiles 0 / 10 / 50 / 90 / 100 %;
  start2  the same relative to the kernel two before's end (the attention's blocks against the
          GEMV before qkv, o's against qkv);
  rel     the release from the PDL wait, relative to the previous kernel's end (median);
  phases  after the release (median / max): the GEMV's x made and its end; the attention's
          keys done, warps merged, end. Stamps 4 and 5 of a GEMV where a measurement build sets
          them: ringfull, the consumers passing the ring's last prefetched stage; ringprod, the
          producer seeing that stage complete (negative: before the release); fill, that
          moment after the block's start (how long the prefetch took).
  o-like  for a GEMV after an attention: the median start of its blocks on multiprocessors
          that held one of that attention's blocks, and on the others.
Then the means over the layers by the kernel's position in the layer (0 = qkv).
--sm-ranks POS: instead, over every step but the first two and the last, each block's finishing
rank among its launch's blocks (0 first, 1 last) for the kernels at position POS of the layer,
averaged by multiprocessor and by block index: which of the two the order follows (blocks move
between multiprocessors from launch to launch), and the slowest and fastest multiprocessors.
Usage: probe_phases.py FILE [--sm-ranks POS]"""
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from probe_summary import load_step, load_steps  # noqa: E402


def quant(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * (len(xs) - 1) + 0.5))]


def sm_ranks(path, pos):
    _, steps = load_steps(path)
    by_sm, by_blk, launches = {}, {}, 0
    for ks in steps[2:-1]:
        for i, g in enumerate(ks):
            if i % 5 != pos:
                continue
            launches += 1
            att = ((g[0][0] >> 56) & 0xff) == 1
            ends = sorted(g, key=lambda r: r[7] if att else r[5])
            for rank, r in enumerate(ends):
                by_sm.setdefault(r[1], []).append(rank / (len(ends) - 1))
                by_blk.setdefault(r[0] & 0xffffffff, []).append(rank / (len(ends) - 1))
    mean = {s_: statistics.mean(v) for s_, v in by_sm.items()}
    spread = lambda d: statistics.pstdev([statistics.mean(v) for v in d.values()])
    print("%d launches at position %d: spread of the mean finishing rank by multiprocessor %.3f, "
          "by block %.3f (independent of both: ~%.3f)" % (
              launches, pos, spread(by_sm), spread(by_blk), 0.289 / max(1, launches) ** 0.5))
    order = sorted(mean, key=lambda s_: mean[s_])
    print("fastest:", " ".join("SM%d %.2f" % (s_, mean[s_]) for s_ in order[:10]))
    print("slowest:", " ".join("SM%d %.2f" % (s_, mean[s_]) for s_ in order[-10:]))


def main():
    if len(sys.argv) > 3 and sys.argv[2] == "--sm-ranks":
        return sm_ranks(sys.argv[1], int(sys.argv[3]))
    n, ks, ns, k = load_step(sys.argv[1])
    us = lambda x: x / 1e3
    med = lambda xs: us(statistics.median(xs)) if xs else float("nan")
    mx = lambda xs: us(max(xs)) if xs else float("nan")
    s = lambda r, j: r[2 + j]
    ends, agg = [], {}
    print("%d records, %d probed launches a step, %d steps; step %d" % (n, len(ks), ns, k))
    for i, g in enumerate(ks):
        att = ((g[0][0] >> 56) & 0xff) == 1
        if att:
            ph = {"keys": [s(r, 2) - s(r, 1) for r in g if s(r, 2)],
                  "merged": [s(r, 3) - s(r, 2) for r in g if s(r, 3) and s(r, 2)],
                  "end": [s(r, 5) - s(r, 1) for r in g if s(r, 5)]}
            end = max(s(r, 5) or s(r, 3) for r in g)
        else:
            ph = {"xmade": [s(r, 2) - s(r, 1) for r in g if s(r, 2)],
                  "ringfull": [s(r, 4) - s(r, 1) for r in g if s(r, 4)],
                  "ringprod": [s(r, 5) - s(r, 1) for r in g if s(r, 5)],
                  "fill": [s(r, 5) - s(r, 0) for r in g if s(r, 5)],
                  "end": [s(r, 3) - s(r, 1) for r in g if s(r, 3)]}
            end = max(s(r, 3) for r in g)
        line = "%3d %-4s %4d" % (i, "attn" if att else "gemv", len(g))
        st = {}
        if ends:
            d = [us(s(r, 0) - ends[-1]) for r in g]
            line += " start %6.2f %6.2f %6.2f %6.2f %6.2f" % tuple(
                quant(d, q) for q in (0, 0.1, 0.5, 0.9, 1))
            st["start"] = statistics.median(d)
            st["start_min"] = min(d)
            st["rel"] = med([s(r, 1) - ends[-1] for r in g])
            line += " rel %5.2f" % st["rel"]
        if len(ends) > 1:
            st["start2"] = statistics.median([us(s(r, 0) - ends[-2]) for r in g])
            line += " start2 %6.2f" % st["start2"]
        line += " | " + " ".join("%s %5.2f/%5.2f" % (n_, med(v), mx(v)) for n_, v in ph.items() if v)
        if not att and i > 0 and ((ks[i - 1][0][0] >> 56) & 0xff) == 1:
            att_sm = {r[1] for r in ks[i - 1]}
            on = [us(s(r, 0) - ends[-1]) for r in g if r[1] in att_sm]
            off = [us(s(r, 0) - ends[-1]) for r in g if r[1] not in att_sm]
            if on and off:
                line += " | o-like start: attn SMs %6.2f (%d), others %6.2f (%d)" % (
                    statistics.median(on), len(on), statistics.median(off), len(off))
                st["start_attn_sm"] = statistics.median(on)
                st["start_other_sm"] = statistics.median(off)
        adv = us(end - ends[-1]) if ends else float("nan")
        line += " | adv %5.2f" % adv
        print(line)
        if ends:
            a = agg.setdefault(i % 5, {})
            a.setdefault("adv", []).append(adv)
            for n_, v in st.items():
                a.setdefault(n_, []).append(v)
            for n_, v in ph.items():
                if v:
                    a.setdefault(n_, []).append(med(v))
        ends.append(end)
    print("\nmeans over the layers by position in the layer (0 = qkv):")
    for p, a in sorted(agg.items()):
        print("  pos %d: " % p + " ".join("%s %6.2f" % (n_, sum(v) / len(v)) for n_, v in a.items()))


if __name__ == "__main__":
    sys.exit(main())
