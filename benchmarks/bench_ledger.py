"""Ledger benchmark: durable inserts per second, and report time on large ledgers.

Not a test. Measures, on SQLite and (if a URL is given) PostgreSQL:
  * durable `record()` calls per second with 1 and 8 writer processes (each call commits), on
    a ledger with the report rollup's triggers and on one without them, and rows per second of
    8 processes x 32 concurrent requests through the group commit, with the previous PostgreSQL
    writers in the same rounds (`WRITERS`);
  * `summarize()` time (total, by day, by team; median of 3) on synthetic requests,
    bulk-loaded with executemany (SQLite), COPY (PostgreSQL) or, from 2,000,000 rows on
    PostgreSQL, generated in the database; next to the same reports read from the rows
    (bounds off a whole day), as every report was before the rollup.

    python benchmarks/bench_ledger.py [--postgres URL] [--rows 100000,1000000] [--json out.json]

PostgreSQL runs in a throwaway schema that is dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import functools
import json
import multiprocessing as mp
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from psycopg.types.json import Jsonb
from sqlalchemy import create_engine, event, make_url, text

from benchmarks import _ledger_before
from router._records import AttemptRecord, RequestRecord
from router.ledger import open_ledger, summarize
from router.ledger._admin import upgrade_ledger
from router.ledger._engine import create_ledger_engine, resolve_url
from router.ledger._group import GroupCommit

T0 = datetime(2025, 1, 1, tzinfo=UTC)
COLUMNS = (
    "request_id",
    "created_at",
    "recorded_at",
    "ingest",
    "policy_name",
    "policy_version",
    "status",
    "tier",
    "model",
    "decision_rule",
    "decision_score",
    "decision_threshold",
    "attempt_count",
    "cost_usd",
    "local_cost_usd",
    "baseline_model",
    "baseline_cost_usd",
    "baseline_estimated",
    "savings_usd",
    "price_table_version",
    "latency_ms",
    "prompt_hash",
    "prompt_tokens_estimate",
    "team",
    "app",
    "user_id",
    "user_is_hashed",
    "tags",
    "verification",
    "escalation_reason",
    "error_class",
)
MILLION = Decimal(1_000_000)


def record(rid: str, i: int) -> RequestRecord:
    tokens_in, tokens_out = 500 + i % 1500, 100 + i % 700
    frontier = i % 4 == 0
    price_in, price_out = (Decimal("2.5"), Decimal(15)) if frontier else (Decimal(0), Decimal(0))
    cost = (tokens_in * price_in + tokens_out * price_out) / MILLION
    attempt = AttemptRecord(
        "gpt-5.4" if frontier else "qwen3.5:9b",
        "openai" if frontier else "ollama",
        "frontier" if frontier else "local",
        tokens_in,
        tokens_out,
        900.0,
        "ok",
        cost,
        price_in,
        price_out,
    )
    baseline = (tokens_in * Decimal("2.5") + tokens_out * 15) / MILLION
    return RequestRecord(
        rid,
        T0 + timedelta(seconds=i * 13),
        "default",
        "1",
        "ok",
        attempt.tier,
        attempt.model,
        "threshold",
        0.4,
        0.5,
        (attempt,),
        cost,
        Decimal(0),
        "gpt-5.4",
        baseline,
        True,
        baseline - cost,
        "bench",
        900.0,
        "h",
        tokens_in,
        team=f"team{i % 7}",
        app="bench",
    )


# -- durable inserts -------------------------------------------------------------------------


# How the PostgreSQL writer changed (issue 21), each measured against the others in one run:
# "core": SQLAlchemy Core's executemany (insertmanyvalues) for the requests, then the attempts,
# in a BEGIN/COMMIT transaction (the writer of 2026-12-05); "second": the whole batch in one
# statement (json_to_recordset + data-modifying CTEs) on an autocommit connection, JSON by
# `json.dumps`, a batch started inside `submit` and each caller awaiting a `shield` (the writer
# of the second pass, 2026-12-06 15:50); "third": positional JSON arrays by orjson, built from
# a dict per row (the third pass, 2026-12-06 19:30); "now": the writer as it is.
WRITERS = ("core", "second", "third", "now")
CURRENT = "now"  # on SQLite: the writer as it is (the variants are PostgreSQL's)
# The earlier writers run on the schema as it was in their day: with `ix_requests_tier`, which
# migration 0007 dropped (fourth pass), so "third" vs "now" is the whole pass's before/after.
OLD_SCHEMA = ("core", "second", "third")


def with_tier_index(url: str) -> None:
    """Put back the index migration 0007 dropped (the schema of the earlier writers)."""
    engine = create_ledger_engine(resolve_url(url))
    with engine.begin() as conn:
        conn.execute(text("CREATE INDEX ix_requests_tier ON requests (tier)"))
    engine.dispose()


_group_commit: type[GroupCommit] = GroupCommit


def _use_writer(variant: str) -> None:
    """In a writer process: put back an earlier PostgreSQL writer, for before/after figures."""
    from router.ledger import _engine, _write  # noqa: PLC0415 - benchmark-only switch

    global _group_commit  # noqa: PLW0603 - one writer per process, set before it starts
    if variant in ("core", "second"):
        _group_commit = _ledger_before.SecondPassGroupCommit
    if variant in ("core", "second", "gather"):  # "gather": the second pass's rows, new batching
        _write._insert_via_json = _ledger_before.insert_via_recordset  # type: ignore[assignment]
    if variant == "third":
        _write._insert_via_json = _ledger_before.insert_via_third_pass  # type: ignore[assignment]
    if variant == "core":
        pinging = functools.partial(_engine.create_engine, pool_pre_ping=True)
        _engine.create_engine = pinging  # type: ignore[assignment]
        _engine.record_engine = _engine.write_engine  # type: ignore[assignment]
        _write._insert_via_json = _write._insert_via_core  # type: ignore[assignment]


def _writer(
    url: str,
    outbox: str,
    prefix: str,
    n: int,
    concurrency: int,
    variant: str,
    start: Any,
    done: Any,
) -> None:
    _use_writer(variant)
    ledger = open_ledger(url, outbox_dir=Path(outbox))
    # Made before the clock starts: building a RequestRecord is the request's work (measured
    # by the latency benchmark), not the ledger's, and took 17 us of the 2 shared cores per row.
    records = [record(f"{prefix}-{i}", i) for i in range(n)]
    batches = _count_batches(ledger)
    start.wait()
    backends = _Backends(ledger)
    began = time.process_time()
    if concurrency:
        asyncio.run(_concurrent_writes(ledger, records, concurrency))
    else:
        for rec in records:
            ledger.record(rec)
    cpu = time.process_time() - began
    server = backends.cpu_s() if backends.pids else None
    ledger.close()
    done.put((cpu, server, len(batches)))


def _count_batches(ledger: Any) -> list[int]:
    """The sizes of the batches `ledger.record_many` is given from now on."""
    sizes: list[int] = []
    record_many = ledger.record_many

    def counted(records: Any) -> None:
        sizes.append(len(records))
        record_many(records)

    ledger.record_many = counted
    return sizes


async def _concurrent_writes(ledger: Any, records: list[RequestRecord], concurrency: int) -> None:
    """`concurrency` requests at a time finishing through the router's group commit, as in
    `Router.acomplete`: each awaits its own row before taking the next."""
    group = _group_commit(ledger)

    async def requester(first: int) -> None:
        for rec in records[first::concurrency]:
            await group.record(rec)

    await asyncio.gather(*(requester(c) for c in range(concurrency)))


@dataclasses.dataclass
class InsertRun:
    """One insert run: committed rows/s, CPU per row of the writer processes and of the
    PostgreSQL backends serving them (None for SQLite), and rows per batch (one transaction
    each)."""

    rate: float
    writer_us: float
    server_us: float | None
    rows_per_batch: float


class _Backends:
    """CPU used by the PostgreSQL backends serving one writer process's connections (Linux
    /proc on this machine; nothing for SQLite): what the server spends on its rows."""

    def __init__(self, ledger: Any) -> None:
        self.pids: list[int] = []
        self.began = 0.0
        if ledger.engine.dialect.name == "postgresql":
            event.listen(ledger.engine, "connect", self._connected)
            with ledger.engine.connect() as conn:  # the pooled connection the writes will reuse
                self.pids.append(conn.connection.driver_connection.info.backend_pid)
        self.began = self.cpu_s()

    def _connected(self, dbapi_conn: Any, _record: Any) -> None:
        self.pids.append(dbapi_conn.info.backend_pid)

    def cpu_s(self) -> float:
        """CPU seconds (user + system) the backends have used so far, less the start's."""
        total, tick = 0.0, os.sysconf("SC_CLK_TCK")
        for pid in self.pids:
            with contextlib.suppress(OSError):
                fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
                total += (int(fields[11]) + int(fields[12])) / tick
        return total - self.began


