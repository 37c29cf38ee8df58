"""The gateway's pieces without a server: keys, binding, error mapping, request parsing, and its
policy section."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from starlette.testclient import TestClient

from router import errors
from router.cli import main
from router.errors import AttemptFailure, ConfigError, PolicyError
from router.gateway import Caller, GatewayState, KeyRing, ServeSettings, create_app
from router.gateway._errors import HttpError, http_error
from router.gateway._serve import check_binding, is_loopback
from router.gateway._wire import parse_chat
from router.policy import Gateway, GatewayKey, Policy, load_policy, parse_policy

KEY = "sk-0123456789abcdef-support"
SUPPORT = Gateway(keys=(GatewayKey(env="K_SUPPORT", team="support", app="triage"),))


def test_a_key_maps_to_its_team_and_app_and_only_its_exact_value_does():
    ring = KeyRing.from_policy(SUPPORT, {"K_SUPPORT": KEY})
    assert ring.caller(f"Bearer {KEY}") == Caller("support", "triage")
    assert ring.caller(f"bearer  {KEY} ") == Caller("support", "triage")
    for wrong in (None, "", KEY, f"Basic {KEY}", f"Bearer {KEY}x", f"Bearer {KEY[:-1]}"):
        assert ring.caller(wrong) is None


def test_keys_are_kept_only_as_digests():
    ring = KeyRing.from_policy(SUPPORT, {"K_SUPPORT": KEY})
    assert KEY not in repr(vars(ring)) and KEY.encode() not in repr(vars(ring)).encode()


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({}, "K_SUPPORT is not set"),
        ({"K_SUPPORT": "short"}, "shorter than 16 characters"),
        ({"K_SUPPORT": KEY, "K_OTHER": KEY}, "K_OTHER holds the same key"),
    ],
)
def test_a_missing_short_or_shared_key_stops_the_gateway_naming_the_variable(environ, message):
    both = Gateway(keys=(*SUPPORT.keys, GatewayKey(env="K_OTHER", team="ml")))
    with pytest.raises(ConfigError, match=message) as caught:
        KeyRing.from_policy(both, environ)
    assert KEY not in str(caught.value) and "short" not in str(caught.value).split(":")[0]


def test_without_keys_everyone_is_let_in_but_only_on_loopback():
    ring = KeyRing.from_policy(Gateway(), {})
    assert ring.open and ring.caller(None) == Caller()
    check_binding(ServeSettings(host="127.0.0.1"), ring)
    check_binding(ServeSettings(host="::1"), ring)
    with pytest.raises(ConfigError, match="only listens on loopback without keys"):
        check_binding(ServeSettings(host="0.0.0.0"), ring)
    check_binding(ServeSettings(host="0.0.0.0"), KeyRing([(KEY, Caller("t"))]))
    assert [is_loopback(h) for h in ("localhost", "127.0.0.2", "10.0.0.1", "example.org")] == [
        True,
        True,
        False,
        False,
    ]


def test_router_serve_refuses_a_public_address_without_keys():
    result = CliRunner().invoke(main, ["serve", "--host", "0.0.0.0"])
    assert result.exit_code == 1
    assert "no gateway.keys" in result.output and "Hint:" in result.output


def _failures(*kinds: type[errors.RouterError]) -> errors.AllAttemptsFailedError:
    made = [
        kind("x", model="m", provider="p") if issubclass(kind, errors.BackendError) else kind("x")
        for kind in kinds
    ]
    return errors.AllAttemptsFailedError([AttemptFailure("m", "p", e) for e in made])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (errors.InvalidRequestError("x"), 400, None),
        (errors.PromptTooLongError("x"), 400, "context_length_exceeded"),
        (errors.UnknownModelError("x"), 404, "model_not_found"),
        (errors.SensitiveDataError("x"), 403, "sensitive_data"),
        (errors.BudgetExceededError("x"), 429, "budget_exceeded"),
        (errors.DeadlineExceededError("x"), 504, "deadline_exceeded"),
        (_failures(errors.ServerError), 502, "upstream_error"),
        (_failures(errors.BackendTimeoutError), 504, "deadline_exceeded"),
        (_failures(errors.ServerError, errors.DeadlineExceededError), 504, "deadline_exceeded"),
        (_failures(errors.BackendTimeoutError, errors.ServerError), 502, "upstream_error"),
        (errors.RateLimitError("x"), 502, "upstream_error"),
        (errors.ConfigError("x"), 500, "gateway_misconfigured"),
        (errors.LedgerError("x"), 500, None),
    ],
)
def test_router_errors_become_openai_errors_with_the_right_status(exc, status, code):
    error = http_error(exc)
    assert (error.status, error.code) == (status, code)
    assert set(error.payload()["error"]) == {"message", "type", "param", "code"}  # type: ignore[arg-type]
    assert (error.headers.get("x-should-retry") == "false") is (400 <= status < 500)


NOBODY = Caller()


def _parse(body: Any, caller: Caller = NOBODY) -> Any:
    return parse_chat(body, caller, "rid", details=False)


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ([], 400, "must be a JSON object"),
        ({"model": "auto"}, 400, "Missing required parameter: 'messages'"),
        ({"messages": []}, 400, "Missing required parameter: 'model'"),
        ({"model": "auto", "messages": [], "stream": "yes"}, 400, "'stream'"),
        ({"model": "auto", "messages": [], "stream_options": {}}, 400, "only allowed when"),
        ({"model": "auto", "messages": [], "prompt": "hi"}, 400, "Unrecognized request argument"),
    ],
)
def test_requests_openai_would_refuse_are_refused_before_routing(body, status, message):
    with pytest.raises(HttpError, match=message) as caught:
        _parse(body)
    assert caught.value.status == status


def test_the_key_sets_team_and_app_and_a_body_may_not_name_another():
    caller = Caller("support", "triage")
    call = _parse({"model": "auto", "messages": [], "metadata": {"ticket": "7"}}, caller)
    assert call.kwargs["metadata"] == {"ticket": "7", "team": "support", "app": "triage"}
    assert call.kwargs["request_id"] == "rid"
    with pytest.raises(HttpError, match=r"metadata\.team is set by your API key"):
        _parse({"model": "auto", "messages": [], "metadata": {"team": "ml"}}, caller)
    streamed = _parse(
        {"model": "m", "messages": [], "stream": True, "stream_options": {"include_usage": True}}
    )
    assert (streamed.stream, streamed.include_usage, streamed.requested_model) == (True, True, "m")


def test_the_gateway_section_is_validated_and_kept_out_of_overrides():
    with pytest.raises(PolicyError):
        load_policy_from({"gateway": {"keys": [{"env": "A-B", "team": "t"}]}})
    with pytest.raises(PolicyError):
        load_policy_from({"gateway": {"keys": [{"env": "A", "team": "t"}] * 2}})
    with pytest.raises(PolicyError):
        load_policy_from({"teams": {"ml": {"gateway": {"max_concurrency": 1}}}})
    assert load_policy("default").gateway == Gateway()
    assert Policy().gateway.max_concurrency == 512


def load_policy_from(data: dict[str, Any]) -> Policy:
    return parse_policy(yaml.safe_dump(data), "inline.yaml")


def test_a_bug_is_a_500_in_openais_shape_not_a_plain_text_page():
    class Broken:
        async def acomplete(self, **kwargs: Any) -> Any:
            raise RuntimeError("secret prompt text")

    @asynccontextmanager
    async def state() -> AsyncIterator[GatewayState]:
        yield GatewayState(Broken(), KeyRing(), Gateway(), {})  # type: ignore[arg-type]

    body = {"model": "auto", "messages": [{"role": "user", "content": "hi"}]}
    with TestClient(create_app(state), raise_server_exceptions=False) as client:
        response = client.post("/v1/chat/completions", json=body)
        wrong = client.put("/v1/chat/completions", json=body)
    assert response.status_code == 500
    assert response.json()["error"]["type"] == "server_error"
    assert "RuntimeError" in response.text and "secret prompt" not in response.text
    assert wrong.status_code == 404 and wrong.json()["error"]["message"].startswith("Invalid URL")
