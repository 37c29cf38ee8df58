"""`router serve` end to end: the official openai SDK against a real `router serve` process on a
loopback port, in front of the loopback model servers. One server for the module."""

from __future__ import annotations

import json
import signal
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from typing import Any

import httpx
import openai
import pytest

from router.testing import AnthropicServer, OllamaServer, OpenAIServer, Reply
from tests.gateway_helpers import KEYS, Gateway, policy_data, start_gateway

TOOLS: list[Any] = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
]
HELLO = [{"role": "user", "content": "Say hello."}]
SUPPORT, BROKE, HASTY = KEYS["GW_KEY_SUPPORT"], KEYS["GW_KEY_BROKE"], KEYS["GW_KEY_HASTY"]


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[OllamaServer, OpenAIServer, AnthropicServer]]:
    with OllamaServer() as o, OpenAIServer() as oa, AnthropicServer() as an:
        yield o, oa, an


@pytest.fixture(scope="module")
def gateway(servers, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    policy = policy_data(
        *servers,
        gateway={
            "keys": [
                {"env": "GW_KEY_SUPPORT", "team": "support", "app": "triage"},
                {"env": "GW_KEY_BROKE", "team": "broke"},
                {"env": "GW_KEY_HASTY", "team": "hasty"},
            ],
            "max_body_bytes": 100_000,
            "max_concurrency": 3,
        },
        budgets={"teams": {"broke": {"daily_usd": "0.000001"}}},
        teams={"hasty": {"retries": {"deadline_s": 1}}},
        privacy={"pii": {"payment_card": "refuse"}},
    )
    running = start_gateway(tmp_path_factory.mktemp("gateway"), policy)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def client(gateway: Gateway) -> Iterator[openai.OpenAI]:
    with gateway.client() as sdk:
        yield sdk


def query_ledger(gateway: Gateway, query: str, *params: Any) -> list[tuple[Any, ...]]:
    """Rows from the gateway's SQLite ledger, on a connection closed at once (`with
    sqlite3.connect()` only commits: the connection would be left to the collector)."""
    with closing(sqlite3.connect(gateway.ledger)) as db:
        return db.execute(query, params).fetchall()


def ledger_rows(gateway: Gateway, request_id: str) -> list[tuple[Any, ...]]:
    """The request's row, waited for: the gateway acknowledges a row once it is in its
    write-ahead journal and commits it within about 50 ms (router/ledger/_group.py)."""
    query = "SELECT team, app, tier, model, decision_rule, status FROM requests WHERE request_id=?"
    deadline = time.monotonic() + 5.0
    while True:
        rows = query_ledger(gateway, query, request_id)
        if rows or time.monotonic() > deadline:
            return rows
        time.sleep(0.01)


# -- answers -------------------------------------------------------------------------------------


def test_a_plain_request_is_routed_recorded_and_explained_in_headers(gateway, client):
    raw = client.chat.completions.with_raw_response.create(model="auto", messages=HELLO)
    completion = raw.parse()
    assert completion.choices[0].message.content == "This is qwen3.5:9b answering: Say hello."
    assert (completion.model, completion.choices[0].finish_reason) == ("qwen3.5:9b", "stop")
    assert completion.id == f"chatcmpl-{raw.headers['x-router-request-id']}"
    assert completion.usage is not None and completion.usage.total_tokens > 0
    headers = {k: raw.headers[f"x-router-{k}"] for k in ("tier", "model", "rule", "cost-usd")}
    assert headers == {
        "tier": "local",
        "model": "qwen3.5:9b",
        "rule": "token-count",
        "cost-usd": "0",
    }
    assert float(raw.headers["x-router-savings-usd"]) > 0
    rows = ledger_rows(gateway, raw.headers["x-router-request-id"])
    assert rows == [("support", "triage", "local", "qwen3.5:9b", "token-count", "ok")]


def test_the_routing_facts_field_comes_when_asked(client):
    completion = client.chat.completions.create(
        model="gpt-5.4", messages=HELLO, extra_headers={"x-router-details": "1"}
    )
    facts = completion.model_extra["router"]  # type: ignore[index]
    assert (facts["tier"], facts["rule"], facts["model"]) == ("frontier", "pinned", "gpt-5.4")
    assert float(facts["cost_usd"]) > 0 and facts["attempts"][0]["outcome"] == "ok"
    plain = client.chat.completions.create(model="auto", messages=HELLO)
    assert "router" not in (plain.model_extra or {})


def test_a_stream_is_openais_event_format_with_usage_last(gateway):
    body = {
        "model": "auto",
        "messages": HELLO,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    headers = {"authorization": f"Bearer {SUPPORT}"}
    response = httpx.post(gateway.url + "/v1/chat/completions", json=body, headers=headers)
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert response.text.endswith("\n\ndata: [DONE]\n\n")
    events = [e for e in response.text.split("\n\n") if e]
    assert all(e.startswith("data: ") for e in events)
    chunks = [json.loads(e[6:]) for e in events[:-1]]
    assert all(c["object"] == "chat.completion.chunk" and "usage" in c for c in chunks)
    assert {c["model"] for c in chunks} == {"qwen3.5:9b"}  # the answering model, from the start
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": "", "refusal": None}
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == "This is qwen3.5:9b answering: Say hello."
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] > 0
    assert '", "' not in response.text  # compact JSON, as OpenAI writes it


def test_the_sdk_streams_and_assembles_the_same_answer(client):
    stream = client.chat.completions.create(model="gpt-5.4", messages=HELLO, stream=True)
    pieces = [c.choices[0].delta.content or "" for c in stream if c.choices]
    assert "".join(pieces) == "This is gpt-5.4 answering: Say hello."


def test_tool_calls_round_trip_through_the_sdk(client):
    first = client.chat.completions.create(model="auto", messages=HELLO, tools=TOOLS)
    message = first.choices[0].message
    assert first.choices[0].finish_reason == "tool_calls" and message.content is None
    call = message.tool_calls[0]
    assert (call.function.name, json.loads(call.function.arguments)) == (
        "get_weather",
        {"city": "example"},
    )
    result = {"role": "tool", "tool_call_id": call.id, "content": "sunny"}
    again = client.chat.completions.create(
        model="auto",
        messages=[*HELLO, message.model_dump(exclude_none=True), result],
        tools=TOOLS,
    )
    assert again.choices[0].message.content == "The tool returned: sunny"


def test_streamed_tool_calls_are_assembled_by_the_sdk_stream_helper(client):
    with client.chat.completions.stream(
        model="anthropic/claude-opus-4-6", messages=HELLO, tools=TOOLS
    ) as stream:
        final = stream.get_final_completion()
    call = final.choices[0].message.tool_calls[0]
    assert json.loads(call.function.arguments) == {"city": "example"}
    assert final.choices[0].finish_reason == "tool_calls"


def test_json_mode_reaches_ollama_as_its_format(servers, client):
    ollama, _, _ = servers
    ollama.script(Reply(text='{"answer": 4}'))
    completion = client.chat.completions.create(
        model="auto", messages=HELLO, response_format={"type": "json_object"}
    )
    assert json.loads(completion.choices[0].message.content or "") == {"answer": 4}
    assert ollama.requests[-1].body["format"] == "json"


def test_models_lists_auto_and_what_may_be_pinned(client):
    ids = [m.id for m in client.models.list()]
    assert ids == ["auto", "qwen3.5:9b", "gpt-5.4", "anthropic/claude-opus-4-6"]
    assert client.models.retrieve("gpt-5.4").owned_by == "frontier"


def test_health_and_readiness(gateway):
    assert httpx.get(gateway.url + "/healthz").json() == {"status": "ok"}
    ready = httpx.get(gateway.url + "/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"local_model": "ok", "ledger": "ok"}}


# -- every error status --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n": 2}, "n > 1 is not supported"),
        ({"tools": [{"type": "retrieval"}]}, "tools[0].type must be 'function'"),
        ({"extra_body": {"frobnicate": 1}}, "Unrecognized request argument supplied: frobnicate"),
        ({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]}, "image_url"),
    ],
)
def test_a_bad_request_is_400(client, kwargs, message):
    kwargs = {"model": "auto", "messages": HELLO, **kwargs}
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(**kwargs)
    assert message in caught.value.message
    assert caught.value.body["type"] == "invalid_request_error"  # type: ignore[index]


