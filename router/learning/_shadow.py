"""Which requests the learning loop may keep, and which it may shadow.

Kept (hashed features, so later feedback or a label can train on it): every answered request
the learning loop sees, except sensitive ones. `RoutedRequest.sensitive` is set for requests the
caller flagged, for every request of a `privacy.local_only` policy and for requests whose
privacy rules say `keep_local`; none of them is ever stored for learning or shadowed.

Shadowed (also sent to the frontier model after the caller has its answer): a sampled share
(`learning.shadow_rate`) of the kept requests the local model answered, except requests that
were redacted for the frontier. Shadowed locally (also answered by the local model): a sampled
share (`learning.local_shadow_rate`) of the kept requests a frontier model answered; nothing
leaves the machine for those, so redaction does not matter (a redacted one is judged by the
free judges only). Their local answer was written from the unredacted prompt and
may repeat the redacted values, so comparing it with a frontier answer (or showing it to a
frontier judge) would either compare unlike things or send those values out.
"""

from __future__ import annotations

import hashlib

from router._request import RoutedRequest

SHADOW_WEIGHT_POWER = 0.5
"""Shadow labels count `(1 / rate) ** 0.5` against an escalation's 1 (`shadow_weight`)."""


def shadow_weight(rate: float) -> float:
    """How much a shadow label counts in training, against an escalation label's 1.

    Escalations reach the store whenever verification fails; a shadow only for the sampled
    `rate` of the answers that passed. Unweighted, the labels are mostly local failures among
    the prompts the router keeps local, and the model learns that those gain: on the 2% shadow
    simulation mmlu-pro's curve fell below its cold start. Weighted by the full `1 / rate`
    (unbiased), a few shadows decide everything and the curve is noise (llmrouter-train 0.600
    against 0.691 unweighted). The square root, a tempered importance weight, kept what each
    gets right: docs/learning-model.md, "How much a shadow label counts"."""
    return float((1.0 / rate) ** SHADOW_WEIGHT_POWER)


def sampled(request_id: str, rate: float, purpose: str = "shadow") -> bool:
    """Whether a request falls in the share sampled for `purpose` (a shadow comparison, a
    verified label): a hash of its id and the purpose, so the choice is the same in every
    process and on every replay, and independent of everything else (other purposes too)."""
    if rate <= 0.0:
        return False
    if rate >= 1.0:
        return True
    digest = hashlib.sha256(f"{purpose}:{request_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64 < rate


def keep_refusal(request: RoutedRequest) -> str | None:
    """Why the request may not be stored for learning at all; None when it may."""
    if not request.policy.learning.enabled:
        return "learning is off"
    if request.sensitive:
        return "sensitive"
    return None


def shadow_refusal(request: RoutedRequest) -> str | None:
    """Why the (local-answered) request may not be shadowed; None when it may."""
    refusal = keep_refusal(request)
    if refusal is not None:
        return refusal
    if request.redactions:
        return "redacted for the frontier"
    if not sampled(request.request_id, request.policy.learning.shadow_rate):
        return "not sampled"
    return None


def local_shadow_refusal(request: RoutedRequest) -> str | None:
    """Why the (frontier-answered) request may not be answered by the local model as well."""
    refusal = keep_refusal(request)
    if refusal is not None:
        return refusal
    if not sampled(request.request_id, request.policy.learning.local_shadow_rate):
        return "not sampled"
    return None
