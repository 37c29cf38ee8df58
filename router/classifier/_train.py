"""Fit the difficulty model with scikit-learn and export plain weights. Training only.

Target: a prompt's difficulty is the share of models that fail it, `mean(1 - score)` over every
model in `scores` (not one pair: one pair's 0/1 outcome is mostly noise). `TrainParams.target =
"shortfall"` subtracts the failure share of the task's best model instead (what no model of the
file can do on the task); it was tried for the prior and not shipped (docs/classifier.md).
N-grams without a letter (punctuation, digits) are left out of the vocabulary: they encoded
benchmark formatting ("." weighed -3.8: the imperative instructions of m-ifeval, which most models
follow, against llmrouter-train's unpunctuated trivia questions, which exact-match scoring fails),
and made every short sentence ending in a period look easy. The model is a logistic
regression with fractional labels over standardised dense features and binary n-grams scaled by
`1 / sqrt(#grams)`. To keep benchmark identity out of the vocabulary, an n-gram must occur in at
least `min_df` training prompts *and* in at least `min_sources` different training files; each
training file carries the same total weight, so a large file cannot define difficulty alone.

Reproducible across machines: the loss is strictly convex, so it has one optimum; the fit is solved
to near machine precision (Newton-CG, gradient below `tol`) so that the weights differ by ~1e-12
between BLAS kernels, thread counts or row orders, then rounded to `_DECIMALS` decimal places, far
coarser than that noise. L-BFGS could not do this: scikit-learn fixes its `ftol` at 64 * eps, so it
stops ~1e-5 away from the optimum whatever `tol` is, at a point that depends on summation order.
"""

from __future__ import annotations

import math
import re
import warnings
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass
from statistics import fmean
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from router.classifier import _answer, _features
from router.classifier._model import ModelWeights, PosthocWeights
from router.classifier._smoothing import SMOOTHED_RATES, smoothed_rates
from router.errors import ClassifierError
from router.evaluation import OutcomeRow

_SIGNIFICANT = 6  # feature means and scales: exact up to the last bit, so relative precision
_TOL = 1e-14  # Newton-CG stops when every gradient component is below this
_DECIMALS = 6  # coefficients: absolute steps of 1e-6, ~1e6 times the cross-machine noise


@dataclass(frozen=True, slots=True)
class TrainParams:
    """Hyper-parameters, fixed up front (not tuned per split); recorded in the artefact."""

    c: float = 3.0
    min_df: int = 5
    min_sources: int = 2
    max_iter: int = 3000
    tol: float = _TOL
    letter_grams_only: bool = True
    target: str = "difficulty"  # or "shortfall": beyond the task's best model's failures
    smooth_rates: bool = True  # short prompts' rates pulled to the average (`_smoothing`)


@dataclass(frozen=True, slots=True)
class SourceFeatures:
    """Features of one training file, computed once and shared by every validation fit."""

    name: str
    dense: NDArray[np.float64]
    grams: list[AbstractSet[_features.Gram]]
    target: NDArray[np.float64]


def difficulty(row: OutcomeRow) -> float:
    """Share of models failing the prompt: mean of `1 - score` over all models."""
    return 1.0 - fmean(row.scores.values())


def task_ceilings(rows: Sequence[OutcomeRow]) -> dict[str, float]:
    """Per task: the failure share of the model that fails it least (among models that scored at
    least half of the task's rows)."""
    by_task: dict[str, dict[str, list[float]]] = {}
    for r in rows:
        models = by_task.setdefault(r.task, {})
        for model, value in r.scores.items():
            models.setdefault(model, []).append(value)
    out = {}
    for task, models in by_task.items():
        n = max(map(len, models.values()))
        out[task] = 1.0 - max(fmean(v) for v in models.values() if 2 * len(v) >= n)
    return out


def shortfall(rows: Sequence[OutcomeRow]) -> list[float]:
    """Each prompt's difficulty beyond its task's ceiling, clipped at 0."""
    ceiling = task_ceilings(rows)
    return [max(0.0, difficulty(r) - ceiling[r.task]) for r in rows]


def targets(rows: Sequence[OutcomeRow], kind: str = "difficulty") -> list[float]:
    if kind == "shortfall":
        return shortfall(rows)
    if kind == "difficulty":
        return [difficulty(r) for r in rows]
    raise ClassifierError(f"unknown training target {kind!r}; use 'shortfall' or 'difficulty'")


