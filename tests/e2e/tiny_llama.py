"""Writes tiny random Llama checkpoints for the server tests, with numpy only (no torch in CI):
config.json + generation_config.json + model.safetensors (BF16; the safetensors layout is
written by hand: u64 header length, JSON header, raw little-endian data) beside the real
Llama 3.1 tokenizer files from shared/models/llama3.1-tokenizer.

make_random(dir): hidden 64, 2 layers, GQA 4/2 heads, vocab 128256, untied lm_head: random
  weights, varied greedy text.
make_scripted(dir, script): a model whose greedy output is a chosen token chain. Every layer's
  output projections are zero, so the residual stream is the current token's embedding and the
  logits depend on the last token only (a bigram model); the chain tokens get orthonormal
  embeddings e_i and the untied lm_head row of the successor of chain token i gets 10 * e_i,
  so after rms_norm (scale 8) that successor wins by a margin of ~80 over random rows of
  std 0.05. The chain must not repeat a token.
"""
import json
import os
import shutil

import numpy as np

TOKENIZER_DIR = os.path.join(os.environ.get("QINFER_SOURCE_DIR", os.path.join(
    os.path.dirname(__file__), "..", "..")), "..", "shared", "models", "llama3.1-tokenizer")

VOCAB = 128256
HIDDEN = 64
N_LAYER = 2
N_HEAD = 4
N_HEAD_KV = 2
HEAD_DIM = 16
INTER = 128


def bf16_bytes(a):
    u = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    u = (u + 0x7FFF + ((u >> 16) & 1)) >> 16  # round to nearest even
    return u.astype(np.uint16).tobytes()


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name, arr in tensors.items():
        b = bf16_bytes(arr)
        header[name] = {"dtype": "BF16", "shape": list(arr.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(len(h).to_bytes(8, "little"))
        f.write(h)
        for b in blobs:
            f.write(b)


def write_dir(out, tensors, tied, max_pos):
    os.makedirs(out, exist_ok=True)
    config = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": VOCAB,
        "hidden_size": HIDDEN, "intermediate_size": INTER, "num_hidden_layers": N_LAYER,
        "num_attention_heads": N_HEAD, "num_key_value_heads": N_HEAD_KV, "head_dim": HEAD_DIM,
        "max_position_embeddings": max_pos, "rms_norm_eps": 1e-5, "rope_theta": 500000.0,
        "tie_word_embeddings": tied, "torch_dtype": "bfloat16", "bos_token_id": 128000,
        "eos_token_id": [128001, 128008, 128009], "hidden_act": "silu",
    }
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    for name in ("tokenizer.json", "tokenizer_config.json", "generation_config.json"):
        shutil.copy(os.path.join(TOKENIZER_DIR, name), os.path.join(out, name))
    write_safetensors(os.path.join(out, "model.safetensors"), tensors)
    return out


def layer_tensors(rng, scale):
    t = {}
    for i in range(N_LAYER):
        p = f"model.layers.{i}."
        t[p + "input_layernorm.weight"] = np.ones(HIDDEN, np.float32)
        t[p + "post_attention_layernorm.weight"] = np.ones(HIDDEN, np.float32)
        t[p + "self_attn.q_proj.weight"] = rng.normal(0, 0.125, (N_HEAD * HEAD_DIM, HIDDEN))
        t[p + "self_attn.k_proj.weight"] = rng.normal(0, 0.125, (N_HEAD_KV * HEAD_DIM, HIDDEN))
        t[p + "self_attn.v_proj.weight"] = rng.normal(0, 0.125, (N_HEAD_KV * HEAD_DIM, HIDDEN))
        t[p + "self_attn.o_proj.weight"] = scale * rng.normal(0, 0.125, (HIDDEN, N_HEAD * HEAD_DIM))
        t[p + "mlp.gate_proj.weight"] = rng.normal(0, 0.125, (INTER, HIDDEN))
        t[p + "mlp.up_proj.weight"] = rng.normal(0, 0.125, (INTER, HIDDEN))
        t[p + "mlp.down_proj.weight"] = scale * rng.normal(0, 0.09, (HIDDEN, INTER))
    return t


def make_random(out, seed=0, max_pos=1024):
    rng = np.random.default_rng(seed)
    # Untied: a tied head makes each token predict itself (e . e dominates), a dull test.
    t = {"model.embed_tokens.weight": rng.normal(0, 1.0, (VOCAB, HIDDEN)).astype(np.float32),
         "lm_head.weight": rng.normal(0, 0.3, (VOCAB, HIDDEN)).astype(np.float32),
         "model.norm.weight": np.ones(HIDDEN, np.float32)}
    t.update(layer_tensors(rng, 1.0))
    return write_dir(out, t, False, max_pos)


def make_scripted(out, script, seed=1, max_pos=1024):
    assert len(set(script)) == len(script), "a bigram chain cannot repeat a token"
    rng = np.random.default_rng(seed)
    embed = rng.normal(0, 1.0, (VOCAB, HIDDEN)).astype(np.float32)
    basis, _ = np.linalg.qr(rng.normal(0, 1, (HIDDEN, HIDDEN)))
    for i, tok in enumerate(script[:-1]):
        embed[tok] = basis[:, i]
    head = rng.normal(0, 0.05, (VOCAB, HIDDEN)).astype(np.float32)
    for i, tok in enumerate(script[:-1]):
        head[script[i + 1]] += 10.0 * basis[:, i]
    t = {"model.embed_tokens.weight": embed, "lm_head.weight": head,
         "model.norm.weight": np.ones(HIDDEN, np.float32)}
    t.update(layer_tensors(rng, 0.0))
    return write_dir(out, t, False, max_pos)
