#!/usr/bin/env python3
"""Writes a random Llama-3.1-8B-shaped (or, --shape 1b, Llama-3.2-1B-shaped) FP8 checkpoint (compressed-tensors, llm-compressor's
FP8_DYNAMIC scheme: F8_E4M3 weights with per-output-channel BF16 scales, dynamic per-token
activations, lm_head kept in BF16) and, with --reference, transformers' fp32 fake-quant
reference for it: every Linear but lm_head quantizes its input per token as vLLM does
    s = max(amax(x_row) / 448, 1 / (448 * 512)),  x_q = fp8(clamp(x / s, -448, 448)) * s
and uses the dequantized weight w_q * s_w.
With --static, activations are static per tensor instead (llm-compressor's FP8 preset, also the
activation scheme of TensorRT-LLM's FP8 checkpoints; weights stay per channel): each Linear's
input_scale (BF16 [1]) = bf16(amax / 448), amax being its input's max |x| over a calibration
forward of the unquantized-activation model on 4 random 128-token prompts (llm-compressor's
min-max observer), and the reference quantizes x_q = fp8(clamp(x * (1 / s), -448, 448)) * s.
reference.safetensors holds prompt_a (I32, 32 tokens), logits_a (F32, every prompt position)
and greedy_a (8 greedy tokens), the layout bench/gpu_golden.cc reads.

Run ON the device machine (needs a GPU with torch; writes GBs to local disk, never committed):
  python3 tools/gpu_make_random_fp8.py --out /tmp/llama8b_fp8 [--layers 32] [--static] [--reference]
"""
import argparse
import json
import os

import torch
from safetensors.torch import save_file
from transformers import LlamaConfig, LlamaForCausalLM

FP8 = torch.float8_e4m3fn
FP8_MAX = 448.0


# Per shape: vocab, hidden, intermediate, head_dim, llama3 rope factor, bos, eos. 32 / 8 heads.
# "1b" is Llama-3.2-1B with its tied embeddings kept as an untied BF16 lm_head copy (the same
# bytes read per step as the tied table); "tiny" is a CPU self-check of this script.
SHAPES = {
    "8b": (128256, 4096, 14336, 128, 8.0, 128000, 128001),
    "1b": (128256, 2048, 8192, 64, 32.0, 128000, 128001),
    "tiny": (512, 64, 128, 16, 8.0, 1, 2),
}


