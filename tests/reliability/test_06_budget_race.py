"""Reliability row 6, budget race: 64 concurrent requests from 4 OS processes at 95% of a cap.

Every process routes 16 requests at once through its own `Router`, sharing one budget in the
ledger database (PostgreSQL, and SQLite for comparison). Each request is expensive enough that
only a handful fit under the cap. The cap may be overshot by at most one request's maximum cost
(its reservation); requests that do not fit are answered locally, not refused.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from router.budget import SqlBudgetStore, Window, windows_for
from router.ledger._admin import upgrade_ledger
from router.policy._model import Budgets, Cap
from router.testing import AnthropicServer, OllamaServer, OpenAIServer, Reply, Usage
from tests.ledger_helpers.builders import fresh_pg_schema, pg_base_url
from tests.reliability._figures import record

PROCESSES, CONCURRENCY = 4, 16
CAP = Decimal("1.00")
PRIOR_SPEND = CAP * Decimal("0.95")
MAX_TOKENS = 500
START = datetime(2026, 1, 1, tzinfo=UTC)
BUDGETS = Budgets(pace_from=0.99, teams={"race": Cap(daily_usd=CAP)})
PROMPT = "Prove that there are infinitely many primes, carefully and step by step. " * 8

pytestmark = pytest.mark.slow


class _Recording(SqlBudgetStore):
    """The SQL store, noting the amount of every reservation it grants."""

    granted: list[Decimal]

    def reserve(self, windows: Sequence[Window], amount: Decimal) -> tuple[Decimal, ...] | None:
        burned = super().reserve(windows, amount)
        if burned is not None:
            self.granted.append(amount)
        return burned


def _worker(url: str, hosts: tuple[str, str, str], barrier: Any) -> dict[str, Any]:
    """One process: a router of its own, 16 requests at once after every process is ready."""
    from router import Router  # noqa: PLC0415 - in the child process
    from router._fakes import FakeClock  # noqa: PLC0415
    from tests.support import loopback_policy  # noqa: PLC0415

    store = _Recording(url)
    store.granted = []
    policy = loopback_policy(*hosts, budgets=BUDGETS)
    policy = policy.model_copy(  # every prompt frontier-worthy; a patient local model (2 cores)
        update={
            "routing": policy.routing.model_copy(update={"token_count_threshold": 1}),
            "local": policy.local.model_copy(
                update={"read_timeout_s": 60.0, "connect_timeout_s": 30.0}
            ),
            "retries": policy.retries.model_copy(update={"deadline_s": 120.0}),
        }
    )
    router = Router(
        policy, ledger=None, classifier=None, clock=FakeClock(START), budget_store=store
    )

    async def burst() -> list[Any]:
        await router.acomplete("warm up")  # litellm imported, connections open, before the race
        barrier.wait()
        calls = (
            router.acomplete(PROMPT, metadata={"team": "race"}, max_tokens=MAX_TOKENS)
            for _ in range(CONCURRENCY)
        )
        return await asyncio.gather(*calls)

    try:
        results = asyncio.run(burst())
    finally:
        router.close()
    return {"tiers": [r.tier for r in results], "granted": [str(a) for a in store.granted]}


@pytest.fixture
def hosts() -> Iterator[tuple[str, str, str]]:
    with OllamaServer() as ollama, OpenAIServer() as openai, AnthropicServer() as anthropic:
        # Every frontier answer spends its whole output allowance: the worst case for a cap.
        openai.responder = lambda request: Reply(
            text="ok", usage=Usage(10, MAX_TOKENS), latency=0.05
        )
        yield ollama.url, openai.url, anthropic.url


@pytest.fixture(params=["postgres", "sqlite"])
def budget_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'ledger.db'}"
        upgrade_ledger(url)
        yield url
        return
    request.applymarker(pytest.mark.postgres)
    for url in fresh_pg_schema(pg_base_url()):
        upgrade_ledger(url)
        yield url


def _race(url: str, hosts: tuple[str, str, str]) -> tuple[float, list[dict[str, Any]]]:
    """Run every worker process at once; (seconds taken, each worker's result)."""
    context = multiprocessing.get_context("spawn")
    started = time.monotonic()
    with context.Manager() as manager, context.Pool(PROCESSES) as pool:
        barrier = manager.Barrier(PROCESSES)
        jobs = [pool.apply_async(_worker, (url, hosts, barrier)) for _ in range(PROCESSES)]
        results = [job.get(timeout=420) for job in jobs]
    return time.monotonic() - started, results


def test_concurrent_processes_overshoot_a_cap_by_at_most_one_request(budget_url, hosts):
    [window] = windows_for(BUDGETS, "race", None, START)
    seed = SqlBudgetStore(budget_url)
    seed.settle([window], Decimal(0), PRIOR_SPEND)

    try:
        elapsed, results = _race(budget_url, hosts)
        spent, reserved = seed.spent(window), seed.reserved(window)
    finally:
        seed.close()  # even when the race fails, so no connection outlives the test
    tiers = [t for r in results for t in r["tiers"]]
    granted = [Decimal(a) for r in results for a in r["granted"]]
    overshoot = spent - CAP
    bound = max(granted)
    backend = budget_url.split(":", 1)[0]
    print(
        f"\n[reliability row 6] budget race on {backend}: {len(tiers)} requests from "
        f"{PROCESSES} processes at 95% of a ${CAP} cap; {tiers.count('frontier')} frontier, "
        f"{tiers.count('local')} local; overshoot ${overshoot} vs bound ${bound} "
        f"(one request's maximum cost); without reservations it would have been "
        f"${PRIOR_SPEND + bound * len(tiers) - CAP} at most; {elapsed:.1f}s"
    )
    record(
        6,
        f"budget race, {len(tiers)} requests, {PROCESSES} processes, 95% of a cap ({backend})",
        f"overshoot ${overshoot} vs one request's maximum ${bound}; "
        f"{tiers.count('frontier')} frontier, {tiers.count('local')} local",
        "overshoot <= one request's maximum cost",
        overshoot <= bound,
    )
    assert len(tiers) == PROCESSES * CONCURRENCY and set(tiers) <= {"frontier", "local"}
    assert tiers.count("frontier") == len(granted) >= 1 and tiers.count("local") >= 1
    assert overshoot <= bound
    assert reserved == 0  # every reservation was settled
