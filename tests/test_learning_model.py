"""The learning interface: stored features, labelled examples, the learned scorer and its fit."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from router.classifier import Classifier, load_classifier
from router.classifier._features import extract
from router.errors import ClassifierError
from router.learning import (
    LabelledExample,
    LearnedClassifier,
    hashed_features,
    load_learned,
)
from router.learning._adapt import file_fit_params
from router.learning._examples import GRAM_COUNT, HASH_OFFSET, gram_bucket, stored_features
from router.learning._fit import FitParams, fit_candidate
from router.learning._model import HashedPrior

T0 = datetime(2026, 1, 1, tzinfo=UTC)
MATHS = "Prove that the integral of {} over the unit interval converges, step by step."
TRIVIA = "Who was the first person born in {}? Answer briefly."


def _examples(n: int, seed: int = 0) -> list[LabelledExample]:
    """Synthetic traffic where the frontier model gains on maths prompts only."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        maths = i % 2 == 0
        text = (MATHS if maths else TRIVIA).format(rng.choice(["x", "sin y", "Paris", "Lima"]))
        gain = (
            (1.0 if rng.random() < 0.8 else 0.0) if maths else (0.0 if rng.random() < 0.8 else 1.0)
        )
        out.append(LabelledExample(hashed_features(text), gain, T0 + timedelta(minutes=i), "file"))
    return out


def test_hashed_features_keep_dense_signals_and_hashed_grams_only() -> None:
    f = hashed_features("What is the capital of France?")
    assert f[GRAM_COUNT] == 13.0  # 7 distinct unigrams ("?" is one) and 6 bigrams
    assert all(isinstance(k, int) and isinstance(v, float) for k, v in f.items())
    grams = [k for k in f if k >= HASH_OFFSET]
    assert len(grams) >= 10 and sum(f[k] for k in grams) == f[GRAM_COUNT]
    assert "France" not in json.dumps(f) and hashed_features("What is 2+2?") != f


def test_hashed_prior_matches_the_prior_on_text() -> None:
    prior = load_classifier()
    hashed = HashedPrior(prior)
    for text in ("What is 2+2?", "Prove the Riemann hypothesis.", MATHS.format("x") * 30):
        assert hashed.logit(hashed_features(text)) == pytest.approx(prior.logit(text), abs=1e-6)


def test_labelled_example_validates_its_fields() -> None:
    f = hashed_features("hi")
    with pytest.raises(ValueError, match="gain"):
        LabelledExample(f, 1.5, T0, "file")
    with pytest.raises(ValueError, match="timezone"):
        LabelledExample(f, 0.0, datetime(2026, 1, 1), "file")
    with pytest.raises(ValueError, match="source"):
        LabelledExample(f, 0.0, T0, "guess")


def test_cold_start_is_the_prior_alone() -> None:
    prior = load_classifier()
    clf = fit_candidate([], prior=prior)
    assert isinstance(clf, Classifier) and clf.gain_model is None
    for text in ("What is 2+2?", "Prove the Riemann hypothesis."):
        assert clf.score(text) == prior.score(text)


def test_labels_teach_the_in_domain_gain() -> None:
    clf = fit_candidate(_examples(200))
    assert clf.gain_model is not None, clf.training
    hard, easy = clf.score(MATHS.format("cos z")), clf.score(TRIVIA.format("Rome"))
    assert hard > easy + 0.15  # score = sigmoid(4 * predicted gain): gains 0.8 vs 0.2


def test_labels_on_identical_prompts_leave_the_prior_alone_not_an_error() -> None:
    """`router learn` on traffic where every prompt is the same text: nothing varies with the
    gain, so the calibration has nothing to fit (numpy's least squares raised before)."""
    same = hashed_features(MATHS.format("x"))
    examples = [
        LabelledExample(same, float(i % 2), T0 + timedelta(minutes=i), "file") for i in range(80)
    ]
    clf = fit_candidate(examples, prior=load_classifier())
    assert clf.gain_model is None, clf.training


