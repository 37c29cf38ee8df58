"""The `BudgetStore` seam, and `MemoryBudgetStore`, the in-process implementation and test fake.

A store keeps, per window, what was spent and what is reserved by requests in flight. `reserve`
is all-or-nothing and admits a request only while every window is below its cap, so however many
requests race, a cap is overshot by at most one request's reservation.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from decimal import Decimal
from typing import Protocol, runtime_checkable

from router.budget._windows import Window

ZERO = Decimal(0)


@runtime_checkable
class BudgetStore(Protocol):
    """Where budget burn lives. Methods block; the router calls them from a worker thread."""

    def burned(self, windows: Sequence[Window]) -> tuple[Decimal, ...]:
        """Spent plus reserved, per window, in the order given."""
        ...

    def reserve(self, windows: Sequence[Window], amount: Decimal) -> tuple[Decimal, ...] | None:
        """If every window is below its cap, add `amount` to each window's reservations and
        return the new burn per window; otherwise change nothing and return None. Atomic."""
        ...

    def settle(
        self, windows: Sequence[Window], reserved: Decimal, spent: Decimal
    ) -> tuple[Decimal, ...]:
        """Release `reserved` and add `spent` in each window; return the new burn per window."""
        ...

    def close(self) -> None: ...


class MemoryBudgetStore:
    """A `BudgetStore` in a dict, for one process: tests, and routers without a shared ledger."""

    __test__ = False

    def __init__(self) -> None:
        self._spent: dict[tuple[str, str], Decimal] = {}
        self._reserved: dict[tuple[str, str], Decimal] = {}
        self._lock = threading.Lock()

    def spent(self, window: Window) -> Decimal:
        with self._lock:
            return self._spent.get(window.key, ZERO)

    def reserved(self, window: Window) -> Decimal:
        with self._lock:
            return self._reserved.get(window.key, ZERO)

    def burned(self, windows: Sequence[Window]) -> tuple[Decimal, ...]:
        with self._lock:
            return self._burned(windows)

    def reserve(self, windows: Sequence[Window], amount: Decimal) -> tuple[Decimal, ...] | None:
        with self._lock:
            if any(b >= w.cap_usd for w, b in zip(windows, self._burned(windows), strict=True)):
                return None
            for w in windows:
                self._reserved[w.key] = self._reserved.get(w.key, ZERO) + amount
            return self._burned(windows)

    def settle(
        self, windows: Sequence[Window], reserved: Decimal, spent: Decimal
    ) -> tuple[Decimal, ...]:
        with self._lock:
            for w in windows:
                self._reserved[w.key] = max(ZERO, self._reserved.get(w.key, ZERO) - reserved)
                self._spent[w.key] = self._spent.get(w.key, ZERO) + spent
            return self._burned(windows)

    def close(self) -> None:
        return None

    def _burned(self, windows: Sequence[Window]) -> tuple[Decimal, ...]:
        return tuple(
            self._spent.get(w.key, ZERO) + self._reserved.get(w.key, ZERO) for w in windows
        )
