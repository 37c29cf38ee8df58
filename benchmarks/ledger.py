"""5. Ledger: committed rows per second with 1 and 8 writer processes, and report time by size.

Reuses `bench_ledger.run` on SQLite and, when reachable, PostgreSQL (`--postgres` or
$ROUTER_TEST_POSTGRES_URL, in a throwaway schema). Inserts: `record()` per row with 1 and 8
writer processes (with and without the report rollup's triggers), and 8 processes x 32
concurrent requests through the router's group commit (issue 21's targets), in interleaved
rounds (3; 1 with --quick), medians; on PostgreSQL the previous writers run in the same rounds
for before/after. Report sizes: 10,000 and 100,000 rows (10,000 with --quick); --full adds
1,000,000 and, on PostgreSQL, 10,000,000 (issue 21's size: about 30 min of generating on 2 busy
cores). Each report is timed from the rollup and from the rows. "Growth" is report time per 10x
more rows.
"""

# ruff: noqa: PLC0415 - imports are lazy on purpose: a benchmark must not pay for another's imports

from __future__ import annotations

import itertools
import statistics
import tempfile
from pathlib import Path
from typing import Any

from benchmarks._common import Section, Settings

GROUP = 32  # bench_ledger.GROUP_CONCURRENCY, without importing it at module level


def bench_ledger_current() -> str:
    from benchmarks import bench_ledger

    return bench_ledger.CURRENT


def _rounds_note(rates: dict[str, list[float]]) -> str:
    """Every round's figure, per PostgreSQL writer variant (SQLite has one writer)."""

    def name(variant: str) -> str:
        return variant if len(rates) > 1 else "rounds"

    return "; ".join(f"{name(v)}: {', '.join(f'{r:,.0f}' for r in rs)}" for v, rs in rates.items())


def _cost_note(costs: dict[str, list[dict[str, Any]]]) -> str:
    """Median CPU per row (writer processes + server backends) and rows per batch, per variant."""

    def median(runs: list[dict[str, Any]], key: str) -> float | None:
        values = [r[key] for r in runs if r[key] is not None]
        return statistics.median(values) if values else None

    parts = []
    for variant, runs in costs.items():
        writer, server = median(runs, "writer_us"), median(runs, "server_us")
        batch = median(runs, "rows_per_batch")
        where = f"{writer:.0f} us writers" + (
            "" if server is None else f" + {server:.0f} us server"
        )
        parts.append(f"{variant}: {where}, {batch:.0f} rows/batch")
    return "CPU per row: " + "; ".join(parts)


def _reachable(url: str) -> bool:
    from sqlalchemy import create_engine, text

    try:
        engine = create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
    except Exception:  # any failure means: skip PostgreSQL, and say so
        return False
    return True


def run(settings: Settings) -> Section:
    from benchmarks import bench_ledger

    section = Section("ledger")
    rows = [10_000] if settings.quick else [10_000, 100_000]
    if settings.full:
        rows.append(1_000_000)
    inserts = settings.pick(quick=160, normal=800)
    rounds = settings.pick(quick=1, normal=3)
    kinds = [("sqlite", "")]
    if settings.postgres and _reachable(settings.postgres):
        kinds.append(("postgres", settings.postgres))
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for kind, base in kinds:
            sizes = [*rows, 10_000_000] if settings.full and kind == "postgres" else rows
            results[kind] = bench_ledger.run(kind, base, sizes, inserts, Path(tmp), rounds)
    section.details = {
        "rows": rows,
        "inserts": inserts,
        "postgres_url_given": bool(settings.postgres),
        **results,
    }
    for kind, res in results.items():
        _rows(section, kind, res, [int(n) for n in res["report_s"]])
    if settings.postgres and "postgres" not in results:
        section.add("postgresql", None, note=f"unreachable at {settings.postgres}; skipped")
    return section


TARGETS = {"sqlite": 5_000, "postgres": 20_000}  # issue 21: rows/s with 8 writer processes


def _rows(section: Section, kind: str, res: dict[str, Any], rows: list[int]) -> None:
    one, eight = res["inserts_per_s"][1], res["inserts_per_s"][8]
    # A committed SQLite row survives a killed process by default, not a power loss (see the
    # ledger's `durability` option); PostgreSQL commits are what the server is configured for.
    what = (
        "committed inserts (default durability: process-crash)"
        if kind == "sqlite"
        else "committed inserts"
    )
    load = f"load {res['load_before'][0]:.1f} -> {res['load_after'][0]:.1f}"
    section.add(f"{kind}: {what}, 1 writer, record() per row", one, unit="/s")
    section.add(
        f"{kind}: {what}, 8 writers, record() per row (one transaction each)",
        eight,
        alternative=one,
        alt_name="1 writer",
        unit="/s",
        note=_rounds_note(res["rates_8"]["record"]),
    )
    group = res["group_per_s"]
    current = group[bench_ledger_current()]
    before = group.get("third")
    section.add(
        f"{kind}: {what}, 8 writers x {GROUP} concurrent requests, group commit ({load})",
        current,
        alternative=before,
        alt_name="third-pass writer (row dicts, all seven indexes)" if before else "",
        unit="/s",
        target=f">= {TARGETS[kind]:,}/s",
        met=current >= TARGETS[kind],
        note=f"{_rounds_note(res['rates_8']['group'])}. {_cost_note(res['costs_8']['group'])}",
    )
    for writers in (1, 8):
        bare = res["inserts_per_s_without_rollup"][writers]
        section.add(
            f"{kind}: inserts with the report rollup's triggers, {writers} writer(s)",
            res["inserts_per_s"][writers],
            alternative=bare,
            alt_name="same, triggers off",
            unit="/s",
        )
    for n in rows:
        _report_rows(section, kind, res, n)
    for small, big in itertools.pairwise(rows):
        a, b = res["report_s"][small]["total"], res["report_s"][big]["total"]
        section.add(
            f"{kind}: report time growth {small:,} -> {big:,} rows",
            b / a if a else None,
            unit="x",
            target=f"<= {1.2 * big / small:.0f}x (linear, 20% slack)",
            met=bool(a) and b / a <= 1.2 * big / small,
        )


# issue 21: 10M rows on PostgreSQL, total under 2 s, by day or team under 5 s
_TARGETS = {"total": 2.0, "day": 5.0, "team": 5.0}


def _report_rows(section: Section, kind: str, res: dict[str, Any], n: int) -> None:
    fast, slow = res["report_s"][n], res["row_scan_s"][n]
    big = kind == "postgres" and n >= 10_000_000
    for grouping in ("total", "day", "team"):
        what = "total" if grouping == "total" else f"by {grouping}"
        section.add(
            f"{kind}: report on {n:,} rows ({what}, from the rollup)",
            fast[grouping],
            alternative=slow[grouping],
            alt_name="reading the rows",
            unit="s",
            note=f"load {res['load_s'][n]} s" if grouping == "total" else "",
            target=f"< {_TARGETS[grouping]:.0f} s" if big else "",
            met=fast[grouping] < _TARGETS[grouping] if big else None,
        )
