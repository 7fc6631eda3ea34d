#!/usr/bin/env python3
"""Compares the static activation scales (input_scale) of two `qinfer quantize --scheme fp8`
outputs, e.g. calibrated with --device cpu and --device cuda. Prints the max relative
difference and writes it as JSON.
  python3 tools/gpu_quantize_check.py CPU_DIR CUDA_DIR [--out FILE.json]
"""
import argparse
import glob
import json
import os

from safetensors.torch import load_file


def scales(d):
    out = {}
    for f in sorted(glob.glob(os.path.join(d, "*.safetensors"))):
        for k, v in load_file(f).items():
            if k.endswith("input_scale"):
                out[k] = float(v.float().reshape(-1)[0])
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--out")
    a = ap.parse_args()
    sa, sb = scales(a.a), scales(a.b)
    assert sa and sa.keys() == sb.keys(), "the two checkpoints hold different input_scale tensors"
    worst = max(abs(sa[k] - sb[k]) / abs(sa[k]) for k in sa)
    r = {"a": a.a, "b": a.b, "n_scales": len(sa), "max_rel_diff": worst}
    print(json.dumps(r))
    if a.out:
        json.dump(r, open(a.out, "w"), indent=1)


if __name__ == "__main__":
    main()
