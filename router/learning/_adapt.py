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
no better than chance is left out of the blend. Rows that name their `task` (two or more tasks)
also give the fit a shrunk offset per task (`fit_candidate`, docs/learning.md "Per-task
offsets"); a request is then scored with its task.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import StatisticsError, correlation, fmean
from typing import TYPE_CHECKING, Any

from router._scoring import Classifier
from router.evaluation._data import OutcomeRow
from router.evaluation._read import read_notes
from router.learning._examples import LabelledExample, hashed_features
from router.learning._model import GainModel, LearnedClassifier
from router.learning._traffic import Pair, read_rows

if TYPE_CHECKING:
    from router.learning._fit import FitParams

# File rows carry no time: they are spaced one second apart in file order, so the fit's time
# blocks follow the file.
_FILE_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)

POOL_WEIGHT = 0.3
"""Share of a file label that comes from the pooled models (0: the pair's own difference)."""
MIN_TRACKING_R = 0.5
"""A graded field joins the label when its pair gain correlates with `scores`' at least this."""
MIN_TRACKING_ROWS = 30


@dataclass(frozen=True, slots=True)
class TrafficFile:
    """The labelled rows of a traffic file, the pair(s) they name, and how it was read."""

    examples: Sequence[LabelledExample]
    pairs: frozenset[tuple[str, str]]
    texts: Sequence[str] = ()
    input: Mapping[str, Any] = field(default_factory=dict)
    tasks: Sequence[str] = ()  # each example's `task` ("" when the row has none)


def read_traffic(
    path: Path, pair: Pair | None = None, *, strict: bool = False, keep_text: bool = False
) -> TrafficFile:
    """Turn every usable row into a labelled example (`_traffic.read_rows` says which are
    skipped; with `strict` the first is an error naming `file:line`); `keep_text`: the prompts
    too (`texts`), else they are dropped as soon as their features are taken."""
    read = read_rows(path, pair, strict=strict)
    rows, (gains, graded) = read.rows, traffic_labels(read.rows)
    examples = [
        LabelledExample(_features_of(row.prompt), gain, _FILE_EPOCH + timedelta(seconds=i), "file")
        for i, (row, gain) in enumerate(zip(rows, gains, strict=True))
    ]
    record = {
        **read.to_json(),
        "constant_gain": len(set(gains)) < 2,
        "pairs": _pair_stats(rows),
        **({"graded_fields": graded} if any(graded.values()) else {}),
    }
    pairs = frozenset(_pair(row) for row in rows)
    texts: Sequence[str] = [r.prompt for r in rows] if keep_text else ()
    return TrafficFile(examples, pairs, texts, record, [r.task for r in rows])


def _features_of(prompt: str) -> dict[int, float]:
    """`hashed_features`, in key order: the n-grams come out of a set, whose order changes with
    each process's string hashing, and the fit's sums would change in their last bits with it."""
    return dict(sorted(hashed_features(prompt).items()))


def _pair_stats(rows: Sequence[OutcomeRow]) -> list[dict[str, Any]]:
    by_pair: dict[tuple[str, str], list[OutcomeRow]] = {}
    for row in rows:
        by_pair.setdefault(_pair(row), []).append(row)
    return [
        {
            "local_model": lo,
            "frontier_model": fr,
            "rows": len(group),
            "local_mean": round(fmean(r.scores[lo] for r in group), 4),
            "frontier_mean": round(fmean(r.scores[fr] for r in group), 4),
        }
        for (lo, fr), group in sorted(by_pair.items())
    ]


def _pair(row: OutcomeRow) -> tuple[str, str]:
    return row.local_model or "", row.frontier_model or ""


def traffic_gains(rows: Sequence[OutcomeRow]) -> list[float]:
    """Each row's gain label for its own pair, among the rows that name the same pair."""
    return traffic_labels(rows)[0]


