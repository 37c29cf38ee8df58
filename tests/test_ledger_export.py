"""`router ledger export`: the rows behind a report, under its filters, adding up to it exactly."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from router.cli import main
from router.ledger import summarize
from router.ledger._export import COLUMNS, export_csv
from tests.ledger_helpers.report_data import FEB, JAN, write_mixed

pytest_plugins = ["tests.ledger_helpers.fixtures"]


@pytest.fixture
def mixed(ledger_url: str, outbox_dir: Path) -> str:
    return write_mixed(ledger_url, outbox_dir)


MONEY = ("cost_usd", "local_cost_usd", "baseline_cost_usd", "savings_usd")


def exported(url: str, **kw: object) -> list[dict[str, str]]:
    out = io.StringIO()
    count = export_csv(out, url, **kw)  # type: ignore[arg-type]
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert len(rows) == count
    return rows


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"team": "a"},
        {"tier": ["frontier", "(none)"]},
        {"since": JAN.replace(day=10), "until": FEB.replace(day=4)},
        {"app": "x", "model": "gpt-5.4"},
    ],
)
def test_exported_rows_add_up_to_the_report_exactly(mixed: str, kw: dict[str, object]) -> None:
    rows = exported(mixed, **kw)
    total = summarize(mixed, **kw).total  # type: ignore[arg-type]
    assert len(rows) == total.requests
    for name in MONEY:
        assert sum(Decimal(r[name]) for r in rows) == getattr(total, name), name


def test_rows_are_oldest_first_with_exact_money_and_no_user(mixed: str) -> None:
    rows = exported(mixed)
    assert list(rows[0]) == list(COLUMNS) and "user_id" not in COLUMNS
    assert [r["created_at"] for r in rows] == sorted(r["created_at"] for r in rows)
    assert rows[0]["request_id"] == "j1" and rows[0]["baseline_cost_usd"] == "0.0040000000"
    error = next(r for r in rows if r["request_id"] == "f1")
    assert (error["tier"], error["team"], error["status"]) == ("", "", "error")


def test_cli_export_to_a_file_and_to_stdout(mixed: str, tmp_path: Path) -> None:
    runner = CliRunner()
    target = tmp_path / "out.csv"
    args = ["ledger", "export", "--ledger", mixed, "--team", "b"]
    to_file = runner.invoke(main, [*args, "-o", str(target)])
    assert to_file.exit_code == 0, to_file.output
    assert "exported 2 request(s)" in to_file.stderr
    to_stdout = runner.invoke(main, args)
    assert to_stdout.stdout == target.read_text(encoding="utf-8")
    assert [r["request_id"] for r in csv.DictReader(io.StringIO(to_stdout.stdout))] == ["j3", "f2"]
