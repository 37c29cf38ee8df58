"""A request cancelled mid-call, or a stream the caller leaves early, settles its budget now.

Before, the reservation stayed held (counted as spent) until its window ended. Now: a frontier
call that may have been sent is settled at its maximum (possibly billed), and a reservation no
call was made with is released. Each case runs on MemoryBudgetStore, SqlBudgetStore on SQLite,
and on PostgreSQL when ROUTER_TEST_POSTGRES_URL is set.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from router import Router
from router._fakes import FakeClock, MemoryLedger
from router.budget import BudgetGuard, MemoryBudgetStore, SqlBudgetStore, Window, windows_for
from router.ledger._admin import upgrade_ledger
from router.policy._model import Budgets, Cap
from router.testing import AnthropicServer, OllamaServer, OpenAIServer, Reply
from tests.ledger_helpers.builders import fresh_pg_schema, pg_base_url
from tests.support import LONG_PROMPT, loopback_policy, make_router

NOW = datetime(2026, 1, 1, tzinfo=UTC)  # FakeClock's default start
SUPPORT = {"team": "support"}
ZERO = Decimal(0)


class Recording:
    """A budget store wrapper noting each reservation (the request's maximum cost)."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.reservations: list[Decimal] = []

    def burned(self, windows):
        return self.inner.burned(windows)

    def reserve(self, windows: Sequence[Window], amount: Decimal):
        self.reservations.append(amount)
        return self.inner.reserve(windows, amount)

    def settle(self, windows, reserved, spent):
        return self.inner.settle(windows, reserved, spent)

    def spent(self, window: Window) -> Decimal:
        return self.inner.spent(window)

    def reserved(self, window: Window) -> Decimal:
        return self.inner.reserved(window)

    def close(self) -> None:
        self.inner.close()


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Recording]:
    if request.param == "memory":
        yield Recording(MemoryBudgetStore())
        return
    if request.param == "sqlite":
        urls: Iterator[str] = iter([f"sqlite:///{tmp_path / 'ledger.db'}"])
    else:
        urls = fresh_pg_schema(pg_base_url())
    url = next(urls)
    upgrade_ledger(url)
    sql = SqlBudgetStore(url)
    try:
        yield Recording(sql)
    finally:
        sql.close()
        next(urls, None)  # drops the PostgreSQL schema


@pytest.fixture
def servers():
    with OllamaServer() as o, OpenAIServer() as oa, AnthropicServer() as an:
        yield o, oa, an


class PausingClock(FakeClock):
    """A fake clock whose backoff sleeps wait until the test cancels them."""

    def __init__(self) -> None:
        super().__init__()
        self.sleeping = asyncio.Event()

    async def sleep(self, seconds: float) -> None:
        self.sleeping.set()
        await asyncio.Event().wait()


def _policy(servers):
    budgets = Budgets(teams={"support": Cap(daily_usd=Decimal(100))})
    return loopback_policy(*servers, budgets=budgets)


def _window(policy) -> Window:
    return windows_for(policy.budgets, "support", None, NOW)[0]


