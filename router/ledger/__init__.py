"""The savings ledger: one auditable row per routed request, and the reports built on it.

Write side: `open_ledger()` returns a `SQLLedger` (SQLite by default, PostgreSQL for a fleet)
whose `record()` is durable on return and never raises. Read side: `summarize()` for reports,
`verify()` for reconciliation. Nothing here imports litellm.
"""

from __future__ import annotations

from router.ledger._engine import default_ledger_url
from router.ledger._ledger import Ledger, SQLLedger, open_ledger
from router.ledger._migrate import current_revision, downgrade, head_revision, upgrade
from router.ledger._outbox import DrainResult, Outbox
from router.ledger._report import GroupBy, LatencyStats, Report, ReportRow, summarize
from router.ledger._verify import Problem, VerifyResult, verify

__all__ = [
    "DrainResult",
    "GroupBy",
    "LatencyStats",
    "Ledger",
    "Outbox",
    "Problem",
    "Report",
    "ReportRow",
    "SQLLedger",
    "VerifyResult",
    "current_revision",
    "default_ledger_url",
    "downgrade",
    "head_revision",
    "open_ledger",
    "summarize",
    "upgrade",
    "verify",
]
