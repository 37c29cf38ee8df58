"""Streaming with verifiers: the local answer is held until it passes, or the frontier's streams
instead; and the ledger row of a streamed request lists every attempt of its cascade."""

from __future__ import annotations

import pytest

from router.testing import AnthropicServer, OllamaServer, OpenAIServer, Reply, Usage
from tests.support import SHORT_PROMPT, loopback_policy, make_router


@pytest.fixture
def servers():
    with OllamaServer() as o, OpenAIServer() as oa, AnthropicServer() as an:
        yield o, oa, an


def _router(servers, verify):
    return make_router(loopback_policy(*servers).model_copy(update={"verify": verify}))


def _attempts(record):
    return [(a.model, a.outcome, a.purpose, a.error_class) for a in record.attempts]


def test_failed_check_then_a_failing_frontier_streams_the_next_frontier(servers):
    ollama, openai, anthropic = servers
    ollama.script(Reply(text=""))
    openai.script(Reply(status=401))
    anthropic.script(Reply(text="from claude", usage=Usage(12, 3)))
    router, ledger, _ = _router(servers, {"structural": {}})
    chunks = list(router.stream(SHORT_PROMPT))
    router.close()
    final = chunks[-1].completion
    assert "".join(c.text for c in chunks) == "from claude" == final.text
    assert (final.model, final.escalation_reason) == (
        "anthropic/claude-opus-4-6",
        "verification-failed",
    )
    [record] = ledger.records
    assert _attempts(record) == [
        ("qwen3.5:9b", "ok", "answer", None),
        ("gpt-5.4", "error", "answer", "AuthenticationError"),
        ("anthropic/claude-opus-4-6", "ok", "answer", None),
    ]
    assert record.cost_usd == sum(a.cost_usd for a in record.attempts) > 0
    assert [(a.model, a.outcome) for a in final.attempts] == [
        (m, o) for m, o, _, _ in _attempts(record)
    ]


def test_failed_check_with_every_frontier_down_streams_the_local_answer(servers):
    ollama, openai, anthropic = servers
    ollama.script(Reply(text="An answer\n" + "loop " * 400))  # fails no_degenerate_repetition
    openai.script(Reply(status=401))
    anthropic.script(Reply(status=401))
    router, ledger, _ = _router(servers, {"structural": {}})
    chunks = list(router.stream(SHORT_PROMPT))
    router.close()
    final = chunks[-1].completion
    text = "".join(c.text for c in chunks)
    assert text == final.text and text.startswith("An answer")  # the local answer, sent once
    assert final.tier == "local" and final.verification.status == "failed"
    [record] = ledger.records
    assert record.status == "ok" and record.verification == "failed"
    assert [(m, o) for m, o, _, _ in _attempts(record)] == [
        ("qwen3.5:9b", "ok"),
        ("gpt-5.4", "error"),
        ("anthropic/claude-opus-4-6", "error"),
    ]


def test_self_check_calls_and_the_escalation_are_all_in_the_streamed_row(servers):
    ollama, openai, _ = servers
    ollama.script(Reply(text="The answer is 41."), Reply(text="No"))
    openai.script(Reply(status=503), Reply(text="The answer is 42.", usage=Usage(20, 6)))
    router, ledger, _ = _router(servers, {"self_check": {}})
    chunks = list(router.stream(SHORT_PROMPT))
    router.close()
    assert "".join(c.text for c in chunks) == "The answer is 42."
    [record] = ledger.records
    assert _attempts(record) == [
        ("qwen3.5:9b", "ok", "answer", None),
        ("qwen3.5:9b", "ok", "verify", None),
        ("gpt-5.4", "error", "answer", "ServerError"),
        ("gpt-5.4", "ok", "answer", None),
    ]
    assert record.escalation_reason == "verification-failed"
    assert len(ollama.requests) == 2 and len(openai.requests) == 2


def test_the_streamed_and_the_complete_cascade_record_the_same_attempts(servers):
    ollama, openai, anthropic = servers
    rows = []
    for method in ("complete", "stream"):
        ollama.script(Reply(text=""))
        openai.script(Reply(status=500), Reply(status=401))
        anthropic.script(Reply(text="fine", usage=Usage(5, 1)))
        router, ledger, _ = _router(servers, {"structural": {}})
        result = getattr(router, method)(SHORT_PROMPT)
        if method == "stream":
            result = list(result)[-1].completion
        router.close()
        assert result.text == "fine"
        rows.append([(m, o, p, e) for m, o, p, e in _attempts(ledger.records[0])])
    assert rows[0] == rows[1]
