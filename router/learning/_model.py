"""The learned scorer: the shipped prior plus a gain model fitted to the deployment's own labels.

    u = intercept + prior_coef * (z0 - prior_mean) / prior_scale
        + sum(dense_coef * (x - dense_mean) / dense_scale) + sum(ngram_coef[b] * tfidf[b])
        + task_offsets.get(task, inferred)
    inferred = inferred_intercept + sum(inferred_coef[b] * tfidf[b])   (0 without inference)
    score = sigmoid(u)

`z0` is the prior's logit of the prompt, computed from the same hashed features the learning store
keeps (`HashedPrior`), so training on stored features and scoring a live prompt agree. `tfidf` is
the prompt's hashed n-gram counts times the learned inverse document frequencies, L2-normalised
over the buckets the model knows. `task` is the request's optional tag (the labelled rows'
`task`): a task the model was fitted with moves the score by its learned offset; no task, or one
it never saw, gets the offset its text predicts (`inferred`, a ridge fitted to the labelled rows'
task offsets), or none when the model has no such ridge. Without a gain model (cold start) the
score is the prior's own, whatever the task.

The artefact is one JSON file, `DIR/learned.json`, that embeds the prior's artefact document, so a
directory is self-contained; nothing is unpickled. `version` is a content hash of both models.
"""

from __future__ import annotations

import hashlib
import json
import math
import operator
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from router.classifier import _features
from router.classifier._artefact import parse_artefact
from router.classifier._model import Artefact, DifficultyClassifier
from router.errors import ClassifierError
from router.learning._examples import (
    FEATURES_VERSION,
    GRAM_COUNT,
    extracted_parts,
    gram_bucket,
    split_features,
)
from router.learning._fastscore import TextSums, bucket_table

LEARNED_FORMAT = "cost-router/learned-classifier"
LEARNED_FORMAT_VERSION = 1
TASKS_FORMAT_VERSION = 2
"""Written when the model has per-task offsets (`model.task_offsets`), so a router that predates
them refuses the artefact by its version rather than by a checksum that leaves them out; a model
without offsets is still written as version 1, readable by every router."""
LENGTH_FORMAT_VERSION = 3
"""Written when the model has length slopes (`model.length_slopes`), for the same reason."""
INFERRED_FORMAT_VERSION = 4
"""Written when the model infers task offsets from the text (`model.inferred_offsets`)."""
LENGTH_SIGNAL = _features.DENSE_NAMES.index("log_chars")
"""The dense signal a length slope is on (fitted in `_fit`, applied in `GainModel.offset`)."""
LEARNED_FILE = "learned.json"
_HINT = "rebuild it with 'router adapt' or 'router learn'"


class HashedPrior:
    """The prior's logit computed from `hashed_features` instead of the text.

    The prior's n-gram weights are summed into the buckets their grams hash to; with 2**24
    buckets a prompt's gram lands on another gram's bucket about 0.3% of the time.
    """

    __slots__ = ("_bias", "_buckets", "_dense_w", "classifier")

    def __init__(self, classifier: DifficultyClassifier) -> None:
        self.classifier = classifier
        w = classifier.weights
        self._dense_w = tuple(c / s for c, s in zip(w.dense_coef, w.dense_scale, strict=True))
        self._bias = w.intercept - math.fsum(
            c * m / s for c, m, s in zip(w.dense_coef, w.dense_mean, w.dense_scale, strict=True)
        )
        buckets: dict[int, float] = {}
        for gram, weight in w.ngram_weights.items():
            b = gram_bucket(_features.gram_key(gram))
            buckets[b] = buckets.get(b, 0.0) + weight
        self._buckets = buckets

    def logit(self, features: Mapping[int, float]) -> float:
        return self.logit_parts(*split_features(features))

    def logit_parts(self, dense: list[float], grams: Mapping[int, float], n_grams: int) -> float:
        if not n_grams:
            return self.logit_from_sum(dense, 0.0)
        get = self._buckets.get
        # Summed as complex numbers, as the text path (_fastscore) sums them: from Python 3.12
        # `sum` compensates a float sum but not a complex one, and the two must agree to the bit.
        summed = sum([get(b, 0.0) * c for b, c in grams.items()], 0j).real
        return self.logit_from_sum(dense, summed / math.sqrt(n_grams))

    def logit_from_sum(self, dense: list[float], gram_part: float) -> float:
        """The logit given the n-gram block already summed (weights / sqrt(distinct grams))."""
        model_dense = self.classifier.model_dense(dense)
        z: float = self._bias + sum(map(operator.mul, self._dense_w, model_dense))
        return z + gram_part

    @property
    def bucket_weights(self) -> Mapping[int, float]:
        return self._buckets


