"""Steps 2 and 3 of the pipeline: score the request's difficulty, then decide a tier.

The classifier only scores (0 = the local model will do, 1 = it will not); the policy decides.
"""

from __future__ import annotations

from router._completion import Decision
from router._records import Tier
from router._request import RoutedRequest
from router._scoring import Classifier
from router.policy import Policy


def decide(request: RoutedRequest, policy: Policy, classifier: Classifier | None) -> Decision:
    """Where the request goes first, and why."""
    routing = policy.routing
    if request.sensitive:
        return Decision("local", "sensitive", None, None, "sensitive: never leaves the machine")
    if routing.rule == "token-count" or classifier is None:
        limit = routing.token_count_threshold
        tier: Tier = "frontier" if request.prompt_tokens >= limit else "local"
        reason = f"prompt of {request.prompt_tokens} tokens vs limit {limit}"
        return Decision(tier, "token-count", float(request.prompt_tokens), float(limit), reason)
    score = classifier.score(request.scoring_text)
    chosen: Tier = "frontier" if score >= routing.threshold else "local"
    sign = ">=" if chosen == "frontier" else "<"
    reason = f"difficulty {score:.3f} {sign} threshold {routing.threshold:.3f}"
    return Decision(chosen, "classifier", score, routing.threshold, reason)
