"""Names shared by the privacy detectors and the policy models (no imports of either)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

PiiClass = Literal["email", "phone", "ip_address", "payment_card", "ssn", "iban", "secret"]
PiiAction = Literal["allow", "redact", "keep_local", "refuse"]

PII_CLASSES: tuple[PiiClass, ...] = (
    "email",
    "phone",
    "ip_address",
    "payment_card",
    "ssn",
    "iban",
    "secret",
)
# Strongest last: a request takes the strongest action of any class found in it.
ACTION_ORDER: tuple[PiiAction, ...] = ("allow", "redact", "keep_local", "refuse")


@dataclass(frozen=True, slots=True)
class Finding:
    """One piece of personal data or a secret: where it is, never what it is.

    `start`/`end` index the scanned text; `preview` is masked (a few characters at most) so a
    finding can be logged or printed safely. `label` names the detector (e.g. `aws_key`).
    """

    kind: PiiClass
    start: int
    end: int
    label: str
    preview: str

    @property
    def span(self) -> tuple[int, int]:
        return (self.start, self.end)
