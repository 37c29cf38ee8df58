"""Budgets on the request path, over real HTTP to the loopback servers.

Under budget a request reserves its maximum cost and settles what it spent; pacing raises the
threshold; an exhausted budget keeps requests local with the reason, and never blocks them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from router._records import AttemptRecord
from router.backends._usage import prompt_token_bound
from router.budget import BudgetGuard, MemoryBudgetStore, Window, windows_for
from router.errors import AllAttemptsFailedError, BudgetExceededError
from router.policy import Policy
from router.policy._model import Budgets, Cap
from router.pricing import load_price_table
from router.testing import AnthropicServer, OllamaServer, OpenAIServer, Reply, Usage
from tests.support import LONG_PROMPT, SHORT_PROMPT, loopback_policy, make_router

NOW = datetime(2026, 1, 1, tzinfo=UTC)  # FakeClock's default start
CAP = Decimal("1.00")
SUPPORT = {"team": "support"}
GPT = load_price_table().unit_price("gpt-5.4")


class RecordingStore(MemoryBudgetStore):
    """The in-memory store, noting every reservation; `full` makes it refuse them all, as if
    another process had just filled the budget."""

    def __init__(self, *, full: bool = False) -> None:
        super().__init__()
        self.reservations: list[Decimal] = []
        self.full = full

    def reserve(self, windows: Sequence[Window], amount: Decimal) -> tuple[Decimal, ...] | None:
        self.reservations.append(amount)
        return None if self.full else super().reserve(windows, amount)


@pytest.fixture
def servers():
    with OllamaServer() as o, OpenAIServer() as oa, AnthropicServer() as an:
        yield o, oa, an


def budget_policy(servers, pace_from: float = 0.5, **overrides):
    budgets = Budgets(pace_from=pace_from, teams={"support": Cap(daily_usd=CAP)})
    return loopback_policy(*servers, budgets=budgets, **overrides)


def day_window(policy) -> Window:
    return windows_for(policy.budgets, "support", None, NOW)[0]


def spend(store: MemoryBudgetStore, policy, amount: str) -> None:
    store.settle([day_window(policy)], Decimal(0), Decimal(amount))


def test_under_budget_reserves_the_maximum_cost_then_settles_the_actual(servers):
    _, openai, _ = servers
    openai.script(Reply(text="Proof.", usage=Usage(1000, 2000)))
    policy, store = budget_policy(servers), RecordingStore()
    router, ledger, _ = make_router(policy, budget_store=store)
    res = router.complete(LONG_PROMPT, metadata=SUPPORT, max_tokens=4000)
    router.close()

    assert (res.tier, res.model) == ("frontier", "gpt-5.4")
    bound = prompt_token_bound([{"role": "user", "content": LONG_PROMPT}])
    assert bound > ledger.records[0].prompt_tokens_estimate  # the prompt at its byte bound
    assert store.reservations == [GPT.cost(bound, 4000)]  # prompt + max_tokens output
    window = day_window(policy)
    assert store.spent(window) == res.cost_usd == Decimal("0.0325")
    assert store.reserved(window) == 0
    assert "budget" not in res.decision.reason


def test_a_streamed_frontier_answer_is_reserved_and_settled(servers):
    _, openai, _ = servers
    openai.script(Reply(text="Streamed proof.", usage=Usage(1000, 2000)))
    policy, store = budget_policy(servers), RecordingStore()
    router, _, _ = make_router(policy, budget_store=store)
    chunks = list(router.stream(LONG_PROMPT, metadata=SUPPORT))
    router.close()
    final = chunks[-1].completion
    assert final is not None and final.tier == "frontier" and len(store.reservations) == 1
    assert store.spent(day_window(policy)) == final.cost_usd > 0
    assert store.reserved(day_window(policy)) == 0


def test_a_request_without_a_capped_team_never_touches_the_store(servers):
    _, openai, _ = servers
    store = RecordingStore()
    router, _, _ = make_router(budget_policy(servers), budget_store=store)
    res = router.complete(LONG_PROMPT, metadata={"team": "search"})
    router.close()
    assert res.tier == "frontier" and store.reservations == [] and len(openai.requests) == 1


def test_pacing_raises_the_threshold_as_the_budget_burns(servers):
    ollama, openai, _ = servers
    policy, store = budget_policy(servers), MemoryBudgetStore()
    spend(store, policy, "0.90")  # 90% of the cap, pacing from 50%: progress 0.8
    router, ledger, _ = make_router(policy, budget_store=store)
    res = router.complete(LONG_PROMPT, metadata=SUPPORT)
    router.close()

    assert res.tier == "local" and len(openai.requests) == 0 and len(ollama.requests) == 1
    assert res.decision.threshold == pytest.approx(50 / 0.2)  # token limit 50 -> 250
    assert res.decision.rule == "token-count"
    assert "budget pacing: team support daily cap $1.00 90% spent" in res.decision.reason
    assert ledger.records[0].decision_threshold == pytest.approx(250)


def test_below_pace_from_nothing_changes(servers):
    policy, store = budget_policy(servers), MemoryBudgetStore()
    spend(store, policy, "0.40")
    router, _, _ = make_router(policy, budget_store=store)
    res = router.complete(LONG_PROMPT, metadata=SUPPORT)
    router.close()
    assert res.tier == "frontier" and res.decision.threshold == 50


def test_over_budget_goes_local_with_the_reason(servers):
    ollama, openai, anthropic = servers
    ollama.script(Reply(text="Local proof.", usage=Usage(100, 10)))
    policy, store = budget_policy(servers), RecordingStore()
    spend(store, policy, "1.00")
    router, ledger, _ = make_router(policy, budget_store=store)
    res = router.complete(LONG_PROMPT, metadata=SUPPORT)
    router.close()

    assert (res.tier, res.text, res.decision.tier, res.decision.rule) == (
        "local",
        "Local proof.",
        "local",
        "budget",
    )
    assert "budget exhausted: team support daily cap $1.00 reached" in res.decision.reason
    assert "local only until 2026-01-02T00:00Z" in res.decision.reason
    assert len(openai.requests) == len(anthropic.requests) == 0 and store.reservations == []
    assert ledger.records[0].decision_rule == "budget"


def test_local_traffic_is_never_blocked_by_an_exhausted_budget(servers):
    _, openai, _ = servers
    policy, store = budget_policy(servers), MemoryBudgetStore()
    spend(store, policy, "5.00")
    router, _, _ = make_router(policy, budget_store=store)
    answers = [router.complete(SHORT_PROMPT, metadata=SUPPORT) for _ in range(3)]
    streamed = list(router.stream(LONG_PROMPT, metadata=SUPPORT))
    router.close()

    assert [a.tier for a in answers] == ["local"] * 3 and len(openai.requests) == 0
    final = streamed[-1].completion
    assert final is not None and final.tier == "local" and final.decision.rule == "budget"
    assert "".join(c.text for c in streamed) == final.text != ""


def test_failed_verification_under_an_exhausted_budget_stays_local(servers):
    ollama, openai, _ = servers
    ollama.script(Reply(text="not good"))
    policy, store = budget_policy(servers), MemoryBudgetStore()
    spend(store, policy, "1.00")
    router, _, _ = make_router(policy, budget_store=store, verifiers=[lambda ctx: False])
    res = router.complete(SHORT_PROMPT, metadata=SUPPORT)
    router.close()

    assert res.tier == "local" and res.text == "not good" and len(openai.requests) == 0
    assert res.verification is not None and res.verification.status == "failed"
    assert "budget exhausted" in res.decision.reason


def test_failed_verification_under_budget_escalates_and_is_settled(servers):
    _, openai, _ = servers
    openai.script(Reply(text="better", usage=Usage(10, 10)))
    policy, store = budget_policy(servers), MemoryBudgetStore()
    router, _, _ = make_router(policy, budget_store=store, verifiers=[lambda ctx: False])
    res = router.complete(SHORT_PROMPT, metadata=SUPPORT)
    router.close()
    assert (res.tier, res.escalation_reason) == ("frontier", "verification-failed")
    assert store.spent(day_window(policy)) == res.cost_usd > 0
    assert store.reserved(day_window(policy)) == 0


def test_local_down_under_an_exhausted_budget_fails_without_a_frontier_call(servers):
    ollama, openai, _ = servers
    ollama.script(*[Reply(status=500)] * 3)
    policy, store = budget_policy(servers), MemoryBudgetStore()
    spend(store, policy, "1.00")
    router, _, _ = make_router(policy, budget_store=store)
    with pytest.raises(AllAttemptsFailedError):
        router.complete(SHORT_PROMPT, metadata=SUPPORT)
    router.close()
    assert len(openai.requests) == 0


def test_a_reservation_refused_mid_request_keeps_the_frontier_uncalled(servers):
    """Another process filled the budget between the first look and the fallback."""
    ollama, openai, _ = servers
    ollama.script(*[Reply(status=500)] * 3)
    store = RecordingStore(full=True)
    router, ledger, _ = make_router(budget_policy(servers), budget_store=store)
    with pytest.raises(BudgetExceededError, match="budget exhausted"):
        router.complete(SHORT_PROMPT, metadata=SUPPORT)
    router.close()
    assert len(openai.requests) == 0 and len(store.reservations) == 1
    assert ledger.records[0].status == "error"


def test_a_frontier_first_request_refused_at_reservation_is_answered_locally(servers):
    _, openai, _ = servers
    store = RecordingStore(full=True)
    router, _, _ = make_router(budget_policy(servers), budget_store=store)
    res = router.complete(LONG_PROMPT, metadata=SUPPORT)
    router.close()
    assert res.tier == "local" and res.decision.rule == "budget" and len(openai.requests) == 0
    assert "a cap was reached while this request was routed" in res.decision.reason


def test_failed_frontier_calls_release_the_reservation(servers):
    _, openai, anthropic = servers
    openai.script(Reply(status=400))
    anthropic.script(Reply(status=400))
    policy, store = budget_policy(servers), RecordingStore()
    router, _, _ = make_router(policy, budget_store=store)
    with pytest.raises(AllAttemptsFailedError):
        router.complete(LONG_PROMPT, metadata=SUPPORT)
    router.close()
    window = day_window(policy)
    assert store.reservations and store.spent(window) == store.reserved(window) == 0


def test_a_possibly_billed_failure_settles_at_its_maximum():
    """litellm reports dropped connections as 500s today, so this is checked on the guard."""
    store, policy = (
        MemoryBudgetStore(),
        Policy(budgets=Budgets(teams={"support": Cap(daily_usd=CAP)})),
    )
    [window] = windows_for(policy.budgets, "support", None, NOW)
    guard = BudgetGuard(store, [window], lambda model: GPT.cost(1000, 500), team="support")
    assert asyncio.run(guard.reserve("gpt-5.4"))
    ok = attempt(cost="0.01")
    billed = attempt(possibly_billed=True)
    local = attempt(tier="local", cost="5")
    asyncio.run(guard.settle([billed, ok, local]))
    assert store.spent(window) == GPT.cost(1000, 500) + Decimal("0.01")
    assert store.reserved(window) == 0 and guard.reserved == 0


def attempt(*, cost: str = "0", possibly_billed: bool = False, tier: str = "frontier"):
    return AttemptRecord(
        model="gpt-5.4",
        provider="openai",
        tier=tier,  # type: ignore[arg-type]
        tokens_in=0,
        tokens_out=0,
        latency_ms=1.0,
        outcome="error" if possibly_billed else "ok",
        cost_usd=Decimal(cost),
        unit_price_in=GPT.input_per_mtok,
        unit_price_out=GPT.output_per_mtok,
        possibly_billed=possibly_billed,
    )


def test_budget_burn_metric_per_team(servers):
    _, openai, _ = servers
    openai.script(Reply(text="Proof.", usage=Usage(1000, 2000)))
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    policy, store = budget_policy(servers), MemoryBudgetStore()
    router, _, _ = make_router(policy, budget_store=store, meter_provider=provider)
    router.complete(LONG_PROMPT, metadata=SUPPORT)
    router.complete(LONG_PROMPT, metadata={"team": "search"})  # no budget: no burn point
    router.close()

    data = reader.get_metrics_data()
    assert data is not None
    points = [
        (dict(p.attributes or {}), p.value)
        for rm in data.resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
        if m.name == "router.budget.burn"
        for p in m.data.data_points
    ]
    provider.shutdown()
    assert points == [({"router.team": "support"}, pytest.approx(0.0325))]  # settled: $0.0325/$1


def test_windows_follow_the_injected_clock(servers):
    policy, store = budget_policy(servers), MemoryBudgetStore()
    spend(store, policy, "1.00")  # today's budget is spent...
    router, _, clock = make_router(policy, budget_store=store)
    assert router.complete(LONG_PROMPT, metadata=SUPPORT).tier == "local"
    asyncio.run(clock.sleep(86_400))  # ...and tomorrow's is not
    res = router.complete(LONG_PROMPT, metadata=SUPPORT)
    router.close()
    assert res.tier == "frontier"
