"""The rollup's SQL: report queries over the sums plus the rows still pending, the fold of
pending rows into the sums, and the same sums straight from `requests` (for `verify` and
`rebuild`). The tables and the triggers that fill `report_pending` are migration 0006's; the
day and bucket expressions here are spelled as the migration spells them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import (
    BigInteger,
    Date,
    Integer,
    Select,
    String,
    Subquery,
    case,
    cast,
    delete,
    func,
    literal_column,
    select,
    text,
    true,
    union_all,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

from router.ledger._report_sql import NONE_LABEL, TOTAL, Window
from router.ledger._schema import LatencyRow as L
from router.ledger._schema import PendingRow as P
from router.ledger._schema import RequestRow as R
from router.ledger._schema import RollupRow as U

DIMENSIONS = ("team", "app", "tier", "model")
LATENCY_DIMS = ("team", "app", "model")  # report_latency.dim; tier is a column of its own
TIME_GROUPS = ("day", "week", "month")
BUCKET_RATIO = 1.02  # bucket b holds latencies in [1.02^b, 1.02^(b+1)) ms
SMALLEST_MS = 0.001  # lower latencies share the bucket of 0.001 ms
COUNTS = ("requests", "errors", "verification_failures", "baseline_estimated", "prompt_tokens")
MONEY = ("cost_usd", "baseline_cost_usd", "savings_usd", "local_cost_usd")
ROLLUP_KEY = ("day", *DIMENSIONS, "reason")
LATENCY_KEY = ("dim", "day", "value", "tier", "bucket")


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

    def key(self, src: Subquery) -> ColumnElement[Any]:
        if self.group_by is None:
            return literal_column(f"'{TOTAL}'")
        if self.group_by in TIME_GROUPS:
            return src.c.day
        return func.coalesce(func.nullif(_column(src, self.group_by), ""), NONE_LABEL)

    def by(self, key: ColumnElement[Any], *more: Any) -> list[Any]:
        """GROUP BY terms: the same `key` object as selected, so PostgreSQL sees one
        expression (a second copy would bind its own parameters and not match)."""
        return [*([] if self.group_by is None else [key]), *more]

    def where(self, src: Subquery) -> list[ColumnElement[bool]]:
        conds = [_column(src, d) == (v or "") for d, v in self.filters.items()]
        if "dim" in src.c:
            conds.append(src.c.dim == self.latency_dim)
        if self.first_day is not None:
            conds.append(src.c.day >= self.first_day)
        if self.end_day is not None:
            conds.append(src.c.day < self.end_day)
        return conds


def _column(src: Subquery, dim: str) -> Any:
    """A dimension's column; in the latency source team, app and model are all `value`."""
    return src.c.value if "dim" in src.c and dim != "tier" else src.c[dim]


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


# -- the rows, as the rollup keys them -----------------------------------------------------------


def _day(dialect: str) -> ColumnElement[Any]:
    if dialect == "postgresql":
        return cast(func.timezone("UTC", R.created_at), Date)
    return func.date(R.created_at)


def _bucket(dialect: str) -> ColumnElement[int]:
    biggest = func.greatest if dialect == "postgresql" else func.max
    smallest: ColumnElement[float] = literal_column(str(SMALLEST_MS))
    ratio: ColumnElement[float] = literal_column(str(BUCKET_RATIO))
    return cast(func.floor(func.ln(biggest(R.latency_ms, smallest)) / func.ln(ratio)), Integer)


def _flag(cond: ColumnElement[bool]) -> ColumnElement[int]:
    return _big(case((cond, 1), else_=0))


def _big(value: Any) -> ColumnElement[int]:
    """As BIGINT: a UNION whose branches agree on every column type lets PostgreSQL push a
    report's filters (dim, days) into each branch instead of filtering the whole union."""
    return cast(value, BigInteger)


def _row_values(dialect: str) -> list[ColumnElement[Any]]:
    """One request's contribution to `report_rollup`, column by column."""
    return [
        _day(dialect).label("day"),
        *(func.coalesce(getattr(R, d), "").label(d) for d in DIMENSIONS),
        func.coalesce(R.escalation_reason, "").label("reason"),
        _big(literal_column("1")).label("requests"),
        _flag(R.status == "error").label("errors"),
        _flag(R.verification == "failed").label("verification_failures"),
        _flag(R.baseline_estimated.is_(True)).label("baseline_estimated"),
        _big(R.prompt_tokens_estimate).label("prompt_tokens"),
        *(getattr(R, m).label(m) for m in MONEY),
    ]


def _dims() -> Subquery:
    names: list[Select[Any]] = [
        select(cast(literal_column(f"'{d}'"), String).label("dim")) for d in LATENCY_DIMS
    ]
    return union_all(*names).subquery("d")


def _latency_values(dialect: str, dims: Subquery) -> list[Any]:
    """One request's contribution to `report_latency`, once per dimension in `dims`."""
    value = case(
        (dims.c.dim == "team", func.coalesce(R.team, "")),
        (dims.c.dim == "app", func.coalesce(R.app, "")),
        else_=func.coalesce(R.model, ""),
    )
    return [
        dims.c.dim,
        _day(dialect).label("day"),
        value.label("value"),
        R.tier,
        _bucket(dialect).label("bucket"),
        _big(literal_column("1")).label("requests"),
    ]


