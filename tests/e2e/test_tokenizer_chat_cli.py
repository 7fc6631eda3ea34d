"""`qinfer chat` end to end on a tiny scripted model (tests/e2e/tiny_llama.py) with the real
Llama 3.1 tokenizer: the reply streams back, a JSON conversation from stdin gets one reply,
plain lines get one reply each, and a (built-in) tool call in the reply is printed as OpenAI tool_calls.
The scripted model's greedy output after "\\n\\n" (the end of the generation prompt) is a fixed
token chain, so the expected text is known independently of our tokenizer: it is the HF
`tokenizers` decode of the chain.
"""
import json
import os
import subprocess

import pytest
from tokenizers import Tokenizer

import tiny_llama

SOURCE_DIR = os.environ.get("QINFER_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
QINFER = os.environ.get("QINFER_BIN", os.path.join(SOURCE_DIR, "build", "apps", "qinfer"))
HF = Tokenizer.from_file(os.path.join(tiny_llama.TOKENIZER_DIR, "tokenizer.json"))
EOT = 128009
REPLY = 'brave_search.call(query="Paris weather today")'


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    chain = HF.encode(REPLY, add_special_tokens=False).ids
    script = [271] + chain + [EOT]  # 271 = "\n\n", the last prompt token
    assert len(set(script)) == len(script)
    return tiny_llama.make_scripted(str(tmp_path_factory.mktemp("chat") / "tiny"), script)


def chat(model, stdin, *extra):
    p = subprocess.run([QINFER, "chat", "--model", model, "--temperature", "0", "--max-tokens", "40",
                        *extra], input=stdin.encode(), capture_output=True, timeout=300)
    assert p.returncode == 0, p.stderr.decode()
    return p.stdout.decode()


def test_json_conversation_gets_one_reply(model):
    out = chat(model, json.dumps([{"role": "user", "content": "Weather in Paris?"}]))
    assert out == REPLY + "\n"


def test_plain_lines_get_one_reply_each(model):
    out = chat(model, "hello\n\nsecond question\n")
    assert out == (REPLY + "\n") * 2


def test_tool_call_is_parsed(model, tmp_path):
    tools = [{"type": "function", "function": {"name": "brave_search", "parameters": {
        "type": "object", "properties": {"query": {"type": "string"}}}}}]
    path = tmp_path / "tools.json"
    path.write_text(json.dumps(tools))
    out = chat(model, json.dumps({"messages": [{"role": "user", "content": "Weather?"}]}),
               "--tools", str(path))
    lines = out.splitlines()
    assert lines[0] == REPLY
    assert lines[1].startswith("tool_calls: ")
    calls = json.loads(lines[1][len("tool_calls: "):])
    assert len(calls) == 1 and calls[0]["type"] == "function"
    assert calls[0]["id"].startswith("call_")
    assert calls[0]["function"] == {"name": "brave_search",
                                    "arguments": '{"query": "Paris weather today"}'}


def test_help():
    p = subprocess.run([QINFER, "chat", "--help"], capture_output=True, timeout=60)
    assert p.returncode == 0 and b"qinfer chat" in p.stdout + p.stderr
