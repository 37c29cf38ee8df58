"""Steps 2 and 3 of the pipeline: score the request's difficulty, then decide a tier.

The classifier only scores (0 = the local model will do, 1 = it will not); the policy decides.
Budget pacing raises the threshold as a budget burns; an exhausted budget keeps the request local.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from router._completion import Decision
from router._records import Tier
from router._request import RoutedRequest
from router._scoring import Classifier, score_and_features
from router.budget._pacing import NO_PACING, Pacing, raise_threshold
from router.policy import Policy

if TYPE_CHECKING:
    from router.classifier._features import PromptFeatures


def decide(
    request: RoutedRequest,
    policy: Policy,
    classifier: Classifier | None,
    pacing: Pacing = NO_PACING,
) -> Decision:
    """Where the request goes first, and why."""
    return decide_with_features(request, policy, classifier, pacing)[0]


def decide_with_features(
    request: RoutedRequest,
    policy: Policy,
    classifier: Classifier | None,
    pacing: Pacing = NO_PACING,
) -> tuple[Decision, PromptFeatures | None]:
    """`decide`, and the prompt features the classifier scored, if it handed them over (for
    the learning loop, so that it does not extract them again)."""
    if request.sensitive:
        reason = "sensitive: never leaves the machine"
        return Decision("local", "sensitive", None, None, reason), None
    decision, features = _scored(request, policy, classifier, pacing)
    return _paced(decision, pacing), features


def _paced(decision: Decision, pacing: Pacing) -> Decision:
    if not pacing.active:
        return decision
    reason = f"{decision.reason}; {pacing.reason}"
    if pacing.exhausted and decision.tier == "frontier":
        return Decision("local", "budget", decision.score, decision.threshold, reason)
    return Decision(decision.tier, decision.rule, decision.score, decision.threshold, reason)


def _scored(
    request: RoutedRequest, policy: Policy, classifier: Classifier | None, pacing: Pacing
) -> tuple[Decision, PromptFeatures | None]:
    routing = policy.routing
    progress = 0.0 if pacing.exhausted else pacing.progress  # exhausted: scored as usual
    if routing.rule == "token-count" or classifier is None:
        limit = raise_threshold(float(routing.token_count_threshold), progress, token_count=True)
        tier: Tier = "frontier" if request.prompt_tokens >= limit else "local"
        reason = f"prompt of {request.prompt_tokens} tokens vs limit {limit:.0f}"
        return Decision(tier, "token-count", float(request.prompt_tokens), limit, reason), None
    score, features = score_and_features(classifier, request.scoring_text, request.tags.get("task"))
    threshold = raise_threshold(routing.threshold, progress)
    chosen: Tier = "frontier" if score >= threshold else "local"
    sign = ">=" if chosen == "frontier" else "<"
    reason = f"difficulty {score:.3f} {sign} threshold {threshold:.3f}"
    return Decision(chosen, "classifier", score, threshold, reason), features
