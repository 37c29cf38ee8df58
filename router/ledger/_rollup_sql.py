"""The rollup's SQL: report queries over `report_rollup` / `report_latency`, the PostgreSQL
fold of appended batch sums into compacted rows, and the raw-row aggregate `verify` compares
the rollup with. The tables and the triggers that fill them are migration 0006's."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import (
    Date,
    Integer,
    Select,
    case,
    cast,
    delete,
    func,
    insert,
    literal_column,
    select,
    text,
)
from sqlalchemy.sql.elements import ColumnElement, TextClause

from router.ledger._report_sql import NONE_LABEL, TOTAL, Window
from router.ledger._schema import LatencyRow as L
from router.ledger._schema import RequestRow as R
from router.ledger._schema import RollupRow as U

DIMENSIONS = ("team", "app", "tier", "model")
TIME_GROUPS = ("day", "week", "month")
BUCKET_RATIO = 1.02  # bucket b holds latencies in [1.02^b, 1.02^(b+1)) ms
SMALLEST_MS = 0.001  # lower latencies share the bucket of 0.001 ms
COUNTS = ("requests", "errors", "verification_failures", "baseline_estimated", "prompt_tokens")
MONEY = ("cost_usd", "baseline_cost_usd", "savings_usd", "local_cost_usd")
Table = type[U] | type[L]


LATENCY_DIMS = ("team", "app", "model")  # report_latency.dim; tier is a column of its own


@dataclass(frozen=True, slots=True)
class Plan:
    """What one rollup read covers: a grouping, whole UTC days, and equality filters."""

    group_by: str | None
    first_day: date | None
    end_day: date | None  # exclusive
    filters: Mapping[str, str | None]

    @property
    def latency_dim(self) -> str:
        """The `report_latency.dim` this report reads (its grouping or filter, else model)."""
        wanted = {d for d in (self.group_by, *self.filters) if d in LATENCY_DIMS}
        return wanted.pop() if wanted else "model"

    def key(self, table: Table) -> ColumnElement[Any]:
        if self.group_by is None:
            return literal_column(f"'{TOTAL}'")
        if self.group_by in TIME_GROUPS:
            return table.day.expression
        return func.coalesce(func.nullif(_column(table, self.group_by), ""), NONE_LABEL)

    def by(self, key: ColumnElement[Any], *more: Any) -> list[Any]:
        """GROUP BY terms: the same `key` object as selected, so PostgreSQL sees one
        expression (a second copy would bind its own parameters and not match)."""
        return [*([] if self.group_by is None else [key]), *more]

    def where(self, table: Table) -> list[ColumnElement[bool]]:
        conds = [_column(table, d) == (v or "") for d, v in self.filters.items()]
        if table is L:
            conds.append(L.dim == self.latency_dim)
        if self.first_day is not None:
            conds.append(table.day >= self.first_day)
        if self.end_day is not None:
            conds.append(table.day < self.end_day)
        return conds


def _column(table: Table, dim: str) -> Any:
    """A dimension's column; in report_latency team, app and model are all `value`."""
    return L.value if table is L and dim != "tier" else getattr(table, dim)


def whole_day(moment: datetime | None) -> date | bool | None:
    """The date of a midnight-UTC bound, None for no bound, False if it is mid-day."""
    if moment is None:
        return None
    return moment.date() if moment.timetz().replace(tzinfo=None) == time(0) else False


def plan_for(
    group_by: str | None, window: Window, filters: Mapping[str, str | None]
) -> Plan | None:
    """A Plan when the rollup answers this report, else None (read the rows): whole-day
    bounds, a grouping and filters on its dimensions, and at most one of team, app and model
    among them (the latency histograms are kept per one of those)."""
    first, end = whole_day(window.since), whole_day(window.until)
    if first is False or end is False or not set(filters) <= set(DIMENSIONS):
        return None
    if group_by is not None and group_by not in (*TIME_GROUPS, *DIMENSIONS):
        return None
    if len({d for d in (group_by, *filters) if d in LATENCY_DIMS}) > 1:
        return None
    assert not isinstance(first, bool) and not isinstance(end, bool)
    return Plan(group_by, first, end, dict(filters))


def totals(plan: Plan) -> Select[Any]:
    key = plan.key(U)
    return (
        select(
            key.label("key"),
            func.sum(U.requests).label("requests"),
            func.sum(case((U.tier == "local", U.requests), else_=0)).label("local_requests"),
            func.sum(case((U.reason != "", U.requests), else_=0)).label("escalated"),
            *(func.sum(getattr(U, c)).label(c) for c in COUNTS[1:] + MONEY),
        )
        .where(*plan.where(U))
        .group_by(*plan.by(key))
        .order_by(*plan.by(key))
    )


def reasons(plan: Plan) -> Select[Any]:
    key = plan.key(U)
    return (
        select(key.label("key"), U.reason, func.sum(U.requests))
        .where(U.reason != "", *plan.where(U))
        .group_by(*plan.by(key, U.reason))
    )


