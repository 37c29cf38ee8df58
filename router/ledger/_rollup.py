"""Reports from the rollup: per-day sums kept by triggers in the same transaction as the rows.

`report_rollup` and `report_latency` (migration 0006) hold, per UTC day, team, app, tier and
model, the counts and exact money sums of `requests` and a latency histogram. A report whose
grouping is none, a time period or one of those dimensions, whose filters are on those
dimensions and whose bounds are whole UTC days reads them instead of the rows: the same money
to the 1e-10 USD, in time that grows with days x dimensions, not with requests. Anything else
(a mid-day bound, another filter) returns None and the caller reads the rows.

Latency p50/p95: read from the rows, as before, while the window holds at most
`EXACT_LATENCY_UP_TO` requests; above that, estimated from the histogram, within 1% (bucket
width 2%, the middle of a bucket is at most 0.995% from any value in it), and flagged
`LatencyStats.estimated`.

Writers only add the new requests' ids to `report_pending` (a trigger, in the rows' own
transaction). A report first folds the pending rows into the sums (one transaction that keeps
writers out for its length, at most one folder at a time, skipped when the lock is busy or
this user may not write), then reads sums + pending rows in one statement: exact either way.
"""

from __future__ import annotations

import bisect
import itertools
import logging
from collections import Counter, defaultdict
from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, select, text
from sqlalchemy.exc import SQLAlchemyError

from router.ledger import _report_sql as q
from router.ledger import _rollup_sql as s
from router.ledger._engine import write_engine
from router.ledger._report import KEY_SEPARATOR, LatencyStats, ReportRow
from router.ledger._schema import PendingRow

logger = logging.getLogger("router")

EXACT_LATENCY_UP_TO = 100_000
"""Up to this many requests in the window, p50/p95 are computed from the rows (exact)."""

_COUNTS = (
    "requests",
    "local_requests",
    "escalated",
    "verification_failures",
    "errors",
    "baseline_estimated",
)
Sums = dict[str, Any]
Latencies = Mapping[str, Mapping[str, tuple[int, float, float, bool]]]


def report_rows(
    conn: Connection, dimensions: tuple[str, ...], filters: q.Filters
) -> tuple[ReportRow, ...] | None:
    """The report's rows from the rollup, or None when the rollup cannot answer exactly."""
    wanted = _equality_filters(filters)
    if len(dimensions) > 1 or wanted is None:
        return None
    plan = s.plan_for(dimensions[0] if dimensions else None, filters, wanted)
    if plan is None:
        return None
    fold(conn.engine)
    sums = _sums(conn, plan)
    reasons = _reasons(conn, plan)
    requests = sum(r["requests"] for r in sums.values())
    latencies = _latencies(conn, plan, filters, requests)
    return tuple(
        _row(plan, key, amounts, reasons.get(key, {}), latencies.get(key, {}))
        for key, amounts in sums.items()
        if amounts["requests"]  # every row of the group was deleted since
    )


def _equality_filters(filters: q.Filters) -> dict[str, str | None] | None:
    """The rollup answers one value per filtered dimension (None: rows without one); a filter
    keeping several values returns None (read the rows)."""
    out: dict[str, str | None] = {}
    for name in q.DIMENSIONS:
        values = getattr(filters, name)
        if len(values) > 1:
            return None
        if values:
            out[name] = None if values[0] == q.NONE_LABEL else values[0]
    return out


def fold(engine: Engine) -> None:
    """Sum the pending rows into the rollup, in a transaction of its own; skipped when another
    report is folding, writers hold the lock over a second, or this user may not write (reads
    add the pending rows themselves, so they are exact either way)."""
    dialect, anything = engine.dialect.name, select(PendingRow.request_id).limit(1)
    try:
        with engine.connect() as conn:  # nothing pending: no write lock taken at all
            if conn.execute(anything).first() is None:
                return
        with write_engine(engine).begin() as conn:
            if dialect == "postgresql":
                if not conn.execute(s.TRY_FOLD_LOCK).scalar():
                    return
                for statement in s.LOCK_PENDING:
                    conn.execute(statement)
            for statement in s.fold_statements(dialect):
                conn.execute(statement)
    except SQLAlchemyError as exc:
        logger.debug("report rollup not folded: %s", type(exc).__name__)


def _label(plan: s.Plan, key: Any) -> str:
    if plan.group_by not in s.TIME_GROUPS:
        return str(key)
    day = key if isinstance(key, date) else date.fromisoformat(str(key))
    if plan.group_by == "week":  # ISO weeks, keyed by their Monday
        return (day - timedelta(days=day.weekday())).isoformat()
    return day.isoformat()[: 7 if plan.group_by == "month" else 10]


def _sums(conn: Connection, plan: s.Plan) -> dict[str, Sums]:
    out: dict[str, Sums] = {}
    for r in conn.execute(s.totals(plan, s.money_source(conn.dialect.name))).mappings():
        if r["requests"] is None:  # no group: one row of NULLs when nothing matched
            continue
        acc = out.setdefault(_label(plan, r["key"]), defaultdict(int))
        for name in _COUNTS:
            acc[name] += int(r[name])
        for name in s.MONEY:
            acc[name] = acc.get(name, Decimal(0)) + q.as_decimal(r[name])
    return out


