"""A sensitive request whose local answer fails verification never leaves the machine. The policy
chooses what the caller gets: the local answer marked failed (`privacy.on_failed_sensitive:
return`, the default) or `SensitiveDataError` (`raise`). Both ways nothing reaches a frontier."""

from __future__ import annotations

import pytest

from router.errors import PolicyError, SensitiveDataError
from router.policy import Privacy, parse_policy
from router.testing import AnthropicServer, OllamaServer, OpenAIServer, Reply
from tests.support import SHORT_PROMPT, loopback_policy, make_router


@pytest.fixture
def servers():
    with OllamaServer() as o, OpenAIServer() as oa, AnthropicServer() as an:
        yield o, oa, an


def _router(servers, on_failed):
    privacy = Privacy(on_failed_sensitive=on_failed)
    policy = loopback_policy(*servers, verify={"structural": {}}, privacy=privacy)
    return make_router(policy)


def test_by_default_the_failed_local_answer_is_returned_marked_failed(servers):
    ollama, openai, anthropic = servers
    ollama.script(Reply(text=""))
    router, ledger, _ = make_router(loopback_policy(*servers, verify={"structural": {}}))
    res = router.complete(SHORT_PROMPT, sensitive=True)
    router.close()
    assert (res.tier, res.text, res.escalation_reason) == ("local", "", None)
    assert res.verification is not None and res.verification.status == "failed"
    assert "not_empty: empty answer" in res.verification.reasons
    assert openai.requests == [] and anthropic.requests == []
    assert ledger.records[0].verification == "failed"


def test_raise_fails_closed_with_the_verifiers_reasons(servers):
    ollama, openai, anthropic = servers
    ollama.script(Reply(text=""))
    router, ledger, _ = _router(servers, "raise")
    with pytest.raises(SensitiveDataError) as caught:
        router.complete(SHORT_PROMPT, sensitive=True)
    router.close()
    message = str(caught.value)
    assert "failed verification (not_empty: empty answer)" in message
    assert "privacy.on_failed_sensitive" in message  # how to choose the other behaviour
    assert caught.value.verification is not None
    assert caught.value.verification.status == "failed"
    assert openai.requests == [] and anthropic.requests == []
    (record,) = ledger.records
    assert (record.status, record.error_class) == ("error", "SensitiveDataError")
    assert record.verification == "failed"


def test_raise_fails_a_stream_closed_before_any_text(servers):
    ollama, openai, _ = servers
    ollama.script(Reply(text=""))
    router, _, _ = _router(servers, "raise")
    texts = []
    with pytest.raises(SensitiveDataError):
        for chunk in router.stream(SHORT_PROMPT, sensitive=True):
            texts.append(chunk.text)
    router.close()
    assert texts == [] and openai.requests == []


def test_raise_leaves_a_passing_sensitive_answer_and_other_requests_alone(servers):
    ollama, openai, _ = servers
    ollama.script(Reply(text="Paris."), Reply(text=""))
    openai.script(Reply(text="From GPT"))
    router, _, _ = _router(servers, "raise")
    assert router.complete(SHORT_PROMPT, sensitive=True).text == "Paris."
    escalated = router.complete(SHORT_PROMPT)  # not sensitive: escalates as before
    router.close()
    assert (escalated.text, escalated.escalation_reason) == ("From GPT", "verification-failed")


def test_the_flag_only_takes_return_or_raise():
    with pytest.raises(PolicyError, match="on_failed_sensitive"):
        parse_policy("privacy: {on_failed_sensitive: escalate}")
