"""`router adapt`: learn a deployment's gain from a labelled file in the shared-data schema.

Each row needs `id`, `prompt`, `scores` (with at least the row's `local_model` and
`frontier_model`) and those two fields. A row's gain label is its pair's own difference,
`scores[frontier] - scores[local]`, pooled (`pooled_gains`) with the file's other models when
the rows score more than the pair: one pair's 0/1 outcomes are mostly noise, and the models at
least as strong as the frontier model (on the file) and at most as strong as the local model
say the same thing about a prompt with less of it. Rows become `LabelledExample`s (source
"file", in file order) and go through `fit_candidate`, the same code path `router learn` uses
with the ledger's labels, with two differences (`file_fit_params`): its validation folds
interleave the rows, because a file's order need not be time, and a prior that ranks the rows
no better than chance is left out of the blend.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import fmean
from typing import TYPE_CHECKING

from router._scoring import Classifier
from router.evaluation._data import DataFormatError, OutcomeRow, iter_jsonl, parse_row
from router.learning._examples import LabelledExample, hashed_features
from router.learning._model import LearnedClassifier

if TYPE_CHECKING:
    from router.learning._fit import FitParams

# File rows carry no time: they are spaced one second apart in file order, so the fit's time
# blocks follow the file.
_FILE_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)

POOL_WEIGHT = 0.3
"""Share of a file label that comes from the pooled models (0: the pair's own difference)."""


@dataclass(frozen=True, slots=True)
class TrafficFile:
    """The labelled rows of a traffic file, and the pair(s) they name."""

    examples: Sequence[LabelledExample]
    pairs: frozenset[tuple[str, str]]


def read_traffic(path: Path) -> TrafficFile:
    """Validate every row (errors name `file:line`) and turn it into a labelled example."""
    rows = [_checked(obj, f"{path}:{number}") for number, obj in iter_jsonl(path)]
    if not rows:
        raise DataFormatError(f"{path}: no rows")
    examples = [
        LabelledExample(
            hashed_features(row.prompt), gain, _FILE_EPOCH + timedelta(seconds=i), "file"
        )
        for i, (row, gain) in enumerate(zip(rows, traffic_gains(rows), strict=True))
    ]
    return TrafficFile(examples, frozenset(_pair(row) for row in rows))


def _checked(obj: Mapping[str, object], where: str) -> OutcomeRow:
    row = parse_row(obj, where)
    if not row.local_model or not row.frontier_model:
        raise DataFormatError(f"{where}: 'local_model' and 'frontier_model' are required")
    missing = [m for m in _pair(row) if m not in row.scores]
    if missing:
        raise DataFormatError(f"{where}: 'scores' has no entry for {', '.join(missing)}")
    return row


def _pair(row: OutcomeRow) -> tuple[str, str]:
    return row.local_model or "", row.frontier_model or ""


def traffic_gains(rows: Sequence[OutcomeRow]) -> list[float]:
    """Each row's gain label for its own pair, pooled among the rows that name the same pair."""
    by_pair: dict[tuple[str, str], list[int]] = {}
    for i, row in enumerate(rows):
        by_pair.setdefault(_pair(row), []).append(i)
    gains = [0.0] * len(rows)
    for (local, frontier), index in by_pair.items():
        pooled = pooled_gains([rows[i] for i in index], local, frontier)
        for i, gain in zip(index, pooled, strict=True):
            gains[i] = gain
    return gains


def pooled_gains(
    rows: Sequence[OutcomeRow], local: str, frontier: str, pool: float = POOL_WEIGHT
) -> list[float]:
    """`(1 - pool) * (frontier - local) + pool * (mean of strong - mean of weak)` per row.

    Strong: the models whose mean score on `rows` is at least the frontier model's; weak: at
    most the local model's (models scored on fewer than half the rows are left out). With no
    other model, or a frontier model no better than the local one on `rows`, the label is the
    pair's own difference."""
    own = [r.scores[frontier] - r.scores[local] for r in rows]
    means = _model_means(rows)
    if pool <= 0.0 or means[frontier] <= means[local]:
        return own
    strong = {m for m, q in means.items() if q >= means[frontier]}
    weak = {m for m, q in means.items() if q <= means[local]}
    return [
        _clamp((1.0 - pool) * g + pool * (_mean_of(r.scores, strong) - _mean_of(r.scores, weak)))
        for r, g in zip(rows, own, strict=True)
    ]


def _clamp(gain: float) -> float:
    return max(-1.0, min(1.0, gain))


def _model_means(rows: Sequence[OutcomeRow]) -> dict[str, float]:
    seen: dict[str, list[float]] = {}
    for row in rows:
        for model, score in row.scores.items():
            seen.setdefault(model, []).append(score)
    return {m: fmean(s) for m, s in seen.items() if 2 * len(s) >= len(rows)}


def _mean_of(scores: Mapping[str, float], models: set[str]) -> float:
    return fmean(s for m, s in scores.items() if m in models)


def file_fit_params() -> FitParams:
    """The fit's parameters for a file: folds interleaved, not stretches of the file (the shared
    files are sorted by task; a fold that is one whole task makes the in-domain model look worse
    than chance, and the fit then falls back to the prior); and, the rows being a random sample
    of the traffic, a prior that ranks them no better than chance is left out of the blend."""
    from router.learning._fit import FitParams  # noqa: PLC0415 - numpy/scikit-learn

    return FitParams(interleaved=True, min_prior_t=0.0)


def adapt(
    traffic: Path, out_dir: Path, *, prior: Classifier | None = None, seed: int = 0
) -> LearnedClassifier:
    """Fit on `traffic` on top of `prior` (default: the shipped one) and save to `out_dir`."""
    from router.learning._fit import fit_candidate  # noqa: PLC0415 - numpy/scikit-learn

    data = read_traffic(traffic)
    clf = fit_candidate(data.examples, prior=prior, seed=seed, params=file_fit_params())
    pairs = [{"local_model": lo, "frontier_model": fr} for lo, fr in sorted(data.pairs)]
    record = {**clf.training, "traffic": traffic.name, "pairs": pairs, "pool_weight": POOL_WEIGHT}
    learned = LearnedClassifier(clf.prior, clf.gain_model, record)
    learned.save(out_dir)
    return learned