def test_a_body_that_is_not_json_is_400_and_one_too_large_413(gateway):
    headers = {"authorization": f"Bearer {SUPPORT}", "content-type": "application/json"}
    url = gateway.url + "/v1/chat/completions"
    broken = httpx.post(url, content=b'{"model": ', headers=headers)
    assert broken.status_code == 400 and "could not parse the JSON" in broken.text
    huge = httpx.post(url, content=b"x" * 200_000, headers=headers)
    assert huge.status_code == 413 and huge.json()["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize("key", [None, "sk-wrong-0123456789abcdef"])
def test_a_missing_or_wrong_key_is_401_and_never_echoed(gateway, key):
    with gateway.client(key) as sdk, pytest.raises(openai.AuthenticationError) as caught:
        sdk.chat.completions.create(model="auto", messages=HELLO)
    assert caught.value.body["code"] == "invalid_api_key"  # type: ignore[index]
    assert "0123456789" not in str(caught.value.body)
    with gateway.client(key) as sdk, pytest.raises(openai.AuthenticationError):
        sdk.models.list()


def test_refused_personal_data_and_another_teams_metadata_are_403(client):
    card = [{"role": "user", "content": "Charge 4111 1111 1111 1111 please"}]
    with pytest.raises(openai.PermissionDeniedError, match="payment_card"):
        client.chat.completions.create(model="auto", messages=card)
    with pytest.raises(openai.PermissionDeniedError, match="set by your API key"):
        client.chat.completions.create(model="auto", messages=HELLO, metadata={"team": "ml"})


def test_an_unknown_model_is_openais_404_model_not_found(gateway, client):
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model="gpt-4o", messages=HELLO)
    assert caught.value.body["code"] == "model_not_found"  # type: ignore[index]
    assert caught.value.body["param"] == "model"  # type: ignore[index]
    wrong_path = httpx.get(gateway.url + "/v1/engines")
    assert wrong_path.status_code == 404
    assert wrong_path.json()["error"]["message"] == "Invalid URL (GET /v1/engines)"


