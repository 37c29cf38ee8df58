"""`router demo`: the main job runs on embedded defaults and tells the truth about itself."""

from __future__ import annotations

import json
from decimal import Decimal

from click.testing import CliRunner

from router._fakes import MemoryLedger
from router.cli import main
from router.demo import run_demo


def test_demo_json_summary_adds_up():
    result = CliRunner().invoke(main, ["demo", "--json", "--no-ledger", "--limit", "40"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["requests"] == 40
    assert summary["local"] + summary["frontier"] + summary["errors"] == 40
    assert summary["errors"] == 0 and summary["local"] > 0 and summary["frontier"] > 0
    spend, baseline = Decimal(summary["spend_usd"]), Decimal(summary["baseline_usd"])
    assert Decimal(summary["savings_usd"]) == baseline - spend
    assert spend < baseline
    assert summary["simulated"] is True


def test_demo_table_says_the_models_are_simulated_and_why_requests_went_where():
    result = CliRunner().invoke(main, ["demo", "--no-ledger", "--limit", "20"])
    assert result.exit_code == 0, result.output
    assert "simulated models" in result.output
    assert "-> local" in result.output
    assert "saved" in result.output


def test_demo_records_every_request_in_the_ledger():
    ledger = MemoryLedger()
    summary = run_demo(ledger=ledger, limit=25)
    assert len(ledger.records) == 25
    assert sum(r.cost_usd for r in ledger.records) == summary.spend_usd
    assert sum(r.baseline_cost_usd for r in ledger.records) == summary.baseline_usd
    assert {r.app for r in ledger.records} == {"router-demo"}


def test_demo_otel_console_prints_spans_and_metrics_to_stderr():
    runner = CliRunner()
    result = runner.invoke(main, ["demo", "--json", "--no-ledger", "--limit", "2", "--otel", "console"])
    assert result.exit_code == 0, result.output
    assert '"name": "route"' in result.stderr
    assert "router.requests" in result.stderr
    assert json.loads(result.stdout)["requests"] == 2


def test_demo_json_and_the_ledger_report_agree_to_the_cent(tmp_path):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    runner = CliRunner()
    demo = runner.invoke(main, ["demo", "--json", "--limit", "30", "--ledger", url])
    assert demo.exit_code == 0, demo.output
    summary = json.loads(demo.stdout)
    report = runner.invoke(main, ["report", "--ledger", url, "--format", "json"])
    assert report.exit_code == 0, report.output
    total = json.loads(report.stdout)["total"]
    assert total["requests"] == summary["requests"] == 30
    assert Decimal(total["cost_usd_exact"]) == Decimal(summary["spend_usd"])
    assert Decimal(total["baseline_cost_usd_exact"]) == Decimal(summary["baseline_usd"])
    assert Decimal(total["savings_usd_exact"]) == Decimal(summary["savings_usd"])
    assert total["local_requests"] == summary["local"]
