"""`router adapt`: the file contract of issue #18, end to end through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from router.classifier import Classifier, load_classifier
from router.cli import main
from router.learning import LearnedClassifier

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


def test_a_row_without_the_pairs_scores_is_refused_with_its_line(tmp_path: Path) -> None:
    traffic = _traffic(tmp_path / "traffic.jsonl", 3)
    lines = traffic.read_text().splitlines()
    bad = json.loads(lines[1])
    del bad["scores"]["big"]
    traffic.write_text("\n".join([lines[0], json.dumps(bad), lines[2]]) + "\n")
    out = tmp_path / "adapted"
    result = CliRunner().invoke(main, ["adapt", "--traffic", str(traffic), "--out", str(out)])
    assert result.exit_code == 2
    assert f"{traffic}:2: 'scores' has no entry for big" in result.output
    assert not out.exists()


def test_a_row_without_a_pair_is_refused(tmp_path: Path) -> None:
    traffic = tmp_path / "t.jsonl"
    traffic.write_text(json.dumps({"id": "a", "prompt": "hi", "scores": {"x": 1.0}}) + "\n")
    result = CliRunner().invoke(main, ["adapt", "--traffic", str(traffic), "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert ":1: 'local_model' and 'frontier_model' are required" in result.output


def test_few_labels_give_the_prior_alone(tmp_path: Path) -> None:
    traffic = _traffic(tmp_path / "traffic.jsonl", 10)
    out = tmp_path / "adapted"
    result = CliRunner().invoke(main, ["adapt", "--traffic", str(traffic), "--out", str(out)])
    assert result.exit_code == 0, result.output
    clf = load_classifier(out)
    assert isinstance(clf, LearnedClassifier) and clf.gain_model is None
    assert clf.score("hello there") == load_classifier().score("hello there")
