"""Savings reports: what the router spent, what the baseline would have cost, and the difference.

All money is summed in SQL from exact columns and comes back as `Decimal`; `cents()` rounds
for display (ROUND_HALF_EVEN), while `Report.to_dict()` also carries the exact sums as strings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal, get_args

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from router.errors import LedgerError
from router.ledger import _report_sql as q
from router.ledger._access import as_utc, read_error, reading

GroupBy = Literal["day", "week", "month", "team", "app", "model", "tier"]
GROUP_BY_CHOICES: tuple[str, ...] = get_args(GroupBy)


@dataclass(frozen=True, slots=True)
class LatencyStats:
    """Request latency of one tier: p50/p95 interpolated as SQL's `percentile_cont` does;
    `estimated` when read from the rollup's histogram (within 1%, router/ledger/_rollup.py)."""

    tier: str
    count: int
    p50_ms: float
    p95_ms: float
    estimated: bool = False


@dataclass(frozen=True, slots=True)
class ReportRow:
    """The figures of one group (or of the whole period, with `key == "total"`)."""

    key: str
    requests: int = 0
    local_requests: int = 0
    escalated: int = 0
    verification_failures: int = 0
    errors: int = 0
    baseline_estimated: int = 0
    cost_usd: Decimal = Decimal(0)
    baseline_cost_usd: Decimal = Decimal(0)
    savings_usd: Decimal = Decimal(0)
    local_cost_usd: Decimal = Decimal(0)
    escalation_reasons: Mapping[str, int] = field(default_factory=dict)
    latency: tuple[LatencyStats, ...] = ()

    @property
    def local_share(self) -> float | None:
        return self.local_requests / self.requests if self.requests else None

    @property
    def escalation_rate(self) -> float | None:
        return self.escalated / self.requests if self.requests else None

    @property
    def savings_pct(self) -> Decimal | None:
        """Savings as a percentage of the baseline spend."""
        if not self.baseline_cost_usd:
            return None
        return self.savings_usd * 100 / self.baseline_cost_usd

    @property
    def cost_per_1k_usd(self) -> Decimal | None:
        return self.cost_usd * 1000 / self.requests if self.requests else None

    def latency_of(self, tier: str) -> LatencyStats | None:
        return next((s for s in self.latency if s.tier == tier), None)


@dataclass(frozen=True, slots=True)
class Report:
    """Per-group rows (empty when not grouped) and the total over [since, until)."""

    group_by: GroupBy | None
    since: datetime | None
    until: datetime | None
    rows: tuple[ReportRow, ...]
    total: ReportRow
    learning_spend: Mapping[str, Decimal] = field(default_factory=dict)
    """Shadow comparisons and judging (purpose -> USD): paid to learn, not to answer, so it
    is in none of the rows' spend or savings."""

    @property
    def learning_spend_usd(self) -> Decimal:
        return sum(self.learning_spend.values(), Decimal(0))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: money rounded to the cent, plus the exact sums as `*_exact` strings."""
        from router.ledger._format import report_dict  # noqa: PLC0415 - _format imports us

        return report_dict(self)


def summarize(
    engine_or_url: Engine | str | None = None,
    since: date | datetime | None = None,
    until: date | datetime | None = None,
    group_by: GroupBy | None = None,
) -> Report:
    """Summarise the ledger over [since, until), optionally grouped by time or a dimension."""
    if group_by is not None and group_by not in GROUP_BY_CHOICES:
        raise LedgerError(f"cannot group by {group_by!r}; use one of {', '.join(GROUP_BY_CHOICES)}")
    window = q.Window(as_utc(since), as_utc(until))
    with reading(engine_or_url) as engine:
        try:
            with engine.connect() as conn:
                rows = _rows(conn, group_by, window) if group_by else ()
                totals = _rows(conn, None, window)
                learning = q.learning_spend(conn, window)
        except SQLAlchemyError as exc:
            raise read_error(engine, exc) from exc
    total = totals[0] if totals else ReportRow(q.TOTAL)
    return Report(group_by, window.since, window.until, rows, total, learning)


def _rows(conn: Connection, group_by: str | None, window: q.Window) -> tuple[ReportRow, ...]:
    from router.ledger._rollup import report_rows  # noqa: PLC0415 - it imports this module

    if (rolled_up := report_rows(conn, group_by, window)) is not None:
        return rolled_up
    key = q.group_key(group_by, conn.dialect.name)
    reasons = q.reasons(conn, key, window)
    latencies = q.latencies(conn, key, window)
    out = []
    for r in conn.execute(q.totals_query(key, window)).mappings():
        group = r["key"]
        stats = tuple(
            LatencyStats(tier, *latencies[group][tier]) for tier in sorted(latencies.get(group, {}))
        )
        out.append(
            ReportRow(
                key=group,
                requests=int(r["requests"]),
                local_requests=int(r["local_requests"]),
                escalated=int(r["escalated"]),
                verification_failures=int(r["verification_failures"]),
                errors=int(r["errors"]),
                baseline_estimated=int(r["baseline_estimated"]),
                cost_usd=q.as_decimal(r["cost_usd"]),
                baseline_cost_usd=q.as_decimal(r["baseline_cost_usd"]),
                savings_usd=q.as_decimal(r["savings_usd"]),
                local_cost_usd=q.as_decimal(r["local_cost_usd"]),
                escalation_reasons=dict(sorted(reasons.get(group, {}).items())),
                latency=stats,
            )
        )
    return tuple(out)
