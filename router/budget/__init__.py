"""Budgets: frontier spending caps per team and app, paced, reserved before a call, settled after.

`BudgetStore` is the seam (pass one to `Router(budget_store=...)`): `MemoryBudgetStore` for one
process and tests, `SqlBudgetStore` in the ledger's database for a fleet. See docs/policies.md.
"""

from typing import TYPE_CHECKING

from router.budget._backend import BudgetedBackend, guarded
from router.budget._guard import BudgetGuard, open_guard
from router.budget._pacing import NO_PACING, Pacing, pacing, raise_threshold
from router.budget._store import BudgetStore, MemoryBudgetStore
from router.budget._windows import Window, windows_for

if TYPE_CHECKING:
    from router.budget._sql import SqlBudgetStore

__all__ = [
    "NO_PACING",
    "BudgetGuard",
    "BudgetStore",
    "BudgetedBackend",
    "MemoryBudgetStore",
    "Pacing",
    "SqlBudgetStore",
    "Window",
    "guarded",
    "open_guard",
    "pacing",
    "raise_threshold",
    "windows_for",
]


def __getattr__(name: str) -> object:
    if name == "SqlBudgetStore":  # SQLAlchemy only when a SQL store is asked for
        from router.budget._sql import SqlBudgetStore  # noqa: PLC0415

        return SqlBudgetStore
    raise AttributeError(f"module 'router.budget' has no attribute {name!r}")
