"""Randomized differential test: our tokenizer (through `qinfer tokenize --jsonl`, one process
for thousands of strings) against the PyPI `tokenizers` package on the same tokenizer.json.

Strings mix scripts, whitespace runs, digits, punctuation, contractions and special-token
strings; the seed is fixed so a failure reproduces. Checks ids (with and without BOS), decode
(with and without special tokens) and the streamed (incremental) decode.
"""
import json
import os
import random
import subprocess
import sys

import pytest
from tokenizers import Tokenizer

SOURCE_DIR = os.environ.get("QINFER_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
SHARED = os.environ.get("QINFER_SHARED_DIR", os.path.join(SOURCE_DIR, "..", "shared"))
MODELS = os.path.join(SHARED, "models")
QINFER = os.environ.get("QINFER_BIN", os.path.join(SOURCE_DIR, "build", "apps", "qinfer"))

# Alphabets to draw from (code point ranges) plus fragments that stress the pre-tokenizer.
RANGES = [
    (0x20, 0x7E), (0x20, 0x7E), (0x20, 0x7E),  # ASCII, weighted up
    (0xC0, 0x17F),      # Latin-1 supplement + Latin extended-A (incl. U+017F long s)
    (0x370, 0x3FF),     # Greek
    (0x400, 0x4FF),     # Cyrillic
    (0x590, 0x6FF),     # Hebrew, Arabic
    (0x900, 0x97F),     # Devanagari
    (0xE00, 0xE7F),     # Thai
    (0x1100, 0x11FF),   # Hangul Jamo
    (0x2000, 0x206F),   # general punctuation (incl. odd spaces)
    (0x3000, 0x30FF),   # CJK punctuation, Hiragana, Katakana
    (0x4E00, 0x9FFF),   # CJK ideographs
    (0xAC00, 0xD7A3),   # Hangul syllables
    (0xFF00, 0xFFEF),   # full-width forms
    (0x1F300, 0x1FAFF), # emoji
    (0x10000, 0x10FFFF),  # anything astral (unassigned too)
    (0x80, 0x2FFF),     # a broad BMP sweep
]
FRAGMENTS = [
    " ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", " \n ", "\u00a0", "\u3000", "\u2028", "\x0b",
    "'s", "'S", "'t", "'re", "'VE", "'m", "'ll", "'d", "'\u017f", "'x", "''",
    "123", "4567", "3.14", "1,000,000", "٣٤٥", "२०२४", "①②",
    "<|begin_of_text|>", "<|eot_id|>", "<|start_header_id|>", "<|python_tag|>", "<s>", "</s>",
    "<unk>", "<|eot_id", "<<s>>", "Hello", " world", "don't", "C'EST", "naïve", "e\u0301",
    "def f(x):\n    return x**2\n", "{\"a\": [1, 2]}", "→", "—", "...", "!!!", "?!",
    "\U0001F600", "\U0001F468\u200D\U0001F469\u200D\U0001F467", "\ufeff", "\u200b",
]


def random_text(rng):
    parts = []
    for _ in range(rng.randint(1, 12)):
        r = rng.random()
        if r < 0.45:
            parts.append(rng.choice(FRAGMENTS))
        else:
            lo, hi = rng.choice(RANGES)
            n = rng.randint(1, 8)
            chars = []
            for _ in range(n):
                c = rng.randint(lo, hi)
                if 0xD800 <= c < 0xE000:
                    c = 0x41
                chars.append(chr(c))
            parts.append("".join(chars))
    return "".join(parts)


def run_ours(model_dir, texts, extra=()):
    inp = "".join(json.dumps(t) + "\n" for t in texts)
    proc = subprocess.run([QINFER, "tokenize", "--model", model_dir, "--jsonl", *extra],
                          input=inp.encode(), capture_output=True, timeout=600)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    lines = proc.stdout.decode().split("\n")[:-1]
    assert len(lines) == len(texts)
    return [json.loads(line) for line in lines]


def first_diff(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b))


def check(name, count, seed, model_dir=None):
    model_dir = model_dir or os.path.join(MODELS, name)
    ref = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    rng = random.Random(seed)
    texts = [random_text(rng) for _ in range(count)]
    ours = run_ours(model_dir, texts)
    ours_plain = run_ours(model_dir, texts, ["--no-special"])
    failures = []
    for text, o, op in zip(texts, ours, ours_plain):
        enc = ref.encode(text)
        if o["ids"] != enc.ids:
            i = first_diff(o["ids"], enc.ids)
            failures.append(f"ids differ for {text!r} at index {i}: ours {o['ids'][i:i+4]} "
                            f"tokens {enc.tokens[i:i+4]} hf {enc.ids[i:i+4]}")
            continue
        plain = ref.encode(text, add_special_tokens=False).ids
        if op["ids"] != plain:
            failures.append(f"ids (no special) differ for {text!r}: ours {op['ids']} hf {plain}")
        for key, skip in (("decoded", False), ("decoded_skip", True)):
            want = ref.decode(enc.ids, skip_special_tokens=skip)
            if o[key] != want:
                failures.append(f"{key} differs for {text!r}: ours {o[key]!r} hf {want!r}")
        if ref.decode(plain, skip_special_tokens=False) == text and op["decoded"] != text:
            failures.append(f"round trip: HF decodes back to {text!r}, ours gives {op['decoded']!r}")
        if o["streamed"] != o["decoded"]:
            failures.append(f"streamed != decoded for {text!r}: {o['streamed']!r} vs {o['decoded']!r}")
        if o["streamed_skip"] != o["decoded_skip"]:
            failures.append(f"streamed != decoded (skip special) for {text!r}: {o['streamed_skip']!r} "
                            f"vs {o['decoded_skip']!r}")
    assert not failures, f"{len(failures)} of {count} differ; first ones:\n" + "\n".join(failures[:10])


