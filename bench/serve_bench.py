#!/usr/bin/env python3
"""Serving benchmark for `qinfer serve` (the shape of vLLM's benchmark_serving.py).

Sends /v1/completions streams (prompt token ids, ignore_eos, greedy) at a fixed concurrency
or with Poisson arrivals at a rate, prompt/output lengths fixed or uniform around a mean.
Reports TTFT and inter-token latency (ITL) p50/p99, output tokens/s, and the server's
overhead per token: the client-measured mean ITL against the engine's own mean step time
as each token saw it (qinfer:engine_decode_token_step_seconds_total / engine_decode_tokens_total
from /metrics over the same window: a step's time weighted by the tokens it produced, first
tokens excluded as they are not ITL samples). Every step gives each running stream one token, so

    overhead per token = mean ITL (client) - token-weighted mean engine step
    overhead %         = overhead per token / mean ITL

is the time HTTP, JSON, SSE, queues and scheduling add on top of the engine's step.
The client is raw asyncio sockets (no HTTP library overhead in the measurement).

Usage:
  python3 bench/serve_bench.py --tiny --concurrency 256 --num-prompts 512 --input-len 64 --output-len 64
  python3 bench/serve_bench.py --model DIR_OR_GGUF --rate 20 --num-prompts 200
  python3 bench/serve_bench.py --url http://127.0.0.1:8000 --model-name NAME ...
"""
import argparse
import asyncio
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def pct(xs, p):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    k = min(len(xs) - 1, max(0, int(round(p / 100.0 * (len(xs) - 1)))))
    return xs[k]


def scrape(url):
    text = urllib.request.urlopen(url + "/metrics", timeout=30).read().decode()
    out = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name, value = line.rsplit(" ", 1)
        out[re.sub(r"\{.*\}", "", name) if "_bucket" not in name else name] = float(value)
    return out


async def stream_one(host, port, body, api_key):
    data = json.dumps(body).encode()
    t0 = time.perf_counter()
    reader, writer = await asyncio.open_connection(host, port, limit=1 << 22)
    hdr = (f"POST /v1/completions HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
           f"Content-Length: {len(data)}\r\nConnection: close\r\n")
    if api_key:
        hdr += f"Authorization: Bearer {api_key}\r\n"
    writer.write(hdr.encode() + b"\r\n" + data)
    await writer.drain()
    status = (await reader.readline()).decode()
    if " 200 " not in status:
        rest = await reader.read()
        writer.close()
        raise RuntimeError(f"HTTP error: {status.strip()} {rest[:300]!r}")
    while (await reader.readline()) not in (b"\r\n", b""):
        pass
    times, n_tokens, buf = [], 0, b""
    while True:
        size_line = await reader.readline()
        if not size_line:
            break
        size = int(size_line.strip() or b"0", 16)
        if size == 0:
            break
        chunk = await reader.readexactly(size + 2)
        buf += chunk[:-2]
        # Cheap on purpose: a timestamp per chunk, JSON only for the usage chunk, so that the
        # client keeps up with the server (a lagging client inflates the measured ITL).
        now = time.perf_counter()
        while b"\n\n" in buf:
            event, buf = buf.split(b"\n\n", 1)
            if not event.startswith(b"data: {"):
                continue
            if b'"choices":[]' in event:
                n_tokens = json.loads(event[6:])["usage"]["completion_tokens"]
            else:
                times.append(now)
    writer.close()
    return {"start": t0, "times": times, "n_tokens": n_tokens, "end": time.perf_counter()}


def make_requests(args, rng):
    reqs = []
    for _ in range(args.num_prompts):
        def length(mean):
            if args.dist == "fixed":
                return mean
            return max(1, int(rng.uniform(mean * (1 - args.range_ratio), mean * (1 + args.range_ratio))))
        n_in, n_out = length(args.input_len), length(args.output_len)
        prompt = [128000] + [rng.randrange(1000, 100000) for _ in range(n_in - 1)]
        reqs.append({"model": args.model_name, "prompt": prompt, "max_tokens": n_out,
                     "temperature": 0, "ignore_eos": True, "stream": True,
                     "stream_options": {"include_usage": True}})
    return reqs


async def run_load(args, host, port, reqs, rng, concurrency, rate):
    sem = asyncio.Semaphore(concurrency if concurrency > 0 else len(reqs))
    results = []

    async def worker(body):
        async with sem:
            results.append(await stream_one(host, port, body, args.api_key))

    tasks = []
    for body in reqs:
        tasks.append(asyncio.create_task(worker(body)))
        if rate > 0:
            await asyncio.sleep(rng.expovariate(rate))
    await asyncio.gather(*tasks)
    return results


