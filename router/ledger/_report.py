"""Savings reports: what the router spent, what the baseline would have cost, and the difference.

All money is summed in SQL from exact columns and comes back as `Decimal`; `cents()` rounds
for display (ROUND_HALF_EVEN), while `Report.to_dict()` also carries the exact sums as strings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
MAX_LEVELS = 2
KEY_SEPARATOR = " | "


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
    """The figures of one group (or of the whole period, with `key == "total"`).

    `keys` holds the group's value for each grouping dimension (`("2025-01", "local")` for
    `group_by="month,tier"`); `key` is them joined with " | " (the total: `"total"`, `()`)."""

    key: str
    keys: tuple[str, ...] = ()
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
    """Per-group rows (empty when not grouped) and the total over [since, until) of the
    requests the filters keep."""

    group_by: str | None
    """The grouping as given, normalised: `"team"`, `"month,tier"`; None for the total only."""
    since: datetime | None
    until: datetime | None
    rows: tuple[ReportRow, ...]
    total: ReportRow
    learning_spend: Mapping[str, Decimal] = field(default_factory=dict)
    """Shadow comparisons and judging (purpose -> USD): paid to learn, not to answer, so it
    is in none of the rows' spend or savings."""
    filters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Dimension -> the values kept (`{"team": ("support",)}`); empty when all are kept."""

    @property
    def dimensions(self) -> tuple[str, ...]:
        return tuple(self.group_by.split(",")) if self.group_by else ()

    @property
    def learning_spend_usd(self) -> Decimal:
        return sum(self.learning_spend.values(), Decimal(0))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: money rounded to the cent, plus the exact sums as `*_exact` strings."""
        from router.ledger._format import report_dict  # noqa: PLC0415 - _format imports us

        return report_dict(self)


Values = str | Sequence[str] | None


def summarize(
    engine_or_url: Engine | str | None = None,
    since: date | datetime | None = None,
    until: date | datetime | None = None,
    group_by: str | Sequence[str] | None = None,
    *,
    team: Values = None,
    app: Values = None,
    tier: Values = None,
    model: Values = None,
) -> Report:
    """Summarise the ledger over [since, until), optionally grouped by one or two of day, week,
    month, team, app, tier and model (`"month,tier"`), keeping only the requests whose team,
    app, tier and model are among those given (`"(none)"` keeps requests without one)."""
    dimensions = parse_group_by(group_by)
    filters = make_filters(since, until, team=team, app=app, tier=tier, model=model)
    with reading(engine_or_url) as engine:
        try:
            with engine.connect() as conn:
                rows = _rows(conn, dimensions, filters) if dimensions else ()
                totals = _rows(conn, (), filters)
                learning = q.learning_spend(conn, filters)
        except SQLAlchemyError as exc:
            raise read_error(engine, exc) from exc
    total = totals[0] if totals else ReportRow(q.TOTAL)
    grouping = ",".join(dimensions) or None
    kept = {name: values for name in q.DIMENSIONS if (values := getattr(filters, name))}
    return Report(grouping, filters.since, filters.until, rows, total, learning, kept)


def make_filters(
    since: date | datetime | None,
    until: date | datetime | None,
    **dimensions: Values,
) -> q.Filters:
    """The report's filters: a period in UTC and the values kept per dimension."""
    kept = {name: _values(v) for name, v in dimensions.items() if _values(v)}
    return q.Filters(as_utc(since), as_utc(until), **kept)


def parse_group_by(group_by: str | Sequence[str] | None) -> tuple[str, ...]:
    """`"month,tier"` or `("month", "tier")` as a checked tuple; `()` for no grouping."""
    if not group_by:
        return ()
    names = group_by.split(",") if isinstance(group_by, str) else list(group_by)
    dims = tuple(name.strip() for name in names)
    choices = ", ".join(GROUP_BY_CHOICES)
    bad = [d for d in dims if d not in GROUP_BY_CHOICES]
    if bad:
        raise LedgerError(f"cannot group by {bad[0]!r}; use one or two of {choices}")
    if len(dims) > MAX_LEVELS or len(set(dims)) != len(dims):
        raise LedgerError(f"group by one or two different fields of {choices}, e.g. month,tier")
    return dims


def _values(value: Values) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def _rows(
    conn: Connection, dimensions: tuple[str, ...], filters: q.Filters
) -> tuple[ReportRow, ...]:
    from router.ledger._rollup import report_rows  # noqa: PLC0415 - it imports this module

    if (rolled_up := report_rows(conn, dimensions, filters)) is not None:
        return rolled_up
    keys = q.group_keys(dimensions, conn.dialect.name)
    reasons = q.reasons(conn, keys, filters)
    latencies = q.latencies(conn, keys, filters)
    n = q.width(keys)
    out = []
    for r in conn.execute(q.totals_query(keys, filters)).mappings():
        group = tuple(r[f"k{i}"] for i in range(n))
        stats = tuple(
            LatencyStats(tier, *latencies[group][tier]) for tier in sorted(latencies.get(group, {}))
        )
        out.append(
            ReportRow(
                key=KEY_SEPARATOR.join(group),
                keys=group if dimensions else (),
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