def inserts_per_second(
    url: str,
    writers: int,
    per_writer: int,
    outbox: str,
    concurrency: int = 0,
    variant: str = CURRENT,
) -> float:
    """Committed rows per second over `writers` processes (see `insert_run`)."""
    return insert_run(url, writers, per_writer, outbox, concurrency, variant).rate


def insert_run(
    url: str,
    writers: int,
    per_writer: int,
    outbox: str,
    concurrency: int = 0,
    variant: str = CURRENT,
) -> InsertRun:
    """Committed rows per second over `writers` processes. `concurrency` 0: each process calls
    `record()` in a loop (one transaction per row); N: N concurrent requests per process
    through the group commit (`router serve`, `acomplete`)."""
    ctx = mp.get_context("fork")
    start, done = ctx.Event(), ctx.Queue()
    prefix = uuid.uuid4().hex[:6]
    procs = [
        ctx.Process(
            target=_writer,
            args=(url, outbox, f"{prefix}{w}", per_writer, concurrency, variant, start, done),
        )
        for w in range(writers)
    ]
    for p in procs:
        p.start()
    time.sleep(2.0)  # let every writer import and open its ledger
    began = time.perf_counter()
    start.set()
    reports = [done.get() for _ in procs]
    elapsed = time.perf_counter() - began
    for p in procs:
        p.join()
    rows = writers * per_writer
    cpu, batches = sum(r[0] for r in reports), sum(r[2] for r in reports)
    server = None if reports[0][1] is None else sum(r[1] for r in reports) / rows * 1e6
    return InsertRun(rows / elapsed, cpu / rows * 1e6, server, rows / max(batches, 1))


