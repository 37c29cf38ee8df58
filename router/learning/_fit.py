"""Fit a candidate: the prior blended with a ridge model of the deployment's gain. Training only.

The target is the gain, `quality(frontier) - quality(local)` for the deployment's own pair. The
in-domain model is a ridge regression on TF-IDF of the hashed n-grams (the deployment's own
vocabulary) and the prior's dense signals (length, structure, scripts, lexicon counts;
standardised, at weight 0.05 next to the unit-norm TF-IDF rows). It is blended with the prior's
logit, both standardised: `b = (1 - w) * z(prior) + w * z(ridge)`, with `w = n / (n + 50)` for `n`
labels: the in-domain part earns weight as labels accumulate (a third at 25 labels, 95% at 1,000).
`n` is the labels' effective number `(sum w)^2 / sum w^2`: their count for a file, far fewer for
the ledger's importance-weighted labels, where a few shadows weighing 1 / shadow rate carry most of
the weight. For a labelled file (a random sample of the traffic), all of it (`w = 1`) when the
prior ranks the labels no better than chance (Spearman t <= 0; the prior never saw them). Fewer
than 30 labels, or a ridge whose out-of-fold predictions (blocked 5-fold in time order; interleaved
for a file, whose order need not be time) rank the held-out gains significantly worse than chance
(Spearman t < -2), leave the prior alone. Finally the blend is calibrated to expected gain by least
squares on the out-of-fold blend (`gain ~ a + c * b`; in sample when that slope is not positive),
and `score = sigmoid(4 * (a + c * b))`: 0.5 means no expected gain. When the labels name two or
more tasks (`tasks`, a request's tag) whose out-of-fold residuals `gain - (a + c * b)` differ
(one-way ANOVA p < 0.1), each task gets an offset: its mean residual shrunk by `n / (n + 20)`, i.e.
`b + offset / c` on the blend's scale, added to the logit as `4 * offset`. A request with no task,
or an unseen one, gets the offset its text predicts: a ridge (strength 0.3) on the TF-IDF n-grams
fitted to each labelled row's own task offset, so traffic tagged when it was labelled but scored
untagged keeps part of what the tags taught. Last, a slope on the prompt's standardised log length
is fitted to the same residual (less the task's offset), shrunk like a ridge of strength 50: one
over every label, used for a request without a task (or with one it has no slope for), and one per
task when two or more are named (a labelled file's fit only: `router adapt`). The constants were
chosen once, on the mean over every shared-data source held out in turn (docs/learning-model.md),
never per deployment; alternatives tried (choosing `w` or `alpha` by internal cross-validation)
were noisier at a few hundred labels.
"""

from __future__ import annotations

import math
import warnings
import zlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from router._scoring import Classifier
from router.classifier._model import DifficultyClassifier
from router.errors import ClassifierError
from router.learning._examples import FEATURES_VERSION, LabelledExample, split_features
from router.learning._model import (
    LENGTH_SIGNAL,
    GainModel,
    HashedPrior,
    InferredOffsets,
    LearnedClassifier,
)

FloatArray = NDArray[np.float64]
_DECIMALS = 6
TASK_SHRINK = 20.0
LENGTH_SHRINK = 50.0
MIN_SLOPE_LABELS = 10.0
TASK_INFER_ALPHA = 0.3


