"""`qinfer quantize` end to end: quantize the tiny trained BF16 fixture (tests/quant/data/tiny_bf16)
with each scheme through the CLI, then check the output directory against the compressed-tensors
spec with plain Python (safetensors headers read by hand, FP8 decoded from its bit layout):
dtypes and shapes of every tensor, llm-compressor's weight-scale formula, nearest-value FP8
rounding, config.json (quantization_config equal to what compressed-tensors writes, the rest of
the input config kept), recipe.yaml, copied tokenizer files, sharding. When torch, transformers
and compressed-tensors are importable (not in CI), the output must also load in transformers'
compressed-tensors reader and give a perplexity within 1% of the BF16 model's.
"""
import json
import math
import os
import struct
import subprocess

import numpy as np
import pytest

SOURCE_DIR = os.environ.get("QINFER_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
QINFER = os.environ.get("QINFER_BIN", os.path.join(SOURCE_DIR, "build", "apps", "qinfer"))
DATA = os.path.join(SOURCE_DIR, "tests", "quant", "data")
TINY = os.path.join(DATA, "tiny_bf16")
LINEARS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
SCHEMES = {  # name: (weights per channel, static activations)
    "fp8": (True, True), "fp8-dynamic": (True, False), "fp8-per-tensor": (False, True)}


def fp8_table():
    """E4M3FN decode of all 256 codes from the OCP spec (bias 7; exp 0 = subnormal; S.1111.111 NaN)."""
    out = np.zeros(256, dtype=np.float64)
    for c in range(256):
        s, e, m = c >> 7, (c >> 3) & 15, c & 7
        v = math.nan if (e == 15 and m == 7) else (m / 8 * 2.0 ** -6 if e == 0 else (1 + m / 8) * 2.0 ** (e - 7))
        out[c] = -v if s else v
    return out


FP8 = fp8_table()


def bf16_to_f32(u16):
    return (u16.astype(np.uint32) << 16).view(np.float32)


def f32_to_bf16(x):
    u = np.asarray(x, dtype=np.float32).view(np.uint32)
    u = u + 0x7FFF + ((u >> 16) & 1)  # round to nearest even (finite inputs)
    return (u >> 16).astype(np.uint16)


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    header.pop("__metadata__", None)
    return header, data


def load_all(d):
    idx = os.path.join(d, "model.safetensors.index.json")
    files = sorted(set(json.load(open(idx))["weight_map"].values())) if os.path.exists(idx) else ["model.safetensors"]
    tensors = {}
    for fn in files:
        header, data = read_safetensors(os.path.join(d, fn))
        for name, e in header.items():
            b, end = e["data_offsets"]
            tensors[name] = (e["dtype"], e["shape"], data[b:end])
    return tensors


def as_array(t):
    dtype, shape, raw = t
    np_dt = {"BF16": np.uint16, "F8_E4M3": np.uint8, "F32": np.float32}[dtype]
    return np.frombuffer(raw, dtype=np_dt).reshape(shape)


def quantize(tmp_path, scheme, *extra):
    out = str(tmp_path / scheme)
    cmd = [QINFER, "quantize", "--model", TINY, "--output", out, "--scheme", scheme, *extra]
    if SCHEMES[scheme][1]:
        cmd += ["--calibration", os.path.join(TINY, "calibration.txt")]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return out


@pytest.mark.parametrize("scheme", list(SCHEMES))
def test_output_matches_compressed_tensors_spec(tmp_path, scheme):
    per_channel, static = SCHEMES[scheme]
    out = quantize(tmp_path, scheme, "--max-shard-mb", "0")  # one tensor per shard: exercises the index
    assert os.path.exists(os.path.join(out, "model.safetensors.index.json"))
    src, dst = load_all(TINY), load_all(out)
    for name, (dtype, shape, _) in src.items():
        module = name[: -len(".weight")]
        if name.endswith(".weight") and module.split(".")[-1] in LINEARS:
            assert dst[name][0] == "F8_E4M3" and dst[name][1] == shape, name
            ws = dst[module + ".weight_scale"]
            assert ws[0] == "BF16" and ws[1] == ([shape[0], 1] if per_channel else [1]), module
            assert (module + ".input_scale" in dst) == static, module
            if static:
                assert dst[module + ".input_scale"][0] == "BF16" and dst[module + ".input_scale"][1] == [1]
                assert bf16_to_f32(as_array(dst[module + ".input_scale"]))[0] > 0
            check_weight(as_array(src[name]), as_array(dst[name]), as_array(ws), per_channel, name)
        else:  # embeddings, norms and the ignored lm_head are copied as they are
            assert dst[name] == src[name], name
    expected = json.load(open(os.path.join(DATA, "expected_quantization_config.json")))[scheme]
    cfg = json.load(open(os.path.join(out, "config.json")))
    assert cfg["quantization_config"] == expected
    cfg_in = json.load(open(os.path.join(TINY, "config.json")))
    assert {k: v for k, v in cfg.items() if k != "quantization_config"} == cfg_in
    assert list(cfg) == sorted(cfg)  # json.dump(sort_keys=True) as update_config writes it
    recipe = open(os.path.join(out, "recipe.yaml")).read()
    assert "QuantizationModifier:" in recipe and "ignore: [lm_head]" in recipe
    if scheme != "fp8":
        assert f"scheme: {'FP8_DYNAMIC' if scheme == 'fp8-dynamic' else 'FP8'}" in recipe
    for f in ("tokenizer.json", "tokenizer_config.json", "generation_config.json"):
        assert open(os.path.join(out, f), "rb").read() == open(os.path.join(TINY, f), "rb").read()


def check_weight(w_bf16, q, scale_bf16, per_channel, name):
    """llm-compressor: s = bf16(amax / 448); q = nearest E4M3 value to clamp(bf16(w / s))."""
    w = bf16_to_f32(w_bf16).astype(np.float32)
    amax = np.abs(w).max(axis=1, keepdims=True) if per_channel else np.abs(w).max().reshape(1)
    s = bf16_to_f32(f32_to_bf16(amax / np.float32(448.0)))
    got_s = bf16_to_f32(scale_bf16).reshape(s.shape)
    np.testing.assert_array_equal(got_s, s, err_msg=name + " weight_scale")
    v = np.clip(bf16_to_f32(f32_to_bf16(w / s)), -448, 448).astype(np.float64)
    dec = FP8[q]
    grid = np.unique(FP8[~np.isnan(FP8)])
    pos = np.clip(np.searchsorted(grid, v), 1, len(grid) - 1)
    best = np.minimum(np.abs(grid[pos] - v), np.abs(grid[pos - 1] - v))
    assert np.all(np.abs(dec - v) <= best), name + ": an FP8 value is not the nearest to w / s"


def test_errors_are_reported(tmp_path):
    r = subprocess.run([QINFER, "quantize", "--model", TINY, "--output", str(tmp_path / "x"),
                        "--scheme", "fp8"], capture_output=True, text=True)
    assert r.returncode != 0 and "--calibration" in r.stderr
    r = subprocess.run([QINFER, "quantize", "--model", TINY, "--output", str(tmp_path / "x"),
                        "--scheme", "int3"], capture_output=True, text=True)
    assert r.returncode != 0 and "int3" in r.stderr
    r = subprocess.run([QINFER, "quantize", "--model", os.path.join(DATA, "fp8_w_channel_a_dynamic"),
                        "--output", str(tmp_path / "x"), "--scheme", "fp8-dynamic"],
                       capture_output=True, text=True)
    assert r.returncode != 0 and "already quantized" in r.stderr


def test_loads_in_transformers_compressed_tensors(tmp_path):
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    pytest.importorskip("compressed_tensors")
    out = quantize(tmp_path, "fp8")
    text = open(os.path.join(TINY, "heldout.txt"), "rb").read()
    ids = torch.tensor([[256] + list(text[i:i + 127]) for i in range(0, len(text) - 127, 127)])

    def ppl(d):
        m = transformers.AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32).eval()
        with torch.no_grad():
            return math.exp(m(ids, labels=ids).loss.item())

    p16, p8 = ppl(TINY), ppl(out)
    assert abs(p8 / p16 - 1) < 0.01, (p16, p8)


