#!/usr/bin/env python3
"""Tokenizer throughput: qinfer (bench/tokenizer_bench.cc) vs the PyPI `tokenizers` package,
measured in the same run, single thread, one encode call per string.

Inputs: the multilingual corpus of tests/tokenizer/data/corpus.json and ~1 MB of English made
deterministically by shuffling the sentences of the paragraphs below (seed 0), cut into
~2 KB documents. Also times the Llama 3.1 chat template for a 10-message conversation.

Usage: RAYON_NUM_THREADS=1 python3 bench/tokenizer_bench.py [--build build] [--seconds 2]
Prints a table and writes bench/results/tokenizer_<host>.json.
"""
import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("RAYON_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
from tokenizers import Tokenizer  # noqa: E402  (after the thread settings)

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
MODELS = os.path.join(ROOT, "..", "shared", "models")

PARAGRAPHS = [
    "Large language models are trained to predict the next token of a text. During inference, the "
    "prompt is processed in one pass, and then tokens are generated one at a time. Each new token "
    "attends to every previous one through the key-value cache, which grows with the context.",
    "Quantization reduces the memory needed for the weights. With eight-bit floating point, each "
    "weight takes one byte instead of two, and a per-channel scale keeps the error small. Four-bit "
    "integer formats halve that again, at the price of a calibration step such as GPTQ.",
    "The scheduler decides which requests run in each step. Continuous batching admits new "
    "requests as soon as others finish, so the GPU stays busy. Paged memory for the cache avoids "
    "fragmentation: blocks of a fixed number of tokens are allocated on demand.",
    "It was a bright cold day in April, and the clocks were striking thirteen. Winston Smith, his "
    "chin nuzzled into his breast in an effort to escape the vile wind, slipped quickly through "
    "the glass doors of Victory Mansions, though not quickly enough to prevent a swirl of gritty "
    "dust from entering along with him.",
    "In 2023, the city recorded 1,284 days of sunshine across its 12 weather stations; the average "
    "temperature was 14.7 degrees, up 0.3 from the previous year. Officials said they'd publish "
    "the full report by March 15th, but it wasn't ready until June.",
    "Don't worry about the details yet. We'll cover tokenization first: text is split into pieces "
    "by a regular expression, each piece is converted to bytes, and byte-pair merges join the "
    "most frequent pairs until no known merge remains. It's simple, but the details matter.",
    "The committee's decision, announced on Tuesday, surprised almost everyone. \"We have to act "
    "now,\" the chairwoman said, \"or we'll regret it for decades.\" Critics called the plan "
    "expensive; supporters called it overdue. Both sides agreed on one thing: it's complicated.",
    "HTTP servers stream results with server-sent events. Each event is a line starting with "
    "data: followed by a JSON object, and the stream ends with data: [DONE]. Clients read the "
    "chunks as they arrive and append the delta of each choice to the message so far.",
]


def english_megabyte(seed=0, target=1_000_000, doc_size=2000):
    rng = random.Random(seed)
    sentences = [s.strip() + "." for p in PARAGRAPHS for s in p.split(". ") if s.strip()]
    docs, cur, total = [], [], 0
    while total < target:
        s = rng.choice(sentences)
        cur.append(s)
        total += len(s.encode()) + 1
        if sum(len(x) + 1 for x in cur) >= doc_size:
            docs.append(" ".join(cur))
            cur = []
    if cur:
        docs.append(" ".join(cur))
    return docs


def time_hf(tok, texts, min_seconds):
    for t in texts:
        tok.encode(t, add_special_tokens=False)
    passes, t0 = 0, time.perf_counter()
    while True:
        for t in texts:
            tok.encode(t, add_special_tokens=False)
        passes += 1
        if time.perf_counter() - t0 >= min_seconds:
            break
    per_pass = (time.perf_counter() - t0) / passes
    nbytes = sum(len(t.encode()) for t in texts)
    return {"seconds_per_pass": per_pass, "mb_per_s": nbytes / 1e6 / per_pass, "bytes": nbytes}


def time_hf_template(template, messages, n=2000):
    # transformers' configuration of jinja2 (ImmutableSandboxedEnvironment, trim/lstrip blocks).
    import jinja2.ext
    from jinja2.sandbox import ImmutableSandboxedEnvironment
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = lambda x, indent=None: json.dumps(x, ensure_ascii=False, indent=indent)
    tmpl = env.from_string(template)
    us = []
    for _ in range(n):
        t0 = time.perf_counter()
        tmpl.render(messages=messages, tools=None, add_generation_prompt=True,
                    bos_token="<|begin_of_text|>", eos_token="<|eot_id|>")
        us.append((time.perf_counter() - t0) * 1e6)
    us.sort()
    return {"median_us": us[len(us) // 2], "p90_us": us[len(us) * 9 // 10]}


def run_ours(binary, *args):
    p = subprocess.run([binary, *args], capture_output=True, text=True, check=True)
    return json.loads(p.stdout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    binary = os.path.join(args.build, "bench", "tokenizer_bench")
    with open(os.path.join(ROOT, "tests", "tokenizer", "data", "corpus.json")) as f:
        corpus = list(json.load(f).values())
    inputs = {"multilingual": corpus, "english_1mb": english_megabyte()}
    rows, results = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for model in ("llama3.1-tokenizer", "llama2-tokenizer"):
            model_dir = os.path.join(MODELS, model)
            hf = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
            for name, texts in inputs.items():
                path = os.path.join(tmp, name + ".json")
                with open(path, "w") as f:
                    json.dump(texts, f)
                ours = run_ours(binary, "encode", model_dir, path, str(args.seconds))
                ref = time_hf(hf, texts, args.seconds)
                ratio = ours["mb_per_s"] / ref["mb_per_s"]
                results[f"{model}/{name}"] = {"qinfer": ours, "hf_tokenizers": ref, "speedup": ratio}
                rows.append((model, name, ours["bytes"], ours["mb_per_s"], ref["mb_per_s"], ratio))
    llama3 = os.path.join(MODELS, "llama3.1-tokenizer")
    tmpl_ours = run_ours(binary, "template", llama3, "2000")
    with open(os.path.join(llama3, "tokenizer_config.json")) as f:
        template = json.load(f)["chat_template"]
    messages = [{"role": "system", "content": "You are a helpful assistant. Answer briefly."}]
    for i in range(9):
        messages.append({"role": "user", "content": "Can you explain how attention works in transformers, with a short example? Turn " + str(i)}
                        if i % 2 == 0 else
                        {"role": "assistant", "content": "Attention weighs every token of the context by its relevance to the current one: softmax(QK^T/sqrt(d))V. For example, in 'the cat sat', 'sat' attends to 'cat'."})
    tmpl_ref = time_hf_template(template, messages)
    results["chat_template_10_messages"] = {"qinfer": tmpl_ours, "jinja2": tmpl_ref,
                                            "speedup": tmpl_ref["median_us"] / tmpl_ours["median_us"]}

    print(f"{'tokenizer':<20} {'input':<14} {'bytes':>9} {'qinfer MB/s':>12} {'HF MB/s':>9} {'ratio':>6}")
    for m, n, b, o, r, x in rows:
        print(f"{m:<20} {n:<14} {b:>9} {o:>12.2f} {r:>9.2f} {x:>5.2f}x")
    print(f"chat template (Llama 3.1, 10 messages): qinfer {tmpl_ours['median_us']:.1f} us median, "
          f"jinja2 {tmpl_ref['median_us']:.1f} us median")
    record = {
        "command": "RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false python3 bench/tokenizer_bench.py "
                   + " ".join(sys.argv[1:]),
        "host": platform.node(), "cpu": platform.processor() or platform.machine(),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "tokenizers_version": __import__("tokenizers").__version__,
        "single_thread": True, "results": results,
    }
    out = args.out or os.path.join(ROOT, "bench", "results", "tokenizer_cpu.json")
    with open(out, "w") as f:
        json.dump(record, f, indent=1)
    print("wrote", out)


if __name__ == "__main__":
    main()