@dataclass(frozen=True, slots=True)
class InferredOffsets:
    """The task offset a request without a task gets: `intercept + sum(ngram_coef[b] *
    tfidf[b])`, a ridge fitted to the labelled rows' own task offsets (logit units)."""

    intercept: float
    ngram_coef: Mapping[int, float]

    def to_json(self) -> dict[str, Any]:
        coef = {str(b): v for b, v in sorted(self.ngram_coef.items())}
        return {"intercept": self.intercept, "ngram_coef": coef}

    def value(self, squares: float, dot: float) -> float:
        """Given the prompt's sum of squared TF-IDF values and its dot with `ngram_coef`."""
        return self.intercept + dot / math.sqrt(squares) if squares > 0.0 else self.intercept


@dataclass(frozen=True, slots=True)
class GainModel:
    """The in-domain part, fitted by `fit_candidate`; every number as stored in the artefact."""

    intercept: float
    prior_coef: float
    prior_mean: float
    prior_scale: float
    dense_mean: tuple[float, ...]
    dense_scale: tuple[float, ...]
    dense_coef: tuple[float, ...]
    idf: Mapping[int, float]
    ngram_coef: Mapping[int, float]
    # Added to `u` for a request of that task (the task names as the labelled rows gave them).
    task_offsets: Mapping[str, float] = field(default_factory=dict)
    # Added to `u`: `coef * (log_chars - mean) / scale`, by the request's task, else under ""
    # (no task, or one without a slope of its own): `(mean, scale, coef)`.
    length_slopes: Mapping[str, tuple[float, float, float]] = field(default_factory=dict)
    # The offset of a request without a task (or with one not in `task_offsets`), from its text.
    inferred_offsets: InferredOffsets | None = None
    # The dense part folded once: sum(c * (x - m) / s) = bias + sum((c / s) * x).
    _dense_w: tuple[float, ...] = field(init=False, repr=False, compare=False)
    _dense_bias: float | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parts = tuple(zip(self.dense_coef, self.dense_mean, self.dense_scale, strict=True))
        object.__setattr__(self, "_dense_w", tuple(c / s for c, _, s in parts))
        bias = -sum(c * m / s for c, m, s in parts) if any(self.dense_coef) else None
        object.__setattr__(self, "_dense_bias", bias)

    def to_json(self) -> dict[str, Any]:
        """The stored form; `task_offsets` and `length_slopes` only when there are any, so a
        model without them keeps the document (and the version) it had before they existed."""
        offsets = {"task_offsets": dict(sorted(self.task_offsets.items()))}
        slopes = {"length_slopes": {t: list(v) for t, v in sorted(self.length_slopes.items())}}
        inferred = self.inferred_offsets
        return {
            **(offsets if self.task_offsets else {}),
            **(slopes if self.length_slopes else {}),
            **({"inferred_offsets": inferred.to_json()} if inferred is not None else {}),
            "intercept": self.intercept,
            "prior_coef": self.prior_coef,
            "prior_mean": self.prior_mean,
            "prior_scale": self.prior_scale,
            "dense_mean": list(self.dense_mean),
            "dense_scale": list(self.dense_scale),
            "dense_coef": list(self.dense_coef),
            "idf": {str(b): v for b, v in sorted(self.idf.items())},
            "ngram_coef": {str(b): v for b, v in sorted(self.ngram_coef.items())},
        }

    def offset(self, task: str | None, dense: Sequence[float], inferred: float = 0.0) -> float:
        """What the request's task and length add to `u`: the task's offset (`inferred`, the
        offset its text predicts, for no task or one the model was not fitted with) plus its
        length slope's term (the "" slope's when the task has none)."""
        found = self.task_offsets.get(task) if task else None
        found = inferred if found is None else found
        slopes = self.length_slopes
        if not slopes:
            return found
        mean, scale, coef = slopes.get(task or "") or slopes.get("", (0.0, 1.0, 0.0))
        return found + coef * (dense[LENGTH_SIGNAL] - mean) / scale

    def sums(self, grams: Mapping[int, float]) -> tuple[float, float, float]:
        """The prompt's sum of squared TF-IDF values and its dots with the n-gram weights and
        with the inferred offsets' weights (summed as complex numbers: see
        HashedPrior.logit_parts)."""
        idf, coef = self.idf, self.ngram_coef
        tfidf = [(b, c * idf[b]) for b, c in grams.items() if b in idf]
        squares = sum([v * v for _, v in tfidf], 0j).real
        dot = sum([coef.get(b, 0.0) * v for b, v in tfidf], 0j).real
        if self.inferred_offsets is None:
            return squares, dot, 0.0
        inferred = self.inferred_offsets.ngram_coef
        return squares, dot, sum([inferred.get(b, 0.0) * v for b, v in tfidf], 0j).real

    def inferred(self, squares: float, inferred_dot: float) -> float:
        """The task offset the text predicts (0 without inference)."""
        found = self.inferred_offsets
        return 0.0 if found is None else found.value(squares, inferred_dot)

    def value_from_sums(
        self, prior_logit: float, dense: list[float], squares: float, dot: float
    ) -> float:
        """`value` given the prompt's sum of squared TF-IDF values and its dot with the weights."""
        u = self.intercept + self.prior_coef * (prior_logit - self.prior_mean) / self.prior_scale
        if self._dense_bias is not None:
            u += self._dense_bias + sum(map(operator.mul, self._dense_w, dense))
        return u + dot / math.sqrt(squares) if squares > 0.0 else u


