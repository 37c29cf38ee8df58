"""Steps 2 and 3 of the pipeline: score the request's difficulty, then decide a tier.

The classifier only scores (0 = the local model will do, 1 = it will not); the policy decides.
Budget pacing raises the threshold as a budget burns; an exhausted budget keeps the request local.
"""

from __future__ import annotations

from router._completion import Decision
from router._records import Tier
from router._request import RoutedRequest
from router._scoring import Classifier
from router.budget._pacing import NO_PACING, Pacing, raise_threshold
from router.policy import Policy


def decide(
    request: RoutedRequest,
    policy: Policy,
    classifier: Classifier | None,
    pacing: Pacing = NO_PACING,
) -> Decision:
    """Where the request goes first, and why."""
    if request.sensitive:
        return Decision("local", "sensitive", None, None, "sensitive: never leaves the machine")
    decision = _scored(request, policy, classifier, pacing)
    if not pacing.active:
        return decision
    reason = f"{decision.reason}; {pacing.reason}"
    if pacing.exhausted and decision.tier == "frontier":
        return Decision("local", "budget", decision.score, decision.threshold, reason)
    return Decision(decision.tier, decision.rule, decision.score, decision.threshold, reason)


def _scored(
    request: RoutedRequest, policy: Policy, classifier: Classifier | None, pacing: Pacing
) -> Decision:
    routing = policy.routing
    progress = 0.0 if pacing.exhausted else pacing.progress  # exhausted: scored as usual
    if routing.rule == "token-count" or classifier is None:
        limit = raise_threshold(float(routing.token_count_threshold), progress, token_count=True)
        tier: Tier = "frontier" if request.prompt_tokens >= limit else "local"
        reason = f"prompt of {request.prompt_tokens} tokens vs limit {limit:.0f}"
        return Decision(tier, "token-count", float(request.prompt_tokens), limit, reason)
    score = classifier.score(request.scoring_text)
    threshold = raise_threshold(routing.threshold, progress)
    chosen: Tier = "frontier" if score >= threshold else "local"
    sign = ">=" if chosen == "frontier" else "<"
    reason = f"difficulty {score:.3f} {sign} threshold {threshold:.3f}"
    return Decision(chosen, "classifier", score, threshold, reason)
