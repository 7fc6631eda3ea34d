"""`qinfer convert` on small GGUF files written by llama.cpp's own gguf-py writer: weights of every
supported block type bit-identical to gguf-py's dequantizers, config.json from the llama.*
metadata, and a SentencePiece tokenizer rebuilt from tokens + scores that tokenizes exactly as
Hugging Face's original tokenizer.json does."""

import json
import os

import numpy as np
import pytest
from gguf import GGMLQuantizationType as T

from gguf_util import SOURCE_DIR, compare_with_gguf_py, read_checkpoint, run
from gguf_tiny import write_tiny_llama

SHARED = os.environ.get("QINFER_SHARED_DIR", os.path.join(SOURCE_DIR, "..", "shared"))


@pytest.mark.parametrize("tied", [True, False])
def test_every_block_type_matches_gguf_py(tmp_path, tied):
    src = str(tmp_path / "tiny.gguf")
    truth = write_tiny_llama(src, tied=tied, seed=1 if tied else 2)
    out = tmp_path / "hf"
    run("convert", "--input", src, "--output", str(out))
    bad = compare_with_gguf_py(src, str(out))
    assert not bad, "\n".join(bad)
    types = {qt for _, qt, _ in truth.values()}
    assert {T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0, T.Q4_K, T.Q5_K, T.Q6_K, T.F16, T.BF16} <= types
    cfg = json.load(open(out / "config.json"))
    assert cfg["hidden_size"] == 256 and cfg["num_attention_heads"] == 4
    assert cfg["num_key_value_heads"] == 2 and cfg["head_dim"] == 64
    assert cfg["intermediate_size"] == 512 and cfg["num_hidden_layers"] == 2
    assert cfg["tie_word_embeddings"] == tied
    assert cfg["rope_theta"] == 10000.0 and cfg["max_position_embeddings"] == 512
    assert cfg["torch_dtype"] == "float32"
    ours = read_checkpoint(str(out))
    assert ("lm_head.weight" in ours) == (not tied)
    # F32 tensors (norms) are stored as-is: they must equal what was written.
    for hf, qt, x in truth.values():
        if qt == T.F32:
            assert np.array_equal(ours[hf], x), hf


def test_bf16_output_rounds_f32(tmp_path):
    src = str(tmp_path / "tiny.gguf")
    write_tiny_llama(src, hidden=32, n_head=2, n_head_kv=1, ffn=64, n_layer=1,
                     qtypes=(T.Q8_0, T.Q4_1))
    run("convert", "--input", src, "--output", str(tmp_path / "f32"))
    run("convert", "--input", src, "--output", str(tmp_path / "bf16"), "--dtype", "bf16")
    f32 = read_checkpoint(str(tmp_path / "f32"))
    bf16 = read_checkpoint(str(tmp_path / "bf16"))
    for name, x in f32.items():
        u = x.astype(np.float32).view(np.uint32).astype(np.uint64)
        want = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)  # round to nearest even
        assert np.array_equal(bf16[name], want), name
    assert json.load(open(tmp_path / "bf16" / "config.json"))["torch_dtype"] == "bfloat16"


def test_malformed_input_is_a_clear_error(tmp_path):
    src = tmp_path / "tiny.gguf"
    write_tiny_llama(str(src), hidden=32, n_head=2, n_head_kv=1, ffn=64, n_layer=1,
                     qtypes=(T.Q8_0,))
    data = src.read_bytes()
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(data[: len(data) - 100])
    r = run("convert", "--input", str(cut), "--output", str(tmp_path / "o"), check=False)
    assert r.returncode != 0
    assert "cut.gguf" in r.stderr and "runs past the end" in r.stderr, r.stderr
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF" + (7).to_bytes(4, "little") + data[8:])
    r = run("convert", "--input", str(bad), "--output", str(tmp_path / "o"), check=False)
    assert r.returncode != 0 and "unknown GGUF version 7" in r.stderr, r.stderr


def llama2_spm_tokens():
    """Tokens, scores and token types of Llama 2's vocabulary, laid out the way llama.cpp's
    convert_hf_to_gguf.py stores a SentencePiece model. A SentencePiece BPE score is the negated
    merge order, so each piece gets minus the rank of the first merge in HF's tokenizer.json that
    produces it (pieces no merge produces are single characters and never split)."""
    path = os.path.join(SHARED, "models", "llama2-tokenizer", "tokenizer.json")
    if not os.path.exists(path):
        pytest.skip(f"{path} not found")
    tj = json.load(open(path))
    vocab = tj["model"]["vocab"]
    tokens = [None] * len(vocab)
    for t, i in vocab.items():
        tokens[i] = t
    special = {a["content"] for a in tj["added_tokens"]}
    rank = {}
    for r, m in enumerate(tj["model"]["merges"]):
        a, b = m.split(" ", 1) if isinstance(m, str) else m
        rank.setdefault(a + b, r)
    types, scores = [], []
    for i, t in enumerate(tokens):
        if t == "<unk>":
            types.append(2)
        elif t in special:
            types.append(3)
        elif t.startswith("<0x") and t.endswith(">") and len(t) == 6:
            types.append(6)
        else:
            types.append(1)
        scores.append(-float(rank.get(t, len(rank))) if types[-1] == 1 else 0.0)
    return path, (tokens, scores, types)


TEXTS = [
    "Hello world! This is a test of the SentencePiece tokenizer.",
    " leading space, and   multiple   spaces",
    "Numbers 12345 and symbols @#$%^&*() {}[]",
    "naïve café — “quotes” 日本語 😀 Ελληνικά \u00a0nbsp",
    "line one\nline two\n\n\ttabbed",
    "<s> literal special </s> tokens",
]


def test_sentencepiece_tokenizer_matches_hf_original(tmp_path):
    from tokenizers import Tokenizer

    orig_path, spm = llama2_spm_tokens()
    src = str(tmp_path / "spm.gguf")
    write_tiny_llama(src, hidden=32, n_head=2, n_head_kv=2, ffn=32, n_layer=1,
                     qtypes=(T.Q8_0,), tokenizer="llama", spm_tokens=spm)
    out = tmp_path / "hf"
    run("convert", "--input", src, "--output", str(out))
    ours = Tokenizer.from_file(str(out / "tokenizer.json"))
    orig = Tokenizer.from_file(orig_path)
    for text in TEXTS:
        a, b = ours.encode(text), orig.encode(text)
        assert a.ids == b.ids, f"{text!r}: ours {a.ids} vs HF {b.ids}"
        assert ours.decode(a.ids) == orig.decode(b.ids)
    tc = json.load(open(out / "tokenizer_config.json"))
    assert tc["bos_token"] == "<s>" and tc["eos_token"] == "</s>" and tc["unk_token"] == "<unk>"
    assert tc["add_bos_token"] is True
