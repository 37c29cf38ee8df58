"""`router report` filters (team, app, tier, model, period) and two-level grouping: every figure
narrows alike, grouped rows add up to the total exactly on SQLite and PostgreSQL, and the table,
CSV and HTML say what finance needs (sub-cent amounts, the period, the definitions)."""

from __future__ import annotations

import csv
import dataclasses
import io
import itertools
import re
from collections import Counter
from dataclasses import asdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from router.cli import main
from router.errors import LedgerError
from router.learning import LearningStore
from router.learning._store import Batch
from router.ledger import ReportRow, summarize
from router.ledger._format import as_csv, as_html, as_table
from router.ledger._report import GROUP_BY_CHOICES
from router.ledger._types import cents
from tests.ledger_helpers.report_data import FEB, JAN, write_mixed
from tests.test_learning_store import attempt_row

pytest_plugins = ["tests.ledger_helpers.fixtures"]


@pytest.fixture
def mixed(ledger_url: str, outbox_dir: Path) -> str:
    return write_mixed(ledger_url, outbox_dir)


# Every money and count figure of a report row (what must reconcile), derived from the row.
FIGURES = tuple(
    f.name
    for f in dataclasses.fields(ReportRow)
    if f.name not in ("key", "keys", "escalation_reasons", "latency")
)


def figures(row: ReportRow) -> dict[str, Any]:
    return {k: v for k, v in asdict(row).items() if k not in ("key", "keys")}


@pytest.mark.parametrize("first, second", list(itertools.combinations(GROUP_BY_CHOICES, 2)))
def test_two_level_rows_add_up_to_the_total_exactly(mixed: str, first: str, second: str) -> None:
    report = summarize(mixed, group_by=f"{first},{second}")
    assert report.group_by == f"{first},{second}" and report.dimensions == (first, second)
    assert all(len(r.keys) == 2 and r.key == " | ".join(r.keys) for r in report.rows)
    assert [r.keys for r in report.rows] == sorted(r.keys for r in report.rows)
    for name in FIGURES:
        assert sum(getattr(r, name) for r in report.rows) == getattr(report.total, name), name
    reasons: Counter[str] = Counter()
    for row in report.rows:
        reasons.update(row.escalation_reasons)
    assert reasons == Counter(report.total.escalation_reasons)


def test_month_and_tier_is_the_reconciliation_finance_asked_for(mixed: str) -> None:
    report = summarize(mixed, group_by=("month", "tier"))
    assert [r.keys for r in report.rows] == [
        ("2025-01", "frontier"),
        ("2025-01", "local"),
        ("2025-02", "(none)"),
        ("2025-02", "frontier"),
        ("2025-02", "local"),
    ]
    jan_frontier = report.rows[0]
    assert (jan_frontier.requests, jan_frontier.cost_usd) == (2, Decimal("0.02"))
    assert jan_frontier.escalation_reasons == {"low_confidence": 2}
    assert jan_frontier.latency_of("frontier") is not None


@pytest.mark.parametrize(
    "dimension, value, requests",
    [
        ("team", "a", 3),
        ("team", "(none)", 1),
        ("app", "x", 3),
        ("tier", "frontier", 3),
        ("model", "qwen3.5:9b", 5),
    ],
)
def test_a_filter_narrows_every_figure_alike(
    mixed: str, dimension: str, value: str, requests: int
) -> None:
    kept = summarize(mixed, **{dimension: value})
    (row,) = [r for r in summarize(mixed, group_by=dimension).rows if r.keys == (value,)]
    assert kept.total.requests == requests
    assert figures(kept.total) == figures(row)
    assert kept.filters == {dimension: (value,)}


def test_filters_combine_with_each_other_and_with_the_period(mixed: str) -> None:
    both = summarize(mixed, team=["a", "b"], tier="frontier", since=JAN.replace(day=10))
    assert both.total.requests == 2  # j3 (b, Jan 20) and f3 (a, Feb 4)
    grouped = summarize(mixed, group_by="team,tier", since=JAN.replace(day=10))
    expected = [r for r in grouped.rows if r.keys in (("a", "frontier"), ("b", "frontier"))]
    assert both.total.cost_usd == sum(r.cost_usd for r in expected)
    by_month = summarize(mixed, group_by="month", team="c")
    assert [(r.key, r.requests) for r in by_month.rows] == [("2025-02", 3)]


def test_learning_spend_follows_the_dimension_filters(mixed: str) -> None:
    store = LearningStore(mixed)
    store.write(Batch(attempts=[attempt_row("j1", "0.50", JAN), attempt_row("j3", "0.25", JAN)]))
    store.close()
    assert summarize(mixed).learning_spend == {"shadow": Decimal("0.75")}
    assert summarize(mixed, team="a").learning_spend == {"shadow": Decimal("0.50")}
    assert summarize(mixed, team="c").learning_spend == {}


