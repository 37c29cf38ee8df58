"""Per-backend protection against retry storms: a retry budget and a circuit breaker.

Two small pieces, each over its own state, combined per backend by `BackendGuard`:

- `RetryBudget`, a token bucket: every first attempt deposits `ratio` tokens (up to a cap) and
  every retry spends one, so over any stretch retries stay under `ratio` of requests plus a
  small burst. When the upstream fails everything, traffic grows by at most that share.
- `CircuitBreaker`: after `failures` consecutive transient failures it opens and the backend is
  skipped; after `cooldown_s` (read from the injected clock) one probe goes through, and its
  success closes the breaker (its failure reopens it).

Both are thread-safe: a `Router` may serve its own loop thread and callers' loops at once.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal

from router._clock import Clock
from router.errors import TransientBackendError

BreakerState = Literal["closed", "open", "half_open"]
BURST = 10.0
"""Retries a backend may spend before any request has paid for them (the bucket's size)."""


@dataclass
class RetryBudget:
    """Retries allowed only while they stay under `ratio` of first attempts (plus `BURST`)."""

    ratio: float
    tokens: float = BURST
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def on_request(self) -> None:
        """A first attempt: earn `ratio` of a retry."""
        with self._lock:
            self.tokens = min(BURST, self.tokens + self.ratio)

    def try_spend(self) -> bool:
        """True (and one token spent) when a retry fits the budget."""
        with self._lock:
            if self.tokens < 1.0:
                return False
            self.tokens -= 1.0
            return True


@dataclass
class CircuitBreaker:
    """Closed -> open after `failures` consecutive failures -> half-open after `cooldown_s`."""

    failures: int
    cooldown_s: float
    clock: Clock
    state: BreakerState = "closed"
    consecutive: int = 0
    opened_at: float = 0.0
    _probing: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def allow(self) -> bool:
        """May a call go through now? In half-open, only one probe at a time."""
        with self._lock:
            if self.state == "closed":
                return True
            if self.state == "open":
                if self.clock.monotonic() - self.opened_at < self.cooldown_s:
                    return False
                self.state = "half_open"
            if self._probing:
                return False
            self._probing = True
            return True

    def on_success(self) -> None:
        with self._lock:
            self.state, self.consecutive, self._probing = "closed", 0, False

    def on_failure(self) -> None:
        """A transient failure (connection, timeout, 429, 5xx)."""
        with self._lock:
            self.consecutive += 1
            if self.state == "half_open" or self.consecutive >= self.failures:
                self.state, self.opened_at = "open", self.clock.monotonic()
            self._probing = False

    def on_other(self) -> None:
        """A call that ended without telling us about the backend's health (e.g. HTTP 400)."""
        with self._lock:
            self._probing = False

    @contextmanager
    def watching(self) -> Iterator[None]:
        """Count the call in the block: transient failure, success, or neither (cancelled...)."""
        try:
            yield
        except TransientBackendError:
            self.on_failure()
            raise
        except BaseException:
            self.on_other()
            raise
        self.on_success()


@dataclass
class BackendGuard:
    """The retry budget and breaker of one backend."""

    budget: RetryBudget
    breaker: CircuitBreaker


class Guards:
    """One `BackendGuard` per backend, created on first use with the caller's settings."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._guards: dict[int, BackendGuard] = {}
        self._lock = threading.Lock()

    def for_backend(
        self, backend: object, *, ratio: float, failures: int, cooldown_s: float
    ) -> BackendGuard:
        key = id(backend)  # backends live as long as the router that holds these guards
        with self._lock:
            guard = self._guards.get(key)
            if guard is None:
                breaker = CircuitBreaker(failures, cooldown_s, self._clock)
                guard = BackendGuard(RetryBudget(ratio), breaker)
                self._guards[key] = guard
            return guard
