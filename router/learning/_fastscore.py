"""The learned artefact's scoring path from text, precomputed once per artefact (the hot path).

`LearnedClassifier.score(prompt)` must give exactly `score_features(hashed_features(prompt))`,
at close to the prior's own cost. Two things made it slow: hashing every gram (format, encode,
crc32) and four dictionary lookups per gram across the prior's and the gain model's tables.
Here, once per artefact:

- one table maps each bucket either weight touches to `(prior weight, idf^2, idf * coef)`, so a
  gram costs one lookup and the three sums run over `operator.itemgetter` at C speed;
- a bounded memo maps grams already seen to their bucket's entry (a deployment's vocabulary
  repeats), so most grams are never hashed again. It stops growing at `MEMO_LIMIT` grams (about
  10 MB); grams past it are hashed each time.

Two grams of one prompt that share a weighted bucket (rare: 2**24 buckets) are counted together,
as `hashed_features` does, by the general path.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Mapping

from router.classifier import _features
from router.learning._examples import gram_bucket

MEMO_LIMIT = 1 << 16
# An entry is two complex numbers, so that one C-level `sum` adds two quantities at once:
# (prior weight + 1j * shared flag, idf^2 + 1j * idf * coef).
Entry = tuple[complex, complex]
_PRIOR_AND_FLAG = operator.itemgetter(0)
_IDF2_AND_DOT = operator.itemgetter(1)
_MISS: Entry = (0j, 0j)  # a bucket no weight touches: contributes nothing


def bucket_table(
    prior: Mapping[int, float], idf: Mapping[int, float], coef: Mapping[int, float]
) -> dict[int, Entry]:
    """Every bucket with a prior weight or an idf: `(prior weight, idf^2 + 1j * idf * coef)`."""
    table = {b: (complex(w, 0.0), 0j) for b, w in prior.items()}
    for b, v in idf.items():
        table[b] = (complex(prior.get(b, 0.0), 0.0), complex(v * v, v * coef.get(b, 0.0)))
    return table


class GramMemo(dict[_features.Gram, Entry]):
    """gram -> its bucket's entry. A weighted bucket that a second, different gram hashes to is
    flagged (imaginary part of the first number), so a prompt holding both is scored by the
    general path, which counts them together as `hashed_features` does."""

    __slots__ = ("_owners", "_table")

    def __init__(self, table: dict[int, Entry]) -> None:
        super().__init__()
        self._table = table
        self._owners: dict[int, _features.Gram] = {}

    def __missing__(self, gram: _features.Gram) -> Entry:
        bucket = gram_bucket(gram)
        entry = self._table.get(bucket)
        if entry is None:
            entry = _MISS
        elif self._owners.setdefault(bucket, gram) != gram and not entry[0].imag:
            entry = (complex(entry[0].real, 1.0), entry[1])
            self._table[bucket] = entry
            self[self._owners[bucket]] = entry
        self[gram] = entry
        return entry

    def bound(self) -> None:
        """Forget every gram once there are more than `MEMO_LIMIT` (flags stay in the table)."""
        if len(self) > MEMO_LIMIT:
            self.clear()
            self._owners.clear()


class TextSums:
    """`(dense, sum of prior weights / sqrt(grams), sum idf^2, sum idf * coef)` of a prompt."""

    __slots__ = ("_memo",)

    def __init__(self, table: dict[int, Entry]) -> None:
        self._memo = GramMemo(table)

    def __call__(self, prompt: str) -> tuple[list[float], float, float, float] | None:
        """The sums, or None when the prompt holds a gram of a shared bucket (general path)."""
        dense, grams = _features.extract(prompt)
        if not grams:
            return dense, 0.0, 0.0, 0.0
        self._memo.bound()
        entries = list(map(self._memo.__getitem__, grams))
        prior = sum(map(_PRIOR_AND_FLAG, entries))
        if prior.imag:
            return None
        tfidf = sum(map(_IDF2_AND_DOT, entries))
        return dense, prior.real / math.sqrt(len(entries)), tfidf.real, tfidf.imag