def featurize(name: str, rows: Sequence[OutcomeRow], target: str = "difficulty") -> SourceFeatures:
    extracted = [_features.extract(r.prompt) for r in rows]
    return SourceFeatures(
        name=name,
        dense=np.array([e.dense for e in extracted], dtype=np.float64).reshape(
            len(rows), len(_features.DENSE_NAMES)
        ),
        grams=[e.grams for e in extracted],
        target=np.array(targets(rows, target), dtype=np.float64),
    )


def subset(
    src: SourceFeatures, index: Sequence[int] | NDArray[np.int64], suffix: str
) -> SourceFeatures:
    idx = np.asarray(index, dtype=np.int64)
    return SourceFeatures(
        f"{src.name}{suffix}", src.dense[idx], [src.grams[i] for i in idx], src.target[idx]
    )


def _vocabulary(
    sources: Sequence[SourceFeatures], params: TrainParams
) -> dict[_features.Gram, int]:
    df: Counter[_features.Gram] = Counter()
    n_sources: Counter[_features.Gram] = Counter()
    for src in sources:
        in_source: Counter[_features.Gram] = Counter()
        for grams in src.grams:
            in_source.update(grams)
        df.update(in_source)
        n_sources.update(in_source.keys())
    need_sources = min(params.min_sources, len(sources))
    kept = [
        g
        for g, c in df.items()
        if c >= params.min_df
        and n_sources[g] >= need_sources
        and (not params.letter_grams_only or _has_letter(g))
    ]
    kept.sort(key=_features.gram_name)
    return {g: i for i, g in enumerate(kept)}


_LETTER = re.compile(r"[^\W\d_]")


def _has_letter(gram: _features.Gram) -> bool:
    return _LETTER.search(gram if isinstance(gram, str) else gram[0] + gram[1]) is not None


def _ngram_matrix(
    grams: Sequence[AbstractSet[_features.Gram]], vocab: Mapping[_features.Gram, int]
) -> sp.csr_matrix:
    indptr = [0]
    indices: list[int] = []
    data: list[float] = []
    for prompt_grams in grams:
        ids = sorted(vocab[g] for g in prompt_grams if g in vocab)
        value = 1.0 / math.sqrt(len(prompt_grams)) if prompt_grams else 0.0
        indices.extend(ids)
        data.extend([value] * len(ids))
        indptr.append(len(indices))
    return sp.csr_matrix((data, indices, indptr), shape=(len(grams), len(vocab)))


def fit(sources: Sequence[SourceFeatures], params: TrainParams) -> ModelWeights:
    """Fit on the given files and return exportable weights."""
    dense = np.vstack([s.dense for s in sources])
    if params.smooth_rates:
        dense = np.array([smoothed_rates(row) for row in dense], dtype=np.float64)
    target = np.concatenate([s.target for s in sources])
    weight = np.concatenate([np.full(len(s.target), 1.0 / len(s.target)) for s in sources])
    weight *= len(weight) / weight.sum()
    mean = dense.mean(axis=0)
    scale = dense.std(axis=0)
    scale[scale < 1e-9] = 1.0
    vocab = _vocabulary(sources, params)
    grams = [g for s in sources for g in s.grams]
    x = sp.hstack([sp.csr_matrix((dense - mean) / scale), _ngram_matrix(grams, vocab)]).tocsr()
    # Fractional labels: each prompt once as "fail" with weight y and once as "pass" with 1 - y.
    model = _solve(
        sp.vstack([x, x]), target, weight, c=params.c, max_iter=params.max_iter, tol=params.tol
    )
    coef = model.coef_[0]
    n_dense = len(_features.DENSE_NAMES)
    return ModelWeights(
        intercept=_round_coef(float(model.intercept_[0])),
        dense_names=_features.DENSE_NAMES,
        dense_mean=tuple(_round(float(v)) for v in mean),
        dense_scale=tuple(_round(float(v)) for v in scale),
        dense_coef=tuple(_round_coef(float(v)) for v in coef[:n_dense]),
        ngram_weights={
            _features.gram_name(g): _round_coef(float(coef[n_dense + i])) for g, i in vocab.items()
        },
        dense_transform=SMOOTHED_RATES if params.smooth_rates else None,
    )