class LearnedClassifier:
    """Scores like the prior until it has a gain model; then `sigmoid(u)` above.

    Satisfies `router.classifier.Classifier`. With `response` and a prior that judges answers
    (`uses_response`), the score is the prior's after-the-answer score (the post-hoc verifier).
    Every scoring method takes an optional `task` (`tasks` for a batch): the request's tag, e.g.
    `metadata["task"]`; `task_aware` tells a caller it may pass one.
    """

    __slots__ = ("_hashed", "_text_sums", "gain_model", "prior", "training", "version")
    task_aware = True

    def __init__(
        self,
        prior: DifficultyClassifier,
        gain_model: GainModel | None = None,
        training: Mapping[str, Any] | None = None,
    ) -> None:
        self.prior = prior
        self.gain_model = gain_model
        self.training: Mapping[str, Any] = dict(training or {})
        self._hashed = HashedPrior(prior)
        self._text_sums = None
        if gain_model is not None:
            inferred = gain_model.inferred_offsets
            table = bucket_table(
                self._hashed.bucket_weights,
                gain_model.idf,
                gain_model.ngram_coef,
                {} if inferred is None else inferred.ngram_coef,
            )
            self._text_sums = TextSums(table)
        self.version = _checksum(self._content())[:16]

    @property
    def uses_response(self) -> bool:
        return self.prior.uses_response

    @property
    def tasks(self) -> tuple[str, ...]:
        """The tasks with a learned offset (none without a gain model or tasks in training)."""
        return () if self.gain_model is None else tuple(sorted(self.gain_model.task_offsets))

    def score_features(self, features: Mapping[int, float], *, task: str | None = None) -> float:
        """The score of a prompt given its `hashed_features` (what the learning store keeps)."""
        return self._score_parts(*split_features(features), task)

    def _score_parts(
        self, dense: list[float], grams: Mapping[int, float], n_grams: int, task: str | None
    ) -> float:
        z0 = self._hashed.logit_parts(dense, grams, n_grams)
        if self.gain_model is None:
            return _sigmoid(z0)
        model = self.gain_model
        squares, dot, inferred_dot = model.sums(grams)
        u = model.value_from_sums(z0, dense, squares, dot)
        return _sigmoid(u + model.offset(task, dense, model.inferred(squares, inferred_dot)))

    def score(self, prompt: str, response: str | None = None, *, task: str | None = None) -> float:
        if not isinstance(prompt, str):
            raise TypeError(f"prompt must be str, not {type(prompt).__name__}")
        if self.gain_model is None or (response is not None and self.uses_response):
            return self.prior.score(prompt, response)
        return self._score_extracted(_features.extract(prompt), self.gain_model, task)

    def score_with_features(
        self, prompt: str, *, task: str | None = None
    ) -> tuple[float, _features.PromptFeatures]:
        """`score(prompt, task=task)` and the features it was computed from (the learning loop
        stores them instead of extracting them again)."""
        if self.gain_model is None:
            return self.prior.score_with_features(prompt)
        extracted = _features.extract(prompt)
        return self._score_extracted(extracted, self.gain_model, task), extracted

    def _score_extracted(
        self, extracted: _features.PromptFeatures, model: GainModel, task: str | None
    ) -> float:
        """`score_features(hashed_features(prompt), task=task)`, through the precomputed table."""
        sums = self._text_sums(extracted) if self._text_sums is not None else None
        if sums is None:  # two grams share a bucket: count them together
            return self._score_parts(*extracted_parts(extracted), task)
        dense, prior_part, squares, dot, inferred_dot = sums
        z0 = self._hashed.logit_from_sum(dense, prior_part)
        u = model.value_from_sums(z0, dense, squares, dot)
        return _sigmoid(u + model.offset(task, dense, model.inferred(squares, inferred_dot)))

    def score_batch(
        self,
        prompts: Sequence[str],
        responses: Sequence[str | None] | None = None,
        *,
        tasks: Sequence[str | None] | None = None,
    ) -> list[float]:
        """`score` of each prompt, with its response and task when given (aligned lists)."""
        for name, given in (("responses", responses), ("tasks", tasks)):
            if given is not None and len(given) != len(prompts):
                raise ValueError(f"got {len(prompts)} prompts but {len(given)} {name}")
        answers = responses if responses is not None else [None] * len(prompts)
        named = tasks if tasks is not None else [None] * len(prompts)
        return [self.score(p, r, task=t) for p, r, t in zip(prompts, answers, named, strict=True)]

    @property
    def format_version(self) -> int:
        model = self.gain_model
        if model is not None and model.inferred_offsets is not None:
            return INFERRED_FORMAT_VERSION
        if model is not None and model.length_slopes:
            return LENGTH_FORMAT_VERSION
        return TASKS_FORMAT_VERSION if model and model.task_offsets else LEARNED_FORMAT_VERSION

    def _content(self) -> dict[str, Any]:
        return {
            "prior_checksum": _prior_document(self.prior)["checksum"],
            "model": None if self.gain_model is None else self.gain_model.to_json(),
        }

    def to_json(self) -> dict[str, Any]:
        content = self._content()
        return {
            "format": LEARNED_FORMAT,
            "format_version": self.format_version,
            "features_version": FEATURES_VERSION,
            "model": content["model"],
            "checksum": _checksum(content),
            "version": self.version,
            "training": dict(self.training),
            "prior": _prior_document(self.prior),
        }

    def save(self, directory: Path) -> None:
        """Write `directory/learned.json` atomically (a temporary file, then a rename)."""
        directory.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.to_json(), ensure_ascii=False, indent=1, sort_keys=True) + "\n"
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{LEARNED_FILE}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, directory / LEARNED_FILE)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def __repr__(self) -> str:
        n = self.training.get("examples", 0)
        kind = "prior only" if self.gain_model is None else f"gain model from {n} labels"
        return f"LearnedClassifier(version={self.version!r}, {kind})"


