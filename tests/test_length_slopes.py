"""The fit's length slopes: a second-stage slope on the prompt's log length, per task.

The synthetic prompts are filler words drawn from a vocabulary too large for any n-gram to
recur, so only a prompt's length can carry the gain; within a task the gain follows length
(up in one task, down in another). Real data: docs/learning-model.md "Length slopes".
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from router.errors import ClassifierError
from router.learning import LabelledExample, LearnedClassifier, hashed_features, load_learned
from router.learning._adapt import describe, file_fit_params
from router.learning._fit import FitParams, fit_candidate, recovered_gain

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _prompt(rng: random.Random, words: int) -> str:
    return " ".join(f"w{rng.randrange(10**6)}" for _ in range(words)) + "."


def _rows(n: int, seed: int, falling_task: str = "") -> list[tuple[str, float, str]]:
    """(prompt, gain, task): in every task but `falling_task` the longer half gains (85%)."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        task = ("up", "down")[i % 2] if falling_task else ""
        words = rng.randint(3, 120)
        long_gains = (words > 60) != (task == falling_task and bool(falling_task))
        rows.append(
            (_prompt(rng, words), 1.0 if (rng.random() < 0.85) == long_gains else 0.0, task)
        )
    return rows


def _fit(rows: list[tuple[str, float, str]], **params: object) -> LearnedClassifier:
    fit_params = FitParams(**{**_fields(file_fit_params()), **params})
    examples = [
        LabelledExample(hashed_features(p), g, T0 + timedelta(seconds=i), "file")
        for i, (p, g, _) in enumerate(rows)
    ]
    return fit_candidate(examples, params=fit_params, tasks=[t for _, _, t in rows])


def _fields(params: FitParams) -> dict[str, object]:
    return {f: getattr(params, f) for f in params.__slots__}


def _captured(model: LearnedClassifier, rows: list[tuple[str, float, str]]) -> float:
    scores = np.array([model.score(p, task=t or None) for p, _, t in rows])
    gains = np.array([g for _, g, _ in rows])
    return recovered_gain(scores, gains) / recovered_gain(gains, gains)


def test_a_gain_that_follows_length_is_learned_when_no_word_recurs() -> None:
    """The ridge's dense columns take some of it (0.836 of the gain captured on unseen rows);
    the slope on what they leave adds to it (0.861)."""
    train, unseen = _rows(300, seed=0), _rows(600, seed=1)
    with_slope, without = _fit(train), _fit(train, length_shrink=None)
    assert with_slope.gain_model is not None and without.gain_model is not None
    _, scale, coef = with_slope.gain_model.length_slopes[""]
    assert coef > 0.2 and scale > 0, with_slope.gain_model.length_slopes
    assert _captured(with_slope, unseen) >= _captured(without, unseen) + 0.015
    assert "length slopes for 1 groups" in with_slope.training["chosen"]
    assert (
        describe(with_slope)[-1] == f"length slopes (logit per s.d. of log length): all {coef:+.2f}"
    )


def test_each_task_gets_its_own_slope_and_a_request_without_one_gets_the_pooled_slope() -> None:
    train, unseen = _rows(400, seed=2, falling_task="down"), _rows(800, seed=3, falling_task="down")
    model = _fit(train)
    assert model.gain_model is not None
    slopes = model.gain_model.length_slopes
    assert slopes["up"][2] > 0.3 and slopes["down"][2] < -0.3, slopes
    assert describe(model)[-1].startswith("length slopes (logit per s.d. of log length): all ")
    assert f"down {slopes['down'][2]:+.2f}" in describe(model)[-1]
    assert abs(slopes[""][2]) < min(slopes["up"][2], -slopes["down"][2]), slopes
    assert _captured(model, unseen) >= _captured(_fit(train, length_shrink=None), unseen) + 0.1
    short, long = _prompt(random.Random(4), 5), _prompt(random.Random(5), 110)
    assert model.score(long, task="up") > model.score(short, task="up")
    assert model.score(long, task="down") < model.score(short, task="down")
    for task in (None, "", "never seen"):  # the pooled slope: as if no task had been named
        assert model.score(long, task=task) == _fit([(p, g, "") for p, g, _ in train]).score(long)


def test_the_slopes_survive_a_round_trip_and_are_checksummed(tmp_path: Path) -> None:
    model = _fit(_rows(300, seed=0))
    model.save(tmp_path)
    prompt = _prompt(random.Random(6), 40)
    assert load_learned(tmp_path).score(prompt) == model.score(prompt)
    doc = json.loads((tmp_path / "learned.json").read_text())
    assert doc["format_version"] == 3
    for slope, error in (([0.0, 1.0, 9.0], "checksum"), ([0.0, 0.0, 1.0], "malformed 'model'")):
        doc["model"]["length_slopes"][""] = slope
        (tmp_path / "learned.json").write_text(json.dumps(doc))
        with pytest.raises(ClassifierError, match=error):
            load_learned(tmp_path)