def test_fit_is_deterministic_and_order_free() -> None:
    examples = _examples(120)
    shuffled = examples[::-1]
    assert fit_candidate(examples).version == fit_candidate(shuffled).version


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    clf = fit_candidate(_examples(120))
    clf.save(tmp_path / "art")
    again = load_learned(tmp_path / "art")
    assert again.version == clf.version
    assert again.score(MATHS.format("t")) == clf.score(MATHS.format("t"))
    assert load_classifier(tmp_path / "art").score("hi") == clf.score("hi")
    assert not list((tmp_path / "art").glob(".*.tmp"))


def test_a_tampered_artefact_is_refused(tmp_path: Path) -> None:
    fit_candidate(_examples(120)).save(tmp_path)
    path = tmp_path / "learned.json"
    doc = json.loads(path.read_text())
    doc["model"]["intercept"] += 1.0
    path.write_text(json.dumps(doc))
    with pytest.raises(ClassifierError, match="checksum"):
        load_learned(tmp_path)
    path.write_text("{not json")
    with pytest.raises(ClassifierError, match="not valid JSON"):
        load_learned(tmp_path)


def test_learned_classifier_scores_answers_with_the_priors_posthoc_model() -> None:
    prior = load_classifier()
    clf = LearnedClassifier(prior)
    assert clf.score("Pick A or B.", "A") == prior.score("Pick A or B.", "A")


# -- the scoring path from text (one precomputed bucket table) ------------------------------------

COLLIDING = ("qdntve", "qpaaaa")  # two words whose grams hash to one bucket


def test_the_two_colliding_words_share_a_bucket() -> None:
    assert gram_bucket(COLLIDING[0]) == gram_bucket(COLLIDING[1])


def test_scoring_text_equals_scoring_its_stored_features_exactly() -> None:
    clf = fit_candidate(_examples(200))
    assert clf.gain_model is not None
    texts = [
        "",
        "hi",
        "What is 2+2?",
        "日本語で答えてください。東京はどこですか\uff1f",
        MATHS.format("x") * 40,  # longer than the features' window
        *(TRIVIA.format(c) for c in ("Paris", "Lima", "Oslo")),
        *(MATHS.format(f"x^{i}") for i in range(20)),
    ]
    for text in texts:
        assert clf.score(text) == clf.score_features(hashed_features(text)), text


def test_two_grams_of_one_prompt_in_one_bucket_are_counted_together() -> None:
    """`hashed_features` sums them into one bucket (count 2, which weighs differently in the
    TF-IDF norm); the text path must agree."""
    a, b = COLLIDING
    traffic = _examples(100) + [
        LabelledExample(hashed_features(f"{w} {MATHS.format(w)}"), 1.0, T0, "file")
        for w in (a, a, b, b)
    ]
    clf = fit_candidate(traffic)
    for text in (f"{a} alone", f"{a} and {b} together", f"{b} and {a}", f"{b} alone"):
        assert clf.score(text) == clf.score_features(hashed_features(text)), text


def test_the_gain_model_learns_from_the_dense_signals_too() -> None:
    """Prompts with the same distinct n-grams that differ only in length: the TF-IDF part cannot
    tell them apart, the dense signals (lengths) can. Long ones gain, short ones do not."""
    traffic = [
        LabelledExample(
            hashed_features("alpha beta " * k),
            1.0 if k > 20 else 0.0,
            T0 + timedelta(minutes=k),
            "file",
        )
        for k in range(1, 41)
        for _ in range(3)
    ]
    with_dense = fit_candidate(traffic)
    without = fit_candidate(traffic, params=FitParams(dense_weight=0.0))
    assert with_dense.gain_model is not None and any(with_dense.gain_model.dense_coef)
    long, short = "alpha beta " * 35, "alpha beta " * 3

    def gap(clf: LearnedClassifier) -> float:
        return clf.score(long) - clf.score(short)

    assert gap(with_dense) > gap(without) + 0.1, (gap(with_dense), gap(without))
    assert with_dense.score(long) == with_dense.score_features(hashed_features(long))


