"""`BudgetedBackend`: a frontier backend that reserves the request's budget before each call,
and marks the call in flight while it runs (a cancelled request settles it as possibly billed)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from router._records import Tier
from router.backends import Backend, ModelChunk, ModelRequest, ModelResponse
from router.budget._guard import BudgetGuard
from router.errors import BudgetExceededError


class BudgetedBackend:
    """Wraps one request's frontier backend; refuses the call when the budget is spent."""

    def __init__(self, inner: Backend, guard: BudgetGuard) -> None:
        self._inner, self._guard = inner, guard

    @property
    def model(self) -> str:
        return self._inner.model

    @property
    def provider(self) -> str:
        return self._inner.provider

    @property
    def tier(self) -> Tier:
        return self._inner.tier

    async def complete(self, request: ModelRequest) -> ModelResponse:
        await self._reserve()
        with self._guard.sending(self.model):
            return await self._inner.complete(request)

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelChunk]:
        await self._reserve()
        with self._guard.sending(self.model):
            async for chunk in self._inner.stream(request):
                yield chunk

    async def aclose(self) -> None:
        """The wrapped backend belongs to the router, which closes it."""

    async def _reserve(self) -> None:
        guard = self._guard
        if not await guard.reserve(self.model):
            why = guard.refusal or guard.pacing.reason or "budget exhausted"
            raise BudgetExceededError(f"{why}; the frontier model {self.model} was not called")


def guarded(backends: tuple[Backend, ...], guard: BudgetGuard | None) -> tuple[Backend, ...]:
    """The frontier backends a request may use under its budget: none once it is spent."""
    if guard is None or not guard.has_windows:
        return backends
    if guard.closed:
        return ()
    return tuple(BudgetedBackend(b, guard) for b in backends)
