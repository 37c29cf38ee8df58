"""Row 4, continued: our own errors never count against a provider.

Text that cannot be encoded (a lone surrogate) used to leave the process as far as litellm's
encoder, come back as an "HTTP 500", be retried and open both frontier breakers, so two bad
requests switched the frontier off for everyone. It is now an `InvalidRequestError` at
validation, before any call; and at the backend seam, anything raised before a request leaves
the process is `RequestNotSentError`: not retried, not counted by the breaker, never possibly
billed or charged.
"""

from __future__ import annotations

import asyncio
import sys
from decimal import Decimal

import pytest

from router._breaker import CircuitBreaker
from router._fakes import FakeClock
from router.backends import LiteLLMBackend, ModelRequest, OllamaBackend
from router.budget import MemoryBudgetStore, windows_for
from router.errors import AllAttemptsFailedError, InvalidRequestError, TransientBackendError
from router.policy._model import Budgets, Cap
from router.testing import Reply
from tests.reliability._figures import record
from tests.reliability._loopback import Servers, policy_for
from tests.support import ANTHROPIC_KEY, LONG_PROMPT, OPENAI_KEY, make_router

LONE = "\udfff"
BAD_TEXT = {
    "prompt": {"prompt": LONG_PROMPT + LONE},
    "system message": {
        "messages": [
            {"role": "system", "content": "x" + LONE},
            {"role": "user", "content": LONG_PROMPT},
        ]
    },
    "text part": {"messages": [{"role": "user", "content": [{"type": "text", "text": LONE}]}]},
    "metadata value": {"prompt": LONG_PROMPT, "metadata": {"ticket": LONE}},
    "metadata key": {"prompt": LONG_PROMPT, "metadata": {LONE: "x"}},
    "request_id": {"prompt": LONG_PROMPT, "request_id": "r" + LONE},
    "response_format": {
        "prompt": LONG_PROMPT,
        "response_format": {"type": "json_schema", "json_schema": {"name": LONE}},
    },
}


def test_a_lone_surrogate_is_refused_before_any_call_and_the_frontier_stays_up(
    servers: Servers,
) -> None:
    router, ledger, _ = make_router(policy_for(servers, retries={"breaker_failures": 2}))
    refused = 0
    for what, kwargs in BAD_TEXT.items():
        for _ in range(2):
            with pytest.raises(InvalidRequestError) as info:
                router.complete(**kwargs)
            assert LONE not in str(info.value) and "odd numbers" not in str(info.value), what
            refused += 1
    upstream = sum(len(s.requests) for s in servers)
    answer = router.complete(LONG_PROMPT)
    router.close()
    ok = upstream == 0 and answer.model == "gpt-5.4" and len(ledger.records) == 1
    record(
        4,
        "requests with a lone surrogate",
        f"{refused}/{refused} refused at validation, {upstream} upstream calls; the next "
        f"frontier request answered by {answer.model}",
        "refused before any call; frontier unaffected",
        ok,
    )
    assert ok


def _deep(levels: int) -> dict[str, object]:
    node: dict[str, object] = {"type": "string"}
    for _ in range(levels):
        node = {"type": "object", "properties": {"a": node}}
    return node


@pytest.mark.parametrize("what", ["lone surrogate", "too deep to encode"])
async def test_an_error_raised_before_sending_is_ours_not_the_providers(
    servers: Servers, what: str
) -> None:
    ollama, openai, anthropic = servers
    if what == "lone surrogate":
        request = ModelRequest(messages=({"role": "user", "content": LONE},), timeout_s=5)
    else:
        # 6,000 levels: Python 3.13's JSON encoder takes 3,000 (its C recursion limit is higher).
        fmt = {"type": "json_schema", "json_schema": {"name": "x", "schema": _deep(6000)}}
        request = ModelRequest(
            messages=({"role": "user", "content": "hi"},), response_format=fmt, timeout_s=5
        )
    backends = (
        OllamaBackend(host=ollama.url),
        LiteLLMBackend("gpt-5.4", api_base=openai.url + "/v1", api_key=OPENAI_KEY),
        LiteLLMBackend("anthropic/claude-opus-4-6", api_base=anthropic.url, api_key=ANTHROPIC_KEY),
    )
    names = []
    limit = sys.getrecursionlimit()
    for backend in backends:
        with pytest.raises(Exception) as info:
            await backend.complete(request)
        names.append(type(info.value).__name__)
        assert not isinstance(info.value, TransientBackendError), backend.model
        breaker = CircuitBreaker(1, 30.0, FakeClock())
        with pytest.raises(type(info.value)), breaker.watching():
            raise info.value
        assert breaker.state == "closed"  # ours: never counted against the provider
    assert sys.getrecursionlimit() == limit
    assert names == ["RequestNotSentError"] * 3
    assert sum(len(s.requests) for s in servers) == 0


def test_all_n_attempts_matches_the_attempts_logged(servers: Servers) -> None:
    _, openai, anthropic = servers
    openai.script(*[Reply(status=503)] * 3)
    anthropic.script(Reply(status=503), Reply(status=401))
    router, ledger, _ = make_router(policy_for(servers))
    with pytest.raises(AllAttemptsFailedError) as info:
        router.complete(LONG_PROMPT)
    router.close()
    logged = len(ledger.records[0].attempts)
    assert logged == 5
    assert f"all {logged} attempt(s)" in str(info.value)


def test_a_refused_request_is_never_charged_to_a_budget(servers: Servers) -> None:
    budgets = Budgets(teams={"support": Cap(daily_usd=Decimal("1.00"))})
    policy = policy_for(servers).model_copy(update={"budgets": budgets})
    store = MemoryBudgetStore()
    router, _, clock = make_router(policy, budget_store=store)
    with pytest.raises(InvalidRequestError):
        router.complete(LONG_PROMPT + LONE, metadata={"team": "support"})
    router.close()
    window = windows_for(budgets, "support", None, clock.now())[0]
    assert store.spent(window) == Decimal(0)
    assert asyncio.iscoroutinefunction(router.acomplete)
