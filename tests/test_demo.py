"""`router demo`: the main job runs on embedded defaults and tells the truth about itself."""

from __future__ import annotations

import io
import json
import re
from decimal import Decimal

from click.testing import CliRunner

from router._fakes import MemoryLedger
from router.cli import main
from router.cli._core_commands import _progress_printer
from router.demo import run_demo, simulated_models
from router.demo._run import DemoSummary
from router.policy import parse_policy


def test_demo_json_summary_adds_up():
    result = CliRunner().invoke(
        main, ["demo", "--json", "--no-ledger", "--no-chart", "--limit", "40"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["requests"] == 40
    assert summary["local"] + summary["frontier"] + summary["errors"] == 40
    assert summary["errors"] == 0 and summary["local"] > 0 and summary["frontier"] > 0
    spend, baseline = Decimal(summary["spend_usd"]), Decimal(summary["baseline_usd"])
    assert Decimal(summary["savings_usd"]) == baseline - spend
    assert spend < baseline
    assert summary["simulated"] is True
    assert summary["chart"] is None


def test_demo_table_says_the_models_are_simulated_and_why_requests_went_where():
    result = CliRunner().invoke(main, ["demo", "--no-ledger", "--limit", "20"])
    assert result.exit_code == 0, result.output
    assert "simulated models" in result.output
    decisions = re.findall(
        r"-> (local|frontier) +\S+ +difficulty ([0-9.]+) (<|>=) threshold ([0-9.]+)$",
        result.output,
        flags=re.M,
    )
    assert len(decisions) >= 10 and {tier for tier, *_ in decisions} == {"local", "frontier"}
    for tier, score, sign, threshold in decisions:  # the reason printed is why it went there
        above = float(score) >= float(threshold)
        assert (tier, sign) == (("frontier", ">=") if above else ("local", "<")), (tier, score)
    local = int(re.search(r"answered locally (\d+) ", result.output)[1])  # type: ignore[index]
    frontier = int(re.search(r"sent to frontier (\d+) ", result.output)[1])  # type: ignore[index]
    assert local > 0 and frontier > 0 and local + frontier == 20
    assert re.search(r"saved +\$[0-9.]+ \([0-9.]+%\)", result.output)


def test_demo_records_every_request_in_the_ledger():
    ledger = MemoryLedger()
    summary = run_demo(ledger=ledger, limit=25)
    assert len(ledger.records) == 25
    assert sum(r.cost_usd for r in ledger.records) == summary.spend_usd
    assert sum(r.baseline_cost_usd for r in ledger.records) == summary.baseline_usd
    assert {r.app for r in ledger.records} == {"router-demo"}


def test_demo_otel_console_prints_spans_and_metrics_to_stderr():
    runner = CliRunner()
    result = runner.invoke(
        main, ["demo", "--json", "--no-ledger", "--no-chart", "--limit", "2", "--otel", "console"]
    )
    assert result.exit_code == 0, result.output
    assert '"name": "route"' in result.stderr
    assert "router.requests" in result.stderr
    assert json.loads(result.stdout)["requests"] == 2


def test_demo_json_and_the_ledger_report_agree_to_the_cent(tmp_path):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    runner = CliRunner()
    demo = runner.invoke(main, ["demo", "--json", "--no-chart", "--limit", "30", "--ledger", url])
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


def test_demo_writes_the_savings_chart_and_names_it(tmp_path):
    chart = tmp_path / "charts" / "savings.png"
    result = CliRunner().invoke(
        main, ["demo", "--no-ledger", "--limit", "12", "--chart", str(chart)]
    )
    assert result.exit_code == 0, result.output
    assert chart.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert chart.stat().st_size > 10_000  # a drawn figure, not an empty canvas
    assert f"chart            {chart}" in result.stdout


def test_demo_chart_defaults_to_the_data_directory_and_json_names_it(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    result = CliRunner().invoke(main, ["demo", "--json", "--no-ledger", "--limit", "3"])
    assert result.exit_code == 0, result.output
    chart = json.loads(result.stdout)["chart"]
    assert chart == str(tmp_path / "cost-router" / "demo-savings.png")
    assert (tmp_path / "cost-router" / "demo-savings.png").is_file()


def test_demo_ends_by_saying_the_models_were_simulated():
    result = CliRunner().invoke(main, ["demo", "--no-ledger", "--no-chart", "--limit", "4"])
    assert result.exit_code == 0, result.output
    assert result.stdout.rstrip().endswith("use a real Ollama and real API keys.")
    assert "Models are SIMULATED" in result.stdout


def test_demo_progress_is_plain_lines_when_stderr_is_not_a_terminal():
    result = CliRunner().invoke(main, ["demo", "--no-ledger", "--no-chart", "--limit", "8"])
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [f"  routed {n}/8" for n in (2, 4, 6, 8)]
    assert "\r" not in result.stderr


def test_demo_json_keeps_its_keys_for_scripts():
    result = CliRunner().invoke(
        main, ["demo", "--json", "--no-ledger", "--no-chart", "--limit", "2"]
    )
    keys = set(json.loads(result.stdout))
    assert keys >= {
        "requests",
        "local",
        "frontier",
        "errors",
        "spend_usd",
        "baseline_usd",
        "savings_usd",
        "quality",
        "frontier_quality",
        "escalations",
        "simulated",
        "ledger",
        "ledger_since",
    }


def test_demo_progress_is_a_live_bar_on_a_terminal(monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    monkeypatch.setattr("sys.stderr", screen)
    show = _progress_printer()
    for done in range(1, 61):
        show(done, 60)
    frames = screen.getvalue().split("\r")[1:]
    assert 10 <= len(frames) <= 31  # redrawn as it fills, not once per request
    assert frames[0].startswith("  routing [#") and frames[-1] == f"  routing [{'#' * 30}] 60/60\n"


def test_wired_policy_overrides_use_the_loopback_endpoints_too():
    policy = parse_policy(
        "extends: default\nname: t\napps:\n  refunds:\n    routing: {threshold: 0.4}\n"
    )
    assert policy.for_request(app="refunds").frontier.models[0].api_base is None  # fills its cache
    with simulated_models([]) as models:
        wired = models.wire(policy).for_request(app="refunds")
        assert wired.routing.threshold == 0.4
        assert wired.local.host == models.ollama.url
        assert {m.api_base for m in wired.frontier.models} == {
            models.openai.url + "/v1",
            models.anthropic.url,
        }


def test_json_money_is_plain_decimal_text_even_when_zero():
    summary = DemoSummary(spend_usd=Decimal("0.0000100"), baseline_usd=Decimal("0.0000100"))
    money = {k: summary.as_json()[k] for k in ("spend_usd", "baseline_usd", "savings_usd")}
    expected = {"spend_usd": "0.0000100", "baseline_usd": "0.0000100", "savings_usd": "0.0000000"}
    assert money == expected  # str(Decimal) would print the zero as 0E-7
