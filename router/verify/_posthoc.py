"""Post-hoc scoring: a classifier judges the prompt together with the answer it got."""

from __future__ import annotations

import asyncio
import math
from functools import partial
from typing import Protocol, runtime_checkable

from router.verify._compose import Check
from router.verify._context import VerifyContext
from router.verify._verdict import Verdict


@runtime_checkable
class Scorer(Protocol):
    """Scores in [0, 1]: higher means the local answer is likely NOT good enough.

    `router.classifier.load_classifier()` returns one; any object with this method will do.
    """

    def score(self, prompt: str, response: str | None = None) -> float: ...


def posthoc_score(scorer: Scorer, threshold: float = 0.5) -> Check:
    """Passes when `scorer.score(question, answer) < threshold`; confidence is `1 - score`.

    The scorer runs on a worker thread, so a slow one does not block the event loop.
    """
    if not isinstance(scorer, Scorer):
        raise TypeError(
            f"posthoc_score() needs an object with score(prompt, response), not {scorer!r}"
        )
    if not 0.0 <= threshold <= 1.0:
        raise ValueError("threshold must be in [0, 1]")
    return Check("posthoc_score", partial(_posthoc, scorer=scorer, threshold=threshold), prose=True)


async def _posthoc(ctx: VerifyContext, *, scorer: Scorer, threshold: float) -> Verdict:
    score = float(await asyncio.to_thread(scorer.score, ctx.question, ctx.answer.text))
    if not (math.isfinite(score) and 0.0 <= score <= 1.0):
        raise ValueError("the scorer returned a value outside [0, 1]")
    ok = score < threshold
    sign = "<" if ok else ">="
    return Verdict(ok, 1.0 - score, f"score {score:.3f} {sign} threshold {threshold:.3f}")
