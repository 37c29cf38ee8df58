"""Sensitive data never reaches a frontier API, whatever the request path has to handle."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from router.errors import RouterError, SensitiveDataError
from router.policy import load_policy
from router.testing import AnthropicServer, OllamaServer, OpenAIServer, Reply
from tests.support import LONG_PROMPT, loopback_policy, make_router
from tests.test_privacy import card_numbers, obfuscated, valid_ssns

ZERO_WIDTH = "\u200b"


@pytest.fixture
def servers():
    with OllamaServer() as o, OpenAIServer() as oa, AnthropicServer() as an:
        yield o, oa, an


def _frontier_requests(servers):
    return len(servers[1].requests) + len(servers[2].requests)


secrets = st.sampled_from(
    [
        "sk-proj-" + "a1B2c3D4e5F6g7H8i9J0" * 2,
        "sk-ant-api03-" + "Zx9Yw8Vu7Ts6Rq5Po4" * 3,
        "AKIA" + "IOSFODNN7EXAMPLE",
        "ghp_" + "16C7e42F292c6912E7710c838347Ae178B4a",
    ]
).map(lambda key: ZERO_WIDTH.join([key[:6], key[6:]]))

ssns = valid_ssns().map(lambda d: f"{d[:3]}-{d[3:5]}-{d[5:]}")  # a bare 9-digit number is not one
sensitive_values = st.one_of(
    card_numbers().flatmap(lambda c: obfuscated(c, fullwidth=False)), ssns, secrets
)
faults = st.sampled_from(["none", "down", "500", "drop"])


@pytest.mark.slow  # hypothesis examples over loopback HTTP
@settings(max_examples=40, deadline=None)
@given(value=sensitive_values, fault=faults, stream=st.booleans())
def test_sensitive_values_never_reach_the_frontier(value, fault, stream):
    with OllamaServer() as ollama, OpenAIServer() as openai, AnthropicServer() as anthropic:
        url = "http://127.0.0.1:9" if fault == "down" else ollama.url
        if fault == "500":
            ollama.script(*[Reply(status=500)] * 3)
        elif fault == "drop":
            ollama.script(*[Reply(drop="mid_body")] * 3)
        router, _, _ = make_router(loopback_policy(url, openai, anthropic))
        prompt = f"{LONG_PROMPT} Customer data: {value}. Please help."
        try:
            if stream:
                list(router.stream(prompt))
            else:
                router.complete(prompt)
        except RouterError as exc:  # a typed failure is fine; a leak is not
            assert fault != "none"
            assert value not in str(exc)
        finally:
            router.close()
        assert len(openai.requests) == len(anthropic.requests) == 0


def test_a_long_prompt_with_a_card_number_stays_local(servers):
    router, ledger, _ = make_router(loopback_policy(*servers))
    res = router.complete(LONG_PROMPT + " Card 4111 1111 1111 1111 was charged twice.")
    router.close()
    assert res.tier == "local" and _frontier_requests(servers) == 0
    assert ledger.records[0].status == "ok"


def test_emails_are_redacted_for_the_frontier_and_restored_in_the_answer(servers):
    _, openai, _ = servers
    openai.script(Reply(text="I will write to [EMAIL_1] today."))
    router, _, _ = make_router(loopback_policy(*servers))
    res = router.complete(LONG_PROMPT + " Reply to jane.doe@example.com please.")
    router.close()
    sent = openai.requests[0].body["messages"][0]["content"]
    assert "jane.doe@example.com" not in sent and "[EMAIL_1]" in sent
    assert res.tier == "frontier" and res.text == "I will write to jane.doe@example.com today."


def test_streamed_frontier_answer_is_restored_too(servers):
    _, openai, _ = servers
    openai.script(Reply(text="Mail [EMAIL_1] now.", chunk_delay=0.001))
    router, _, _ = make_router(loopback_policy(*servers))
    chunks = list(router.stream(LONG_PROMPT + " Contact bob@example.org about it."))
    router.close()
    assert "".join(c.text for c in chunks) == "Mail bob@example.org now."


def test_privacy_strict_refuses_secrets_before_any_call(servers):
    policy = load_policy("privacy-strict").model_copy(
        update={"local": loopback_policy(*servers).local}
    )
    router, _, _ = make_router(policy)
    with pytest.raises(SensitiveDataError, match="secret"):
        router.complete("Here is my key sk-proj-abcdefghijklmnopqrstuvwxyz123456, is it valid?")
    router.close()
    assert all(len(s.requests) == 0 for s in servers)


def test_team_overrides_apply_per_request(servers):
    base = loopback_policy(*servers)
    policy = base.model_validate(
        {
            **base.model_dump(exclude={"teams"}),
            "teams": {"legal": {"privacy": {"local_only": True}, "frontier": {"models": []}}},
        }
    )
    router, _ledger, _ = make_router(policy)
    legal = router.complete(LONG_PROMPT, metadata={"team": "legal"})
    other = router.complete(LONG_PROMPT, metadata={"team": "support"})
    router.close()
    assert (legal.tier, other.tier) == ("local", "frontier")
    assert legal.decision.rule == "sensitive"


def test_task_rules_pick_the_frontier_model(servers):
    base = loopback_policy(*servers)
    data = base.model_dump()
    data["frontier"]["rules"] = [{"task": "code", "model": "anthropic/claude-opus-4-6"}]
    router, _, _ = make_router(base.model_validate(data))
    task = "Write a Python function that parses ISO dates. "
    code = router.complete(task + "def parse(s): ... " * 20)
    router.close()
    assert code.model == "anthropic/claude-opus-4-6"
