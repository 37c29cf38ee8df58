"""Pacing: how far the burn of a request's windows raises its escalation threshold.

Below `pace_from` of every cap, nothing changes (`progress` 0). From there to the cap, `progress`
rises linearly to 1 on the window that is furthest along. At or past a cap the budget is
exhausted: the request stays local. `raise_threshold` turns progress into a threshold.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from router.budget._windows import Window


@dataclass(frozen=True, slots=True)
class Pacing:
    """How one request's budgets stand: `progress` in [0, 1], `exhausted` at a cap."""

    progress: float = 0.0
    exhausted: bool = False
    reason: str = ""

    @property
    def active(self) -> bool:
        return self.progress > 0.0 or self.exhausted


NO_PACING = Pacing()


def pacing(windows: Sequence[Window], burned: Sequence[Decimal], pace_from: float) -> Pacing:
    """The pacing for `windows`, given what each has burned (spent plus reserved)."""
    worst: tuple[float, Window] | None = None
    for window, used in zip(windows, burned, strict=True):
        fraction = float(used / window.cap_usd)
        if worst is None or fraction > worst[0]:
            worst = (fraction, window)
    if worst is None:
        return NO_PACING
    fraction, window = worst
    if fraction >= 1.0:
        until = f"{window.ends_at:%Y-%m-%dT%H:%MZ}"
        reason = f"budget exhausted: {window.describe()} reached; local only until {until}"
        return Pacing(1.0, True, reason)
    if fraction <= pace_from:
        return NO_PACING
    progress = (fraction - pace_from) / (1.0 - pace_from)
    return Pacing(progress, False, f"budget pacing: {window.describe()} {fraction:.0%} spent")


def raise_threshold(threshold: float, progress: float, *, token_count: bool = False) -> float:
    """The threshold under pacing: a score threshold moves towards 1, a token-count limit grows
    without bound as progress reaches 1."""
    if progress <= 0.0:
        return threshold
    if token_count:
        return math.inf if progress >= 1.0 else threshold / (1.0 - progress)
    return threshold + (1.0 - threshold) * min(progress, 1.0)
