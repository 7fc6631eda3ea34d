"""The real `qinfer serve` on a tiny random Llama checkpoint (with the real Llama 3.1 tokenizer),
driven by the official `openai` client and raw HTTP: endpoints, response shapes, streaming,
n, seeds, stop strings, logprobs, echo, /tokenize against tokenizers + jinja2, bad input,
client disconnect, metrics, SIGTERM. One server for the module (startup parses the 6 MB
tokenizer.json)."""
import http.client
import json
import os
import socket
import sys
import tempfile

import jinja2
import jinja2.ext
import openai
import pytest
from jinja2.sandbox import ImmutableSandboxedEnvironment
from tokenizers import Tokenizer

sys.path.insert(0, os.path.dirname(__file__))
import tiny_llama  # noqa: E402
from server_harness import Server  # noqa: E402

KEY = "sk-test-key"
MAX_LEN = 512


@pytest.fixture(scope="module")
def srv():
    with tempfile.TemporaryDirectory() as d:
        model = tiny_llama.make_random(os.path.join(d, "m"))
        s = Server(model, "--api-key", KEY, "--served-model-name", "tiny,tiny-alias",
                   "--max-model-len", str(MAX_LEN), "--max-num-seqs", "16",
                   "--max-body-bytes", str(1 << 20), "--max-queue", "64")
        yield s
        s.stop()


@pytest.fixture(scope="module")
def client(srv):
    return openai.OpenAI(base_url=srv.url + "/v1", api_key=KEY, max_retries=0, timeout=120)


@pytest.fixture(scope="module")
def hf_tok():
    return Tokenizer.from_file(os.path.join(tiny_llama.TOKENIZER_DIR, "tokenizer.json"))


