"""`router simulate`: known ledgers with hand-computed figures, reconciliation with `router
report`, the CLI contract, and proof that no model is called.

Prices (litellm's bundled map): GPT-5.4 $2.50 / $15, Claude Opus 4.6 $5 / $25 per million tokens
in / out; the local model is free. Every recorded request below has a baseline of $0.01 except
`c` ($0.02).
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from router._records import CapturedContent, RequestRecord
from router.cli import main
from router.errors import LedgerError, PolicyError
from router.ledger import open_ledger, summarize
from router.ledger._admin import upgrade_ledger
from router.policy import Frontier, FrontierModel, Policy, Privacy, Routing, check_policy
from router.simulate import Figures, SimulationReport, price_table, simulate
from router.testing import AnthropicServer, OllamaServer, OpenAIServer, Reply, network_guard
from tests.ledger_helpers.builders import T0, attempt, hours, make_record
from tests.support import LONG_PROMPT, SHORT_PROMPT, loopback_policy, make_router

pytest_plugins = ["tests.ledger_helpers.fixtures"]

ROOT = Path(__file__).resolve().parents[1]


def _policy(threshold: float = 0.5, token_limit: int = 5000, **fields: object) -> Policy:
    """A fresh policy (not `model_copy`, which would share `for_request`'s cache)."""
    routing = Routing(threshold=threshold, token_count_threshold=token_limit)
    return Policy.model_validate({"routing": routing, "verify": {"structural": {}}, **fields})


RECORDED = _policy()
VERSION = price_table(RECORDED).version  # so recorded baselines need no repricing
OPUS_FIRST = Frontier(
    models=(FrontierModel(model="anthropic/claude-opus-4-6"), FrontierModel(model="gpt-5.4"))
)


def _records() -> list[RequestRecord]:
    """Six requests recorded under RECORDED, one hour apart from T0."""
    local = attempt("local", price_in="0", price_out="0")
    rejected = attempt("local", price_in="0", price_out="0", outcome="rejected")
    gpt = attempt("frontier")  # 1000 in, 500 out: $0.01
    gpt_big = attempt("frontier", tokens_in=2000, tokens_out=1000)  # $0.02
    common = {"decision_rule": "classifier", "price_table_version": VERSION}
    return [
        make_record("a", attempts=(local,), decision_score=0.2, **common),
        make_record("b", attempts=(gpt,), decision_score=0.5, **common),  # tie: frontier
        make_record("c", attempts=(gpt_big,), decision_score=0.6, baseline="0.0200", **common),
        make_record(
            "d",
            attempts=(rejected, gpt),
            decision_score=0.3,
            verification="failed",
            escalation_reason="verification-failed",
            **common,
        ),
        make_record(
            "e",
            attempts=(local,),
            decision_rule="sensitive",
            decision_score=None,
            decision_threshold=None,
            price_table_version=VERSION,
        ),
        make_record(
            "f",
            attempts=(local,),
            decision_rule="token-count",
            decision_score=2000.0,
            decision_threshold=5000.0,
            prompt_tokens_estimate=2000,
            price_table_version=VERSION,
        ),
    ]


@pytest.fixture
def recorded(ledger_url: str, outbox_dir: Path) -> str:
    with open_ledger(ledger_url, outbox_dir=outbox_dir) as ledger:
        for i, record in enumerate(_records()):
            ledger.record(replace(record, created_at=T0 + hours(i)))
    return ledger_url


ACTUAL = Figures(
    requests=6,
    local_requests=3,
    escalations=1,
    errors=0,
    spend_usd=Decimal("0.04"),
    baseline_usd=Decimal("0.07"),
    savings_usd=Decimal("0.03"),
)


def test_the_recording_policy_reproduces_what_happened(recorded: str) -> None:
    report = simulate(RECORDED, ledger_url=recorded)
    assert report.actual == ACTUAL
    assert report.candidate == ACTUAL
    assert (report.moved_to_frontier, report.moved_to_local) == (0, 0)
    # `f` had no classifier score: routed by token count, as the router does without one.
    assert report.estimated["no_recorded_score"] == 1 and report.estimated_requests == 1


def test_a_higher_threshold_keeps_more_local(recorded: str) -> None:
    report = simulate(_policy(0.6, 1500), ledger_url=recorded)
    assert report.actual == ACTUAL
    # a local; b 0.5 < 0.6 now local (free); c 0.6 >= 0.6 (tie) frontier $0.02; d local, fails
    # verification as recorded and escalates $0.01; e sensitive; f 2000 >= 1500 tokens now
    # goes frontier: 2000 x 2.5 + 500 x 15 (the local answer's output) = $0.0125.
    assert report.candidate == Figures(
        requests=6,
        local_requests=3,
        escalations=1,
        errors=0,
        spend_usd=Decimal("0.0425"),
        baseline_usd=Decimal("0.07"),
        savings_usd=Decimal("0.0275"),
    )
    assert (report.moved_to_frontier, report.moved_to_local) == (1, 1)
    assert report.estimated["local_quality_unknown"] == 1  # b: no local answer was recorded
    assert report.estimated["frontier_tokens_from_local"] == 1  # f
    assert report.estimated_requests == 2


def test_a_lower_threshold_and_another_frontier_model(recorded: str) -> None:
    report = simulate(_policy(0.3, 1500, frontier=OPUS_FIRST), ledger_url=recorded)
    # Opus at $5 / $25: b 1000/500 = $0.0175; c 2000/1000 = $0.035; d (0.3 >= 0.3, a tie) goes
    # straight to Opus with the recorded GPT answer's tokens = $0.0175; f 2000/500 = $0.0225.
    assert report.candidate == Figures(
        requests=6,
        local_requests=2,
        escalations=0,
        errors=0,
        spend_usd=Decimal("0.0925"),
        baseline_usd=Decimal("0.07"),
        savings_usd=Decimal("-0.0225"),
    )
    assert report.estimated["frontier_model_changed"] == 3
    assert report.moved_to_frontier == 1


def test_a_local_only_policy_escalates_nothing(recorded: str) -> None:
    candidate = Policy(privacy=Privacy(local_only=True), frontier=Frontier(models=()))
    report = simulate(candidate, ledger_url=recorded)
    assert report.candidate.local_requests == 6 and report.candidate.local_share == 1.0
    assert report.candidate.spend_usd == 0 and report.candidate.escalations == 0
    assert report.estimated["local_quality_unknown"] == 2  # b and c never ran locally


def test_without_checks_a_failed_verification_does_not_escalate(recorded: str) -> None:
    report = simulate(_policy(verify={}), ledger_url=recorded)
    # d's local answer now stands: $0.01 less, one more local answer, no escalation.
    assert report.candidate.spend_usd == Decimal("0.03")
    assert (report.candidate.local_requests, report.candidate.escalations) == (4, 0)
    assert report.moved_to_local == 1


def test_team_overrides_apply(recorded: str) -> None:
    teams = {"support": {"routing": {"threshold": 0.9}}, "other": {"routing": {"threshold": 0.1}}}
    report = simulate(_policy(teams=teams), ledger_url=recorded)
    # Every recorded request is from team support: b and c (0.5, 0.6 < 0.9) now stay local.
    assert report.moved_to_local == 2 and report.candidate.spend_usd == Decimal("0.01")


def test_captured_prompts_pick_the_frontier_model_by_task(
    ledger_url: str, outbox_dir: Path
) -> None:
    prompt = CapturedContent(
        prompt="user: Write a Python function that merges intervals", answer=""
    )
    gpt = attempt("frontier")  # 1000 in, 500 out
    record = make_record("h", attempts=(gpt,), decision_rule="classifier", decision_score=0.9)
    with open_ledger(ledger_url, outbox_dir=outbox_dir) as ledger:
        ledger.record(replace(record, content=prompt))
        ledger.record(
            make_record("i", attempts=(gpt,), decision_rule="classifier", decision_score=0.9)
        )
    rules = [{"task": "code", "model": "anthropic/claude-opus-4-6"}]
    frontier = {"models": [{"model": "gpt-5.4"}, {"model": "anthropic/claude-opus-4-6"}]}
    report = simulate(_policy(frontier={**frontier, "rules": rules}), ledger_url=ledger_url)
    # h is code: Opus at $5 / $25 = $0.0175; i's prompt is unknown, so GPT-5.4 stays: $0.01.
    assert report.candidate.spend_usd == Decimal("0.0275")
    assert report.estimated["frontier_model_changed"] == 1
    assert report.estimated["task_unknown"] == 1


def test_failures_replay_as_recorded_or_fail_without_a_fallback(
    ledger_url: str, outbox_dir: Path
) -> None:
    down = attempt("local", tokens_in=0, tokens_out=0, outcome="error", error_class="X")
    refused = make_record("x", attempts=(), status="error", tier=None, model=None, baseline="0")
    fallback = make_record(
        "y", attempts=(down, attempt("frontier")), escalation_reason="local-failed"
    )
    with open_ledger(ledger_url, outbox_dir=outbox_dir) as ledger:
        ledger.record(refused)
        ledger.record(fallback)
    same = simulate(_policy(), ledger_url=ledger_url)
    assert same.candidate == same.actual and same.actual.errors == 1
    no_fallback = _policy(routing={"threshold": 0.5, "escalate_when_local_down": False})
    report = simulate(no_fallback, ledger_url=ledger_url)
    # y's local model was down and this candidate does not fall back: it fails, costing nothing.
    assert (report.candidate.errors, report.candidate.spend_usd) == (2, 0)


def test_local_cost_and_verification_calls(ledger_url: str, outbox_dir: Path) -> None:
    answer = attempt("local", price_in="0", price_out="0")  # 1000 in, 500 out
    check = attempt("local", tokens_in=200, tokens_out=10, price_in="0", price_out="0")
    checked = replace(check, purpose="verify")
    with open_ledger(ledger_url, outbox_dir=outbox_dir) as ledger:
        ledger.record(make_record("g", attempts=(answer, checked), verification="passed"))
    local_cost = {"per_mtok_usd": "1"}
    with_checks = simulate(_policy(local_cost=local_cost), ledger_url=ledger_url)
    assert with_checks.candidate.spend_usd == Decimal("0.00171")  # (1500 + 210) x $1 / 1e6
    without = simulate(_policy(local_cost=local_cost, verify={}), ledger_url=ledger_url)
    assert without.candidate.spend_usd == Decimal("0.0015")  # no check, no check call


def test_candidate_prices_are_applied(recorded: str) -> None:
    prices = {"gpt-5.4": {"input_per_mtok": "1", "output_per_mtok": "2"}}
    report = simulate(_policy(prices=prices), ledger_url=recorded)
    # b 1000x1 + 500x2 = $0.002; c $0.004; d $0.002. Baselines are repriced at the new rate:
    # GPT answers (b, c, d) with their own tokens ($0.008); local ones from the prompt's tokens
    # and the answer's 500 output tokens: a and e 1000 in ($0.002 each), f 2000 in ($0.003).
    assert report.candidate.spend_usd == Decimal("0.008")
    assert report.candidate.baseline_usd == Decimal("0.015")
    assert report.estimated["baseline_repriced"] == 6


def test_actual_figures_reconcile_with_router_report(recorded: str) -> None:
    for since in (None, T0 + hours(2)):
        report = simulate(RECORDED, ledger_url=recorded, since=since)
        total = summarize(recorded, since=since).total
        actual = report.actual
        assert (actual.requests, actual.local_requests, actual.escalations) == (
            total.requests,
            total.local_requests,
            total.escalated,
        )
        assert actual.spend_usd == total.cost_usd
        assert actual.baseline_usd == total.baseline_cost_usd
        assert actual.savings_usd == total.savings_usd


def test_since_keeps_later_requests_only(recorded: str) -> None:
    report = simulate(RECORDED, ledger_url=recorded, since=T0 + hours(3))  # d, e, f
    assert report.actual.requests == 3 and report.actual.spend_usd == Decimal("0.01")
    assert report.since == T0 + hours(3)
    assert simulate(RECORDED, ledger_url=recorded, since=date(2025, 1, 1)).actual == ACTUAL


def test_no_model_is_called(recorded: str) -> None:
    with OllamaServer() as ollama, OpenAIServer() as openai, AnthropicServer() as anthropic:
        candidate = loopback_policy(ollama, openai, anthropic)
        with network_guard() as guard:
            report = simulate(candidate, ledger_url=recorded)
        assert report.actual.requests == 6
        assert ollama.requests == [] and openai.requests == [] and anthropic.requests == []
        assert guard.blocked == [] and not guard.lookups


def test_traffic_recorded_by_the_router_replays_exactly(ledger_url: str, outbox_dir: Path) -> None:
    """Records written by the real pipeline: local, frontier, and a verification escalation."""
    with OllamaServer() as ollama, OpenAIServer() as openai, AnthropicServer() as anthropic:
        policy = loopback_policy(ollama, openai, anthropic, verify={"structural": {}})
        unchecked = loopback_policy(ollama, openai, anthropic)
        router, memory, _ = make_router(policy)
        ollama.script(Reply(text="Paris."), Reply(text="   "))
        for prompt in (SHORT_PROMPT, SHORT_PROMPT, LONG_PROMPT):
            router.complete(prompt)
        router.close()
    with open_ledger(ledger_url, outbox_dir=outbox_dir) as ledger:
        for record in memory.records:
            ledger.record(record)
    report = simulate(unchecked, ledger_url=ledger_url)
    assert report.actual.escalations == 1 and report.actual.local_requests == 1
    # Without checks the blank local answer stands: one more local answer, no escalation.
    assert (report.candidate.escalations, report.candidate.local_requests) == (0, 2)
    assert report.candidate.spend_usd < report.actual.spend_usd
    same = simulate(policy, ledger_url=ledger_url)
    assert same.candidate == same.actual and same.estimated_requests == 0
    summary = summarize(ledger_url).total
    assert (same.actual.spend_usd, same.actual.baseline_usd) == (
        summary.cost_usd,
        summary.baseline_cost_usd,
    )


def test_empty_ledger_is_a_clear_error(ledger_url: str) -> None:
    with pytest.raises(LedgerError, match="has no requests to replay; route some traffic"):
        simulate(RECORDED, ledger_url=ledger_url)


def test_report_renders_and_serialises(recorded: str) -> None:
    report = simulate(_policy(0.6, 1500), recorded)
    table = report.render()
    assert "local share   50.0%      50.0%  +0.0 pts\n" in table
    assert "savings      42.86%     39.29%\n" in table  # 0.0275 / 0.07; money shown to the cent
    assert "       1  would now stay local, which never answered them" in table
    data = report.to_dict()
    assert data["candidate"]["spend_usd_exact"] == "0.0425000000"
    assert data["actual"]["savings_usd"] == "0.03"
    assert data["moved"] == {"to_frontier": 1, "to_local": 1}
    with pytest.raises(AttributeError):
        report.actual = ACTUAL  # type: ignore[misc]
    assert isinstance(report, SimulationReport)


def test_bad_policy_raises_policy_error(tmp_path: Path, recorded: str) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("routing:\n  threshold: 1.5\n")
    with pytest.raises(PolicyError):
        simulate(bad, ledger_url=recorded)


def _cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["simulate", *args])
    return result.exit_code, result.stdout, result.stderr