def _prior_document(prior: DifficultyClassifier) -> dict[str, Any]:
    meta = prior.metadata
    return Artefact(prior.weights, meta.get("training", {}), meta.get("metrics", {})).to_json()


def _checksum(content: Mapping[str, Any]) -> str:
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


def is_learned_artefact(path: Path) -> bool:
    """True for a directory holding `learned.json` or a file that is one."""
    return (path / LEARNED_FILE).is_file() if path.is_dir() else path.name == LEARNED_FILE


def load_learned(directory: Path) -> LearnedClassifier:
    """Read `directory/learned.json` (or that file); `ClassifierError` names what is wrong."""
    target = directory / LEARNED_FILE if directory.is_dir() else directory
    try:
        doc = json.loads(target.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ClassifierError(f"{target}: cannot read learned classifier ({exc}); {_HINT}") from exc
    except json.JSONDecodeError as exc:
        raise ClassifierError(f"{target}: not valid JSON ({exc.msg}); {_HINT}") from exc
    return parse_learned(doc, str(target))


def parse_learned(doc: object, where: str) -> LearnedClassifier:
    if not isinstance(doc, dict) or doc.get("format") != LEARNED_FORMAT:
        raise ClassifierError(f"{where}: not a cost-router learned classifier; {_HINT}")
    for key, expected in (
        (
            "format_version",
            (
                LEARNED_FORMAT_VERSION,
                TASKS_FORMAT_VERSION,
                LENGTH_FORMAT_VERSION,
                INFERRED_FORMAT_VERSION,
            ),
        ),
        ("features_version", (FEATURES_VERSION,)),
    ):
        if doc.get(key) not in expected:
            readable = " or ".join(map(repr, expected))
            raise ClassifierError(
                f"{where}: {key} {doc.get(key)!r} is not supported (this cost-router reads "
                f"{readable}); {_HINT}"
            )
    prior_doc = doc.get("prior")
    if not isinstance(prior_doc, dict):
        raise ClassifierError(f"{where}: 'prior' is missing; {_HINT}")
    prior = parse_artefact(json.dumps(prior_doc), f"{where} (prior)")
    model = _gain_model(doc.get("model"), where)
    training = doc.get("training")
    learned = LearnedClassifier(prior, model, training if isinstance(training, dict) else {})
    if doc["format_version"] != learned.format_version:
        raise ClassifierError(
            f"{where}: format_version {doc['format_version']} does not match the model "
            f"(per-task offsets are format_version {TASKS_FORMAT_VERSION}, length slopes "
            f"{LENGTH_FORMAT_VERSION}, inferred offsets {INFERRED_FORMAT_VERSION}); {_HINT}"
        )
    if doc.get("checksum") != _checksum(learned._content()):
        raise ClassifierError(
            f"{where}: checksum mismatch, the weights were altered or truncated; {_HINT}"
        )
    return learned


def _gain_model(model: object, where: str) -> GainModel | None:
    if model is None:
        return None
    try:
        return _parse_gain_model(model)
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise ClassifierError(f"{where}: malformed 'model' ({exc}); {_HINT}") from exc


def _numbers(values: Any, n: int | None = None) -> tuple[float, ...]:
    out = tuple(_number(v) for v in values)
    if n is not None and len(out) != n:
        raise ValueError(f"expected {n} numbers, got {len(out)}")
    return out


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{value!r} is not a finite number")
    return float(value)


def _buckets(values: Mapping[str, Any]) -> dict[int, float]:
    out = {int(k): _number(v) for k, v in values.items()}
    if any(k <= GRAM_COUNT for k in out):
        raise ValueError("n-gram buckets must be hashed indices")
    return out


def _parse_gain_model(model: Any) -> GainModel:
    n = len(_features.DENSE_NAMES)
    scales = (_number(model["prior_scale"]), *_numbers(model["dense_scale"], n))
    if any(s <= 0 for s in scales):
        raise ValueError("scales must be positive")
    return GainModel(
        intercept=_number(model["intercept"]),
        prior_coef=_number(model["prior_coef"]),
        prior_mean=_number(model["prior_mean"]),
        prior_scale=scales[0],
        dense_mean=_numbers(model["dense_mean"], n),
        dense_scale=scales[1:],
        dense_coef=_numbers(model["dense_coef"], n),
        idf=_buckets(model["idf"]),
        ngram_coef=_buckets(model["ngram_coef"]),
        task_offsets=_task_offsets(model.get("task_offsets", {})),
        length_slopes=_length_slopes(model.get("length_slopes", {})),
        inferred_offsets=_inferred_offsets(model.get("inferred_offsets")),
    )


def _inferred_offsets(values: Any) -> InferredOffsets | None:
    """Absent in a model fitted without them; else an intercept and n-gram weights."""
    if values is None:
        return None
    return InferredOffsets(_number(values["intercept"]), _buckets(values["ngram_coef"]))


def _task_offsets(values: Mapping[str, Any]) -> dict[str, float]:
    """Absent in a model fitted without tasks; else non-empty names to finite numbers."""
    if not isinstance(values, dict) or not all(isinstance(k, str) and k for k in values):
        raise ValueError("task_offsets must map task names to numbers")
    return {k: _number(v) for k, v in values.items()}


def _length_slopes(values: Mapping[str, Any]) -> dict[str, tuple[float, float, float]]:
    """Absent in a model fitted without them; else task names ("" for the default) to `(mean,
    scale, coef)` with a positive scale."""
    if not isinstance(values, dict) or not all(isinstance(k, str) for k in values):
        raise ValueError("length_slopes must map task names to [mean, scale, coef]")
    out = {k: _numbers(v, 3) for k, v in values.items()}
    if any(scale <= 0 for _, scale, _ in out.values()):
        raise ValueError("length slope scales must be positive")
    return {k: (m, s, c) for k, (m, s, c) in out.items()}


__all__ = [
    "LEARNED_FILE",
    "GainModel",
    "HashedPrior",
    "InferredOffsets",
    "LearnedClassifier",
    "is_learned_artefact",
    "load_learned",
    "parse_learned",
]
