#!/usr/bin/env python3
"""Builds the FP8 golden fixtures under tests/quant/data/ (run here, with torch + transformers;
CI only reads the committed output).

For each combination of weight strategy (tensor | channel) and activation scheme (static
per-tensor | dynamic per-token | none) it writes a tiny random Llama (hidden 64, 2 layers,
vocab 512) in the exact compressed-tensors layout that llm-compressor produces:

  <module>.weight        F8_E4M3 (out, in)
  <module>.weight_scale  BF16 [1] (tensor) or [out, 1] (channel)
  <module>.input_scale   BF16 [1] (static activations only)
  config.json            quantization_config with quant_method "compressed-tensors",
                         format "float-quantized", ignore ["lm_head"]

and a reference forward in fp32 that computes every Linear the way vLLM does, written here with
torch ops, independently of qinfer's C++:

  fused q/k/v and gate/up (vLLM process_weights_after_loading):
    static input scales -> max over the shards
    per-tensor weights with activation quantization -> requantize_with_max_scale:
      w' = fp8(clamp(float(fp16(float(w_q) * s_i)) * (1 / s_max), -448, 448))
  static:   x_q = fp8(clamp(x * (1 / s_x), -448, 448))
  dynamic:  s_x = max(amax(x_row) / 448, 1 / (448 * 512)); x_q = fp8(clamp(x / s_x, -448, 448))
  y = s_x * (s_w * (x_q @ w_q^T))        (weight-only: y = x @ (w_q * s_w)^T)

reference.json holds the prompts, log-softmax of the logits at every prompt position and the
greedy continuation (8 tokens, transformers' generate with the patched Linears).

Weights are quantized as llm-compressor does (compressed_tensors calculate_qparams + _quantize):
s = bf16(amax / 448) (0 -> bf16 eps), q = fp8(clamp(bf16(w / s), -448, 448)).
Static input scales come from a calibration pass of the unquantized model (amax over all
calibration tokens / 448, rounded to bf16); then k_proj's is multiplied by 1.25 and v_proj's by
0.8 so that the max-merge rule is exercised (the scales are data here, not a claim about
calibration).

Usage: python3 tools/make_fp8_fixtures.py [OUT_DIR]   (default tests/quant/data)
"""
import json
import os
import sys

import torch
from safetensors.torch import save_file
from transformers import LlamaConfig, LlamaForCausalLM

FP8 = torch.float8_e4m3fn
FP8_MAX = 448.0
COMBOS = {
    "fp8_w_tensor_a_static": ("tensor", "static"),
    "fp8_w_tensor_a_dynamic": ("tensor", "dynamic"),
    "fp8_w_channel_a_static": ("channel", "static"),
    "fp8_w_channel_a_dynamic": ("channel", "dynamic"),
    "fp8_w_channel_a_none": ("channel", "none"),
}
PROMPTS = [[1, 17, 250, 3, 99, 480, 12, 7, 300, 41], [1, 5, 5, 200, 64, 128, 511, 2]]
N_NEW = 8


def tiny_config():
    return LlamaConfig(vocab_size=512, hidden_size=64, intermediate_size=128,
                       num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                       head_dim=16, max_position_embeddings=256, rms_norm_eps=1e-5,
                       rope_theta=10000.0, tie_word_embeddings=False, bos_token_id=1,
                       eos_token_id=2, torch_dtype="bfloat16")


def base_model(seed=0):
    torch.manual_seed(seed)
    cfg = tiny_config()
    model = LlamaForCausalLM(cfg).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1.0 + 0.1 * torch.randn_like(p))
            elif "embed_tokens" in name:
                p.copy_(torch.randn_like(p))
            elif name == "lm_head.weight":  # peaked distributions: clear greedy choices
                p.copy_(5.0 * torch.randn_like(p) / p.shape[1] ** 0.5)
            else:
                p.copy_(torch.randn_like(p) / p.shape[1] ** 0.5)
            p.copy_(p.to(torch.bfloat16).float())  # the checkpoint stores BF16
    return model


def linear_names(model):
    return [n for n, m in model.named_modules()
            if isinstance(m, torch.nn.Linear) and n != "lm_head"]


