"""The report's SQL: one GROUP BY for counts and money, one for escalation reasons, one for
latency percentiles (`percentile_cont` on PostgreSQL, an ordered scan on SQLite)."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    case,
    func,
    literal_column,
    select,
)

from router.ledger._schema import LearningAttemptRow
from router.ledger._schema import RequestRow as R

PERCENTILES = (0.5, 0.95)
NONE_LABEL = "(none)"
TOTAL = "total"
_TIME_FORMATS = {
    "sqlite": {"day": "%Y-%m-%d", "month": "%Y-%m"},
    "postgresql": {"day": "YYYY-MM-DD", "week": "YYYY-MM-DD", "month": "YYYY-MM"},
}


@dataclass(frozen=True, slots=True)
class Window:
    """Which rows a query covers: `since` inclusive, `until` exclusive."""

    since: datetime | None
    until: datetime | None

    def where(self) -> list[ColumnElement[bool]]:
        conds = []
        if self.since is not None:
            conds.append(R.created_at >= self.since)
        if self.until is not None:
            conds.append(R.created_at < self.until)
        return conds


Key = ColumnElement[Any] | None


def group_key(group_by: str | None, dialect: str) -> Key:
    """The SQL expression whose value names a row's group; None for the overall total."""
    if group_by is None:
        return None
    if group_by in ("team", "app", "model", "tier"):
        return func.coalesce(getattr(R, group_by), NONE_LABEL)
    if dialect == "postgresql":
        utc = func.timezone("UTC", R.created_at)
        return func.to_char(func.date_trunc(group_by, utc), _TIME_FORMATS[dialect][group_by])
    if group_by == "week":  # ISO weeks, keyed by their Monday
        return func.date(R.created_at, "weekday 0", "-6 days")
    return func.strftime(_TIME_FORMATS[dialect][group_by], R.created_at)


def _count_if(cond: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)


def _label(key: Key) -> ColumnElement[Any]:
    return (literal_column(f"'{TOTAL}'") if key is None else key).label("key")


def _by(key: Key, *more: Any) -> list[Any]:
    return [*([] if key is None else [key]), *more]


def totals_query(key: Key, window: Window) -> Select[Any]:
    return (
        select(
            _label(key),
            func.count().label("requests"),
            _count_if(R.tier == "local").label("local_requests"),
            func.count(R.escalation_reason).label("escalated"),
            _count_if(R.verification == "failed").label("verification_failures"),
            _count_if(R.status == "error").label("errors"),
            _count_if(R.baseline_estimated.is_(True)).label("baseline_estimated"),
            func.sum(R.cost_usd).label("cost_usd"),
            func.sum(R.baseline_cost_usd).label("baseline_cost_usd"),
            func.sum(R.savings_usd).label("savings_usd"),
            func.sum(R.local_cost_usd).label("local_cost_usd"),
        )
        .where(*window.where())
        .group_by(*_by(key))
        .order_by(*_by(key))
    )


def reasons(conn: Connection, key: Key, window: Window) -> dict[str, dict[str, int]]:
    stmt = (
        select(_label(key), R.escalation_reason, func.count())
        .where(R.escalation_reason.is_not(None), *window.where())
        .group_by(*_by(key, R.escalation_reason))
    )
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for group, reason, count in conn.execute(stmt):
        out[group][reason] = count
    return out


LatencyMap = Mapping[str, Mapping[str, tuple[int, float, float]]]


def latencies(conn: Connection, key: Key, window: Window) -> LatencyMap:
    """{group: {tier: (count, p50_ms, p95_ms)}}, interpolated like SQL's percentile_cont."""
    if conn.dialect.name == "postgresql":
        return _latencies_postgres(conn, key, window)
    return _latencies_scan(conn, key, window)


def _latencies_postgres(conn: Connection, key: Key, window: Window) -> LatencyMap:
    p50, p95 = (func.percentile_cont(p).within_group(R.latency_ms) for p in PERCENTILES)
    stmt = (
        select(_label(key), R.tier, func.count(), p50, p95)
        .where(R.tier.is_not(None), *window.where())
        .group_by(*_by(key, R.tier))
    )
    out: dict[str, dict[str, tuple[int, float, float]]] = defaultdict(dict)
    for group, tier, count, v50, v95 in conn.execute(stmt):
        out[group][tier] = (count, float(v50), float(v95))
    return out


def _latencies_scan(conn: Connection, key: Key, window: Window) -> LatencyMap:
    """SQLite has no percentile function: count each (group, tier), then read its latencies in
    order (an index-only scan of ix_requests_tier_latency for the total) and keep the values
    at the ranks the percentiles need."""
    part = _by(key, R.tier)
    where = (R.tier.is_not(None), *window.where())
    counts = select(_label(key), R.tier, func.count()).where(*where).group_by(*part)
    sizes = {(group, tier): n for group, tier, n in conn.execute(counts)}
    ordered = select(_label(key), R.tier, R.latency_ms).where(*where).order_by(*part, R.latency_ms)
    out: dict[str, dict[str, tuple[int, float, float]]] = defaultdict(dict)
    rows = conn.execute(ordered)
    for (group, tier), items in itertools.groupby(rows, key=lambda r: (r[0], r[1])):
        n = sizes[(group, tier)]
        ranks = {int(p * (n - 1)) + step for p in PERCENTILES for step in (0, 1)}
        values = {i: row[2] for i, row in enumerate(items) if i in ranks}
        v50, v95 = (_interpolate(values, n, p) for p in PERCENTILES)
        out[group][tier] = (n, v50, v95)
    return out


def _interpolate(ordered: Mapping[int, float], n: int, p: float) -> float:
    rank = p * (n - 1)
    low = int(rank)
    if low + 1 >= n:
        return ordered[low]
    return ordered[low] + (ordered[low + 1] - ordered[low]) * (rank - low)


def as_decimal(value: Decimal | None) -> Decimal:
    return Decimal(0) if value is None else value


def learning_spend(conn: Connection, window: Window) -> dict[str, Decimal]:
    """Learning spend per purpose (shadow, judge) made in the window (router/learning)."""
    a = LearningAttemptRow
    query = select(a.purpose, func.sum(a.cost_usd)).group_by(a.purpose).order_by(a.purpose)
    if window.since is not None:
        query = query.where(a.created_at >= window.since)
    if window.until is not None:
        query = query.where(a.created_at < window.until)
    return {purpose: as_decimal(total) for purpose, total in conn.execute(query)}
