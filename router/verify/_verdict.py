"""What a verifier says about one answer: a `Verdict`, and why a verifier could not say anything."""

from __future__ import annotations

import math
from dataclasses import dataclass

from router.errors import VerificationError


@dataclass(frozen=True, slots=True)
class Verdict:
    """One verifier's judgement of one answer. Holds no prompt or answer text.

    `confidence` is the verifier's estimate, in [0, 1], that the answer is good enough: 1.0 for a
    clean structural pass, 0.0 for a clear failure, a probability for model-based checks.
    `verifier` and `latency_ms` are filled in by the verifier that produced it, so a plain
    callable may return `Verdict(passed=..., confidence=..., reason=...)`.
    """

    passed: bool
    confidence: float
    reason: str
    verifier: str = ""
    latency_ms: float = 0.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.confidence) and 0.0 <= self.confidence <= 1.0):
            raise ValueError(f"Verdict.confidence must be in [0, 1], not {self.confidence!r}")


def passed(reason: str = "ok", confidence: float = 1.0) -> Verdict:
    """A passing verdict (the verifier's name and timing are added by the verifier)."""
    return Verdict(passed=True, confidence=confidence, reason=reason)


def failed(reason: str, confidence: float = 0.0) -> Verdict:
    """A failing verdict (the verifier's name and timing are added by the verifier)."""
    return Verdict(passed=False, confidence=confidence, reason=reason)


class VerifierError(VerificationError):
    """A verifier failed to run: it raised, or its model call failed or made no sense.

    This is not "the answer failed verification": whether the answer stands is the policy's call
    (fail open or fail closed). `cause` is an exception class name or a short phrase, never
    content.
    """

    def __init__(self, verifier: str, cause: str) -> None:
        super().__init__(
            f"verifier {verifier!r} failed to run ({cause}); the policy decides whether the "
            "answer stands (fail open) or is escalated (fail closed)"
        )
        self.verifier = verifier
        self.cause = cause
