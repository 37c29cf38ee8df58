"""Errors are translated at the seams, completely, and never carry prompts or keys."""

from __future__ import annotations

import inspect
import pickle

import httpx
import pytest

from router import errors
from router._offline import litellm
from router.backends._litellm_errors import LITELLM_ERRORS, map_litellm_error, retry_after


def _litellm_exception_classes() -> list[type[BaseException]]:
    module = litellm().exceptions
    return [
        obj
        for _, obj in inspect.getmembers(module, inspect.isclass)
        if issubclass(obj, BaseException) and obj.__module__ == module.__name__
    ]


def test_every_litellm_exception_class_is_mapped():
    names = {cls.__name__ for cls in _litellm_exception_classes()}
    missing = sorted(names - set(LITELLM_ERRORS))
    assert not missing, f"litellm grew exception classes the router does not map: {missing}"
    assert len(names) >= 35


def test_the_table_names_no_class_litellm_lacks():
    names = {cls.__name__ for cls in _litellm_exception_classes()}
    assert set(LITELLM_ERRORS) <= names


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (429, errors.RateLimitError),
        (500, errors.ServerError),
        (503, errors.ServerError),
        (401, errors.AuthenticationError),
        (404, errors.ModelNotFoundError),
        (400, errors.BadRequestError),
    ],
)
def test_litellm_api_error_maps_by_status(status, expected):
    lit = litellm()
    exc = lit.APIError(
        status_code=status,
        message="secret prompt text sk-abc",
        llm_provider="openai",
        model="gpt-5.4",
    )
    mapped = map_litellm_error(exc, model="gpt-5.4", provider="openai")
    assert type(mapped) is expected
    assert "secret prompt" not in str(mapped) and "sk-abc" not in str(mapped)


def test_every_router_error_is_a_router_error():
    for _, obj in inspect.getmembers(errors, inspect.isclass):
        if issubclass(obj, Exception) and obj.__module__ == errors.__name__:
            assert issubclass(obj, errors.RouterError), obj


def test_retry_after_parses_seconds_and_milliseconds():
    def exc_with(headers):
        class E(Exception):
            response = httpx.Response(429, headers=headers)

        return E()

    assert retry_after(exc_with({"retry-after": "2"})) == 2.0
    assert retry_after(exc_with({"retry-after-ms": "250"})) == 0.25
    assert retry_after(exc_with({})) is None


def test_every_router_error_survives_pickling_with_its_attributes():
    timeout = errors.BackendTimeoutError("timed out", model="qwen", provider="ollama")
    failed = errors.AllAttemptsFailedError([errors.AttemptFailure("qwen", "ollama", timeout)])
    limited = errors.RateLimitError("slow down", model="gpt", provider="openai", retry_after=2.0)
    policy = errors.PolicyError("bad policy", ["p.yaml:1: x: unknown key; remove it"])
    for error in (timeout, failed, limited, policy):
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error) and str(copy) == str(error)
        assert repr(vars(copy)) == repr(vars(error))
    copied = pickle.loads(pickle.dumps(failed))
    assert copied.attempts[0].error.model == "qwen"
