"""Translate litellm's exceptions into the router's exception tree, in one table.

`LITELLM_ERRORS` names every exception class litellm 1.110.2 defines; a test fails when litellm
grows one that is not listed. Upstream messages are dropped (they can quote the request), as is
anything resembling a key; only the class name, status code, model and provider survive.
litellm reports a connection lost mid-call as its own HTTP 500, and a body it cannot parse as a
connection error: the cause chain tells them apart, so a dropped body is
`BackendUnavailableError` and an unparseable one `MalformedResponseError` (both possibly billed).
A connection never made (refused, DNS, a timeout connecting) is `BackendUnreachableError`, not
possibly billed; any other timeout (reading, or the request's deadline, which cannot tell how
far the call got) is `BackendTimeoutError`, possibly billed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Mapping

from router.backends._headers import retry_after_seconds
from router.backends._unsent import not_sent, raised_before_sending
from router.errors import (
    AuthenticationError,
    BackendError,
    BackendTimeoutError,
    BackendUnavailableError,
    BackendUnreachableError,
    BadRequestError,
    BudgetExceededError,
    ContentPolicyError,
    MalformedResponseError,
    ModelNotFoundError,
    PermanentBackendError,
    PromptTooLongError,
    RateLimitError,
    RepetitiveOutputError,
    RouterError,
    SensitiveDataError,
    ServerError,
)

_BY_STATUS = "by-status"  # resolved from the exception's status_code

# litellm class name -> router class. Keys are names so the table needs no litellm import.
LITELLM_ERRORS: dict[str, type[RouterError] | str] = {
    "APIConnectionError": BackendUnavailableError,
    "APIError": _BY_STATUS,
    "APIResponseValidationError": MalformedResponseError,
    "AuthenticationError": AuthenticationError,
    "BadGatewayError": ServerError,
    "BadRequestError": BadRequestError,
    "BlockedPiiEntityError": ContentPolicyError,
    "BudgetExceededError": BudgetExceededError,
    "CallerCredentialAuthenticationError": AuthenticationError,
    "CallerCredentialRateLimitError": RateLimitError,
    "ContentPolicyViolationError": ContentPolicyError,
    "ContextWindowExceededError": PromptTooLongError,
    "EndpointNotSupportedByModelError": BadRequestError,
    "GuardrailRaisedException": ContentPolicyError,
    "ImageFetchError": BadRequestError,
    "InternalServerError": ServerError,
    "InvalidRequestError": BadRequestError,
    "JSONSchemaValidationError": MalformedResponseError,
    "LiteLLMUnknownProvider": BadRequestError,
    "MalformedRequestFieldError": BadRequestError,
    "MidStreamFallbackError": BackendUnavailableError,
    "MockException": _BY_STATUS,
    "ModelNotMappedError": BadRequestError,
    "ModifyResponseException": ContentPolicyError,
    "NotFoundError": ModelNotFoundError,
    "OpenAIError": _BY_STATUS,
    "PaymentRequiredError": AuthenticationError,
    "PermissionDeniedError": AuthenticationError,
    "RateLimitError": RateLimitError,
    "RejectedRequestError": ContentPolicyError,
    "SensitiveDataRouteException": SensitiveDataError,
    "ServiceUnavailableError": ServerError,
    "Timeout": BackendTimeoutError,
    "UnprocessableEntityError": BadRequestError,
    "UnsupportedEndpointError": BadRequestError,
    "UnsupportedParamsError": BadRequestError,
    "VectorStoreSearchError": BadRequestError,
}

HINTS: dict[type[RouterError], str] = {
    AuthenticationError: "check the API key (policy frontier.models[].api_key_env or the "
    "provider's standard variable, e.g. OPENAI_API_KEY / ANTHROPIC_API_KEY)",
    ModelNotFoundError: "check the model name in the policy's frontier.models",
    RateLimitError: "the provider is rate limiting; lower concurrency or raise your quota",
    ServerError: "the provider failed; it is retried and the next frontier model is tried",
    BackendUnavailableError: "check network access to the provider and frontier api_base",
    BackendUnreachableError: "check network access to the provider and frontier api_base",
    BackendTimeoutError: "raise frontier.models[].timeout_s or retries.deadline_s",
    PromptTooLongError: "shorten the prompt or pick a model with a larger context",
    BadRequestError: "the provider rejected the request parameters",
    MalformedResponseError: "the provider's answer was not valid; is api_base right?",
    ContentPolicyError: "the provider refused the content",
}


def map_litellm_error(exc: BaseException, *, model: str, provider: str) -> RouterError:
    """The router error for an exception raised by `litellm.acompletion` (or under it)."""
    root = raised_before_sending(exc)
    if root is not None:
        return not_sent(root, model=model, provider=provider)
    if _repeating(exc):
        return RepetitiveOutputError(
            f"{provider}:{model} kept sending the same chunk, so litellm stopped the stream "
            "(it ends a stream after 100 identical chunks): the model was looping; lower "
            "max_tokens, or change the prompt or temperature",
            model=model,
            provider=provider,
        )
    dropped = _dropped_connection(exc)
    target = dropped or _lookup(exc)
    status = None if dropped else _status(exc)
    if target is None:
        target = _transport_error(exc)
    if target == _BY_STATUS or target is None:
        target = class_for_status(status)
    assert isinstance(target, type)
    return router_error(target, exc, status, model=model, provider=provider)


_REPEATING = "is repeating the same chunk"  # litellm's streaming_handler.safety_checker


def _repeating(exc: BaseException) -> bool:
    """litellm's loop guard fired: its InternalServerError, under a MidStreamFallbackError."""
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if _REPEATING in str(getattr(current, "message", None) or current):
            return True
        linked = (
            getattr(current, "original_exception", None),
            current.__cause__,
            current.__context__,
        )
        pending.extend(e for e in linked if isinstance(e, BaseException))
    return False


