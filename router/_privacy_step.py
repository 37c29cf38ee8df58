"""The privacy step of validation: what the policy says to do with personal data and secrets."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from router.errors import SensitiveDataError
from router.policy import Policy


@dataclass(frozen=True, slots=True)
class PrivacyOutcome:
    sensitive: bool
    classes: tuple[str, ...] = ()
    frontier_messages: tuple[Mapping[str, str], ...] | None = None
    redactions: Mapping[str, str] | None = None


def check_privacy(
    policy: Policy, messages: tuple[Mapping[str, str], ...], *, sensitive: bool
) -> PrivacyOutcome:
    """Refuse, keep local, or redact for the frontier, as the policy's `privacy.pii` says.

    Only class names leave this function in errors; never the values found.
    """
    local_only = sensitive or policy.privacy.local_only
    if not policy.privacy.detect_pii:
        return PrivacyOutcome(local_only)
    from router.privacy import classify_request  # noqa: PLC0415 - regexes compile on first use

    decision = classify_request(policy, [m["content"] for m in messages])
    if decision.action == "refuse":
        raise SensitiveDataError(
            f"the request contains data the policy refuses ({', '.join(decision.classes)}); "
            "remove it and retry, or change privacy.pii in the policy"
        )
    if local_only or decision.action == "keep_local":
        return PrivacyOutcome(True, decision.classes)
    if decision.action != "redact":
        return PrivacyOutcome(False, decision.classes)
    texts, mapping = decision.redact([m["content"] for m in messages])
    redacted = tuple(
        {"role": m["role"], "content": text} for m, text in zip(messages, texts, strict=True)
    )
    return PrivacyOutcome(False, decision.classes, redacted, mapping)
