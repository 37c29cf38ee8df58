"""One contract, two transports: an OpenAI model called through litellm (`LiteLLMBackend`) or
through the openai SDK (`OpenAIBackend`) sends the same request, returns the same answer and
usage, and raises the same router error (class, status, retry hint) for the same upstream fault.

Each test runs both backends against the same loopback OpenAI server and compares; litellm's
behaviour is the reference, so a litellm upgrade that changes it shows up here too.
"""

from __future__ import annotations

import logging
from typing import Any

import openai
import pytest

from router.backends import LiteLLMBackend, ModelRequest, OpenAIBackend, frontier_backend
from router.backends._openai_errors import OPENAI_ERRORS
from router.errors import AuthenticationError, BackendError, RouterError
from router.policy import FrontierModel
from router.testing import OpenAIServer, Reply, ReplyToolCall, Usage

pytestmark = pytest.mark.filterwarnings("ignore:Unclosed client session:ResourceWarning")

TRANSPORTS = (LiteLLMBackend, OpenAIBackend)
HELLO = ({"role": "user", "content": "hello there"},)
TOOL = {
    "type": "function",
    "function": {
        "name": "lookup",
        "description": "Look a city up",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
HISTORY = (
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Weather in Paris?"},
    {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "lookup", "arguments": '{"city": "Paris"}'},
            }
        ],
    },
    {"role": "tool", "content": "sunny", "tool_call_id": "call_1"},
)


async def _both(server: OpenAIServer, model: str, call: Any) -> list[Any]:
    """`call(backend)` on each transport, in turn, against `server`."""
    results = []
    for kind in TRANSPORTS:
        backend = kind(model, api_base=server.url + "/v1", api_key="sk-contract")
        try:
            results.append(await call(backend))
        finally:
            await backend.aclose()
    return results


async def _complete(backend: Any, request: ModelRequest, stream: bool) -> Any:
    if not stream:
        return await backend.complete(request)
    chunks = [chunk async for chunk in backend.stream(request)]
    final = chunks[-1].final
    assert final is not None and "".join(c.delta for c in chunks) == final.text
    return final


async def _error(backend: Any, request: ModelRequest, stream: bool) -> tuple[Any, ...]:
    try:
        await _complete(backend, request, stream)
    except RouterError as exc:
        status = exc.status_code if isinstance(exc, BackendError) else None
        return type(exc).__name__, status, getattr(exc, "retry_after", None)
    return ("no error",)


REQUESTS = {
    "plain": ModelRequest(messages=HELLO, timeout_s=10),
    "options": ModelRequest(
        messages=HELLO,
        timeout_s=10,
        max_tokens=50,
        temperature=0.2,
        top_p=0.9,
        seed=7,
        stop=("END",),
        response_format={"type": "json_object"},
    ),
    "temperature 1": ModelRequest(messages=HELLO, timeout_s=10, temperature=1.0, max_tokens=9),
    "tools": ModelRequest(messages=HISTORY, timeout_s=10, tools=(TOOL,), tool_choice="auto"),
    "named tool": ModelRequest(
        messages=HELLO,
        timeout_s=10,
        tools=(TOOL,),
        tool_choice={"type": "function", "function": {"name": "lookup"}},
    ),
}


