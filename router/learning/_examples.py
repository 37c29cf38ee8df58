"""What the learning store keeps instead of the prompt: hashed n-gram features, and the labels.

`hashed_features(text)` is the whole stored representation of a prompt when content capture is
off. It holds:

- at indices `0 .. len(DENSE_NAMES) - 1`: the prior's dense signals (length, structure, scripts,
  topic lexicon counts; `router.classifier._features.DENSE_NAMES`, same order);
- at `GRAM_COUNT`: how many distinct unigrams and bigrams the prompt has (the n-gram block is
  divided by its square root, as the prior does);
- at `HASH_OFFSET + crc32(gram) % HASH_BUCKETS`: 1.0 per distinct lower-cased unigram or bigram
  (every digit read as `0`), summed when two grams share a bucket.

Nothing else: no word order beyond adjacent pairs, no digits, no raw characters. Anyone holding a
word list can test which common words and word pairs a stored prompt contained (the hash is not
keyed, so that the shipped prior can be applied to stored features); see docs/learning-model.md.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from router.classifier import _features

FEATURES_VERSION = "hashed-v1"
"""Changes whenever `hashed_features` changes meaning; stored with every example and artefact."""

DENSE_NAMES: tuple[str, ...] = _features.DENSE_NAMES
GRAM_COUNT = len(DENSE_NAMES)
HASH_OFFSET = 64  # indices below are reserved for dense signals
HASH_BUCKETS = 1 << 24  # sparse: only the buckets a prompt hits are stored
LABEL_SOURCES = frozenset({"shadow", "escalation", "verified", "feedback", "file"})
_DENSE_KEYS = tuple(map(str, range(len(DENSE_NAMES))))
_GRAM_COUNT_KEY = str(GRAM_COUNT)


def gram_bucket(gram: _features.Gram) -> int:
    """The feature index of one unigram (`"word"`) or bigram (`("a", "b")`)."""
    text = gram if isinstance(gram, str) else f"{gram[0]} {gram[1]}"
    return HASH_OFFSET + zlib.crc32(text.encode("utf-8", "surrogatepass")) % HASH_BUCKETS


def hashed_features(text: str) -> dict[int, float]:
    """The prompt as the learning store keeps it: dense signals plus hashed n-gram counts."""
    dense, grams, n_grams = hashed_parts(text)
    out: dict[int, float] = dict(enumerate(dense))
    out[GRAM_COUNT] = float(n_grams)
    out.update(grams)
    return out


def hashed_parts(text: str) -> tuple[list[float], dict[int, float], int]:
    """`(dense, hashed grams, distinct gram count)` straight from the text (the scoring path)."""
    return extracted_parts(_features.extract(text))


def extracted_parts(
    extracted: _features.PromptFeatures,
) -> tuple[list[float], dict[int, float], int]:
    """`hashed_parts` of the text `extracted` was taken from."""
    dense, grams = extracted
    buckets: dict[int, float] = {}
    for bucket in gram_buckets(grams):
        buckets[bucket] = buckets.get(bucket, 0.0) + 1.0
    return dense, buckets, len(grams)


def gram_buckets(grams: Iterable[_features.Gram]) -> list[int]:
    """`gram_bucket` of each gram, in one comprehension (no Python call per gram)."""
    crc = zlib.crc32
    return [
        HASH_OFFSET
        + crc((g if g.__class__ is str else f"{g[0]} {g[1]}").encode("utf-8", "surrogatepass"))
        % HASH_BUCKETS
        for g in grams
    ]


def stored_features(extracted: _features.PromptFeatures) -> dict[str, float]:
    """`hashed_features` of the text `extracted` was taken from, keyed as the store keeps it
    (JSON: string keys). The learning writer gets the extraction the classifier scored, so a
    prompt's features are extracted once per request."""
    dense, grams = extracted
    out = dict(zip(_DENSE_KEYS, map(float, dense), strict=True))
    out[_GRAM_COUNT_KEY] = float(len(grams))
    buckets = gram_buckets(grams)
    if len(set(buckets)) == len(buckets):  # the usual case: no two grams share a bucket
        out.update(dict.fromkeys(map(str, buckets), 1.0))
        return out
    for key in map(str, buckets):
        out[key] = out.get(key, 0.0) + 1.0
    return out


def split_features(features: Mapping[int, float]) -> tuple[list[float], dict[int, float], int]:
    """`(dense, hashed grams, distinct gram count)` of a `hashed_features` mapping."""
    dense = [float(features.get(i, 0.0)) for i in range(len(DENSE_NAMES))]
    grams = {k: v for k, v in features.items() if k >= HASH_OFFSET}
    return dense, grams, int(features.get(GRAM_COUNT, 0.0))


@dataclass(frozen=True, slots=True)
class LabelledExample:
    """One labelled request: its stored features and how much the frontier model gained on it.

    `gain` is `quality(frontier) - quality(local)` for the deployment's own pair, in [-1, 1].
    `task` is the request's task tag ("" for none): a fit learns an offset per task from it.
    """

    features: Mapping[int, float]
    gain: float
    observed_at: datetime
    source: str
    weight: float = 1.0
    prior_score: float | None = None
    task: str = ""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.gain) and -1.0 <= self.gain <= 1.0):
            raise ValueError(f"gain must be in [-1, 1], got {self.gain!r}")
        if self.observed_at.tzinfo is None:
            raise ValueError("observed_at must be timezone-aware (UTC)")
        if self.source not in LABEL_SOURCES:
            raise ValueError(f"source must be one of {sorted(LABEL_SOURCES)}, got {self.source!r}")
        if not (math.isfinite(self.weight) and self.weight > 0.0):
            raise ValueError(f"weight must be a positive number, got {self.weight!r}")
        if not isinstance(self.task, str):
            raise ValueError(f"task must be a string ('' for none), got {type(self.task).__name__}")
