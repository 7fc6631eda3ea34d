"""Load: 200 concurrent streaming clients (asyncio + the openai AsyncOpenAI client) against
the real server on the tiny model. Every stream must complete with exactly max_tokens tokens
(ignore_eos), nothing lost, /metrics must add up, and the server's RSS must come back to its
level after an identical warm-up round (no per-request leak). Bounded: each round has a
timeout; no wall-clock assertion on speed."""
import asyncio
import os
import sys
import tempfile

import openai
import pytest

sys.path.insert(0, os.path.dirname(__file__))
import tiny_llama  # noqa: E402
from server_harness import Server  # noqa: E402

N_CLIENTS = 200
MAX_TOKENS = 16


@pytest.fixture(scope="module")
def srv():
    with tempfile.TemporaryDirectory() as d:
        model = tiny_llama.make_random(os.path.join(d, "m"))
        s = Server(model, "--served-model-name", "tiny", "--max-model-len", "256",
                   "--max-num-seqs", "256", "--max-queue", "1024")
        yield s
        s.stop()


async def one_stream(client, i):
    stream = await client.chat.completions.create(
        model="tiny", messages=[{"role": "user", "content": f"Client {i} says hello"}],
        max_tokens=MAX_TOKENS, temperature=0, stream=True,
        stream_options={"include_usage": True}, extra_body={"ignore_eos": True})
    finish, usage, pieces = None, None, 0
    async for chunk in stream:
        if chunk.choices:
            c = chunk.choices[0]
            if c.delta.content:
                pieces += 1
            if c.finish_reason:
                finish = c.finish_reason
        if chunk.usage:
            usage = chunk.usage
    return finish, usage, pieces


async def round_of(url):
    async with openai.AsyncOpenAI(base_url=url + "/v1", api_key="none", max_retries=0,
                                  timeout=600) as client:
        return await asyncio.wait_for(
            asyncio.gather(*(one_stream(client, i) for i in range(N_CLIENTS))), timeout=600)


def test_200_concurrent_streams(srv):
    L = '{model_name="tiny"}'
    asyncio.run(round_of(srv.url))  # warm-up: thread stacks, allocator arenas
    rss_warm = srv.rss_kib()
    before = srv.metrics()
    results = asyncio.run(round_of(srv.url))
    after = srv.metrics()
    rss_after = srv.rss_kib()
    assert len(results) == N_CLIENTS
    bad = [(i, r) for i, r in enumerate(results)
           if r[0] != "length" or r[1] is None or r[1].completion_tokens != MAX_TOKENS]
    assert not bad, f"{len(bad)} streams incomplete, first: {bad[:3]}"
    assert all(1 <= r[2] <= MAX_TOKENS for r in results)
    gen = after["vllm:generation_tokens_total" + L] - before["vllm:generation_tokens_total" + L]
    assert gen == N_CLIENTS * MAX_TOKENS
    fin = 'vllm:request_success_total{model_name="tiny",finished_reason="length"}'
    assert after[fin] - before[fin] == N_CLIENTS
    prompt = after["vllm:prompt_tokens_total" + L] - before["vllm:prompt_tokens_total" + L]
    assert prompt == sum(r[1].prompt_tokens for r in results)
    assert after["vllm:num_requests_running" + L] == 0
    assert after["vllm:num_requests_waiting" + L] == 0
    assert after["vllm:kv_cache_usage_perc" + L] == 0
    # RSS back to the warm level (allow 10% + 16 MiB of allocator slack).
    assert rss_after <= rss_warm * 1.10 + 16 * 1024, (rss_warm, rss_after)