async def _until(condition, timeout_s: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    ends = loop.time() + timeout_s
    while not condition():
        assert loop.time() < ends, "timed out waiting"
        await asyncio.sleep(0.01)


async def test_cancelled_while_the_frontier_call_is_out_settles_it_as_possibly_billed(
    servers, store
):
    _, openai, _ = servers
    openai.script(Reply(hang=True))
    policy = _policy(servers)
    router, ledger, _ = make_router(policy, budget_store=store)
    task = asyncio.create_task(router.acomplete(LONG_PROMPT, metadata=SUPPORT))
    await _until(lambda: len(openai.requests) == 1)  # the call reached the provider
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    window = _window(policy)
    [maximum] = store.reservations
    assert store.reserved(window) == ZERO  # not held until the window ends
    assert store.spent(window) == maximum > ZERO  # counted at its maximum: it may be billed
    [rec] = ledger.records  # finance sees the call the provider may bill
    assert (rec.status, rec.error_class) == ("error", "RequestCancelledError")
    assert _attempts(rec) == [("gpt-5.4", "RequestCancelledError", True)]
    await router.aclose()


def _attempts(rec) -> list[tuple[str, str | None, bool]]:
    return [(a.model, a.error_class, a.possibly_billed) for a in rec.attempts]


async def test_cancelled_with_no_frontier_call_out_releases_the_reservation(servers, store):
    _, openai, _ = servers
    openai.script(Reply(status=503))  # not billed; then the retry's backoff is cancelled
    policy, clock = _policy(servers), PausingClock()
    ledger = MemoryLedger()
    router = Router(policy, ledger=ledger, clock=clock, classifier=None, budget_store=store)
    task = asyncio.create_task(router.acomplete(LONG_PROMPT, metadata=SUPPORT))
    await _until(clock.sleeping.is_set)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    window = _window(policy)
    assert len(store.reservations) == 1 and len(openai.requests) == 1
    assert store.reserved(window) == ZERO and store.spent(window) == ZERO
    [rec] = ledger.records  # the 503 attempt, and nothing in flight
    assert rec.error_class == "RequestCancelledError"
    assert _attempts(rec) == [("gpt-5.4", "ServerError", False)]
    await router.aclose()


async def test_a_stream_closed_by_the_caller_mid_answer_settles_it_as_possibly_billed(
    servers, store
):
    _, openai, _ = servers
    openai.script(Reply(text="A long proof, one step at a time. " * 40, chunk_delay=0.02))
    policy = _policy(servers)
    router, ledger, _ = make_router(policy, budget_store=store)
    stream = router.astream(LONG_PROMPT, metadata=SUPPORT)
    first = await anext(stream)
    assert first.text and first.completion is None
    await stream.aclose()  # the client went away
    window = _window(policy)
    [maximum] = store.reservations
    assert store.reserved(window) == ZERO and store.spent(window) == maximum
    [rec] = ledger.records  # the stream the caller left is in the ledger, possibly billed
    assert (rec.status, rec.error_class) == ("error", "RequestCancelledError")
    assert _attempts(rec) == [("gpt-5.4", "RequestCancelledError", True)]
    await router.aclose()


async def test_a_stream_cancelled_before_the_frontier_call_releases_the_reservation(servers, store):
    _, openai, _ = servers
    openai.script(Reply(status=503))
    policy, clock = _policy(servers), PausingClock()
    router = Router(policy, ledger=MemoryLedger(), clock=clock, classifier=None, budget_store=store)

    async def consume() -> None:
        async for _ in router.astream(LONG_PROMPT, metadata=SUPPORT):
            pass

    task = asyncio.create_task(consume())
    await _until(clock.sleeping.is_set)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    window = _window(policy)
    assert len(store.reservations) == 1
    assert store.reserved(window) == ZERO and store.spent(window) == ZERO
    await router.aclose()


def test_a_sync_stream_left_early_settles_the_budget(servers, store):
    _, openai, _ = servers
    openai.script(Reply(text="Step. " * 200, chunk_delay=0.01))
    policy = _policy(servers)
    router, _, _ = make_router(policy, budget_store=store)
    for _chunk in router.stream(LONG_PROMPT, metadata=SUPPORT):
        break  # the caller stops reading
    router.close()
    window = _window(policy)
    assert store.reserved(window) == ZERO
    assert store.spent(window) == store.reservations[0]


def test_a_completed_request_still_settles_what_it_spent(servers, store):
    """The normal path is unchanged: the reservation becomes the real cost."""
    policy = _policy(servers)
    router, _, _ = make_router(policy, budget_store=store)
    res = router.complete(LONG_PROMPT, metadata=SUPPORT)
    router.close()
    window = _window(policy)
    assert store.reserved(window) == ZERO and store.spent(window) == res.cost_usd > ZERO


async def test_a_reservation_cancelled_while_the_store_makes_it_is_released(store):
    """The store call runs on in its thread when the request is cancelled: once it has
    reserved, the guard releases it (no call was made with it)."""
    entered, go_on = threading.Event(), threading.Event()
    inner_reserve = store.reserve

    def slow_reserve(windows, amount):
        entered.set()
        go_on.wait(10)
        return inner_reserve(windows, amount)

    store.reserve = slow_reserve
    window = Window("team:support", "day:2026-01-01", Decimal(100), NOW)
    guard = BudgetGuard(store, [window], lambda _model: Decimal("0.25"))
    task = asyncio.create_task(guard.reserve("gpt-5.4"))
    await _until(entered.is_set)
    task.cancel()
    await asyncio.sleep(0.05)
    go_on.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert store.reservations == [Decimal("0.25")]
    assert store.reserved(window) == ZERO and store.spent(window) == ZERO


async def test_abandon_counts_only_calls_still_in_flight():
    store = MemoryBudgetStore()
    window = Window("team:support", "day:2026-01-01", Decimal(100), NOW)
    guard = BudgetGuard(store, [window], lambda model: Decimal(3 if model == "a" else 5))
    assert await guard.reserve("b")
    with pytest.raises(ValueError), guard.sending("a"):
        raise ValueError("failed: the pipeline records this attempt itself")
    try:
        with guard.sending("b"):
            raise asyncio.CancelledError
    except asyncio.CancelledError:
        pass
    await guard.abandon([])
    assert store.reserved(window) == ZERO and store.spent(window) == Decimal(5)


async def test_a_cancelled_request_without_a_budget_is_still_in_the_ledger(servers):
    """The ledger row does not depend on a budget cap: the in-flight marker is the pipeline's."""
    _, openai, _ = servers
    openai.script(Reply(hang=True))
    policy = _policy(servers).model_copy(update={"budgets": Budgets()})
    router, ledger, _ = make_router(policy)
    task = asyncio.create_task(router.acomplete(LONG_PROMPT, metadata=SUPPORT))
    await _until(lambda: len(openai.requests) == 1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    [rec] = ledger.records
    assert _attempts(rec) == [("gpt-5.4", "RequestCancelledError", True)]
    assert rec.cost_usd == ZERO  # unknown, flagged for finance; never guessed into the total
    await router.aclose()


async def test_a_bug_is_not_recorded_as_a_cancellation(servers):
    """Only a caller going away is a RequestCancelledError; a bug under a call propagates as
    itself and is not written to the ledger under that label."""

    class Broken:
        model, provider, tier = "gpt-5.4", "openai", "frontier"

        async def complete(self, request):
            raise RuntimeError("a bug, not a backend failure")

        async def stream(self, request):  # pragma: no cover - not called
            raise NotImplementedError
            yield

        async def aclose(self) -> None:
            return None

    policy = _policy(servers).model_copy(update={"budgets": Budgets()})
    router, ledger, _ = make_router(policy, frontier=[Broken()])
    with pytest.raises(RuntimeError, match="a bug"):
        await router.acomplete(LONG_PROMPT, metadata=SUPPORT)
    assert not [r for r in ledger.records if r.error_class == "RequestCancelledError"]
    await router.aclose()
