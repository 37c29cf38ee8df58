"""`router adapt`: learn a deployment's gain from a labelled file in the shared-data schema.

Each row needs `id`, `prompt`, `scores` (with at least the row's `local_model` and
`frontier_model`) and those two fields. The gain label is `scores[frontier] - scores[local]`;
rows become `LabelledExample`s (source "file", in file order) and go through `fit_candidate`,
the same code path `router learn` uses with the ledger's labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from router._scoring import Classifier
from router.evaluation._data import DataFormatError, iter_jsonl, parse_row
from router.learning._examples import LabelledExample, hashed_features
from router.learning._model import LearnedClassifier

# File rows carry no time: they are spaced one second apart in file order, so the fit's time
# blocks follow the file.
_FILE_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class TrafficFile:
    """The labelled rows of a traffic file, and the pair(s) they name."""

    examples: Sequence[LabelledExample]
    pairs: frozenset[tuple[str, str]]


def read_traffic(path: Path) -> TrafficFile:
    """Validate every row (errors name `file:line`) and turn it into a labelled example."""
    examples: list[LabelledExample] = []
    pairs: set[tuple[str, str]] = set()
    for number, obj in iter_jsonl(path):
        where = f"{path}:{number}"
        row = parse_row(obj, where)
        local, frontier = row.local_model, row.frontier_model
        if not local or not frontier:
            raise DataFormatError(f"{where}: 'local_model' and 'frontier_model' are required")
        missing = [m for m in (local, frontier) if m not in row.scores]
        if missing:
            raise DataFormatError(f"{where}: 'scores' has no entry for {', '.join(missing)}")
        gain = row.scores[frontier] - row.scores[local]
        when = _FILE_EPOCH + timedelta(seconds=len(examples))
        examples.append(LabelledExample(hashed_features(row.prompt), gain, when, "file"))
        pairs.add((local, frontier))
    if not examples:
        raise DataFormatError(f"{path}: no rows")
    return TrafficFile(examples, frozenset(pairs))


def adapt(
    traffic: Path, out_dir: Path, *, prior: Classifier | None = None, seed: int = 0
) -> LearnedClassifier:
    """Fit on `traffic` on top of `prior` (default: the shipped one) and save to `out_dir`."""
    from router.learning._fit import fit_candidate  # noqa: PLC0415 - numpy/scikit-learn

    data = read_traffic(traffic)
    clf = fit_candidate(data.examples, prior=prior, seed=seed)
    pairs = [{"local_model": lo, "frontier_model": fr} for lo, fr in sorted(data.pairs)]
    learned = LearnedClassifier(
        clf.prior, clf.gain_model, {**clf.training, "traffic": traffic.name, "pairs": pairs}
    )
    learned.save(out_dir)
    return learned
