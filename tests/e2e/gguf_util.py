"""Helpers shared by the GGUF end-to-end tests (no torch: numpy, gguf-py, tokenizers)."""

import json
import os
import subprocess
import sys

import numpy as np

SOURCE_DIR = os.environ.get("QINFER_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(SOURCE_DIR, "tools"))


def qinfer():
    b = os.environ.get("QINFER_BIN")
    if not b:
        import pytest
        pytest.skip("QINFER_BIN is not set (run through ctest)")
    return b


def run(*args, check=True):
    r = subprocess.run([qinfer(), *args], capture_output=True, text=True)
    if check and r.returncode != 0:
        raise AssertionError(f"qinfer {' '.join(args)} failed ({r.returncode}):\n{r.stderr[-3000:]}")
    return r


def read_safetensors(path):
    """{name: numpy array} from a .safetensors file (header per the safetensors spec)."""
    dtypes = {"F32": np.float32, "F16": np.float16, "BF16": np.uint16, "I32": np.int32}
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        b, end = e["data_offsets"]
        out[name] = np.frombuffer(data[b:end], dtype=dtypes[e["dtype"]]).reshape(e["shape"])
    return out


def read_checkpoint(d):
    idx = os.path.join(d, "model.safetensors.index.json")
    if not os.path.exists(idx):
        return read_safetensors(os.path.join(d, "model.safetensors"))
    out = {}
    for shard in sorted(set(json.load(open(idx))["weight_map"].values())):
        out.update(read_safetensors(os.path.join(d, shard)))
    return out


HF_NAMES = {
    "token_embd.weight": "model.embed_tokens.weight",
    "output_norm.weight": "model.norm.weight",
    "output.weight": "lm_head.weight",
}
BLOCK_NAMES = {
    "attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm",
    "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj", "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj",
    "ffn_down": "mlp.down_proj",
}


def hf_name(gname):
    if gname in HF_NAMES:
        return HF_NAMES[gname]
    _, i, kind, suffix = gname.split(".")
    return f"model.layers.{i}.{BLOCK_NAMES[kind]}.{suffix}"


def compare_with_gguf_py(gguf_path, converted):
    """Every tensor of the converted checkpoint against gguf-py's own dequantization of the GGUF
    (gguf.quants.dequantize, numpy), with convert_hf_to_gguf.py's Q/K permutation re-applied to
    ours. Returns a list of mismatch descriptions (empty when all are bit-identical)."""
    import gguf
    from gguf_tiny import hf_permute

    reader = gguf.GGUFReader(gguf_path)
    n_head = int(reader.fields["llama.attention.head_count"].contents())
    n_head_kv = int(reader.fields["llama.attention.head_count_kv"].contents())
    ours = read_checkpoint(converted)
    bad = []
    seen = 0
    for t in reader.tensors:
        if t.name == "rope_freqs.weight":
            continue
        ref = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32)
        shape = [int(x) for x in reversed(t.shape.tolist())]
        ref = ref.reshape(shape)
        name = hf_name(t.name)
        if name not in ours:
            bad.append(f"{name} missing")
            continue
        x = ours[name].astype(np.float32)
        if ".q_proj." in name:
            x = hf_permute(x, n_head)
        elif ".k_proj." in name:
            x = hf_permute(x, n_head_kv)
        seen += 1
        if x.shape != ref.shape:
            bad.append(f"{name}: shape {x.shape} vs gguf-py {ref.shape}")
        elif not np.array_equal(x.view(np.uint32), ref.view(np.uint32)):
            diff = np.abs(x - ref)
            i = int(np.argmax(diff))
            bad.append(f"{name} ({t.tensor_type.name}): {int((x != ref).sum())} elements differ, "
                       f"max |diff| {diff.max()} at flat index {i} (ours {x.flat[i]}, gguf-py {ref.flat[i]})")
    if seen != len(ours):
        bad.append(f"converted checkpoint has {len(ours)} tensors, GGUF {seen}")
    return bad
