"""Each backend against its loopback server: usage, readiness, and error translation."""

from __future__ import annotations

import pytest

from router.backends import LiteLLMBackend, ModelRequest, OllamaBackend
from router.errors import (
    AuthenticationError,
    BackendUnavailableError,
    MalformedResponseError,
    ModelNotFoundError,
    RateLimitError,
    ServerError,
)
from router.testing import AnthropicServer, OllamaServer, OpenAIServer, Reply, Usage

REQUEST = ModelRequest(messages=({"role": "user", "content": "hello there"},), timeout_s=5)


async def test_ollama_usage_comes_from_its_own_counts():
    with OllamaServer() as server:
        server.script(Reply(text="hi", usage=Usage(17, 2)))
        backend = OllamaBackend(host=server.url)
        res = await backend.complete(REQUEST)
        await backend.aclose()
    assert (res.input_tokens, res.output_tokens, res.usage_estimated) == (17, 2, False)
    assert server.requests[0].path == "/api/chat"


async def test_ollama_readiness_check_says_what_to_run():
    with OllamaServer(models=("llama3:8b",)) as server:
        backend = OllamaBackend("qwen3.5:9b", host=server.url)
        with pytest.raises(ModelNotFoundError, match=r"ollama pull qwen3\.5:9b"):
            await backend.check_ready()
        await backend.aclose()
    down = OllamaBackend(host="http://127.0.0.1:9")
    with pytest.raises(BackendUnavailableError, match="ollama serve"):
        await down.check_ready()
    await down.aclose()


async def test_ollama_unknown_model_is_a_typed_error_with_the_fix():
    with OllamaServer(models=("other:1b",)) as server:
        backend = OllamaBackend("qwen3.5:9b", host=server.url)
        with pytest.raises(ModelNotFoundError, match="ollama pull"):
            await backend.complete(REQUEST)
        await backend.aclose()


async def test_ollama_honours_the_host_environment_variable(monkeypatch):
    with OllamaServer() as server:
        monkeypatch.setenv("OLLAMA_HOST", server.url)
        backend = OllamaBackend()
        assert backend.host == server.url
        res = await backend.complete(REQUEST)
        await backend.aclose()
    assert res.text


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (Reply(status=500), ServerError),
        (Reply(status=429, retry_after=3), RateLimitError),
        (Reply(body=b"not json at all", content_type="application/json"), MalformedResponseError),
        (Reply(drop="before_headers"), BackendUnavailableError),
    ],
)
async def test_ollama_faults_become_router_errors(reply, error):
    with OllamaServer() as server:
        server.script(reply)
        backend = OllamaBackend(host=server.url)
        with pytest.raises(error):
            await backend.complete(REQUEST)
        await backend.aclose()


async def test_ollama_stream_ends_with_usage():
    with OllamaServer() as server:
        server.script(Reply(text="one two three four", usage=Usage(5, 4)))
        backend = OllamaBackend(host=server.url)
        chunks = [c async for c in backend.stream(REQUEST)]
        await backend.aclose()
    final = chunks[-1].final
    assert final is not None and final.output_tokens == 4
    assert "".join(c.delta for c in chunks) == final.text == "one two three four"


@pytest.mark.parametrize("stream", [False, True])
async def test_openai_and_anthropic_report_usage(stream):
    with OpenAIServer() as oa, AnthropicServer() as an:
        oa.script(Reply(text="from gpt", usage=Usage(11, 3)))
        an.script(Reply(text="from claude", usage=Usage(13, 4)))
        backends = [
            LiteLLMBackend("gpt-5.4", api_base=oa.url + "/v1", api_key="sk-a"),
            LiteLLMBackend("anthropic/claude-opus-4-6", api_base=an.url, api_key="sk-b"),
        ]
        results = []
        for backend in backends:
            if stream:
                chunks = [c async for c in backend.stream(REQUEST)]
                results.append(chunks[-1].final)
            else:
                results.append(await backend.complete(REQUEST))
    assert [(r.text, r.input_tokens, r.output_tokens) for r in results] == [
        ("from gpt", 11, 3),
        ("from claude", 13, 4),
    ]
    assert an.requests[0].headers["x-api-key"] == "sk-b"


async def test_litellm_auth_error_does_not_leak_the_key():
    with OpenAIServer(api_key="sk-right") as server:
        backend = LiteLLMBackend("gpt-5.4", api_base=server.url + "/v1", api_key="sk-wrong-SECRET")
        with pytest.raises(AuthenticationError) as info:
            await backend.complete(REQUEST)
    assert "SECRET" not in str(info.value) and "sk-wrong" not in repr(info.value)
    assert "SECRET" not in repr(backend)


async def test_litellm_retry_after_reaches_the_error():
    with OpenAIServer() as server:
        server.script(Reply(status=429, retry_after=7))
        backend = LiteLLMBackend("gpt-5.4", api_base=server.url + "/v1", api_key="sk-a")
        with pytest.raises(RateLimitError) as info:
            await backend.complete(REQUEST)
    assert info.value.retry_after == 7.0
