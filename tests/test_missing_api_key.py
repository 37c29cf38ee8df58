"""A missing or empty API key is a configuration error: it names the model and the variable, is
not retried, does not count against the circuit breaker, and nothing is sent to the provider."""

from __future__ import annotations

import pytest

from router.backends import LiteLLMBackend, ModelRequest
from router.errors import (
    AllAttemptsFailedError,
    AuthenticationError,
    ConfigError,
    MissingApiKeyError,
)
from router.policy import Frontier, FrontierModel, Retries
from router.testing import AnthropicServer, OllamaServer, OpenAIServer, Reply, Usage
from tests.support import LONG_PROMPT, loopback_policy, make_router

REQUEST = ModelRequest(messages=({"role": "user", "content": "hello there"},), timeout_s=5)


@pytest.fixture
def no_keys(monkeypatch):
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "TEAM_KEY"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
def servers():
    with OllamaServer() as o, OpenAIServer() as oa, AnthropicServer() as an:
        yield o, oa, an


@pytest.mark.parametrize(
    ("model", "settings", "env", "named"),
    [
        ("gpt-5.4", {}, {}, "OPENAI_API_KEY is not set"),
        ("gpt-5.4", {}, {"OPENAI_API_KEY": ""}, "OPENAI_API_KEY is set but empty"),
        ("gpt-5.4", {}, {"OPENAI_API_KEY": "  \n"}, "OPENAI_API_KEY is set but empty"),
        ("anthropic/claude-opus-4-6", {}, {}, "ANTHROPIC_API_KEY is not set"),
        ("gpt-5.4", {"api_key_env": "TEAM_KEY"}, {"OPENAI_API_KEY": "sk-x"}, "TEAM_KEY is not"),
        ("gpt-5.4", {"api_key": ""}, {"OPENAI_API_KEY": "sk-x"}, "api_key is empty"),
    ],
)
async def test_a_missing_key_is_named_and_nothing_is_sent(
    no_keys, servers, model, settings, env, named
):
    for name, value in env.items():
        no_keys.setenv(name, value)
    _, openai, anthropic = servers
    base = anthropic.url if model.startswith("anthropic/") else openai.url + "/v1"
    backend = LiteLLMBackend(model, api_base=base, **settings)
    with pytest.raises(MissingApiKeyError) as caught:
        await backend.complete(REQUEST)
    with pytest.raises(MissingApiKeyError):
        async for _ in backend.stream(REQUEST):
            pass
    error = caught.value
    assert isinstance(error, ConfigError) and isinstance(error, AuthenticationError)
    assert model in str(error) and named in str(error)
    assert "api_key_env" in str(error)  # how to fix it
    assert error.model == model
    assert openai.requests == [] and anthropic.requests == []


def test_a_key_set_anywhere_litellm_looks_passes_the_check(no_keys, servers):
    _, openai, _ = servers
    no_keys.setenv("OPENAI_API_KEY", "sk-test")
    openai.script(Reply(text="hi", usage=Usage(3, 1)))
    backend = LiteLLMBackend("gpt-5.4", api_base=openai.url + "/v1")
    backend.check_key()  # no error


def _keyless_policy(servers, **overrides):
    _, openai, anthropic = servers
    policy = loopback_policy(*servers, **overrides)
    models = (
        FrontierModel(model="gpt-5.4", api_base=openai.url + "/v1"),
        FrontierModel(model="anthropic/claude-opus-4-6", api_base=anthropic.url, api_key="sk-a"),
    )
    return policy.model_copy(update={"frontier": Frontier(models=models)})


def test_a_missing_key_is_not_retried_nor_counted_by_the_breaker(no_keys, servers):
    _, openai, anthropic = servers
    anthropic.script(*[Reply(text="From Claude", usage=Usage(10, 5))] * 4)
    retries = Retries(max_attempts=3, backoff_initial_s=0.01, breaker_failures=2, deadline_s=20)
    router, ledger, _ = make_router(_keyless_policy(servers, retries=retries))
    results = [router.complete(LONG_PROMPT) for _ in range(4)]
    router.close()
    for res in results:
        assert (res.model, res.text) == ("anthropic/claude-opus-4-6", "From Claude")
        assert [a.error_class for a in res.attempts] == ["MissingApiKeyError", None]
        assert res.escalation_reason == "frontier-fallback"
    assert openai.requests == []  # the breaker never opened: no CircuitOpenError either
    assert all(not a.possibly_billed for r in ledger.records for a in r.attempts)


def test_with_every_key_missing_the_error_names_each_variable(no_keys, servers):
    anthropic = servers[2]
    policy = _keyless_policy(servers)
    no_key = FrontierModel(model="anthropic/claude-opus-4-6", api_base=anthropic.url)
    policy = policy.model_copy(
        update={"frontier": Frontier(models=(policy.frontier.models[0], no_key))}
    )
    router, _, _ = make_router(policy)
    with pytest.raises(AllAttemptsFailedError) as caught:
        router.complete(LONG_PROMPT)
    router.close()
    message = str(caught.value)
    assert "all 2 attempt(s) on 2 model(s) failed" in message
    assert "OPENAI_API_KEY is not set" in message and "ANTHROPIC_API_KEY is not set" in message
    assert "ServerError" not in message and "retried" not in message
