"""`router adapt` learns from graded outcomes (partial credit) next to the 0/1 scores.

A row may carry, besides `scores`, other fields that grade the same models' answers (m-ifeval's
`scores_loose` and `instr_frac`: a looser check, the share of instructions followed). Such a
field joins the label only when its pair gain tracks the scores' (r >= 0.5 over the file), so
a cost or latency map keyed by model never does.
"""

from __future__ import annotations

import json
from pathlib import Path
from statistics import fmean

import numpy as np
import pytest
from click.testing import CliRunner

from benchmarks import learning as bench
from benchmarks._common import DEFAULT_DATA
from router.classifier import load_classifier
from router.cli import main
from router.evaluation import load_outcomes, read_outcomes
from router.evaluation._data import OutcomeRow
from router.learning import _adapt as adapt_module
from router.learning._adapt import label_gains, pooled_gains, tracking_fields

MIFEVAL = DEFAULT_DATA / "m-ifeval.jsonl"
PAIR = ("small", "big")


def _rows(n: int = 60, seed: int = 0) -> list[OutcomeRow]:
    """`partial` grades the same answers as `scores` (1 where the score is 1, else a share);
    `cost` is a price map in [0, 1] keyed by the same models; `latency` is off [0, 1]."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        small, big = float(rng.integers(0, 2)), float(rng.integers(0, 2))
        partial = {
            m: s if s == 1.0 else round(float(rng.uniform(0, 0.6)), 3)
            for m, s in (("small", small), ("big", big))
        }
        graded = {
            "partial": partial,
            "cost": {"small": 0.0, "big": round(float(rng.uniform(0.2, 0.9)), 3)},
            "latency": {"small": 120.0 + i, "big": 900.0 - i},
        }
        rows.append(
            OutcomeRow(
                f"r{i}",
                f"prompt {i}",
                {"small": small, "big": big},
                local_model="small",
                frontier_model="big",
                graded=graded,
            )
        )
    return rows


def test_the_reader_keeps_other_fields_that_map_scored_models_to_numbers(tmp_path: Path) -> None:
    row = {
        "prompt": "Write a haiku in lowercase.",
        "scores": {"small": 0, "big": 1},
        "scores_loose": {"small": 0.5, "big": 1, "unscored": 1},
        "instr_frac": {"small": "0.5", "big": True},
        "responses": {"small": "a haiku", "big": "another"},
        "meta": {"lang": 1, "turns": 2},
        "one_model": {"big": 1.0},
    }
    path = tmp_path / "rows.jsonl"
    path.write_text(json.dumps(row) + "\n")
    (read,) = read_outcomes(path).rows
    assert read.graded == {
        "scores_loose": {"small": 0.5, "big": 1.0},
        "instr_frac": {"small": 0.5, "big": 1.0},
    }


def test_only_a_field_that_tracks_the_scores_joins_the_label() -> None:
    assert tracking_fields(_rows(), *PAIR) == ["partial"]


def test_a_field_missing_on_a_row_or_a_small_file_is_not_used() -> None:
    rows = _rows()
    rows[7] = OutcomeRow("r7", "p", rows[7].scores, local_model="small", frontier_model="big")
    assert tracking_fields(rows, *PAIR) == []
    assert tracking_fields(_rows(29), *PAIR) == []


def test_the_label_averages_the_pooled_gains_of_scores_and_each_tracking_field() -> None:
    rows = _rows()
    gains, used = label_gains(rows, *PAIR)
    graded = [OutcomeRow(r.id, r.prompt, r.graded["partial"]) for r in rows]
    expected = [
        (a + b) / 2
        for a, b in zip(pooled_gains(rows, *PAIR), pooled_gains(graded, *PAIR), strict=True)
    ]
    assert used == ["partial"]
    assert gains == pytest.approx(expected)
    assert gains != pooled_gains(rows, *PAIR)


def test_without_graded_fields_the_label_is_exactly_the_pooled_gain() -> None:
    plain = [
        OutcomeRow(r.id, r.prompt, r.scores, local_model="small", frontier_model="big")
        for r in _rows()
    ]
    assert label_gains(plain, *PAIR) == (pooled_gains(plain, *PAIR), [])


def _write(path: Path, rows: list[OutcomeRow], graded: bool) -> Path:
    prompts = ("Prove that {} is irrational, rigorously.", "Say hello to {} politely.")
    lines = []
    for i, r in enumerate(rows):
        row = {
            "id": r.id,
            "prompt": prompts[i % 2].format(i),
            "scores": dict(r.scores),
            "local_model": "small",
            "frontier_model": "big",
        }
        if graded:
            row |= {k: dict(v) for k, v in r.graded.items()}
        lines.append(json.dumps(row))
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("graded", [True, False])
def test_adapt_records_and_says_which_graded_fields_its_labels_used(
    tmp_path: Path, graded: bool
) -> None:
    traffic = _write(tmp_path / "t.jsonl", _rows(80), graded)
    out = tmp_path / "adapted"
    result = CliRunner().invoke(main, ["adapt", "--traffic", str(traffic), "--out", str(out)])
    assert result.exit_code == 0, result.output
    record = json.loads((out / "learned.json").read_text())["training"]["input"]
    if graded:
        assert record["graded_fields"] == {"small -> big": ["partial"]}
        assert "labels also use partial" in result.output
    else:
        assert "graded_fields" not in record
        assert "labels also use" not in result.output


@pytest.mark.skipif(not MIFEVAL.is_file(), reason=f"shared data not found at {DEFAULT_DATA}")
def test_graded_labels_route_m_ifeval_better_than_the_strict_scores_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """m-ifeval's own pair, adapting on 20%: with `scores_loose` and `instr_frac` in the label
    the 80% is routed better (12 splits: +0.011 APGR on the mean, 8 up, worst -0.002)."""
    dep = bench.deployment("m-ifeval", load_outcomes(MIFEVAL), load_classifier(), {})
    seeds = range(4)
    with_graded = [bench.adapt_split(dep, s)["adapt (20%)"][0] for s in seeds]
    monkeypatch.setattr(adapt_module, "MIN_TRACKING_R", 2.0)  # no field can track: scores only
    strict = [bench.adapt_split(dep, s)["adapt (20%)"][0] for s in seeds]
    assert fmean(with_graded) >= fmean(strict) + 0.003, (with_graded, strict)
    assert min(g - s for g, s in zip(with_graded, strict, strict=True)) >= -0.003