def quantize_weight(w_bf16, strategy):
    """llm-compressor: scale and division in the weight's dtype (bf16), then clamp, then fp8."""
    amax = w_bf16.abs().amax() if strategy == "tensor" else w_bf16.abs().amax(dim=1, keepdim=True)
    s = amax / torch.tensor(FP8_MAX, dtype=torch.bfloat16)
    s = torch.where(s == 0, torch.tensor(torch.finfo(torch.bfloat16).eps, dtype=s.dtype), s)
    q = (w_bf16 / s).clamp(-FP8_MAX, FP8_MAX).to(FP8)
    return q, s.reshape(1) if strategy == "tensor" else s


def calibrate(model, names):
    amax = {n: 0.0 for n in names}
    hooks = []
    for n in names:
        mod = model.get_submodule(n)
        hooks.append(mod.register_forward_pre_hook(
            lambda m, args, n=n: amax.__setitem__(n, max(amax[n], args[0].abs().max().item()))))
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        model(torch.randint(0, 512, (4, 32), generator=g))
    for h in hooks:
        h.remove()
    return {n: torch.tensor([a / FP8_MAX], dtype=torch.bfloat16) for n, a in amax.items()}


class VllmFp8Linear(torch.nn.Module):
    def __init__(self, wq, w_scale, act, in_scale):
        super().__init__()
        self.wq, self.act = wq, act
        self.sw = w_scale.float().reshape(-1, 1) if w_scale.numel() > 1 else w_scale.float()
        self.sx = None if in_scale is None else in_scale.float().reshape(())

    def forward(self, x):
        w = self.wq.float()
        if self.act == "none":
            return x @ (w * self.sw).T
        if self.act == "static":
            s = self.sx
            xq = (x * (1.0 / s)).clamp(-FP8_MAX, FP8_MAX).to(FP8).float()
        else:
            amax = x.abs().amax(dim=-1, keepdim=True)
            s = torch.clamp(amax / FP8_MAX, min=1.0 / (FP8_MAX * 512.0))
            xq = (x / s).clamp(-FP8_MAX, FP8_MAX).to(FP8).float()
        acc = (xq.double() @ w.double().T).float()  # exact products; a tighter sum than f32
        sw = self.sw.reshape(1, -1) if self.sw.numel() > 1 else self.sw
        return s * (sw * acc)


def fused_groups(names):
    """q/k/v and gate/up of each layer, as vLLM fuses them."""
    groups = []
    for n in names:
        if n.endswith("q_proj"):
            p = n[: -len("q_proj")]
            groups.append([p + "q_proj", p + "k_proj", p + "v_proj"])
        elif n.endswith("gate_proj"):
            p = n[: -len("gate_proj")]
            groups.append([p + "gate_proj", p + "up_proj"])
        elif n.endswith(("o_proj", "down_proj")):
            groups.append([n])
    return groups


def vllm_params(q, group, w_strategy, act):
    """(weight, weight_scale, input_scale) per module after vLLM's fusion rules."""
    out = {}
    in_scale = None
    if act == "static":
        in_scale = torch.stack([q[n]["input_scale"].float().reshape(()) for n in group]).max()
    s_max = torch.stack([q[n]["weight_scale"].float().max() for n in group]).max()
    for n in group:
        wq, ws = q[n]["weight"], q[n]["weight_scale"].float()
        if w_strategy == "tensor" and act != "none":
            dq = wq.to(torch.float16) * ws.reshape(())  # per_tensor_dequantize: float16
            wq = (dq.float() * (1.0 / s_max)).clamp(-FP8_MAX, FP8_MAX).to(FP8)
            ws = s_max.reshape(1)
        out[n] = (wq, ws, in_scale)
    return out


def quant_config(w_strategy, act):
    def args(strategy, dynamic, observer=None):
        d = {"num_bits": 8, "type": "float", "symmetric": True, "group_size": None,
             "strategy": strategy, "dynamic": dynamic}
        if observer:
            d["observer"] = observer
        return d
    acts = None
    if act == "static":
        acts = args("tensor", False, "static_minmax")
    elif act == "dynamic":
        acts = args("token", True)
    return {"config_groups": {"group_0": {"targets": ["Linear"], "weights": args(w_strategy, False),
                                          "input_activations": acts, "output_activations": None,
                                          "format": None}},
            "format": "float-quantized", "global_compression_ratio": None, "ignore": ["lm_head"],
            "kv_cache_scheme": None, "quant_method": "compressed-tensors",
            "quantization_status": "compressed", "sparsity_config": {}, "transform_config": {},
            "version": "0.20.0"}