# -- bulk load and report ----------------------------------------------------------------------


def synthetic_rows(n: int, sqlite: bool) -> Iterator[tuple[Any, ...]]:
    rng = random.Random(n)
    span = 365 * 24 * 3600
    for i in range(n):
        frontier = rng.random() < 0.3
        cost = Decimal(rng.randint(0, 40_000_000)).scaleb(-10) if frontier else Decimal(0)
        base = cost + Decimal(rng.randint(0, 40_000_000)).scaleb(-10)
        created = T0 + timedelta(seconds=rng.randrange(span))
        values = [
            f"bench-{i}",
            created,
            created,
            "direct",
            "default",
            "1",
            "ok",
            "frontier" if frontier else "local",
            "gpt-5.4" if frontier else "qwen3.5:9b",
            "threshold",
            rng.random(),
            0.5,
            1,
            cost,
            Decimal(0),
            "gpt-5.4",
            base,
            True,
            base - cost,
            "bench",
            rng.lognormvariate(6, 0.8),
            "h",
            800,
            f"team{i % 12}",
            f"app{i % 5}",
            None,
            True,
            {"env": "bench"},
            "passed",
            "low_confidence" if frontier and rng.random() < 0.5 else None,
            None,
        ]
        yield tuple(_sqlite_value(v) for v in values) if sqlite else tuple(values)


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value.scaleb(10))
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
    if isinstance(value, dict):
        return json.dumps(value)
    return value


def bulk_load(url: str, n: int) -> float:
    began = time.perf_counter()
    engine = create_ledger_engine(resolve_url(url))
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        if engine.dialect.name == "sqlite":
            sql = (
                f"INSERT INTO requests ({', '.join(COLUMNS)}) "
                f"VALUES ({', '.join('?' * len(COLUMNS))})"
            )
            cur.execute("BEGIN")
            cur.executemany(sql, synthetic_rows(n, sqlite=True))
        else:
            with cur.copy(f"COPY requests ({', '.join(COLUMNS)}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                for row in synthetic_rows(n, sqlite=False):
                    copy.write_row((*row[:-4], Jsonb(row[-4]), *row[-3:]))
        raw.commit()
        cur.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()
        engine.dispose()
    return time.perf_counter() - began


# Generated in the database, 1M rows per statement: the 10M-row PostgreSQL ledger loads in
# minutes instead of the hour `record()` or COPY from Python would take. Each statement fires
# the rollup trigger once, as a writer's batch does.
_GENERATE_PG = f"""
INSERT INTO requests ({", ".join(COLUMNS)})
SELECT 'bench-' || i, t, t, 'direct', 'default', '1',
       CASE WHEN i % 97 = 0 THEN 'error' ELSE 'ok' END,
       CASE WHEN f THEN 'frontier' ELSE 'local' END,
       CASE WHEN NOT f THEN 'qwen3.5:9b' WHEN i % 3 = 0 THEN 'claude-opus-4.6' ELSE 'gpt-5.4' END,
       'threshold', r, 0.5, 1, cost, 0, 'gpt-5.4', cost + extra, true, extra, 'bench',
       exp(6 + 0.8 * z), 'h', 800, 'team' || (i % 12), 'app' || (i % 5), NULL, true,
       '{{"env": "bench"}}'::jsonb, CASE WHEN i % 50 = 0 THEN 'failed' ELSE 'passed' END,
       CASE WHEN f AND i % 2 = 0 THEN 'low_confidence' END, NULL
FROM (
    SELECT i, f, r, z,
           timestamptz '2025-01-01 00:00+00' + floor(random() * 365 * 86400) * interval '1 s' AS t,
           CASE WHEN f THEN round((random() * 0.004)::numeric, 10) ELSE 0 END AS cost,
           round((random() * 0.004)::numeric, 10) AS extra
    FROM (
        SELECT i, random() < 0.3 AS f, random() AS r,
               sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) AS z
        FROM generate_series(:start, :stop - 1) AS i
    ) AS drawn
) AS rows
"""


def generate_pg(url: str, n: int, chunk: int = 1_000_000) -> float:
    """Fill a PostgreSQL ledger with `n` synthetic requests, generated server-side."""
    began = time.perf_counter()
    engine = create_ledger_engine(resolve_url(url))
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT setseed(0.21)"))
            for start in range(0, n, chunk):
                conn.execute(text(_GENERATE_PG), {"start": start, "stop": min(n, start + chunk)})
                conn.commit()
            conn.execute(text("ANALYZE"))
            conn.commit()
    finally:
        engine.dispose()
    return time.perf_counter() - began


ROW_SCAN_SINCE = datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC)
"""A bound that is not a whole day: `summarize` reads the rows, as every report did before
the rollup (same rows, since nothing is older)."""