def post(srv, path, body, headers=None, raw=None):
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=120)
    h = {"Content-Type": "application/json", "Authorization": f"Bearer {KEY}"}
    h.update(headers or {})
    c.request("POST", path, body=raw if raw is not None else json.dumps(body), headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


def check_error(status, data, want_status, param=None):
    assert status == want_status, (status, data[:300])
    err = json.loads(data)["error"]
    assert set(err) >= {"message", "type", "param", "code"}, err
    assert err["code"] == want_status
    if param:
        assert err["param"] == param, err


def greedy_completion(client, prompt, n=12, **kw):
    return client.completions.create(model="tiny", prompt=prompt, max_tokens=n, temperature=0, **kw)


def test_models_health_version(srv, client):
    ids = [m.id for m in client.models.list().data]
    assert ids == ["tiny", "tiny-alias"]
    import urllib.request
    assert urllib.request.urlopen(srv.url + "/health").status == 200
    v = json.loads(urllib.request.urlopen(srv.url + "/version").read())
    assert v["version"]


def test_chat_shape_and_usage(client, hf_tok):
    r = client.chat.completions.create(model="tiny", messages=[{"role": "user", "content": "Hi!"}],
                                       max_tokens=7, temperature=0)
    assert r.id.startswith("chatcmpl-") and r.object == "chat.completion" and r.model == "tiny"
    c = r.choices[0]
    assert c.index == 0 and c.message.role == "assistant"
    assert c.finish_reason in ("length", "stop")
    assert r.usage.completion_tokens <= 7
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens
    if c.finish_reason == "length":
        assert r.usage.completion_tokens == 7


def test_completion_prompt_forms(client, hf_tok):
    ids = hf_tok.encode("The capital of France", add_special_tokens=True).ids
    a = greedy_completion(client, "The capital of France")
    b = greedy_completion(client, ids)  # token ids give the same prompt
    assert a.choices[0].text == b.choices[0].text
    assert a.usage.prompt_tokens == len(ids)
    multi = greedy_completion(client, ["The capital of France", "One two three"], n=5)
    assert [c.index for c in multi.choices] == [0, 1]
    assert multi.choices[0].text.startswith(greedy_completion(client, "The capital of France", n=5).choices[0].text)
    multi_ids = greedy_completion(client, [ids, ids[:3]], n=4)
    assert len(multi_ids.choices) == 2


def test_stream_matches_whole_and_usage_last(client):
    msgs = [{"role": "user", "content": "Tell me a story."}]
    whole = client.chat.completions.create(model="tiny", messages=msgs, max_tokens=20, temperature=0)
    chunks = list(client.chat.completions.create(model="tiny", messages=msgs, max_tokens=20,
                                                 temperature=0, stream=True,
                                                 stream_options={"include_usage": True}))
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content
    finals = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finals == [whole.choices[0].finish_reason]
    last = chunks[-1]
    assert last.choices == [] and last.usage.completion_tokens == whole.usage.completion_tokens
    assert all(c.usage is None for c in chunks[:-1])


def test_completion_stream(client):
    whole = greedy_completion(client, "Once upon a time", n=15)
    s = client.completions.create(model="tiny", prompt="Once upon a time", max_tokens=15,
                                  temperature=0, stream=True)
    assert "".join(c.choices[0].text for c in s) == whole.choices[0].text


def test_n_and_seed_reproducible(client):
    kw = dict(model="tiny", prompt="Random words:", max_tokens=12, temperature=1.0, seed=1234, n=2)
    a = client.completions.create(**kw)
    b = client.completions.create(**kw)
    assert [c.text for c in a.choices] == [c.text for c in b.choices]
    assert len(a.choices) == 2 and a.usage.completion_tokens <= 24
    # The two samples use seeds 1234 and 1235 (vLLM): different streams.
    assert a.choices[0].text != a.choices[1].text
    c = client.completions.create(**{**kw, "seed": 99})
    assert [x.text for x in c.choices] != [x.text for x in a.choices]
    g = client.completions.create(model="tiny", prompt="Random words:", max_tokens=8,
                                  temperature=0, n=3)
    assert len({x.text for x in g.choices}) == 1  # greedy samples agree


def test_stop_string_across_token_boundary(client):
    full = greedy_completion(client, "A long time ago", n=24, logprobs=0,
                             extra_body={"ignore_eos": True})
    toks = full.choices[0].logprobs.tokens
    text = full.choices[0].text
    assert "".join(toks) == text
    # A stop made of the last 2 chars of one token and the first 2 of the next.
    k = next(i for i in range(3, len(toks) - 1) if len(toks[i]) >= 2 and len(toks[i + 1]) >= 2)
    stop = toks[k][-2:] + toks[k + 1][:2]
    cut = text.find(stop)
    r = greedy_completion(client, "A long time ago", n=24, stop=[stop], extra_body={"ignore_eos": True})
    assert r.choices[0].text == text[:cut]
    assert r.choices[0].finish_reason == "stop"
    assert r.choices[0].model_extra["stop_reason"] == stop  # vLLM's extra field
    # Streamed: nothing of the stop string leaks into any chunk.
    s = client.completions.create(model="tiny", prompt="A long time ago", max_tokens=24,
                                  temperature=0, stop=stop, stream=True, extra_body={"ignore_eos": True})
    assert "".join(c.choices[0].text for c in s) == text[:cut]


def test_logprobs_completion_and_chat(client):
    r = greedy_completion(client, "Numbers:", n=6, logprobs=3)
    lp = r.choices[0].logprobs
    assert len(lp.tokens) == len(lp.token_logprobs) == len(lp.top_logprobs) == 6
    for tok, l, top in zip(lp.tokens, lp.token_logprobs, lp.top_logprobs):
        assert l <= 0
        assert 3 <= len(top) <= 4
        assert abs(max(top.values()) - l) < 1e-5  # greedy took the most likely token
    c = client.chat.completions.create(model="tiny", messages=[{"role": "user", "content": "x"}],
                                       max_tokens=4, temperature=0, logprobs=True, top_logprobs=2)
    content = c.choices[0].logprobs.content
    assert len(content) == c.usage.completion_tokens
    for e in content:
        assert len(e.top_logprobs) == 2 and e.top_logprobs[0].logprob >= e.top_logprobs[1].logprob
        assert abs(e.top_logprobs[0].logprob - e.logprob) < 1e-5
        assert bytes(e.bytes) == e.token.encode()


def test_echo_loglikelihood(client, hf_tok):
    # lm-evaluation-harness loglikelihood: echo + logprobs + max_tokens 1 (or 0).
    prompt = "The quick brown fox jumps"
    n_prompt = len(hf_tok.encode(prompt).ids)
    for mt in (1, 0):
        r = client.completions.create(model="tiny", prompt=prompt, max_tokens=mt, temperature=0,
                                      echo=True, logprobs=1)
        lp = r.choices[0].logprobs
        assert r.choices[0].text.startswith(prompt)
        assert len(lp.tokens) == n_prompt + mt
        assert lp.token_logprobs[0] is None and lp.top_logprobs[0] is None
        assert all(isinstance(x, float) and x <= 0 for x in lp.token_logprobs[1:])
        assert lp.text_offset[0] == 0
    # The echoed prompt logprobs agree with the logprobs of the same tokens when generated:
    # score "prompt + greedy token" and compare with that greedy token's logprob.
    g = greedy_completion(client, prompt, n=1, logprobs=0)
    ids = hf_tok.encode(prompt).ids + [hf_tok.token_to_id(g.choices[0].logprobs.tokens[0])
                                       or hf_tok.encode(g.choices[0].text, add_special_tokens=False).ids[0]]
    e = client.completions.create(model="tiny", prompt=ids, max_tokens=0, echo=True, logprobs=0)
    assert abs(e.choices[0].logprobs.token_logprobs[-1] - g.choices[0].logprobs.token_logprobs[0]) < 1e-3


def hf_chat_render(messages, add_generation_prompt=True, tools=None):
    with open(os.path.join(tiny_llama.TOKENIZER_DIR, "tokenizer_config.json")) as f:
        cfg = json.load(f)
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[jinja2.ext.loopcontrols])

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                          sort_keys=sort_keys)

    def raise_exception(msg):
        raise jinja2.exceptions.TemplateError(msg)
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    return env.from_string(cfg["chat_template"]).render(
        messages=messages, tools=tools, add_generation_prompt=add_generation_prompt,
        bos_token="<|begin_of_text|>", eos_token="<|eot_id|>")


