"""Routing metrics as RouteLLM's `evals/evaluate.py` defines them, computed on the exact curve.

A scorer gives each prompt a number (higher = send to the frontier model). Sweeping the threshold
from high to low moves whole groups of equally scored prompts to the frontier model at once, so
the curve has one vertex per distinct score. Between two vertices the curve is a straight line:
that is what splitting a tie group at random gives on average, so APGR (an area) uses the lines,
while CPT and cost saved (operating points a threshold can actually reach) use the vertices only.
A constant scorer therefore gets APGR 0.5 (the random line) and saves nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

_EPS = 1e-12

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class RoutingCurve:
    """Vertices of quality vs frontier share; `thresholds[i]` routes share `shares[i]`.

    `thresholds[i]` is the lowest score sent to the frontier model at vertex `i` (a prompt goes to
    the frontier model when `score >= threshold`); vertex 0 sends nothing (`+inf`).
    """

    shares: FloatArray
    quality: FloatArray
    thresholds: FloatArray
    q_local: float
    q_frontier: float

    @property
    def gap(self) -> float:
        return self.q_frontier - self.q_local


def _as_vector(values: ArrayLike, name: str) -> FloatArray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return array


def routing_curve(scores: ArrayLike, local: ArrayLike, frontier: ArrayLike) -> RoutingCurve:
    """Quality at every reachable frontier share, ties moving together.

    `local[i]` / `frontier[i]` are the quality each model achieved on prompt `i`.
    """
    s = _as_vector(scores, "scores")
    lo = _as_vector(local, "local")
    fr = _as_vector(frontier, "frontier")
    if not (len(s) == len(lo) == len(fr)) or len(s) == 0:
        raise ValueError("scores, local and frontier must be non-empty and of equal length")
    n = len(s)
    order = np.argsort(-s, kind="stable")
    sorted_scores = s[order]
    gain = (fr - lo)[order]
    ends = np.append(np.flatnonzero(np.diff(sorted_scores) != 0) + 1, n)
    cumulative = np.concatenate(([0.0], np.cumsum(gain)[ends - 1]))
    shares = np.concatenate(([0.0], ends / n))
    quality = (lo.sum() + cumulative) / n
    thresholds = np.concatenate(([np.inf], sorted_scores[ends - 1]))
    return RoutingCurve(shares, quality, thresholds, float(lo.mean()), float(fr.mean()))


def apgr(curve: RoutingCurve) -> float:
    """Average performance gap recovered: area under the normalised curve. NaN when no gap."""
    if abs(curve.gap) < _EPS:
        return float("nan")
    pgr = (curve.quality - curve.q_local) / curve.gap
    widths = np.diff(curve.shares)
    return float(np.sum(widths * (pgr[1:] + pgr[:-1]) / 2.0))


def cpt(curve: RoutingCurve, fraction: float) -> float:
    """Call-performance threshold: smallest frontier share recovering `fraction` of the gap.

    When the frontier model is not better (gap <= 0) the target is met with no frontier calls.
    """
    target = curve.q_local + fraction * curve.gap
    return _first_share_at_least(curve, target)


def share_for_quality(curve: RoutingCurve, fraction_of_frontier: float = 0.95) -> float:
    """Smallest frontier share whose quality reaches `fraction_of_frontier * q_frontier`."""
    return _first_share_at_least(curve, fraction_of_frontier * curve.q_frontier)


def cost_saved(curve: RoutingCurve, fraction_of_frontier: float = 0.95) -> float:
    """Share of frontier calls avoided at the cheapest point reaching the quality target."""
    return 1.0 - share_for_quality(curve, fraction_of_frontier)


def random_cost_saved(q_local: float, q_frontier: float, fraction: float = 0.95) -> float:
    """Expected cost saved by random routing (quality grows linearly with frontier share)."""
    target = fraction * q_frontier
    if q_local >= target - _EPS:
        return 1.0
    return 1.0 - (target - q_local) / (q_frontier - q_local)


def _first_index_at_least(curve: RoutingCurve, target: float) -> int:
    hits = np.flatnonzero(curve.quality >= target - _EPS)
    # The last vertex is the all-frontier point; if even it misses, route everything.
    return int(hits[0]) if len(hits) else len(curve.shares) - 1


def _first_share_at_least(curve: RoutingCurve, target: float) -> float:
    return float(curve.shares[_first_index_at_least(curve, target)])