@dataclass(frozen=True, slots=True)
class FitParams:
    """Fixed up front, validated across sources (docs/learning-model.md); recorded in artefacts."""

    min_examples: int = 30
    alpha: float = 30.0  # ridge strength on L2-normalised TF-IDF rows
    half_weight_labels: float = 50.0  # in-domain weight w = n / (n + this), n effective labels
    # Out of fold, the ridge must not rank the held-out gains significantly worse than chance.
    # A stricter gate (t >= 0, t >= 2) misfired: at a few hundred labels the out-of-fold rank
    # correlation swings between -1.3 and 1.6 t while the same ridge ranks unseen traffic well.
    min_signal_t: float = -2.0
    # With labels that are a random sample of the traffic (a labelled file), the prior is left
    # out of the blend (w = 1) when it ranks them no better than chance (Spearman t <= this): it
    # was not fitted on them, so that is an honest measure of a prior that points the wrong way
    # for this pair. None: always blend it. The ledger's labels are not such a sample
    # (escalations are local failures among what the model kept local), and on them the test
    # misfired: the 2% shadow simulation on m-ifeval ended at 0.564 with it against 0.688.
    min_prior_t: float | None = None
    folds: int = 5
    # Folds as stretches of time (the ledger's traffic), or every `folds`-th example (a file,
    # whose order need not be time: the shared-data files are sorted by task, and a fold that is
    # one whole task makes any in-domain model look worse than chance).
    interleaved: bool = False
    min_df: int = 2
    output_scale: float = 4.0  # score = sigmoid(4 * expected gain)
    # The prior's dense signals (length, structure, scripts, lexicons), standardised, join the
    # ridge at this scale next to the unit-norm TF-IDF rows (0: n-grams only).
    dense_weight: float = 0.05
    # Per-task offsets (labels that carry a task, two tasks or more): each task's mean residual
    # of the calibrated blend, shrunk by n / (n + this) for its n labels. None: no offsets.
    task_shrink: float | None = TASK_SHRINK
    # The residual is the out-of-fold blend's (True) or the fitted blend's (False).
    task_residual_oof: bool = True
    # Offsets only when the tasks' residuals differ (one-way ANOVA p below this; None: always).
    task_max_p: float | None = 0.1
    # A slope on the prompt's log length (the `log_chars` signal) fitted to the residual the
    # blend and the task offsets leave: one per task with `MIN_SLOPE_LABELS` effective labels or
    # more, and one over every label (key "") for the rest, each shrunk like a ridge of this
    # strength on the standardised length. The ridge leaves length underused: its n-grams share
    # one penalty with it, and its effect differs by task (m-ifeval's English prompts: the longer,
    # the more instructions to break). None: no slopes. A file's labels (a random sample) get
    # them (`file_fit_params`); the ledger's do not: their selection follows the routing
    # decision, which length sways, and on eight replayed streams per file the slopes moved
    # `router learn`'s curves by -0.006 to +0.010 (docs/learning.md, "Length slopes").
    length_shrink: float | None = None
    # Task offsets inferred from the text for a request without a task (or with one the model
    # has no offset for): a ridge of this strength on the TF-IDF columns, fitted to the offset of
    # each labelled row's own task. Traffic tagged while it was labelled but scored untagged (an
    # application that sets no `metadata["task"]`, a file scored from its prompts alone) then
    # keeps most of what the tags taught. None: no inference, such a request gets no offset.
    task_infer_alpha: float | None = TASK_INFER_ALPHA


@dataclass(frozen=True, slots=True)
class _Design:
    x: sp.csr_matrix  # the TF-IDF columns, then the scaled, standardised dense signals
    gain: FloatArray
    weight: FloatArray
    prior_z: FloatArray
    length: FloatArray  # the prompts' `log_chars` signal, unscaled
    idf: dict[int, float]
    columns: list[int]  # bucket of each TF-IDF column
    dense_mean: FloatArray
    dense_scale: FloatArray


@dataclass(frozen=True, slots=True)
class _Blend:
    weight: float
    ridge_intercept: float
    ridge_coef: FloatArray
    prior_mean: float
    prior_scale: float
    ridge_mean: float
    ridge_scale: float
    slope: float  # expected gain = offset + slope * blend
    offset: float


def base_prior(prior: Classifier | None) -> DifficultyClassifier:
    """The prior a candidate is built on: the shipped one, or the prior under a learned one."""
    if prior is None:
        from router.classifier import load_classifier  # noqa: PLC0415 - avoids an import cycle

        return load_classifier()
    if isinstance(prior, LearnedClassifier):
        return prior.prior
    if isinstance(prior, DifficultyClassifier):
        return prior
    raise ClassifierError(
        f"fit_candidate needs a cost-router classifier as its prior, not {type(prior).__name__}: "
        "the learning store keeps hashed features, which only those can score"
    )


