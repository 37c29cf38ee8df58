"""The learned artefact's scoring path from text, precomputed once per artefact (the hot path).

`LearnedClassifier.score(prompt)` must give exactly `score_features(hashed_features(prompt))`,
at close to the prior's own cost. Two things made it slow: building a bucket dictionary per
prompt (a Python call per gram) and four dictionary lookups per gram across the prior's and the
gain model's tables. Here one table per artefact maps each bucket either weight touches to its
prior weight, idf^2 and idf * coef, packed in two complex numbers so that one C-level `sum` adds
two of them; a prompt's grams are hashed in one comprehension and looked up with `map`.

Hashing costs less than a lookup keyed by the gram itself (a tuple's hash is not cached), so
nothing is memoised and nothing grows with traffic. Two grams of one prompt that share a bucket
(rare: 2**24 buckets) are counted together by `hashed_features`; then the general path scores
the prompt, so the result is always exact.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Mapping
from itertools import repeat

from router.classifier import _features
from router.learning._examples import gram_buckets

Entry = tuple[complex, complex]  # (prior weight + 1j * idf * inferred, idf^2 + 1j * idf * coef)
_PRIOR = operator.itemgetter(0)
_IDF2_AND_DOT = operator.itemgetter(1)
_MISS: Entry = (0j, 0j)  # a bucket no weight touches: contributes nothing


def bucket_table(
    prior: Mapping[int, float],
    idf: Mapping[int, float],
    coef: Mapping[int, float],
    inferred: Mapping[int, float],
) -> dict[int, Entry]:
    """Every bucket with a prior weight or an idf: `(prior weight + 1j * idf * inferred weight,
    idf^2 + 1j * idf * coef)`."""
    table = {b: (complex(w, 0.0), 0j) for b, w in prior.items()}
    for b, v in idf.items():
        first = complex(prior.get(b, 0.0), v * inferred.get(b, 0.0))
        table[b] = (first, complex(v * v, v * coef.get(b, 0.0)))
    return table


class TextSums:
    """`(dense, sum of prior weights / sqrt(grams), sum idf^2, sum idf * coef, sum idf *
    inferred weight)` of a prompt."""

    __slots__ = ("_table",)

    def __init__(self, table: dict[int, Entry]) -> None:
        self._table = table

    def __call__(
        self, extracted: _features.PromptFeatures
    ) -> tuple[list[float], float, float, float, float] | None:
        """The sums of a prompt's extracted features, or None when two of its grams share a
        bucket (general path)."""
        dense, grams = extracted
        if not grams:
            return dense, 0.0, 0.0, 0.0, 0.0
        buckets = gram_buckets(grams)
        if len(set(buckets)) != len(buckets):
            return None
        entries = list(map(self._table.get, buckets, repeat(_MISS)))
        prior = sum(map(_PRIOR, entries))
        tfidf = sum(map(_IDF2_AND_DOT, entries))
        return dense, prior.real / math.sqrt(len(entries)), tfidf.real, tfidf.imag, prior.imag