def report_seconds(url: str, rounds: int = 1, since: datetime | None = None) -> dict[str, float]:
    """Median seconds of `summarize()` per grouping (total, by day, by team)."""
    engine = create_ledger_engine(resolve_url(url))
    out = {}
    for group_by in (None, "day", "team"):
        times = []
        for _ in range(rounds):
            began = time.perf_counter()
            summarize(engine, since=since, group_by=group_by)
            times.append(time.perf_counter() - began)
        out[group_by or "total"] = round(statistics.median(times), 3)
    engine.dispose()
    return out


# -- databases -------------------------------------------------------------------------------


class Database:
    """A fresh, migrated ledger: a SQLite file or a throwaway PostgreSQL schema."""

    def __init__(self, kind: str, base: str, workdir: Path) -> None:
        self.kind, self.base, self.workdir = kind, base, workdir
        self.schema = f"bench_{uuid.uuid4().hex[:10]}"

    def __enter__(self) -> str:
        if self.kind == "sqlite":
            path = self.workdir / f"{uuid.uuid4().hex[:8]}.db"
            self.url = f"sqlite:///{path}"
        else:
            with create_engine(self.base).begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{self.schema}"'))
            url = make_url(self.base).update_query_dict({"options": f"-csearch_path={self.schema}"})
            self.url = url.render_as_string(hide_password=False)
        upgrade_ledger(self.url)
        return self.url

    def __exit__(self, *exc: object) -> None:
        if self.kind == "postgres":
            with create_engine(self.base).begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{self.schema}" CASCADE'))


def without_rollup_triggers(url: str) -> None:
    """Take the report rollup's triggers off a throwaway ledger: the write cost they add is
    the difference between its insert rate and a ledger's with them (same run)."""
    engine = create_ledger_engine(resolve_url(url))
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE requests DISABLE TRIGGER USER"))
        else:
            for event in ("insert", "update", "delete"):
                conn.execute(text(f"DROP TRIGGER requests_report_rollup_{event}"))
    engine.dispose()


GENERATE_FROM = 2_000_000
"""PostgreSQL ledgers this big are generated in the database rather than copied from Python."""


def _load(url: str, kind: str, n: int) -> float:
    return generate_pg(url, n) if kind == "postgres" and n >= GENERATE_FROM else bulk_load(url, n)


GROUP_CONCURRENCY = 32  # concurrent requests per writer process, as in the latency benchmark


Rates = dict[str, dict[str, list[Any]]]  # mode ("record", "group") -> variant -> per round


