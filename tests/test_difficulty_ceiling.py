"""benchmarks/difficulty_ceiling.py: the true-difficulty scorer on a file with known answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.difficulty_ceiling import ceiling, main, true_difficulty
from router.evaluation import load_outcomes, pick_pair


def _write(tmp_path: Path) -> Path:
    # Prompt 0: everyone passes. 1: only the frontier and one other pass (the gain).
    # 2: everyone fails (hopeless). 3: the local model fails, every other model passes.
    table = [
        {"small": 1.0, "big": 1.0, "x": 1.0, "y": 1.0},
        {"small": 0.0, "big": 1.0, "x": 1.0, "y": 0.0},
        {"small": 0.0, "big": 0.0, "x": 0.0, "y": 0.0},
        {"small": 0.0, "big": 1.0, "x": 1.0, "y": 1.0},
    ]
    rows = [
        {
            "id": str(i),
            "prompt": f"p{i}",
            "scores": s,
            "local_model": "small",
            "frontier_model": "big",
        }
        for i, s in enumerate(table)
    ]
    path = tmp_path / "tiny.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_true_difficulty_leaves_the_pair_out(tmp_path: Path):
    rows = load_outcomes(_write(tmp_path))
    assert true_difficulty(rows, "small", "big") == [0.0, 0.5, 1.0, 0.0]


def test_difficulty_ranks_the_hopeless_prompt_first_and_the_hump_does_not(tmp_path: Path):
    """Pure difficulty sends prompt 2 (everyone fails) to the frontier first, for no gain; the
    hump at 0.6 sends prompt 1 first, so its APGR is higher."""
    result = ceiling(pick_pair(load_outcomes(_write(tmp_path))))
    (difficulty_apgr, _), (hump_apgr, _) = result["true difficulty"], result["hump at 0.6"]
    assert hump_apgr > difficulty_apgr
    # q_local 0.25, q_frontier 0.75; gap recovered at shares 0, 1/4, 1/2, 1 (trapezoids):
    # difficulty sends 2 (no gain), then 1 (gain), then the tie 0 and 3: 0, 0, 0.5, 1 -> 0.4375;
    # the hump sends 1, then 2, then the tie: 0, 0.5, 0.5, 1 -> 0.5625.
    assert difficulty_apgr == pytest.approx(0.4375)
    assert hump_apgr == pytest.approx(0.5625)


def test_main_prints_a_line_per_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    _write(tmp_path)
    assert main(["--data", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "tiny" in out and "true difficulty 0.438 / " in out