@pytest.mark.parametrize("group_by", ["month,tier,team", "month,month", "hour", "day,"])
def test_grouping_by_more_than_two_or_unknown_fields_is_refused(mixed: str, group_by: str) -> None:
    with pytest.raises(LedgerError, match=r"group by|cannot group"):
        summarize(mixed, group_by=group_by)


def test_sub_cent_amounts_never_read_as_zero(mixed: str) -> None:
    single = as_table(summarize(mixed, team="a", group_by="day"))
    (jan5,) = [ln for ln in single.splitlines() if ln.startswith("2025-01-05")]
    assert re.search(r"0\.00 +<0\.01 +<0\.01 +100\.00%", jan5)  # spend 0, baseline 0.004
    assert not re.search(r"0\.00 +0\.00 +0\.00 +100\.00%", single)


def test_a_group_with_no_baseline_shows_no_savings_percentage(mixed: str) -> None:
    table = as_table(summarize(mixed, group_by="team"))
    (none,) = [ln for ln in table.splitlines() if ln.startswith("(none)")]
    assert none.split()[7:9] == ["0.00", "-"]  # savings $ and savings %


def test_two_level_table_and_csv_have_a_column_per_dimension(mixed: str) -> None:
    report = summarize(mixed, group_by="month,tier")
    header, *_ = as_table(report).splitlines()
    assert header.split()[:3] == ["month", "tier", "requests"]
    lines = list(csv.DictReader(io.StringIO(as_csv(report))))
    assert list(lines[0])[:4] == ["key", "month", "tier", "requests"]
    assert (lines[0]["month"], lines[0]["tier"], lines[0]["key"]) == (
        "2025-01",
        "frontier",
        "2025-01 | frontier",
    )
    assert (lines[-1]["key"], lines[-1]["month"], lines[-1]["tier"]) == ("total", "", "")
    exact = sum(Decimal(r["savings_usd_exact"]) for r in lines[:-1])
    assert exact == Decimal(lines[-1]["savings_usd_exact"])


def test_html_states_its_period_filters_definitions_and_estimates(mixed: str) -> None:
    page = as_html(summarize(mixed, since=JAN, until=FEB, team="a", group_by="day"))
    assert "Period: all requests from 2025-01-05T09:00:00+00:00 until " in page
    assert "2025-02-02T09:00:00+00:00 (exclusive), UTC; only requests with team a" in page
    for term in ("Baseline", "Savings", "Escalated", "Spend"):
        assert f"<dt>{term}</dt>" in page
    assert "Baseline estimated for 2 of 2 request(s)" in page
    assert "&lt;0.01" in page
    everything = as_html(summarize(mixed))
    assert "Period: all requests from the first request to the last, UTC." in everything


def test_cli_filters_and_two_level_grouping(mixed: str) -> None:
    runner = CliRunner()
    args = ["report", "--ledger", mixed, "--group-by", "month,tier", "--format", "csv"]
    result = runner.invoke(main, [*args, "--team", "a", "--team", "b", "--tier", "frontier"])
    assert result.exit_code == 0, result.output
    lines = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["month"], r["tier"], r["requests"]) for r in lines] == [
        ("2025-01", "frontier", "2"),
        ("2025-02", "frontier", "1"),
        ("", "", "3"),
    ]
    table = runner.invoke(main, ["report", "--ledger", mixed, "--app", "y", "--model", "gpt-5.4"])
    assert table.exit_code == 0 and "only requests with app y; model gpt-5.4" in table.stdout
    bad = runner.invoke(main, ["report", "--ledger", mixed, "--group-by", "month,tier,team"])
    assert bad.exit_code == 2 and "one or two" in bad.stderr


def test_two_level_table_subtotals_each_first_level_group(mixed: str) -> None:
    report = summarize(mixed, group_by="month,tier")
    lines = as_table(report).splitlines()
    subtotals = [ln.split() for ln in lines if " subtotal " in ln]
    assert [s[:3] for s in subtotals] == [
        ["2025-01", "subtotal", "3"],
        ["2025-02", "subtotal", "6"],
    ]
    feb = summarize(mixed, since=FEB.replace(day=1), until=FEB.replace(month=3, day=1)).total
    money = (feb.cost_usd, feb.baseline_cost_usd, feb.savings_usd)
    assert subtotals[1][6:9] == [str(cents(m)) for m in money]  # spend, baseline, savings
    assert "subtotal" not in as_csv(report) and "subtotal" in as_html(report)
    assert "subtotal" not in as_table(summarize(mixed, group_by="month"))
