"""Rates read from a short prompt, pulled towards the training prompts' average.

Five dense signals are rates: the digit and capital shares per character, punctuation marks and
characters per token, and the token count for the prompt's length (tokens per character). Read
from "What is 2+2?" they are extreme (a sixth of its characters are digits, two characters a
token), and in the training data such rates only come from competition maths, so the prior
scored the sum as hard. A rate measured on a dozen characters says little; additive smoothing
with a pseudo-prompt of the training data's median length (280 characters, 80 tokens) at its
average rates weighs it by how much text it was measured on. A prompt of median length keeps
half of its own rate, a long one nearly all of it.

The smoothing is a function of the stored dense vector (`_features.extract`'s, unchanged), so
stored learning features stay valid; a prior applies it when its artefact says
`"dense_transform": "smoothed-rates"` (docs/classifier.md, "Fifth round").
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from router.classifier._features import DENSE_NAMES
from router.errors import ClassifierError

SMOOTHED_RATES = "smoothed-rates"
"""The artefact's `model.dense_transform` value that turns the smoothing on."""

PSEUDO_CHARS = 280.0  # the median training prompt's length in characters
PSEUDO_TOKENS = 80.0  # ... and in tokens
# The training prompts' average rates (row means over the six shared files, rounded).
_PER_CHAR = {"digit_frac": 0.05, "upper_frac": 0.035}
_PER_TOKEN = {"punct_frac": 0.22, "mean_token_len": 3.3}
CHARS_PER_TOKEN = 3.7

_CHARS = DENSE_NAMES.index("log_chars")
_TOKENS = DENSE_NAMES.index("log_tokens")
_BY_CHAR = tuple((DENSE_NAMES.index(n), r * PSEUDO_CHARS) for n, r in _PER_CHAR.items())
_BY_TOKEN = tuple((DENSE_NAMES.index(n), r * PSEUDO_TOKENS) for n, r in _PER_TOKEN.items())


def checked_transform(value: object, where: str) -> str | None:
    """`value` as a `dense_transform`: absent (the rates as extracted) or `SMOOTHED_RATES`;
    anything else is refused, `where` naming the artefact."""
    if value is None or value == SMOOTHED_RATES:
        return None if value is None else SMOOTHED_RATES
    raise ClassifierError(
        f"{where}: model.dense_transform {repr(value)[:40]} is not supported (this cost-router "
        f"reads {SMOOTHED_RATES!r}); retrain it with 'router train'"
    )


def smoothed_rates(dense: Sequence[float]) -> list[float]:
    """`dense` with its rates smoothed: `(rate * n + pseudo_n * average) / (n + pseudo_n)`."""
    out = list(dense)
    chars = math.expm1(dense[_CHARS])
    tokens = math.expm1(dense[_TOKENS])
    for i, pseudo in _BY_CHAR:
        out[i] = (dense[i] * chars + pseudo) / (chars + PSEUDO_CHARS)
    for i, pseudo in _BY_TOKEN:
        out[i] = (dense[i] * tokens + pseudo) / (tokens + PSEUDO_TOKENS)
    chars_per_token = (chars + PSEUDO_TOKENS * CHARS_PER_TOKEN) / (tokens + PSEUDO_TOKENS)
    out[_TOKENS] = math.log1p(chars / chars_per_token)
    return out
