"""What a recorded SQLite ledger row survives once `record()` has returned.

One definition for the policy schema (`ledger.durability`) and the ledger engine (which maps it
to SQLite's `synchronous`), kept apart from both so the policy need not import SQLAlchemy.
"""

from __future__ import annotations

from typing import Literal

Durability = Literal["process-crash", "power-loss"]
DEFAULT_DURABILITY: Durability = "process-crash"
