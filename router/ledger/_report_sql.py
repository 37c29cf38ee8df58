"""The report's SQL: one GROUP BY for counts and money, one for escalation reasons, one for
latency percentiles (`percentile_cont` on PostgreSQL, an ordered scan on SQLite)."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Mapping, Sequence
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
    or_,
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


DIMENSIONS = ("team", "app", "tier", "model")


@dataclass(frozen=True, slots=True)
class Filters:
    """Which requests a report covers: `since` inclusive, `until` exclusive, and for each
    dimension the values kept (empty: all; `(none)` selects rows without a value).

    Every query of the report applies `where()`, so a filter narrows each figure alike."""

    since: datetime | None = None
    until: datetime | None = None
    team: tuple[str, ...] = ()
    app: tuple[str, ...] = ()
    tier: tuple[str, ...] = ()
    model: tuple[str, ...] = ()

    def where(self) -> list[ColumnElement[bool]]:
        conds = []
        if self.since is not None:
            conds.append(R.created_at >= self.since)
        if self.until is not None:
            conds.append(R.created_at < self.until)
        return conds + _one_of_each(self)

    @property
    def by_dimension(self) -> bool:
        """True when a dimension (not only the period) is filtered."""
        return any(getattr(self, name) for name in DIMENSIONS)


Window = Filters  # the name the report's queries had before filters


def _one_of(column: Any, values: tuple[str, ...]) -> ColumnElement[bool]:
    named = [v for v in values if v != NONE_LABEL]
    conds = [column.in_(named)] if named else []
    if NONE_LABEL in values:
        conds.append(column.is_(None))
    return or_(*conds)


Keys = tuple[ColumnElement[Any], ...]
Group = tuple[str, ...]
"""A group's name: one value per grouping dimension, `("total",)` for the ungrouped total."""


def group_keys(dimensions: Sequence[str], dialect: str) -> Keys:
    """The SQL expressions whose values name a row's group; `()` for the overall total."""
    return tuple(_group_key(name, dialect) for name in dimensions)


def _group_key(group_by: str, dialect: str) -> ColumnElement[Any]:
    if group_by in DIMENSIONS:
        return func.coalesce(getattr(R, group_by), NONE_LABEL)
    if dialect == "postgresql":
        utc = func.timezone("UTC", R.created_at)
        return func.to_char(func.date_trunc(group_by, utc), _TIME_FORMATS[dialect][group_by])
    if group_by == "week":  # ISO weeks, keyed by their Monday
        return func.date(R.created_at, "weekday 0", "-6 days")
    return func.strftime(_TIME_FORMATS[dialect][group_by], R.created_at)


def _count_if(cond: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)


def _labels(keys: Keys) -> list[ColumnElement[Any]]:
    if not keys:
        return [literal_column(f"'{TOTAL}'").label("k0")]
    return [key.label(f"k{i}") for i, key in enumerate(keys)]


def width(keys: Keys) -> int:
    """How many leading columns of a result row name its group."""
    return max(1, len(keys))


def _by(keys: Keys, *more: Any) -> list[Any]:
    return [*keys, *more]


