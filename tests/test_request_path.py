"""The request path end to end over real HTTP to the loopback servers."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from router.errors import AllAttemptsFailedError, SensitiveDataError
from router.policy import Routing
from router.testing import AnthropicServer, OllamaServer, OpenAIServer, Reply, Usage
from tests.support import LONG_PROMPT, SHORT_PROMPT, loopback_policy, make_router


@pytest.fixture
def servers():
    with OllamaServer() as o, OpenAIServer() as oa, AnthropicServer() as an:
        yield o, oa, an


def test_short_prompt_is_answered_locally_for_free(servers):
    ollama, openai, anthropic = servers
    ollama.script(Reply(text="Paris.", usage=Usage(21, 3)))
    router, ledger, _ = make_router(loopback_policy(*servers))
    res = router.complete(SHORT_PROMPT, metadata={"team": "support", "app": "triage"})
    router.close()

    assert (res.text, res.tier, res.model) == ("Paris.", "local", "qwen3.5:9b")
    assert (res.usage.input_tokens, res.usage.output_tokens) == (21, 3)  # Ollama's own counts
    assert res.decision.rule == "token-count" and res.decision.tier == "local"
    assert res.cost_usd == Decimal(0)
    assert res.baseline_usd > 0 and res.savings_usd == res.baseline_usd
    assert len(openai.requests) == len(anthropic.requests) == 0
    [record] = ledger.records
    assert (record.team, record.app, record.request_id) == ("support", "triage", res.request_id)


def test_long_prompt_goes_to_the_first_frontier_model_and_is_priced(servers):
    _, openai, _ = servers
    openai.script(Reply(text="Proof: ...", usage=Usage(1000, 2000)))
    router, ledger, _ = make_router(loopback_policy(*servers))
    res = router.complete(LONG_PROMPT)
    router.close()

    assert (res.tier, res.model, res.text) == ("frontier", "gpt-5.4", "Proof: ...")
    # GPT-5.4 at $2.50 / $15 per million tokens.
    assert res.cost_usd == Decimal("0.0025") + Decimal("0.030")
    assert res.baseline_usd == res.cost_usd and res.savings_usd == 0
    assert openai.requests[0].headers["authorization"].startswith("Bearer sk-test-openai")
    assert ledger.records[0].baseline_estimated is False


def test_frontier_falls_back_in_policy_order_and_names_every_attempt(servers):
    _, openai, anthropic = servers
    openai.script(*[Reply(status=500)] * 3)
    anthropic.script(Reply(text="From Claude", usage=Usage(10, 5)))
    router, ledger, _ = make_router(loopback_policy(*servers))
    res = router.complete(LONG_PROMPT)
    router.close()

    assert res.model == "anthropic/claude-opus-4-6" and res.text == "From Claude"
    assert res.escalation_reason == "frontier-fallback"
    outcomes = [(a.model, a.outcome, a.error_class) for a in res.attempts]
    assert outcomes == [("gpt-5.4", "error", "ServerError")] * 3 + [
        ("anthropic/claude-opus-4-6", "ok", None)
    ]
    assert res.cost_usd == Decimal("0.000050") + Decimal("0.000125")  # Opus $5 / $25
    assert len(ledger.records[0].attempts) == 4


def test_all_failing_raises_one_error_naming_each_attempt_without_the_prompt(servers):
    ollama, openai, anthropic = servers
    openai.script(Reply(status=401))
    anthropic.script(*[Reply(status=503)] * 3)
    router, ledger, _ = make_router(loopback_policy(*servers))
    with pytest.raises(AllAttemptsFailedError) as info:
        router.complete(LONG_PROMPT)
    router.close()
    message = str(info.value)
    assert "openai:gpt-5.4: AuthenticationError" in message
    assert "anthropic:anthropic/claude-opus-4-6: ServerError" in message
    assert "odd numbers" not in message and "sk-test" not in message
    assert [a.model for a in info.value.attempts] == ["gpt-5.4", "anthropic/claude-opus-4-6"]
    assert ledger.records[0].status == "error" and len(ledger.records[0].attempts) == 4
    assert len(ollama.requests) == 0


def test_429_retry_after_is_honoured_and_a_longer_one_moves_on(servers):
    _, openai, _ = servers
    openai.script(Reply(status=429, retry_after=0.5), Reply(status=429, retry_after=120), Reply())
    policy = loopback_policy(*servers)
    router, _, clock = make_router(policy)
    res = router.complete(LONG_PROMPT)
    router.close()
    # 120 s is over retries.retry_after_cap_s: the next model answers at once, no wait taken
    assert res.model == "anthropic/claude-opus-4-6" and len(res.attempts) == 3
    assert clock.sleeps == [0.5]


def test_permanent_errors_are_not_retried(servers):
    _, openai, _anthropic = servers
    openai.script(Reply(status=400))
    router, _, clock = make_router(loopback_policy(*servers))
    res = router.complete(LONG_PROMPT)
    router.close()
    assert len(openai.requests) == 1 and clock.sleeps == []
    assert res.model == "anthropic/claude-opus-4-6"


def test_local_down_escalates_when_the_policy_allows(servers):
    _, openai, _ = servers
    closed = "http://127.0.0.1:9"  # discard port: nothing listens
    router, _, _ = make_router(loopback_policy(closed, openai, servers[2]))
    res = router.complete(SHORT_PROMPT)
    router.close()
    assert res.tier == "frontier" and res.escalation_reason == "local-failed"
    assert res.decision.tier == "local"
    assert res.attempts[0].error_class == "BackendUnavailableError"


def test_local_down_without_escalation_fails(servers):
    policy = loopback_policy("http://127.0.0.1:9", servers[1], servers[2])
    policy = policy.model_copy(
        update={"routing": Routing(rule="token-count", escalate_when_local_down=False)}
    )
    router, _, _ = make_router(policy)
    expected = r"ollama:qwen3\.5:9b: BackendUnavailableError"
    with pytest.raises(AllAttemptsFailedError, match=expected):
        router.complete(SHORT_PROMPT)
    router.close()
    assert len(servers[1].requests) == 0


@pytest.mark.parametrize("how", ["argument", "policy"])
def test_sensitive_request_fails_closed_when_local_is_down(servers, how):
    _, openai, anthropic = servers
    policy = loopback_policy("http://127.0.0.1:9", openai, anthropic)
    if how == "policy":
        policy = policy.model_copy(
            update={"privacy": policy.privacy.model_copy(update={"local_only": True})}
        )
    router, ledger, _ = make_router(policy)
    with pytest.raises(SensitiveDataError, match="never sent to a frontier API"):
        router.complete(LONG_PROMPT, sensitive=True if how == "argument" else None)
    router.close()
    assert len(openai.requests) == len(anthropic.requests) == 0
    assert ledger.records[0].error_class == "SensitiveDataError"


def test_sensitive_long_prompt_stays_local(servers):
    ollama, openai, _ = servers
    router, _, _ = make_router(loopback_policy(*servers))
    res = router.complete(LONG_PROMPT, sensitive=True)
    router.close()
    assert res.tier == "local" and res.decision.rule == "sensitive"
    assert len(openai.requests) == 0 and len(ollama.requests) == 1


def test_hanging_local_model_times_out_within_the_deadline(servers):
    ollama, _, _ = servers
    ollama.script(*[Reply(hang=True)] * 5)
    policy = loopback_policy(*servers)
    policy = policy.model_copy(
        update={
            "local": policy.local.model_copy(update={"read_timeout_s": 0.3}),
            "routing": Routing(rule="token-count", escalate_when_local_down=False),
            "retries": policy.retries.model_copy(update={"max_attempts": 2, "deadline_s": 2.0}),
        }
    )
    router, _, _ = make_router(policy)
    started = time.monotonic()
    with pytest.raises(AllAttemptsFailedError, match="BackendTimeoutError"):
        router.complete(SHORT_PROMPT)
    assert time.monotonic() - started < 2.5
    router.close()


def test_dropped_connection_is_retried(servers):
    ollama, _, _ = servers
    ollama.script(Reply(drop="mid_body"), Reply(text="second time lucky"))
    router, _, _ = make_router(loopback_policy(*servers))
    res = router.complete(SHORT_PROMPT)
    router.close()
    assert (res.text, res.tier) == ("second time lucky", "local")
    assert [a.outcome for a in res.attempts] == ["error", "ok"]
    assert len(ollama.requests) == 2


def test_deadline_caps_total_time_across_retries(servers):
    _, openai, anthropic = servers
    openai.script(*[Reply(status=503, retry_after=30)] * 3)
    anthropic.script(*[Reply(status=503)] * 3)
    policy = loopback_policy(*servers)
    policy = policy.model_copy(
        update={
            "retries": policy.retries.model_copy(
                update={"deadline_s": 5.0, "retry_after_cap_s": 30}
            )
        }
    )
    router, _, clock = make_router(policy)
    with pytest.raises(AllAttemptsFailedError):
        router.complete(LONG_PROMPT)
    router.close()
    assert clock.slept < 5.0  # waits that would pass the deadline are not taken


async def test_acomplete_and_astream(servers):
    _ollama, openai, _ = servers
    router, ledger, _ = make_router(loopback_policy(*servers))
    res = await router.acomplete(
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]
    )
    assert res.tier == "local" and res.text
    chunks = [c async for c in router.astream(LONG_PROMPT)]
    await router.aclose()
    router.close()
    final = chunks[-1].completion
    assert final is not None and final.tier == "frontier"
    assert "".join(c.text for c in chunks) == final.text and len(chunks) > 2
    assert final.usage.output_tokens > 0 and final.cost_usd > 0
    assert openai.requests[0].body["stream"] is True
    assert len(ledger.records) == 2


@pytest.mark.parametrize(
    ("prompt", "tier", "model", "server"),
    [(SHORT_PROMPT, "local", "qwen3.5:9b", 0), (LONG_PROMPT, "frontier", "gpt-5.4", 1)],
)
def test_sync_stream_both_tiers(servers, prompt, tier, model, server):
    servers[server].script(Reply(text=f"streamed by the {tier} tier", usage=Usage(30, 6)))
    router, ledger, _ = make_router(loopback_policy(*servers))
    chunks = list(router.stream(prompt))
    router.close()
    final = chunks[-1].completion
    assert final is not None
    assert (final.tier, final.model, final.decision.tier) == (tier, model, tier)
    assert "".join(c.text for c in chunks) == final.text == f"streamed by the {tier} tier"
    assert (final.usage.input_tokens, final.usage.output_tokens) == (30, 6)
    assert [len(s.requests) for s in servers] == [1 if i == server else 0 for i in range(3)]
    assert ledger.records[0].tier == tier


def test_stream_falls_back_before_the_first_token(servers):
    _, openai, _anthropic = servers
    openai.script(Reply(status=401))
    router, _, _ = make_router(loopback_policy(*servers))
    chunks = list(router.stream(LONG_PROMPT))
    router.close()
    assert chunks[-1].completion.model == "anthropic/claude-opus-4-6"


def test_stream_drop_after_first_token_raises_and_records(servers):
    ollama, _, _ = servers
    ollama.script(Reply(text="a long answer " * 20, drop="mid_body"))
    router, ledger, _ = make_router(loopback_policy(*servers))
    with pytest.raises(Exception) as info:
        list(router.stream(SHORT_PROMPT))
    router.close()
    assert type(info.value).__name__ == "BackendUnavailableError"
    assert ledger.records[0].status == "error"


class _FixedScore:
    def __init__(self, value):
        self.value = value
        self.prompts = []

    def score(self, prompt, response=None):
        self.prompts.append(prompt)
        return self.value

    def score_batch(self, prompts, responses=None):
        return [self.score(p) for p in prompts]


@pytest.mark.parametrize(("score", "tier"), [(0.9, "frontier"), (0.5, "frontier"), (0.1, "local")])
def test_a_classifier_scores_and_the_policy_threshold_decides(servers, score, tier):
    policy = loopback_policy(*servers, routing=Routing(rule="classifier", threshold=0.5))
    scorer = _FixedScore(score)
    router, ledger, _ = make_router(policy, classifier=scorer)
    res = router.complete(SHORT_PROMPT)
    router.close()
    assert res.tier == tier and res.decision.rule == "classifier"
    assert (res.decision.score, res.decision.threshold) == (score, 0.5)
    assert scorer.prompts == [SHORT_PROMPT]
    assert (ledger.records[0].decision_score, ledger.records[0].decision_threshold) == (score, 0.5)
