#!/usr/bin/env python3
"""Writes tests/tokenizer/data/hf_chat_llama31.json: transformers' own
apply_chat_template(tokenize=False) renderings (and token ids) of the official Llama 3.1
template for the conversations of tests/e2e/test_tokenizer_chat_template.py's LLAMA3_CASES.
transformers is not installed in CI, so its output is committed; the C++ test
(tests/tokenizer/chat_template_test.cc) compares apply_chat_template against it.

Usage: python3 tools/tokenizer_make_chat_fixture.py
"""
import json
import os
import sys

from transformers import AutoTokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
import test_tokenizer_chat_template as cases  # noqa: E402


def main():
    tok = AutoTokenizer.from_pretrained(cases.LLAMA3)
    out = []
    for name, case in cases.LLAMA3_CASES.items():
        entry = {"name": name, "messages": case["messages"], "tools": case.get("tools"),
                 "add_generation_prompt": case.get("add_generation_prompt", True),
                 "kwargs": case.get("kwargs", {})}
        try:
            text = tok.apply_chat_template(case["messages"], tools=case.get("tools"), tokenize=False,
                                           add_generation_prompt=entry["add_generation_prompt"],
                                           **entry["kwargs"])
            entry["text"] = text
            entry["ids"] = tok(text, add_special_tokens=False)["input_ids"]
        except Exception as e:  # the template's raise_exception
            entry["error"] = str(e)
        out.append(entry)
    path = os.path.join(HERE, "..", "tests", "tokenizer", "data", "hf_chat_llama31.json")
    with open(path, "w") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
    print("wrote", path, len(out), "cases")


if __name__ == "__main__":
    main()
