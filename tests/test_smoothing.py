"""Smoothed rates: what a short prompt's rates become, and which artefacts apply them."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pytest

from router.classifier import DifficultyClassifier, load_classifier
from router.classifier import _features as features
from router.classifier._model import Artefact, checksum
from router.classifier._smoothing import SMOOTHED_RATES, smoothed_rates
from router.classifier._train import TrainParams, featurize, fit
from router.errors import ClassifierError
from router.learning import LearnedClassifier, hashed_features
from tests.test_classifier import synthetic_rows

NAMES = features.DENSE_NAMES
RATES = ("digit_frac", "upper_frac", "punct_frac", "mean_token_len")


def _named(prompt: str, smooth: bool) -> dict[str, float]:
    dense = features.extract(prompt).dense
    return dict(zip(NAMES, smoothed_rates(dense) if smooth else dense, strict=True))


def test_a_short_prompts_rates_move_most_of_the_way_to_the_average() -> None:
    raw, smooth = _named("What is 2+2?", False), _named("What is 2+2?", True)
    assert raw["digit_frac"] == pytest.approx(2 / 12)
    assert smooth["digit_frac"] == pytest.approx((2 + 280 * 0.05) / (12 + 280))
    # Six tokens in twelve characters: read at face value, two characters a token.
    tokens_raw, tokens_smooth = math.expm1(raw["log_tokens"]), math.expm1(smooth["log_tokens"])
    assert tokens_raw == pytest.approx(6)
    assert tokens_smooth == pytest.approx(12 * 86 / (12 + 80 * 3.7))
    unchanged = set(NAMES) - {*RATES, "log_tokens"}
    assert all(raw[n] == smooth[n] for n in unchanged)


def test_a_long_prompt_keeps_nearly_its_own_rates() -> None:
    prompt = "Compute 12*34 + 56/7 and show every step. " * 100  # 4,200 characters
    raw, smooth = _named(prompt, False), _named(prompt, True)
    for name in (*RATES, "log_tokens"):
        assert smooth[name] == pytest.approx(raw[name], rel=0.06), name
        assert abs(smooth[name] - raw[name]) < abs(_named("12*34?", True)[name] - raw[name])


def test_an_empty_prompt_gets_the_averages() -> None:
    smooth = _named("", True)
    assert smooth["digit_frac"] == pytest.approx(0.05) and smooth["log_tokens"] == 0.0
    assert smooth["mean_token_len"] == pytest.approx(3.3)


def _fitted(smooth: bool) -> DifficultyClassifier:
    sources = [featurize(s, synthetic_rows(s)) for s in ("one", "two")]
    params = TrainParams(min_df=1, min_sources=1, smooth_rates=smooth)
    return DifficultyClassifier(fit(sources, params))


def test_training_records_the_smoothing_and_scoring_applies_it() -> None:
    smoothed, plain = _fitted(True), _fitted(False)
    assert smoothed.weights.dense_transform == SMOOTHED_RATES
    assert plain.weights.dense_transform is None
    assert "dense_transform" not in Artefact(plain.weights).to_json()["model"]
    # The same weights read without the smoothing give another score: scoring applies it.
    unsmoothed = DifficultyClassifier(dataclasses.replace(smoothed.weights, dense_transform=None))
    assert smoothed.score("What is 2+2?") != unsmoothed.score("What is 2+2?")


def test_stored_features_score_as_the_text_does_with_the_smoothing() -> None:
    prior = _fitted(True)
    learned = LearnedClassifier(prior)
    for prompt in ("What is 2+2?", "hi", "Prove it. " * 300):
        assert learned.score_features(hashed_features(prompt)) == pytest.approx(
            prior.score(prompt), abs=1e-12
        )


def test_the_shipped_prior_smooths() -> None:
    assert load_classifier().weights.dense_transform == SMOOTHED_RATES


@pytest.mark.parametrize("value", ["smoothed-rates-v9", 1, ["smoothed-rates"]])
def test_an_unknown_transform_is_refused_by_name(tmp_path: Path, value: object) -> None:
    doc = Artefact(_fitted(True).weights).to_json()
    doc["model"]["dense_transform"] = value
    doc["checksum"] = checksum(doc["model"])
    path = tmp_path / "default.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(ClassifierError, match=r"dense_transform .* is not supported"):
        load_classifier(path)


def test_removing_the_transform_breaks_the_checksum(tmp_path: Path) -> None:
    doc = Artefact(_fitted(True).weights).to_json()
    del doc["model"]["dense_transform"]
    path = tmp_path / "default.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(ClassifierError, match="checksum mismatch"):
        load_classifier(path)


def test_weights_built_in_code_with_an_unknown_transform_are_refused() -> None:
    weights = dataclasses.replace(_fitted(True).weights, dense_transform="smoothed-rates-v9")
    with pytest.raises(ClassifierError, match=r"classifier artefact: model\.dense_transform"):
        DifficultyClassifier(weights)
