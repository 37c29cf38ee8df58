"""Set the routing threshold from the learning store (`router calibrate --from-labels`).

With a target frontier share, the threshold is the score above which that share of the stored
recent traffic falls, scored from its stored features by the artefact in use (or the one
given). With a target quality, it is the lowest share whose frontier-bound labels capture that
fraction of the labels' total gain. Either way the store's own traffic decides, not a file.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from router.errors import ConfigError
from router.learning._examples import FEATURES_VERSION
from router.learning._model import LearnedClassifier
from router.learning._promote import labelled_examples
from router.learning._store import LearningStore


@dataclass(frozen=True, slots=True)
class StoreCalibration:
    """Escalate when `score >= threshold`: `share` of the traffic scored, `captured` of the
    labelled gain (None without labels)."""

    threshold: float
    share: float
    captured: float | None
    requests: int
    labels: int

    def fragment(self, version: str | None) -> str:
        gain = "" if self.captured is None else f" and {self.captured:.1%} of the labelled gain"
        return (
            "routing:\n"
            f"  threshold: {self.threshold}  # gives {self.share:.1%} frontier{gain} on the "
            f"{self.requests} stored requests (artefact {version or 'shipped prior'})\n"
        )


def threshold_for_share(scores: Sequence[float], share: float) -> float:
    """The threshold sending at most `share` of `scores` to the frontier (`score >= threshold`
    escalates; equal scores move together, so a tie at the cut stays local)."""
    ordered = sorted(scores, reverse=True)
    count = math.floor(share * len(ordered) + 1e-9)
    if not ordered or count <= 0:
        return min(1.0, (ordered[0] if ordered else 1.0) + 1e-9)
    cut = ordered[count - 1]
    if count < len(ordered) and ordered[count] == cut:
        return min(1.0, cut + 1e-9)
    return cut


def calibrate_from_store(
    store: LearningStore,
    model: LearnedClassifier,
    *,
    target_share: float | None = None,
    target_quality: float | None = None,
) -> StoreCalibration:
    """Pick the threshold on the store's traffic (module docstring)."""
    if (target_share is None) == (target_quality is None):
        raise ConfigError("give exactly one of a target frontier share and a target quality")
    traffic = store.traffic(FEATURES_VERSION)
    if not traffic:
        raise ConfigError("the learning store has no requests yet; route some traffic first")
    scores = [model.score_features(f, task=task) for f, task in traffic]
    examples, _ = labelled_examples(store.examples())
    labelled = [
        (model.score_features(e.features, task=e.task), e.gain * e.weight) for e in examples
    ]
    if target_share is not None:
        threshold = threshold_for_share(scores, target_share)
    else:
        threshold = _threshold_for_gain(labelled, target_quality)
    reached = sum(s >= threshold for s in scores) / len(scores)
    return StoreCalibration(
        threshold, reached, _captured(labelled, threshold), len(scores), len(labelled)
    )


def _captured(labelled: Sequence[tuple[float, float]], threshold: float) -> float | None:
    total = sum(g for _, g in labelled)
    if not labelled or total <= 0:
        return None
    return sum(g for s, g in labelled if s >= threshold) / total


def _threshold_for_gain(labelled: Sequence[tuple[float, float]], target: float | None) -> float:
    """The highest threshold whose escalated labels capture `target` of the total gain (a tie
    at the cut escalates together)."""
    total = sum(g for _, g in labelled)
    if not labelled or total <= 0 or target is None:
        raise ConfigError("a target quality needs labels with a positive total gain")
    running = 0.0
    for score, gain in sorted(labelled, key=lambda p: -p[0]):
        running += gain
        if running >= target * total - 1e-12:
            return score
    return min(score for score, _ in labelled)
