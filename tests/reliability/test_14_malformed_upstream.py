"""Row 14: malformed upstream answers from each server kind, streamed and not.

Truncated JSON, a wrong content type, no usage, a huge body, bad UTF-8. Figure: outcomes that
are a typed error (a `RouterError`) or an accounted answer (token counts > 0, estimated when the
server gave none): all of them; untyped crashes: 0.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from router.backends import Backend, LiteLLMBackend, ModelRequest, ModelResponse, OllamaBackend
from router.errors import RouterError
from router.testing import AnthropicServer, LoopbackServer, OllamaServer, OpenAIServer, Reply
from tests.reliability._figures import record

# Slow: one case per malformed answer per provider, with retries (6 s); CI runs it (`-m slow`).
pytestmark = pytest.mark.slow

REQUEST = ModelRequest(messages=({"role": "user", "content": "Say hello."},), max_tokens=64)
HUGE = 1024 * 1024  # bytes in a huge body; a huge streamed answer is 256 KiB of words
NDJSON, SSE, JSON = "application/x-ndjson", "text/event-stream", "application/json"
TRUNCATED = {
    "ollama": b'{"model":"qwen3.5:9b","message":{"role":"assistant","content":"hel',
    "openai": b'{"id":"chatcmpl-1","object":"chat.completion","choices":[{"index":0,"mess',
    "anthropic": b'{"id":"msg_1","type":"message","role":"assistant","content":[{"type":"te',
}
TRUNCATED_STREAM = {
    "ollama": b'{"model":"qwen3.5:9b","message":{"content":"hel"},"done":false}\n{"mo',
    "openai": b'data: {"id":"c","object":"chat.completion.chunk","choices":[{"delta":{"con',
    "anthropic": b'event: message_start\ndata: {"type":"message_start","message":{"id":"m',
}
BAD_TEXT = '"\xff\xfe bad"'  # not UTF-8 once encoded as latin-1
BAD_UTF8 = {
    "ollama": '{"model":"qwen3.5:9b","created_at":"2026-01-01T00:00:00Z","message":{"role":'
    f'"assistant","content":{BAD_TEXT}}},"done":true,"done_reason":"stop"}}',
    "openai": '{"id":"c","object":"chat.completion","created":1,"model":"gpt-5.4","choices":'
    f'[{{"index":0,"message":{{"role":"assistant","content":{BAD_TEXT}}},"finish_reason":"stop"}}]}}',
    "anthropic": '{"id":"m","type":"message","role":"assistant","model":"claude-opus-4-6",'
    f'"content":[{{"type":"text","text":{BAD_TEXT}}}],"stop_reason":"end_turn"}}',
}


def _faults(kind: str, stream: bool) -> dict[str, Reply]:
    ctype = (NDJSON if kind == "ollama" else SSE) if stream else JSON
    return {
        "truncated JSON": Reply(
            body=(TRUNCATED_STREAM if stream else TRUNCATED)[kind], content_type=ctype
        ),
        "wrong content type": Reply(
            body=b"<html><body>502 Bad Gateway</body></html>", content_type="text/html"
        ),
        "missing usage": Reply(text="Hello there, a fine answer.", omit_usage=True),
        "huge body": Reply(text="word " * (HUGE // 5 if not stream else 50_000)),
        "huge garbage body": Reply(body=b"\x00" * HUGE, content_type=ctype),
        "bad UTF-8": Reply(body=BAD_UTF8[kind].encode("latin-1"), content_type=JSON),
    }


SERVERS: dict[str, type[LoopbackServer]] = {
    "ollama": OllamaServer,
    "openai": OpenAIServer,
    "anthropic": AnthropicServer,
}


def _backend(kind: str, url: str) -> Backend:
    if kind == "ollama":
        return OllamaBackend(host=url, read_timeout_s=10)
    if kind == "openai":
        return LiteLLMBackend("gpt-5.4", api_base=url + "/v1", api_key="sk-test", timeout_s=10)
    return LiteLLMBackend("anthropic/claude-opus-4-6", api_base=url, api_key="sk-ant", timeout_s=10)


async def _call(backend: Backend, stream: bool) -> ModelResponse:
    if not stream:
        return await backend.complete(REQUEST)
    final = None
    async for chunk in backend.stream(REQUEST):
        final = chunk.final or final
    assert final is not None, "a stream that ends must end with the final response"
    return final


def _cases() -> Iterator[tuple[str, bool]]:
    for kind in SERVERS:
        for stream in (False, True):
            yield kind, stream


@pytest.mark.parametrize(("kind", "stream"), list(_cases()))
async def test_malformed_answers_become_typed_errors_or_accounted_answers(
    kind: str, stream: bool
) -> None:
    untyped: list[str] = []
    outcomes: dict[str, str] = {}
    with SERVERS[kind]() as server:
        backend = _backend(kind, server.url)
        for fault, reply in _faults(kind, stream).items():
            server.script(reply)
            try:
                response = await _call(backend, stream)
            except RouterError as exc:
                outcomes[fault] = type(exc).__name__
                continue
            except Exception as exc:  # the bug this row hunts
                untyped.append(f"{fault}: {type(exc).__name__}: {str(exc)[:80]}")
                continue
            accounted = response.input_tokens > 0 and response.output_tokens > 0
            outcomes[fault] = "answer" + (" (usage estimated)" if response.usage_estimated else "")
            if not accounted:
                untyped.append(f"{fault}: answer with no token counts {response}")
        await backend.aclose()
    mode = "stream" if stream else "json"
    record(
        14,
        f"malformed upstream, {kind} {mode}",
        f"{len(_faults(kind, stream)) - len(untyped)}/{len(_faults(kind, stream))} typed or "
        f"accounted; untyped {len(untyped)} ("
        f"{'; '.join(f'{k}: {v}' for k, v in outcomes.items())})",
        "all; untyped 0",
        not untyped,
    )
    assert untyped == []
