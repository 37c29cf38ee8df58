"""The privacy step of validation: what the policy says to do with personal data and secrets.

Every string of the outgoing request is scanned: message contents, tool-call arguments, tool
definitions and stop sequences (which can be redacted), and each other field that is sent to a
model as is (`response_format`; passed in `other_fields`), keys and values alike. A finding the
policy would redact in such a field keeps the request local instead.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from router._surface import outgoing_texts, rebuild_outgoing
from router.backends._base import Message
from router.errors import SensitiveDataError
from router.policy import Policy


@dataclass(frozen=True, slots=True)
class PrivacyOutcome:
    sensitive: bool
    classes: tuple[str, ...] = ()
    frontier_messages: tuple[Message, ...] | None = None
    redactions: Mapping[str, str] | None = None
    frontier_tools: tuple[Mapping[str, Any], ...] | None = None
    frontier_stop: tuple[str, ...] | None = None


def check_privacy(
    policy: Policy,
    messages: tuple[Message, ...],
    *,
    sensitive: bool,
    tools: Sequence[Mapping[str, Any]] = (),
    stop: Sequence[str] = (),
    other_fields: Mapping[str, Any] | None = None,
) -> PrivacyOutcome:
    """Refuse, keep local, or redact for the frontier, as the policy's `privacy.pii` says.

    `other_fields` are the request's other outgoing fields (JSON-like values, validated).
    Only class names leave this function in errors; never the values found.
    """
    local_only = sensitive or policy.privacy.local_only
    if not policy.privacy.detect_pii:
        return PrivacyOutcome(local_only)
    from router.privacy import classify_request  # noqa: PLC0415 - regexes compile on first use

    texts = outgoing_texts(messages, tools, stop)
    others = "\n".join(strings_in(other_fields or {}))
    scanned = [*texts, others] if others else texts  # an empty text holds nothing to find
    decision = classify_request(policy, scanned)
    if decision.action == "redact" and others and decision.findings[-1]:
        local_only = True  # found outside what can be redacted: it stays local
    if decision.action == "refuse":
        raise SensitiveDataError(
            f"the request contains data the policy refuses ({', '.join(decision.classes)}); "
            "remove it and retry, or change privacy.pii in the policy"
        )
    if local_only or decision.action == "keep_local":
        return PrivacyOutcome(True, decision.classes)
    if decision.action != "redact":
        return PrivacyOutcome(False, decision.classes)
    redacted, mapping = decision.redact(scanned)
    rebuilt = rebuild_outgoing(messages, tools, stop, redacted[: len(texts)])
    if rebuilt is None:  # a redaction broke the tool definitions' JSON: keep it on the machine
        return PrivacyOutcome(True, decision.classes)
    frontier_messages, frontier_tools, frontier_stop = rebuilt
    return PrivacyOutcome(
        False, decision.classes, frontier_messages, mapping, frontier_tools, frontier_stop
    )


def strings_in(value: Any) -> Iterator[str]:
    """Every string in a JSON-like value, keys included (walked with a stack)."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            yield node
        elif isinstance(node, Mapping):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list | tuple):
            stack.extend(node)