@pytest.mark.parametrize("model", ["gpt-5.4", "gpt-4.1", "o3", "openai/gpt-5-mini"])
@pytest.mark.parametrize("name", sorted(REQUESTS))
@pytest.mark.parametrize("stream", [False, True])
async def test_both_transports_send_the_same_request(model, name, stream):
    with OpenAIServer() as server:
        await _both(server, model, lambda b: _complete(b, REQUESTS[name], stream))
        litellm, sdk = (request.body for request in server.requests)
    assert sdk == litellm


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(
    "reply",
    [
        Reply(text="Paris. END and more", usage=Usage(21, 4)),
        Reply(text="estimated, not reported", omit_usage=True),
        Reply(text="", tool_calls=(ReplyToolCall("lookup", {"city": "Paris"}),)),
        Reply(text="cut short", finish_reason="length", usage=Usage(5, 2)),
    ],
)
async def test_both_transports_return_the_same_answer_and_usage(reply, stream):
    request = ModelRequest(messages=HELLO, timeout_s=10, stop=("END",), tools=(TOOL,))
    with OpenAIServer() as server:
        server.script(reply, reply)
        litellm, sdk = await _both(server, "gpt-5.4", lambda b: _complete(b, request, stream))
    assert [c.name for c in sdk.tool_calls] == [c.name for c in litellm.tool_calls]
    assert [c.arguments for c in sdk.tool_calls] == [c.arguments for c in litellm.tool_calls]
    strip = {"tool_calls": ()}  # ids: the server makes a new one per call
    if stream and reply.omit_usage:
        # The one difference: litellm counts a stream's tokens itself when the server reports
        # none, and passes its count off as reported; the openai transport estimates them as a
        # plain answer is estimated, and says so (`usage_estimated`).
        assert sdk.usage_estimated and not litellm.usage_estimated
        strip |= {"input_tokens": 0, "output_tokens": 0, "usage_estimated": False}
    assert sdk.__class__(**{**_fields(sdk), **strip}) == litellm.__class__(
        **{**_fields(litellm), **strip}
    )


def _fields(response: Any) -> dict[str, Any]:
    return {name: getattr(response, name) for name in response.__slots__}


FAULTS = {
    "400": Reply(status=400),
    "401": Reply(status=401),
    "403": Reply(status=403),
    "404": Reply(status=404),
    "408": Reply(status=408),
    "409": Reply(status=409),
    "422": Reply(status=422),
    "429 with retry-after": Reply(status=429, retry_after=7),
    "429 with an HTTP date": Reply(
        status=429, headers={"Retry-After": "Wed, 21 Oct 2099 07:28:00 GMT"}
    ),
    "500": Reply(status=500),
    "502": Reply(status=502),
    "503": Reply(status=503, retry_after=2),
    "504": Reply(status=504),
    "529": Reply(status=529),
    "context window": Reply(
        status=400,
        text="This model's maximum context length is 128000 tokens. However, your messages "
        "resulted in 130000 tokens.",
    ),
    "content policy": Reply(status=400, text="content_policy_violation: Your request was rejected"),
    "not json": Reply(body=b"<html>not json</html>", content_type="application/json"),
    "json without choices, streamed": Reply(body=b'{"id": "x"}', content_type="application/json"),
    "dropped before headers": Reply(drop="before_headers"),
    "dropped after headers": Reply(drop="after_headers"),
    "dropped mid-body": Reply(drop="mid_body"),
    "slower than the deadline": Reply(latency=3.0),
}


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("fault", sorted(FAULTS))
async def test_both_transports_raise_the_same_error(fault, stream):
    if fault.endswith(", streamed") and not stream:
        pytest.skip("see test_an_answer_without_choices_is_malformed_not_a_server_error")
    request = ModelRequest(messages=HELLO, timeout_s=1.0)
    with OpenAIServer(hang_timeout=5) as server:
        server.script(FAULTS[fault], FAULTS[fault])
        litellm, sdk = await _both(server, "gpt-5.4", lambda b: _error(b, request, stream))
    assert sdk == litellm
    assert litellm != ("no error",)


async def test_an_answer_without_choices_is_malformed_not_a_server_error():
    """The one deliberate difference: a 200 answer whose JSON has no `choices` is a
    `ServerError` (HTTP 500, invented by litellm) on litellm's transport, but possibly billed
    (`MalformedResponseError`) on the openai transport: the server did answer, and may bill."""
    request = ModelRequest(messages=HELLO, timeout_s=5)
    reply = Reply(body=b'{"id": "x"}', content_type="application/json")
    with OpenAIServer() as server:
        server.script(reply, reply)
        litellm, sdk = await _both(server, "gpt-5.4", lambda b: _error(b, request, False))
    assert litellm == ("ServerError", 500, None)
    assert sdk == ("MalformedResponseError", None, None)


