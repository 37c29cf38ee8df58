"""The shipped difficulty model: a logistic model over prompt features, scored in pure Python.

The artefact is one JSON document (no pickle, no numpy, no scikit-learn at inference):

    {"format": "cost-router/difficulty-classifier", "format_version": 1, "features_version": 1,
     "model": {"intercept": b, "dense_names": [...], "dense_mean": [...], "dense_scale": [...],
               "dense_coef": [...], "ngram_weights": {"gram": w, "a b": w, ...}},
     "checksum": "<sha256 of the canonical JSON of model>",
     "training": {...}, "metrics": {...}}

score = sigmoid(b + sum(coef * (x - mean) / scale) + sum(w[g] for g in grams) / sqrt(len(grams)))

An optional `model.posthoc` object (see `PosthocWeights`) scores a prompt together with the local
model's answer: `sigmoid(b' + c * (z - m) / s + sum(coef' * (a - mean') / scale'))`, where `z` is
the prompt-only logit above and `a` the answer features of `router.classifier._answer`.
"""

from __future__ import annotations

import hashlib
import json
import math
import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any

from router.classifier import _answer, _features
from router.classifier._smoothing import SMOOTHED_RATES, checked_transform, smoothed_rates
from router.errors import ClassifierError

ARTEFACT_FORMAT = "cost-router/difficulty-classifier"
FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class ModelWeights:
    """The trained numbers, exactly as stored in the artefact's `model` object."""

    intercept: float
    dense_names: tuple[str, ...]
    dense_mean: tuple[float, ...]
    dense_scale: tuple[float, ...]
    dense_coef: tuple[float, ...]
    ngram_weights: Mapping[str, float]
    posthoc: PosthocWeights | None = None
    # `_smoothing.SMOOTHED_RATES`: the dense rates are smoothed before the weights apply.
    dense_transform: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "intercept": self.intercept,
            "dense_names": list(self.dense_names),
            "dense_mean": list(self.dense_mean),
            "dense_scale": list(self.dense_scale),
            "dense_coef": list(self.dense_coef),
            "ngram_weights": dict(sorted(self.ngram_weights.items())),
        }
        if self.posthoc is not None:
            out["posthoc"] = self.posthoc.to_json()
        if self.dense_transform is not None:
            out["dense_transform"] = self.dense_transform
        return out


@dataclass(frozen=True, slots=True)
class PosthocWeights:
    """After the answer: a logistic model over the prompt-only logit and the answer features."""

    intercept: float
    prompt_mean: float
    prompt_scale: float
    prompt_coef: float
    names: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "answer_version": _answer.ANSWER_VERSION,
            "intercept": self.intercept,
            "prompt_mean": self.prompt_mean,
            "prompt_scale": self.prompt_scale,
            "prompt_coef": self.prompt_coef,
            "names": list(self.names),
            "mean": list(self.mean),
            "scale": list(self.scale),
            "coef": list(self.coef),
        }

    def logit(self, prompt_logit: float, prompt: str, answer: str) -> float:
        feats = _answer.extract_answer(prompt, answer)
        z = (
            self.intercept
            + self.prompt_coef * (prompt_logit - self.prompt_mean) / self.prompt_scale
        )
        return z + math.fsum(
            c * (a - m) / s
            for c, a, m, s in zip(self.coef, feats, self.mean, self.scale, strict=True)
        )