def traffic_labels(rows: Sequence[OutcomeRow]) -> tuple[list[float], dict[str, list[str]]]:
    """Each row's gain label (`label_gains` among the rows that name the same pair), and the
    graded fields each pair's labels used ("local -> frontier": field names)."""
    by_pair: dict[tuple[str, str], list[int]] = {}
    for i, row in enumerate(rows):
        by_pair.setdefault(_pair(row), []).append(i)
    gains, used = [0.0] * len(rows), {}
    for (local, frontier), index in by_pair.items():
        labels, fields = label_gains([rows[i] for i in index], local, frontier)
        used[f"{local} -> {frontier}"] = fields
        for i, gain in zip(index, labels, strict=True):
            gains[i] = gain
    return gains, used


def label_gains(
    rows: Sequence[OutcomeRow], local: str, frontier: str
) -> tuple[list[float], list[str]]:
    """`pooled_gains` of `scores`, averaged with the same of every graded field that tracks it
    (`tracking_fields`): a partial-credit grading of the same answers says the same thing about
    a prompt with less noise than one 0/1 outcome. Also the fields used."""
    fields = tracking_fields(rows, local, frontier)
    labels = [pooled_gains(rows, local, frontier)]
    for name in fields:
        graded = [replace(r, scores=r.graded[name]) for r in rows]
        labels.append(pooled_gains(graded, local, frontier))
    return [_clamp(fmean(g)) for g in zip(*labels, strict=True)], fields


def tracking_fields(rows: Sequence[OutcomeRow], local: str, frontier: str) -> list[str]:
    """The graded fields that every row has for both models, on [0, 1], whose pair gain
    correlates with `scores`' at r >= `MIN_TRACKING_R` over at least `MIN_TRACKING_ROWS` rows
    (a cost or latency map, whatever its name, does not)."""
    if len(rows) < MIN_TRACKING_ROWS:
        return []
    own = [r.scores[frontier] - r.scores[local] for r in rows]
    names = set.intersection(*(set(r.graded) for r in rows))
    return [n for n in sorted(names) if _tracks(rows, n, local, frontier, own)]


def _tracks(
    rows: Sequence[OutcomeRow], name: str, local: str, frontier: str, own: Sequence[float]
) -> bool:
    gains = []
    for row in rows:
        lo, fr = row.graded[name].get(local), row.graded[name].get(frontier)
        if lo is None or fr is None or not (0.0 <= lo <= 1.0 and 0.0 <= fr <= 1.0):
            return False
        gains.append(fr - lo)
    return _correlation(own, gains) >= MIN_TRACKING_R


