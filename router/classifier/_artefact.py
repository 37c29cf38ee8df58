"""Load and check a classifier artefact. Plain JSON only: nothing is ever unpickled.

Every problem (unreadable file, bad JSON, wrong format or version, missing or mistyped field,
checksum mismatch) raises `ClassifierError` naming the file and saying how to fix it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from router.classifier import _answer, _features
from router.classifier._model import (
    ARTEFACT_FORMAT,
    FORMAT_VERSION,
    DifficultyClassifier,
    ModelWeights,
    PosthocWeights,
    checksum,
)
from router.classifier._smoothing import checked_transform
from router.errors import ClassifierError

DEFAULT_ARTEFACT = "default.json"
_HINT = "rebuild it with 'router train --data ... --out DIR' or reinstall cost-router"


def default_artefact_text() -> tuple[str, str]:
    """`(text, where)` of the artefact shipped in `router/data/classifier/`."""
    resource = resources.files("router").joinpath("data", "classifier", DEFAULT_ARTEFACT)
    try:
        return resource.read_text(encoding="utf-8"), f"package data {DEFAULT_ARTEFACT}"
    except (OSError, UnicodeDecodeError) as exc:
        raise ClassifierError(
            f"the shipped classifier artefact is missing or unreadable; {_HINT}"
        ) from exc


def read_artefact_text(path: Path) -> str:
    target = path / DEFAULT_ARTEFACT if path.is_dir() else path
    try:
        return target.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ClassifierError(f"{target}: cannot read classifier artefact ({exc})") from exc


def parse_artefact(text: str, where: str) -> DifficultyClassifier:
    """Build a classifier from artefact JSON, checking format, version, shapes and checksum."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ClassifierError(
            f"{where}: not valid JSON ({exc.msg} at line {exc.lineno}); {_HINT}"
        ) from exc
    if not isinstance(doc, dict) or doc.get("format") != ARTEFACT_FORMAT:
        raise ClassifierError(f"{where}: not a cost-router classifier artefact; {_HINT}")
    _check_version(doc, "format_version", FORMAT_VERSION, where)
    _check_version(doc, "features_version", _features.FEATURES_VERSION, where)
    model = doc.get("model")
    if not isinstance(model, dict):
        raise ClassifierError(f"{where}: 'model' is missing; {_HINT}")
    if doc.get("checksum") != checksum(model):
        raise ClassifierError(
            f"{where}: checksum mismatch, the weights were altered or truncated; {_HINT}"
        )
    weights = _weights(model, where)
    metadata = {k: doc.get(k, {}) for k in ("training", "metrics")}
    try:
        return DifficultyClassifier(weights, metadata)
    except ClassifierError as exc:
        raise ClassifierError(f"{where}: {exc}") from exc


def _check_version(doc: Mapping[str, Any], key: str, expected: int, where: str) -> None:
    found = doc.get(key)
    if found != expected:
        raise ClassifierError(
            f"{where}: {key} {found!r} is not supported "
            f"(this cost-router reads {expected}); {_HINT}"
        )


def _floats(
    model: Mapping[str, Any], key: str, n: int, where: str, block: str = "model"
) -> tuple[float, ...]:
    values = model.get(key)
    if not isinstance(values, list) or len(values) != n or not all(_is_number(v) for v in values):
        raise ClassifierError(
            f"{where}: {block}.{key} must be a list of {n} finite numbers; {_HINT}"
        )
    return tuple(float(v) for v in values)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _weights(model: Mapping[str, Any], where: str) -> ModelWeights:
    names = model.get("dense_names")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ClassifierError(f"{where}: model.dense_names must be a list of strings; {_HINT}")
    n = len(names)
    scale = _floats(model, "dense_scale", n, where)
    if any(s <= 0 for s in scale):
        raise ClassifierError(f"{where}: model.dense_scale must be positive; {_HINT}")
    grams = model.get("ngram_weights")
    if not isinstance(grams, dict) or not all(_is_number(w) for w in grams.values()):
        raise ClassifierError(f"{where}: model.ngram_weights must map n-grams to numbers; {_HINT}")
    intercept = model.get("intercept")
    if not _is_number(intercept):
        raise ClassifierError(f"{where}: model.intercept must be a finite number; {_HINT}")
    return ModelWeights(
        intercept=float(intercept),  # type: ignore[arg-type]
        dense_names=tuple(names),
        dense_mean=_floats(model, "dense_mean", n, where),
        dense_scale=scale,
        dense_coef=_floats(model, "dense_coef", n, where),
        ngram_weights={str(g): float(w) for g, w in grams.items()},
        posthoc=_posthoc(model.get("posthoc"), where),
        dense_transform=checked_transform(model.get("dense_transform"), where),
    )


def _posthoc(posthoc: object, where: str) -> PosthocWeights | None:
    """The optional after-the-answer model; absent in artefacts that judge prompts only."""
    if posthoc is None:
        return None
    if not isinstance(posthoc, dict):
        raise ClassifierError(f"{where}: model.posthoc must be an object; {_HINT}")
    _check_version(posthoc, "answer_version", _answer.ANSWER_VERSION, where)
    names = posthoc.get("names")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ClassifierError(f"{where}: model.posthoc.names must be a list of strings; {_HINT}")
    n = len(names)
    for key in _SCALARS:
        if not _is_number(posthoc.get(key)):
            raise ClassifierError(f"{where}: model.posthoc.{key} must be a finite number; {_HINT}")
    scalars = [float(posthoc[key]) for key in _SCALARS]
    scale = _floats(posthoc, "scale", n, where, "model.posthoc")
    if scalars[2] <= 0 or any(s <= 0 for s in scale):
        raise ClassifierError(f"{where}: model.posthoc scales must be positive; {_HINT}")
    return PosthocWeights(
        intercept=scalars[0],
        prompt_mean=scalars[1],
        prompt_scale=scalars[2],
        prompt_coef=scalars[3],
        names=tuple(names),
        mean=_floats(posthoc, "mean", n, where, "model.posthoc"),
        scale=scale,
        coef=_floats(posthoc, "coef", n, where, "model.posthoc"),
    )


_SCALARS = ("intercept", "prompt_mean", "prompt_scale", "prompt_coef")