def _solve(
    x2: NDArray[np.float64] | sp.csr_matrix,
    target: NDArray[np.float64],
    weight: NDArray[np.float64],
    *,
    c: float,
    max_iter: int,
    tol: float,
) -> Any:
    """Fit the fractional-label logistic regression on `x2` (the rows stacked twice) to `tol`.

    A stop short of `tol` would leave weights that depend on the machine, so it is an error."""
    from sklearn.exceptions import ConvergenceWarning  # noqa: PLC0415 - training only
    from sklearn.linear_model import LogisticRegression  # noqa: PLC0415 - training only

    model = LogisticRegression(C=c, solver="newton-cg", tol=tol, max_iter=max_iter)
    with _one_thread(), warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        try:
            model.fit(
                x2,
                np.concatenate([np.ones(len(target)), np.zeros(len(target))]),
                sample_weight=np.concatenate([weight * target, weight * (1.0 - target)]),
            )
        except ConvergenceWarning as exc:
            raise ClassifierError(
                f"the classifier fit did not converge to tol={tol:g} ({exc}); the weights would "
                "differ between machines. Check the training data for constant or duplicated "
                "columns, or raise TrainParams.tol"
            ) from exc
    return model


def _one_thread() -> AbstractContextManager[object]:
    """Same weights on every run: scikit-learn's loss sums over OpenMP threads, and the summation
    order (hence the last bits of the weights) depends on the thread count."""
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]  # noqa: PLC0415

    return threadpool_limits(limits=1)  # type: ignore[no-any-return]


def _round(value: float) -> float:
    return float(f"{value:.{_SIGNIFICANT}g}")


def _round_coef(value: float) -> float:
    """Round to `_DECIMALS` places: an absolute step, so a tiny weight is not kept to 1e-12."""
    return round(value, _DECIMALS) + 0.0  # + 0.0 turns -0.0 into 0.0


def describe(params: TrainParams) -> dict[str, Any]:
    return {
        "target": (
            "shortfall: mean(1 - score) over all models in scores, minus the failure share of "
            "the task's best model, clipped at 0"
            if params.target == "shortfall"
            else "share of models failing the prompt: mean(1 - score) over all models in scores"
        ),
        "model": (
            "logistic regression, fractional labels, equal total weight per training file; "
            "newton-cg to tol, coefficients rounded to 6 decimal places"
        ),
        "params": asdict(params),
    }


@dataclass(frozen=True, slots=True)
class AnswerExamples:
    """One file's recorded answers: prompt-only logit, answer features, 1 - the answer's score."""

    name: str
    prompt_logit: NDArray[np.float64]
    answer: NDArray[np.float64]
    target: NDArray[np.float64]


def answer_examples(
    name: str, rows: Sequence[OutcomeRow], logit: Callable[[str], float]
) -> AnswerExamples | None:
    """Every (prompt, model answer) pair of the file with a score for that model; None if none."""
    z, feats, target = [], [], []
    for r in rows:
        prompt_z = logit(r.prompt) if r.responses else 0.0
        for model, text in sorted(r.responses.items()):
            if model in r.scores:
                z.append(prompt_z)
                feats.append(_answer.extract_answer(r.prompt, text))
                target.append(1.0 - r.scores[model])
    if not target:
        return None
    return AnswerExamples(
        name,
        np.array(z, dtype=np.float64),
        np.array(feats, dtype=np.float64).reshape(len(target), len(_answer.ANSWER_NAMES)),
        np.array(target, dtype=np.float64),
    )


def fit_posthoc(
    files: Sequence[AnswerExamples], c: float = 1.0, tol: float = _TOL
) -> PosthocWeights:
    """Logistic model of "the answer falls short" on the prompt logit and the answer features,
    fractional labels, each file the same total weight."""
    z = np.concatenate([f.prompt_logit for f in files])
    feats = np.vstack([f.answer for f in files])
    target = np.concatenate([f.target for f in files])
    weight = np.concatenate([np.full(len(f.target), 1.0 / len(f.target)) for f in files])
    weight *= len(weight) / weight.sum()
    x = np.column_stack([z, feats])
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    xs = (x - mean) / scale
    model = _solve(np.vstack([xs, xs]), target, weight, c=c, max_iter=2000, tol=tol)
    coef = [_round_coef(float(v)) for v in model.coef_[0]]
    return PosthocWeights(
        intercept=_round_coef(float(model.intercept_[0])),
        prompt_mean=_round(float(mean[0])),
        prompt_scale=_round(float(scale[0])),
        prompt_coef=coef[0],
        names=_answer.ANSWER_NAMES,
        mean=tuple(_round(float(v)) for v in mean[1:]),
        scale=tuple(_round(float(v)) for v in scale[1:]),
        coef=tuple(coef[1:]),
    )
