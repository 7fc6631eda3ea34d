"""`qinfer generate` and `qinfer perplexity` end to end on a tiny random Llama checkpoint (vocab
128256, beside the real Llama 3.1 tokenizer; tiny_llama.make_random). Independent references:
the `tokenizers` library for prompt ids and detokenized text, jinja2 for the chat template."""
import json
import math
import os
import subprocess
from datetime import datetime

import jinja2
import jinja2.ext
import pytest
from jinja2.sandbox import ImmutableSandboxedEnvironment
from tokenizers import Tokenizer

import tiny_llama

QINFER = os.environ.get("QINFER_BIN", "qinfer")


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return tiny_llama.make_random(str(tmp_path_factory.mktemp("cli") / "tiny"))


@pytest.fixture(scope="module")
def tok(model):
    return Tokenizer.from_file(os.path.join(model, "tokenizer.json"))


def run(*args, check=True):
    p = subprocess.run([QINFER, *args], capture_output=True, timeout=300)
    if check:
        assert p.returncode == 0, p.stderr.decode()
    return p


def generate_json(model, *args):
    return json.loads(run("generate", "--model", model, "--json", *args).stdout)


def test_greedy_json_prompt_ids_and_text(model, tok):
    r = generate_json(model, "--prompt", "The quick brown fox", "--max-tokens", "12",
                      "--temperature", "0")
    assert r["prompt_ids"] == tok.encode("The quick brown fox").ids  # BOS first
    assert r["prompt_ids"][0] == 128000
    assert 1 <= len(r["completion_ids"]) <= 12
    ids = r["completion_ids"]
    if r["finish_reason"] == "stop":
        assert ids[-1] in (128001, 128008, 128009)
    else:
        assert r["finish_reason"] == "length" and len(ids) == 12
    assert r["text"] == tok.decode(ids, skip_special_tokens=True)


def test_streamed_text_equals_json_text(model):
    args = ["--prompt", "Once upon a time", "--max-tokens", "10", "--temperature", "0"]
    r = generate_json(model, *args)
    streamed = run("generate", "--model", model, *args).stdout.decode()
    assert streamed == r["text"] + "\n"


def test_seed_reproducible(model):
    args = ["--prompt", "Hi", "--max-tokens", "10", "--temperature", "1.0", "--top-k", "50"]
    a = generate_json(model, *args, "--seed", "11")
    b = generate_json(model, *args, "--seed", "11")
    assert a["completion_ids"] == b["completion_ids"]
    others = [generate_json(model, *args, "--seed", str(s))["completion_ids"] for s in (12, 13)]
    assert any(o != a["completion_ids"] for o in others)


def test_stop_string_cuts_output(model):
    args = ["--prompt", "Numbers:", "--max-tokens", "16", "--temperature", "0", "--ignore-eos"]
    full = generate_json(model, *args)["text"]
    assert len(full) >= 6, full
    stop = full[3:5]
    r = generate_json(model, *args, "--stop", stop, "--stop", "\u2603never")
    assert r["finish_reason"] == "stop"
    assert r["text"] == full[: full.find(stop)]


def test_chat_template_prompt(model, tok):
    with open(os.path.join(model, "tokenizer_config.json")) as f:
        template = json.load(f)["chat_template"]
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[jinja2.ext.loopcontrols])
    env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
    text = env.from_string(template).render(
        messages=[{"role": "user", "content": "What is 2+2?"}], tools=None, documents=None,
        add_generation_prompt=True, bos_token="<|begin_of_text|>", eos_token="<|eot_id|>")
    r = generate_json(model, "--chat", "--prompt", "What is 2+2?", "--max-tokens", "2",
                      "--temperature", "0")
    assert r["prompt_ids"] == tok.encode(text, add_special_tokens=False).ids


def test_perplexity_json(model, tmp_path):
    f = tmp_path / "text.txt"
    f.write_text("The cat sat on the mat. " * 12)
    r = json.loads(run("perplexity", "--model", model, "--file", str(f), "--context", "16",
                       "--stride", "8", "--json").stdout)
    # Windows start every 8 tokens until one reaches the end.
    n = r["n_input_ids"]
    assert r["n_windows"] == max(1, math.ceil((n - 16) / 8) + 1)
    assert r["n_tokens"] == n - 1 - (r["n_windows"] - 1)  # the guide's -1 per window
    assert math.isfinite(r["ppl"]) and r["ppl"] > 1.0
    assert abs(math.exp(r["mean_nll"]) - r["ppl"]) < 1e-6 * r["ppl"]


def test_help_and_errors(model):
    for cmd in ("generate", "perplexity"):
        assert run(cmd, "--help").stdout.decode().startswith("qinfer " + cmd)
    p = run("generate", "--model", model, "--prompt", "x", "--temprature", "0", check=False)
    assert p.returncode == 1 and b"temprature" in p.stderr
    p = run("generate", "--model", model, "--prompt", "x", "--top-p", "0", check=False)
    assert p.returncode == 1 and b"top_p" in p.stderr


def test_device_option(model):
    """--device auto|cpu|cuda on generate and perplexity: auto and cpu give the CPU's greedy
    tokens here; cuda is either the GPU (a machine with one: same greedy tokens on this tiny
    model) or a clear error naming the missing device; a bad value names itself."""
    args = ["--prompt", "Device check", "--max-tokens", "6", "--temperature", "0"]
    cpu = generate_json(model, *args, "--device", "cpu")
    assert generate_json(model, *args)["completion_ids"] == cpu["completion_ids"]  # auto
    p = run("generate", "--model", model, "--json", *args, "--device", "cuda", check=False)
    if p.returncode == 0:
        assert json.loads(p.stdout)["completion_ids"] == cpu["completion_ids"]
    else:
        assert b"--device cuda: no CUDA device" in p.stderr, p.stderr
    p = run("generate", "--model", model, *args, "--device", "gpu", check=False)
    assert p.returncode != 0 and b"--device must be auto, cpu or cuda, got 'gpu'" in p.stderr
    p = run("perplexity", "--model", model, "--file", os.path.join(model, "config.json"),
            "--device", "tpu", check=False)
    assert p.returncode != 0 and b"--device must be auto, cpu or cuda" in p.stderr
    p = run("generate", "--model", model, *args, "--kv-cache-dtype", "int4", check=False)
    assert p.returncode != 0 and b"--kv-cache-dtype must be auto, bf16, fp8 or f32" in p.stderr
