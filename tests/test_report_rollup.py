"""The report rollup (router/ledger/_rollup.py) gives the same figures as reading the rows.

Every test compares a report answered from the rollup (whole-day bounds) with the same report
answered from the rows (bounds one second off a whole day, which makes `summarize` scan the
rows, on a ledger whose rows all sit strictly inside those bounds), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from router._records import RequestRecord
from router.cli import main
from router.ledger import Report, ReportRow, _rollup, open_ledger, summarize, verify
from router.ledger import _report_sql as q
from router.ledger._engine import create_ledger_engine, resolve_url
from router.ledger._format import ESTIMATED_NOTE, as_table
from router.ledger._migrate import upgrade
from router.ledger._write import insert_records
from tests.ledger_helpers.builders import T0, attempt, make_record
from tests.test_report_filters import FIGURES

pytest_plugins = ["tests.ledger_helpers.fixtures"]

GROUPS = (None, "day", "week", "month", "team", "app", "tier", "model")
ROW_SCAN = T0 - timedelta(days=30) + timedelta(seconds=1)  # not a whole day: reads the rows
ROLLUP = T0 - timedelta(days=30)
SPAN_DAYS = 40
_FIELDS = (*FIGURES, "escalation_reasons")


def random_record(rng: random.Random, rid: str) -> RequestRecord:
    """A consistent record with random day, team, app, tier, reason, money and latency."""
    frontier = rng.random() < 0.4
    price = f"{rng.randint(1, 300) / 100}"
    atts = (
        (attempt("local", price_in="0", price_out="0"), attempt("frontier", price_in=price))
        if frontier
        else (attempt("local", price_in="0", price_out="0"),)
    )
    created = T0 + timedelta(days=rng.randrange(SPAN_DAYS), seconds=rng.randrange(1, 86399))
    return make_record(
        rid,
        attempts=atts,
        created_at=created + timedelta(microseconds=rng.randrange(1, 999_999)),
        baseline=f"{rng.randint(0, 10**8)}e-10",
        team=rng.choice(["a", "b", "c", None]),
        app=rng.choice(["x", "y", None]),
        model=rng.choice(["gpt-5.4", "claude-opus-4.6"]) if frontier else "qwen3.5:9b",
        status=rng.choice(["ok"] * 9 + ["error"]),
        verification=rng.choice(["passed", "failed", None]),
        escalation_reason=rng.choice(["low_confidence", "verification_failed"])
        if frontier
        else None,
        baseline_estimated=rng.random() < 0.5,
        latency_ms=rng.lognormvariate(5, 1.2),
    )


def write(url: str, outbox: Path, records: list[RequestRecord]) -> None:
    with open_ledger(url, outbox_dir=outbox) as ledger:
        for rec in records:
            ledger.record(rec)


def ledger_of(url: str, outbox: Path, n: int, seed: int) -> list[RequestRecord]:
    rng = random.Random(seed)
    records = [random_record(rng, f"r{seed}-{i}") for i in range(n)]
    write(url, outbox, records)
    return records


def figures(row: ReportRow) -> tuple[object, ...]:
    return tuple(getattr(row, f) for f in _FIELDS)


def assert_same(fast: Report, slow: Report, *, latency_rel: float = 0.0) -> None:
    assert [r.key for r in fast.rows] == [r.key for r in slow.rows]
    for a, b in zip((*fast.rows, fast.total), (*slow.rows, slow.total), strict=True):
        assert figures(a) == figures(b), a.key
        assert [(s.tier, s.count) for s in a.latency] == [(s.tier, s.count) for s in b.latency]
        for sa, sb in zip(a.latency, b.latency, strict=True):
            assert sa.p50_ms == pytest.approx(sb.p50_ms, rel=latency_rel, abs=1e-9)
            assert sa.p95_ms == pytest.approx(sb.p95_ms, rel=latency_rel, abs=1e-9)
            assert sa.estimated == (latency_rel > 0)


def both(url: str, group_by: str | None, days: tuple[int, int] | None = None) -> None:
    """The rollup's report and the rows' report of the same requests agree."""
    since, until = ROLLUP, T0 + timedelta(days=SPAN_DAYS + 30)
    if days is not None:
        since, until = T0 + timedelta(days=days[0]), T0 + timedelta(days=days[1])
    fast = summarize(url, since, until, group_by)  # type: ignore[arg-type]
    slow = summarize(
        url,
        since + timedelta(seconds=1) if days is None else since - timedelta(microseconds=1),
        until,
        group_by,  # type: ignore[arg-type]
    )
    assert fast.total.requests
    estimated = fast.total.requests > _rollup.EXACT_LATENCY_UP_TO
    assert_same(fast, slow, latency_rel=0.01 if estimated else 0.0)


@pytest.mark.slow
@pytest.mark.parametrize("group_by", GROUPS)
def test_rollup_equals_the_rows_on_a_random_ledger(
    ledger_url: str, outbox_dir: Path, group_by: str | None
) -> None:
    ledger_of(ledger_url, outbox_dir, 300, seed=GROUPS.index(group_by))
    both(ledger_url, group_by)
    both(ledger_url, group_by, days=(3, 17))


@pytest.mark.slow
def test_estimated_percentiles_are_within_one_percent(
    ledger_url: str, outbox_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger_of(ledger_url, outbox_dir, 400, seed=7)
    monkeypatch.setattr(_rollup, "EXACT_LATENCY_UP_TO", 0)
    for group_by in ("day", "team", "tier", None):
        both(ledger_url, group_by)
    report = summarize(ledger_url, ROLLUP)
    assert report.total.latency[0].estimated
    assert ESTIMATED_NOTE in as_table(report)
    assert report.to_dict()["total"]["latency_ms"]["local"]["estimated"] is True


def test_rows_committed_after_a_report_are_counted(ledger_url: str, outbox_dir: Path) -> None:
    first = ledger_of(ledger_url, outbox_dir, 40, seed=1)
    before = summarize(ledger_url, ROLLUP, group_by="team")
    ledger_of(ledger_url, outbox_dir, 25, seed=2)
    write(ledger_url, outbox_dir, first[:10])  # replays: already recorded, counted once
    after = summarize(ledger_url, ROLLUP, group_by="team")
    assert after.total.requests == before.total.requests + 25 == 65
    both(ledger_url, "team")
    both(ledger_url, "day")


@pytest.mark.slow
def test_rows_edited_or_deleted_by_hand_leave_the_rollup_exact(
    ledger_url: str, outbox_dir: Path
) -> None:
    ledger_of(ledger_url, outbox_dir, 60, seed=3)
    engine = create_ledger_engine(resolve_url(ledger_url))
    with engine.begin() as conn:
        conn.execute(text("UPDATE requests SET team = 'moved', savings_usd = 0 WHERE team = 'a'"))
        conn.execute(text("DELETE FROM requests WHERE app = 'x'"))
    engine.dispose()
    for group_by in ("team", "app", None):
        both(ledger_url, group_by)
    # savings = 0 breaks those requests' own check; the rollup and report checks still pass
    assert [p.message for p in verify(ledger_url).problems if not p.request_id] == []


def test_verify_finds_a_tampered_rollup_and_rebuild_repairs_it(
    ledger_url: str, outbox_dir: Path
) -> None:
    ledger_of(ledger_url, outbox_dir, 30, seed=4)
    summarize(ledger_url, ROLLUP)  # folds the pending rows into the sums
    engine = create_ledger_engine(resolve_url(ledger_url))
    with engine.begin() as conn:
        conn.execute(text("UPDATE report_rollup SET cost_usd = cost_usd + 1"))
        conn.execute(text("UPDATE report_latency SET requests = requests + 1 WHERE dim = 'app'"))
    engine.dispose()
    # whole-day reports read the rollup (so they show the tampering); the others, the rows
    assert (
        summarize(ledger_url, ROLLUP).total.cost_usd
        > summarize(ledger_url, ROW_SCAN).total.cost_usd
    )
    messages = [p.message for p in verify(ledger_url).problems]
    assert any(m.startswith("report_rollup differs") for m in messages)
    assert any(m.startswith("report_latency (app) differs") for m in messages)
    result = CliRunner().invoke(main, ["ledger", "rebuild-rollup", "--ledger", ledger_url])
    assert result.exit_code == 0 and "rebuilt from its rows" in result.output
    assert verify(ledger_url).ok
    both(ledger_url, "app")


def test_migration_sums_in_rows_written_before_it(empty_url: str) -> None:
    engine = create_ledger_engine(resolve_url(empty_url))
    upgrade(engine, "0005")
    rng = random.Random(5)
    with engine.begin() as conn:
        insert_records(conn, [random_record(rng, f"old{i}") for i in range(50)], ingest="direct")
    upgrade(engine)
    engine.dispose()
    for group_by in ("day", "model"):
        both(empty_url, group_by)
    assert verify(empty_url).ok


@pytest.mark.slow
def test_a_writer_during_reports(ledger_url: str, outbox_dir: Path) -> None:
    """Reports run while a writer commits; each sees whole batches, the last sees them all."""
    ledger_of(ledger_url, outbox_dir, 20, seed=6)
    rng = random.Random(8)
    more = [random_record(rng, f"w{i}") for i in range(120)]
    writer = threading.Thread(target=write, args=(ledger_url, outbox_dir / "w", more))
    seen = []
    writer.start()
    while writer.is_alive():
        seen.append(summarize(ledger_url, ROLLUP).total.requests)
    writer.join()
    assert seen == sorted(seen) and all(20 <= n <= 140 for n in seen)
    assert summarize(ledger_url, ROLLUP).total.requests == 140
    both(ledger_url, "day")
    assert verify(ledger_url).ok


def test_a_report_folds_pending_rows_and_reads_exactly_without_folding(
    ledger_url: str, outbox_dir: Path
) -> None:
    ledger_of(ledger_url, outbox_dir, 30, seed=9)
    engine = create_ledger_engine(resolve_url(ledger_url))
    pending = text("SELECT count(*) FROM report_pending")
    with engine.connect() as conn:
        assert conn.execute(pending).scalar() == 30  # the writers only marked their rows
    both(ledger_url, "model")
    with engine.connect() as conn:
        assert conn.execute(pending).scalar() == 0
    ledger_of(ledger_url, outbox_dir, 20, seed=10)
    plan = _rollup.s.plan_for("team", _rollup.q.Window(ROLLUP, None), {})
    assert plan is not None
    with engine.connect() as conn:  # as a reader that could not fold: sums + pending rows
        sums = _rollup._sums(conn, plan)
        assert conn.execute(pending).scalar() == 20
    assert sum(r["requests"] for r in sums.values()) == 50
    engine.dispose()
    both(ledger_url, "team")


def test_mid_day_bounds_and_other_groupings_read_the_rows() -> None:
    window = _rollup.q.Window(datetime(2025, 1, 1, 12, tzinfo=UTC), None)
    assert _rollup.s.plan_for(None, window, {}) is None
    whole = _rollup.q.Window(datetime(2025, 1, 1, tzinfo=UTC), None)
    assert _rollup.s.plan_for("team", whole, {"app": "x"}) is None  # two histogram dimensions
    assert _rollup.s.plan_for("day", whole, {"tier": "local", "team": "a"}) is not None
    assert _rollup.s.plan_for("user", whole, {}) is None


def test_estimate_interpolates_like_percentile_cont() -> None:
    n, p50, p95 = _rollup.estimate({0: 1, 100: 1})
    low, high = 1.02**0.5, 1.02**100.5
    assert (
        n == 2
        and p50 == pytest.approx((low + high) / 2)
        and p95 == pytest.approx(low + (high - low) * 0.95)
    )
    assert _rollup.estimate({5: 3})[1:] == (1.02**5.5, 1.02**5.5)


FILTERS = (
    {"team": "a"},
    {"team": "(none)"},
    {"tier": "frontier", "app": "x"},
    {"team": ["a", "b"]},  # several values: the rows answer
)


@pytest.mark.parametrize("kept", FILTERS, ids=lambda f: ",".join(f"{k}={v}" for k, v in f.items()))
@pytest.mark.parametrize("group_by", [None, "month", "team,tier"])
def test_filtered_and_two_level_reports_agree_with_the_rows(
    ledger_url: str, outbox_dir: Path, kept: dict[str, object], group_by: str | None
) -> None:
    """The report's filters and two-level grouping meet the rollup: where it can answer
    (one value per filter, one level) it must give the rows' figures; elsewhere the rows do."""
    ledger_of(ledger_url, outbox_dir, 200, seed=7)
    until = T0 + timedelta(days=SPAN_DAYS + 30)
    fast = summarize(ledger_url, ROLLUP, until, group_by, **kept)  # type: ignore[arg-type]
    slow = summarize(ledger_url, ROW_SCAN - timedelta(days=1), until, group_by, **kept)  # type: ignore[arg-type]
    assert fast.total.requests
    assert_same(fast, slow)
    if group_by is not None:
        assert sum(r.requests for r in fast.rows) == fast.total.requests


def test_the_rollup_answers_single_value_filters_and_declines_the_rest(ledger_url: str) -> None:
    engine = create_ledger_engine(resolve_url(ledger_url))
    try:
        with engine.connect() as conn:
            one = q.Filters(ROLLUP, None, team=("a",), tier=("local",))
            assert _rollup.report_rows(conn, ("month",), one) is not None
            assert _rollup.report_rows(conn, ("month", "tier"), one) is None
            assert _rollup.report_rows(conn, (), q.Filters(ROLLUP, team=("a", "b"))) is None
            assert _rollup.report_rows(conn, (), q.Filters(ROW_SCAN)) is None
    finally:
        engine.dispose()
