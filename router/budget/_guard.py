"""`BudgetGuard`: one request's budget, from the first look to the final settlement.

1. `open_guard` reads the burn of the request's windows and turns it into `pacing`.
2. `reserve(model)` reserves the request's maximum cost on `model` before the first frontier
   call: its prompt at an upper bound no byte-level tokenizer exceeds (UTF-8 bytes plus
   overhead, not our tiktoken estimate: providers count differently) and its output at the
   `max_tokens` sent (the caller's, else `limits.max_output_tokens`), at the model's price; a
   dearer fallback tops it up. Usage reported beyond that is flagged `over_reservation`.
3. `settle(attempts)` replaces the reservation with what the frontier attempts cost; a failed
   attempt that may have been billed counts at its maximum. Nothing spent releases it all.
4. `abandon(attempts)` settles a request that ended without an outcome (cancelled, or a stream
   the caller closed): as `settle`, plus the maximum cost of any frontier call still in flight
   (`sending`), since it may have been sent and billed. With none in flight, the unspent
   reservation is released rather than held until the window ends.

A store that cannot be reached fails closed for the frontier (the request stays local, with
the reason) and never blocks local traffic.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from router._completion import Decision
from router._records import AttemptRecord
from router.backends._usage import prompt_token_bound
from router.budget._pacing import NO_PACING, Pacing, pacing
from router.budget._store import ZERO, BudgetStore
from router.budget._windows import Window, windows_for

if TYPE_CHECKING:
    from router._request import RoutedRequest
    from router.pricing import PriceTable
    from router.telemetry import Telemetry

log = logging.getLogger("router")
MaxCost = Callable[[str], Decimal]
Burn = tuple[Decimal, ...]


class BudgetGuard:
    """The budget of one request. Without windows (no cap applies) every step is a no-op."""

    def __init__(
        self,
        store: BudgetStore | None,
        windows: Sequence[Window],
        max_cost: MaxCost,
        *,
        team: str | None = None,
        telemetry: Telemetry | None = None,
    ) -> None:
        self._store = store if windows else None
        self._windows = tuple(windows)
        self._max_cost = max_cost
        self._team, self._telemetry = team, telemetry
        self.pacing: Pacing = NO_PACING
        self.reserved = ZERO
        self.refusal: str | None = None
        self._sending: list[str] = []  # frontier models called and not yet answered or failed

    @property
    def has_windows(self) -> bool:
        return self._store is not None

    @property
    def closed(self) -> bool:
        """True once no frontier call may be made: exhausted at the start or refused since."""
        return self.pacing.exhausted or self.refusal is not None

    async def assess(self, pace_from: float) -> Pacing:
        if self._store is None:
            return self.pacing
        try:
            burned = await asyncio.to_thread(self._store.burned, self._windows)
        except Exception as exc:  # any store failure: no frontier spend we cannot account for
            log.warning("budget store unavailable (%s); frontier calls paused", type(exc).__name__)
            self.pacing = Pacing(1.0, True, "budget store unavailable: local only")
            return self.pacing
        self.pacing = pacing(self._windows, burned, pace_from)
        return self.pacing

    async def reserve(self, model: str) -> bool:
        """Hold this request's maximum cost on `model`; False (and `refusal` set) at a cap."""
        if self._store is None:
            return True
        if self.closed:
            return False
        needed = self._max_cost(model) - self.reserved
        if needed <= ZERO:
            return True
        call = asyncio.ensure_future(asyncio.to_thread(self._store.reserve, self._windows, needed))
        try:
            burned = await asyncio.shield(call)
        except asyncio.CancelledError:
            await self._undo(call, needed)
            raise
        except Exception as exc:
            log.warning("budget reservation failed (%s); staying local", type(exc).__name__)
            burned = None
        if burned is None:
            self.refusal = "budget exhausted: a cap was reached while this request was routed"
            return False
        self.reserved += needed
        self._report(burned)
        return True

    async def settle(self, attempts: Sequence[AttemptRecord]) -> None:
        """Replace the reservation with the frontier spend of `attempts`."""
        await self._settle(self.frontier_spend(attempts))

    async def abandon(self, attempts: Sequence[AttemptRecord]) -> None:
        """Settle a request that ended without an outcome: what `attempts` spent, plus the
        maximum cost of each frontier call still in flight (it may have been sent)."""
        in_flight = sum((self._max_cost(model) for model in self._sending), ZERO)
        if self._sending:
            log.info("request abandoned with %d frontier call(s) in flight", len(self._sending))
        self._sending.clear()
        await self._settle(self.frontier_spend(attempts) + in_flight)

    async def _settle(self, spent: Decimal) -> None:
        if self._store is None or (self.reserved == ZERO and spent == ZERO):
            return
        try:
            burned = await asyncio.to_thread(
                self._store.settle, self._windows, self.reserved, spent
            )
        except Exception:
            log.exception("budget settlement failed; the reservation lapses with its window")
            return
        self.reserved = ZERO
        self._report(burned)

    @contextmanager
    def sending(self, model: str) -> Iterator[None]:
        """Mark a frontier call in flight for the block. It stays marked when the block is left
        by cancellation or an early close (not an `Exception`): `abandon` then counts it."""
        self._sending.append(model)
        try:
            yield
        except Exception:
            self._sending.remove(model)
            raise
        self._sending.remove(model)

    async def _undo(self, call: asyncio.Future[Burn | None], amount: Decimal) -> None:
        """A reservation cancelled while the store made it: the store call runs on, so wait for
        it and release what it reserved (no call was made with it)."""
        store = self._store
        try:
            if await call is not None and store is not None:
                await asyncio.to_thread(store.settle, self._windows, amount, ZERO)
        except Exception:
            log.exception("budget release failed; the reservation lapses with its window")

    def frontier_spend(self, attempts: Sequence[AttemptRecord]) -> Decimal:
        spend = ZERO
        for attempt in attempts:
            if attempt.tier != "frontier":
                continue
            spend += self._max_cost(attempt.model) if attempt.possibly_billed else attempt.cost_usd
        return spend

    def annotate(self, decision: Decision) -> Decision:
        """The decision with the budget's reason added, when the budget changed anything."""
        reason = self.refusal or (self.pacing.reason if self.pacing.active else "")
        if not reason or reason in decision.reason:
            return decision
        return replace(decision, reason=f"{decision.reason}; {reason}")

    def refused(self, decision: Decision) -> Decision:
        """A frontier decision turned local because its reservation was refused."""
        reason = f"{decision.reason}; {self.refusal}"
        return Decision("local", "budget", decision.score, decision.threshold, reason)

    def _report(self, burned: Sequence[Decimal]) -> None:
        if self._telemetry is None or self._team is None:
            return
        scope = f"team:{self._team}"
        fractions = [
            float(b / w.cap_usd)
            for w, b in zip(self._windows, burned, strict=True)
            if w.scope == scope
        ]
        if fractions:
            self._telemetry.budget_burn(self._team, max(fractions))


async def open_guard(
    store: BudgetStore | None,
    request: RoutedRequest,
    now: datetime,
    prices: PriceTable,
    telemetry: Telemetry | None = None,
) -> BudgetGuard:
    """The request's guard, already assessed (pacing known)."""
    policy = request.policy
    budgets = policy.budgets
    windows = windows_for(budgets, request.team, request.app, now) if store else ()
    max_tokens = request.max_tokens or policy.limits.max_output_tokens
    sent = request.frontier_messages or request.messages
    prompt_bound = max(prompt_token_bound(request.messages), prompt_token_bound(sent))

    def max_cost(model: str) -> Decimal:
        return prices.cost(model, prompt_bound, max_tokens)

    guard = BudgetGuard(store, windows, max_cost, team=request.team, telemetry=telemetry)
    await guard.assess(budgets.pace_from)
    return guard
