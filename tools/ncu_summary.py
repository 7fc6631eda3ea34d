#!/usr/bin/env python3
"""Sums Nsight Compute per-kernel durations (an `ncu --csv --metrics gpu__time_duration.sum`
report, as tools/gpu_run_all.sh step p writes) by kernel, in launch order of first appearance,
and prints a table (and JSON with --json): count, total and mean microseconds, share.
  tools/ncu_summary.py ncu_prefill.csv [--json out.json] [--first N]
"""
import argparse
import csv
import io
import json
import re
import sys

UNIT_US = {"ns": 1e-3, "nsecond": 1e-3, "us": 1.0, "usecond": 1.0, "ms": 1e3, "msecond": 1e3,
           "s": 1e6, "second": 1e6}


def short(name):
    name = re.sub(r"\(.*", "", name)  # drop the argument list
    name = re.sub(r"qinfer::|ops::cuda::|<unnamed>::|\(anonymous namespace\)::", "", name)
    return name[:90]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("csv")
    ap.add_argument("--json")
    ap.add_argument("--first", type=int, default=0, help="only the first N kernels")
    a = ap.parse_args()
    text = open(a.csv, errors="replace").read()
    start = text.find('"ID"')
    if start < 0:
        sys.exit(f"{a.csv}: no ncu CSV header found")
    rows = list(csv.DictReader(io.StringIO(text[start:])))
    rows = [r for r in rows if r.get("Metric Name") == "gpu__time_duration.sum"]
    if a.first:
        rows = rows[: a.first]
    agg = {}
    for r in rows:
        us = float(r["Metric Value"].replace(",", "")) * UNIT_US.get(r["Metric Unit"], 1.0)
        k = short(r["Kernel Name"])
        c = agg.setdefault(k, [0, 0.0])
        c[0] += 1
        c[1] += us
    total = sum(v[1] for v in agg.values())
    print(f"{len(rows)} kernels, {total / 1e3:.3f} ms of kernel time")
    print(f"{'kernel':92} {'n':>5} {'total us':>10} {'mean us':>9} {'share':>6}")
    for k, (n, us) in sorted(agg.items(), key=lambda kv: -kv[1][1]):
        print(f"{k:92} {n:5d} {us:10.1f} {us / n:9.2f} {us / total:6.1%}")
    if a.json:
        json.dump({"kernels": len(rows), "total_us": total,
                   "by_kernel": {k: {"n": n, "total_us": us} for k, (n, us) in agg.items()}},
                  open(a.json, "w"), indent=1)


if __name__ == "__main__":
    main()
