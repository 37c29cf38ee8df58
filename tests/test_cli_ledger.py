"""`router db`, `router ledger` and `router report` through click's CliRunner."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from router.cli import main
from router.ledger import Outbox, head_revision, open_ledger, summarize
from router.ledger._engine import resolve_url
from router.ledger._format import as_table
from tests.ledger_helpers.builders import escalated, make_record

pytest_plugins = ["tests.ledger_helpers.fixtures"]


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def filled(ledger_url: str, outbox_dir: Path) -> str:
    with open_ledger(ledger_url, outbox_dir=outbox_dir) as ledger:
        ledger.record(make_record("a"))
        ledger.record(escalated("b"))
    return ledger_url


def test_db_upgrade_and_current(empty_url: str) -> None:
    code, out, _ = run("db", "current", "--ledger", empty_url)
    assert code == 0 and "(no ledger tables)" in out and "router db upgrade" in out
    code, out, _ = run("db", "upgrade", "--ledger", empty_url)
    assert code == 0 and "latest revision" in out
    code, out, _ = run("db", "current", "--ledger", empty_url)
    assert code == 0 and f"current: {head_revision()}" in out and "up to date" in out


def test_report_formats(filled: str, tmp_path: Path) -> None:
    code, out, _ = run("report", "--ledger", filled, "--group-by", "team")
    assert code == 0 and as_table(summarize(filled, group_by="team")) in out  # the figures too
    rows = [line.split()[:2] for line in out.splitlines() if line.startswith(("support", "total"))]
    assert rows == [["support", "2"], ["total", "2"]]
    code, out, _ = run("report", "--ledger", filled, "--format", "json", "--since", "2025-01-01")
    assert code == 0 and json.loads(out) == summarize(filled, since=date(2025, 1, 1)).to_dict()
    assert json.loads(out)["total"]["requests"] == 2
    code, out, _ = run("report", "--ledger", filled, "--format", "csv", "--until", "2024-12-31")
    assert code == 0 and out.splitlines()[-1].startswith("total,0,")
    chart = tmp_path / "c.png"
    code, out, err = run("report", "--ledger", filled, "--format", "html", "--chart", str(chart))
    assert code == 0 and out.startswith("<!doctype html>") and chart.exists() and "chart" in err


def test_verify_ok_and_tampered(filled: str) -> None:
    code, out, _ = run("ledger", "verify", "--ledger", filled)
    assert code == 0 and "checked 2 request(s), 3 attempt(s): OK" in out
    engine = create_engine(resolve_url(filled))
    with engine.begin() as conn:  # someone edits a cost by hand
        conn.execute(
            text(
                "UPDATE attempts SET tokens_out = tokens_out + 1 WHERE request_id = 'b' AND seq = 1"
            )
        )
        conn.execute(text("UPDATE requests SET savings_usd = 0 WHERE request_id = 'a'"))
    engine.dispose()
    code, out, err = run("ledger", "verify", "--ledger", filled)
    assert code == 1 and "2 problem(s)" in out
    assert "b: attempt 1 cost" in err and "a: savings" in err


def test_verify_catches_a_request_that_disagrees_with_its_attempts(filled: str) -> None:
    engine = create_engine(resolve_url(filled))
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM attempts WHERE request_id = 'b' AND seq = 0"))
    engine.dispose()
    code, _, err = run("ledger", "verify", "--ledger", filled)
    assert code == 1 and "b: 1 attempt row(s) stored, 2 recorded" in err


def test_flush(ledger_url: str, outbox_dir: Path) -> None:
    Outbox(outbox_dir).append(make_record("late"))
    code, out, _ = run("ledger", "flush", "--ledger", ledger_url, "--outbox", str(outbox_dir))
    assert code == 0 and "replayed 1 record(s)" in out
    code, out, _ = run("ledger", "flush", "--ledger", ledger_url, "--outbox", str(outbox_dir))
    assert code == 0 and "replayed 0 record(s)" in out


def test_errors_go_to_stderr_with_a_hint(empty_url: str, tmp_path: Path) -> None:
    code, out, err = run("report", "--ledger", str(tmp_path / "none.db"))
    assert code == 1 and out == "" and "no ledger at" in err and "--ledger" in err
    if empty_url.startswith("postgresql"):
        code, _, err = run("report", "--ledger", empty_url)
        assert code == 1 and "router db upgrade --ledger" in err
    code, _, err = run("report", "--ledger", "mysql://x/y")
    assert code == 1 and "unsupported" in err


def test_help_has_examples() -> None:
    for cmd in (["db", "--help"], ["ledger", "--help"], ["report", "--help"]):
        code, out, _ = run(*cmd)
        assert code == 0 and "Examples:" in out