def histogram(plan: Plan) -> Select[Any]:
    key = plan.key(L)
    return (
        select(key.label("key"), L.tier, L.bucket, func.sum(L.requests))
        .where(*plan.where(L))
        .group_by(*plan.by(key, L.tier, L.bucket))
        .order_by(*plan.by(key, L.tier, L.bucket))
    )


# -- PostgreSQL: fold appended batch sums into the compacted rows ----------------------------

_ROLLUP_KEY = ("day", *DIMENSIONS, "reason")
_LATENCY_KEY = ("dim", "day", "value", "tier", "bucket")
FOLD_LOCK_KEY = 0x726F6C6C7570  # "rollup": one folder at a time; the others just read


def _fold(table: str, key: tuple[str, ...], amounts: tuple[str, ...]) -> TextClause:
    names, sums = ", ".join(key), ", ".join(f"sum({a})" for a in amounts)
    added = ", ".join(f"{a} = {table}.{a} + excluded.{a}" for a in amounts)
    return text(
        f"WITH moved AS (DELETE FROM {table} WHERE NOT compacted RETURNING *) "  # noqa: S608
        f"INSERT INTO {table} (compacted, {names}, {', '.join(amounts)}) "
        f"SELECT true, {names}, {sums} FROM moved GROUP BY {names} "
        f"ON CONFLICT ({names}) WHERE compacted DO UPDATE SET {added}"
    )


FOLDS = (
    _fold("report_rollup", _ROLLUP_KEY, COUNTS + MONEY),
    _fold("report_latency", _LATENCY_KEY, ("requests",)),
)
TRY_FOLD_LOCK = text("SELECT pg_try_advisory_xact_lock(:k)").bindparams(k=FOLD_LOCK_KEY)


# -- verification: the same sums, straight from the rows --------------------------------------


def _raw_day(dialect: str) -> ColumnElement[Any]:
    if dialect == "postgresql":
        return cast(func.timezone("UTC", R.created_at), Date)
    return func.date(R.created_at)


def _raw_dims() -> list[ColumnElement[Any]]:
    return [func.coalesce(getattr(R, d), "") for d in DIMENSIONS]


def raw_sums(dialect: str, *lead: Any) -> Select[Any]:
    """Per rollup key, what `report_rollup` must hold, summed from `requests` (after `lead`
    columns, for an INSERT ... SELECT)."""
    key = [_raw_day(dialect), *_raw_dims(), func.coalesce(R.escalation_reason, "")]
    flags = (R.status == "error", R.verification == "failed", R.baseline_estimated.is_(True))
    return select(
        *lead,
        *key,
        func.count(),
        *(func.sum(case((f, 1), else_=0)) for f in flags),
        func.sum(R.prompt_tokens_estimate),
        *(func.sum(getattr(R, m)) for m in MONEY),
    ).group_by(*key)


def rollup_sums() -> Select[Any]:
    key = [getattr(U, k) for k in _ROLLUP_KEY]
    return select(*key, *(func.sum(getattr(U, c)) for c in COUNTS + MONEY)).group_by(*key)


def raw_histogram(dialect: str, dim: str, *lead: Any) -> Select[Any]:
    """Per (day, value of `dim`, tier, bucket), the count `report_latency` must hold, spelled
    as the triggers spell it so the database rounds the logarithms the same way."""
    biggest = func.greatest if dialect == "postgresql" else func.max
    smallest: ColumnElement[float] = literal_column(str(SMALLEST_MS))
    ratio: ColumnElement[float] = literal_column(str(BUCKET_RATIO))
    bucket = cast(func.floor(func.ln(biggest(R.latency_ms, smallest)) / func.ln(ratio)), Integer)
    key = [_raw_day(dialect), func.coalesce(getattr(R, dim), ""), R.tier, bucket]
    return select(*lead, *key, func.count()).where(R.tier.is_not(None)).group_by(*key)


def rollup_histogram(dim: str) -> Select[Any]:
    key: list[Any] = [L.day, L.value, L.tier, L.bucket]
    return select(*key, func.sum(L.requests)).where(L.dim == dim).group_by(*key)


def rebuild_statements(dialect: str) -> list[Any]:
    """Empty the rollup and sum every row into it again (run with writers locked out)."""
    yes: ColumnElement[Any] = literal_column("true" if dialect == "postgresql" else "1")
    statements: list[Any] = [delete(U), delete(L)]
    rollup = [c.name for c in U.__table__.columns]
    statements.append(insert(U).from_select(rollup, raw_sums(dialect, yes)))
    latency = [c.name for c in L.__table__.columns]
    for dim in LATENCY_DIMS:
        lead: tuple[Any, ...] = (yes, literal_column(f"'{dim}'"))
        statements.append(insert(L).from_select(latency, raw_histogram(dialect, dim, *lead)))
    return statements