def _labelled_by_the_prior(agree: bool) -> list[LabelledExample]:
    """`_examples`' prompts, gain 1 where the shipped prior scores high (or low: `agree=False`)."""
    hashed = HashedPrior(load_classifier())
    examples = _examples(200)
    logits = sorted(hashed.logit(e.features) for e in examples)
    median = logits[len(logits) // 2]
    return [
        LabelledExample(
            e.features, float((hashed.logit(e.features) >= median) == agree), e.observed_at, "file"
        )
        for e in examples
    ]


def test_a_prior_that_ranks_a_files_labels_backwards_is_left_out_of_the_blend() -> None:
    params = file_fit_params()
    against = fit_candidate(_labelled_by_the_prior(agree=False), params=params)
    assert against.training["validation"]["prior_rank_t"] < 0
    assert against.training["chosen"].startswith("blend w=1.000")
    agreeing = fit_candidate(_labelled_by_the_prior(agree=True), params=params)
    assert agreeing.training["validation"]["prior_rank_t"] > 0
    assert agreeing.training["chosen"].startswith("blend w=0.800")  # 200 / (200 + 50)


def test_the_ledgers_labels_always_blend_the_prior() -> None:
    """Escalation labels are a biased sample: a prior's rank on them says little."""
    against = fit_candidate(_labelled_by_the_prior(agree=False))
    assert against.training["chosen"] == "blend w=0.800"


def test_the_in_domain_weight_follows_the_labels_effective_number_not_their_count() -> None:
    """The ledger's labels carry importance weights: a shadow at a 2% rate weighs 50, an
    escalation about 2. A few heavy labels are worth few labels, whatever their count, and the
    in-domain weight `n / (n + 50)` must see that (on the 2% shadow simulation the raw count gave
    mmlu-pro's few noisy labels 94% of the ranking and the curve fell below the cold start)."""
    examples = _examples(200)
    plain = fit_candidate(examples).training
    assert plain["validation"]["effective_labels"] == 200
    assert plain["chosen"].startswith("blend w=0.800")  # 200 / (200 + 50)
    scaled = [replace(e, weight=50.0) for e in examples]
    assert fit_candidate(scaled).training["chosen"] == plain["chosen"]  # only ratios matter
    heavy = [replace(e, weight=50.0 if i % 20 == 0 else 1.0) for i, e in enumerate(examples)]
    effective = (10 * 50 + 190) ** 2 / (10 * 50**2 + 190)  # about 18.9 labels
    fitted = fit_candidate(heavy).training
    assert fitted["validation"]["effective_labels"] == pytest.approx(effective, abs=1e-5)
    assert fitted["validation"]["weight"] == pytest.approx(effective / (effective + 50), abs=1e-5)
    assert fitted["chosen"].startswith("blend w=0.274")  # the count (200) would give 0.800


# -- the features the classifier scored, handed to the learning store -----------------------------

HANDED_OVER_TEXTS = (
    "",
    "hi",
    "What is 2+2?",
    "日本語で答えてください。東京はどこですか\uff1f",
    MATHS.format("x") * 40,  # longer than the features' window
    f"{COLLIDING[0]} and {COLLIDING[1]} together",  # two grams in one bucket
)


@pytest.mark.parametrize("text", HANDED_OVER_TEXTS)
def test_features_stored_from_the_scored_extraction_equal_those_from_the_text(text: str) -> None:
    from_text = {str(k): float(v) for k, v in hashed_features(text).items()}
    assert stored_features(extract(text)) == from_text


def test_the_shipped_classifiers_hand_over_the_features_they_scored() -> None:
    prior = load_classifier()
    learned = fit_candidate(_examples(200))
    for clf in (prior, learned, LearnedClassifier(prior)):
        for text in HANDED_OVER_TEXTS:
            score, features = clf.score_with_features(text)
            assert score == clf.score(text) and features == extract(text), (clf, text)
