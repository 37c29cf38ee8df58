"""The shipped difficulty model: a logistic model over prompt features, scored in pure Python.

The artefact is one JSON document (no pickle, no numpy, no scikit-learn at inference):

    {"format": "cost-router/difficulty-classifier", "format_version": 1, "features_version": 1,
     "model": {"intercept": b, "dense_names": [...], "dense_mean": [...], "dense_scale": [...],
               "dense_coef": [...], "ngram_weights": {"gram": w, "a b": w, ...}},
     "checksum": "<sha256 of the canonical JSON of model>",
     "training": {...}, "metrics": {...}}

score = sigmoid(b + sum(coef * (x - mean) / scale) + sum(w[g] for g in grams) / sqrt(len(grams)))
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

from router.classifier import _features
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

    def to_json(self) -> dict[str, Any]:
        return {
            "intercept": self.intercept,
            "dense_names": list(self.dense_names),
            "dense_mean": list(self.dense_mean),
            "dense_scale": list(self.dense_scale),
            "dense_coef": list(self.dense_coef),
            "ngram_weights": dict(sorted(self.ngram_weights.items())),
        }


def checksum(model_json: Mapping[str, Any]) -> str:
    canonical = json.dumps(model_json, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


class DifficultyClassifier:
    """Scores a request in [0, 1]: the estimated chance the local model's answer falls short.

    `response` is accepted for the `Classifier` protocol but not used: a response-aware model was
    tried and did not transfer across sources (see docs/classifier.md).
    """

    __slots__ = ("_bias", "_dense_w", "_grams", "metadata", "weights")

    def __init__(self, weights: ModelWeights, metadata: Mapping[str, Any] | None = None) -> None:
        if weights.dense_names != _features.DENSE_NAMES:
            raise ClassifierError(
                "classifier artefact was trained on different prompt features "
                f"({len(weights.dense_names)} dense features, this version computes "
                f"{len(_features.DENSE_NAMES)}); retrain it with 'router train'"
            )
        self.weights = weights
        self.metadata: Mapping[str, Any] = metadata or {}
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

    def logit(self, prompt: str) -> float:
        dense, grams = _features.extract(prompt)
        z = self._bias + math.fsum(map(operator.mul, self._dense_w, dense))
        if grams:
            z += math.fsum(map(self._grams.get, grams, repeat(0.0))) / math.sqrt(len(grams))
        return z

    def score(self, prompt: str, response: str | None = None) -> float:
        if not isinstance(prompt, str):
            raise TypeError(f"prompt must be str, not {type(prompt).__name__}")
        z = self.logit(prompt)
        return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))

    def score_batch(
        self, prompts: Sequence[str], responses: Sequence[str | None] | None = None
    ) -> list[float]:
        if responses is not None and len(responses) != len(prompts):
            raise ValueError(f"got {len(prompts)} prompts but {len(responses)} responses")
        return [self.score(p) for p in prompts]

    def __repr__(self) -> str:
        trained = self.metadata.get("training", {}).get("data", [])
        names = ", ".join(str(d.get("file", "?")) for d in trained) or "unknown data"
        return f"DifficultyClassifier(trained on {names}; {len(self._grams)} n-grams)"


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