@pytest.mark.parametrize("name", ["llama3.1-tokenizer", "llama2-tokenizer"])
def test_random_strings_match_hf(name):
    check(name, count=int(os.environ.get("QINFER_TOKENIZER_DIFF_N", "3000")), seed=1234)


# Variants of the shared tokenizer.json files that exercise the other supported components:
# GPT-2 regex ByteLevel, Digits, ByteLevel add_prefix_space, Metaspace (prepend first / always,
# split), the Metaspace decoder, and added tokens with lstrip / rstrip / single_word / normalized.
def _llama3_gpt2_digits(t):
    t["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "Digits", "individual_digits": True},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}]}


def _llama3_prefix_space_digit_runs(t):
    t["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "Digits", "individual_digits": False},
        {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True}]}


def _llama3_qwen2_regex(t):
    split = t["pre_tokenizer"]["pretokenizers"][0]
    split["pattern"]["Regex"] = split["pattern"]["Regex"].replace("\\p{N}{1,3}", "\\p{N}")
    assert "{1,3}" not in split["pattern"]["Regex"]


def _llama2_merge_pairs(t):
    t["model"]["merges"] = [m.split(" ", 1) for m in t["model"]["merges"]]


def _llama3_nfc(t):
    t["normalizer"] = {"type": "NFC"}


NFC_FRAGMENTS = ["e\u0301", "\u1100\u1161\u11a8", "\u1100\u1161", "\uac00\u11a8", "a\u0328\u0301",
                 "a\u0301\u0328", "\u0958", "A\u030a", "\u212b", "\u0344", "\u0f73", "o\u0302\u0323",
                 "\u1e9b\u0323", "\u0301e", "\u00c5\u0327"]


def _llama3_added_flags(t):
    by_id = {a["id"]: a for a in t["added_tokens"]}
    by_id[128002].update(content="Zqxdonez", single_word=True, special=False)
    by_id[128003].update(content="<|l|>", lstrip=True)
    by_id[128005].update(content="<|r|>", rstrip=True)
    by_id[128009].update(lstrip=True, rstrip=True)


def _llama2_metaspace_first(t):
    t["normalizer"] = None
    t["pre_tokenizer"] = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first",
                          "split": False}


def _llama2_metaspace_always_split(t):
    t["normalizer"] = None
    t["pre_tokenizer"] = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always",
                          "split": True}
    t["decoder"] = {"type": "Sequence", "decoders": [
        {"type": "ByteFallback"},
        {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True}]}
    t["added_tokens"].append({"id": 32000, "content": "\u2581xyz", "single_word": False, "lstrip": False,
                              "rstrip": False, "normalized": True, "special": False})


VARIANTS = {
    "llama3-gpt2-digits": ("llama3.1-tokenizer", _llama3_gpt2_digits),
    "llama3-prefix-space-digit-runs": ("llama3.1-tokenizer", _llama3_prefix_space_digit_runs),
    "llama3-added-flags": ("llama3.1-tokenizer", _llama3_added_flags),
    "llama3-qwen2-regex": ("llama3.1-tokenizer", _llama3_qwen2_regex),
    "llama3-nfc": ("llama3.1-tokenizer", _llama3_nfc),
    "llama2-metaspace-first": ("llama2-tokenizer", _llama2_metaspace_first),
    "llama2-merge-pairs": ("llama2-tokenizer", _llama2_merge_pairs),
    "llama2-metaspace-always-split": ("llama2-tokenizer", _llama2_metaspace_always_split),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_component_variants_match_hf(variant, tmp_path):
    base, edit = VARIANTS[variant]
    with open(os.path.join(MODELS, base, "tokenizer.json")) as f:
        t = json.load(f)
    edit(t)
    with open(tmp_path / "tokenizer.json", "w") as f:
        json.dump(t, f)
    extra = ["Zqxdonez", " Zqxdonez ", "xZqxdonez", "<|l|>", "  <|l|>", "<|r|>  x", "\u2581xyz",
             " xyz"] + NFC_FRAGMENTS * 3
    FRAGMENTS.extend(extra)
    try:
        check(variant, count=int(os.environ.get("QINFER_TOKENIZER_DIFF_N", "3000")) // 3, seed=99,
              model_dir=str(tmp_path))
    finally:
        del FRAGMENTS[-len(extra):]


if __name__ == "__main__":
    for n in sys.argv[1:] or ["llama3.1-tokenizer", "llama2-tokenizer"]:
        check(n, 3000, 1234)
        print(n, "ok")
