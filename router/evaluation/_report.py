"""Evaluate one scorer on one outcome file: the numbers `router eval` prints."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from itertools import permutations
from statistics import fmean
from typing import Any

from router.evaluation._data import OutcomeRow, PairOutcomes
from router.evaluation._metrics import (
    apgr,
    cost_saved,
    cpt,
    random_cost_saved,
    routing_curve,
)

CPT_LEVELS = (0.2, 0.5, 0.8)
QUALITY_TARGET = 0.95
MIN_GAP = 0.05  # a pair whose frontier model is less than this better says little about routing


@dataclass(frozen=True, slots=True)
class PairMetrics:
    """RouteLLM-style metrics of one scorer on one (local, frontier) pair."""

    local_model: str
    frontier_model: str
    n: int
    skipped: int
    q_local: float
    q_frontier: float
    apgr: float
    cpt20: float
    cpt50: float
    cpt80: float
    frontier_share_at_95: float
    cost_saved_at_95: float
    random_cost_saved_at_95: float

    def to_json(self) -> dict[str, Any]:
        return {
            k: (None if isinstance(v, float) and math.isnan(v) else v)
            for k, v in asdict(self).items()
        }


def pair_metrics(scores: Sequence[float], pair: PairOutcomes) -> PairMetrics:
    """Metrics for `scores`, aligned with `pair.rows`."""
    curve = routing_curve(scores, pair.local, pair.frontier)
    c20, c50, c80 = (cpt(curve, level) for level in CPT_LEVELS)
    saved = cost_saved(curve, QUALITY_TARGET)
    return PairMetrics(
        local_model=pair.local_model,
        frontier_model=pair.frontier_model,
        n=len(pair.rows),
        skipped=pair.skipped,
        q_local=curve.q_local,
        q_frontier=curve.q_frontier,
        apgr=apgr(curve),
        cpt20=c20,
        cpt50=c50,
        cpt80=c80,
        frontier_share_at_95=1.0 - saved,
        cost_saved_at_95=saved,
        random_cost_saved_at_95=random_cost_saved(curve.q_local, curve.q_frontier, QUALITY_TARGET),
    )


def model_means(rows: Sequence[OutcomeRow]) -> dict[str, float]:
    models = sorted({m for r in rows for m in r.scores})
    return {m: fmean(r.scores[m] for r in rows if m in r.scores) for m in models}


def multi_pair(
    rows: Sequence[OutcomeRow],
    scores: Sequence[float] | Mapping[str, Sequence[float]],
    min_gap: float = MIN_GAP,
) -> tuple[float, float, int]:
    """Mean APGR and cost saved at 95% over every model pair whose frontier is `min_gap` better.

    A check on "other model pairs": one pair's 0/1 outcomes are noisy, the average is steadier.
    `scores` is one score per row, or (after the answer, when the score depends on the weak
    model's own answer) a mapping weak model -> one score per row; then only pairs whose weak
    model is in the mapping count. Returns `(mean_apgr, mean_cost_saved, n_pairs)`; NaNs when no
    pair qualifies.
    """
    means = model_means(rows)
    results: list[tuple[float, float]] = []
    for weak, strong in permutations(means, 2):
        if means[strong] - means[weak] < min_gap:
            continue
        if isinstance(scores, Mapping):
            if weak not in scores:
                continue
            weak_scores = scores[weak]
        else:
            weak_scores = scores
        idx = [i for i, r in enumerate(rows) if weak in r.scores and strong in r.scores]
        curve = routing_curve(
            [weak_scores[i] for i in idx],
            [rows[i].scores[weak] for i in idx],
            [rows[i].scores[strong] for i in idx],
        )
        results.append((apgr(curve), cost_saved(curve, QUALITY_TARGET)))
    if not results:
        return float("nan"), float("nan"), 0
    return fmean(a for a, _ in results), fmean(c for _, c in results), len(results)


def format_metrics(m: PairMetrics, title: str) -> str:
    """A short human-readable block for one scorer."""
    return "\n".join(
        (
            f"{title}: {m.n} prompts ({m.skipped} skipped: no score for the pair)",
            f"  local    {m.local_model:<40} quality {m.q_local:.4f}",
            f"  frontier {m.frontier_model:<40} quality {m.q_frontier:.4f}",
            f"  APGR {_fmt(m.apgr)}   CPT(20%) {m.cpt20:.1%}   CPT(50%) {m.cpt50:.1%}"
            f"   CPT(80%) {m.cpt80:.1%}",
            f"  at 95% of frontier quality: frontier share {m.frontier_share_at_95:.1%}, "
            f"cost saved {m.cost_saved_at_95:.1%} "
            f"(random routing: {m.random_cost_saved_at_95:.1%})",
            *_small_gap_note(m),
        )
    )


def _small_gap_note(m: PairMetrics) -> tuple[str, ...]:
    """Say so when the pair cannot measure routing: APGR divides by the quality gap, and a local
    model close to the frontier one may meet the 95% target with no frontier call at all."""
    if math.isnan(m.q_frontier) or m.q_frontier - m.q_local >= MIN_GAP:
        return ()
    return (
        f"  note: the frontier model is not {MIN_GAP * 100:.0f} points better than the local model "
        f"here ({m.q_frontier:.4f} vs {m.q_local:.4f}),",
        "  so these figures say little about routing: read the multi-pair mean, or choose a pair "
        "with --local-model / --frontier-model",
    )


def _fmt(value: float) -> str:
    return "n/a (no quality gap)" if math.isnan(value) else f"{value:.4f}"
