"""The difficulty classifier: public API, features, artefact safety, training round trip."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from router.classifier import Classifier, DifficultyClassifier, load_classifier
from router.classifier import _features as features
from router.classifier._artefact import DEFAULT_ARTEFACT, default_artefact_text
from router.classifier._model import Artefact, checksum
from router.classifier._train import TrainParams, difficulty, featurize, fit
from router.errors import ClassifierError, RouterError
from router.evaluation import OutcomeRow, load_outcomes, pair_metrics, pick_pair
from tests.support import shared_data_file


def synthetic_rows(source: str, n: int = 40) -> list[OutcomeRow]:
    """Hard prompts carry maths; easy ones are chat. Three models, so difficulty is graded."""
    rows = []
    for i in range(n):
        hard = i % 2 == 0
        prompt = (
            f"Compute the integral of x^{i % 5 + 2} dx from 0 to {i}; prove it step by step."
            if hard
            else f"Hello there, tell me a fun story about a cat named {source}{i}."
        )
        fail = [1.0, 1.0, 0.0] if hard else [0.0, 0.0, 0.0]
        if i % 7 == 0:
            fail = [1.0 - f for f in fail]  # some label noise
        scores = {m: 1.0 - f for m, f in zip(("a", "b", "c"), fail, strict=True)}
        rows.append(OutcomeRow(f"{source}-{i}", prompt, scores, source, "t", "a", "c"))
    return rows


def tiny_model() -> DifficultyClassifier:
    sources = [featurize(s, synthetic_rows(s)) for s in ("one", "two")]
    return DifficultyClassifier(fit(sources, TrainParams(min_df=1, min_sources=1)))


# --- public API ---------------------------------------------------------------------------


def test_default_classifier_satisfies_the_protocol():
    clf = load_classifier()
    assert isinstance(clf, Classifier)
    assert load_classifier() is clf  # parsed once, shared


def test_scores_are_probabilities_and_deterministic():
    clf = load_classifier()
    prompts = ["", "hi", "Prove that sqrt(2) is irrational.", "日本語で答えて", "x" * 20000]
    scores = clf.score_batch(prompts)
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert scores == [clf.score(p) for p in prompts]
    assert scores == clf.score_batch(prompts, [None] * len(prompts))


def test_shipped_classifier_judges_the_answer_when_given_one():
    clf = load_classifier()
    assert clf.uses_response
    mcq = "Which is a noble gas?\nA. Iron\nB. Neon\nC. Sodium\nD. Carbon\nAnswer:"
    committed = clf.score(mcq, "Neon has a full outer shell. The answer is (B).")
    no_choice = clf.score(mcq, "It is hard to say without more information")
    assert no_choice > committed
    assert clf.score(mcq, None) == clf.score(mcq)


def test_score_batch_checks_lengths_and_types():
    clf = load_classifier()
    with pytest.raises(ValueError, match="2 prompts but 1 responses"):
        clf.score_batch(["a", "b"], ["x"])
    with pytest.raises(TypeError, match="prompt must be str"):
        clf.score(None)  # type: ignore[arg-type]


def test_hard_maths_scores_above_small_talk():
    clf = load_classifier()
    hard = "Evaluate the integral of x^3 e^(2x) dx and prove the result by differentiation."
    assert clf.score(hard) > clf.score("Hi! How are you today?")


def test_importing_the_classifier_does_not_import_litellm_or_sklearn():
    code = (
        "import sys, router.classifier as c; c.load_classifier().score('hi');"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('litellm', 'sklearn')];"
        "print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- features -----------------------------------------------------------------------------


def test_tokens_normalise_digits_and_split_cjk():
    assert features.tokens("Add 12 and 7!") == ["add", "00", "and", "0", "!"]
    assert features.tokens("日本語 ok") == ["日", "本", "語", "ok"]


def test_extract_has_one_value_per_dense_name_and_bigrams():
    dense, grams = features.extract("Write a Python function. At least 3 words.")
    assert len(dense) == len(features.DENSE_NAMES)
    assert ("at", "least") in grams
    assert "python" in grams
    lex = dict(zip(features.DENSE_NAMES, dense, strict=True))
    assert lex["lex_code"] > 0
    assert lex["lex_constraint"] > 0


def test_long_prompts_are_read_by_head_and_tail():
    long = "a " * 10000 + "integral"
    dense, grams = features.extract(long)
    assert "integral" in grams
    assert dense[0] == pytest.approx(__import__("math").log1p(len(long)))


def test_gram_names_round_trip():
    for gram in ("word", "two words"):
        assert features.gram_name(features.gram_key(gram)) == gram


# --- training -----------------------------------------------------------------------------


def test_difficulty_is_the_share_of_models_failing():
    row = OutcomeRow("x", "p", {"a": 1.0, "b": 0.0, "c": 0.5, "d": 0.0})
    assert difficulty(row) == pytest.approx(0.625)


def test_training_learns_the_synthetic_signal():
    clf = tiny_model()
    hard = "Compute the integral of x^9 dx from 0 to 3; prove it step by step."
    assert clf.score(hard) > 0.5 > clf.score("Hello there, tell me a fun story about a dog.")


def test_vocabulary_requires_several_sources():
    one = featurize("one", synthetic_rows("one"))
    two = featurize("two", synthetic_rows("two"))
    weights = fit([one, two], TrainParams(min_df=1, min_sources=2))
    assert "one0" not in weights.ngram_weights  # only in source "one"
    assert "integral" in weights.ngram_weights


# --- artefact -----------------------------------------------------------------------------


def _write(tmp_path: Path, doc: dict[str, object]) -> Path:
    path = tmp_path / DEFAULT_ARTEFACT
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def _artefact_doc() -> dict[str, object]:
    return Artefact(tiny_model().weights, {"seed": 0}, {}).to_json()


def test_artefact_round_trip_gives_identical_scores(tmp_path: Path):
    clf = tiny_model()
    (tmp_path / DEFAULT_ARTEFACT).write_text(Artefact(clf.weights).dumps(), encoding="utf-8")
    loaded = load_classifier(tmp_path)  # a directory works, as written by `router train`
    prompts = [r.prompt for r in synthetic_rows("z", 10)]
    assert loaded.score_batch(prompts) == clf.score_batch(prompts)


def test_shipped_artefact_is_small_versioned_and_documented():
    text, _where = default_artefact_text()
    assert len(text.encode()) < 3_000_000
    doc = json.loads(text)
    assert doc["format_version"] == 1
    assert doc["features_version"] == features.FEATURES_VERSION
    assert doc["checksum"] == checksum(doc["model"])
    training = doc["training"]
    assert {d["file"] for d in training["data"]} >= {"mmlu-pro.jsonl", "llmrouter-train.jsonl"}
    assert isinstance(training["seed"], int)
    assert doc["metrics"]["validation"]


def test_artefact_is_plain_json_never_unpickled():
    text, _ = default_artefact_text()
    assert text.lstrip().startswith("{")
    json.loads(text)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(format="other"), "not a cost-router classifier artefact"),
        (lambda d: d.update(format_version=99), "format_version 99 is not supported"),
        (lambda d: d.update(features_version=0), "features_version 0 is not supported"),
        (lambda d: d["model"]["ngram_weights"].update(extra=1.0), "checksum mismatch"),
        (lambda d: d.pop("model"), "'model' is missing"),
    ],
)
def test_corrupt_artefacts_raise_classifier_error(tmp_path: Path, mutate, message):
    doc = _artefact_doc()
    mutate(doc)
    with pytest.raises(ClassifierError, match=message):
        load_classifier(_write(tmp_path, doc))


def test_mistyped_fields_are_caught_even_with_a_matching_checksum(tmp_path: Path):
    doc = _artefact_doc()
    model = doc["model"]
    assert isinstance(model, dict)
    model["dense_mean"] = model["dense_mean"][:-1]
    doc["checksum"] = checksum(model)
    with pytest.raises(ClassifierError, match="dense_mean must be a list"):
        load_classifier(_write(tmp_path, doc))


def test_artefact_from_other_features_is_rejected(tmp_path: Path):
    doc = _artefact_doc()
    model = doc["model"]
    assert isinstance(model, dict)
    for key in ("dense_names", "dense_mean", "dense_scale", "dense_coef"):
        model[key] = model[key][:3]
    doc["checksum"] = checksum(model)
    with pytest.raises(ClassifierError, match="retrain it"):
        load_classifier(_write(tmp_path, doc))


def test_truncated_or_missing_artefact(tmp_path: Path):
    path = tmp_path / "a.json"
    path.write_text('{"format": "cost-router/diff', encoding="utf-8")
    with pytest.raises(ClassifierError, match="not valid JSON"):
        load_classifier(path)
    with pytest.raises(ClassifierError, match="cannot read"):
        load_classifier(tmp_path / "empty-dir-has-no-artefact")
    assert issubclass(ClassifierError, RouterError)


# --- optional integration on the shared data ----------------------------------------------


def test_shipped_classifier_beats_random_on_shared_arena_file():
    rows = load_outcomes(shared_data_file("arena-bench-v1.jsonl"))
    pair = pick_pair(rows)
    metrics = pair_metrics(load_classifier().score_batch([r.prompt for r in pair.rows]), pair)
    assert metrics.apgr > 0.5
