"""`classify_request`: what the policy says to do with a request, given what is in it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from router.privacy._redact import Redactions, redact_all
from router.privacy._scan import scan
from router.privacy._types import ACTION_ORDER, Finding, PiiAction, PiiClass

if TYPE_CHECKING:
    from router.policy import Policy


@dataclass(frozen=True)
class PrivacyDecision:
    """The strongest action any finding calls for, and which classes were found.

    Holds spans and masked previews only, never the values, so it is safe to log or record.
    `findings[i]` are the findings in `texts[i]` as passed to `classify_request`.
    """

    action: PiiAction
    classes: tuple[PiiClass, ...] = ()
    counts: Mapping[PiiClass, int] = field(default_factory=dict)
    actions: Mapping[PiiClass, PiiAction] = field(default_factory=dict)
    findings: tuple[tuple[Finding, ...], ...] = ()

    @property
    def reason(self) -> str:
        """E.g. `payment_card x1: keep_local; email x2: redact` (no values)."""
        if not self.classes:
            return "no personal data or secrets found"
        return "; ".join(f"{c} x{self.counts[c]}: {self.actions[c]}" for c in self.classes)

    def redact(self, texts: Sequence[str]) -> tuple[list[str], Redactions]:
        """The texts with every finding whose action is `redact` replaced by a placeholder."""
        chosen = [
            [f for f in found if self.actions.get(f.kind) == "redact"] for found in self.findings
        ]
        return redact_all(texts, chosen)


def classify_request(policy: Policy, texts: Iterable[str]) -> PrivacyDecision:
    """Scan the request's texts and pick the strongest action the policy's `privacy.pii` sets.

    Strength: refuse > keep_local > redact > allow. With `privacy.detect_pii: false` nothing is
    scanned and the action is `allow` (a `local_only` policy keeps requests local regardless).
    """
    texts = list(texts)
    if not policy.privacy.detect_pii:
        return PrivacyDecision("allow", findings=tuple(() for _ in texts))
    findings = tuple(tuple(scan(text)) for text in texts)
    if not any(findings):  # the common case: nothing to weigh
        return PrivacyDecision("allow", findings=findings)
    counts = Counter(f.kind for found in findings for f in found)
    classes = tuple(sorted(counts, key=lambda c: (-_strength(policy.privacy.pii.action_for(c)), c)))
    actions = {c: policy.privacy.pii.action_for(c) for c in classes}
    strongest: PiiAction = max(actions.values(), key=_strength, default="allow")
    return PrivacyDecision(strongest, classes, dict(counts), actions, findings)


def _strength(action: PiiAction) -> int:
    return ACTION_ORDER.index(action)
