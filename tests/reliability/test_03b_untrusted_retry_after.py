"""Row 3, continued: `Retry-After` is untrusted input, and honoured for every provider.

A header value from upstream may be anything: not a number, a malformed date, negative, huge. It
never crashes a request (the fallback model is still tried and the ledger row written). Anthropic's
hint is honoured as OpenAI's is. A hint longer than `retries.retry_after_cap_s` (or than what is
left of the deadline) is not waited out: the next model is tried at once.
"""

from __future__ import annotations

import email.utils
import math
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from router.testing import Reply
from tests.reliability._figures import record
from tests.reliability._loopback import Servers, policy_for
from tests.support import LONG_PROMPT, make_router

HOSTILE = (
    "soon",
    "Mon, 99 Foo 2026 99:99:99 GMT",
    "Tue, 31 Feb 2026 10:00:00 GMT",
    "-5",
    "1e309",
    "nan",
    "inf",
    "99999999999999999999999999",
    "",
    "2, 3",
    "\u0662",  # an Arabic-Indic digit: str.isdigit() says yes, it is no delta-seconds
    "Sun, 06 Nov 1994 08:49:37 GMT",  # long past
)


def test_hostile_retry_after_values_never_crash_a_request(servers: Servers) -> None:
    _, openai, _ = servers
    for value in HOSTILE:
        openai.script(*[Reply(status=429, headers={"Retry-After": value})] * 3)
    router, ledger, clock = make_router(policy_for(servers, retries={"retry_after_cap_s": 5}))
    answers = [router.complete(LONG_PROMPT) for _ in HOSTILE]
    router.close()
    answered = sum(a.model == "anthropic/claude-opus-4-6" for a in answers)
    ok = answered == len(HOSTILE) == len(ledger.records)
    record(
        3,
        "hostile Retry-After values",
        f"{answered}/{len(HOSTILE)} answered by the fallback, {len(ledger.records)} ledger rows",
        f"{len(HOSTILE)}/{len(HOSTILE)}, no crash",
        ok,
    )
    assert ok
    assert max(clock.sleeps) <= 5


@pytest.mark.parametrize("header", ["2", "http-date"])
def test_anthropic_retry_after_is_honoured(servers: Servers, header: str) -> None:
    _, _, anthropic = servers
    value = "2" if header == "2" else email.utils.formatdate(time.time() + 2.4, usegmt=True)
    anthropic.script(Reply(status=429, headers={"Retry-After": value}), Reply(text="later"))
    policy = policy_for(servers, retries={"retry_after_cap_s": 5})
    models = tuple(reversed(policy.frontier.models))  # Anthropic first
    frontier = policy.frontier.model_copy(update={"models": models})
    policy = policy.model_copy(update={"frontier": frontier})
    router, _, clock = make_router(policy)
    answer = router.complete(LONG_PROMPT)
    router.close()
    assert answer.text == "later" and answer.model == "anthropic/claude-opus-4-6"
    assert len(clock.sleeps) == 1 and 1.0 <= clock.sleeps[0] <= 3.0
    record(3, f"Anthropic Retry-After ({header})", f"waited {clock.sleeps[0]:.2f} s", "~2 s", True)


@pytest.mark.parametrize("value", ["120", "http-date"])
def test_a_hint_beyond_the_cap_fails_over_at_once(servers: Servers, value: str) -> None:
    _, openai, _ = servers
    if value == "http-date":
        value = email.utils.formatdate(time.time() + 120, usegmt=True)
    openai.script(*[Reply(status=429, headers={"Retry-After": value})] * 3)
    router, ledger, clock = make_router(
        policy_for(servers, retries={"retry_after_cap_s": 10, "deadline_s": 30})
    )
    answer = router.complete(LONG_PROMPT)
    router.close()
    calls = len(openai.requests)
    ok = calls == 1 and clock.sleeps == [] and answer.model == "anthropic/claude-opus-4-6"
    record(
        3,
        "Retry-After 120 s, cap 10 s, deadline 30 s",
        f"{calls} call(s) to the rate-limited model, waited {sum(clock.sleeps):g} s, then the "
        "next model",
        "1 call, no wait, next model",
        ok,
    )
    assert ok
    assert [a.error_class for a in ledger.records[0].attempts][:1] == ["RateLimitError"]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40) | st.from_regex(r"-?[0-9]{1,30}(\.[0-9]{0,5})?", fullmatch=True))
def test_any_header_text_parses_to_none_or_a_finite_wait(value: str) -> None:
    from router.backends._headers import retry_after_seconds  # noqa: PLC0415

    for name in ("retry-after", "retry-after-ms"):
        seconds = retry_after_seconds({name: value})
        assert seconds is None or (math.isfinite(seconds) and seconds >= 0)


def test_delta_seconds_and_dates_parse() -> None:
    from router.backends._headers import retry_after_seconds  # noqa: PLC0415

    now = 1_800_000_000.0
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert retry_after_seconds({"retry-after": "7"}, now=now) == 7.0
    assert retry_after_seconds({"Retry-After": " 7 "}, now=now) == 7.0
    assert retry_after_seconds({"retry-after": date}, now=now) == pytest.approx(30.0)
    assert retry_after_seconds({"retry-after-ms": "1500"}, now=now) == 1.5
    assert retry_after_seconds({"retry-after": "Sun, 06 Nov 1994 08:49:37 GMT"}, now=now) == 0.0
    for bad in ("soon", "-5", "1e309", "nan", "2, 3", "\u0662", "Tue, 31 Feb 2026 10:00:00 GMT"):
        assert retry_after_seconds({"retry-after": bad}, now=now) is None, bad
