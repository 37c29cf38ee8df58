"""The shipped classifier's scores, checked against an independent computation made at build time.

`tests/data/score_golden.json` holds, for 400 generated prompts, the scores of the shipped
artefact as the *training* side computes them: the same numpy/scipy design matrices `router train`
fits on (standardised dense block, `1/sqrt(#grams)` n-gram matrix over the vocabulary), times the
exported coefficients, through a logistic. The runtime scorer (`DifficultyClassifier`, pure
Python, with folded weights and plain sums) is a separate implementation of the same model, so:

- the runtime scores must match the golden within 1e-9 (a faster scorer may not drift);
- the golden names the artefact checksum it was made for: retraining the shipped artefact
  without regenerating it fails here, and regenerating uses the training path, not the code
  under test: `python -m tests.test_score_stability`.

Quality is checked separately, across sources, in tests/test_learning_quality.py and
tests/test_prior_quality.py.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any

import numpy as np

from router.classifier import _features, _smoothing, load_classifier
from router.classifier._train import _ngram_matrix

GOLDEN = Path(__file__).parent / "data" / "score_golden.json"
TOLERANCE = 1e-9
_VOCAB = (
    "the a of to and is what why how explain calculate solve prove write story poem python "
    "function class def return import SQL SELECT integral derivative probability matrix step "
    "first then finally must should exactly json bullet paragraph who when capital born act "
    "pretend Question: Answer: Q: A: http://example.com https://x.io $x^2$ \\frac{a}{b} "
    "日本語 東京 はい カタカナ 한국어 中文 café naïve über 3 + 4 = 7 12*3 100/4 2^10 (a) (b) "
    "A) B) C) D) ? ! . , ; : - ( ) [ ] { } \" ' e.g. i.e. email@example.com 4111-1111-1111-1111"
)
_WORDS = _VOCAB.split(" ")
_SEPS = (" ", " ", " ", " ", "\n", "\n    ", "\t", "  ", "\n\n", "")


def prompts(n: int = 400, seed: int = 10) -> list[str]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        size = rng.choice((1, 3, 8, 20, 60, 150, 400, 900))
        parts = [rng.choice(_WORDS) + rng.choice(_SEPS) for _ in range(size)]
        text = "".join(parts).strip() or "hello"
        out.append(text.upper() if i % 37 == 0 else text)
    return out


def reference_scores(texts: list[str]) -> list[float]:
    """The training side's computation: the design matrix `router train` fits on, times the
    artefact's coefficients (numpy and scipy; no code of the runtime scorer but the features)."""
    w = load_classifier().weights
    feats = [_features.extract(t) for t in texts]
    dense = np.array([f.dense for f in feats], dtype=np.float64)
    if w.dense_transform == _smoothing.SMOOTHED_RATES:
        dense = smoothed_columns(dense)
    z_dense = (dense - np.array(w.dense_mean)) / np.array(w.dense_scale)
    vocab = {_features.gram_key(g): i for i, g in enumerate(sorted(w.ngram_weights))}
    coef = np.array([w.ngram_weights[g] for g in sorted(w.ngram_weights)], dtype=np.float64)
    z = (
        w.intercept
        + z_dense @ np.array(w.dense_coef)
        + _ngram_matrix([f.grams for f in feats], vocab) @ coef
    )
    return [1.0 / (1.0 + math.exp(-float(v))) for v in z]


def smoothed_columns(dense: np.ndarray) -> np.ndarray:
    """`_smoothing.smoothed_rates` on every row at once, written from its docstring's formula
    with numpy (the runtime applies it one prompt at a time in pure Python)."""
    names = _features.DENSE_NAMES
    col = names.index
    out = dense.copy()
    chars = np.expm1(dense[:, col("log_chars")])
    tokens = np.expm1(dense[:, col("log_tokens")])
    pseudo_c, pseudo_t = _smoothing.PSEUDO_CHARS, _smoothing.PSEUDO_TOKENS
    for name, average in (("digit_frac", 0.05), ("upper_frac", 0.035)):
        out[:, col(name)] = (dense[:, col(name)] * chars + pseudo_c * average) / (chars + pseudo_c)
    for name, average in (("punct_frac", 0.22), ("mean_token_len", 3.3)):
        total = dense[:, col(name)] * tokens + pseudo_t * average
        out[:, col(name)] = total / (tokens + pseudo_t)
    per_token = (chars + pseudo_t * _smoothing.CHARS_PER_TOKEN) / (tokens + pseudo_t)
    out[:, col("log_tokens")] = np.log1p(chars / per_token)
    return out


def _golden() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(GOLDEN.read_text())
    return doc


def test_the_golden_was_made_for_the_shipped_artefact() -> None:
    shipped = json.loads(
        (Path(__file__).parent.parent / "router/data/classifier/default.json").read_text()
    )
    assert _golden()["artefact_checksum"] == shipped["checksum"], (
        "the shipped artefact changed: regenerate with `python -m tests.test_score_stability`"
    )


def test_runtime_scores_match_the_training_side_computation() -> None:
    golden = _golden()["scores"]
    clf = load_classifier()
    now = [clf.score(p) for p in prompts()]
    assert len(now) == len(golden) == 400
    worst = max(abs(a - b) for a, b in zip(now, golden, strict=True))
    assert worst <= TOLERANCE, worst


def test_the_golden_prompts_cover_the_feature_paths() -> None:
    texts = prompts()
    assert any(not t.isascii() for t in texts) and any(t.isascii() for t in texts)
    assert any(len(t) > 1250 for t in texts)  # the head-and-tail window
    assert len({round(s, 3) for s in _golden()["scores"]}) > 100  # not all alike


if __name__ == "__main__":
    checksum = json.loads(
        (Path(__file__).parent.parent / "router/data/classifier/default.json").read_text()
    )["checksum"]
    GOLDEN.parent.mkdir(exist_ok=True)
    doc = {
        "artefact_checksum": checksum,
        "made_by": "reference_scores (training side)",
        "scores": reference_scores(prompts()),
    }
    GOLDEN.write_text(json.dumps(doc, indent=0) + "\n")
