"""Every examples/*.py runs as written, offline, in time, and prints what its docstring promises.

New examples are picked up by the glob. Each runs in a fresh interpreter under the network guard
(any lookup or connection beyond loopback fails it), the way a user would run it.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SCRIPTS = sorted(p for p in EXAMPLES.glob("*.py") if not p.name.startswith("_"))
TIMEOUT_S = 180  # each takes about 20 s on a loaded 2-core machine; most of it importing litellm

# Lines an example must print (beyond exiting 0). Examples not listed must still print something.
MARKERS = {
    "batch_acomplete.py": ["peak in flight: ", "(limit 4)", "batch: OK"],
    "custom_verifier.py": [
        "first: frontier gpt-5.4; escalation: verification-failed",
        "unit_tests_pass: unit tests fail",
        "second: local qwen3.5:9b; escalation: none",
        "custom verifier: OK",
    ],
    "fastapi_endpoint.py": [
        "200 local qwen3.5:9b",
        "422 for an empty prompt",
        "fastapi endpoint: OK",
    ],
    "finance_export_csv.py": ["key,requests,local_share", "total,30,", "finance export: OK"],
    "team_policy_override.py": [
        "acme-base threshold 0.5; support 0.7",
        "support/refunds  local",
        "team policy override: OK",
    ],
}
NEEDS = {"fastapi_endpoint.py": "fastapi"}

GUARDED_RUN = """
import runpy, sys
from router.testing import network_guard
path = sys.argv[1]
sys.argv = sys.argv[1:]
with network_guard() as guard:
    runpy.run_path(path, run_name="__main__")
assert not guard.blocked, f"reached beyond loopback: {guard.blocked}"
"""


def test_the_examples_the_docs_promise_are_here():
    assert set(MARKERS) <= {p.name for p in SCRIPTS}


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_example_is_documented_at_the_top(script: Path):
    doc = ast.get_docstring(ast.parse(script.read_text(encoding="utf-8")))
    assert doc and len(doc.splitlines()) >= 3, (
        f"{script.name} needs a docstring saying what it shows"
    )
    assert f"examples/{script.name}" in doc, "the docstring should say how to run it"


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, subprocess.CompletedProcess[str]]:
    """Run every example at once (they mostly wait on imports), each in its own directory."""
    started = {}
    for script in SCRIPTS:
        needed = NEEDS.get(script.name)
        if needed and importlib.util.find_spec(needed) is None:
            continue
        home = tmp_path_factory.mktemp(script.stem)
        env = {**os.environ, "XDG_DATA_HOME": str(home / "data"), "TMPDIR": str(home)}
        env.pop("ROUTER_LEDGER_URL", None)
        started[script.name] = subprocess.Popen(
            [sys.executable, "-c", GUARDED_RUN, str(script)],
            cwd=home,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    results = {}
    for name, process in started.items():
        try:
            out, err = process.communicate(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            out, err = process.communicate()
            err += f"\n{name} took longer than {TIMEOUT_S} s"
        results[name] = subprocess.CompletedProcess(process.args, process.returncode, out, err)
    return results


@pytest.mark.slow  # six fresh interpreters, each importing litellm
@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_example_runs_as_written(script: Path, runs: dict[str, subprocess.CompletedProcess[str]]):
    needed = NEEDS.get(script.name)
    if needed and importlib.util.find_spec(needed) is None:
        pytest.skip(f"{needed} is not installed (pip install -e '.[examples]')")
    result = runs[script.name]
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip(), f"{script.name} printed nothing"
    for marker in MARKERS.get(script.name, []):
        assert marker in result.stdout, f"{marker!r} missing from:\n{result.stdout}"