def test_a_spent_budget_is_429_that_the_sdk_does_not_retry(gateway):
    with gateway.client(BROKE, max_retries=2) as sdk:
        # a window below its cap admits one request (it may overshoot); this one spends it
        sdk.chat.completions.create(model="gpt-5.4", messages=HELLO)
        with pytest.raises(openai.RateLimitError) as caught:
            sdk.chat.completions.create(model="gpt-5.4", messages=HELLO)
    assert caught.value.body["type"] == "insufficient_quota"  # type: ignore[index]
    assert caught.value.response.headers["x-should-retry"] == "false"
    request_id = caught.value.response.headers["x-router-request-id"]
    assert ledger_rows(gateway, request_id) == [("broke", None, None, None, "pinned", "error")]


def test_a_full_gateway_is_429_with_retry_after(servers, gateway):
    ollama, _, _ = servers
    ollama.script(*[Reply(latency=1.5)] * 3)
    before = len(ollama.requests)

    def ask() -> None:
        with gateway.client() as sdk:
            sdk.chat.completions.create(model="auto", messages=HELLO)

    workers = [threading.Thread(target=ask) for _ in range(3)]
    for worker in workers:
        worker.start()
    while len(ollama.requests) < before + 3:  # all three in flight: the limit is 3
        time.sleep(0.01)
    with gateway.client() as sdk, pytest.raises(openai.RateLimitError) as caught:
        sdk.chat.completions.create(model="auto", messages=HELLO)
    assert caught.value.response.headers["retry-after"] == "1"
    assert caught.value.body["code"] == "rate_limit_exceeded"  # type: ignore[index]
    for worker in workers:
        worker.join()