def fit_candidate(
    examples: Sequence[LabelledExample],
    *,
    prior: Classifier | None = None,
    seed: int = 0,
    params: FitParams | None = None,
    tasks: Sequence[str | None] | None = None,
) -> LearnedClassifier:
    """The prior plus a gain model fitted to `examples` (the prior alone when too few), plus a
    shrunk offset per task when the examples' tasks name two or more: `tasks` (one per example,
    None or "" for none) when given, else each example's own `task`.

    Deterministic: the same examples (in any order of equal `observed_at`) give the same model.
    `seed` is recorded; the fit itself uses no randomness."""
    params = params or FitParams()
    base = base_prior(prior)
    ordered, ordered_tasks = _ordered(examples, tasks)
    training = _training_record(ordered, params, seed)
    gains = [e.gain for e in ordered]
    if len(ordered) < params.min_examples or len(set(gains)) < 2:
        return LearnedClassifier(base, None, {**training, "chosen": "prior (too few labels)"})
    design = _design(ordered, HashedPrior(base), params)
    blend, table, oof_blend = _choose_blend(design, params)
    training["validation"] = table
    if blend is None:
        return LearnedClassifier(base, None, {**training, "chosen": "prior (validated)"})
    model = _gain_model(design, blend, params)
    chosen = f"blend w={blend.weight:.3f}"
    counts = _task_counts(ordered_tasks)
    if len(counts) >= 2:
        training["tasks"] = counts
    residual = _blend_residual(design, blend, oof_blend, params)
    offsets = _task_offsets(design, residual, ordered_tasks, params)
    slopes = _length_slopes(design, residual, ordered_tasks, offsets, params)
    inferred = _inferred_offsets(design, ordered_tasks, offsets, params)
    model = replace(model, task_offsets=offsets, length_slopes=slopes, inferred_offsets=inferred)
    chosen += f", offsets for {len(offsets)} tasks" if offsets else ""
    chosen += ", inferred from the text without a task" if inferred is not None else ""
    chosen += f", length slopes for {len(slopes)} groups" if slopes else ""
    return LearnedClassifier(base, model, {**training, "chosen": chosen})


def _ordered(
    examples: Sequence[LabelledExample], tasks: Sequence[str | None] | None
) -> tuple[list[LabelledExample], list[str]]:
    """The examples in time order (ties by content) and their tasks ("" for none) alongside:
    `tasks` when given, else the examples' own."""
    if tasks is not None and len(tasks) != len(examples):
        raise ValueError(f"got {len(examples)} examples but {len(tasks)} tasks")
    named = [t or "" for t in tasks] if tasks is not None else [e.task for e in examples]
    order = sorted(
        range(len(examples)), key=lambda i: (examples[i].observed_at, _order_key(examples[i]))
    )
    return [examples[i] for i in order], [named[i] for i in order]


def _order_key(example: LabelledExample) -> int:
    """Ties in time are broken by a hash of the content (not by the gain, which would put every
    label of one value in one validation block), so input order never changes the model."""
    content = repr((example.gain, sorted(example.features.items())))
    return zlib.crc32(content.encode("ascii"))


def _training_record(
    ordered: Sequence[LabelledExample], params: FitParams, seed: int
) -> dict[str, Any]:
    sources: dict[str, int] = {}
    for e in ordered:
        sources[e.source] = sources.get(e.source, 0) + 1
    return {
        "examples": len(ordered),
        "sources": dict(sorted(sources.items())),
        "first_observed": ordered[0].observed_at.isoformat() if ordered else None,
        "last_observed": ordered[-1].observed_at.isoformat() if ordered else None,
        "features_version": FEATURES_VERSION,
        "params": {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(params).items()},
        "seed": seed,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "target": "gain = quality(frontier) - quality(local), the deployment's own pair",
    }


