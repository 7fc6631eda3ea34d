#!/usr/bin/env python3
"""Summarises a decode_persistent phase trace (QINFER_CUDA_PERSIST_TRACE=FILE, one launch).

Per layer, stamps are taken relative to the layer's start (the earliest block starting its QKV
phase); the table gives, for each stamp, the mean and the latest block over the layers after
the first (the first includes the ring's fill), so the latest-block column is the phase's
critical path: e.g. "o starts" late = the attention and its merge.
"""
import csv
import sys

NAMES = ["qkv starts", "qkv done", "attention done", "o starts", "o done", "gate_up starts",
         "gate_up done", "down starts", "down done", "item: wait done", "item: P V done",
         "item: records stored", "item: arrival counted", "merge done"]


def main(path):
    rows = list(csv.reader(open(path)))[1:]
    by_layer = {}
    for r in rows:
        blk, layer = int(r[0]), int(r[1])
        st = [int(x) for x in r[2:]]
        if st[0] == 0:
            continue
        by_layer.setdefault(layer, []).append(st)
    layers = sorted(by_layer)
    k = min(len(NAMES), len(rows[0]) - 2)  # traces before the items' stamps have 9
    mean = [0.0] * k
    late = [0.0] * k
    used = layers[1:] if len(layers) > 1 else layers
    for l in used:
        blocks = by_layer[l]
        t0 = min(b[0] for b in blocks)
        for i in range(k):
            vals = [b[i] - t0 for b in blocks if b[i] > 0]
            if vals:
                mean[i] += sum(vals) / len(vals) / len(used) / 1000.0
                late[i] += max(vals) / len(used) / 1000.0
    first = min(b[0] for b in by_layer[layers[0]])
    last = max(b[8] for b in by_layer[layers[-1]])
    print(f"{len(layers)} layers, {len(by_layer[layers[0]])} blocks; span {(last - first) / 1000:.1f} us,"
          f" {(last - first) / 1000 / len(layers):.2f} us a layer")
    print(f"{'stamp (us from the layer start)':34s} {'mean':>8s} {'latest':>8s}")
    for i in range(k):
        print(f"{NAMES[i]:34s} {mean[i]:8.2f} {late[i]:8.2f}")


if __name__ == "__main__":
    main(sys.argv[1])
