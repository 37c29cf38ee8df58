"""An answer cut at the caller's own `max_tokens` is what the caller asked for, not a failed
answer: it is not escalated (the frontier answer would be cut at the same limit, at a cost).
An answer cut at any other limit still fails `not_truncated`."""

from __future__ import annotations

import pytest

from router.backends import ModelResponse
from router.policy import Routing
from router.testing import AnthropicServer, OllamaServer, OpenAIServer, Reply, Usage
from router.verify import VerifyContext, not_truncated
from tests.support import loopback_policy, make_router

STORY = "Write a long story about a dragon."
LONG_STORY = "Once upon a time a dragon lived under the mountain and guarded its gold. " * 20


@pytest.fixture
def servers():
    with OllamaServer() as o, OpenAIServer() as oa, AnthropicServer() as an:
        yield o, oa, an


def _router(servers):
    policy = loopback_policy(
        *servers,
        verify={"structural": {}},
        routing=Routing(rule="token-count", token_count_threshold=500),
    )
    return make_router(policy)


def test_a_story_cut_at_the_callers_max_tokens_stays_local(servers):
    ollama, openai, anthropic = servers
    ollama.script(Reply(text=LONG_STORY))
    router, ledger, _ = _router(servers)
    res = router.complete(STORY, max_tokens=5)
    router.close()
    assert (res.tier, res.finish_reason, res.usage.output_tokens) == ("local", "length", 5)
    assert res.escalation_reason is None
    assert res.verification is not None and res.verification.status == "passed"
    assert openai.requests == [] and anthropic.requests == []
    assert ledger.records[0].escalation_reason is None


def test_a_cut_with_no_caller_limit_is_still_a_failed_answer(servers):
    ollama, openai, _ = servers
    ollama.script(Reply(text="Once upon a time", finish_reason="length"))
    openai.script(Reply(text="A whole story.", usage=Usage(20, 40)))
    router, _, _ = _router(servers)
    res = router.complete(STORY)
    router.close()
    assert (res.tier, res.escalation_reason) == ("frontier", "verification-failed")
    assert len(openai.requests) == 1


def test_a_cut_short_of_the_callers_limit_is_not_the_callers(servers):
    """The model stopped at a limit of its own (10 tokens) before the caller's 50."""
    ollama, openai, _ = servers
    ollama.script(Reply(text="Once upon a time", finish_reason="length", usage=Usage(9, 10)))
    openai.script(Reply(text="A whole story.", usage=Usage(20, 40)))
    router, _, _ = _router(servers)
    res = router.complete(STORY, max_tokens=50)
    router.close()
    assert res.escalation_reason == "verification-failed"
    sent = openai.requests[0].body
    assert sent.get("max_completion_tokens", sent.get("max_tokens")) == 50  # the caller's too


def _ctx(max_tokens, output_tokens, finish="length", estimated=False):
    answer = ModelResponse("text", "m", 3, output_tokens, finish, usage_estimated=estimated)
    messages = ({"role": "user", "content": STORY},)
    return VerifyContext(messages=messages, answer=answer, max_tokens=max_tokens)


@pytest.mark.parametrize(
    ("ctx", "passes", "reason"),
    [
        (_ctx(None, 8192), False, "cut off at the token limit"),
        (_ctx(5, 5), True, "stopped at the caller's max_tokens"),
        (_ctx(5, 3, estimated=True), True, "stopped at the caller's max_tokens"),
        (_ctx(50, 10), False, "cut off at the token limit"),
        (_ctx(5, 5, finish="stop"), True, "ok"),
    ],
)
async def test_not_truncated_knows_whose_limit_it_was(ctx, passes, reason):
    verdict = await not_truncated().verify(ctx)
    assert (verdict.passed, verdict.reason) == (passes, reason)
