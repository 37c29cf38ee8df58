"""Row 4: 100% HTTP 503 from every frontier model at 64 concurrent requests.

Figures: retries as a share of upstream traffic (the per-model retry budget keeps it near
`retries.retry_budget`); the breaker opens, skips the model without a call while open, and
closes on the first probe after `breaker_cooldown_s` on the injected clock. The same storm runs
through `acomplete()` and `astream()`: streams share the budget and the breaker.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import pytest

from router import Router
from router._breaker import BURST, CircuitBreaker, RetryBudget
from router._fakes import FakeClock
from router._records import RequestRecord
from router.errors import AllAttemptsFailedError, CircuitOpenError
from router.testing import Reply
from tests.reliability._figures import record
from tests.reliability._loopback import Servers, policy_for
from tests.support import LONG_PROMPT, make_router

# Slow: the storm and the breaker's recovery wait out real backoffs (8 s); CI runs it (`-m slow`).
pytestmark = pytest.mark.slow

CONCURRENCY, WAVES, COOLDOWN_S, RATIO = 64, 3, 30.0, 0.2


def _retries(records: list[RequestRecord]) -> int:
    """Calls beyond the first to each model, per request (skipped calls are not traffic)."""
    total = 0
    for rec in records:
        sent = Counter(a.model for a in rec.attempts if a.outcome == "error")
        total += sum(n - 1 for n in sent.values())
    return total


async def _completed(router: Router, prompt: str) -> str:
    return (await router.acomplete(prompt)).text


async def _streamed(router: Router, prompt: str) -> str:
    return "".join([chunk.text async for chunk in router.astream(prompt)])


# The retry budget and the breaker guard streams exactly as they guard complete().
CALLS = {"acomplete": _completed, "astream": _streamed}


@pytest.mark.parametrize("how", CALLS)
async def test_retry_storm_stays_within_the_budget_and_the_breaker_recovers(
    servers: Servers, how: str
) -> None:
    call = CALLS[how]
    _, openai, anthropic = servers
    for server in (openai, anthropic):
        server.responder = lambda _req: Reply(status=503)
    policy = policy_for(
        servers,
        retries={"retry_budget": RATIO, "breaker_failures": 5, "breaker_cooldown_s": COOLDOWN_S},
    )
    router, ledger, clock = make_router(policy)
    started = time.monotonic()
    for _ in range(WAVES):
        calls = [call(router, LONG_PROMPT) for _ in range(CONCURRENCY)]
        results = await asyncio.gather(*calls, return_exceptions=True)
        assert all(isinstance(r, AllAttemptsFailedError) for r in results), results[:3]
    storm_s = time.monotonic() - started
    requests = CONCURRENCY * WAVES
    upstream = len(openai.requests) + len(anthropic.requests)
    retries = _retries(ledger.records)
    skipped = sum(1 for r in ledger.records for a in r.attempts if a.outcome == "rejected")
    unguarded = requests * 2 * policy.retries.max_attempts
    assert len(ledger.records) == requests  # every request is recorded once
    sent = sum(1 for r in ledger.records for a in r.attempts if a.outcome == "error")
    assert sent == upstream  # every upstream call is an attempt in the ledger, and no more

    # While open, the breaker answers without a call.
    before = upstream
    with pytest.raises(AllAttemptsFailedError) as info:
        await call(router, LONG_PROMPT)
    assert all(isinstance(a.error, CircuitOpenError) for a in info.value.attempts)
    assert len(openai.requests) + len(anthropic.requests) == before
    assert [a.outcome for a in ledger.records[-1].attempts] == ["rejected", "rejected"]

    # After the cool-down, one probe goes through; its success closes the breaker.
    openai.responder = lambda _req: Reply(text="back")
    await clock.sleep(COOLDOWN_S)
    assert await call(router, LONG_PROMPT) == "back"
    assert await call(router, LONG_PROMPT) == "back"
    await router.aclose()
    router.close()

    share = retries / upstream
    budget = RATIO * requests * 2 + 2 * BURST  # two models, each with its own bucket
    ok = retries <= budget and share < 0.25 and upstream < unguarded / 4
    streamed = ", streamed" if how == "astream" else ""
    record(
        4,
        f"retry storm{streamed}, {requests} requests x 100% 503 at {CONCURRENCY} concurrent",
        f"{upstream} upstream calls ({upstream / requests:.2f}/request; {unguarded} unguarded), "
        f"retries {retries} = {share:.1%} of upstream traffic, {skipped} calls skipped by "
        f"open breakers, {storm_s:.1f} s",
        f"retries <= {RATIO:.0%} of requests + burst",
        ok,
    )
    record(
        4,
        f"breaker open -> recover{streamed}",
        f"open skips calls: 0 sent; closed by first probe after "
        f"{COOLDOWN_S:g} s cool-down (injected clock)",
        "recovers after cool-down",
        True,
    )
    assert ok, (retries, upstream)


def test_budget_allows_ratio_of_requests_plus_burst() -> None:
    budget = RetryBudget(RATIO)
    granted = 0
    for _ in range(1000):
        budget.on_request()
        granted += sum(budget.try_spend() for _ in range(2))  # every request wants 2 retries
    assert granted <= RATIO * 1000 + BURST
    assert granted >= RATIO * 1000 - 1


def test_breaker_opens_probes_once_and_closes_on_success() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(failures=3, cooldown_s=10, clock=clock)
    for _ in range(3):
        assert breaker.allow()
        breaker.on_failure()
    assert breaker.state == "open" and not breaker.allow()
    asyncio.run(clock.sleep(10))
    assert breaker.allow() and breaker.state == "half_open"
    assert not breaker.allow()  # one probe at a time
    breaker.on_failure()  # the probe failed: open again, for another cool-down
    assert breaker.state == "open" and not breaker.allow()
    asyncio.run(clock.sleep(10))
    assert breaker.allow()
    breaker.on_success()
    assert breaker.state == "closed" and breaker.allow() and breaker.allow()


def test_a_cancelled_probe_does_not_wedge_the_breaker() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(failures=1, cooldown_s=1, clock=clock)
    breaker.on_failure()
    asyncio.run(clock.sleep(1))
    with pytest.raises(asyncio.CancelledError), breaker.watching():
        assert breaker.allow()
        raise asyncio.CancelledError
    assert breaker.allow()  # the next caller may probe