def build(out_dir, name, w_strategy, act):
    model = base_model()
    names = linear_names(model)
    scales = calibrate(model, names) if act == "static" else {}
    for n in names:  # make the fused shards' input scales differ
        if n in scales and n.endswith("k_proj"):
            scales[n] = (scales[n].float() * 1.25).to(torch.bfloat16)
        if n in scales and n.endswith("v_proj"):
            scales[n] = (scales[n].float() * 0.8).to(torch.bfloat16)
    tensors, q = {}, {}
    for n, p in model.state_dict().items():
        mod = n[: -len(".weight")]
        if mod in names:
            wq, ws = quantize_weight(p.to(torch.bfloat16), w_strategy)
            q[mod] = {"weight": wq, "weight_scale": ws}
            tensors[n] = wq.contiguous()
            tensors[mod + ".weight_scale"] = ws.contiguous()
            if act == "static":
                q[mod]["input_scale"] = scales[mod]
                tensors[mod + ".input_scale"] = scales[mod].contiguous()
        else:
            tensors[n] = p.to(torch.bfloat16).contiguous()
    for group in fused_groups(names):
        for n, (wq, ws, s_in) in vllm_params(q, group, w_strategy, act).items():
            parent, child = n.rsplit(".", 1)
            setattr(model.get_submodule(parent), child, VllmFp8Linear(wq, ws, act, s_in))
    d = os.path.join(out_dir, name)
    os.makedirs(d, exist_ok=True)
    save_file(tensors, os.path.join(d, "model.safetensors"), metadata={"format": "pt"})
    cfg = model.config.to_dict()
    cfg["quantization_config"] = quant_config(w_strategy, act)
    cfg["torch_dtype"] = "bfloat16"
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
    ref = {"prompts": PROMPTS, "logprobs": [], "greedy": []}
    with torch.no_grad():
        for p in PROMPTS:
            ids = torch.tensor([p])
            lp = torch.log_softmax(model(ids).logits[0].float(), dim=-1)
            ref["logprobs"].append([[round(v, 5) for v in row] for row in lp.tolist()])
            gen = model.generate(ids, max_new_tokens=N_NEW, do_sample=False,
                                 eos_token_id=None, pad_token_id=0)
            ref["greedy"].append(gen[0, len(p):].tolist())
            # top-1 minus top-2 log-probability at each greedy step: a test may only demand
            # equal ids where this margin exceeds its tolerance.
            top2 = torch.log_softmax(model(gen).logits[0, len(p) - 1:-1].float(), -1).topk(2).values
            ref.setdefault("greedy_margin", []).append(
                [round(v, 5) for v in (top2[:, 0] - top2[:, 1]).tolist()])
    with open(os.path.join(d, "reference.json"), "w") as f:
        json.dump(ref, f, separators=(",", ":"))
    print(name, "greedy", ref["greedy"], "min margin",
          min(min(m) for m in ref["greedy_margin"]))


# ---- a tiny trained BF16 model for the quantizer round trip (perplexity must mean something) --

WORDS = ("the a one every some cat dog bird model token layer weight scale value quantized "
         "small large quick slow red blue green reads writes computes stores loads sees finds "
         "keeps makes over under near with from into and but then so").split()


def synthetic_text(seed, n_sentences):
    """Sentences from a small grammar (seeded): learnable, license-free."""
    g = torch.Generator().manual_seed(seed)
    det, adj, noun, verb = WORDS[:5], WORDS[15:22], WORDS[5:15], WORDS[22:30]
    pick = lambda xs: xs[torch.randint(len(xs), (1,), generator=g).item()]
    out = []
    for _ in range(n_sentences):
        s = f"{pick(det)} {pick(adj)} {pick(noun)} {pick(verb)} {pick(det)} {pick(noun)}"
        if torch.rand(1, generator=g).item() < 0.5:
            s += f" {pick(WORDS[30:35])} {pick(det)} {pick(noun)}"
        out.append(s[0].upper() + s[1:] + ".")
    return " ".join(out)


CHAT_TEMPLATE = ("{{ bos_token }}{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n"
                 "{% endfor %}{% if add_generation_prompt %}assistant: {% endif %}")


