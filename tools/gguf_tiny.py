"""Tiny llama GGUF files written with the `gguf` PyPI package (llama.cpp's own gguf-py writer),
for the end-to-end tests and the fuzzer's seed corpus.

    python3 tools/gguf_tiny.py --seeds tests/fuzz/corpus   # regenerate the fuzz seeds

Weights are random; quantized tensors are real ggml blocks: gguf.quants.quantize where gguf-py
has a quantizer, random bits with finite fp16 super-block scales for the K-quants. Q/K rows are
permuted exactly as convert_hf_to_gguf.py's LlamaModel.permute does, so a reader must undo it.
"""

import argparse
import os

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T


def hf_permute(w, n_head):
    """convert_hf_to_gguf.py LlamaModel.permute: per head, rows (2, hd/2) -> (hd/2, 2)."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def quantize(rng, x, qtype):
    """Raw ggml bytes of `x` (rows, cols) in `qtype`, shaped (rows, bytes_per_row)."""
    if qtype == T.F32:
        return x.astype(np.float32)
    if qtype == T.F16:
        return x.astype(np.float16)
    if qtype in (T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0, T.BF16):
        return gguf.quants.quantize(x.astype(np.float32), qtype)
    block, nbytes = gguf.GGML_QUANT_SIZES[qtype]
    raw = rng.integers(0, 256, size=(x.shape[0], x.shape[1] // block, nbytes), dtype=np.uint8)
    half = lambda lo, hi: rng.uniform(lo, hi, size=raw.shape[:2]).astype(np.float16).view(np.uint8)
    if qtype in (T.Q4_K, T.Q5_K):
        raw[..., 0:2] = half(-0.05, 0.05).reshape(*raw.shape[:2], 2)
        raw[..., 2:4] = half(-0.05, 0.05).reshape(*raw.shape[:2], 2)
    elif qtype == T.Q6_K:
        raw[..., 208:210] = half(-0.005, 0.005).reshape(*raw.shape[:2], 2)
    return raw.reshape(x.shape[0], -1)


def gpt2_vocab(n_extra_merges=40):
    """A byte-level BPE vocabulary: specials, the 256 byte symbols, and a few merges."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    symbols = [chr(c) for c in cs]
    tokens = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"] + symbols
    merges = []
    for word in ["Ġt", "he", "Ġa", "in", "Ġthe", "er", "on", "Ġo", "re", "at"][:n_extra_merges]:
        # left-to-right merges of the word's symbols that are already in the vocabulary
        parts = list(word)
        while len(parts) > 1:
            a, b = parts[0], parts[1]
            if a + b not in tokens:
                tokens.append(a + b)
                merges.append(f"{a} {b}")
            parts = [a + b] + parts[2:]
    types = [3, 3, 3] + [1] * (len(tokens) - 3)
    return tokens, types, merges


