"""Reports: exact money, per-group figures, percentiles, formats, chart, and no litellm."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from router.errors import LedgerError
from router.ledger import Report, open_ledger, summarize
from router.ledger._chart import write_chart
from router.ledger._format import as_csv, as_html, as_json, as_table
from tests.ledger_helpers.builders import T0, attempt, escalated, hours, make_record

pytest_plugins = ["tests.ledger_helpers.fixtures"]

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def filled(ledger_url: str, outbox_dir: Path) -> str:
    """10 requests over 3 days and 2 teams: 6 local, 3 escalated, 1 error; known latencies."""
    with open_ledger(ledger_url, outbox_dir=outbox_dir) as ledger:
        for i in range(6):
            ledger.record(
                make_record(
                    f"l{i}",
                    created_at=T0 + hours(i * 5),
                    team="a",
                    attempts=(
                        attempt("local", price_in="0", price_out="0", latency_ms=100.0 * (i + 1)),
                    ),
                )
            )
        for i in range(3):
            ledger.record(
                escalated(
                    f"e{i}",
                    created_at=T0 + hours(30 + i * 10),
                    team="b",
                    verification="failed" if i == 0 else "passed",
                )
            )
        ledger.record(
            make_record(
                "x",
                attempts=(),
                status="error",
                tier=None,
                model=None,
                team=None,
                created_at=T0 + hours(60),
                baseline="0",
            )
        )
    return ledger_url


def test_totals_are_exact(filled: str) -> None:
    total = summarize(filled).total
    assert (total.requests, total.local_requests, total.escalated, total.errors) == (10, 6, 3, 1)
    assert total.verification_failures == 1 and total.escalation_reasons == {"low_confidence": 3}
    assert total.cost_usd == Decimal("0.03")  # 3 x (1000 x 2.5 + 500 x 15) / 1e6
    assert total.baseline_cost_usd == Decimal("0.09")
    assert total.savings_usd == Decimal("0.06")
    assert total.savings_pct == Decimal("0.06") * 100 / Decimal("0.09")
    assert total.cost_per_1k_usd == Decimal("3")
    assert total.local_share == 0.6 and total.escalation_rate == 0.3


def test_percentiles_interpolate_like_percentile_cont(filled: str) -> None:
    local = summarize(filled).total.latency_of("local")
    assert local is not None and local.count == 6
    assert local.p50_ms == pytest.approx(350.0)  # 100..600: between 300 and 400
    assert local.p95_ms == pytest.approx(575.0)
    frontier = summarize(filled).total.latency_of("frontier")
    assert frontier is not None and (frontier.count, frontier.p50_ms) == (3, 900.0)


@pytest.mark.parametrize(
    "group_by, keys",
    [
        ("day", ["2025-01-01", "2025-01-02", "2025-01-03"]),
        ("week", ["2024-12-30"]),
        ("month", ["2025-01"]),
        ("team", ["(none)", "a", "b"]),
        ("tier", ["(none)", "frontier", "local"]),
        ("model", ["(none)", "gpt-5.4", "qwen3.5:9b"]),
        ("app", ["helpdesk"]),
    ],
)
def test_group_rows_add_up_to_the_total(filled: str, group_by: str, keys: list[str]) -> None:
    report = summarize(filled, group_by=group_by)  # type: ignore[arg-type]
    assert [r.key for r in report.rows] == keys
    for name in ("requests", "cost_usd", "baseline_cost_usd", "savings_usd", "escalated"):
        assert sum(getattr(r, name) for r in report.rows) == getattr(report.total, name)


def test_since_is_inclusive_and_until_exclusive(filled: str) -> None:
    report = summarize(filled, since=date(2025, 1, 2), until=datetime(2025, 1, 3))
    assert report.total.requests == 3  # hours 25, 30, 40 (hour 50 is on the 3rd)
    assert summarize(filled, since=T0 + hours(60)).total.requests == 1


def test_empty_ledger_reports_zeros(ledger_url: str) -> None:
    report = summarize(ledger_url, group_by="day")
    assert report.rows == () and report.total.requests == 0
    assert report.total.savings_pct is None and report.total.cost_per_1k_usd is None
    assert "total" in as_table(report)


def test_json_carries_exact_and_rounded_money(filled: str) -> None:
    data = json.loads(as_json(summarize(filled, group_by="team")))
    assert data["total"]["cost_usd"] == "0.03"
    assert data["total"]["cost_usd_exact"] == "0.0300000000"
    assert data["total"]["savings_pct"] == "66.67"
    assert [r["key"] for r in data["rows"]] == ["(none)", "a", "b"]


def test_display_rounds_half_to_even(tmp_path: Path, ledger_url: str) -> None:
    with open_ledger(ledger_url, outbox_dir=tmp_path / "o") as ledger:
        ledger.record(make_record("h", baseline="0.125"))  # 0.125 -> 0.12, not 0.13
    data = json.loads(as_json(summarize(ledger_url)))
    assert data["total"]["baseline_cost_usd"] == "0.12"
    assert data["total"]["baseline_cost_usd_exact"] == "0.1250000000"


def test_csv_and_html_and_table(filled: str) -> None:
    report = summarize(filled, group_by="day")
    lines = list(csv.DictReader(io.StringIO(as_csv(report))))
    assert [r["key"] for r in lines] == ["2025-01-01", "2025-01-02", "2025-01-03", "total"]
    assert lines[-1]["savings_usd_exact"] == "0.0600000000"
    assert lines[-1]["escalation_reasons"] == "low_confidence=3"
    assert "<table>" in as_html(report) and "2025-01-02" in as_html(report)
    table = as_table(report)
    assert "escalation reasons: low_confidence=3" in table and "0.06" in table


def test_chart_is_a_png(filled: str, tmp_path: Path) -> None:
    path = tmp_path / "chart.png"
    write_chart(summarize(filled, group_by="day"), path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="grouped report"):
        write_chart(summarize(filled), path)


def test_bad_group_and_missing_ledger(tmp_path: Path) -> None:
    with pytest.raises(LedgerError, match="cannot group by"):
        summarize(str(tmp_path / "x.db"), group_by="hour")  # type: ignore[arg-type]
    with pytest.raises(LedgerError, match="no ledger at"):
        summarize(str(tmp_path / "x.db"))


def test_report_to_dict_is_json_ready(filled: str) -> None:
    report = summarize(filled, group_by="week", since=date(2025, 1, 1))
    assert isinstance(report, Report)
    data = json.loads(json.dumps(report.to_dict()))  # JSON-ready: survives a round trip
    assert (data["currency"], data["group_by"]) == ("USD", "week")
    assert (data["since"], data["until"]) == ("2025-01-01T00:00:00+00:00", None)
    (week,) = data["rows"]
    total = data["total"]
    assert week["key"] == "2024-12-30"
    assert (week["keys"], total["keys"]) == (["2024-12-30"], [])
    assert {k: v for k, v in week.items() if k not in ("key", "keys")} == {
        k: v for k, v in total.items() if k not in ("key", "keys")
    }  # one week holds all ten requests
    assert (total["requests"], total["local_requests"], total["escalated"]) == (10, 6, 3)
    assert (total["errors"], total["verification_failures"]) == (1, 1)
    assert (total["local_share"], total["escalation_rate"]) == (0.6, 0.3)
    assert total["escalation_reasons"] == {"low_confidence": 3}
    assert (total["cost_usd"], total["baseline_cost_usd"], total["savings_usd"]) == (
        "0.03",
        "0.09",
        "0.06",
    )
    assert total["savings_pct"] == "66.67" and total["cost_per_1k_requests_usd"] == "3.00"
    assert total["latency_ms"]["local"] == {"count": 6, "p50": 350.0, "p95": 575.0}


@pytest.mark.slow  # a fresh interpreter
def test_report_commands_never_import_litellm(filled: str, tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from router.cli import main\n"
        "r = CliRunner().invoke(main, ['report', '--ledger', sys.argv[1], '--group-by', 'day',"
        " '--format', 'json', '--chart', sys.argv[2]])\n"
        "assert r.exit_code == 0, r.output\n"
        "r = CliRunner().invoke(main, ['ledger', 'verify', '--ledger', sys.argv[1]])\n"
        "assert r.exit_code == 0, r.output\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('litellm', 'openai'))\n"
        "assert not bad, bad\n"
    )
    done = subprocess.run(  # noqa: PLW1510 - the return code is asserted below
        [sys.executable, "-c", code, filled, str(tmp_path / "c.png")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
