"""Row 3: 429 with Retry-After, 500/503 and reset connections from the frontier.

Figure: upstream attempts per request, at most `retries.max_attempts` per model; the
`Retry-After` wait is the one taken (on the injected clock, so nothing really sleeps).
"""

from __future__ import annotations

from router.testing import Reply
from tests.reliability._figures import record
from tests.reliability._loopback import Servers, policy_for
from tests.support import LONG_PROMPT, make_router

MAX_ATTEMPTS = 3


def test_retry_after_is_honoured_and_attempts_stay_within_max_attempts(servers: Servers) -> None:
    _, openai, anthropic = servers
    openai.script(
        Reply(status=429, retry_after=2),  # request 1: 429, 500, then an answer
        Reply(status=500),
        Reply(text="one"),
        Reply(drop="before_headers"),  # request 2: two reset connections, then an answer
        Reply(drop="before_headers"),
        Reply(text="two"),
        *[Reply(status=503)] * MAX_ATTEMPTS,  # request 3: 503 every time: falls back
    )
    router, ledger, clock = make_router(
        policy_for(servers, retries={"max_attempts": MAX_ATTEMPTS, "retry_after_cap_s": 5})
    )
    answers = [router.complete(LONG_PROMPT) for _ in range(3)]
    router.close()

    assert [a.text for a in answers[:2]] == ["one", "two"]
    assert answers[2].model == "anthropic/claude-opus-4-6"
    assert clock.sleeps[0] == 2.0  # the server's Retry-After, not the policy's backoff
    assert len(openai.requests) == 3 * MAX_ATTEMPTS and len(anthropic.requests) == 1
    per_model = [
        max(
            sum(1 for a in r.attempts if a.model == m)
            for m in ("gpt-5.4", "anthropic/claude-opus-4-6")
        )
        for r in ledger.records
    ]
    upstream = len(openai.requests) + len(anthropic.requests)
    ok = max(per_model) <= MAX_ATTEMPTS
    record(
        3,
        "upstream attempts per request",
        f"{upstream / 3:.2f} (max {max(per_model)} per model)",
        f"<= {MAX_ATTEMPTS} per model",
        ok,
    )
    record(
        3, "Retry-After honoured", f"waited {clock.sleeps[0]:g} s for Retry-After: 2", "2 s", True
    )
    assert ok


def test_retry_after_above_the_cap_moves_to_the_next_model(servers: Servers) -> None:
    _, openai, anthropic = servers
    openai.script(Reply(status=429, retry_after=120), Reply(text="ok"))
    router, _, clock = make_router(policy_for(servers, retries={"retry_after_cap_s": 1.5}))
    assert router.complete(LONG_PROMPT).model == "anthropic/claude-opus-4-6"
    router.close()
    assert clock.sleeps == [] and len(openai.requests) == 1 and len(anthropic.requests) == 1