def totals_query(keys: Keys, filters: Filters) -> Select[Any]:
    return (
        select(
            *_labels(keys),
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
        .where(*filters.where())
        .group_by(*_by(keys))
        .order_by(*_by(keys))
    )


def reasons(conn: Connection, keys: Keys, filters: Filters) -> dict[Group, dict[str, int]]:
    stmt = (
        select(*_labels(keys), R.escalation_reason, func.count())
        .where(R.escalation_reason.is_not(None), *filters.where())
        .group_by(*_by(keys, R.escalation_reason))
    )
    n = width(keys)
    out: dict[Group, dict[str, int]] = defaultdict(dict)
    for row in conn.execute(stmt):
        out[tuple(row[:n])][row[n]] = row[n + 1]
    return out


LatencyMap = Mapping[Group, Mapping[str, tuple[int, float, float]]]


def latencies(conn: Connection, keys: Keys, filters: Filters) -> LatencyMap:
    """{group: {tier: (count, p50_ms, p95_ms)}}, interpolated like SQL's percentile_cont."""
    if conn.dialect.name == "postgresql":
        return _latencies_postgres(conn, keys, filters)
    return _latencies_scan(conn, keys, filters)


def _latencies_postgres(conn: Connection, keys: Keys, filters: Filters) -> LatencyMap:
    p50, p95 = (func.percentile_cont(p).within_group(R.latency_ms) for p in PERCENTILES)
    stmt = (
        select(*_labels(keys), R.tier, func.count(), p50, p95)
        .where(R.tier.is_not(None), *filters.where())
        .group_by(*_by(keys, R.tier))
    )
    n = width(keys)
    out: dict[Group, dict[str, tuple[int, float, float]]] = defaultdict(dict)
    for row in conn.execute(stmt):
        tier, count, v50, v95 = row[n:]
        out[tuple(row[:n])][tier] = (count, float(v50), float(v95))
    return out


def _latencies_scan(conn: Connection, keys: Keys, filters: Filters) -> LatencyMap:
    """SQLite has no percentile function: count each (group, tier), then read its latencies in
    order (an index-only scan of ix_requests_tier_latency for the total) and keep the values
    at the ranks the percentiles need."""
    part = _by(keys, R.tier)
    where = (R.tier.is_not(None), *filters.where())
    n = width(keys)
    counts = select(*_labels(keys), R.tier, func.count()).where(*where).group_by(*part)
    sizes = {tuple(row[: n + 1]): row[n + 1] for row in conn.execute(counts)}
    ordered = (
        select(*_labels(keys), R.tier, R.latency_ms).where(*where).order_by(*part, R.latency_ms)
    )
    out: dict[Group, dict[str, tuple[int, float, float]]] = defaultdict(dict)
    rows = conn.execute(ordered)
    for group_tier, items in itertools.groupby(rows, key=lambda r: tuple(r[: n + 1])):
        size = sizes[group_tier]
        ranks = {int(p * (size - 1)) + step for p in PERCENTILES for step in (0, 1)}
        values = {i: row[n + 1] for i, row in enumerate(items) if i in ranks}
        v50, v95 = (_interpolate(values, size, p) for p in PERCENTILES)
        out[group_tier[:n]][group_tier[n]] = (size, v50, v95)
    return out


def _interpolate(ordered: Mapping[int, float], n: int, p: float) -> float:
    rank = p * (n - 1)
    low = int(rank)
    if low + 1 >= n:
        return ordered[low]
    return ordered[low] + (ordered[low + 1] - ordered[low]) * (rank - low)


def as_decimal(value: Decimal | None) -> Decimal:
    return Decimal(0) if value is None else value


def learning_spend(conn: Connection, filters: Filters) -> dict[str, Decimal]:
    """Learning spend per purpose (shadow, judge) made in the period (router/learning); with a
    dimension filter, only that spent on learning from the requests the filter keeps."""
    a = LearningAttemptRow
    query = select(a.purpose, func.sum(a.cost_usd)).group_by(a.purpose).order_by(a.purpose)
    if filters.since is not None:
        query = query.where(a.created_at >= filters.since)
    if filters.until is not None:
        query = query.where(a.created_at < filters.until)
    if filters.by_dimension:  # the request may predate the period: a shadow can come later
        kept = select(R.request_id).where(*_one_of_each(filters))
        query = query.where(a.request_id.in_(kept))
    return {purpose: as_decimal(total) for purpose, total in conn.execute(query)}


def _one_of_each(filters: Filters) -> list[ColumnElement[bool]]:
    return [
        _one_of(getattr(R, name), values)
        for name in DIMENSIONS
        if (values := getattr(filters, name))
    ]
