"""Perplexity of SmolLM2-135M-Instruct on data/heldout.txt three ways, same tokens, windows and
stride (transformers' sliding-window recipe, https://huggingface.co/docs/transformers/perplexity):

  1. qinfer perplexity on the GGUF (Q4_1 weights dequantized to F32 at load),
  2. qinfer perplexity on the checkpoint `qinfer convert` wrote from it (F32 safetensors),
  3. transformers LlamaForCausalLM, float32 on the CPU, on that converted checkpoint.

Needs torch (run here, not in CI). Writes bench/results/smollm2_ppl.json with the commands.

    python3 tools/gguf_smollm2_ppl.py --qinfer build/apps/qinfer \
        --gguf ~/.local/share/qinfer/models/SmolLM2-135M-Instruct.Q4_1.gguf --converted /tmp/smollm2-hf
"""

import argparse
import json
import math
import platform
import subprocess
import time

import torch
from tokenizers import Tokenizer
from transformers import AutoModelForCausalLM


def qinfer_ppl(binary, model, text, context, stride, tokenizer=None):
    cmd = [binary, "perplexity", "--model", model, "--file", text, "--context", str(context),
           "--stride", str(stride), "--json"]
    if tokenizer:
        cmd += ["--tokenizer", tokenizer]
    t = time.time()
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    r = json.loads(out.strip().splitlines()[-1])
    r["seconds"] = round(time.time() - t, 1)
    r["command"] = " ".join(cmd)
    return r


@torch.no_grad()
def transformers_ppl(converted, ids, context, stride):
    model = AutoModelForCausalLM.from_pretrained(converted, dtype=torch.float32).eval()
    ids = torch.tensor([ids])
    n = ids.size(1)
    nll_sum, n_tokens, prev_end, windows = 0.0, 0, 0, 0
    t = time.time()
    for begin in range(0, n, stride):
        end = min(begin + context, n)
        trg_len = end - prev_end
        x = ids[:, begin:end]
        target = x.clone()
        target[:, :-trg_len] = -100
        loss = model(x, labels=target).loss
        valid = int((target != -100).sum()) - 1  # the loss shifts labels by one
        nll_sum += float(loss) * valid
        n_tokens += valid
        windows += 1
        prev_end = end
        if end == n:
            break
    return {"ppl": math.exp(nll_sum / n_tokens), "mean_nll": nll_sum / n_tokens, "n_tokens": n_tokens,
            "n_windows": windows, "context": context, "stride": stride,
            "seconds": round(time.time() - t, 1), "torch": torch.__version__}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qinfer", required=True)
    ap.add_argument("--gguf", required=True)
    ap.add_argument("--converted", required=True)
    ap.add_argument("--text", default="data/heldout.txt")
    ap.add_argument("--tokenizer", default=None, help="tokenizer dir for qinfer (optional)")
    ap.add_argument("--context", type=int, default=1024)
    ap.add_argument("--stride", type=int, default=512)
    ap.add_argument("--out", default="bench/results/smollm2_ppl.json")
    args = ap.parse_args()

    text = open(args.text).read()
    ids = Tokenizer.from_file(f"{args.converted}/tokenizer.json").encode(text).ids
    res = {
        "text": args.text,
        "text_provenance": "KJV Genesis 37-45 via Debian bible-kjv 4.38 (tools/gguf_make_heldout.py)",
        "n_input_ids": len(ids),
        "cpu": platform.processor() or platform.machine(),
        "qinfer_gguf": qinfer_ppl(args.qinfer, args.gguf, args.text, args.context, args.stride, args.tokenizer),
        "qinfer_converted": qinfer_ppl(args.qinfer, args.converted, args.text, args.context, args.stride,
                                       args.tokenizer),
        "transformers_fp32_converted": transformers_ppl(args.converted, ids, args.context, args.stride),
        "command": "python3 tools/gguf_smollm2_ppl.py " + " ".join(
            f"--{k} {v}" for k, v in vars(args).items() if v is not None),
    }
    ref = res["transformers_fp32_converted"]["ppl"]
    for k in ("qinfer_gguf", "qinfer_converted"):
        res[k]["rel_diff_vs_transformers"] = abs(res[k]["ppl"] - ref) / ref
    with open(args.out, "w") as f:
        json.dump(res, f, indent=2)
    print(f"{'run':32s} {'ppl':>10s} {'tokens':>7s} {'windows':>7s} {'rel.diff':>9s}")
    for k in ("qinfer_gguf", "qinfer_converted", "transformers_fp32_converted"):
        r = res[k]
        print(f"{k:32s} {r['ppl']:10.5f} {r['n_tokens']:7d} {r['n_windows']:7d} "
              f"{r.get('rel_diff_vs_transformers', 0.0):9.2e}")


if __name__ == "__main__":
    main()
