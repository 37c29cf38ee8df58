"""router.testing's loopback servers, checked against the real clients (ollama, litellm)."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
_LITELLM = importlib.util.find_spec("litellm")
assert _LITELLM is not None and _LITELLM.origin is not None
os.environ.setdefault(
    "TIKTOKEN_CACHE_DIR", str(Path(_LITELLM.origin).parent / "litellm_core_utils" / "tokenizers")
)

import litellm  # noqa: E402 - the offline switches above must be set first
import ollama  # noqa: E402

import router.testing  # noqa: E402
from router.testing import (  # noqa: E402
    AnthropicServer,
    ChatRequest,
    OllamaServer,
    OpenAIServer,
    ReplayResponder,
    Reply,
    Usage,
    count_tokens,
    load_demo_workload,
)

# litellm imports its GitHub Copilot provider lazily on the first call, and pydantic warns about a
# TypedDict there; nothing to do with us, and `filterwarnings = error` would fail whichever test
# happens to make that first call.
# Likewise its usage chunks touch a pydantic attribute deprecated in 2.11.
pytestmark = [
    pytest.mark.filterwarnings("ignore:Items .* `ReadOnly` qualifier:UserWarning"),
    pytest.mark.filterwarnings("ignore:Accessing the 'model_computed_fields' attribute"),
]

QUESTION = "What is the capital of France?"
ANSWER = "The capital of France is Paris, a city on the Seine."
MESSAGES = [{"role": "user", "content": QUESTION}]
OPENAI_KEY = "sk-test"
ANTHROPIC_KEY = "sk-ant-test"


def _our_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("router.testing.")]


async def _openai(server: OpenAIServer, **kwargs: Any) -> Any:
    kwargs.setdefault("api_key", OPENAI_KEY)
    return await litellm.acompletion(
        model="gpt-5.4",
        api_base=server.url + "/v1",
        messages=MESSAGES,
        num_retries=0,
        max_retries=0,
        **kwargs,
    )


async def _anthropic(server: AnthropicServer, **kwargs: Any) -> Any:
    kwargs.setdefault("api_key", ANTHROPIC_KEY)
    return await litellm.acompletion(
        model="anthropic/claude-opus-4-6",
        api_base=server.url,
        messages=MESSAGES,
        num_retries=0,
        max_retries=0,
        **kwargs,
    )


CALLS = {"openai": _openai, "anthropic": _anthropic}


@pytest.fixture(params=["openai", "anthropic"])
def frontier(
    request: pytest.FixtureRequest, openai_server: OpenAIServer, anthropic_server: AnthropicServer
) -> tuple[str, OpenAIServer | AnthropicServer]:
    """Each frontier server in turn, with the name of its litellm caller."""
    return request.param, openai_server if request.param == "openai" else anthropic_server


async def _collect(stream: Any) -> tuple[list[str], Any]:
    """Text pieces and the last chunk carrying usage, from a litellm stream."""
    pieces: list[str] = []
    usage = None
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            pieces.append(chunk.choices[0].delta.content)
        usage = getattr(chunk, "usage", None) or usage
    return pieces, usage


def test_public_api_is_sorted_and_importable() -> None:
    assert router.testing.__all__ == sorted(router.testing.__all__)
    for name in router.testing.__all__:
        assert getattr(router.testing, name) is not None


# --- Ollama -----------------------------------------------------------------------------------


async def test_ollama_chat_non_streaming(ollama_server: OllamaServer) -> None:
    ollama_server.script(Reply(text=ANSWER))
    async with ollama.AsyncClient(host=ollama_server.url) as client:
        response = await client.chat(model="qwen3.5:9b", messages=MESSAGES)
    assert response.message.role == "assistant"
    assert response.message.content == ANSWER
    assert response.done is True
    assert response.done_reason == "stop"
    assert response.prompt_eval_count == count_tokens(QUESTION)
    assert response.eval_count == count_tokens(ANSWER)
    for field in ("total_duration", "load_duration", "prompt_eval_duration", "eval_duration"):
        assert isinstance(getattr(response, field), int)
    (request,) = ollama_server.requests
    assert (request.method, request.path) == ("POST", "/api/chat")
    assert request.body["model"] == "qwen3.5:9b"
    assert request.body["stream"] is False


async def test_ollama_chat_streaming(ollama_server: OllamaServer) -> None:
    ollama_server.script(Reply(text=ANSWER, usage=Usage(input_tokens=11, output_tokens=22)))
    async with ollama.AsyncClient(host=ollama_server.url) as client:
        parts = [p async for p in await client.chat("qwen3.5:9b", MESSAGES, stream=True)]
    assert len(parts) > 3
    assert "".join(p.message.content or "" for p in parts) == ANSWER
    assert all(p.done is False and p.done_reason is None for p in parts[:-1])
    final = parts[-1]
    assert (final.done, final.done_reason, final.message.content) == (True, "stop", "")
    assert (final.prompt_eval_count, final.eval_count) == (11, 22)


@pytest.mark.parametrize("stream", [False, True])
async def test_ollama_num_predict_truncates(ollama_server: OllamaServer, stream: bool) -> None:
    ollama_server.script(Reply(text=ANSWER))
    async with ollama.AsyncClient(host=ollama_server.url) as client:
        result = await client.chat(
            "qwen3.5:9b", MESSAGES, stream=stream, options={"num_predict": 3}
        )
        parts = [p async for p in result] if stream else [result]
    assert "".join(p.message.content or "" for p in parts) == ANSWER[:12]
    assert parts[-1].done_reason == "length"
    assert parts[-1].eval_count == 3


async def test_ollama_logprobs(ollama_server: OllamaServer) -> None:
    ollama_server.script(Reply(text="Paris is the answer.", logprob=-1.5))
    async with ollama.AsyncClient(host=ollama_server.url) as client:
        response = await client.chat("qwen3.5:9b", MESSAGES, logprobs=True, top_logprobs=2)
    assert response.logprobs is not None
    assert "".join(lp.token for lp in response.logprobs) == "Paris is the answer."
    assert {lp.logprob for lp in response.logprobs} == {-1.5}
    assert all(
        lp.top_logprobs is not None and len(lp.top_logprobs) == 2 for lp in response.logprobs
    )


async def test_ollama_unknown_model_is_404(ollama_server: OllamaServer) -> None:
    async with ollama.AsyncClient(host=ollama_server.url) as client:
        with pytest.raises(ollama.ResponseError) as info:
            await client.chat(model="llama9:70b", messages=MESSAGES)
        with pytest.raises(ollama.ResponseError) as streamed:
            async for _ in await client.chat(model="llama9:70b", messages=MESSAGES, stream=True):
                pass
    for err in (info.value, streamed.value):
        assert err.status_code == 404
        assert err.error == 'model "llama9:70b" not found, try pulling it first'


async def test_ollama_metadata_endpoints(ollama_server: OllamaServer) -> None:
    async with ollama.AsyncClient(host=ollama_server.url) as client:
        listed = await client.list()
        shown = await client.show("qwen3.5:9b")
        with pytest.raises(ollama.ResponseError):
            await client.show("missing:1b")
    (model,) = listed.models
    assert model.model == "qwen3.5:9b"
    assert model.details is not None and model.details.family == "qwen35"
    assert shown.modelinfo is not None and shown.modelinfo["qwen35.context_length"] == 262144
    assert shown.capabilities is not None and "completion" in shown.capabilities
    async with httpx.AsyncClient(base_url=ollama_server.url) as http:
        root = await http.get("/")
        version = await http.get("/api/version")
    assert (root.status_code, root.text) == (200, "Ollama is running")
    assert "version" in version.json()


async def test_ollama_generate_endpoint(ollama_server: OllamaServer) -> None:
    ollama_server.script(Reply(text=ANSWER))
    async with ollama.AsyncClient(host=ollama_server.url) as client:
        response = await client.generate("qwen3.5:9b", QUESTION)
    assert (response.response, response.done_reason) == (ANSWER, "stop")


async def test_ollama_faults(ollama_server: OllamaServer) -> None:
    ollama_server.script(
        Reply(status=500, text="llama runner process has terminated"),
        Reply(text=ANSWER, drop="mid_body"),
        Reply(body=b'{"model": "qwen3.5:9b", "message": '),
        Reply(hang=True),
    )
    async with ollama.AsyncClient(host=ollama_server.url, timeout=0.3) as client:
        with pytest.raises(ollama.ResponseError) as info:
            await client.chat("qwen3.5:9b", MESSAGES)
        assert (info.value.status_code, info.value.error) == (
            500,
            "llama runner process has terminated",
        )
        seen: list[str] = []
        with pytest.raises(httpx.RemoteProtocolError):
            async for part in await client.chat("qwen3.5:9b", MESSAGES, stream=True):
                seen.append(part.message.content or "")
        assert seen and "".join(seen) != ANSWER and ANSWER.startswith("".join(seen))
        with pytest.raises(json.JSONDecodeError):
            await client.chat("qwen3.5:9b", MESSAGES)
        started = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            await client.chat("qwen3.5:9b", MESSAGES)
        assert time.monotonic() - started < 3
    assert ollama_server.pending == 0


# --- OpenAI and Anthropic through litellm --------------------------------------------------------


async def test_openai_non_streaming(openai_server: OpenAIServer) -> None:
    openai_server.script(Reply(text=ANSWER))
    response = await _openai(openai_server)
    assert response.choices[0].message.content == ANSWER
    assert response.choices[0].finish_reason == "stop"
    assert response.usage.prompt_tokens == count_tokens(QUESTION)
    assert response.usage.completion_tokens == count_tokens(ANSWER)
    assert response.usage.total_tokens == count_tokens(QUESTION) + count_tokens(ANSWER)
    (request,) = openai_server.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {OPENAI_KEY}"
    assert request.body["model"] == "gpt-5.4"


async def test_openai_streaming_with_usage(openai_server: OpenAIServer) -> None:
    openai_server.script(Reply(text=ANSWER, usage=Usage(input_tokens=7, output_tokens=9)))
    stream = await _openai(openai_server, stream=True, stream_options={"include_usage": True})
    pieces, usage = await _collect(stream)
    assert len(pieces) > 3 and "".join(pieces) == ANSWER
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (7, 9, 16)


async def test_openai_wire_format(openai_server: OpenAIServer) -> None:
    """The exact JSON and SSE shapes, checked without a client smoothing them over."""
    openai_server.script(Reply(text="Hi there."), Reply(text="Hi there."))
    headers = {"Authorization": f"Bearer {OPENAI_KEY}"}
    body = {"model": "gpt-5.4", "messages": MESSAGES}
    stream_body = {**body, "stream": True, "stream_options": {"include_usage": True}}
    async with httpx.AsyncClient(base_url=openai_server.url, headers=headers) as http:
        plain = (await http.post("/chat/completions", json=body)).json()
        streamed = await http.post("/v1/chat/completions", json=stream_body)
        models = (await http.get("/v1/models")).json()
    assert set(plain) >= {"id", "object", "created", "model", "choices", "usage"}
    assert plain["object"] == "chat.completion" and "system_fingerprint" in plain
    assert plain["choices"][0] == {
        "index": 0,
        "message": {
            "role": "assistant",
            "content": "Hi there.",
            "refusal": None,
            "annotations": [],
        },
        "logprobs": None,
        "finish_reason": "stop",
    }
    assert streamed.headers["content-type"].startswith("text/event-stream")
    events = [e.removeprefix("data: ") for e in streamed.text.split("\n\n") if e]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] > 0
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert models["object"] == "list" and models["data"][0]["object"] == "model"


async def test_anthropic_non_streaming(anthropic_server: AnthropicServer) -> None:
    anthropic_server.script(Reply(text=ANSWER))
    response = await _anthropic(anthropic_server)
    assert response.choices[0].message.content == ANSWER
    assert response.choices[0].finish_reason == "stop"
    assert response.usage.prompt_tokens == count_tokens(QUESTION)
    assert response.usage.completion_tokens == count_tokens(ANSWER)
    (request,) = anthropic_server.requests
    assert request.path == "/v1/messages"
    assert request.headers["x-api-key"] == ANTHROPIC_KEY


async def test_anthropic_streaming(anthropic_server: AnthropicServer) -> None:
    anthropic_server.script(Reply(text=ANSWER, usage=Usage(input_tokens=5, output_tokens=8)))
    stream = await _anthropic(anthropic_server, stream=True, stream_options={"include_usage": True})
    pieces, usage = await _collect(stream)
    assert len(pieces) > 3 and "".join(pieces) == ANSWER
    assert (usage.prompt_tokens, usage.completion_tokens) == (5, 8)


async def test_anthropic_wire_format(anthropic_server: AnthropicServer) -> None:
    anthropic_server.script(Reply(text="Hi there."), Reply(text="Hi there."))
    headers = {"x-api-key": ANTHROPIC_KEY, "anthropic-version": "2023-06-01"}
    body = {"model": "claude-opus-4-6", "max_tokens": 100, "messages": MESSAGES}
    async with httpx.AsyncClient(base_url=anthropic_server.url, headers=headers) as http:
        plain = (await http.post("/v1/messages", json=body)).json()
        streamed = await http.post("/v1/messages", json={**body, "stream": True})
        unversioned = await http.post("/v1/messages", json=body, headers={"anthropic-version": ""})
    assert plain["type"] == "message" and plain["role"] == "assistant"
    assert plain["content"] == [{"type": "text", "text": "Hi there."}]
    assert (plain["stop_reason"], plain["stop_sequence"]) == ("end_turn", None)
    assert set(plain["usage"]) >= {"input_tokens", "output_tokens"}
    names = [e.split("\n")[0].removeprefix("event: ") for e in streamed.text.split("\n\n") if e]
    assert names[:3] == ["message_start", "content_block_start", "ping"]
    assert set(names[3:-3]) == {"content_block_delta"}
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert unversioned.status_code == 200  # an empty header still counts as present


@pytest.mark.parametrize("stream", [False, True])
async def test_max_tokens_truncates(
    frontier: tuple[str, OpenAIServer | AnthropicServer], stream: bool
) -> None:
    name, server = frontier
    server.script(Reply(text=ANSWER))
    response = await CALLS[name](server, max_tokens=2, stream=stream)
    if stream:
        pieces, _ = await _collect(response)
        assert "".join(pieces) == ANSWER[:8]
    else:
        assert response.choices[0].message.content == ANSWER[:8]
        assert response.choices[0].finish_reason == "length"
        assert response.usage.completion_tokens == 2


# --- Faults -------------------------------------------------------------------------------------

ERRORS = {
    "openai": {
        400: litellm.BadRequestError,
        401: litellm.AuthenticationError,
        404: litellm.NotFoundError,
        429: litellm.RateLimitError,
        500: litellm.InternalServerError,
        503: litellm.ServiceUnavailableError,
    },
    "anthropic": {
        400: litellm.BadRequestError,
        401: litellm.AuthenticationError,
        404: litellm.NotFoundError,
        429: litellm.RateLimitError,
        500: litellm.InternalServerError,
        503: litellm.InternalServerError,  # litellm's own mapping for Anthropic
        529: litellm.InternalServerError,
    },
}


async def test_status_codes_map_to_litellm_exceptions(
    frontier: tuple[str, OpenAIServer | AnthropicServer],
) -> None:
    name, server = frontier
    for status, exc_class in ERRORS[name].items():
        for stream in (False, True):
            server.script(Reply(status=status))
            with pytest.raises(exc_class) as info:
                await CALLS[name](server, stream=stream)
            assert info.value.status_code == (
                500 if status in (503, 529) and name == "anthropic" else status
            )


def _headers(exc: Any) -> Any:
    return getattr(exc, "litellm_response_headers", None) or exc.response.headers


async def test_retry_after_header_is_visible(
    frontier: tuple[str, OpenAIServer | AnthropicServer],
) -> None:
    name, server = frontier
    server.script(Reply(status=429, retry_after=7), Reply(status=503, retry_after=1.5))
    with pytest.raises(litellm.RateLimitError) as limited:
        await CALLS[name](server)
    with pytest.raises(ERRORS[name][503]) as busy:
        await CALLS[name](server)
    assert _headers(limited.value)["retry-after"] == "7"
    assert _headers(busy.value)["retry-after"] == "1.5"


async def test_error_bodies_follow_each_protocol(
    openai_server: OpenAIServer, anthropic_server: AnthropicServer
) -> None:
    openai_server.script(Reply(status=429, text="slow down"))
    anthropic_server.script(Reply(status=529))
    async with httpx.AsyncClient() as http:
        o = await http.post(
            openai_server.url + "/v1/chat/completions",
            json={"model": "gpt-5.4", "messages": MESSAGES},
            headers={"Authorization": f"Bearer {OPENAI_KEY}"},
        )
        a = await http.post(
            anthropic_server.url + "/v1/messages",
            json={"model": "claude-opus-4-6", "max_tokens": 5, "messages": MESSAGES},
            headers={"x-api-key": ANTHROPIC_KEY, "anthropic-version": "2023-06-01"},
        )
    assert o.status_code == 429
    assert o.json() == {
        "error": {
            "message": "slow down",
            "type": "requests",
            "param": None,
            "code": "rate_limit_exceeded",
        }
    }
    assert a.status_code == 529
    assert a.json() == {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "Overloaded"},
    }


async def test_auth_failures(
    openai_server: OpenAIServer, anthropic_server: AnthropicServer
) -> None:
    with pytest.raises(litellm.AuthenticationError):
        await _openai(openai_server, api_key="sk-wrong")
    with pytest.raises(litellm.AuthenticationError):
        await _anthropic(anthropic_server, api_key="sk-ant-wrong")
    async with httpx.AsyncClient() as http:
        missing = await http.post(
            openai_server.url + "/v1/chat/completions",
            json={"model": "gpt-5.4", "messages": MESSAGES},
        )
        anon = await http.post(
            anthropic_server.url + "/v1/messages",
            json={"model": "claude-opus-4-6", "max_tokens": 5, "messages": MESSAGES},
            headers={"anthropic-version": "2023-06-01"},
        )
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "invalid_api_key"
    assert missing.json()["error"]["type"] == "invalid_request_error"
    assert anon.status_code == 401
    assert anon.json()["error"]["type"] == "authentication_error"
    assert openai_server.pending == anthropic_server.pending == 0


async def test_unknown_model_is_404_when_models_are_listed() -> None:
    with OpenAIServer(models=["gpt-5.4"]) as server, pytest.raises(litellm.NotFoundError):
        await litellm.acompletion(
            model="gpt-4.1",
            api_base=server.url + "/v1",
            api_key="k",
            messages=MESSAGES,
            num_retries=0,
            max_retries=0,
        )
    with (
        AnthropicServer(models=["claude-opus-4-6"]) as server,
        pytest.raises(litellm.NotFoundError),
    ):
        await litellm.acompletion(
            model="anthropic/claude-3-haiku-20240307",
            api_base=server.url,
            api_key="k",
            messages=MESSAGES,
            num_retries=0,
            max_retries=0,
        )


async def test_connection_drops(frontier: tuple[str, OpenAIServer | AnthropicServer]) -> None:
    name, server = frontier
    for drop in ("before_headers", "after_headers", "mid_body"):
        server.script(Reply(text=ANSWER, drop=drop))
        with pytest.raises((litellm.APIConnectionError, litellm.InternalServerError)):
            await CALLS[name](server)
    server.script(Reply(text=ANSWER, drop="mid_body"))
    stream = await CALLS[name](server, stream=True)
    seen: list[str] = []
    with pytest.raises(litellm.exceptions.MidStreamFallbackError):
        async for chunk in stream:
            seen.append(chunk.choices[0].delta.content or "")
    assert seen and "".join(seen) != ANSWER and ANSWER.startswith("".join(seen))


async def test_hang_is_cut_by_client_timeout(
    frontier: tuple[str, OpenAIServer | AnthropicServer],
) -> None:
    name, server = frontier
    server.script(Reply(hang=True))
    started = time.monotonic()
    with pytest.raises(litellm.Timeout):
        await CALLS[name](server, timeout=0.3)
    assert time.monotonic() - started < 3


async def test_malformed_upstream_body(
    frontier: tuple[str, OpenAIServer | AnthropicServer],
) -> None:
    name, server = frontier
    server.script(Reply(body=b'{"id": "x", "choices": [', content_type="application/json"))
    with pytest.raises((litellm.APIConnectionError, litellm.InternalServerError)) as info:
        await CALLS[name](server)
    assert "char" in str(info.value)  # the JSON decoder's complaint is passed through


async def test_latency_and_chunk_delay(openai_server: OpenAIServer) -> None:
    openai_server.script(
        Reply(text="a b c d", latency=0.2), Reply(text="a b c d", chunk_delay=0.05)
    )
    started = time.monotonic()
    await _openai(openai_server)
    assert time.monotonic() - started >= 0.2
    started = time.monotonic()
    await _collect(await _openai(openai_server, stream=True))
    assert time.monotonic() - started >= 0.05 * 5


# --- Scripting and lifecycle --------------------------------------------------------------------


async def test_script_then_responder(openai_server: OpenAIServer) -> None:
    seen: list[ChatRequest] = []

    def responder(request: ChatRequest) -> Reply:
        seen.append(request)
        return Reply(text=f"answer {len(seen)}")

    openai_server.responder = responder
    openai_server.script(Reply(text="first"), Reply(latency=0.0))
    assert openai_server.pending == 2
    texts = [(await _openai(openai_server)).choices[0].message.content for _ in range(4)]
    # The second scripted reply has no text, so the responder writes it.
    assert texts == ["first", "answer 1", "answer 2", "answer 3"]
    assert seen[0].api == "openai" and seen[0].model == "gpt-5.4"
    assert seen[0].last_user_message == QUESTION and seen[0].stream is False
    assert openai_server.pending == 0


async def test_failing_responder_gives_500(openai_server: OpenAIServer) -> None:
    def responder(request: ChatRequest) -> Reply:
        raise ValueError("boom")

    openai_server.responder = responder
    with pytest.raises(litellm.InternalServerError, match="boom"):
        await _openai(openai_server)


def test_default_responder_is_deterministic() -> None:
    with OllamaServer() as server:
        answers = [
            httpx.post(
                server.url + "/api/chat",
                json={"model": "qwen3.5:9b", "messages": MESSAGES, "stream": False},
            ).json()["message"]["content"]
            for _ in range(2)
        ]
    assert answers[0] == answers[1] and QUESTION in answers[0]


def test_url_needs_a_started_server() -> None:
    server = OpenAIServer()
    with pytest.raises(RuntimeError, match="start"):
        _ = server.url
    server.stop()  # stopping a server that never started is harmless


def test_stop_ends_hanging_requests_and_leaves_no_thread() -> None:
    server = AnthropicServer(hang_timeout=60).start()
    server.script(Reply(hang=True))
    errors: list[BaseException] = []

    def call() -> None:
        try:
            httpx.post(
                server.url + "/v1/messages",
                json={"model": "m", "max_tokens": 5, "messages": MESSAGES},
                headers={"anthropic-version": "2023-06-01"},
                timeout=30,
            )
        except BaseException as exc:
            errors.append(exc)

    client = threading.Thread(target=call)
    client.start()
    deadline = time.monotonic() + 5
    while not server.requests and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.requests and _our_threads()
    started = time.monotonic()
    server.stop()
    client.join(5)
    assert time.monotonic() - started < 10  # well under hang_timeout: stop() ended the hang
    assert not client.is_alive()
    assert len(errors) == 1 and isinstance(errors[0], httpx.RemoteProtocolError)
    assert _our_threads() == []


def test_stop_closes_idle_keep_alive_connections() -> None:
    server = OllamaServer(keep_alive=True).start()
    with httpx.Client(base_url=server.url) as http:
        assert http.get("/").status_code == 200  # the connection stays open in the pool
        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < 10  # not the handler's 30 s idle timeout
    assert _our_threads() == []


async def test_servers_run_side_by_side_in_one_event_loop(
    ollama_server: OllamaServer, openai_server: OpenAIServer
) -> None:
    def wait_for_the_other(request: ChatRequest) -> Reply:
        # Answers only once the OpenAI request has arrived too: both must be in flight at once.
        deadline = time.monotonic() + 5
        while not openai_server.requests and time.monotonic() < deadline:
            time.sleep(0.01)
        return Reply(text="together" if openai_server.requests else "alone")

    ollama_server.responder = wait_for_the_other
    openai_server.script(Reply(text="frontier"))
    async with ollama.AsyncClient(host=ollama_server.url) as client:
        local, remote = await asyncio.gather(
            client.chat("qwen3.5:9b", MESSAGES), _openai(openai_server)
        )
    assert (local.message.content, remote.choices[0].message.content) == ("together", "frontier")


# --- Demo workload and replay -------------------------------------------------------------------


def test_demo_workload_loads() -> None:
    workload = load_demo_workload()
    assert 250 <= len(workload) <= 400
    assert len({p.id for p in workload}) == len(workload)
    assert len({p.prompt for p in workload}) == len(workload)
    assert {p.source for p in workload} >= {
        "mmlu-pro",
        "arena-bench-v1",
        "m-ifeval",
        "ja-vicuna-qa",
    }
    with_answers = [p for p in workload if p.local_answer and p.frontier_answer]
    assert len(with_answers) >= 0.8 * len(workload)
    assert all(0.0 <= p.local_score <= 1.0 and 0.0 <= p.frontier_score <= 1.0 for p in workload)
    assert all(p.local_model_recorded and p.frontier_model_recorded for p in workload)
    assert any(p.task.startswith("mmlu-pro/") for p in workload)
    assert any("/ja" in p.task for p in workload)


async def test_replay_returns_recorded_answers(
    ollama_server: OllamaServer, openai_server: OpenAIServer
) -> None:
    workload = load_demo_workload()
    prompt = next(p for p in workload if p.source == "mmlu-pro")
    ollama_server.responder = ReplayResponder(workload, side="local")
    openai_server.responder = ReplayResponder(workload, side="frontier")
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": prompt.prompt},
    ]
    async with ollama.AsyncClient(host=ollama_server.url) as client:
        local = await client.chat("qwen3.5:9b", messages)
    frontier = await litellm.acompletion(
        model="gpt-5.4",
        api_base=openai_server.url + "/v1",
        api_key=OPENAI_KEY,
        messages=messages,
        num_retries=0,
    )
    assert local.message.content == prompt.local_answer
    assert frontier.choices[0].message.content == prompt.frontier_answer
    assert prompt.local_answer != prompt.frontier_answer


def test_replay_unknown_prompt_and_missing_answer() -> None:
    workload = load_demo_workload()
    replay = ReplayResponder(workload, side="frontier")
    request = ChatRequest("openai", "/v1/chat/completions", "m", (), False, None, "nope", "", {})
    first, second = replay(request), replay(request)
    assert (
        first == second and first.text is not None and "No recorded frontier answer" in first.text
    )
    unanswered = next(p for p in workload if p.local_answer is None)
    assert replay.find("  " + unanswered.prompt + "\n") == unanswered
    with pytest.raises(ValueError, match="side"):
        ReplayResponder(workload, side="cloud")  # type: ignore[arg-type]