def _design(ordered: Sequence[LabelledExample], hashed: HashedPrior, params: FitParams) -> _Design:
    grams = [split_features(e.features)[1] for e in ordered]
    df: dict[int, int] = {}
    for row in grams:
        for b in row:
            df[b] = df.get(b, 0) + 1
    columns = sorted(b for b, c in df.items() if c >= params.min_df)
    n = len(ordered)
    idf = {b: math.log((1 + n) / (1 + df[b])) + 1.0 for b in columns}
    tfidf = _tfidf(grams, idf, {b: i for i, b in enumerate(columns)})
    dense = np.array([split_features(e.features)[0] for e in ordered], dtype=np.float64)
    dense_mean = np.array([_round(v) for v in dense.mean(axis=0)])
    dense_scale = np.array([_round(v) if v >= 1e-6 else 1.0 for v in dense.std(axis=0)])
    standard = (dense - dense_mean) / dense_scale
    return _Design(
        x=sp.hstack([tfidf, sp.csr_matrix(params.dense_weight * standard)], format="csr"),
        gain=np.array([e.gain for e in ordered], dtype=np.float64),
        weight=np.array([e.weight for e in ordered], dtype=np.float64),
        prior_z=np.array([hashed.logit(e.features) for e in ordered], dtype=np.float64),
        length=dense[:, LENGTH_SIGNAL].copy(),
        idf=idf,
        columns=columns,
        dense_mean=dense_mean,
        dense_scale=dense_scale,
    )


def _tfidf(
    grams: Sequence[dict[int, float]], idf: dict[int, float], column: dict[int, int]
) -> sp.csr_matrix:
    """Rows of counts times idf over the known buckets, each row L2-normalised."""
    rows: list[int] = []
    cols: list[int] = []
    counts: list[float] = []
    for r, row in enumerate(grams):
        for bucket, count in row.items():
            j = column.get(bucket)
            if j is not None:
                rows.append(r)
                cols.append(j)
                counts.append(count)
    weights = np.zeros(len(column))
    for bucket, j in column.items():
        weights[j] = idf[bucket]
    shape = (len(grams), len(column))
    m = sp.csr_matrix((counts, (rows, cols)), shape=shape).multiply(weights).tocsr()
    norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
    norms[norms == 0.0] = 1.0
    return sp.csr_matrix(sp.diags(1.0 / norms) @ m)


def _ridge(
    x: sp.csr_matrix, y: FloatArray, w: FloatArray, alpha: float
) -> tuple[float, FloatArray]:
    from sklearn.linear_model import Ridge  # noqa: PLC0415 - training only

    model = Ridge(alpha=alpha, solver="sparse_cg", tol=1e-6, max_iter=5000)
    model.fit(x, y, sample_weight=w)
    return float(model.intercept_), np.asarray(model.coef_, dtype=np.float64)


def recovered_gain(scores: FloatArray, gain: FloatArray) -> float:
    """Area under the cumulative-gain curve when prompts go to the frontier in score order, ties
    together (APGR without dividing by the total gain, so it is defined for any sign)."""
    order = np.argsort(-scores, kind="stable")
    s, g = scores[order], gain[order]
    ends = np.append(np.flatnonzero(np.diff(s) != 0) + 1, len(s))
    cum = np.concatenate(([0.0], np.cumsum(g)[ends - 1]))
    shares = np.concatenate(([0.0], ends / len(s)))
    return float(np.sum(np.diff(shares) * (cum[1:] + cum[:-1]) / 2.0) / len(s))


def effective_count(weights: FloatArray) -> float:
    """How many equally weighted labels `weights` are worth, `(sum w)^2 / sum w^2`: their count
    when every weight is the same (a file's labels), far fewer when a few importance weights
    dominate (the ledger's shadow labels weigh 1 / shadow rate, an escalation about 2)."""
    total, squares = float(weights.sum()), float((weights * weights).sum())
    return total * total / squares if squares > 0.0 else 0.0


