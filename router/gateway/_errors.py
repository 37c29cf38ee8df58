"""Errors in OpenAI's shape (`{"error": {"message", "type", "param", "code"}}`) with the status
OpenAI's clients expect, translated from the router's exception tree in one place."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from router.errors import (
    AllAttemptsFailedError,
    BackendError,
    BackendTimeoutError,
    BudgetExceededError,
    ConfigError,
    DeadlineExceededError,
    InvalidRequestError,
    PromptTooLongError,
    RouterError,
    SensitiveDataError,
    UnknownModelError,
)

NO_RETRY = {"x-should-retry": "false"}  # OpenAI's SDKs skip their automatic retries


@dataclass(frozen=True)
class HttpError(Exception):
    """An error response: status, OpenAI's error fields and extra headers."""

    status: int
    message: str
    type: str = "invalid_request_error"
    code: str | None = None
    param: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    def payload(self) -> dict[str, object]:
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }

    def body(self) -> bytes:
        return json.dumps(self.payload()).encode()


# Most specific first: the first matching class decides.
_STATUS: tuple[tuple[type[RouterError], int, str, str | None], ...] = (
    (UnknownModelError, 404, "invalid_request_error", "model_not_found"),
    (PromptTooLongError, 400, "invalid_request_error", "context_length_exceeded"),
    (InvalidRequestError, 400, "invalid_request_error", None),
    (SensitiveDataError, 403, "permission_error", "sensitive_data"),
    (BudgetExceededError, 429, "insufficient_quota", "budget_exceeded"),
    (DeadlineExceededError, 504, "timeout", "deadline_exceeded"),
    (BackendError, 502, "server_error", "upstream_error"),
    (ConfigError, 500, "server_error", "gateway_misconfigured"),
)


def http_error(exc: RouterError) -> HttpError:
    """The response for a router error. Router messages hold no prompt, answer or key."""
    if isinstance(exc, AllAttemptsFailedError):
        if _timed_out(exc):
            return HttpError(504, str(exc), "timeout", "deadline_exceeded")
        return HttpError(502, str(exc), "server_error", "upstream_error")
    for kind, status, kind_name, code in _STATUS:
        if isinstance(exc, kind):
            param = "model" if isinstance(exc, UnknownModelError) else None
            headers = NO_RETRY if status < 500 else {}
            return HttpError(status, str(exc), kind_name, code, param, headers)
    return HttpError(500, f"{type(exc).__name__}: {exc}", "server_error", None)


def _timed_out(exc: AllAttemptsFailedError) -> bool:
    """The request ran out of time: its deadline passed, or every model it tried timed out."""
    errors = [attempt.error for attempt in exc.attempts]
    deadline = any(isinstance(e, DeadlineExceededError) for e in errors)
    return deadline or (bool(errors) and all(isinstance(e, BackendTimeoutError) for e in errors))


def busy(retry_after_s: int) -> HttpError:
    return HttpError(
        429,
        "the gateway is at its concurrency limit (gateway.max_concurrency); retry shortly",
        "requests",
        "rate_limit_exceeded",
        headers={"retry-after": str(retry_after_s)},
    )


def bad_key() -> HttpError:
    return HttpError(
        401,
        "Incorrect or missing API key: send `Authorization: Bearer <key>` with a key from the "
        "gateway's policy (gateway.keys)",
        "invalid_request_error",
        "invalid_api_key",
        headers=NO_RETRY,
    )
