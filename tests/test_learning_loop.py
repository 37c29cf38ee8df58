"""The learning loop on the request path, over real HTTP to the loopback servers: what it keeps,
what it shadows (never sensitive, redacted or local-only requests), the learning budget under
concurrency, escalation labels, and that a shadow comparison never holds the caller's answer."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

import pytest

from router import verify
from router.budget import MemoryBudgetStore, SqlBudgetStore
from router.classifier import load_classifier
from router.classifier._features import extract
from router.learning import LearningLoop, hashed_features
from router.learning._budget import learning_window
from router.learning._examples import stored_features
from router.learning._promote import labelled_examples
from router.learning._shadow import shadow_weight
from router.ledger import summarize
from router.ledger._format import as_table
from router.policy import Routing
from router.testing import Reply, Usage
from tests.learning_helpers import (
    MC_PROMPT,
    kept,
    labels,
    learning_attempts,
    learning_policy,
    learning_router,
    servers_fixture,  # noqa: F401 - the `servers` fixture
)


def answer_by_model(servers, local: str, frontier: str) -> None:
    ollama, openai, _ = servers
    ollama.responder = lambda _r: Reply(text=local)
    openai.responder = lambda _r: Reply(text=frontier, usage=Usage(100, 20))


def test_a_local_answer_is_shadowed_after_the_caller_has_it_and_labelled(servers, tmp_path):
    answer_by_model(servers, "The answer is A.", "The answer is B.")
    router = learning_router(learning_policy(servers, tmp_path))
    result = router.complete(MC_PROMPT)
    router.close()  # drains the loop

    assert result.tier == "local" and result.cost_usd == 0  # the caller paid nothing for it
    (label,) = labels(router)
    assert (label["source"], label["judge"], label["gain"]) == ("shadow", "exact_answer", 1.0)
    (attempt,) = learning_attempts(router)
    assert (attempt["purpose"], attempt["model"], attempt["outcome"]) == ("shadow", "gpt-5.4", "ok")
    assert attempt["cost_usd"] > 0
    (row,) = kept(router)
    assert row["prompt"] is None and row["features"]  # features, not the text
    assert row["answered_by"] == "local"


def test_shadow_spend_is_learning_spend_in_the_report_not_request_spend(servers, tmp_path):
    answer_by_model(servers, "The answer is A.", "The answer is B.")
    policy = learning_policy(servers, tmp_path)
    router = learning_router(policy)
    router.complete(MC_PROMPT)
    router.close()

    report = summarize(policy.ledger.url)
    (attempt,) = learning_attempts(router)
    assert report.total.cost_usd == 0  # the request itself was local
    assert report.learning_spend == {"shadow": attempt["cost_usd"]}
    assert report.total.savings_usd == report.total.baseline_cost_usd  # not counted as savings
    assert "learning spend: <$0.01 (shadow <$0.01); not in the spend" in as_table(report)


@pytest.mark.parametrize(
    ("prompt", "kwargs"),
    [
        ("What is the capital of France?", {"sensitive": True}),
        ("Card 4111 1111 1111 1111: is it valid?", {}),  # privacy rule: keep_local
    ],
    ids=["flagged-sensitive", "keep-local-rule"],
)
def test_a_sensitive_request_is_never_shadowed_nor_kept(servers, tmp_path, prompt, kwargs):
    """Nor labelled as a verified answer, though every one is sampled and a content check
    passes it."""
    _, openai, _ = servers
    router = learning_router(learning_policy(servers, tmp_path, verified_label_rate=1.0))
    result = router.complete(prompt, verifiers=[_passes], **kwargs)
    router.close()

    assert result.tier == "local"
    assert openai.requests == []  # nothing reached the frontier, after the answer either
    assert kept(router) == [] and labels(router) == [] and learning_attempts(router) == []


def test_a_redacted_request_is_kept_but_not_shadowed(servers, tmp_path):
    _, openai, _ = servers
    router = learning_router(learning_policy(servers, tmp_path))
    router.complete("Write to ann@example.com about lunch")
    router.close()

    assert openai.requests == []
    assert len(kept(router)) == 1 and labels(router) == []


def test_nothing_is_shadowed_at_rate_zero_or_with_learning_off(servers, tmp_path):
    _, openai, _ = servers
    for settings in ({"shadow_rate": 0.0}, {"enabled": False}):
        router = learning_router(learning_policy(servers, tmp_path, **settings))
        router.complete("What is 2 + 2?")
        router.close()
    assert openai.requests == []


def test_the_shadowed_share_follows_the_rate(servers, tmp_path):
    router = learning_router(learning_policy(servers, tmp_path, shadow_rate=0.25))
    for i in range(80):
        router.complete(f"Say hello number {i}", request_id=f"req-{i}")
    router.close()
    shadowed = sum(a["purpose"] == "shadow" for a in learning_attempts(router))
    assert 8 <= shadowed <= 32  # 20 expected; the choice is a hash of the request id
    assert len(kept(router)) == 80


def test_a_shadow_label_counts_the_tempered_inverse_of_its_sampling_rate(servers, tmp_path):
    """At a 25% rate a shadow stands for four passed answers: it is stored at sqrt(4) = 2 times
    its judge's confidence, an escalation at 1 (training and the promotion check read the
    stored weight)."""
    answer_by_model(servers, "The answer is A.", "The answer is B.")
    router = learning_router(learning_policy(servers, tmp_path, shadow_rate=0.25))
    for i in range(24):
        router.complete(MC_PROMPT, request_id=f"req-{i}")
    router.complete(MC_PROMPT, request_id="caught", verifiers=[lambda _ctx: False])
    router.close()
    weights = {(row["source"], row["weight"]) for row in labels(router)}
    assert weights == {("shadow", 2.0), ("escalation", 1.0)}, weights
    assert shadow_weight(1.0) == 1.0 and shadow_weight(0.02) == pytest.approx(50**0.5)


def test_shadow_spend_never_exceeds_its_budget_under_100_concurrent_requests(servers, tmp_path):
    """Each shadow reserves its most (prompt + max_tokens at the frontier's price) in the SQL
    budget store; with room for only a few, 100 concurrent requests must not overshoot."""
    _, openai, _ = servers
    # Billed as a provider bills: never more output than max_tokens.
    openai.responder = lambda r: Reply(text="ok", usage=Usage(40, min(200, r.max_tokens or 200)))
    cap = Decimal("0.01")
    policy = learning_policy(servers, tmp_path, budget_usd_per_day=cap)
    # The SQL store every process shares; a long busy timeout, as a loaded 2-core machine
    # running 100 requests' ledger, budget and learning writes at once needs.
    store = SqlBudgetStore(policy.ledger.url, busy_timeout_ms=60_000)
    router = learning_router(policy, budget_store=store)

    async def main() -> None:
        await asyncio.gather(
            *(router.acomplete(f"Say hi #{i}", max_tokens=200) for i in range(100))
        )
        await router.aclose()

    asyncio.run(main())
    router.close()
    attempts = learning_attempts(router)
    spent = sum((a["cost_usd"] for a in attempts), Decimal(0))
    assert router.learning is not None
    assert 0 < len(attempts) < 100, router.learning.stats  # some ran, the budget refused the rest
    assert spent <= cap
    assert router.learning is not None and router.learning.stats.refused_by_budget > 0
    store = router.learning.budget.store
    burned = store.burned([learning_window(attempts[0]["created_at"], cap)])[0]
    assert burned == spent  # settled to the cent, nothing left reserved


def test_a_cancelled_shadow_counts_its_most_against_the_budget(servers, tmp_path):
    _, openai, _ = servers
    openai.responder = lambda _r: Reply(text="late", hang=True)
    store = MemoryBudgetStore()
    router = learning_router(learning_policy(servers, tmp_path), budget_store=store)

    async def main() -> None:
        await router.acomplete("Say hi", max_tokens=100)
        assert router.learning is not None
        await router.learning.drain(timeout_s=0.2)  # gives up on the hanging shadow

    asyncio.run(main())
    router.close()
    (attempt,) = learning_attempts(router)
    assert attempt["outcome"] == "error" and attempt["possibly_billed"]
    assert attempt["error_class"] == "RequestCancelledError"
    assert router.learning is not None
    assert router.learning.budget.spent_today(attempt["created_at"]) > 0


def test_shadow_never_delays_the_caller(servers, tmp_path):
    """The frontier takes 1 s to answer a shadow; with shadowing on, every caller has its answer
    long before that. (Other requests on the same event loop share the CPU with a shadow's
    client work, about 10 ms a call: docs/learning.md has the measured overhead.)"""
    _, openai, _ = servers
    openai.responder = lambda _r: Reply(text="slow", latency=1.0)
    policy = learning_policy(servers, tmp_path, judges=("exact_answer",))
    router = learning_router(policy)
    openai.script(Reply(text="warm"))
    router.complete("Explain the theory of everything. " * 30)  # frontier: litellm loaded now
    times = []
    for i in range(5):
        started = time.perf_counter()
        router.complete(f"Say hi {i}")
        times.append(time.perf_counter() - started)
    router.close()  # waits for the shadows
    assert max(times) < 1.0  # no caller waited for its shadow
    assert len(openai.requests) == 6  # and the shadows did run, after the answers
    assert len(learning_attempts(router)) == 5


def test_an_escalation_is_labelled_with_the_local_answer_it_replaced(servers, tmp_path):
    answer_by_model(servers, "The answer is A.", "The answer is B.")
    router = learning_router(learning_policy(servers, tmp_path, shadow_rate=0.0))
    result = router.complete(MC_PROMPT, verifiers=[lambda _ctx: False])
    router.close()

    assert (result.tier, result.escalation_reason) == ("frontier", "verification-failed")
    (label,) = labels(router)
    assert (label["source"], label["judge"], label["gain"]) == ("escalation", "exact_answer", 1.0)
    assert kept(router)[0]["answered_by"] == "frontier"


def test_an_escalation_no_judge_can_tell_is_labelled_by_its_failed_check(servers, tmp_path):
    answer_by_model(servers, "Some essay.", "A better essay.")
    router = learning_router(learning_policy(servers, tmp_path, shadow_rate=0.0))
    router.complete("Write an essay", verifiers=[lambda _ctx: False])
    router.close()
    (label,) = labels(router)  # the pairwise judge's fake reply names no winner: it abstains
    assert (label["source"], label["judge"], label["gain"]) == ("escalation", "verification", 1.0)
    assert label["weight"] == 0.5


def test_a_full_queue_drops_work_and_never_blocks(servers, tmp_path):
    router = learning_router(learning_policy(servers, tmp_path))
    loop = router.learning
    assert isinstance(loop, LearningLoop)
    loop._max_pending = 0  # everything beyond the request row is dropped
    router.complete("Say hi")
    router.close()
    assert loop.stats.dropped == 1 and loop.stats.kept == 1
    assert learning_attempts(router) == []


def test_streams_are_handed_to_the_loop_too(servers, tmp_path):
    answer_by_model(servers, "The answer is B.", "The answer is B.")
    router = learning_router(learning_policy(servers, tmp_path))
    chunks = list(router.stream(MC_PROMPT))
    router.close()
    assert chunks[-1].completion is not None
    (label,) = labels(router)
    assert (label["source"], label["gain"]) == ("shadow", 0.0)  # same final answer: no gain


def test_a_frontier_answer_is_shadowed_locally_for_free(servers, tmp_path):
    """Labels where the router escalates: the local model answers too, at no learning spend."""
    ollama, openai, _ = servers
    ollama.responder = lambda _r: Reply(text="The answer is B.")
    openai.responder = lambda _r: Reply(text="The answer is B.")
    long_mc = "Think carefully about this. " * 30 + MC_PROMPT  # long: decided frontier
    policy = learning_policy(servers, tmp_path, shadow_rate=0.0, local_shadow_rate=1.0)
    router = learning_router(policy)
    result = router.complete(long_mc)
    router.close()

    assert result.tier == "frontier" and len(ollama.requests) == 1  # after the answer
    (label,) = labels(router)
    assert (label["source"], label["judge"], label["gain"]) == ("shadow", "exact_answer", 0.0)
    (attempt,) = learning_attempts(router)
    assert (attempt["tier"], attempt["purpose"], attempt["cost_usd"]) == ("local", "shadow", 0)


class _HandsOverOtherFeatures:
    """Scores like the shipped classifier but hands over the features of another text, so a
    test can tell which features the learning store kept."""

    def __init__(self, other: str) -> None:
        self._prior = load_classifier()
        self._other = other

    def score(self, prompt: str, response: str | None = None) -> float:
        return self._prior.score(prompt, response)

    def score_batch(self, prompts, responses=None):
        return self._prior.score_batch(prompts, responses)

    def score_with_features(self, prompt: str):
        return self._prior.score(prompt), extract(self._other)


def test_the_features_the_classifier_scored_are_stored_not_extracted_again(servers, tmp_path):
    policy = learning_policy(servers, tmp_path, shadow_rate=0.0)
    policy = policy.model_copy(update={"routing": Routing(rule="classifier", threshold=0.0)})
    router = learning_router(policy, classifier=_HandsOverOtherFeatures("the other text"))
    router.complete(MC_PROMPT)
    router.close()

    (row,) = kept(router)
    assert (
        row["features"]
        == stored_features(extract("the other text"))
        != stored_features(extract(MC_PROMPT))
    )
    assert row["prompt"] is None  # still no text without content capture


def test_the_shipped_classifier_hands_over_what_the_text_would_give(servers, tmp_path):
    policy = learning_policy(servers, tmp_path, shadow_rate=0.0)
    policy = policy.model_copy(update={"routing": Routing(rule="classifier", threshold=0.0)})
    router = learning_router(policy, classifier=load_classifier())
    router.complete(MC_PROMPT)
    router.close()

    (row,) = kept(router)
    assert row["features"] == {str(k): v for k, v in hashed_features(MC_PROMPT).items()}
    assert row["features_version"] == "hashed-v1" and row["prompt"] is None


def test_a_local_answer_that_passed_verification_is_a_label_of_no_gain(servers, tmp_path):
    """The other side of the escalations: at a 25% share, a sampled verified answer stands for
    four, so it weighs 4. Nothing is paid for it, and the caller's answer is unchanged."""
    _, openai, _ = servers
    policy = learning_policy(servers, tmp_path, shadow_rate=0.0, verified_label_rate=0.25)
    router = learning_router(policy)
    for i in range(80):
        router.complete(f"Say hello number {i}", request_id=f"req-{i}", verifiers=[_passes])
    router.close()

    rows = labels(router)
    assert 8 <= len(rows) <= 32  # 20 expected; the choice is a hash of the request id
    assert {(r["source"], r["judge"], r["gain"], r["weight"]) for r in rows} == {
        ("verified", "verification", 0.0, 4.0)
    }
    assert openai.requests == [] and learning_attempts(router) == []


@pytest.mark.parametrize(
    "verifiers",
    [[], [lambda _ctx: False]],
    ids=["not-verified", "failed-verification"],
)
def test_only_a_local_answer_that_passed_verification_is_a_verified_label(
    servers, tmp_path, verifiers
):
    """An unverified local answer says nothing about its quality, and one that failed is an
    escalation: neither is a verified label, even with every answer sampled."""
    answer_by_model(servers, "The answer is A.", "The answer is B.")
    policy = learning_policy(servers, tmp_path, shadow_rate=0.0, verified_label_rate=1.0)
    router = learning_router(policy)
    router.complete(MC_PROMPT, verifiers=verifiers)
    router.close()
    assert "verified" not in {row["source"] for row in labels(router)}


def test_a_shadowed_verified_answer_keeps_both_labels_and_training_takes_the_shadow(
    servers, tmp_path
):
    answer_by_model(servers, "The answer is A.", "The answer is B.")
    policy = learning_policy(servers, tmp_path, shadow_rate=1.0, verified_label_rate=1.0)
    router = learning_router(policy)
    router.complete(MC_PROMPT, verifiers=[_passes])
    router.close()

    assert {row["source"] for row in labels(router)} == {"shadow", "verified"}
    assert router.learning is not None
    examples, _ = labelled_examples(router.learning.store.examples())
    assert [(e.source, e.gain) for e in examples] == [("shadow", 1.0)]


def _passes(_ctx: object) -> bool:
    return True


def test_an_answer_that_passed_only_structural_checks_is_not_a_verified_label(servers, tmp_path):
    """Form checks pass nearly every answer, right or wrong: in the replayed simulation, labels
    from a verifier that catches 2% of the failures cost mmlu-pro 0.03 APGR."""
    answer_by_model(servers, "The answer is A.", "The answer is B.")
    policy = learning_policy(servers, tmp_path, shadow_rate=0.0, verified_label_rate=1.0)
    router = learning_router(policy)
    result = router.complete(MC_PROMPT, verifiers=[verify.not_empty(), verify.not_truncated()])
    router.close()
    assert result.tier == "local" and result.verification.passed
    assert labels(router) == []