def checksum(model_json: Mapping[str, Any]) -> str:
    canonical = json.dumps(model_json, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


class DifficultyClassifier:
    """Scores a request in [0, 1]: the estimated chance the local model's answer falls short.

    With `response` (the local model's answer) and an artefact that has a post-hoc model, the
    score judges the answer too (the cascade's post-hoc verifier); otherwise `response` is
    ignored and the score is the prompt-only one.
    """

    __slots__ = ("_bias", "_dense_w", "_grams", "_smooth", "metadata", "weights")

    def __init__(self, weights: ModelWeights, metadata: Mapping[str, Any] | None = None) -> None:
        if weights.dense_names != _features.DENSE_NAMES:
            raise ClassifierError(
                "classifier artefact was trained on different prompt features "
                f"({len(weights.dense_names)} dense features, this version computes "
                f"{len(_features.DENSE_NAMES)}); retrain it with 'router train'"
            )
        self.weights = weights
        self.metadata: Mapping[str, Any] = metadata or {}
        transform = checked_transform(weights.dense_transform, "classifier artefact")
        self._smooth = transform == SMOOTHED_RATES
        # Fold standardisation into the weights once: z = bias + sum(w * x).
        self._dense_w = tuple(
            c / s for c, s in zip(weights.dense_coef, weights.dense_scale, strict=True)
        )
        self._bias = weights.intercept - sum(
            c * m / s
            for c, m, s in zip(
                weights.dense_coef, weights.dense_mean, weights.dense_scale, strict=True
            )
        )
        self._grams: dict[_features.Gram, float] = {
            _features.gram_key(g): w for g, w in weights.ngram_weights.items()
        }
        if weights.posthoc is not None and weights.posthoc.names != _answer.ANSWER_NAMES:
            raise ClassifierError(
                "classifier artefact's post-hoc model was trained on different answer features; "
                "retrain it with 'router train'"
            )

    @property
    def uses_response(self) -> bool:
        """True when `score(prompt, response)` judges the answer (the artefact has a post-hoc
        model)."""
        return self.weights.posthoc is not None

    def logit(self, prompt: str) -> float:
        return self._logit(_features.extract(prompt))

    def model_dense(self, dense: Sequence[float]) -> Sequence[float]:
        """The dense signals as the weights read them: `dense` itself, or with its rates
        smoothed when the artefact says so (`router.classifier._smoothing`)."""
        return smoothed_rates(dense) if self._smooth else dense

    def _logit(self, extracted: _features.PromptFeatures) -> float:
        dense, grams = extracted
        # Plain `sum`, not `math.fsum`: differs in the last bits only (pinned to 1e-9 by
        # tests/test_score_stability.py), at a fraction of the cost.
        z: float = self._bias + sum(map(operator.mul, self._dense_w, self.model_dense(dense)))
        if grams:
            weights: float = sum(map(self._grams.get, grams, repeat(0.0)))
            z += weights / math.sqrt(len(grams))
        return z

    def score(self, prompt: str, response: str | None = None) -> float:
        if not isinstance(prompt, str):
            raise TypeError(f"prompt must be str, not {type(prompt).__name__}")
        z = self.logit(prompt)
        posthoc = self.weights.posthoc
        if response is not None and posthoc is not None:
            if not isinstance(response, str):
                raise TypeError(f"response must be str or None, not {type(response).__name__}")
            z = posthoc.logit(z, prompt, response)
        return _sigmoid(z)

    def score_with_features(self, prompt: str) -> tuple[float, _features.PromptFeatures]:
        """`score(prompt)` and the features it was computed from (the learning loop stores
        them instead of extracting them again)."""
        if not isinstance(prompt, str):
            raise TypeError(f"prompt must be str, not {type(prompt).__name__}")
        extracted = _features.extract(prompt)
        return _sigmoid(self._logit(extracted)), extracted

    def score_batch(
        self, prompts: Sequence[str], responses: Sequence[str | None] | None = None
    ) -> list[float]:
        if responses is None:
            return [self.score(p) for p in prompts]
        if len(responses) != len(prompts):
            raise ValueError(f"got {len(prompts)} prompts but {len(responses)} responses")
        return [self.score(p, r) for p, r in zip(prompts, responses, strict=True)]

    def __repr__(self) -> str:
        trained = self.metadata.get("training", {}).get("data", [])
        names = ", ".join(str(d.get("file", "?")) for d in trained) or "unknown data"
        return f"DifficultyClassifier(trained on {names}; {len(self._grams)} n-grams)"


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


@dataclass(frozen=True, slots=True)
class Artefact:
    """A whole artefact document: weights plus provenance and validation metrics."""

    weights: ModelWeights
    training: Mapping[str, Any] = field(default_factory=dict)
    metrics: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        model = self.weights.to_json()
        return {
            "format": ARTEFACT_FORMAT,
            "format_version": FORMAT_VERSION,
            "features_version": _features.FEATURES_VERSION,
            "model": model,
            "checksum": checksum(model),
            "training": dict(self.training),
            "metrics": dict(self.metrics),
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), ensure_ascii=False, indent=1, sort_keys=True) + "\n"
