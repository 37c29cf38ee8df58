"""Bad input gets a clear `InvalidRequestError` before any network call."""

from __future__ import annotations

import pytest

from router.errors import InvalidRequestError, PromptTooLongError
from router.policy import Limits, LocalModel
from router.testing import AnthropicServer, OllamaServer, OpenAIServer
from tests.support import loopback_policy, make_router

BAD_CALLS = [
    ({}, "exactly one of `prompt`"),
    ({"prompt": "x", "messages": [{"role": "user", "content": "x"}]}, "exactly one"),
    ({"messages": []}, "empty"),
    ({"messages": "hello"}, "must be a list"),
    ({"messages": [{"role": "wizard", "content": "x"}]}, "role must be one of"),
    ({"messages": [{"role": "user", "content": ""}]}, "empty content"),
    ({"messages": [{"role": "user"}]}, "must be a string or a list of text parts"),
    ({"messages": [{"role": "system", "content": "only system"}]}, "no message with role 'user'"),
    ({"messages": ["not a dict"]}, "must be a dict"),
    ({"messages": [{"role": "user", "content": "x", "tool_calls": []}]}, "unsupported keys"),
    (
        {
            "messages": [
                {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}
            ]
        },
        "only text parts",
    ),
    ({"prompt": "x", "max_tokens": 0}, "positive integer"),
    ({"prompt": "x", "max_tokens": 10**9}, "max_output_tokens"),
    ({"prompt": "x", "temperature": 7}, "from 0 to 2"),
    ({"prompt": "x", "metadata": {"team": 3}}, "string value"),
    ({"prompt": "x", "response_format": {"type": "xml"}}, "response_format"),
    ({"prompt": "x", "request_id": ""}, "request_id"),
    ({"prompt": "x", "frobnicate": True}, "unknown argument(s): frobnicate"),
    ({"prompt": "x", "api_base": "http://169.254.169.254/"}, "cannot be set per request"),
    ({"prompt": "x", "base_url": "file:///etc/passwd"}, "cannot be set per request"),
]


@pytest.fixture
def servers():
    with OllamaServer() as o, OpenAIServer() as oa, AnthropicServer() as an:
        yield o, oa, an


@pytest.mark.parametrize(("kwargs", "message"), BAD_CALLS)
def test_bad_input_is_rejected_before_any_call(servers, kwargs, message):
    router, ledger, _ = make_router(loopback_policy(*servers))
    with pytest.raises(InvalidRequestError) as info:
        router.complete(**kwargs)
    router.close()
    assert message in str(info.value)
    assert all(len(s.requests) == 0 for s in servers)
    assert ledger.records == []


def test_text_parts_are_accepted_and_joined(servers):
    ollama = servers[0]
    router, _, _ = make_router(loopback_policy(*servers))
    parts = [{"type": "text", "text": "first"}, {"type": "text", "text": "second"}]
    router.complete(messages=[{"role": "user", "content": parts}])
    router.close()
    assert ollama.requests[0].body["messages"][0]["content"] == "first\nsecond"


def test_prompt_over_the_local_context_is_rejected(servers):
    policy = loopback_policy(*servers)
    policy = policy.model_copy(
        update={"local": LocalModel(host=servers[0].url, context_tokens=100)}
    )
    router, _, _ = make_router(policy)
    with pytest.raises(PromptTooLongError, match="over the local model's context of 100"):
        router.complete("word " * 500)
    router.close()
    assert all(len(s.requests) == 0 for s in servers)


def test_huge_prompt_is_rejected_by_size_before_tokenising(servers):
    policy = loopback_policy(*servers).model_copy(update={"limits": Limits(max_prompt_chars=1000)})
    router, _, _ = make_router(policy)
    with pytest.raises(PromptTooLongError, match="max_prompt_chars"):
        router.complete("x" * 1_000_001)
    router.close()


def test_error_messages_do_not_quote_the_prompt(servers):
    router, _, _ = make_router(loopback_policy(*servers))
    with pytest.raises(InvalidRequestError) as info:
        router.complete(messages=[{"role": "wizard", "content": "TOP SECRET PLAN"}])
    router.close()
    assert "TOP SECRET" not in str(info.value)
