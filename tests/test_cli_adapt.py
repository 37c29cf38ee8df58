"""`router adapt`: the file contract of issue #18, end to end through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from router.classifier import Classifier, load_classifier
from router.cli import main
from router.evaluation._data import OutcomeRow
from router.learning import LearnedClassifier
from router.learning._adapt import POOL_WEIGHT, adapt, pooled_gains, traffic_gains

MATHS = "Prove that the series sum of 1/n^{} diverges, step by step."
CHAT = "Tell me a short joke about a {} please."


def _traffic(path: Path, n: int = 80) -> Path:
    rows = []
    for i in range(n):
        hard = i % 2 == 0
        gain_frontier = 1.0 if (hard and i % 10) else 0.0
        rows.append(
            {
                "id": f"r{i}",
                "prompt": (MATHS if hard else CHAT).format(i),
                "scores": {"small": 0.0 if hard else 1.0, "big": gain_frontier or 1.0 - hard},
                "local_model": "small",
                "frontier_model": "big",
            }
        )
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_adapt_writes_an_artefact_that_score_and_load_classifier_use(tmp_path: Path) -> None:
    traffic = _traffic(tmp_path / "traffic.jsonl")
    out = tmp_path / "adapted"
    result = CliRunner().invoke(main, ["adapt", "--traffic", str(traffic), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "learned from 80 labelled rows" in result.output
    clf = load_classifier(out)
    assert isinstance(clf, LearnedClassifier) and isinstance(clf, Classifier)
    assert clf.gain_model is not None
    assert clf.score(MATHS.format(999)) > clf.score(CHAT.format("cat"))
    requests = tmp_path / "requests.jsonl"
    requests.write_text(json.dumps({"id": 1, "prompt": MATHS.format(7)}) + "\n")
    scored = tmp_path / "scores.jsonl"
    args = ["score", "--input", str(requests), "--output", str(scored), "--classifier", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert json.loads(scored.read_text())["score"] == clf.score(MATHS.format(7))


def test_a_row_without_the_pairs_scores_is_skipped_or_refused_under_strict(
    tmp_path: Path,
) -> None:
    traffic = _traffic(tmp_path / "traffic.jsonl", 3)
    lines = traffic.read_text().splitlines()
    bad = json.loads(lines[1])
    del bad["scores"]["big"]
    traffic.write_text("\n".join([lines[0], json.dumps(bad), lines[2]]) + "\n")
    out = tmp_path / "adapted"
    args = ["adapt", "--traffic", str(traffic), "--out", str(out)]
    result = CliRunner().invoke(main, [*args, "--strict"])
    assert result.exit_code == 2
    assert f"{traffic}:2: no numeric score for the frontier model" in result.output
    assert not out.exists()
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "skipped 1 of 3 rows: 1 no numeric score for the frontier model (first at line 2)" in (
        result.output
    )


def test_a_file_without_a_pair_is_refused(tmp_path: Path) -> None:
    traffic = tmp_path / "t.jsonl"
    traffic.write_text(json.dumps({"id": "a", "prompt": "hi", "scores": {"x": 1.0}}) + "\n")
    result = CliRunner().invoke(main, ["adapt", "--traffic", str(traffic), "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert ": no usable rows (1 no 'local_model' (first at line 1))" in result.output


def test_few_labels_give_the_prior_alone(tmp_path: Path) -> None:
    traffic = _traffic(tmp_path / "traffic.jsonl", 10)
    out = tmp_path / "adapted"
    result = CliRunner().invoke(main, ["adapt", "--traffic", str(traffic), "--out", str(out)])
    assert result.exit_code == 0, result.output
    clf = load_classifier(out)
    assert isinstance(clf, LearnedClassifier) and clf.gain_model is None
    assert clf.score("hello there") == load_classifier().score("hello there")


def _row(i: int, scores: dict[str, float], pair: tuple[str, str] = ("small", "big")) -> OutcomeRow:
    return OutcomeRow(f"r{i}", f"prompt {i}", scores, local_model=pair[0], frontier_model=pair[1])


def test_a_file_label_is_the_pairs_own_gain_when_it_scores_no_other_model() -> None:
    rows = [_row(i, {"small": float(i % 2), "big": 1.0}) for i in range(6)]
    assert pooled_gains(rows, "small", "big") == [1.0, 0.0] * 3


def test_stronger_and_weaker_models_pool_into_the_label() -> None:
    # Means on the file: tiny 0 <= small 0.25 < mid 0.5 < big 0.75 <= huge 1. "huge" joins the
    # frontier side, "tiny" the local side, "mid" neither.
    order = ("small", "big", "huge", "tiny", "mid")
    table = [(0, 0, 1, 0, 1), (1, 1, 1, 0, 0), (0, 1, 1, 0, 1), (0, 1, 1, 0, 0)]
    rows = [_row(i, dict(zip(order, map(float, r), strict=True))) for i, r in enumerate(table)]
    # row 0: own gain 0, frontier side (0 + 1) / 2, local side 0 -> 0.5 * 0 + 0.5 * 0.5
    # row 1: own gain 0, frontier side 1, local side (1 + 0) / 2 -> 0.5 * 0.5
    assert pooled_gains(rows, "small", "big", pool=0.5) == pytest.approx([0.25, 0.25, 1.0, 1.0])
    assert pooled_gains(rows, "small", "big", pool=0.0) == [0.0, 0.0, 1.0, 1.0]


def test_no_pooling_when_the_frontier_model_is_not_better_on_the_file() -> None:
    rows = [_row(i, {"small": 1.0, "big": float(i % 2), "huge": 1.0}) for i in range(4)]
    assert pooled_gains(rows, "small", "big") == [-1.0, 0.0, -1.0, 0.0]


def test_each_pair_of_a_file_is_pooled_on_its_own_rows() -> None:
    a = [
        _row(0, {"small": 0.0, "big": 1.0, "other": 0.0}),
        _row(1, {"small": 0, "big": 0.5, "other": 1}),
    ]
    b = [_row(i, {"x": 0.0, "y": 1.0, "other": 1.0}, ("x", "y")) for i in (2, 3)]
    # On pair a's rows "other" (mean 0.5) sits between small (0) and big (0.75): left out. Over
    # the whole file its mean would be 0.75 and it would join big's side.
    assert traffic_gains([a[0], b[0], a[1], b[1]]) == pytest.approx([1.0, 1.0, 0.5, 1.0])


def test_adapt_validates_a_file_with_interleaved_folds(tmp_path: Path) -> None:
    """A file's order need not be time (the shared files are sorted by task): blocked folds
    there make a good in-domain model look worse than chance and the fit falls back to the prior."""
    traffic = _traffic(tmp_path / "traffic.jsonl")
    learned = adapt(traffic, tmp_path / "adapted")
    assert learned.training["params"]["interleaved"] is True
    assert learned.training["pool_weight"] == POOL_WEIGHT
