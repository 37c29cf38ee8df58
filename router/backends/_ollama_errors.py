"""Translate what the `ollama` package and httpx raise into the router's exception tree.

Upstream error text is dropped on purpose: a server may echo request content into its errors.
"""

from __future__ import annotations

import asyncio
import json

from router.backends._unsent import not_sent, raised_before_sending
from router.errors import (
    BackendError,
    BackendTimeoutError,
    BackendUnavailableError,
    BadRequestError,
    MalformedResponseError,
    ModelNotFoundError,
    PermanentBackendError,
    RateLimitError,
    ServerError,
)

_PROVIDER = "ollama"


def map_ollama_error(exc: BaseException, *, model: str, host: str) -> BackendError:
    """The router error for an exception raised while calling Ollama at `host`."""
    root = raised_before_sending(exc)
    if root is not None:
        return not_sent(root, model=model, provider=_PROVIDER)
    return _map_sent(exc, model=model, host=host)


def _map_sent(exc: BaseException, *, model: str, host: str) -> BackendError:
    import httpx  # noqa: PLC0415 - loaded by then: the error came from them
    import ollama  # noqa: PLC0415
    import pydantic  # noqa: PLC0415

    if isinstance(exc, ollama.ResponseError):
        return _from_status(exc.status_code, model=model, host=host)
    if isinstance(exc, ConnectionError | httpx.ConnectError):
        return BackendUnavailableError(
            f"Ollama is not reachable at {host}; start it with `ollama serve`, "
            "or set OLLAMA_HOST / local.host in the policy to where it runs",
            model=model,
            provider=_PROVIDER,
        )
    if isinstance(exc, httpx.TimeoutException | asyncio.TimeoutError | TimeoutError):
        return BackendTimeoutError(
            f"Ollama at {host} did not answer in time; raise local.read_timeout_s or "
            "retries.deadline_s in the policy, or check the machine's load",
            model=model,
            provider=_PROVIDER,
        )
    if isinstance(exc, httpx.TransportError):
        return BackendUnavailableError(
            f"the connection to Ollama at {host} failed ({type(exc).__name__}); check that it "
            "is running and healthy",
            model=model,
            provider=_PROVIDER,
        )
    malformed = (
        json.JSONDecodeError | UnicodeDecodeError | pydantic.ValidationError | KeyError | TypeError
    )
    if isinstance(exc, malformed):
        return MalformedResponseError(
            f"Ollama at {host} sent a response that is not valid Ollama JSON; is local.host "
            "pointing at an Ollama server?",
            model=model,
            provider=_PROVIDER,
        )
    return PermanentBackendError(
        f"calling Ollama failed: {type(exc).__name__}", model=model, provider=_PROVIDER
    )


def _from_status(status: int, *, model: str, host: str) -> BackendError:
    where = f"Ollama at {host}"
    if status == 404:
        return ModelNotFoundError(
            f"{where} does not have model {model!r}; run `ollama pull {model}`",
            model=model,
            provider=_PROVIDER,
            status_code=status,
        )
    if status == 429:
        return RateLimitError(
            f"{where} is rate limiting (HTTP 429)", model=model, provider=_PROVIDER
        )
    if status >= 500 or status < 0:
        return ServerError(
            f"{where} failed with HTTP {status}; see its log (`journalctl -u ollama` "
            "or the `ollama serve` output)",
            model=model,
            provider=_PROVIDER,
            status_code=status,
        )
    error_class = BadRequestError if status in (400, 422) else PermanentBackendError
    return error_class(
        f"{where} rejected the request (HTTP {status})",
        model=model,
        provider=_PROVIDER,
        status_code=status,
    )
