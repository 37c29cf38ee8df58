"""The gateway benchmark's own parts: the fast backend answers both APIs as the gateways expect
(plain, chunked SSE and NDJSON), and the load client reads all of them and times first tokens."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator

import httpx
import ollama
import pytest

from benchmarks import _fast_backend
from benchmarks._loadgen import Target, cpu_seconds, run_window

MESSAGES = [{"role": "user", "content": "What is the capital of France?"}]


@pytest.fixture
async def backend() -> AsyncIterator[int]:
    connections: list[_fast_backend._Http] = []

    def protocol() -> _fast_backend._Http:
        connections.append(_fast_backend._Http())
        return connections[-1]

    server = await asyncio.get_running_loop().create_server(protocol, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    server.close()
    for connection in connections:
        connection.transport.close()
    await server.wait_closed()
    await asyncio.sleep(0)  # let the closed transports release their sockets


@pytest.mark.parametrize(
    ("path", "stream"),
    [
        ("/v1/chat/completions", False),
        ("/v1/chat/completions", True),
        ("/api/chat", False),
        ("/api/chat", True),
    ],
)
async def test_the_load_client_reads_every_answer_shape_and_times_the_first_token(
    backend, path, stream
):
    body = json.dumps({"model": "m", "messages": MESSAGES, "stream": stream}).encode()
    result = await run_window(Target("direct", backend, path, body), 4, 0.2)
    assert result.errors == 0 and len(result.latencies) >= 4
    assert all(0 < f <= t for f, t in zip(result.first_tokens, result.latencies, strict=True))


async def test_the_backend_speaks_what_the_real_clients_read(backend):
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{backend}") as client:
        plain = await client.post("/v1/chat/completions", json={"model": "m", "messages": MESSAGES})
        assert plain.json()["choices"][0]["message"]["content"] == _fast_backend.ANSWER
        events = await client.post(
            "/v1/chat/completions", json={"model": "m", "messages": MESSAGES, "stream": True}
        )
        assert events.text.endswith("data: [DONE]\n\n")
    client = ollama.AsyncClient(host=f"http://127.0.0.1:{backend}")
    answer = await client.chat(model="qwen3.5:9b", messages=MESSAGES, stream=False)
    await client._client.aclose()
    assert (answer.message.content, answer.eval_count) == (_fast_backend.ANSWER, 11)


def test_cpu_seconds_counts_this_process():
    before = cpu_seconds(os.getpid())
    sum(i * i for i in range(300_000))
    assert cpu_seconds(os.getpid()) > before