def test_cli_table_and_json(recorded: str) -> None:
    code, out, _ = _cli("--policy", "default", "--ledger", recorded)
    assert code == 0 and "What-if: policy default" in out and "local share" in out
    code, out, _ = _cli(
        "--policy", "default", "--ledger", recorded, "--json", "--since", "2025-01-01T03:00:00"
    )
    assert code == 0
    data = json.loads(out)
    assert data["actual"]["requests"] == 3 and data["actual"]["spend_usd_exact"] == "0.0100000000"


def test_cli_bad_policy_prints_policy_check_messages(tmp_path: Path, recorded: str) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nrouting:\n  treshold: 0.4\n")
    code, out, err = _cli("--policy", str(bad), "--ledger", recorded)
    expected = [str(p) for p in check_policy(bad).problems]
    assert code == 2 and out == ""
    assert expected and err.splitlines()[: len(expected)] == expected
    assert "router policy check" in err


def test_cli_ledger_problems_exit_1_with_a_hint(tmp_path: Path) -> None:
    missing = f"sqlite:///{tmp_path / 'none.db'}"
    code, out, err = _cli("--policy", "default", "--ledger", missing)
    assert code == 1 and out == "" and "no ledger at" in err and "--ledger URL" in err
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    upgrade_ledger(empty)
    code, _, err = _cli("--policy", "default", "--ledger", empty, "--since", "2030-01-01")
    assert code == 1 and "no requests since 2030-01-01" in err and "earlier --since" in err


def test_cli_help_has_examples() -> None:
    code, out, _ = _cli("--help")
    assert code == 0 and "Examples:" in out and "router simulate --policy" in out


def test_importing_simulate_does_not_import_litellm() -> None:
    code = "import sys, router.simulate; assert 'litellm' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
