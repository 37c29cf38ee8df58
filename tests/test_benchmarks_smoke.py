"""`python -m benchmarks` runs end to end and writes the JSON shape docs/performance.md uses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PROMPTS = [
    "What is 2 + 2?",
    "Write a Python function that merges two sorted lists in linear time.",
    "Prove that the square root of 2 is irrational.",
    "Translate 'good morning' into Japanese.",
    "Summarise the causes of the First World War in three sentences.",
]


def _benchmarks(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "benchmarks", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        check=False,
    )


@pytest.mark.slow  # runs python -m benchmarks
def test_quick_decision_run_writes_table_and_json(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    rows = [{"id": str(i), "prompt": f"{PROMPTS[i % 5]} ({i})"} for i in range(40)]
    (data / "tiny.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "results.json"

    proc = _benchmarks(
        "--quick", "--only", "decision", "--prompts", "40", "--data", str(data), "--out", str(out)
    )

    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "| decision | median per request (CPU: ours " in proc.stdout
    result = json.loads(out.read_text())
    assert result["mode"] == "quick"
    assert {"date", "nproc", "cpu", "python"} <= set(result["machine"])
    decision = result["benchmarks"]["decision"]
    assert decision["details"]["prompts"] == 40
    scorers = decision["details"]["scorers"]
    assert set(scorers) == {
        "cost-router decide",
        "cost-router score",
        "litellm-heuristic",
        "litellm-heuristic_v2",
    }
    for stats in scorers.values():
        assert 0 < stats["median_us"] <= stats["p99_us"]
        assert 0 < stats["cpu_median_us"] <= stats["cpu_p99_us"]
    medians = [r for r in decision["rows"] if r["metric"] == "median per request"]
    assert {r["alt_name"] for r in medians} == {"litellm-heuristic", "litellm-heuristic_v2"}
    for row in medians:
        assert row["ratio"] == row["ours"] / row["alternative"]
        assert row["met"] == (row["ours"] < row["alternative"])


def test_unknown_benchmark_is_refused_with_the_list() -> None:
    proc = _benchmarks("--only", "nonsense")

    assert proc.returncode == 2
    assert "unknown benchmark(s) nonsense" in proc.stderr
    assert "decision" in proc.stderr


def test_quick_quality_run_reports_the_recorded_cascade(tmp_path: Path) -> None:
    """The quality section lists the before/after-the-answer rows the artefact recorded, for the
    outcome files present in --data (here a tiny stand-in named like a recorded file)."""
    from router.classifier._artefact import default_artefact_text  # noqa: PLC0415

    recorded = json.loads(default_artefact_text()[0])["metrics"]["before_after_answer"]
    expected = next(c for c in recorded if c["test"] == "mmlu-pro")
    data = tmp_path / "data"
    data.mkdir()
    rows = [
        {
            "id": str(i),
            "prompt": PROMPTS[i % 5],
            "scores": {"small": float(i % 2), "large": 1.0},
            "local_model": "small",
            "frontier_model": "large",
        }
        for i in range(10)
    ]
    (data / "mmlu-pro.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "results.json"

    proc = _benchmarks("--quick", "--only", "quality", "--data", str(data), "--out", str(out))

    assert proc.returncode == 0, proc.stderr[-2000:]
    quality = json.loads(out.read_text())["benchmarks"]["quality"]
    assert [c["test"] for c in quality["details"]["before_after_answer"]] == ["mmlu-pro"]
    (row,) = [r for r in quality["rows"] if r["metric"].startswith("cascade leave-out mmlu-pro")]
    assert row["ours"] == expected["after"]["apgr"]
    assert row["alternative"] == expected["before"]["apgr"]
    assert row["alt_name"] == "prompt-only"
    assert "| quality | cascade leave-out mmlu-pro (recorded)" in proc.stdout


def test_shared_data_is_found_beside_the_repository_or_a_worktree_or_through_the_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from benchmarks._common import find_shared_data  # noqa: PLC0415

    monkeypatch.delenv("ROUTER_SHARED_DATA", raising=False)
    data = tmp_path / "shared" / "data"
    data.mkdir(parents=True)
    assert find_shared_data(tmp_path / "repo") == data  # a clone beside shared/
    assert find_shared_data(tmp_path / "wt" / "install") == data  # a git worktree
    assert find_shared_data(tmp_path / "a" / "b" / "c" / "repo") != data  # not searched forever
    monkeypatch.setenv("ROUTER_SHARED_DATA", str(tmp_path / "elsewhere"))
    assert find_shared_data(tmp_path / "repo") == tmp_path / "elsewhere"
