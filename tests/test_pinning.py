"""`model=`: "auto" routes; a configured model's name pins the request to that model, still
recorded, under budgets and privacy rules; an unknown name is refused before any call."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from router import AllAttemptsFailedError, SensitiveDataError, UnknownModelError
from router.budget import MemoryBudgetStore, windows_for
from router.errors import BudgetExceededError
from router.policy._model import Budgets, Cap
from router.testing import AnthropicServer, OllamaServer, OpenAIServer, Reply
from tests.support import LONG_PROMPT, SHORT_PROMPT, loopback_policy, make_router
from tests.test_budget_pipeline import NOW

pytestmark = [
    pytest.mark.filterwarnings("ignore:Items .* `ReadOnly` qualifier:UserWarning"),
    pytest.mark.filterwarnings("ignore:Accessing the 'model_computed_fields' attribute"),
]


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[OllamaServer, OpenAIServer, AnthropicServer]]:
    with OllamaServer() as o, OpenAIServer() as oa, AnthropicServer() as an:
        yield o, oa, an


def test_a_short_prompt_pinned_to_a_frontier_model_goes_there_and_is_recorded(servers):
    router, ledger, _ = make_router(loopback_policy(*servers))
    res = router.complete(SHORT_PROMPT, model="anthropic/claude-opus-4-6")
    router.close()
    assert (res.tier, res.model) == ("frontier", "anthropic/claude-opus-4-6")
    assert (res.decision.rule, res.decision.reason) == (
        "pinned",
        "pinned by the caller to anthropic/claude-opus-4-6",
    )
    (record,) = ledger.records
    assert (record.decision_rule, record.model, record.status) == (
        "pinned",
        "anthropic/claude-opus-4-6",
        "ok",
    )
    assert record.cost_usd > 0


def test_auto_routes_and_a_long_prompt_pinned_local_stays_local(servers):
    router, _, _ = make_router(loopback_policy(*servers))
    assert router.complete(LONG_PROMPT, model="auto").tier == "frontier"
    res = router.complete(LONG_PROMPT, model="qwen3.5:9b")
    router.close()
    assert (res.tier, res.decision.rule) == ("local", "pinned")


def test_a_request_pinned_local_is_not_answered_by_another_model_when_it_fails(servers):
    ollama, openai, _ = servers
    before = len(openai.requests)
    ollama.script(*[Reply(status=500)] * 3)
    router, ledger, _ = make_router(loopback_policy(*servers))
    with pytest.raises(AllAttemptsFailedError):
        router.complete(SHORT_PROMPT, model="qwen3.5:9b")
    router.close()
    assert len(openai.requests) == before
    assert ledger.records[0].error_class == "AllAttemptsFailedError"


def test_an_unknown_model_is_refused_before_any_call_naming_the_configured_ones(servers):
    ollama, _, _ = servers
    before = len(ollama.requests)
    router, ledger, _ = make_router(loopback_policy(*servers))
    with pytest.raises(UnknownModelError, match=r"use one of: auto, qwen3\.5:9b, gpt-5\.4, anth"):
        router.complete(SHORT_PROMPT, model="gpt-4o")
    router.close()
    assert len(ollama.requests) == before and ledger.records == []


def test_a_sensitive_request_cannot_be_pinned_to_the_frontier(servers):
    router, _, _ = make_router(loopback_policy(*servers))
    with pytest.raises(SensitiveDataError, match="may only use the local model"):
        router.complete(SHORT_PROMPT, model="gpt-5.4", sensitive=True)
    assert router.complete(SHORT_PROMPT, model="qwen3.5:9b", sensitive=True).tier == "local"
    router.close()


def test_a_pinned_request_over_budget_fails_rather_than_going_to_another_model(servers):
    budgets = Budgets(teams={"support": Cap(daily_usd=Decimal("1.00"))})
    policy = loopback_policy(*servers, budgets=budgets)
    store = MemoryBudgetStore()
    window = windows_for(policy.budgets, "support", None, NOW)[0]
    store.settle([window], Decimal(0), Decimal("1.00"))  # the day's cap is spent
    router, ledger, _ = make_router(policy, budget_store=store)
    with pytest.raises(BudgetExceededError, match=r"pinned to gpt-5\.4"):
        router.complete(SHORT_PROMPT, model="gpt-5.4", metadata={"team": "support"})
    router.close()
    (record,) = ledger.records
    assert (record.status, record.error_class, record.attempts) == (
        "error",
        "BudgetExceededError",
        (),
    )


def test_models_lists_what_may_be_pinned_under_the_team_policy(servers):
    override = {"frontier": {"models": [{"model": "gpt-5.4", "api_key": "sk-x"}]}}
    policy = loopback_policy(*servers, teams={"lean": override})
    router, _, _ = make_router(policy)
    assert router.models() == {
        "qwen3.5:9b": "local",
        "gpt-5.4": "frontier",
        "anthropic/claude-opus-4-6": "frontier",
    }
    assert router.models(team="lean") == {"qwen3.5:9b": "local", "gpt-5.4": "frontier"}
    router.close()