def _pending_rows() -> Any:
    return R.__table__.join(P.__table__, P.request_id == R.request_id)


# -- report reads: sums + pending rows, in one statement --------------------------------------


def money_source(dialect: str) -> Subquery:
    summed = select(*(getattr(U, c) for c in (*ROLLUP_KEY, *COUNTS, *MONEY)))
    pending = select(*_row_values(dialect)).select_from(_pending_rows())
    return union_all(summed, pending).subquery("src")


def latency_source(dialect: str) -> Subquery:
    dims = _dims()
    summed = select(*(getattr(L, c) for c in (*LATENCY_KEY, "requests")))
    pending = (
        select(*_latency_values(dialect, dims))
        .select_from(_pending_rows().join(dims, true()))
        .where(R.tier.is_not(None))
    )
    return union_all(summed, pending).subquery("src")


def totals(plan: Plan, src: Subquery) -> Select[Any]:
    key = plan.key(src)
    c = src.c
    return (
        select(
            key.label("key"),
            func.sum(c.requests).label("requests"),
            func.sum(case((c.tier == "local", c.requests), else_=0)).label("local_requests"),
            func.sum(case((c.reason != "", c.requests), else_=0)).label("escalated"),
            *(func.sum(c[n]).label(n) for n in COUNTS[1:] + MONEY),
        )
        .where(*plan.where(src))
        .group_by(*plan.by(key))
        .order_by(*plan.by(key))
    )


def reasons(plan: Plan, src: Subquery) -> Select[Any]:
    key = plan.key(src)
    return (
        select(key.label("key"), src.c.reason, func.sum(src.c.requests))
        .where(src.c.reason != "", *plan.where(src))
        .group_by(*plan.by(key, src.c.reason))
    )


def histogram(plan: Plan, src: Subquery) -> Select[Any]:
    key = plan.key(src)
    extra = (src.c.tier, src.c.bucket)
    return (
        select(key.label("key"), *extra, func.sum(src.c.requests))
        .where(*plan.where(src))
        .group_by(*plan.by(key, *extra))
        .order_by(*plan.by(key, *extra))
    )


# -- fold (pending rows into the sums) and rebuild (every row) ---------------------------------


def raw_sums(dialect: str, *, pending_only: bool = False) -> Select[Any]:
    """Per rollup key, the sums of the rows (of the pending rows only, if asked)."""
    key = [_day(dialect), *(func.coalesce(getattr(R, d), "") for d in DIMENSIONS)]
    key.append(func.coalesce(R.escalation_reason, ""))
    values = _row_values(dialect)[len(ROLLUP_KEY) :]
    stmt = select(*key, *(func.sum(v).label(v.name) for v in values)).where(true())
    if pending_only:
        stmt = stmt.select_from(_pending_rows())
    return stmt.group_by(*key)


def raw_histogram(dialect: str, *, pending_only: bool = False) -> Select[Any]:
    """Per latency key, the count of the rows (of the pending rows only, if asked)."""
    dims = _dims()
    values = _latency_values(dialect, dims)[:-1]
    rows = _pending_rows() if pending_only else R.__table__
    return (
        select(*values, func.count())
        .select_from(rows.join(dims, true()))
        .where(R.tier.is_not(None))
        .group_by(*values)
    )


def _upsert(dialect: str, table: Any, key: tuple[str, ...], source: Select[Any]) -> Any:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    columns = [c.name for c in table.__table__.columns]
    stmt = insert(table).from_select(columns, source)
    added = {c: getattr(table, c) + stmt.excluded[c] for c in columns if c not in key}
    return stmt.on_conflict_do_update(index_elements=list(key), set_=added)


def fold_statements(dialect: str) -> list[Any]:
    """Sum the pending rows in and forget them (run where no writer can add one meanwhile)."""
    return [
        _upsert(dialect, U, ROLLUP_KEY, raw_sums(dialect, pending_only=True)),
        _upsert(dialect, L, LATENCY_KEY, raw_histogram(dialect, pending_only=True)),
        delete(P),
    ]


def rebuild_statements(dialect: str) -> list[Any]:
    """Empty the rollup and sum every row into it again (run with writers locked out)."""
    return [
        delete(U),
        delete(L),
        delete(P),
        _upsert(dialect, U, ROLLUP_KEY, raw_sums(dialect)),
        _upsert(dialect, L, LATENCY_KEY, raw_histogram(dialect)),
    ]


FOLD_LOCK_KEY = 0x726F6C6C7570  # "rollup": one folder at a time; the others just read
TRY_FOLD_LOCK = text("SELECT pg_try_advisory_xact_lock(:k)").bindparams(k=FOLD_LOCK_KEY)
# Writers append to report_pending under ROW EXCLUSIVE; this waits for those in flight, holds
# new ones back while the fold runs, and gives up after a second rather than stall them.
LOCK_PENDING = (
    text("SET LOCAL lock_timeout = '1s'"),
    text("LOCK TABLE report_pending IN SHARE ROW EXCLUSIVE MODE"),
)


# -- verification ------------------------------------------------------------------------------


def rollup_sums() -> Select[Any]:
    return select(*(getattr(U, c) for c in (*ROLLUP_KEY, *COUNTS, *MONEY)))


def rollup_histogram() -> Select[Any]:
    return select(*(getattr(L, c) for c in (*LATENCY_KEY, "requests")))