def insert_rates(
    kind: str, base: str, inserts: int, rounds: int, workdir: Path
) -> tuple[Rates, Rates]:
    """Rows/s of 8 writer processes, one row per transaction (`record()`) and through the group
    commit, for each PostgreSQL writer variant; interleaved, `rounds` times each. Also each
    run's CPU per row (writers, server) and rows per batch."""
    variants = WRITERS if kind == "postgres" else (CURRENT,)
    # The group commit writes 32x the rows of a `record()` run (3 s instead of 0.8 s at 8,000
    # rows/s): a run that short was mostly each process's first, unprepared batches and noise.
    modes = {"record": (0, inserts), "group": (GROUP_CONCURRENCY, 32 * inserts)}
    rates: Rates = {m: {v: [] for v in variants} for m in modes}
    costs: Rates = {m: {v: [] for v in variants} for m in modes}
    for r in range(rounds):
        for mode, (concurrency, n) in modes.items():
            for variant in variants:
                with Database(kind, base, workdir) as url:
                    if kind == "postgres" and variant in OLD_SCHEMA:
                        with_tier_index(url)
                    outbox = str(workdir / "outbox")
                    run = insert_run(url, 8, n // 8, outbox, concurrency, variant)
                rates[mode][variant].append(round(run.rate, 1))
                costs[mode][variant].append(dataclasses.asdict(run))
                server = "-" if run.server_us is None else f"{run.server_us:.0f}"
                print(
                    f"{kind:8} round {r} {mode:6} {variant:7} 8 writers: {run.rate:8.1f} rows/s "
                    f"(CPU/row writers {run.writer_us:.0f} us, server {server} us; "
                    f"{run.rows_per_batch:.1f} rows/batch; load {os.getloadavg()[0]:.1f})",
                    flush=True,
                )
    return rates, costs


def run(
    kind: str, base: str, rows: list[int], inserts: int, workdir: Path, rounds: int = 3
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "inserts_per_s": {},
        "inserts_per_s_without_rollup": {},
        "report_s": {},
        "row_scan_s": {},
        "load_s": {},
    }
    for writers in (1, 8):
        for name, rollup in (("inserts_per_s", True), ("inserts_per_s_without_rollup", False)):
            with Database(kind, base, workdir) as url:
                if not rollup:
                    without_rollup_triggers(url)
                rate = inserts_per_second(url, writers, inserts // writers, str(workdir / "outbox"))
                result[name][writers] = round(rate, 1)
                what = "with" if rollup else "without"
                print(f"{kind:8} {writers} writer(s): {rate:8.1f} inserts/s ({what} rollup)")
    result["load_before"] = os.getloadavg()
    result["rates_8"], result["costs_8"] = insert_rates(kind, base, inserts, rounds, workdir)
    result["load_after"] = os.getloadavg()
    result["group_per_s"] = {v: statistics.median(r) for v, r in result["rates_8"]["group"].items()}
    result["record_per_s"] = {
        v: statistics.median(r) for v, r in result["rates_8"]["record"].items()
    }
    for n in rows:
        with Database(kind, base, workdir) as url:
            result["load_s"][n] = round(_load(url, kind, n), 1)
            result["report_s"][n] = report_seconds(url, rounds=3)
            result["row_scan_s"][n] = report_seconds(url, 1 if n > 100_000 else 3, ROW_SCAN_SINCE)
            loaded, fast, slow = (result[k][n] for k in ("load_s", "report_s", "row_scan_s"))
            print(f"{kind:8} {n:>10,} rows: load {loaded}s, report {fast}, rows {slow}", flush=True)
    return result


def print_table(results: dict[str, dict[str, Any]]) -> None:
    print(
        "\n| database | inserts/s (1 writer) | inserts/s (8 writers) | rows | report total / "
        "by day / by team (s) |"
    )
    print("|---|---|---|---|---|")
    for kind, res in results.items():
        for n, secs in res["report_s"].items():
            print(
                f"| {kind} | {res['inserts_per_s'][1]} | {res['inserts_per_s'][8]} | {n:,} | "
                f"{secs['total']} / {secs['day']} / {secs['team']} |"
            )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--postgres",
        default=os.environ.get("ROUTER_TEST_POSTGRES_URL"),
        help="PostgreSQL URL (default: $ROUTER_TEST_POSTGRES_URL; omit to skip)",
    )
    p.add_argument("--rows", default="100000,1000000")
    p.add_argument("--inserts", type=int, default=800, help="records per insert run")
    p.add_argument("--json", type=Path, default=Path("bench_ledger.json"))
    args = p.parse_args()
    rows = [int(n) for n in args.rows.split(",") if n]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["sqlite"] = run("sqlite", "", rows, args.inserts, Path(tmp))
        if args.postgres:
            results["postgres"] = run("postgres", args.postgres, rows, args.inserts, Path(tmp))
    print_table(results)
    meta = {"cpus": os.cpu_count(), "when": datetime.now(UTC).isoformat()}
    args.json.write_text(json.dumps({"meta": meta, "results": results}, indent=2) + "\n")
    print(f"\nwritten to {args.json}")


if __name__ == "__main__":
    main()