def _reasons(conn: Connection, plan: s.Plan) -> dict[str, Counter[str]]:
    out: dict[str, Counter[str]] = defaultdict(Counter)
    for key, reason, count in conn.execute(s.reasons(plan, s.money_source(conn.dialect.name))):
        out[_label(plan, key)][reason] += int(count)
    return out


def _latencies(conn: Connection, plan: s.Plan, filters: q.Filters, requests: int) -> Latencies:
    if requests <= EXACT_LATENCY_UP_TO:
        dims = () if plan.group_by is None else (plan.group_by,)
        exact = q.latencies(conn, q.group_keys(dims, conn.dialect.name), filters)
        return {
            KEY_SEPARATOR.join(g): {t: (*v, False) for t, v in tiers.items()}
            for g, tiers in exact.items()
        }
    buckets: dict[str, dict[str, Counter[int]]] = defaultdict(lambda: defaultdict(Counter))
    for key, tier, bucket, count in conn.execute(
        s.histogram(plan, s.latency_source(conn.dialect.name))
    ):
        if count:
            buckets[_label(plan, key)][tier][int(bucket)] += int(count)
    return {
        group: {
            tier: (*estimate(counts), True)
            for tier, counts in tiers.items()
            if any(counts.values())
        }
        for group, tiers in buckets.items()
    }


def estimate(counts: Mapping[int, int]) -> tuple[int, float, float]:
    """(count, p50, p95) from a histogram, interpolated as `percentile_cont` interpolates."""
    ordered = sorted((b, n) for b, n in counts.items() if n)
    ends = list(itertools.accumulate(n for _, n in ordered))
    n = ends[-1]

    def value(index: int) -> float:
        bucket = ordered[bisect.bisect_right(ends, index)][0]
        return float(s.BUCKET_RATIO ** (bucket + 0.5))

    def percentile(p: float) -> float:
        rank = p * (n - 1)
        low = int(rank)
        high = value(low + 1) if low + 1 < n else value(low)
        return value(low) + (high - value(low)) * (rank - low)

    return n, percentile(0.5), percentile(0.95)


def _row(
    plan: s.Plan, key: str, sums: Sums, reasons: Mapping[str, int], latencies: Mapping[str, Any]
) -> ReportRow:
    stats = tuple(LatencyStats(t, *latencies[t]) for t in sorted(latencies))
    return ReportRow(
        key=key,
        keys=() if plan.group_by is None else (key,),
        **{name: sums[name] for name in (*_COUNTS, *s.MONEY)},
        escalation_reasons={r: n for r, n in sorted(reasons.items()) if n},
        latency=stats,
    )


# -- verification -----------------------------------------------------------------------------

REBUILD_HINT = "rebuild it from the rows with: router ledger rebuild-rollup"


def rebuild(engine: Engine) -> None:
    """Recompute the rollup from the rows, in one transaction that keeps writers out
    (PostgreSQL: a SHARE lock on `requests`; SQLite: the write lock)."""
    with write_engine(engine).begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("LOCK TABLE requests IN SHARE MODE"))
        for statement in s.rebuild_statements(conn.dialect.name):
            conn.execute(statement)


def problems(conn: Connection) -> list[str]:
    """How the rollup (sums + pending rows) differs from the rows, per table and key."""
    dialect = conn.dialect.name
    return _differences(
        conn, s.raw_sums(dialect), s.rollup_sums(), s.raw_sums(dialect, pending_only=True), 6
    ) + _differences(
        conn,
        s.raw_histogram(dialect),
        s.rollup_histogram(),
        s.raw_histogram(dialect, pending_only=True),
        5,
    )


def _differences(conn: Connection, raw: Any, summed: Any, pending: Any, width: int) -> list[str]:
    def read(*statements: Any) -> dict[tuple[str, ...], tuple[Any, ...]]:
        out: dict[tuple[str, ...], tuple[Any, ...]] = {}
        for stmt in statements:
            for r in conn.execute(stmt):
                key, values = tuple(map(str, r[:width])), tuple(r[width:])
                old = out.get(key, (0,) * len(values))
                out[key] = tuple(a + b for a, b in zip(old, values, strict=True))
        return {k: v for k, v in out.items() if any(v)}

    want, have = read(raw), read(summed, pending)
    wrong = sorted(k for k in want.keys() | have.keys() if want.get(k) != have.get(k))
    if not wrong:
        return []
    table = "report_rollup" if width == 6 else f"report_latency ({wrong[0][0]})"
    return [
        f"{table} differs from the rows for {len(wrong)} key(s), first {'/'.join(wrong[0])}: "
        f"rows {want.get(wrong[0])}, rollup {have.get(wrong[0])}; {REBUILD_HINT}"
    ]
