"""`qinfer tokenize` options against the PyPI `tokenizers` package: --text / --file, --json
(ids, tokens, count), --no-special, and clear errors."""
import json
import os
import subprocess

from tokenizers import Tokenizer

SOURCE_DIR = os.environ.get("QINFER_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
SHARED = os.environ.get("QINFER_SHARED_DIR", os.path.join(SOURCE_DIR, "..", "shared"))
QINFER = os.environ.get("QINFER_BIN", os.path.join(SOURCE_DIR, "build", "apps", "qinfer"))
LLAMA3 = os.path.join(SHARED, "models", "llama3.1-tokenizer")
LLAMA2 = os.path.join(SHARED, "models", "llama2-tokenizer")
TEXT = "Hello, world! Grüße aus Zürich 🎉 <|eot_id|>\n  x"


def run(*args):
    return subprocess.run([QINFER, "tokenize", *args], capture_output=True, text=True, timeout=120)


def test_json_output_matches_hf():
    for model in (LLAMA3, LLAMA2):
        ref = Tokenizer.from_file(os.path.join(model, "tokenizer.json"))
        p = run("--model", model, "--text", TEXT, "--json")
        assert p.returncode == 0, p.stderr
        got = json.loads(p.stdout)
        enc = ref.encode(TEXT)
        assert got == {"ids": enc.ids, "tokens": enc.tokens, "count": len(enc.ids)}


def test_plain_no_special_and_file(tmp_path):
    ref = Tokenizer.from_file(os.path.join(LLAMA3, "tokenizer.json"))
    p = run("--model", LLAMA3, "--text", TEXT, "--no-special")
    assert p.returncode == 0, p.stderr
    assert [int(x) for x in p.stdout.split()] == ref.encode(TEXT, add_special_tokens=False).ids
    f = tmp_path / "in.txt"
    f.write_bytes(TEXT.encode())
    p = run("--model", LLAMA3, "--file", str(f), "--json")
    assert json.loads(p.stdout)["ids"] == ref.encode(TEXT).ids


def test_errors_are_clear(tmp_path):
    p = run("--model", str(tmp_path), "--text", "x")
    assert p.returncode != 0 and "tokenizer.json" in p.stderr
    p = run("--model", LLAMA3)
    assert p.returncode != 0 and "--text" in p.stderr
    bad = tmp_path / "tokenizer.json"
    bad.write_text(json.dumps({"model": {"type": "Unigram", "vocab": []}}))
    p = run("--model", str(tmp_path), "--text", "x")
    assert p.returncode != 0 and "Unigram" in p.stderr
    p = run("--model", LLAMA3, "--text", "x", "--bogus")
    assert p.returncode != 0
