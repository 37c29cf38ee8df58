"""The docs a newcomer reads first must be true: README commands, its example, the mkdocs site."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from router import errors
from router.cli import main

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
INSTALL_AND_DEMO = (
    "python3 -m venv .venv && .venv/bin/pip install --require-hashes --no-deps -r requirements.lock"
    " && .venv/bin/pip install --no-deps --no-build-isolation -e . && .venv/bin/pip check"
    " && .venv/bin/router demo"
)
# Pages the nav may name before they exist (stubbed only in the test's copy of docs/): none now.
PENDING_PAGES: tuple[str, ...] = ()


def _between(text: str, begin: str, end: str) -> str:
    start = text.index(begin)
    return text[start : text.index(end, start)]


def _code_blocks(text: str, lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```$", text, flags=re.M | re.S)


def _hooks():
    spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "scripts/docs_hooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run_python(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "snippet.py"
    script.write_text(code, encoding="utf-8")
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data")}
    env.pop("ROUTER_LEDGER_URL", None)
    return subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def test_readme_quick_start_is_the_two_commands_the_fresh_clone_check_runs():
    block = _between(README, "<!-- quickstart:begin", "<!-- quickstart:end -->")
    commands = [b.strip() for b in _code_blocks(block, "bash")]
    assert commands == [INSTALL_AND_DEMO, ".venv/bin/python -m pytest"]


@pytest.mark.slow  # a fresh interpreter importing litellm
def test_readme_example_runs_as_written_and_prints_what_it_promises(tmp_path):
    block = _between(README, "<!-- example:begin -->", "<!-- example:end -->")
    (code,) = _code_blocks(block, "python")
    assert "router.complete(" in code and len(code.splitlines()) <= 18
    result = _run_python(code, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert len(lines) == 7
    assert any(line.startswith("local    qwen3.5:9b difficulty") for line in lines)
    assert any(line.startswith("frontier gpt-5.4    difficulty") for line in lines)
    promised = _code_blocks(README, "text")[0].splitlines()
    assert lines[:3] == promised[:3]
    assert (tmp_path / "data" / "cost-router" / "ledger.db").is_file()


@pytest.mark.slow  # runs pytest in a subprocess
def test_backends_page_test_example_passes(tmp_path):
    page = (ROOT / "docs" / "backends.md").read_text(encoding="utf-8")
    (code,) = [b for b in _code_blocks(page, "python") if "def test_" in b]
    result = _run_python(code + "\ntest_hard_prompts_go_to_the_frontier(None)\n", tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]


def test_readme_picture_is_the_committed_demo_chart():
    (path,) = re.findall(r"!\[[^\]]+\]\(([^)]+\.png)\)", README)
    png = (ROOT / path).read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 20_000


def test_readme_links_into_docs_exist():
    links = re.findall(r"\]\((docs/[^)#]+)", README)
    assert len(links) >= 10
    missing = [link for link in links if not (ROOT / link).exists()]
    assert set(missing) <= {f"docs/{page}" for page in PENDING_PAGES}


def test_generated_references_cover_every_command_error_and_policy_section():
    hooks = _hooks()
    cli = hooks.cli_reference()
    for path, _ in hooks.walk_commands(main):
        assert f"`{' '.join(path)}`" in cli
    assert "`router demo`" in cli and "`router db upgrade`" in cli
    reference = hooks.errors_reference()
    for name, value in vars(errors).items():
        if isinstance(value, type) and issubclass(value, errors.RouterError):
            assert f"## `{name}`" in reference
    policy = hooks.policy_reference()
    assert "token_count_threshold" in policy and "read_timeout_s" in policy


def test_every_generated_marker_is_filled():
    hooks = _hooks()
    for page in ("cli.md", "errors.md", "policy-reference.md"):
        text = (ROOT / "docs" / page).read_text(encoding="utf-8")
        assert "<!-- generated:" in text
        assert "<!-- generated:" not in hooks.fill(text)


@pytest.mark.slow  # builds the whole site
def test_mkdocs_build_strict_passes_offline(tmp_path):
    if importlib.util.find_spec("mkdocs") is None:
        pytest.skip("mkdocs is not installed (pip install -e '.[docs]')")
    project = tmp_path / "project"
    shutil.copytree(ROOT / "docs", project / "docs")
    shutil.copytree(ROOT / "scripts", project / "scripts")
    shutil.copy(ROOT / "mkdocs.yml", project / "mkdocs.yml")
    for page in PENDING_PAGES:
        stub = project / "docs" / page
        if not stub.exists():
            stub.write_text(f"# {page} (being written)\n", encoding="utf-8")
    site = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    cli = (site / "cli" / "index.html").read_text(encoding="utf-8")
    assert "router demo" in cli and "Examples:" in cli
    assert (site / "images" / "demo-savings.png").is_file()
    pages = {p.relative_to(project / "docs").with_suffix("") for p in project.glob("docs/*.md")}
    built = {p.parent.relative_to(site) for p in site.glob("*/index.html")}
    assert pages - {Path("index")} <= built


def _git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def test_fresh_clone_check_runs_the_readme_commands_in_a_clone(tmp_path):
    """The script's own mechanics, on a tiny repository whose quick start only writes files."""
    repo = tmp_path / "repo"
    repo.mkdir()
    quick_start = _between(README, "<!-- quickstart:begin", "<!-- quickstart:end -->")
    block = quick_start.replace(
        INSTALL_AND_DEMO,
        "pwd > first.txt && echo $XDG_DATA_HOME >> first.txt"
        ' && python3 -c \'import os; print(os.environ.get("CHOSEN", "-"))\' >> first.txt',
    )
    block = block.replace(".venv/bin/python -m pytest", f"cp first.txt {tmp_path}/seen.txt")
    (repo / "README.md").write_text(f"# x\n\n{block}<!-- quickstart:end -->\n", encoding="utf-8")
    _git("init", "-q", cwd=repo)
    _git("add", "README.md", cwd=repo)
    _git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x", cwd=repo)
    script = ROOT / "scripts" / "fresh_clone_check.sh"
    then = f"cp first.txt {tmp_path}/then.txt"  # a command to run in the clone afterwards
    chosen = tmp_path / "chosen-python"  # PYTHON: the interpreter `python3` stands for
    chosen.write_text(f'#!/bin/sh\nCHOSEN=yes exec {sys.executable} "$@"\n', encoding="utf-8")
    chosen.chmod(0o755)
    result = subprocess.run(
        ["bash", str(script), str(repo), "--", "bash", "-c", then],
        env={**os.environ, "PYTHON": str(chosen)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    where, data, python = (tmp_path / "seen.txt").read_text(encoding="utf-8").split()
    assert where.endswith("/repo") and not where.startswith(str(repo))  # ran in the clone
    assert data.endswith("/data") and not Path(where).exists()  # throwaway, cleaned up
    assert python == "yes"
    assert (tmp_path / "then.txt").read_text() == (tmp_path / "seen.txt").read_text()
    assert "fresh_clone_check: OK" in result.stderr