def config(layers, tiny=False, shape="8b"):
    vocab, hidden, inter, head_dim, factor, bos, eos = SHAPES["tiny" if tiny else shape]
    return LlamaConfig(
        vocab_size=vocab, hidden_size=hidden, intermediate_size=inter, num_hidden_layers=layers,
        num_attention_heads=4 if tiny else 32, num_key_value_heads=2 if tiny else 8,
        head_dim=head_dim, rms_norm_eps=1e-5, max_position_embeddings=131072,
        tie_word_embeddings=False, bos_token_id=bos, eos_token_id=eos,
        rope_parameters={"rope_type": "llama3", "rope_theta": 500000.0, "factor": factor,
                         "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                         "original_max_position_embeddings": 8192})


def quant_config():
    def args(strategy, dynamic):
        return {"num_bits": 8, "type": "float", "symmetric": True, "group_size": None,
                "strategy": strategy, "dynamic": dynamic}
    return {"config_groups": {"group_0": {"targets": ["Linear"], "weights": args("channel", False),
                                          "input_activations": (args("tensor", False) if STATIC
                                                                else args("token", True))
                                          if ACT_QUANT else None,
                                          "output_activations": None, "format": None}},
            "format": "float-quantized", "global_compression_ratio": None, "ignore": ["lm_head"],
            "kv_cache_scheme": None, "quant_method": "compressed-tensors",
            "quantization_status": "compressed", "sparsity_config": {}, "transform_config": {},
            "version": "0.20.0"}


def linear_shapes(cfg):
    h, i, hd = cfg.hidden_size, cfg.intermediate_size, cfg.head_dim
    return {"self_attn.q_proj": (cfg.num_attention_heads * hd, h),
            "self_attn.k_proj": (cfg.num_key_value_heads * hd, h),
            "self_attn.v_proj": (cfg.num_key_value_heads * hd, h),
            "self_attn.o_proj": (h, cfg.num_attention_heads * hd),
            "mlp.gate_proj": (i, h), "mlp.up_proj": (i, h), "mlp.down_proj": (h, i)}


DEV = "cuda"


def make_tensors(cfg, gen):
    """Random weights (std 0.02, as HF initializes), quantized as llm-compressor does:
    s = bf16(amax_row / 448), q = fp8(clamp(bf16(w / s), -448, 448))."""
    dev = DEV
    t = {}
    bf = torch.bfloat16
    t["model.embed_tokens.weight"] = (torch.randn(cfg.vocab_size, cfg.hidden_size, device=dev,
                                                  generator=gen) * 0.02).to(bf).cpu()
    t["lm_head.weight"] = (torch.randn(cfg.vocab_size, cfg.hidden_size, device=dev,
                                       generator=gen) * 0.02).to(bf).cpu()
    t["model.norm.weight"] = (1 + 0.1 * torch.randn(cfg.hidden_size, device=dev,
                                                    generator=gen)).to(bf).cpu()
    for l in range(cfg.num_hidden_layers):
        p = f"model.layers.{l}."
        for n in ("input_layernorm", "post_attention_layernorm"):
            t[p + n + ".weight"] = (1 + 0.1 * torch.randn(cfg.hidden_size, device=dev,
                                                          generator=gen)).to(bf).cpu()
        for n, (o, i) in linear_shapes(cfg).items():
            w = (torch.randn(o, i, device=dev, generator=gen) * 0.02).to(bf)
            s = (w.float().abs().amax(dim=1, keepdim=True) / FP8_MAX).to(bf)
            q = (w / s).to(bf).float().clamp(-FP8_MAX, FP8_MAX).to(FP8)
            t[p + n + ".weight"] = q.cpu()
            t[p + n + ".weight_scale"] = s.cpu()
    return t


ACT_QUANT = True
STATIC = False


class FakeQuantLinear(torch.nn.Module):
    """in_scale: a static input_scale (float), "calibrate" (no activation quantization; records
    max |x| in self.amax), or None (dynamic per token)."""

    def __init__(self, wq, ws, in_scale=None):
        super().__init__()
        self.w = wq.float() * ws.float()  # (out, in), dequantized once
        self.in_scale = in_scale
        self.amax = 0.0

    def forward(self, x):
        if self.in_scale == "calibrate":
            self.amax = max(self.amax, x.abs().max().item())
            return x @ self.w.t()
        if not ACT_QUANT:
            return x @ self.w.t()
        if self.in_scale is not None:
            s = torch.tensor(self.in_scale, dtype=torch.float32, device=x.device)
            xq = (x * (1.0 / s)).clamp(-FP8_MAX, FP8_MAX).to(FP8).float() * s
            return xq @ self.w.t()
        s = (x.abs().amax(dim=-1, keepdim=True) / FP8_MAX).clamp(min=1.0 / (FP8_MAX * 512))
        xq = (x / s).clamp(-FP8_MAX, FP8_MAX).to(FP8).float() * s
        return xq @ self.w.t()


def build_model(cfg, tensors, in_scale):
    """transformers' fp32 model with FakeQuantLinear layers; in_scale(key) as FakeQuantLinear's."""
    torch.set_default_dtype(torch.float32)
    with torch.device("meta"):
        model = LlamaForCausalLM(cfg)
    dense = {k: v.float() for k, v in tensors.items() if not k.endswith("weight_scale")
             and not k.endswith("input_scale") and v.dtype != FP8}
    model.load_state_dict(dense, strict=False, assign=True)
    linears = {}
    for l in range(cfg.num_hidden_layers):
        for n in linear_shapes(cfg):
            key = f"model.layers.{l}.{n}"
            parent, child = key.rsplit(".", 1)
            linears[key] = FakeQuantLinear(tensors[key + ".weight"].to(DEV),
                                           tensors[key + ".weight_scale"].to(DEV), in_scale(key))
            setattr(model.get_submodule(parent), child, linears[key])
    model.model.rotary_emb = type(model.model.rotary_emb)(config=cfg)  # real buffers
    return model.to(DEV).eval(), linears


def calibrate(cfg, tensors):
    """Static input scales: bf16(amax / 448) of each Linear's input over a calibration forward."""
    model, linears = build_model(cfg, tensors, lambda key: "calibrate")
    g = torch.Generator().manual_seed(5)
    prompts = torch.randint(0, cfg.vocab_size, (4, 128), generator=g)
    with torch.no_grad():
        model(prompts.to(DEV))
    for key, lin in linears.items():
        tensors[key + ".input_scale"] = torch.tensor([lin.amax / FP8_MAX]).to(torch.bfloat16)
    del model, linears


def reference(cfg, tensors, out_dir):
    def in_scale(key):
        return tensors[key + ".input_scale"].float().item() if STATIC else None
    model, _ = build_model(cfg, tensors, in_scale)
    g = torch.Generator().manual_seed(3)
    prompt = torch.randint(0, cfg.vocab_size, (1, 32), generator=g)
    with torch.no_grad():
        logits = model(prompt.to(DEV)).logits[0].float().cpu()
        gen = model.generate(prompt.to(DEV), max_new_tokens=8, do_sample=False, top_k=None,
                             top_p=None, temperature=None)
    save_file({"prompt_a": prompt[0].to(torch.int32), "logits_a": logits.contiguous(),
               "greedy_a": gen[0, 32:].to(torch.int32).cpu()},
              os.path.join(out_dir, "reference.safetensors"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--layers", type=int, default=32)
    ap.add_argument("--reference", action="store_true")
    ap.add_argument("--tiny", action="store_true", help="hidden 64 on the CPU: checks the script")
    ap.add_argument("--cpu", action="store_true", help="generate and run the reference on the CPU")
    ap.add_argument("--weight-only", action="store_true", help="no activation quantization")
    ap.add_argument("--static", action="store_true",
                    help="static per-tensor activations with calibrated input_scale")
    ap.add_argument("--shape", choices=["8b", "1b"], default="8b",
                    help="Llama-3.1-8B (default) or Llama-3.2-1B dimensions (use --layers 16)")
    a = ap.parse_args()
    global DEV, ACT_QUANT, STATIC
    ACT_QUANT = not a.weight_only
    STATIC = a.static and ACT_QUANT
    DEV = "cpu" if a.tiny or a.cpu else "cuda"
    cfg = config(a.layers, a.tiny, a.shape)
    gen = torch.Generator(device=DEV).manual_seed(0)
    tensors = make_tensors(cfg, gen)
    if STATIC:
        calibrate(cfg, tensors)
    os.makedirs(a.out, exist_ok=True)
    save_file(tensors, os.path.join(a.out, "model.safetensors"), metadata={"format": "pt"})
    c = cfg.to_dict()
    c["quantization_config"] = quant_config()
    c["torch_dtype"] = "bfloat16"
    c["dtype"] = "bfloat16"
    c["architectures"] = ["LlamaForCausalLM"]
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(c, f, indent=2, sort_keys=True)
    if a.reference:
        reference(cfg, tensors, a.out)
    print(f"wrote {a.out}: {a.layers} layers, static={STATIC}, reference={a.reference}")


if __name__ == "__main__":
    main()
