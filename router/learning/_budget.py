"""The learning budget: what shadow comparisons and pairwise judging may spend per UTC day.

It lives in the router's `BudgetStore` (by default the ledger's database), as a window of its
own (scope `learning`), so it holds across every process sharing the ledger. Each paid call
first reserves its maximum cost; the store admits the reservation only when the window's burn
plus that cost stays under the cap (the window is given the cap minus the cost, and the store's
atomic check-and-add does the rest), so concurrent calls can never overshoot it. The call then
settles what it really cost (its maximum when it may have been billed without an answer).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from router.budget import BudgetStore, Window

log = logging.getLogger("router")
SCOPE = "learning"
ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Reservation:
    window: Window
    amount: Decimal


def learning_window(now: datetime, cap_usd: Decimal) -> Window:
    """Today's (UTC) learning window with the given cap."""
    day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return Window(SCOPE, f"day:{day:%Y-%m-%d}", cap_usd, day + timedelta(days=1))


class LearningBudget:
    """Reserve, then settle, learning spend in a `BudgetStore`. Never raises: a store that
    cannot be reached refuses every paid learning call (fails closed)."""

    def __init__(self, store: BudgetStore) -> None:
        self.store = store

    async def reserve(self, now: datetime, cap_usd: Decimal, amount: Decimal) -> Reservation | None:
        """Hold `amount` in today's window if the spend so far plus `amount` stays below
        `cap_usd`; None when it would not (or the store failed)."""
        if amount >= cap_usd:
            return None
        window = learning_window(now, cap_usd)
        admitting = learning_window(now, cap_usd - amount)  # same key: burn + amount < cap
        try:
            burned = await asyncio.to_thread(self.store.reserve, [admitting], amount)
        except Exception as exc:  # the store is down: no spend we cannot account for
            log.warning("learning budget store unavailable (%s); no paid call", type(exc).__name__)
            return None
        return None if burned is None else Reservation(window, amount)

    async def settle(self, reservation: Reservation, spent: Decimal) -> None:
        """Replace the reservation with what the call cost."""
        try:
            await asyncio.to_thread(
                self.store.settle, [reservation.window], reservation.amount, spent
            )
        except Exception:
            log.exception("learning budget settlement failed; the reservation lapses tomorrow")

    def spent_today(self, now: datetime) -> Decimal:
        """Spent plus reserved today (for reports and tests)."""
        return self.store.burned([learning_window(now, Decimal(1))])[0]
