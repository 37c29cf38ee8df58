"""Difficulty classifier: scores a request in [0, 1], the chance the local answer falls short.

The request pipeline depends only on the `Classifier` protocol; the policy applies a threshold.
`Classifier` is the runtime-checkable protocol the pipeline already declares in `router._scoring`,
re-exported here so there is exactly one definition.

    >>> from router.classifier import load_classifier
    >>> clf = load_classifier()
    >>> 0.0 <= clf.score("What is 2 + 2?") <= 1.0
    True

This package imports neither scikit-learn nor litellm: training lives in `_train` (scikit-learn,
imported by `router train` only) and the litellm peers in `_peers` (imported on demand).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, overload

from router._scoring import Classifier
from router.classifier._artefact import (
    default_artefact_text,
    parse_artefact,
    read_artefact_text,
)
from router.classifier._model import DifficultyClassifier

if TYPE_CHECKING:
    from router.learning._model import LearnedClassifier

__all__ = ["Classifier", "DifficultyClassifier", "load_classifier"]


@overload
def load_classifier(path: None = None) -> DifficultyClassifier: ...
@overload
def load_classifier(path: str | Path) -> DifficultyClassifier | LearnedClassifier: ...
def load_classifier(path: str | Path | None = None) -> DifficultyClassifier | LearnedClassifier:
    """The shipped default classifier, or the artefact at `path`: a file, a `router train` DIR,
    or a learned DIR (`router adapt` / `router learn`, holding `learned.json`).

    Raises `router.errors.ClassifierError` if the artefact is missing, corrupt or from an
    incompatible version. The default is parsed once per process and shared (it is immutable).
    """
    if path is None:
        return _load_default()
    where = Path(path)
    from router.learning._model import is_learned_artefact, load_learned  # noqa: PLC0415

    if is_learned_artefact(where):
        return load_learned(where)
    return parse_artefact(read_artefact_text(where), str(where))


@functools.cache
def _load_default() -> DifficultyClassifier:
    return parse_artefact(*default_artefact_text())