def _correlation(a: Sequence[float], b: Sequence[float]) -> float:
    """Pearson's r; 0 when either side is constant."""
    try:
        return correlation(a, b)
    except StatisticsError:
        return 0.0


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
    of the traffic, a prior that ranks them no better than chance is left out of the blend, and
    the fit ends with length slopes (what the words leave to the prompt's length, per task)."""
    from router.learning._fit import LENGTH_SHRINK, FitParams  # noqa: PLC0415 - numpy/sklearn

    return FitParams(interleaved=True, min_prior_t=0.0, length_shrink=LENGTH_SHRINK)


def adapt(
    traffic: Path,
    out_dir: Path,
    *,
    prior: Classifier | None = None,
    seed: int = 0,
    pair: Pair | None = None,
    strict: bool = False,
) -> LearnedClassifier:
    """Fit on `traffic` on top of `prior` (default: the shipped one) and save to `out_dir`.
    `pair` overrides the rows' own `local_model` / `frontier_model`; `strict` refuses a file
    with any unusable row. The artefact's `training.input` says how the file was read."""
    data = read_traffic(traffic, pair, strict=strict)
    clf = _fit(data.examples, data.tasks, prior, seed)
    pairs = [{"local_model": lo, "frontier_model": fr} for lo, fr in sorted(data.pairs)]
    record = {
        **clf.training,
        "traffic": traffic.name,
        "pairs": pairs,
        "pool_weight": POOL_WEIGHT,
        "input": dict(data.input),
    }
    learned = LearnedClassifier(clf.prior, clf.gain_model, record)
    learned.save(out_dir)
    return learned


def _fit(
    examples: Sequence[LabelledExample],
    tasks: Sequence[str],
    prior: Classifier | None,
    seed: int,
) -> LearnedClassifier:
    """`fit_candidate` with the file's parameters and the rows' tasks (an offset per task when
    they name two or more). Prompts in which nothing varies with the gain (all one text, all
    empty) leave the in-domain model unranked: the prior alone."""
    from router.learning._fit import fit_candidate  # noqa: PLC0415 - numpy/scikit-learn

    params = file_fit_params()
    return fit_candidate(examples, prior=prior, seed=seed, params=params, tasks=tasks)


def describe(learned: LearnedClassifier) -> list[str]:
    """What `router adapt` prints before its last line: how the file was read (rows skipped
    and why, a rescaled score range, repeated ids), each pair, and why the result is the prior
    alone when it is."""
    t = learned.training
    read: Mapping[str, Any] = t.get("input", {})
    lines = read_notes(read)
    for p in read.get("pairs", []):
        lines.append(
            f"pair {p['local_model']} -> {p['frontier_model']}: {p['rows']} rows, "
            f"mean quality {p['local_mean']:.3f} -> {p['frontier_mean']:.3f}"
        )
        if p["frontier_mean"] <= p["local_mean"]:
            lines.append(
                f"  note: {p['frontier_model']} is no better than {p['local_model']} on this "
                "file, so the artefact will keep most prompts local"
            )
    lines.extend(
        _graded_note(pair, fields)
        for pair, fields in read.get("graded_fields", {}).items()
        if fields
    )
    if learned.gain_model is None:
        lines.append(_why_prior(t, read))
    elif t.get("tasks"):
        lines.append(_task_note(learned.gain_model, t["tasks"]))
    if learned.gain_model is not None and learned.gain_model.length_slopes:
        lines.append(_slope_note(learned.gain_model.length_slopes))
    return lines


def _slope_note(slopes: Mapping[str, tuple[float, float, float]]) -> str:
    """The length slopes, largest first (at most six tasks): what a standard deviation of log
    length adds to the score's logit."""
    named = sorted((t for t in slopes if t), key=lambda t: -abs(slopes[t][2]))
    parts = [f"{t} {slopes[t][2]:+.2f}" for t in named[:6]]
    more = f" and {len(named) - 6} more" if len(named) > 6 else ""
    pooled = f"all {slopes[''][2]:+.2f}" if "" in slopes else "all none"
    return f"length slopes (logit per s.d. of log length): {'; '.join([pooled, *parts])}{more}"


def _graded_note(pair: str, fields: Sequence[str]) -> str:
    return (
        f"pair {pair}: labels also use {', '.join(fields)} (graded outcomes of the same models "
        "whose gains track the scores')"
    )


def _task_note(model: GainModel, counts: Mapping[str, int]) -> str:
    """What the rows' tasks added: an offset per task (inferred from the text for a request
    without one, when the model does that), or why none."""
    offsets = model.task_offsets
    if not offsets:
        return (
            f"the rows name {len(counts)} tasks, but the outcomes do not differ by task beyond "
            "what the prompts show: no per-task offsets"
        )
    ranked = sorted(offsets.items(), key=lambda kv: (kv[1], kv[0]))
    inferred = (
        "" if model.inferred_offsets is None else "; without one, it is inferred from the text"
    )
    (low, lo), (high, hi) = ranked[0], ranked[-1]
    return (
        f"per-task offsets for {len(offsets)} tasks (pass a request's task when scoring"
        f"{inferred}): "
        f"most towards the frontier {high} {hi:+.2f}, most local {low} {lo:+.2f}"
    )


def _why_prior(training: Mapping[str, Any], read: Mapping[str, Any]) -> str:
    n, need = training.get("examples", 0), training.get("params", {}).get("min_examples", 0)
    if n < need:
        return (
            f"only {n} usable rows, fewer than the {need} the fit needs: the artefact is the "
            "prior alone (it scores as the shipped classifier)"
        )
    if read.get("constant_gain"):
        return "every row has the same gain, nothing to learn: the artefact is the prior alone"
    return "the in-domain model did not rank held-out rows: the artefact is the prior alone"
