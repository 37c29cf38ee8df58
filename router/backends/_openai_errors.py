"""Translate the openai SDK's exceptions (and the httpx2 transport's under it) into the router's
exception tree, the way `map_litellm_error` translates litellm's for the same upstream answer.

`OPENAI_ERRORS` names every exception class the openai SDK exports; a test fails when the SDK
grows one that is not listed. An HTTP error is classified as litellm classifies OpenAI's (its
`exception_mapping_utils`): first by what the body says (rate limit, context window, unknown
model, content policy, OpenAI's `invalid_request_error` type), then by status. The upstream
message itself is never copied into ours (it can quote the request): only class, status, model
and provider survive, as in `_litellm_errors`.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from router.backends._litellm_errors import class_for_status, router_error
from router.backends._unsent import not_sent, raised_before_sending
from router.errors import (
    AuthenticationError,
    BackendTimeoutError,
    BackendUnavailableError,
    BackendUnreachableError,
    BadRequestError,
    ContentPolicyError,
    MalformedResponseError,
    ModelNotFoundError,
    PermanentBackendError,
    PromptTooLongError,
    RateLimitError,
    RouterError,
    ServerError,
)

_BY_STATUS = "by-status"  # an HTTP error: classified by its body, then its status
_BY_CAUSE = "by-cause"  # a transport error: classified by the httpx2 exception under it

# openai class name -> router class. Keys are names so the table needs no openai import.
OPENAI_ERRORS: dict[str, type[RouterError] | str] = {
    "APIConnectionError": _BY_CAUSE,
    "APIError": _BY_STATUS,
    "APIResponseValidationError": MalformedResponseError,
    "APIStatusError": _BY_STATUS,
    "APITimeoutError": _BY_CAUSE,
    "AuthenticationError": _BY_STATUS,
    "BadRequestError": _BY_STATUS,
    "ConflictError": _BY_STATUS,
    "ContentFilterFinishReasonError": ContentPolicyError,
    "InternalServerError": _BY_STATUS,
    "InvalidWebhookSignatureError": PermanentBackendError,
    "LengthFinishReasonError": MalformedResponseError,
    "NotFoundError": _BY_STATUS,
    "OAuthError": AuthenticationError,
    "OpenAIError": PermanentBackendError,
    "PermissionDeniedError": _BY_STATUS,
    "RateLimitError": _BY_STATUS,
    "SubjectTokenProviderError": AuthenticationError,
    "UnprocessableEntityError": _BY_STATUS,
    "WebSocketConnectionClosedError": BackendUnavailableError,
    "WebSocketQueueFullError": BackendUnavailableError,
}

# Statuses litellm gives a class of its own for OpenAI (others: `class_for_status`).
_STATUS: dict[int, type[RouterError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    404: ModelNotFoundError,
    408: BackendTimeoutError,
    422: BadRequestError,
    429: RateLimitError,
    500: ServerError,
    502: ServerError,
    503: ServerError,
    504: BackendTimeoutError,
}

# Substrings of an error body that litellm reads as a prompt too long for the model.
_CONTEXT_WINDOW = (
    "exceed context limit",
    "this model's maximum context length is",
    "requested token count exceeds the model's maximum context length",
    "string too long. expected a string with maximum length",
    "model's maximum context limit",
    "is longer than the model's context length",
    "input tokens exceed the configured limit",
    "exceeds the available context size",
    '"code": "context_length_exceeded"',
    "'code': 'context_length_exceeded'",
    "prompt is too long",
)


def map_openai_error(exc: BaseException, *, model: str, provider: str) -> RouterError:
    """The router error for an exception raised by the openai SDK (or under it)."""
    root = raised_before_sending(exc)
    if root is not None:
        return not_sent(root, model=model, provider=provider)
    status = _status(exc)
    target = _target(exc, status)
    return router_error(target, exc, status, model=model, provider=provider)


def _target(exc: BaseException, status: int | None) -> type[RouterError]:
    found = _lookup(exc)
    if isinstance(found, type):
        return found
    if found == _BY_STATUS and status is not None:
        return _by_body(_error_text(exc), status) or _STATUS.get(status) or class_for_status(status)
    return transport_error(exc) or PermanentBackendError


def _lookup(exc: BaseException) -> type[RouterError] | str | None:
    for klass in type(exc).__mro__:
        if klass.__module__.startswith("openai") and klass.__name__ in OPENAI_ERRORS:
            return OPENAI_ERRORS[klass.__name__]
    return None


def _by_body(text: str, status: int) -> type[RouterError] | None:
    """What litellm reads in OpenAI's error body before it looks at the status."""
    lowered = text.lower()
    if status == 429 or "rate limit" in lowered or "request too large" in lowered:
        return RateLimitError
    if _context_window(lowered):
        return PromptTooLongError
    if "invalid_request_error" in text and "model_not_found" in text:
        return ModelNotFoundError
    if "content_policy_violation" in text and "invalid_request_error" in text:
        return ContentPolicyError
    if "invalid_request_error" in text and "Incorrect API key provided" not in text:
        return {401: AuthenticationError, 404: ModelNotFoundError}.get(status, BadRequestError)
    return None


def _context_window(lowered: str) -> bool:
    if "string_above_max_length" in lowered:
        return False
    if "invalid 'user'" in lowered and "string too long" in lowered:
        return False
    return any(s in lowered for s in _CONTEXT_WINDOW)


def _error_text(exc: BaseException) -> str:
    """The upstream error's own message (what litellm searches), only to be searched, never
    repeated. OpenAI's `type` and `code` are not part of it."""
    body: Any = getattr(exc, "body", None)
    message = body.get("message") if isinstance(body, dict) else body
    return message if isinstance(message, str) else str(getattr(exc, "message", ""))


def transport_error(exc: BaseException) -> type[RouterError] | None:
    """The class for a failure to reach, or to hear back from, the server: read from the
    exception and its causes (the SDK wraps httpx2's, and a stream raises them as they are)."""
    import httpx2  # noqa: PLC0415 - loaded by then: the openai SDK uses it

    found = _aiohttp_error(exc)
    if found is not None:
        return found
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, httpx2.ConnectError | httpx2.ConnectTimeout | httpx2.PoolTimeout):
            return BackendUnreachableError  # never sent: the server was not reached
        if isinstance(current, httpx2.TimeoutException | asyncio.TimeoutError | TimeoutError):
            return BackendTimeoutError  # sent, or (our deadline) possibly sent: possibly billed
        if isinstance(current, json.JSONDecodeError | UnicodeDecodeError | KeyError):
            return MalformedResponseError
        if isinstance(current, httpx2.TransportError | ConnectionError):
            return BackendUnavailableError
        current = current.__cause__ or current.__context__
    return BackendUnavailableError if _lookup(exc) == _BY_CAUSE else None


def _aiohttp_error(exc: BaseException) -> type[RouterError] | None:
    """The class for an aiohttp failure under the SDK's aiohttp transport, which renames any
    lost connection (even one lost mid-answer, possibly billed) `httpx2.ConnectTimeout`."""
    import aiohttp  # noqa: PLC0415 - loaded by then: the SDK's transport uses it

    for current in _chain(exc):
        if isinstance(current, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError):
            return BackendUnreachableError  # never sent: the server was not reached
        if isinstance(current, aiohttp.ServerTimeoutError):
            return BackendTimeoutError
        if isinstance(current, aiohttp.ClientConnectionError | aiohttp.ClientPayloadError):
            return BackendUnavailableError
    return None


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not s for s in seen):
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _status(exc: BaseException) -> int | None:
    status = getattr(exc, "status_code", None)
    return status if isinstance(status, int) else None