def test_tokenize_matches_hf(srv, hf_tok):
    st, data = post(srv, "/tokenize", {"prompt": "Hello world, héllo!"})
    assert st == 200
    j = json.loads(data)
    want = hf_tok.encode("Hello world, héllo!", add_special_tokens=True).ids
    assert j["tokens"] == want and j["count"] == len(want) and j["max_model_len"] == MAX_LEN
    msgs = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is 2+2?"},
            {"role": "assistant", "content": "4"}, {"role": "user", "content": "And 3+3?"}]
    for agp in (True, False):
        st, data = post(srv, "/tokenize", {"messages": msgs, "add_generation_prompt": agp})
        assert st == 200
        text = hf_chat_render(msgs, add_generation_prompt=agp)
        assert json.loads(data)["tokens"] == hf_tok.encode(text, add_special_tokens=False).ids
    tools = [{"type": "function", "function": {"name": "get_weather", "description": "Weather",
              "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]
    st, data = post(srv, "/tokenize", {"messages": msgs[1:2], "tools": tools})
    assert st == 200
    text = hf_chat_render(msgs[1:2], tools=tools)
    assert json.loads(data)["tokens"] == hf_tok.encode(text, add_special_tokens=False).ids
    st, data = post(srv, "/detokenize", {"tokens": want})
    assert st == 200 and json.loads(data)["prompt"] == hf_tok.decode(want, skip_special_tokens=False)


def test_bad_input_gets_error_and_server_survives(srv, client):
    ok = {"model": "tiny", "prompt": "hi", "max_tokens": 2}
    cases = [
        (dict(raw=b'{"model": "tiny", "prompt": '), 400, None),                        # malformed
        (dict(body={**ok, "temperature": "hot"}), 400, "temperature"),                   # wrong type
        (dict(body={**ok, "max_tokens": "many"}), 400, "max_tokens"),
        (dict(body={**ok, "model": "gpt-4"}), 404, "model"),                             # unknown model
        (dict(body={**ok, "max_tokens": -5}), 400, "max_tokens"),
        (dict(body={**ok, "max_tokens": 10**9}), 400, "max_tokens"),
        (dict(body={**ok, "prompt": "word " * 600}), 400, None),                         # > max_model_len
        (dict(body={**ok, "prompt": [1, 2, 999999]}), 400, "prompt"),                    # id out of vocab
        (dict(body={**ok, "n": 0}), 400, "n"),
        (dict(body={**ok, "top_p": 0}), 400, "top_p"),
        (dict(body={**ok, "logprobs": 50}), 400, "logprobs"),
        (dict(raw=b'{"model": "tiny", "prompt": "\xff\xfe bad utf8", "max_tokens": 2}'), 400, None),
        (dict(body=[1, 2, 3]), 400, None),
        (dict(body={**ok, "stream_options": {"include_usage": True}}), 400, "stream_options"),
        (dict(body={**ok, "logit_bias": {"12": 150}}), 400, "logit_bias"),              # range
        (dict(body={**ok, "logit_bias": {"999999": 1}}), 400, "logit_bias"),            # vocab
        (dict(body={**ok, "logit_bias": {"x1": 1}}), 400, "logit_bias"),                # not an id
        (dict(body={**ok, "logit_bias": {"12": "up"}}), 400, "logit_bias"),
        (dict(body={**ok, "logit_bias": [12, 5]}), 400, "logit_bias"),
        # vLLM fields that would change the answer and are not implemented: refused, not ignored.
        (dict(body={**ok, "guided_json": {"type": "object"}}), 400, "guided_json"),
        (dict(body={**ok, "guided_choice": ["a", "b"]}), 400, "guided_choice"),
        (dict(body={**ok, "allowed_token_ids": [1, 2]}), 400, "allowed_token_ids"),
        (dict(body={**ok, "bad_words": ["x"]}), 400, "bad_words"),
        (dict(body={**ok, "use_beam_search": True}), 400, "use_beam_search"),
        (dict(body={**ok, "best_of": 3}), 400, "best_of"),
        (dict(body={**ok, "truncate_prompt_tokens": 5}), 400, "truncate_prompt_tokens"),
    ]
    for kw, status, param in cases:
        st, data = post(srv, "/v1/completions", kw.get("body"), raw=kw.get("raw"))
        check_error(st, data, status, param)
    # Harmless values of those fields, and fields that do not change the answer, are accepted.
    for extra in ({"best_of": 1}, {"use_beam_search": False}, {"user": "someone"},
                  {"guided_json": None}):
        st, data = post(srv, "/v1/completions", {**ok, **extra})
        assert st == 200, (extra, data)
    st, data = post(srv, "/v1/chat/completions", {"model": "tiny", "messages": "hello"})
    check_error(st, data, 400, "messages")
    st, data = post(srv, "/v1/chat/completions", {"model": "tiny", "messages": [{"content": "x"}]})
    check_error(st, data, 400, "messages")
    # Auth.
    st, data = post(srv, "/v1/completions", ok, headers={"Authorization": ""})
    check_error(st, data, 401)
    st, data = post(srv, "/v1/completions", ok, headers={"Authorization": "Bearer wrong"})
    check_error(st, data, 401)
    # A 100 MB body is refused with 413 (limit here 1 MiB).
    big = b'{"model": "tiny", "prompt": "' + b"a" * (100 << 20) + b'"}'
    try:
        st, data = post(srv, "/v1/completions", None, raw=big)
        check_error(st, data, 413)
    except (ConnectionResetError, BrokenPipeError):
        pass  # the server may close the connection while the client is still sending
    # Unknown route.
    st, data = post(srv, "/v1/nothing", ok)
    check_error(st, data, 404)
    # And the server still serves.
    assert greedy_completion(client, "still alive?", n=3).usage.completion_tokens == 3


def test_logit_bias(client, hf_tok):
    """OpenAI's logit_bias through the official client: +100 on one token makes greedy pick it
    every step (completions and chat), -100 bans the unbiased greedy choice; logprobs stay the
    raw model's (the forced token's logprob is not 0)."""
    target = hf_tok.encode(" banana", add_special_tokens=False).ids[0]
    r = client.completions.create(model="tiny", prompt="Bias test", max_tokens=4, temperature=0,
                                  logit_bias={str(target): 100}, logprobs=1,
                                  extra_body={"ignore_eos": True})
    assert r.choices[0].text == hf_tok.decode([target] * 4)
    assert all(lp < -1e-3 for lp in r.choices[0].logprobs.token_logprobs)
    plain = client.completions.create(model="tiny", prompt="Bias test", max_tokens=1,
                                      temperature=0, extra_body={"ignore_eos": True})
    first = hf_tok.encode(plain.choices[0].text, add_special_tokens=False).ids
    assert hf_tok.decode(first) == plain.choices[0].text
    banned = client.completions.create(model="tiny", prompt="Bias test", max_tokens=1,
                                       temperature=0, logit_bias={str(t): -100 for t in first},
                                       extra_body={"ignore_eos": True})
    assert banned.choices[0].text != plain.choices[0].text
    c = client.chat.completions.create(model="tiny", messages=[{"role": "user", "content": "hi"}],
                                       max_tokens=3, temperature=0, logit_bias={str(target): 100},
                                       extra_body={"ignore_eos": True})
    assert c.choices[0].message.content == hf_tok.decode([target] * 3)


def test_client_disconnect_cancels(srv, client):
    before = srv.metrics()
    body = json.dumps({"model": "tiny", "prompt": "Count forever:", "max_tokens": 400,
                       "stream": True, "ignore_eos": True, "temperature": 0}).encode()
    s = socket.create_connection(("127.0.0.1", srv.port))
    s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Authorization: Bearer " + KEY.encode() + b"\r\nContent-Length: " +
              str(len(body)).encode() + b"\r\n\r\n" + body)
    got = b""
    while got.count(b"data: ") < 3:
        got += s.recv(4096)
    s.close()
    import time
    for _ in range(200):
        m = srv.metrics()
        if m['vllm:num_requests_running{model_name="tiny"}'] == 0:
            break
        time.sleep(0.05)
    lbl = 'vllm:request_success_total{model_name="tiny",finished_reason="abort"}'
    assert m[lbl] == before[lbl] + 1
    assert m['vllm:kv_cache_usage_perc{model_name="tiny"}'] == 0
    gen = m['vllm:generation_tokens_total{model_name="tiny"}'] - before['vllm:generation_tokens_total{model_name="tiny"}']
    assert gen < 400  # it stopped early
    assert greedy_completion(client, "after disconnect", n=2).usage.completion_tokens == 2


def test_client_disconnect_cancels_non_streaming(srv, client):
    before = srv.metrics()
    # n = 8 long samples: seconds of work, so the hang-up comes well before the end.
    body = json.dumps({"model": "tiny", "prompt": "Count on:", "max_tokens": 450, "n": 8,
                       "ignore_eos": True, "temperature": 0}).encode()
    s = socket.create_connection(("127.0.0.1", srv.port))
    s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Authorization: Bearer " + KEY.encode() + b"\r\nContent-Length: " +
              str(len(body)).encode() + b"\r\n\r\n" + body)
    import time
    L = '{model_name="tiny"}'
    for _ in range(200):  # wait until it is running, then hang up
        if srv.metrics()["vllm:num_requests_running" + L] > 0:
            break
        time.sleep(0.02)
    s.close()
    for _ in range(300):
        m = srv.metrics()
        if m["vllm:num_requests_running" + L] == 0:
            break
        time.sleep(0.05)
    lbl = 'vllm:request_success_total{model_name="tiny",finished_reason="abort"}'
    assert m[lbl] == before[lbl] + 1
    gen = m["vllm:generation_tokens_total" + L] - before["vllm:generation_tokens_total" + L]
    assert gen < 8 * 450
    assert greedy_completion(client, "after hang-up", n=2).usage.completion_tokens == 2


def test_queue_full_gives_429(srv, client):
    # --max-num-seqs 16, --max-queue 64: a burst of 120 long requests overflows the queue.
    from concurrent.futures import ThreadPoolExecutor
    body = {"model": "tiny", "prompt": "Busy:", "max_tokens": 40, "ignore_eos": True}
    with ThreadPoolExecutor(120) as ex:
        statuses = list(ex.map(lambda _: post(srv, "/v1/completions", body), range(120)))
    codes = [st for st, _ in statuses]
    assert set(codes) <= {200, 429}, codes
    assert codes.count(429) > 0 and codes.count(200) >= 16 + 64 - 16
    for st, data in statuses:
        if st == 429:
            check_error(st, data, 429)
        else:
            assert json.loads(data)["usage"]["completion_tokens"] == 40
    assert greedy_completion(client, "after the burst", n=2).usage.completion_tokens == 2


def test_metrics_add_up(srv, client):
    before = srv.metrics()
    total = 0
    prompt_total = 0
    for i in range(4):
        r = client.completions.create(model="tiny", prompt=f"metrics {i}", max_tokens=5 + i,
                                      temperature=0, extra_body={"ignore_eos": True})
        total += r.usage.completion_tokens
        prompt_total += r.usage.prompt_tokens
    m = srv.metrics()
    L = '{model_name="tiny"}'
    assert m["vllm:generation_tokens_total" + L] - before["vllm:generation_tokens_total" + L] == total
    assert m["vllm:prompt_tokens_total" + L] - before["vllm:prompt_tokens_total" + L] == prompt_total
    fin = 'vllm:request_success_total{model_name="tiny",finished_reason="length"}'
    assert m[fin] - before[fin] == 4
    assert m["vllm:e2e_request_latency_seconds_count" + L] - before["vllm:e2e_request_latency_seconds_count" + L] == 4
    assert m["vllm:time_to_first_token_seconds_count" + L] - before["vllm:time_to_first_token_seconds_count" + L] == 4
    # Every structured log line is JSON with the fields an operator greps for.
    logs = [l for l in srv.request_logs() if l.get("path") == "/v1/completions"]
    assert logs and all({"ts", "method", "path", "status", "duration_s"} <= set(l) for l in logs)


def test_sigterm_finishes_streams_and_exits_zero(srv):
    # Last in the module: the server goes away. A stream in flight completes with [DONE].
    body = json.dumps({"model": "tiny", "prompt": "Last words:", "max_tokens": 40,
                       "stream": True, "ignore_eos": True}).encode()
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=120)
    c.request("POST", "/v1/completions", body=body,
              headers={"Content-Type": "application/json", "Authorization": f"Bearer {KEY}"})
    r = c.getresponse()
    first = r.read(20)  # the stream is under way
    assert first.startswith(b"data: ")
    import signal
    srv.proc.send_signal(signal.SIGTERM)
    rest = r.read()
    assert rest.rstrip().endswith(b"data: [DONE]")
    texts = [json.loads(l[6:]) for l in (first + rest).split(b"\n") if l.startswith(b"data: {")]
    assert sum(1 for t in texts if t["choices"] and t["choices"][0]["finish_reason"] == "length") == 1
    assert srv.proc.wait(60) == 0
