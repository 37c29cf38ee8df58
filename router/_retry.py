"""Retries for one model within the request's deadline, built from tenacity's pieces.

Only transient failures are retried (connection errors, timeouts, 429, 5xx). A 429's
`Retry-After` is honoured as given; otherwise the wait is exponential with jitter. A retry is
skipped (the next model is tried at once) when the server asks for a wait longer than
`retries.retry_after_cap_s`, when the wait would not fit in what is left of the deadline, or
when the backend's retry budget (router._breaker) has none left. Streams follow the same rules
through `StreamRetries`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)
from tenacity.stop import stop_base
from tenacity.wait import wait_base

from router._breaker import RetryBudget
from router._clock import Clock
from router.errors import DeadlineExceededError, RateLimitError, TransientBackendError
from router.policy import Retries

T = TypeVar("T")


class Deadline:
    """One overall deadline per request, read from the injected clock."""

    def __init__(self, clock: Clock, seconds: float) -> None:
        self._clock = clock
        self._ends_at = clock.monotonic() + seconds
        self.seconds = seconds

    def remaining(self) -> float:
        return self._ends_at - self._clock.monotonic()

    def check(self) -> float:
        """Seconds left; raise `DeadlineExceededError` if none."""
        left = self.remaining()
        if left <= 0:
            raise DeadlineExceededError(
                f"the request's deadline of {self.seconds:g}s passed; raise retries.deadline_s "
                "in the policy or pass a shorter prompt"
            )
        return left


def _hint(retry_state: RetryCallState) -> float | None:
    """The server's `Retry-After` on the failure, when it gave one."""
    outcome = retry_state.outcome
    exc = outcome.exception() if outcome is not None else None
    return exc.retry_after if isinstance(exc, RateLimitError) else None


class wait_retry_after(wait_base):
    """The server's `Retry-After` when it gave one, else `fallback`."""

    def __init__(self, fallback: wait_base) -> None:
        self.fallback = fallback

    def __call__(self, retry_state: RetryCallState) -> float:
        hint = _hint(retry_state)
        return hint if hint is not None else self.fallback(retry_state)


class stop_retry_after_over(stop_base):
    """Stop when the server asks for a longer wait than `cap`: retrying sooner would be
    refused again, and waiting longer holds the caller, so the next model is tried at once."""

    def __init__(self, cap: float) -> None:
        self.cap = cap

    def __call__(self, retry_state: RetryCallState) -> bool:
        hint = _hint(retry_state)
        return hint is not None and hint > self.cap


class stop_at_deadline(stop_base):
    """Stop when the next wait would run past the deadline."""

    def __init__(self, deadline: Deadline) -> None:
        self.deadline = deadline

    def __call__(self, retry_state: RetryCallState) -> bool:
        return retry_state.upcoming_sleep >= self.deadline.remaining()


class stop_over_budget(stop_base):
    """Stop when the backend's retry budget has no retry left (checked last: it spends one)."""

    def __init__(self, budget: RetryBudget) -> None:
        self.budget = budget

    def __call__(self, retry_state: RetryCallState) -> bool:
        return not self.budget.try_spend()


def _retrying(
    retries: Retries, deadline: Deadline, clock: Clock, budget: RetryBudget | None
) -> AsyncRetrying:
    """The retry rules, shared by calls (`call_with_retries`) and streams (`StreamRetries`).
    Building them does not touch the retry budget: each request deposits its share itself."""
    stop = (
        stop_after_attempt(retries.max_attempts)
        | stop_retry_after_over(retries.retry_after_cap_s)
        | stop_at_deadline(deadline)
    )
    if budget is not None:
        stop = stop | stop_over_budget(budget)  # stop_any short-circuits: spent only to retry
    return AsyncRetrying(
        stop=stop,
        wait=wait_retry_after(
            wait_exponential_jitter(
                multiplier=retries.backoff_initial_s,
                max=retries.backoff_max_s,
                jitter=retries.backoff_initial_s,
            ),
        ),
        retry=retry_if_exception_type(TransientBackendError),
        sleep=clock.sleep,
        reraise=True,
    )


async def call_with_retries(
    attempt: Callable[[float], Awaitable[T]],
    *,
    retries: Retries,
    deadline: Deadline,
    clock: Clock,
    budget: RetryBudget | None = None,
) -> T:
    """Run `attempt(timeout_s)` until it succeeds, fails permanently, or retries run out:
    `max_attempts`, the deadline, or (when given) the backend's retry `budget`.

    The rules are tenacity's, applied after each failure as `StreamRetries` applies them. They
    are built only once an attempt has failed: tenacity's loop costs about 18 us and leaves
    about 46 objects in reference cycles per call (only the garbage collector frees them),
    which the answered-first-time request, nearly every one, need not pay.
    """
    rules: StreamRetries | None = None
    if budget is not None:
        budget.on_request()  # every request earns its share of a retry, retried or not
    number = 1
    while True:
        try:
            return await attempt(deadline.check())
        except TransientBackendError as exc:
            rules = rules or StreamRetries(retries, deadline, clock, budget, deposit=False)
            wait = rules.wait_after(exc, number)
            if wait is None:
                raise
        await clock.sleep(wait)
        number += 1


class StreamRetries:
    """The rules of `call_with_retries` for a stream, whose caller runs the loop itself (it
    yields between attempts, so it cannot be one awaited function).

    Built once per backend per request (which earns the retry budget its share, as a first
    attempt does); `wait_after(exc, attempt_number)` is the pause before the next attempt, or
    None when there is none: a permanent error, `max_attempts`, the deadline, or no retry left
    in the budget (a retry it allows is spent from it).
    """

    def __init__(
        self,
        retries: Retries,
        deadline: Deadline,
        clock: Clock,
        budget: RetryBudget | None,
        *,
        deposit: bool = True,
    ) -> None:
        if budget is not None and deposit:
            budget.on_request()
        self._rules = _retrying(retries, deadline, clock, budget)

    def wait_after(self, exc: BaseException, attempt_number: int) -> float | None:
        rules = self._rules
        state = RetryCallState(rules, None, (), {})
        state.attempt_number = attempt_number
        state.set_exception((type(exc), exc, exc.__traceback__))
        if not rules.retry(state):
            return None
        state.upcoming_sleep = rules.wait(state)
        return None if rules.stop(state) else state.upcoming_sleep
