"""The classifier seam: what the pipeline asks of a difficulty scorer.

A classifier scores; the policy decides. `score` returns the chance, in [0, 1], that the local
model's answer will not be good enough; with `response` (the local answer) it may use that too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable


@runtime_checkable
class Classifier(Protocol):
    """A difficulty scorer. Pass one to `Router(classifier=...)`."""

    def score(self, prompt: str, response: str | None = None) -> float: ...

    def score_batch(
        self, prompts: Sequence[str], responses: Sequence[str | None] | None = None
    ) -> list[float]: ...