def test_chat_calibration_tokens_match_jinja2_and_tokenizers(tmp_path):
    """--chat-template renders "messages" samples as transformers' apply_chat_template(tokenize=False)
    (jinja2 here) and tokenizes them without special tokens, plain text with them; the token
    count qinfer reports must equal the one computed here with jinja2 + tokenizers."""
    jinja2 = pytest.importorskip("jinja2")
    tokenizers = pytest.importorskip("tokenizers")
    chat = [{"role": "user", "content": "Every quick model finds the weight."},
            {"role": "assistant", "content": "Some green value reads one token."}]
    calib = tmp_path / "calib.jsonl"
    calib.write_text(json.dumps({"messages": chat}) + "\n" + json.dumps({"text": "A blue dog reads."}) + "\n")
    cfg = json.load(open(os.path.join(TINY, "tokenizer_config.json")))
    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True)
    rendered = env.from_string(cfg["chat_template"]).render(
        messages=chat, bos_token=cfg["bos_token"], eos_token=cfg["eos_token"], add_generation_prompt=False)
    rendered_text = env.from_string(cfg["chat_template"]).render(
        messages=[{"role": "user", "content": "A blue dog reads."}], bos_token=cfg["bos_token"],
        eos_token=cfg["eos_token"], add_generation_prompt=False)
    tok = tokenizers.Tokenizer.from_file(os.path.join(TINY, "tokenizer.json"))
    want = len(tok.encode(rendered, add_special_tokens=False).ids) + \
        len(tok.encode(rendered_text, add_special_tokens=False).ids)
    r = subprocess.run([QINFER, "quantize", "--model", TINY, "--output", str(tmp_path / "o"), "--scheme", "fp8",
                        "--calibration", str(calib), "--chat-template"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert f"calibration: 2 samples, {want} tokens" in r.stderr, r.stderr
    r = subprocess.run([QINFER, "quantize", "--model", TINY, "--output", str(tmp_path / "p"), "--scheme", "fp8",
                        "--calibration", str(calib)], capture_output=True, text=True)
    assert r.returncode != 0 and "--chat-template" in r.stderr