def byte_tokenizer_files(d):
    """A byte-level BPE tokenizer.json with no merges: token id = byte value; <s> = 256."""
    from tokenizers import Tokenizer, models, pre_tokenizers, decoders, processors
    from tokenizers import AddedToken
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    vocab = {chr(c): b for b, c in zip(bs, cs)}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken("<s>", special=True), AddedToken("</s>", special=True)])
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 256)])
    tok.save(os.path.join(d, "tokenizer.json"))
    with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
        json.dump({"bos_token": "<s>", "eos_token": "</s>", "add_bos_token": True,
                   "tokenizer_class": "PreTrainedTokenizerFast", "chat_template": CHAT_TEMPLATE},
                  f, indent=2)
    with open(os.path.join(d, "generation_config.json"), "w") as f:
        json.dump({"bos_token_id": 256, "eos_token_id": 257}, f, indent=2)


def train_tiny(out_dir):
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=258, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, head_dim=16,
                      max_position_embeddings=512, rms_norm_eps=1e-5, rope_theta=10000.0,
                      tie_word_embeddings=False, bos_token_id=256, eos_token_id=257,
                      torch_dtype="bfloat16")
    model = LlamaForCausalLM(cfg)
    data = torch.tensor(list(synthetic_text(1, 3000).encode()))
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for step in range(400):
        idx = torch.randint(0, len(data) - 128, (16,))
        x = torch.stack([torch.cat([torch.tensor([256]), data[i:i + 127]]) for i in idx])
        loss = model(x, labels=x).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    print("tiny_bf16 train loss", round(loss.item(), 3))
    d = os.path.join(out_dir, "tiny_bf16")
    os.makedirs(d, exist_ok=True)
    sd = {k: v.detach().to(torch.bfloat16).contiguous() for k, v in model.state_dict().items()}
    save_file(sd, os.path.join(d, "model.safetensors"), metadata={"format": "pt"})
    c = cfg.to_dict()
    c["torch_dtype"] = "bfloat16"
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(c, f, indent=2, sort_keys=True)
    byte_tokenizer_files(d)
    with open(os.path.join(d, "calibration.txt"), "w") as f:
        f.write("\n\n".join(synthetic_text(2 + i, 12) for i in range(16)) + "\n")
    with open(os.path.join(d, "heldout.txt"), "w") as f:
        f.write(synthetic_text(99, 60) + "\n")


def expected_quantization_configs(out_dir):
    """What compressed-tensors' ModelCompressor.update_config writes for each of our schemes."""
    try:
        from compressed_tensors.compressors import ModelCompressor
        from compressed_tensors.quantization import (QuantizationConfig, QuantizationScheme,
                                                     preset_name_to_scheme)
    except ImportError:
        print("compressed-tensors not installed: expected_quantization_config.json not updated")
        return
    import tempfile
    fp8 = preset_name_to_scheme("FP8", ["Linear"])
    fp8_channel = QuantizationScheme(targets=["Linear"],
                                     weights=fp8.weights.model_copy(update={"strategy": "channel"}),
                                     input_activations=fp8.input_activations)
    schemes = {"fp8": fp8_channel, "fp8-dynamic": preset_name_to_scheme("FP8_DYNAMIC", ["Linear"]),
               "fp8-per-tensor": fp8}
    out = {}
    for name, sch in schemes.items():
        qc = QuantizationConfig(config_groups={"group_0": sch}, ignore=["lm_head"],
                                quantization_status="compressed", format="float-quantized")
        with tempfile.TemporaryDirectory() as t:
            with open(os.path.join(t, "config.json"), "w") as f:
                f.write("{}")
            ModelCompressor(quantization_config=qc).update_config(t)
            with open(os.path.join(t, "config.json")) as f:
                out[name] = json.load(f)["quantization_config"]
    with open(os.path.join(out_dir, "expected_quantization_config.json"), "w") as f:
        json.dump(out, f, indent=2, sort_keys=True)


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(__file__), "..", "tests", "quant", "data")
    torch.set_num_threads(1)
    for name, (w, a) in COMBOS.items():
        build(out_dir, name, w, a)
    train_tiny(out_dir)
    expected_quantization_configs(out_dir)


if __name__ == "__main__":
    main()
