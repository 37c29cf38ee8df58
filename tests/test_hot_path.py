"""The request path's hidden per-request costs stay gone (see docs/performance.md)."""

from __future__ import annotations

import asyncio
import gc

import pytest
from tenacity import AsyncRetrying, RetryCallState

from router import Router
from router._breaker import RetryBudget
from router._fakes import FakeClock, MemoryLedger
from router._retry import Deadline, call_with_retries
from router.errors import RateLimitError
from router.policy import Retries
from router.testing import AnthropicServer, OllamaServer, OpenAIServer
from tests.support import LONG_PROMPT, loopback_policy


def _open_connections(server: OpenAIServer) -> int:
    httpd = server._httpd
    assert httpd is not None
    with httpd._lock:
        return len(httpd._open)


def test_frontier_calls_reuse_one_connection_whatever_the_deadline_left() -> None:
    """litellm keys its HTTP client cache on the `timeout` it is given. Passing each request's
    remaining deadline built a new client, and a new connection, for every call (about a third
    of the router's added latency); the timeout passed must not vary per request."""
    with (
        OllamaServer() as ollama,
        OpenAIServer(keep_alive=True) as openai,
        AnthropicServer() as anthropic,
    ):
        # the real clock: every request starts with a slightly different deadline left
        router = Router(loopback_policy(ollama, openai, anthropic), ledger=MemoryLedger())
        try:
            for _ in range(4):
                assert router.complete(LONG_PROMPT).tier == "frontier"
            assert len(openai.requests) == 4
            assert _open_connections(openai) == 1
        finally:
            router.close()


async def _answer(timeout_s: float) -> str:
    return "ok"


def _tenacity_objects() -> int:
    return sum(isinstance(o, AsyncRetrying | RetryCallState) for o in gc.get_objects())


async def test_a_call_answered_first_time_builds_no_retry_machinery() -> None:
    """tenacity's loop left ~46 objects in reference cycles per model call, which only the
    garbage collector frees (half the router's extra CPU at concurrency 32 was collections). The
    first attempt runs without it; the retry budget still earns its share."""
    clock, budget = FakeClock(), RetryBudget(ratio=0.25, tokens=0.0)
    deadline, retries = Deadline(clock, 60.0), Retries()
    gc.collect()
    gc.disable()
    try:
        before = _tenacity_objects()
        for _ in range(4):
            answer = await call_with_retries(
                _answer, retries=retries, deadline=deadline, clock=clock, budget=budget
            )
            assert answer == "ok"
        assert _tenacity_objects() == before
    finally:
        gc.enable()
    assert budget.tokens == 1.0  # four requests, a quarter of a retry each


async def test_a_transient_failure_is_still_retried_by_the_same_rules() -> None:
    clock, calls = FakeClock(), []

    async def flaky(timeout_s: float) -> str:
        calls.append(timeout_s)
        if len(calls) < 3:
            raise RateLimitError("slow down", model="m", provider="p", retry_after=1.5)
        return "ok"

    retries = Retries(max_attempts=3)
    answer = await call_with_retries(
        flaky, retries=retries, deadline=Deadline(clock, 60.0), clock=clock
    )
    assert answer == "ok" and len(calls) == 3
    assert clock.sleeps == [1.5, 1.5]  # Retry-After honoured before each retry
    calls.clear()
    with pytest.raises(RateLimitError):  # max_attempts reached: the last failure is raised
        await call_with_retries(
            flaky, retries=Retries(max_attempts=2), deadline=Deadline(clock, 60.0), clock=clock
        )
    assert len(calls) == 2


def test_a_call_in_flight_is_marked_without_a_generator_per_call() -> None:
    """Every model call is marked in flight (the ledger row of a cancelled request shows it).
    The mark is a plain context manager: `@contextmanager` built a generator, its wrapper and a
    closure per call, objects a request at concurrency 32 carries into the older generations.
    A failure ends the mark; a cancellation leaves it; the block may end it early."""
    from router._pipeline import _Sending  # noqa: PLC0415 - the private piece under test

    in_flight: list[tuple[object, float, str]] = []
    entry = (object(), 1.0, "answer")
    with _Sending(in_flight, entry) as answered:
        assert in_flight == [entry]
        answered()
        assert in_flight == []
    with pytest.raises(RateLimitError), _Sending(in_flight, entry):
        raise RateLimitError("slow down", model="m", provider="p")
    assert in_flight == []
    with pytest.raises(asyncio.CancelledError), _Sending(in_flight, entry):
        raise asyncio.CancelledError
    assert in_flight == [entry]
    assert not hasattr(_Sending(in_flight, entry), "gen")  # not a generator-based manager
