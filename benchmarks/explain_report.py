"""EXPLAIN (ANALYZE, BUFFERS) of the report's queries on a PostgreSQL ledger: from the rows
(as every report read before the rollup) and from the report rollup. Not a test.

    python -m benchmarks.explain_report postgresql+psycopg://postgres@127.0.0.1:5432/reportperf

Prints each statement, then its plan; `--brief` keeps only each plan's top node and timings.
The fold of pending rows into the sums is shown as a plan only (EXPLAIN ANALYZE would run it).
"""

from __future__ import annotations

import argparse
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.dialects import postgresql

from router.ledger import _report_sql as q
from router.ledger import _rollup_sql as s
from router.ledger._engine import create_ledger_engine, resolve_url

ALL = q.Window(None, None)


def statements() -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for group_by in (None, "day", "team"):
        name = group_by or "total"
        key = q.group_key(group_by, "postgresql")
        plan = s.plan_for(group_by, ALL, {})
        assert plan is not None
        out += [
            (f"rows: sums, {name}", q.totals_query(key, ALL)),
            (f"rollup: sums, {name}", s.totals(plan, s.money_source("postgresql"))),
            (
                f"rollup: latency histogram, {name}",
                s.histogram(plan, s.latency_source("postgresql")),
            ),
        ]
    folds = s.fold_statements("postgresql")[:2]
    return out + [
        (f"fold (plan only, not run): {t}", f)
        for t, f in zip(("sums", "latency"), folds, strict=True)
    ]


def _percentiles(group_by: str | None) -> Any:
    """The statement `_report_sql._latencies_postgres` runs (built there inside a function)."""
    key = q.group_key(group_by, "postgresql")
    r = q.R
    p50, p95 = (func.percentile_cont(p).within_group(r.latency_ms) for p in q.PERCENTILES)
    by = [*([] if key is None else [key]), r.tier]
    label = key.label("key") if key is not None else None
    return (
        select(*([label] if label is not None else []), r.tier, func.count(), p50, p95)
        .where(r.tier.is_not(None))
        .group_by(*by)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("url")
    parser.add_argument("--brief", action="store_true")
    args = parser.parse_args()
    engine = create_ledger_engine(resolve_url(args.url))
    todo = statements() + [
        (f"rows: percentiles, {g or 'total'}", _percentiles(g)) for g in (None, "day")
    ]
    with engine.connect() as conn:
        for name, stmt in todo:
            sql = str(
                stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
            )
            how = "" if name.startswith("fold") else "(ANALYZE, BUFFERS) "
            plan = [r[0] for r in conn.execute(text(f"EXPLAIN {how}{sql}"))]
            print(f"\n### {name}\n")
            if not args.brief:
                print(sql + "\n")
            keep = (
                plan if not args.brief else [plan[0], *(line for line in plan if "Time:" in line)]
            )
            print("\n".join(keep))
    engine.dispose()


if __name__ == "__main__":
    main()
