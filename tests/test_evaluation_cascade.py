"""`router eval` before vs after the answer, on a tiny file with recorded answers."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from router.evaluation import evaluate_file, load_outcomes, multi_pair

# Four prompts: the local model ("small") is wrong on 1 and 2; only 1 gains from "big".
LOCAL = [1.0, 0.0, 0.0, 1.0]
FRONTIER = [1.0, 1.0, 0.0, 1.0]
LOOP = "the same words again " * 30  # fails no_degenerate_repetition
ANSWERS = ["Paris.", LOOP, "I think it is B.", "42."]


def _file(tmp_path: Path, *, answers: Sequence[str | None] = ANSWERS) -> Path:
    rows = []
    for i, (lo, fr, text) in enumerate(zip(LOCAL, FRONTIER, answers, strict=True)):
        row: dict[str, object] = {
            "id": f"p{i}",
            "prompt": f"question {i}",
            "scores": {"small": lo, "big": fr},
            "local_model": "small",
            "frontier_model": "big",
        }
        if text is not None:
            row["responses"] = {"small": text}
        rows.append(row)
    path = tmp_path / "answers.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def before(prompts: Sequence[str]) -> list[float]:
    # Prompt-only: gets it backwards (the good prompt 3 first, the gaining prompt 1 last).
    return [{"question 3": 0.9, "question 1": 0.1}.get(p, 0.5) for p in prompts]


def after(prompts: Sequence[str], answers: Sequence[str | None]) -> list[float]:
    # Post-hoc: hedging answers look bad; everything else neutral.
    return [0.8 if a and a.startswith("I think") else 0.2 for a in answers]


def test_cascade_escalates_verifier_failures_first_then_by_post_hoc_score(tmp_path: Path):
    result = evaluate_file(_file(tmp_path), {"mine": before}, after=after)
    cascade = result.cascade
    assert cascade is not None
    assert cascade.verifier_failed == 1  # the looping answer
    # Before: order 3 (0.9), then 0 and 2 tied (0.5), then 1: the gain arrives last.
    assert cascade.before.apgr == pytest.approx(0.125)
    assert cascade.before.cost_saved_at_95 == 0.0
    # After: 1 (loop, 1.2), then 2 (hedge, 0.8), then 0 and 3 (0.2): the gain arrives first.
    assert cascade.after.apgr == pytest.approx(0.875)
    assert cascade.after.frontier_share_at_95 == pytest.approx(0.25)
    assert cascade.after.cost_saved_at_95 == pytest.approx(0.75)
    assert cascade.after_multi[2] == 1  # only small -> big has a weak model with answers


def test_cascade_report_text_and_json_side_by_side(tmp_path: Path):
    result = evaluate_file(_file(tmp_path), {"mine": before}, after=after)
    text = result.to_text()
    assert "before (prompt)" in text and "after (cascade)" in text
    assert "1 answers fail the structural/format checks" in text
    doc = result.to_json()["before_after_answer"]
    assert doc["after"]["apgr"] == pytest.approx(0.875)
    assert doc["before"]["cost_saved_at_95"] == 0.0
    assert doc["after"]["multi_pair"]["pairs"] == 1


def test_cascade_only_on_rows_with_answers_and_absent_without_any(tmp_path: Path):
    partial = evaluate_file(
        _file(tmp_path, answers=["Paris.", LOOP, None, "42."]), {"mine": before}, after=after
    )
    assert partial.cascade is not None
    assert partial.cascade.after.n == 3
    none = evaluate_file(_file(tmp_path, answers=[None] * 4), {"mine": before}, after=after)
    assert none.cascade is None
    assert none.to_json()["before_after_answer"] is None
    assert evaluate_file(_file(tmp_path), {"mine": before}).cascade is None


def test_multi_pair_with_per_model_scores_skips_pairs_without_the_weak_models_scores(
    tmp_path: Path,
):
    rows = load_outcomes(_file(tmp_path))
    assert multi_pair(rows, {"big": [0.0] * 4})[2] == 0  # big is never the weak side
    mean_apgr, saved, n = multi_pair(rows, {"small": [0.1, 0.9, 0.5, 0.3]})
    assert (n, mean_apgr, saved) == (1, pytest.approx(0.875), pytest.approx(0.75))
