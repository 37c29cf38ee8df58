"""Pick a routing threshold on a labelled file and render the policy YAML fragment."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from router.evaluation._data import PairOutcomes
from router.evaluation._metrics import RoutingCurve, routing_curve


@dataclass(frozen=True, slots=True)
class Calibration:
    """Escalate when `score >= threshold`; `share` and `quality` are what that gives on the file."""

    threshold: float
    share: float
    quality: float
    q_frontier: float


def calibrate(
    scores: Sequence[float],
    pair: PairOutcomes,
    *,
    target_share: float | None = None,
    target_quality: float | None = None,
) -> Calibration:
    """Largest reachable share <= `target_share`, or the smallest reaching `target_quality`
    (a fraction of the frontier model's quality). Exactly one target must be given."""
    if (target_share is None) == (target_quality is None):
        raise ValueError("give exactly one of target_share and target_quality")
    curve = routing_curve(scores, pair.local, pair.frontier)
    if target_share is not None:
        index = int(np.flatnonzero(curve.shares <= target_share + 1e-12)[-1])
    else:
        goal = (target_quality or 0.0) * curve.q_frontier
        hits = [i for i, q in enumerate(curve.quality) if q >= goal - 1e-12]
        index = hits[0] if hits else len(curve.shares) - 1
    threshold = _display_threshold(curve, index, max(scores))
    return Calibration(
        threshold, float(curve.shares[index]), float(curve.quality[index]), curve.q_frontier
    )


def _display_threshold(curve: RoutingCurve, index: int, max_score: float) -> float:
    """A short decimal in (next lower score, lowest escalated score], so rounding moves nobody."""
    upper = float(curve.thresholds[index])
    if math.isinf(upper):  # nothing escalates: sit between the highest score and 1
        lower, upper = max_score, max(1.0, max_score + 1e-9)
        upper = (lower + upper) / 2
    else:
        nxt = index + 1
        lower = float(curve.thresholds[nxt]) if nxt < len(curve.thresholds) else -math.inf
    for decimals in range(4, 17):
        value = round(upper, decimals)
        if value > upper:
            value = math.floor(upper * 10**decimals) / 10**decimals
        if lower < value <= upper:
            return value
    return upper


def policy_fragment(cal: Calibration, file_name: str) -> str:
    """The YAML to paste into a policy's `routing:` section."""
    return (
        "routing:\n"
        f"  threshold: {cal.threshold}  # gives {cal.share:.1%} frontier and "
        f"{cal.quality / cal.q_frontier:.1%} of frontier quality on {file_name}\n"
    )