def write_tiny_llama(path, hidden=256, n_head=4, n_head_kv=2, ffn=512, n_layer=2,
                     qtypes=(T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0, T.Q4_K, T.Q5_K, T.Q6_K, T.F16, T.BF16),
                     tied=True, seed=0, tokenizer="gpt2", spm_tokens=None):
    """Writes the file; returns {gguf tensor name: (hf name, qtype, hf-order float32 array)}."""
    rng = np.random.default_rng(seed)
    w = gguf.GGUFWriter(path, "llama")
    head_dim = hidden // n_head
    if tokenizer == "gpt2":
        tokens, types, merges = gpt2_vocab()
        w.add_tokenizer_model("gpt2")
        w.add_tokenizer_pre("smollm")
        w.add_token_list(tokens)
        w.add_token_types(types)
        w.add_token_merges(merges)
        w.add_bos_token_id(1)
        w.add_eos_token_id(2)
        w.add_add_bos_token(False)
        w.add_chat_template("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}")
    else:
        tokens, scores, types = spm_tokens
        w.add_tokenizer_model("llama")
        w.add_token_list(tokens)
        w.add_token_scores(scores)
        w.add_token_types(types)
        w.add_bos_token_id(1)
        w.add_eos_token_id(2)
        w.add_unk_token_id(0)
    vocab = len(tokens)
    w.add_context_length(512)
    w.add_embedding_length(hidden)
    w.add_block_count(n_layer)
    w.add_feed_forward_length(ffn)
    w.add_head_count(n_head)
    w.add_head_count_kv(n_head_kv)
    w.add_rope_freq_base(10000.0)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_dimension_count(head_dim)
    w.add_vocab_size(vocab)

    out = {}
    k = [0]

    def add(gname, hfname, x, qtype=None, permute_heads=0):
        if qtype is None and x.ndim == 2:
            qtype = qtypes[k[0] % len(qtypes)]
            k[0] += 1
        stored = hf_permute(x, permute_heads) if permute_heads else x
        data = quantize(rng, stored, qtype) if x.ndim == 2 else stored.astype(np.float32)
        w.add_tensor(gname, data, raw_dtype=qtype if x.ndim == 2 else None)
        out[gname] = (hfname, qtype if x.ndim == 2 else T.F32, x)

    r = lambda *s: rng.standard_normal(s).astype(np.float32)
    add("token_embd.weight", "model.embed_tokens.weight", r(vocab, hidden), T.Q8_0)
    for i in range(n_layer):
        p, h = f"blk.{i}.", f"model.layers.{i}."
        add(p + "attn_norm.weight", h + "input_layernorm.weight", r(hidden))
        add(p + "attn_q.weight", h + "self_attn.q_proj.weight", r(hidden, hidden), permute_heads=n_head)
        add(p + "attn_k.weight", h + "self_attn.k_proj.weight", r(n_head_kv * head_dim, hidden), permute_heads=n_head_kv)
        add(p + "attn_v.weight", h + "self_attn.v_proj.weight", r(n_head_kv * head_dim, hidden))
        add(p + "attn_output.weight", h + "self_attn.o_proj.weight", r(hidden, hidden))
        add(p + "ffn_norm.weight", h + "post_attention_layernorm.weight", r(hidden))
        add(p + "ffn_gate.weight", h + "mlp.gate_proj.weight", r(ffn, hidden))
        add(p + "ffn_up.weight", h + "mlp.up_proj.weight", r(ffn, hidden))
        add(p + "ffn_down.weight", h + "mlp.down_proj.weight", r(hidden, ffn))
    add("output_norm.weight", "model.norm.weight", r(hidden))
    if not tied:
        add("output.weight", "lm_head.weight", r(vocab, hidden), T.F16)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", required=True, help="directory for the fuzz seed corpus")
    args = ap.parse_args()
    os.makedirs(args.seeds, exist_ok=True)
    legacy = (T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0, T.F16, T.BF16)
    write_tiny_llama(os.path.join(args.seeds, "tiny_gpt2.gguf"), hidden=32, n_head=2, n_head_kv=1,
                     ffn=64, n_layer=1, qtypes=legacy, tied=False)
    rng = np.random.default_rng(1)
    w = gguf.GGUFWriter(os.path.join(args.seeds, "kquant_tensors.gguf"), "llama")
    for q in (T.Q4_K, T.Q5_K, T.Q6_K):
        w.add_tensor(f"t_{q.name}", quantize(rng, np.zeros((1, 256), np.float32), q), raw_dtype=q)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    spm = (["<unk>", "<s>", "</s>", "▁", "a", "b", "▁a", "ab", "▁ab", "<0x41>"],
           [0.0, 0.0, 0.0, -1.0, -2.0, -3.0, -4.0, -5.0, -6.0, 0.0], [2, 3, 3, 1, 1, 1, 1, 1, 1, 6])
    write_tiny_llama(os.path.join(args.seeds, "tiny_spm.gguf"), hidden=32, n_head=2, n_head_kv=2,
                     ffn=32, n_layer=1, qtypes=legacy, tokenizer="llama", spm_tokens=spm)
    for f in sorted(os.listdir(args.seeds)):
        print(f, os.path.getsize(os.path.join(args.seeds, f)))


if __name__ == "__main__":
    main()