async def test_both_transports_raise_the_same_error_when_nothing_listens():
    request = ModelRequest(messages=HELLO, timeout_s=5)
    results = []
    for kind in TRANSPORTS:
        backend = kind("gpt-5.4", api_base="http://127.0.0.1:9/v1", api_key="sk-contract")
        results.append(await _error(backend, request, False))
        await backend.aclose()
    assert results[0] == results[1] and results[0][0] == "BackendUnreachableError"


@pytest.mark.parametrize("kind", TRANSPORTS)
async def test_an_auth_error_names_neither_key_nor_prompt(kind):
    request = ModelRequest(messages=({"role": "user", "content": "PROMPT-TEXT"},), timeout_s=5)
    with OpenAIServer(api_key="sk-right") as server:
        backend = kind("gpt-5.4", api_base=server.url + "/v1", api_key="sk-wrong-SECRET")
        with pytest.raises(AuthenticationError) as info:
            await backend.complete(request)
        await backend.aclose()
    text = f"{info.value} {info.value!r} {backend!r}"
    assert "SECRET" not in text and "sk-wrong" not in text and "PROMPT" not in text


def test_every_openai_exception_is_mapped():
    exported = {
        name
        for name in dir(openai)
        if not name.startswith("_")
        and isinstance(getattr(openai, name), type)
        and issubclass(getattr(openai, name), Exception)
        and getattr(openai, name).__module__.startswith("openai")
    }
    assert exported <= set(OPENAI_ERRORS), sorted(exported - set(OPENAI_ERRORS))


async def test_one_client_per_key_and_event_loop_is_reused():
    with OpenAIServer() as server:
        backend = OpenAIBackend("gpt-5.4", api_base=server.url + "/v1", api_key="sk-contract")
        for _ in range(3):
            await backend.complete(REQUESTS["plain"])
        keys = [key for per_loop in backend._clients.values() for key in per_loop]
        await backend.aclose()
    assert keys.count("sk-contract") == 1 and len(keys) == 2  # and the loop's closer
    assert not backend._clients


@pytest.mark.parametrize(
    ("model", "transport", "expected"),
    [
        ("gpt-5.4", "auto", OpenAIBackend),
        ("openai/gpt-5-mini", "auto", OpenAIBackend),
        ("o3", "auto", OpenAIBackend),
        ("anthropic/claude-opus-4-6", "auto", LiteLLMBackend),
        ("claude-opus-4-6", "auto", LiteLLMBackend),
        ("gemini/gemini-3-pro", "auto", LiteLLMBackend),
        ("gpt-5.4", "litellm", LiteLLMBackend),
        ("hosted_vllm/llama-4", "openai", OpenAIBackend),
    ],
)
def test_the_policy_picks_the_transport(model, transport, expected):
    backend = frontier_backend(FrontierModel(model=model, transport=transport))
    assert type(backend) is expected


@pytest.mark.parametrize("kind", TRANSPORTS)
async def test_debug_logs_name_neither_key_nor_prompt(kind, caplog):
    for name in ("", "openai", "openai._base_client", "httpx2", "httpcore2", "LiteLLM"):
        caplog.set_level(logging.DEBUG, logger=name)
    request = ModelRequest(messages=({"role": "user", "content": "PROMPT-CANARY"},), timeout_s=5)
    with OpenAIServer() as server:
        backend = kind("gpt-5.4", api_base=server.url + "/v1", api_key="sk-KEY-CANARY")
        await backend.complete(request)
        await backend.aclose()
    text = " ".join(f"{r.getMessage()} {r.args}" for r in caplog.records)
    assert "CANARY" not in text
