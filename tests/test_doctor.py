"""`router doctor` (and `router demo --live`) check the machine before the first request: Ollama
reachable with the model, every frontier model's key, the ledger writable; each problem says
how to fix it, and any problem exits non-zero."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from router.cli import main
from router.demo import run_demo
from router.doctor import check_setup
from router.errors import LedgerError, SetupError
from router.ledger._admin import check_ledger_writable, upgrade_ledger
from router.testing import OllamaServer

pytest_plugins = ["tests.ledger_helpers.fixtures"]

CLOSED_PORT = "http://127.0.0.1:9"


@pytest.fixture
def no_keys(monkeypatch):
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def _doctor(*args):
    return CliRunner().invoke(main, ["doctor", *args])


def test_a_ready_machine_passes_every_check(monkeypatch, tmp_path):
    with OllamaServer() as ollama:
        monkeypatch.setenv("OLLAMA_HOST", ollama.url)
        result = _doctor("--ledger", f"sqlite:///{tmp_path / 'ledger.db'}")
        report = check_setup("default", ledger_url=f"sqlite:///{tmp_path / 'ledger.db'}")
    assert result.exit_code == 0, result.output
    assert report.ok and len(report.findings) == 4  # Ollama, two frontier models, the ledger
    assert "qwen3.5:9b" in result.output and "gpt-5.4" in result.output
    assert "FAIL" not in result.output and "all 4 checks passed" in result.output


def test_nothing_set_up_names_every_problem_and_its_fix(no_keys, tmp_path):
    no_keys.setenv("OLLAMA_HOST", CLOSED_PORT)
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    result = _doctor("--ledger", f"sqlite:///{blocked / 'ledger.db'}")
    assert result.exit_code == 1
    out = result.output
    assert f"Ollama is not reachable at {CLOSED_PORT}; start it with `ollama serve`" in out
    assert "OPENAI_API_KEY is not set; export OPENAI_API_KEY=" in out
    assert "ANTHROPIC_API_KEY is not set; export ANTHROPIC_API_KEY=" in out
    assert "cannot write the ledger" in out
    assert out.count("FAIL") == 4 and "4 problems" in out


def test_a_missing_local_model_says_what_to_pull(monkeypatch, tmp_path):
    with OllamaServer(models=("llama3:8b",)) as ollama:
        monkeypatch.setenv("OLLAMA_HOST", ollama.url)
        report = check_setup("default", ledger_url=f"sqlite:///{tmp_path / 'ledger.db'}")
    (problem,) = report.problems
    assert "ollama pull qwen3.5:9b" in problem


def test_a_local_only_policy_needs_no_keys(no_keys, monkeypatch, tmp_path):
    with OllamaServer() as ollama:
        monkeypatch.setenv("OLLAMA_HOST", ollama.url)
        report = check_setup("privacy-strict", ledger_url=f"sqlite:///{tmp_path / 'l.db'}")
    assert report.ok
    assert [f.subject for f in report.findings] == ["local model qwen3.5:9b", "ledger"]


def test_demo_live_checks_first_and_exits_non_zero_with_the_fixes(no_keys, tmp_path):
    no_keys.setenv("OLLAMA_HOST", CLOSED_PORT)
    ledger = f"sqlite:///{tmp_path / 'ledger.db'}"
    result = CliRunner().invoke(main, ["demo", "--live", "--no-chart", "--ledger", ledger])
    assert result.exit_code == 1, result.output
    assert "ollama serve" in result.output and "OPENAI_API_KEY" in result.output
    assert "requests" not in result.output  # nothing was routed
    assert "your Ollama and your frontier API keys were called" not in result.output


def test_demo_live_check_only_checks(monkeypatch, tmp_path):
    ledger = f"sqlite:///{tmp_path / 'ledger.db'}"
    with OllamaServer() as ollama:
        monkeypatch.setenv("OLLAMA_HOST", ollama.url)
        result = CliRunner().invoke(main, ["demo", "--live", "--check", "--ledger", ledger])
        assert ollama.requests and all(r.path == "/api/tags" for r in ollama.requests)
    assert result.exit_code == 0, result.output
    assert "all 4 checks passed" in result.output


def test_run_demo_live_raises_setup_error_listing_the_problems(no_keys):
    no_keys.setenv("OLLAMA_HOST", CLOSED_PORT)
    with pytest.raises(SetupError) as caught:
        run_demo(live=True, ledger=None, limit=1)
    assert len(caught.value.problems) == 3  # Ollama and two keys; no ledger was asked for


def test_the_ledger_check_migrates_sqlite_and_asks_for_postgresql_to_be_migrated(empty_url):
    if empty_url.startswith("sqlite"):
        assert check_ledger_writable(empty_url).startswith("sqlite:///")  # as the router would
        return
    with pytest.raises(LedgerError, match="run: router db upgrade"):
        check_ledger_writable(empty_url)
    upgrade_ledger(empty_url)
    assert check_ledger_writable(empty_url)
