#!/usr/bin/env python3
"""Which host phase the GPU waits on: the idle gaps of a CUPTI trace against the engine's steps.

Inputs, all on CLOCK_REALTIME nanoseconds (CUPTI's clock on Linux):
  trace.csv  tools/cupti_trace's GPU records (kernels, copies, memsets);
  steps.csv  the engine's step trace (QINFER_STEP_TRACE, src/engine/step_trace.h);
  --api      optionally tools/cupti_trace's runtime API records (QINFER_CUPTI_API).

The serving window runs from the first to the last kernel whose name contains --anchor. Each
idle gap of at least --min-us is placed in the host's timeline: the step and phase the engine
thread was in when the GPU ran dry and when the GPU resumed (landing = waiting for the samples
in flight before scheduling, schedule, launch = queuing the forward, prepare, draw = queuing
the samples and landing the previous step's, apply, emit, loop = between two steps). The gaps
are summed by that pair of phases; the longest are listed with their step's phase times.

  python3 tools/step_gaps.py trace.csv steps.csv [--api api.csv] [--min-us 200] [--out g.json]
"""
import argparse
import bisect
import csv
import gzip
import json
from collections import defaultdict

PHASES = ["landing", "schedule", "launch", "prepare", "draw", "apply", "emit"]
MARKS = ["begin_ns", "landed_ns", "scheduled_ns", "launched_ns", "prepared_ns", "drawn_ns",
         "applied_ns", "emitted_ns"]


def opener(path):
    return gzip.open(path, "rt") if path.endswith(".gz") else open(path)


def gpu_gaps(path, anchor, min_ns):
    recs = []
    with opener(path) as f:
        for r in csv.DictReader(f):
            recs.append((int(r["start_ns"]), int(r["end_ns"]), r["name"]))
    recs.sort()
    anchored = [r for r in recs if anchor in r[2]]
    if not anchored:
        raise SystemExit(f"step_gaps: no kernel named *{anchor}* in {path}")
    w0, w1 = anchored[0][0], anchored[-1][1]
    gaps, busy_end, window_idle = [], None, 0
    for s, e, _ in recs:
        if e < w0 or s > w1:
            continue
        if busy_end is not None and s > busy_end:
            window_idle += s - busy_end
            if s - busy_end >= min_ns:
                gaps.append((busy_end, s))
        busy_end = e if busy_end is None else max(busy_end, e)
    return gaps, w0, w1, window_idle


def load_steps(path):
    with opener(path) as f:
        rows = list(csv.DictReader(f))
    steps = []
    for r in rows:
        t = [int(r[m]) for m in MARKS]
        steps.append({"step": int(r["step"]), "t": t, "n_seq": int(r["n_seq"]),
                      "n_tok": int(r["n_tok"]), "land_first": int(r["land_first"]),
                      "preempted": int(r["preempted"])})
    return steps


