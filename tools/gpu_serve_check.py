"""Serves one checkpoint twice with the same `qinfer` binary, --device cpu and --device cuda,
sends the same requests to both (greedy chat, completions with echo + logprobs, a streamed
chat) and reports whether the GPU answers equal the CPU ones. Run on the GPU machine:

  python3 tools/gpu_serve_check.py --qinfer build-f/apps/qinfer --model DIR --out result.json
"""
import argparse
import json
import subprocess
import sys
import time
import urllib.request


def post(port, path, body, stream=False):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as r:
        raw = r.read().decode()
    if not stream:
        return json.loads(raw)
    chunks = [json.loads(l[6:]) for l in raw.split("\n") if l.startswith("data: {")]
    return {"text": "".join(c["choices"][0]["delta"].get("content") or ""
                            for c in chunks if c["choices"]),
            "chunks": len(chunks), "done": "data: [DONE]" in raw}


def run(qinfer, model, device, port):
    proc = subprocess.Popen([qinfer, "serve", model, "--device", device, "--port", str(port),
                             "--host", "127.0.0.1"], stderr=subprocess.PIPE, text=True)
    for _ in range(240):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
            break
        except Exception:
            if proc.poll() is not None:
                sys.exit(f"{device} server exited: {proc.stderr.read()[-2000:]}")
            time.sleep(0.5)
    msgs = [{"role": "user", "content": "Name three colours."}]
    t0 = time.time()
    out = {
        "chat": post(port, "/v1/chat/completions",
                     {"model": model, "messages": msgs, "max_tokens": 24, "temperature": 0}),
        "echo": post(port, "/v1/completions",
                     {"model": model, "prompt": "The quick brown fox", "max_tokens": 1,
                      "echo": True, "logprobs": 1, "temperature": 0}),
        "stream": post(port, "/v1/chat/completions",
                       {"model": model, "messages": msgs, "max_tokens": 24, "temperature": 0,
                        "stream": True, "stream_options": {"include_usage": True}}, stream=True),
    }
    out["seconds"] = time.time() - t0
    proc.terminate()
    out["exit_code"] = proc.wait(timeout=60)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qinfer", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--second-device", default="cuda", help="cpu checks the script itself")
    a = ap.parse_args()
    cpu = run(a.qinfer, a.model, "cpu", 8101)
    gpu = run(a.qinfer, a.model, a.second_device, 8102)
    text = lambda r: r["chat"]["choices"][0]["message"]["content"]
    lp = lambda r: r["echo"]["choices"][0]["logprobs"]["token_logprobs"]
    lp_cpu, lp_gpu = lp(cpu), lp(gpu)
    diffs = [abs(x - y) for x, y in zip(lp_cpu, lp_gpu) if x is not None and y is not None]
    res = {"model": a.model, "command": " ".join(sys.argv),
           "chat_cpu": text(cpu), "chat_gpu": text(gpu), "chat_equal": text(cpu) == text(gpu),
           "stream_gpu_equals_nonstream": gpu["stream"]["text"] == text(gpu),
           "stream_done": gpu["stream"]["done"],
           "echo_logprob_max_abs_diff": max(diffs) if diffs else None,
           "echo_tokens": len(lp_gpu), "exit_codes": [cpu["exit_code"], gpu["exit_code"]],
           "seconds": [cpu["seconds"], gpu["seconds"]]}
    res["ok"] = bool(res["chat_equal"] and res["stream_gpu_equals_nonstream"] and
                     res["stream_done"] and diffs and max(diffs) < 1e-3 and
                     res["exit_codes"] == [0, 0])
    json.dump(res, open(a.out, "w"), indent=2)
    print(json.dumps(res, indent=2))
    sys.exit(0 if res["ok"] else 1)


if __name__ == "__main__":
    main()