def _lookup(exc: BaseException) -> type[RouterError] | str | None:
    for klass in type(exc).__mro__:
        if klass.__module__.startswith(("litellm", "openai")) and klass.__name__ in LITELLM_ERRORS:
            return LITELLM_ERRORS[klass.__name__]
    return None


def _transport_error(exc: BaseException) -> type[RouterError] | None:
    import httpx  # noqa: PLC0415 - loaded by then: litellm uses it

    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return BackendUnreachableError  # never sent: the server was not reached
    if isinstance(exc, httpx.TimeoutException | asyncio.TimeoutError | TimeoutError):
        return BackendTimeoutError  # sent, or (our deadline) possibly sent: possibly billed
    if isinstance(exc, httpx.TransportError | ConnectionError):
        return BackendUnavailableError
    return None


def _dropped_connection(exc: BaseException) -> type[RouterError] | None:
    """What really happened under a litellm error, when its own class hides it.

    litellm reports a connection lost mid-call (even mid-body, after the upstream may have
    billed it) as an HTTP 500 of its own making, and a body it could not parse (bad JSON, a
    missing field) as a connection error; the cause chain tells them apart.
    """
    seen: set[int] = set()
    cause = exc.__cause__ or exc.__context__
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, json.JSONDecodeError | UnicodeDecodeError | KeyError):
            return MalformedResponseError
        found = _transport_error(cause)
        if found is not None:
            return found
        cause = cause.__cause__ or cause.__context__
    return None


def _status(exc: BaseException) -> int | None:
    status = getattr(exc, "status_code", None)
    return status if isinstance(status, int) else None


def router_error(
    target: type[RouterError], exc: BaseException, status: int | None, *, model: str, provider: str
) -> RouterError:
    """`target` built for `exc`: the class name, the status and a hint, never the upstream text
    (which can quote the prompt); a rate limit carries the server's Retry-After."""
    hint = HINTS.get(target, "see the provider's status page")
    message = f"{provider}:{model} failed ({type(exc).__name__}"
    message += f", HTTP {status})" if status else ")"
    message += f"; {hint}"
    if issubclass(target, RateLimitError):
        return RateLimitError(
            message,
            model=model,
            provider=provider,
            status_code=status,
            retry_after=retry_after(exc),
        )
    if issubclass(target, BackendError):
        return target(message, model=model, provider=provider, status_code=status)
    return target(message)


def class_for_status(status: int | None) -> type[RouterError]:
    if status is None:
        return PermanentBackendError
    if status == 429:
        return RateLimitError
    if status >= 500:
        return ServerError
    if status in (401, 403):
        return AuthenticationError
    if status == 404:
        return ModelNotFoundError
    return BadRequestError if status < 500 else PermanentBackendError


def retry_after(exc: BaseException) -> float | None:
    """Seconds from a `Retry-After` (or `retry-after-ms`) header under the error, or None.

    litellm puts the upstream response's headers in different places per provider: OpenAI's
    on `exc.response`, Anthropic's only on the provider error in the cause chain (the outer
    `response` is a stub with none). The first headers that carry a hint win.
    """
    for headers in _headers_in_chain(exc):
        seconds = retry_after_seconds(headers)
        if seconds is not None:
            return seconds
    return None


def _headers_in_chain(exc: BaseException) -> Iterator[Mapping[str, str]]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        for owner in (getattr(current, "response", None), current):
            headers = getattr(owner, "headers", None)
            if isinstance(headers, Mapping) and headers:
                yield headers
        current = current.__cause__ or current.__context__