def test_a_failed_model_is_502(servers, client):
    ollama, _, _ = servers
    ollama.script(Reply(status=500))
    with pytest.raises(openai.InternalServerError) as caught:
        client.chat.completions.create(model="qwen3.5:9b", messages=HELLO)
    assert caught.value.status_code == 502
    assert "ollama:qwen3.5:9b: ServerError" in caught.value.message


def test_a_request_past_its_deadline_is_504(servers, gateway):
    ollama, _, _ = servers
    ollama.script(Reply(latency=2.5))
    with gateway.client(HASTY) as sdk, pytest.raises(openai.APIStatusError) as caught:
        sdk.chat.completions.create(model="qwen3.5:9b", messages=HELLO)
    assert caught.value.status_code == 504
    assert caught.value.body["type"] == "timeout"  # type: ignore[index]


def test_an_error_before_the_first_chunk_of_a_stream_keeps_its_status(client):
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="gpt-4o", messages=HELLO, stream=True)


def test_a_client_leaving_mid_stream_is_recorded_as_cancelled(servers, gateway):
    ollama, _, _ = servers
    ollama.script(Reply(text="word " * 50, chunk_delay=0.1))
    body = {"model": "auto", "messages": HELLO, "stream": True}
    headers = {"authorization": f"Bearer {SUPPORT}"}
    with httpx.stream(
        "POST", gateway.url + "/v1/chat/completions", json=body, headers=headers
    ) as r:
        request_id = r.headers["x-router-request-id"]
        next(r.iter_bytes())  # the role chunk: the stream is on; then hang up
    deadline = time.monotonic() + 10
    while not ledger_rows(gateway, request_id) and time.monotonic() < deadline:
        time.sleep(0.05)
    query = "SELECT status, error_class FROM requests WHERE request_id=?"
    assert query_ledger(gateway, query, request_id) == [("error", "RequestCancelledError")]


def test_a_caller_that_times_out_stops_the_request_and_it_is_recorded(servers, gateway):
    ollama, _, _ = servers
    ollama.script(Reply(latency=3.0))
    with gateway.client(timeout=0.5) as sdk, pytest.raises(openai.APITimeoutError):
        sdk.chat.completions.create(model="auto", messages=[{"role": "user", "content": "Slow?"}])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        query = "SELECT error_class FROM requests ORDER BY created_at DESC LIMIT 1"
        [(last,)] = query_ledger(gateway, query)
        if last == "RequestCancelledError":
            break
        time.sleep(0.05)
    assert last == "RequestCancelledError"  # recorded at once, not after the model's 3 s


# Last: it stops the module's gateway.
def test_sigterm_finishes_in_flight_requests_and_records_them_then_exits(servers, gateway):
    ollama, _, _ = servers
    ollama.script(Reply(latency=1.5))
    before = len(ollama.requests)
    answers: list[Any] = []

    def ask() -> None:
        with gateway.client() as sdk:
            answers.append(
                sdk.chat.completions.with_raw_response.create(model="auto", messages=HELLO)
            )

    worker = threading.Thread(target=ask)
    worker.start()
    while len(ollama.requests) == before:
        time.sleep(0.01)
    gateway.process.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    with pytest.raises(httpx.ConnectError):  # no longer accepting
        httpx.get(gateway.url + "/healthz")
    worker.join(10)
    # uvicorn re-raises SIGTERM once it has shut down cleanly, as process managers expect
    assert gateway.stop() in (0, -signal.SIGTERM)
    (answer,) = answers
    assert answer.status_code == 200
    assert answer.parse().choices[0].message.content.startswith("This is qwen3.5:9b")
    assert ledger_rows(gateway, answer.headers["x-router-request-id"])[0][-1] == "ok"
    assert "Application shutdown complete" in gateway.log
    assert not any(secret in gateway.log for secret in (*KEYS.values(), "Say hello"))
