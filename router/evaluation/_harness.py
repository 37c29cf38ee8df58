"""Run scorers over an outcome file and collect the metrics `router eval` reports."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from router._scoring import score_batch, takes_tasks
from router.evaluation._cascade import AfterFn, CascadeResult, evaluate_cascade
from router.evaluation._data import OutcomeRow, PairOutcomes
from router.evaluation._metrics import RoutingCurve, routing_curve
from router.evaluation._plot import plot_curves
from router.evaluation._read import read_notes, read_pair
from router.evaluation._report import PairMetrics, format_metrics, multi_pair, pair_metrics

ScoreFn = Callable[[Sequence[str]], list[float]]


@dataclass(frozen=True, slots=True)
class ScorerResult:
    metrics: PairMetrics
    curve: RoutingCurve
    multi_pair_apgr: float
    multi_pair_cost_saved: float
    multi_pairs: int


@dataclass(frozen=True, slots=True)
class EvalResult:
    path: Path
    pair: PairOutcomes
    scorers: Mapping[str, ScorerResult]
    cascade: CascadeResult | None = None
    pair_reason: str = ""
    """Why this pair was evaluated (see `router.evaluation._pairs.choose_pair`)."""
    input: Mapping[str, Any] = field(default_factory=dict)
    """How the file was read (`OutcomeFile.to_json()`: rows skipped and why, a rescaled range)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "file": str(self.path),
            "local_model": self.pair.local_model,
            "frontier_model": self.pair.frontier_model,
            "pair_chosen_by": self.pair_reason,
            "n": len(self.pair.rows),
            "skipped": self.pair.skipped,
            "input": dict(self.input),
            "scorers": {
                name: {
                    **r.metrics.to_json(),
                    "multi_pair": {
                        "apgr": _none_if_nan(r.multi_pair_apgr),
                        "cost_saved_at_95": _none_if_nan(r.multi_pair_cost_saved),
                        "pairs": r.multi_pairs,
                    },
                }
                for name, r in self.scorers.items()
            },
            "before_after_answer": None if self.cascade is None else self.cascade.to_json(),
        }

    def to_text(self) -> str:
        pair = f"{self.pair.local_model} (local) vs {self.pair.frontier_model} (frontier)"
        blocks = read_notes(self.input)
        blocks += [f"evaluated pair: {pair}", f"  chosen as {self.pair_reason}"]
        blocks += [format_metrics(r.metrics, name) for name, r in self.scorers.items()]
        for name, r in self.scorers.items():
            if r.multi_pairs:
                blocks.append(
                    f"{name}: mean over {r.multi_pairs} model pairs with a >= 5-point gap: "
                    f"APGR {r.multi_pair_apgr:.4f}, cost saved at 95% {r.multi_pair_cost_saved:.1%}"
                )
        if self.cascade is not None:
            blocks.append(self.cascade.to_text())
        return "\n".join(blocks)


def _none_if_nan(value: float) -> float | None:
    return None if math.isnan(value) else value


def score_rows(score: ScoreFn, rows: Sequence[OutcomeRow]) -> list[float]:
    """`score`'s scores of the rows' prompts; a task-aware scorer (the `score_batch` of an
    artefact `router adapt` learned per-task offsets for) also gets each row's task, as
    `router score` gives it."""
    prompts, tasks = [r.prompt for r in rows], [r.task or None for r in rows]
    owner = getattr(score, "__self__", None)  # the classifier, when `score` is its score_batch
    if takes_tasks(owner):
        return score_batch(owner, prompts, tasks=tasks)
    return list(score(prompts))


def evaluate_file(
    path: Path,
    scorers: Mapping[str, ScoreFn],
    *,
    local_model: str | None = None,
    frontier_model: str | None = None,
    plot: Path | None = None,
    after: AfterFn | None = None,
    strict: bool = False,
) -> EvalResult:
    """Score every prompt with each scorer and compute the metrics on the chosen pair: the
    models named, else the product's own pair when the file scores it, else the file's default.

    With `after` (a `(prompts, answers) -> scores` post-hoc scorer) and recorded answers of the
    local model in the file, also compare the first scorer (before the answer) with the cascade
    (after it) side by side; see `router.evaluation._cascade`. The file is read as every
    command reads one (`router.evaluation._read`): unusable rows are skipped and counted, or
    with `strict` refused, as are rows without a score for the pair.
    """
    read = read_pair(path, local_model, frontier_model, strict=strict)
    rows, pair = read.read.rows, read.pair
    position = {id(r): i for i, r in enumerate(rows)}
    results: dict[str, ScorerResult] = {}
    first: list[float] = []
    for name, score in scorers.items():
        all_scores = score_rows(score, rows)
        first = first or all_scores
        scores = [all_scores[position[id(r)]] for r in pair.rows]
        mean_apgr, mean_saved, n_pairs = multi_pair(rows, all_scores)
        results[name] = ScorerResult(
            pair_metrics(scores, pair),
            routing_curve(scores, pair.local, pair.frontier),
            mean_apgr,
            mean_saved,
            n_pairs,
        )
    if plot is not None:
        plot_curves({n: r.curve for n, r in results.items()}, pair, plot, path.name)
    cascade = evaluate_cascade(rows, pair, first, after) if after and first else None
    return EvalResult(path, pair, results, cascade, read.reason, read.read.to_json())
