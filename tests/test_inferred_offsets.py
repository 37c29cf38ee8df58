"""Task offsets inferred from the text: traffic labelled with tasks, scored without them.

The synthetic traffic names three tasks whose prompts lean on their own words (half of each
prompt's topic words are the task's, half another task's), and the frontier model gains on
task "alpha" far more than on the others. The per-task offsets carry what the words alone do
not; a request that arrives without a task gets the offset its words predict.
"""

from __future__ import annotations

import json
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from router.errors import ClassifierError
from router.learning import LabelledExample, LearnedClassifier, hashed_features, load_learned
from router.learning._adapt import describe, file_fit_params
from router.learning._fit import fit_candidate

T0 = datetime(2026, 1, 1, tzinfo=UTC)
VOCAB = {
    "alpha": ("enzyme", "protein", "membrane", "ribosome"),
    "beta": ("tariff", "invoice", "ledger", "dividend"),
    "gamma": ("sonnet", "stanza", "metaphor", "rhyme"),
}
FRAMES = ("Explain the {} and the {} in two lines.", "Which {} matters more than the {} here?")


def _traffic(n: int = 600, seed: int = 0) -> list[tuple[str, str, float]]:
    """(prompt, task, gain) rows: the frontier model gains on 70% of alpha, 20% of the rest."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        task = list(VOCAB)[i % 3]
        others = [w for t, words in VOCAB.items() if t != task for w in words]
        picked = [rng.choice(VOCAB[task] if rng.random() < 0.5 else others) for _ in range(2)]
        gain = 1.0 if rng.random() < (0.7 if task == "alpha" else 0.2) else 0.0
        rows.append((rng.choice(FRAMES).format(*picked), task, gain))
    return rows


def _fit(infer: bool = True, with_tasks: bool = True) -> LearnedClassifier:
    rows = _traffic()
    examples = [
        LabelledExample(hashed_features(p), g, T0 + timedelta(seconds=i), "file")
        for i, (p, _, g) in enumerate(rows)
    ]
    params = file_fit_params()
    params = params if infer else replace(params, task_infer_alpha=None)
    return fit_candidate(
        examples, params=params, tasks=[t for _, t, _ in rows] if with_tasks else None
    )


def _prompt(task: str) -> str:
    return FRAMES[0].format(*VOCAB[task][:2])


def test_a_request_without_a_task_gets_the_offset_its_words_predict() -> None:
    inferred, plain = _fit(), _fit(infer=False)
    assert inferred.gain_model is not None and inferred.gain_model.inferred_offsets is not None
    assert plain.gain_model is not None and plain.gain_model.inferred_offsets is None
    offsets = inferred.gain_model.task_offsets
    assert offsets["alpha"] > 0.5 > 0 > offsets["beta"], offsets
    alpha, beta = _prompt("alpha"), _prompt("beta")
    # Without a task, alpha's words move the score up and beta's down, towards their offsets.
    assert inferred.score(alpha) > plain.score(alpha) + 0.01
    assert inferred.score(beta) < plain.score(beta) - 0.01
    # The same for a task the model never saw; a known task's own offset wins over inference.
    assert inferred.score(alpha, task="unseen") == inferred.score(alpha)
    for task in VOCAB:
        assert inferred.score(beta, task=task) == plain.score(beta, task=task)
    # `router adapt` says so only when the artefact infers.
    assert any("without one, it is inferred from the text" in line for line in describe(inferred))
    assert not any("inferred" in line for line in describe(plain))


def test_the_text_path_and_the_stored_features_path_agree_to_the_bit() -> None:
    inferred = _fit()
    for task in VOCAB:
        for frame in FRAMES:
            prompt = frame.format(*VOCAB[task][1:3])
            assert inferred.score(prompt) == inferred.score_features(hashed_features(prompt))
    assert inferred.score("") == inferred.score_features(hashed_features(""))


def test_no_offsets_means_no_inference() -> None:
    """Labels without tasks: no offsets, nothing to infer, the artefact it always was."""
    fitted = _fit(with_tasks=False)
    assert fitted.gain_model is not None and fitted.gain_model.inferred_offsets is None
    assert fitted.version == _fit(infer=False, with_tasks=False).version
    assert "inferred_offsets" not in fitted.to_json()["model"]


def test_the_inferred_offsets_survive_a_round_trip_and_are_checksummed(tmp_path: Path) -> None:
    inferred = _fit()
    inferred.save(tmp_path / "out")
    loaded = load_learned(tmp_path / "out")
    assert loaded.version == inferred.version
    assert loaded.score(_prompt("alpha")) == inferred.score(_prompt("alpha"))
    path = tmp_path / "out" / "learned.json"
    doc = json.loads(path.read_text())
    assert doc["format_version"] == 4  # a router without inference refuses it by version
    doc["format_version"] = 3
    path.write_text(json.dumps(doc))
    with pytest.raises(ClassifierError, match="inferred offsets 4"):
        load_learned(tmp_path / "out")
    doc["format_version"] = 4
    doc["model"]["inferred_offsets"]["intercept"] += 1.0
    path.write_text(json.dumps(doc))
    with pytest.raises(ClassifierError, match="checksum"):
        load_learned(tmp_path / "out")
    doc["model"]["inferred_offsets"] = {"intercept": 0.0, "ngram_coef": {"3": 1.0}}
    path.write_text(json.dumps(doc))
    with pytest.raises(ClassifierError, match="malformed 'model'"):
        load_learned(tmp_path / "out")