def _standardise(values: FloatArray) -> tuple[float, float]:
    scale = float(values.std())
    return float(values.mean()), scale if scale > 1e-12 else 1.0


def _out_of_fold(design: _Design, params: FitParams) -> FloatArray:
    """Ridge predictions for each example from a model fitted without its time block."""
    n = len(design.gain)
    if params.interleaved:
        fold = np.arange(n) % params.folds
    else:
        fold = np.minimum(np.arange(n) * params.folds // n, params.folds - 1)
    oof = np.zeros(n)
    for k in range(params.folds):
        train, test = fold != k, fold == k
        b, coef = _ridge(design.x[train], design.gain[train], design.weight[train], params.alpha)
        pred = design.x[test] @ coef + b
        mean, scale = _standardise(design.x[train] @ coef + b)
        oof[test] = (pred - mean) / scale  # each fold on its own model's scale
    return oof


def _rank_t(scores: FloatArray, gain: FloatArray) -> float:
    """t-statistic of the Spearman correlation between `scores` and `gain` (0 if undefined)."""
    from scipy.stats import spearmanr  # noqa: PLC0415 - training only

    n = len(gain)
    if n < 4 or not (np.ptp(scores) > 0.0 and np.ptp(gain) > 0.0):
        return 0.0  # a constant side: no rank correlation to speak of
    rho = float(spearmanr(scores, gain).statistic)
    if not math.isfinite(rho):
        return 0.0
    return rho * math.sqrt((n - 2) / max(1e-12, 1.0 - rho * rho))


def _choose_blend(
    design: _Design, params: FitParams
) -> tuple[_Blend | None, dict[str, float], FloatArray]:
    """In-domain weight by the labels' effective number, once held-out labels show the ridge
    ranks at all; all of it when the prior ranks the labels no better than chance (with
    `min_prior_t` set). Also the out-of-fold blend (the task offsets' residuals)."""
    n = effective_count(design.weight)
    oof = _out_of_fold(design, params)
    pm, ps = _standardise(design.prior_z)
    om, os_ = _standardise(oof)
    prior_t = _rank_t(design.prior_z, design.gain)
    weight = n / (n + params.half_weight_labels)
    if params.min_prior_t is not None and prior_t <= params.min_prior_t:
        weight = 1.0
    blended = (1 - weight) * (design.prior_z - pm) / ps + weight * (oof - om) / os_
    table = {
        "effective_labels": n,
        "ridge_oof_rank_t": _rank_t(oof, design.gain),
        "prior_rank_t": prior_t,
        "prior_recovered_gain": recovered_gain(design.prior_z, design.gain),
        "blend_oof_recovered_gain": recovered_gain(blended, design.gain),
        "weight": weight,
    }
    rounded = {k: round(v, 6) for k, v in table.items()}
    if table["ridge_oof_rank_t"] < params.min_signal_t:
        return None, rounded, blended
    b, coef = _ridge(design.x, design.gain, design.weight, params.alpha)
    fitted = design.x @ coef + b
    rm, rs = _standardise(fitted)
    slope, offset = _calibration(blended, design)
    if slope <= 0.0:  # out of fold too noisy to calibrate: calibrate in sample (over-confident)
        in_sample = (1 - weight) * (design.prior_z - pm) / ps + weight * (fitted - rm) / rs
        slope, offset = _calibration(in_sample, design)
    if slope <= 0.0:
        return None, rounded, blended
    blend = _Blend(weight, b, coef, pm, ps, rm, rs, float(slope), float(offset))
    return blend, rounded, blended


def _calibration(score: NDArray[np.float64], design: _Design) -> tuple[float, float]:
    """Slope and offset of the gain on `score` (weighted least squares); a slope of 0 when the
    score does not vary (every prompt alike to the model), where the fit has nothing to say."""
    if not np.ptp(score) > 0.0:
        return 0.0, 0.0
    try:
        slope, offset = np.polyfit(score, design.gain, 1, w=np.sqrt(design.weight))
    except np.linalg.LinAlgError:
        return 0.0, 0.0
    return float(slope), float(offset)


def _gain_model(design: _Design, blend: _Blend, params: FitParams) -> GainModel:
    """u = k * (offset + slope * ((1 - w) * z(prior) + w * z(ridge))), folded into weights."""
    k = params.output_scale * blend.slope
    ridge_factor = k * blend.weight / blend.ridge_scale
    n_grams = len(design.columns)
    dense_coef = blend.ridge_coef[n_grams:] * (ridge_factor * params.dense_weight)
    return GainModel(
        intercept=_round(
            params.output_scale * blend.offset
            + ridge_factor * (blend.ridge_intercept - blend.ridge_mean)
        ),
        prior_coef=_round(k * (1 - blend.weight)),
        # Rounded: the prior's logits differ in the last bit with the order of a prompt's
        # n-grams, which two readings of the same traffic need not share.
        prior_mean=_round(blend.prior_mean),
        prior_scale=_round(blend.prior_scale),
        dense_mean=tuple(float(v) for v in design.dense_mean),
        dense_scale=tuple(float(v) for v in design.dense_scale),
        dense_coef=tuple(_round(float(c)) for c in dense_coef),
        idf={b: _round(v) for b, v in design.idf.items()},
        ngram_coef={
            b: _round(ridge_factor * float(c))
            for b, c in zip(design.columns, blend.ridge_coef[:n_grams], strict=True)
        },
    )


def _blend_residual(
    design: _Design, blend: _Blend, oof_blend: FloatArray, params: FitParams
) -> FloatArray:
    """Each label's gain minus the calibrated blend's expected gain (out of fold by default)."""
    b = oof_blend if params.task_residual_oof else _fitted_blend(design, blend)
    return np.asarray(design.gain - (blend.offset + blend.slope * b), dtype=np.float64)


def _task_offsets(
    design: _Design, residual: FloatArray, tasks: Sequence[str], params: FitParams
) -> dict[str, float]:
    """Each task's offset to the score's logit: its labels' weighted mean residual against the
    calibrated blend, shrunk towards 0 by `n / (n + task_shrink)` (a ridge on task indicators),
    times the output scale. `n` is the labels' effective number, `(sum w)^2 / sum w^2`: their
    count when every weight is 1 (a file), far fewer when a few importance weights dominate (the
    ledger's shadow labels weigh 1 / shadow rate), which the shrinkage must see. On the blend's
    standardised scale that is `residual / slope`, so the text model keeps its weight. Nothing
    unless two or more tasks are named."""
    named = sorted({t for t in tasks if t})
    if params.task_shrink is None or len(named) < 2:
        return {}
    if params.task_max_p is not None and not _tasks_differ(residual, tasks, params.task_max_p):
        return {}
    by_task, shrink, scale = np.array(tasks, dtype=object), params.task_shrink, params.output_scale
    return {t: _task_offset(residual, design.weight, by_task == t, shrink, scale) for t in named}


def _task_offset(
    residual: FloatArray, weight: FloatArray, mask: NDArray[np.bool_], shrink: float, scale: float
) -> float:
    """One task's weighted mean residual, shrunk by `n / (n + shrink)` for its `n` effective
    labels, times the logit's scale."""
    w = weight[mask]
    n = effective_count(w)
    return _round(scale * float(np.average(residual[mask], weights=w)) * n / (n + shrink))


def _tasks_differ(residual: FloatArray, tasks: Sequence[str], max_p: float) -> bool:
    """Whether the residuals' means differ between tasks: one-way ANOVA p below `max_p`."""
    from scipy.stats import f_oneway  # noqa: PLC0415 - training only

    groups: dict[str, list[float]] = {}
    for task, r in zip(tasks, residual, strict=True):
        if task:
            groups.setdefault(task, []).append(float(r))
    if sum(len(g) for g in groups.values()) <= len(groups):
        return False  # no task has two labels: nothing to compare within
    with warnings.catch_warnings():  # a constant or one-label group: p is nan or exact
        warnings.simplefilter("ignore")
        p = float(f_oneway(*groups.values()).pvalue)
    return math.isfinite(p) and p < max_p


def _inferred_offsets(
    design: _Design, tasks: Sequence[str], offsets: dict[str, float], params: FitParams
) -> InferredOffsets | None:
    """A ridge that predicts a labelled row's task offset from its TF-IDF n-grams, fitted on the
    rows that name a task; None without offsets or with inference turned off."""
    alpha = params.task_infer_alpha
    named = np.array([bool(t) for t in tasks])
    if alpha is None or not offsets or not named.any():
        return None
    target = np.array([offsets.get(t, 0.0) for t in tasks], dtype=np.float64)[named]
    ngrams = design.x[:, : len(design.columns)][named]
    intercept, coef = _ridge(ngrams, target, design.weight[named], alpha)
    weights = {b: _round(float(c)) for b, c in zip(design.columns, coef, strict=True)}
    return InferredOffsets(_round(intercept), {b: c for b, c in weights.items() if c})


def _length_slopes(
    design: _Design,
    residual: FloatArray,
    tasks: Sequence[str],
    offsets: dict[str, float],
    params: FitParams,
) -> dict[str, tuple[float, float, float]]:
    """`(mean, scale, coef)` of a slope on the standardised log length, in the logit's units,
    fitted to the residual against the calibrated blend: under "" over every label (so a request
    without a task scores as if the labels had named none), and, when two tasks or more are
    named, per task against the residual its offset leaves."""
    shrink, scale = params.length_shrink, params.output_scale
    if shrink is None:
        return {}
    fitted = {"": _length_slope(design.length, residual, design.weight, shrink, scale)}
    named = sorted({t for t in tasks if t})
    if len(named) >= 2:
        by_task = np.array(tasks, dtype=object)
        for t in named:
            m = by_task == t
            left = residual[m] - offsets.get(t, 0.0) / scale
            fitted[t] = _length_slope(design.length[m], left, design.weight[m], shrink, scale)
    return {t: v for t, v in fitted.items() if v is not None}


def _length_slope(
    length: FloatArray, residual: FloatArray, weight: FloatArray, shrink: float, scale: float
) -> tuple[float, float, float] | None:
    """One group's slope, `sum w x r / (sum w x^2 + shrink)` on the standardised length `x`,
    times the logit's `scale`, the weights scaled to sum to their effective number; None for a
    group with fewer than `MIN_SLOPE_LABELS` effective labels, one length, or no slope."""
    n = effective_count(weight)
    if n < MIN_SLOPE_LABELS:
        return None
    w = weight * (n / float(weight.sum()))
    mean = float(np.average(length, weights=w))
    spread = math.sqrt(float(np.average((length - mean) ** 2, weights=w)))
    if spread < 1e-6:
        return None
    x = (length - mean) / spread
    coef = _round(scale * float(np.sum(w * x * residual) / (np.sum(w * x * x) + shrink)))
    return (_round(mean), _round(spread), coef) if coef else None


def _fitted_blend(design: _Design, blend: _Blend) -> FloatArray:
    fitted = design.x @ blend.ridge_coef + blend.ridge_intercept
    prior = (design.prior_z - blend.prior_mean) / blend.prior_scale
    ridge = (fitted - blend.ridge_mean) / blend.ridge_scale
    return np.asarray((1 - blend.weight) * prior + blend.weight * ridge, dtype=np.float64)


def _task_counts(tasks: Sequence[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for t in tasks:
        if t:
            counts[t] = counts.get(t, 0) + 1
    return dict(sorted(counts.items()))


def _round(value: float) -> float:
    return round(value, _DECIMALS) + 0.0