def client_proc(job):
    """One client process: its share of the requests, concurrency and rate."""
    args, host, port, reqs, seed, concurrency, rate = job
    return asyncio.run(run_load(args, host, port, reqs, random.Random(seed), concurrency, rate))


def run_clients(args, host, port, reqs, procs):
    """Spreads the load over `procs` client processes (one Python process cannot parse
    thousands of SSE chunks a second without falling behind the server)."""
    if procs <= 1:
        return client_proc((args, host, port, reqs, args.seed, args.concurrency, args.rate))
    import multiprocessing as mp
    jobs = []
    for k in range(procs):
        share = reqs[k::procs]
        conc = (args.concurrency + procs - 1 - k) // procs if args.concurrency else 0
        jobs.append((args, host, port, share, args.seed + k, conc, args.rate / procs))
    with mp.get_context("fork").Pool(procs) as pool:
        return [r for part in pool.map(client_proc, jobs) for r in part]


def start_server(args, model):
    cmd = [args.server_bin, "serve", model, "--host", "127.0.0.1", "--port", "0",
           "--served-model-name", args.model_name, "--max-num-seqs", str(args.max_num_seqs),
           "--max-model-len", str(args.max_model_len)] + args.server_arg
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    for line in proc.stderr:
        sys.stderr.write(line)
        m = re.search(r"on http://[^:]+:(\d+) ", line)
        if m:
            import threading
            threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()
            return proc, int(m.group(1))
    raise RuntimeError("server did not start")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="checkpoint to serve (a server is started)")
    ap.add_argument("--tiny", action="store_true", help="serve a tiny random Llama (tests/e2e/tiny_llama.py)")
    ap.add_argument("--url", help="benchmark a running server instead")
    ap.add_argument("--model-name", default="bench")
    ap.add_argument("--api-key", default="")
    ap.add_argument("--server-bin", default=os.environ.get("QINFER_BIN", os.path.join(ROOT, "build", "apps", "qinfer")))
    ap.add_argument("--server-arg", action="append", default=[], help="extra `qinfer serve` option (repeat)")
    ap.add_argument("--max-num-seqs", type=int, default=256)
    ap.add_argument("--max-model-len", type=int, default=1024)
    ap.add_argument("--concurrency", type=int, default=0, help="fixed concurrency (0: unbounded)")
    ap.add_argument("--rate", type=float, default=0, help="Poisson arrivals per second (0: all at once)")
    ap.add_argument("--num-prompts", type=int, default=256)
    ap.add_argument("--input-len", type=int, default=64)
    ap.add_argument("--output-len", type=int, default=64)
    ap.add_argument("--dist", choices=["fixed", "uniform"], default="fixed")
    ap.add_argument("--range-ratio", type=float, default=0.5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--client-procs", type=int, default=0,
                    help="client processes (default 4 on >= 8 CPUs, else 1)")
    ap.add_argument("--warmup", type=int, default=8, help="requests sent before measuring")
    ap.add_argument("--out", default="", help="JSON result path (default bench/results/serve_<tag>.json)")
    ap.add_argument("--tag", default="")
    args = ap.parse_args()

    rng = random.Random(args.seed)
    proc, tmp = None, None
    if args.url:
        url = args.url.rstrip("/")
    else:
        model = args.model
        if args.tiny:
            sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
            import tiny_llama
            tmp = tempfile.TemporaryDirectory()
            model = tiny_llama.make_random(os.path.join(tmp.name, "tiny"), max_pos=args.max_model_len)
        if not model:
            ap.error("give --model, --tiny or --url")
        proc, port = start_server(args, model)
        url = f"http://127.0.0.1:{port}"
    host, port = url.split("//")[1].split(":")
    port = int(port)
    try:
        procs = args.client_procs or (4 if (os.cpu_count() or 1) >= 8 else 1)
        warm = make_requests(argparse.Namespace(**{**vars(args), "num_prompts": args.warmup}), rng)
        asyncio.run(run_load(args, host, port, warm, rng, 0, 0))
        reqs = make_requests(args, rng)
        m0 = scrape(url)
        t0 = time.perf_counter()
        results = run_clients(args, host, port, reqs, procs)
        wall = time.perf_counter() - t0
        m1 = scrape(url)
    finally:
        if proc:
            proc.terminate()
            proc.wait(60)
    ttft = [r["times"][0] - r["start"] for r in results if r["times"]]
    itl = [b - a for r in results for a, b in zip(r["times"], r["times"][1:])]
    n_out = sum(r["n_tokens"] for r in results)
    d = lambda k: m1.get(k, 0) - m0.get(k, 0)
    steps = d("qinfer:engine_step_seconds_count")
    step_mean = d("qinfer:engine_step_seconds_sum") / steps if steps else float("nan")
    fwd_mean = d("qinfer:engine_forward_seconds_sum") / steps if steps else float("nan")
    itl_mean = statistics.fmean(itl) if itl else float("nan")
    # The step time each ITL sample saw: token-weighted, first tokens excluded (as ITL).
    dtok = d("qinfer:engine_decode_tokens_total")
    step_tok_mean = d("qinfer:engine_decode_token_step_seconds_total") / dtok if dtok else float("nan")
    overhead = itl_mean - step_tok_mean
    res = {
        "command": " ".join([os.path.relpath(sys.argv[0], ROOT)] + sys.argv[1:]),
        "model": args.model or ("tiny-random" if args.tiny else args.url),
        "num_prompts": len(results), "concurrency": args.concurrency, "rate": args.rate,
        "input_len": args.input_len, "output_len": args.output_len, "dist": args.dist,
        "wall_s": wall, "output_tokens": n_out, "output_tok_per_s": n_out / wall,
        "ttft_p50_ms": 1e3 * pct(ttft, 50), "ttft_p99_ms": 1e3 * pct(ttft, 99),
        "itl_p50_ms": 1e3 * pct(itl, 50), "itl_p99_ms": 1e3 * pct(itl, 99), "itl_mean_ms": 1e3 * itl_mean,
        "engine_steps": steps, "engine_step_mean_ms": 1e3 * step_mean,
        "engine_forward_mean_ms": 1e3 * fwd_mean,
        "engine_step_per_token_ms": 1e3 * step_tok_mean,
        "engine_busy_frac": d("qinfer:engine_step_seconds_sum") / wall,
        "engine_idle_s": d("qinfer:engine_idle_seconds_total"),
        "engine_empty_steps": d("qinfer:engine_empty_steps_total"),
        "server_overhead_per_token_ms": 1e3 * overhead,
        "server_overhead_pct_of_itl": 100.0 * overhead / itl_mean if itl else float("nan"),
        "generation_tokens_metric": d("vllm:generation_tokens_total"),
        "cpu_count": os.cpu_count(),
        "client_procs": procs,
    }
    rows = [("requests", f"{res['num_prompts']}"), ("output tok/s", f"{res['output_tok_per_s']:.1f}"),
            ("TTFT p50 / p99 ms", f"{res['ttft_p50_ms']:.1f} / {res['ttft_p99_ms']:.1f}"),
            ("ITL p50 / p99 ms", f"{res['itl_p50_ms']:.1f} / {res['itl_p99_ms']:.1f}"),
            ("ITL mean ms", f"{res['itl_mean_ms']:.2f}"),
            ("engine step mean ms", f"{res['engine_step_mean_ms']:.2f}"),
            ("  forward mean ms", f"{res['engine_forward_mean_ms']:.2f}"),
            ("engine step per ITL token ms", f"{res['engine_step_per_token_ms']:.2f}"),
            ("server overhead / token ms", f"{res['server_overhead_per_token_ms']:.2f}"),
            ("server overhead % of ITL", f"{res['server_overhead_pct_of_itl']:.2f}"),
            ("engine busy fraction", f"{res['engine_busy_frac']:.3f}"),
            ("engine idle s / empty steps", f"{res['engine_idle_s']:.2f} / {res['engine_empty_steps']:.0f}")]
    w = max(len(k) for k, _ in rows)
    print("\n".join(f"{k:<{w}}  {v}" for k, v in rows))
    assert res["generation_tokens_metric"] == n_out, (res["generation_tokens_metric"], n_out)
    tag = args.tag or (f"c{args.concurrency}" if args.concurrency else f"r{args.rate:g}")
    out = args.out or os.path.join(ROOT, "bench", "results", f"serve_{tag}.json")
    with open(out, "w") as f:
        json.dump(res, f, indent=2)
    print("wrote", os.path.relpath(out, ROOT))
    if tmp:
        tmp.cleanup()


if __name__ == "__main__":
    main()
