"""Background checks of content for verified labels (`learning.label_check`).

A policy whose own checks judge only an answer's form (the default's structural and valid_json)
makes no verified label: a form check passes nearly every answer, right or wrong. With
`learning.label_check` (for example `{self_check: {}}`), the sampled `verified_label_rate`
share of the local answers that passed the request's own checks is checked for content here,
after the caller has its answer. The local model's calls are recorded as learning attempts
(purpose "label_check"); a pass makes the verified label that a check on the request path
would have made. Nothing leaves the machine and nothing waits for it.
"""

from __future__ import annotations

from router.backends import ModelResponse
from router.learning._labels import Finished
from router.learning._shadow import sampled
from router.verify import (
    LocalCall,
    VerificationResult,
    VerifyContext,
    build_verifiers,
    checked_content,
    run_verifiers,
)

PURPOSE = "label_check"


def label_check_due(item: Finished, verification: VerificationResult | None) -> bool:
    """Whether `item`'s local answer should be checked in the background for a verified label:
    the policy names label checks, the request's own checks passed it by form only (or there
    were none), and it falls in the sampled share."""
    learning = item.request.policy.learning
    if not learning.label_check or item.tier != "local" or checked_content(verification):
        return False
    if verification is not None and not verification.passed:
        return False
    return sampled(item.request.request_id, learning.verified_label_rate, "verified")


async def content_passed(item: Finished, answer: ModelResponse, call_local: LocalCall) -> bool:
    """Run the policy's label checks on `answer`; True when a check of its content passed it.
    A check that cannot run (the local model is down, the deadline passes) passes nothing."""
    policy = item.request.policy
    config = {str(name): params for name, params in policy.learning.label_check.items()}
    deadline = policy.retries.deadline_s
    ctx = VerifyContext.from_request(
        item.request, answer, call_local=call_local, deadline_s=deadline
    )
    return checked_content(await run_verifiers(build_verifiers(config), ctx, budget_s=deadline))