def where(steps, begins, t):
    """(step index, phase name) of the engine thread at time t."""
    i = bisect.bisect_right(begins, t) - 1
    if i < 0:
        return None, "before"
    st = steps[i]["t"]
    for p in range(len(PHASES)):
        if st[p] <= t < st[p + 1]:
            return i, PHASES[p]
    return i, "loop"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("trace")
    ap.add_argument("steps")
    ap.add_argument("--api")
    ap.add_argument("--anchor", default="decode_tc_kernel")
    ap.add_argument("--min-us", type=float, default=200.0)
    ap.add_argument("--top", type=int, default=20)
    ap.add_argument("--out")
    a = ap.parse_args()

    gaps, w0, w1, idle = gpu_gaps(a.trace, a.anchor, int(a.min_us * 1000))
    steps = load_steps(a.steps)
    begins = [s["t"][0] for s in steps]
    api = []
    if a.api:
        with opener(a.api) as f:
            api = sorted((int(r["start_ns"]), int(r["end_ns"]), r["name"])
                         for r in csv.DictReader(f))
    api_starts = [x[0] for x in api]

    in_window = [s for s in steps if w0 <= s["t"][0] <= w1]
    gap_sum = sum(g1 - g0 for g0, g1 in gaps)
    print(f"window {(w1 - w0) / 1e9:.3f} s, GPU idle {idle / 1e9:.3f} s; {len(in_window)} steps "
          f"in it; {len(gaps)} gaps >= {a.min_us:.0f} us summing {gap_sum / 1e9:.3f} s")

    # Phase times of the window's steps, by kind (land_first / not; 0 = idle step).
    print("\nhost phase means (ms) of the window's steps")
    print(f"{'steps':<28}{'count':>7}" + "".join(f"{p:>10}" for p in PHASES) + f"{'loop':>10}")
    kinds = defaultdict(list)
    for i, s in enumerate(steps):
        if not (w0 <= s["t"][0] <= w1):
            continue
        kind = f"n_tok {'>' if s['n_tok'] > s['n_seq'] else '='} n_seq"
        if s["land_first"]:
            kind += ", landed first"
        loop = (steps[i + 1]["t"][0] - s["t"][-1]) if i + 1 < len(steps) else 0
        kinds[kind].append([s["t"][p + 1] - s["t"][p] for p in range(len(PHASES))] + [loop])
    table = {}
    for kind, rows in sorted(kinds.items()):
        means = [sum(r[c] for r in rows) / len(rows) / 1e6 for c in range(len(PHASES) + 1)]
        table[kind] = {"count": len(rows), "mean_ms": dict(zip(PHASES + ["loop"], means))}
        print(f"{kind:<28}{len(rows):>7}" + "".join(f"{m:>10.3f}" for m in means))

    pairs = defaultdict(lambda: [0, 0])
    listed = []
    for g0, g1 in gaps:
        i0, p0 = where(steps, begins, g0)
        i1, p1 = where(steps, begins, g1)
        key = f"{p0} -> {p1}" + ("" if i0 == i1 else " (next step)")
        pairs[key][0] += 1
        pairs[key][1] += g1 - g0
        rec = {"gap_ms": (g1 - g0) / 1e6, "at_s": (g0 - w0) / 1e9, "from": p0, "to": p1}
        if i1 is not None:
            s = steps[i1]
            rec.update(step=s["step"], n_seq=s["n_seq"], n_tok=s["n_tok"],
                       land_first=s["land_first"], preempted=s["preempted"],
                       phase_ms={PHASES[p]: (s["t"][p + 1] - s["t"][p]) / 1e6
                                 for p in range(len(PHASES))})
        if api:
            j = bisect.bisect_right(api_starts, g0) - 1
            rec["api_at_start"] = api[j][2] if j >= 0 and api[j][1] >= g0 else None
            rec["api_before_start"] = api[j][2] if j >= 0 else None
            # The first call after the GPU ran dry that queues work (a launch, copy or set).
            k = bisect.bisect_left(api_starts, g0)
            while k < len(api) and not any(w in api[k][2] for w in ("Launch", "Memcpy", "Memset")):
                k += 1
            rec["api_next_submit"] = api[k][2] if k < len(api) else None
            rec["api_next_submit_us"] = (api[k][0] - g0) / 1e3 if k < len(api) else None
        listed.append(rec)

    print(f"\ngaps >= {a.min_us:.0f} us by the engine's phase when the GPU ran dry -> resumed")
    print(f"{'phases':<40}{'count':>7}{'sum ms':>10}{'mean ms':>10}")
    for key, (n, ns) in sorted(pairs.items(), key=lambda kv: -kv[1][1]):
        print(f"{key:<40}{n:>7}{ns / 1e6:>10.1f}{ns / 1e6 / n:>10.3f}")

    listed.sort(key=lambda r: -r["gap_ms"])
    print(f"\nthe {min(a.top, len(listed))} longest")
    for r in listed[: a.top]:
        ph = " ".join(f"{k} {v:.2f}" for k, v in r.get("phase_ms", {}).items())
        extra = ""
        if api:
            nxt = r["api_next_submit_us"]
            extra = (f" | api: in {r['api_at_start']}, last {r['api_before_start']}, next submit "
                     f"{r['api_next_submit']}" + (f" (+{nxt:.0f} us)" if nxt is not None else ""))
        print(f"{r['gap_ms']:7.2f} ms at {r['at_s']:7.3f} s  {r['from']} -> {r['to']}  "
              f"step {r.get('step')} n_seq {r.get('n_seq')} n_tok {r.get('n_tok')} "
              f"land_first {r.get('land_first')}  [{ph}]{extra}")

    if a.out:
        with open(a.out, "w") as f:
            json.dump({"window_s": (w1 - w0) / 1e9, "idle_s": idle / 1e9, "min_us": a.min_us,
                       "steps": table,
                       "pairs": [{"phases": k, "count": n, "sum_ms": ns / 1e6}
                                 for k, (n, ns) in sorted(pairs.items(), key=lambda kv: -kv[1][1])],
                       "longest": listed[: a.top]}, f, indent=1)


if __name__ == "__main__":
    main()
