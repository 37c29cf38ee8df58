"""The backend seam: one small protocol for every model server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from router._records import Tier


@dataclass(frozen=True, slots=True)
class ModelRequest:
    """What a backend is asked: validated messages and generation options.

    `timeout_s` is this attempt's share of the request's deadline.
    """

    messages: tuple[Mapping[str, str], ...]
    max_tokens: int | None = None
    temperature: float | None = None
    response_format: Mapping[str, Any] | None = None
    timeout_s: float | None = None
    top_logprobs: int | None = None
    """Ask for per-token log-probabilities with this many alternatives (None: do not ask)."""


@dataclass(frozen=True, slots=True)
class TokenLogprob:
    """One generated token, its log-probability and the most likely alternatives (if asked)."""

    token: str
    logprob: float
    top_logprobs: tuple[TokenLogprob, ...] = ()


@dataclass(frozen=True, slots=True)
class ModelResponse:
    """A finished answer and the usage the server reported.

    `logprobs` holds per-token log-probabilities when they were asked for (`top_logprobs`) and
    the server returned them; None otherwise.
    """

    text: str
    model: str
    input_tokens: int
    output_tokens: int
    finish_reason: str
    usage_estimated: bool = False
    logprobs: tuple[TokenLogprob, ...] | None = None


@dataclass(frozen=True, slots=True)
class ModelChunk:
    """A streamed piece: a text delta, or (last) the final response with usage."""

    delta: str = ""
    final: ModelResponse | None = None


@runtime_checkable
class Backend(Protocol):
    """A model server. Implementations translate their library's errors into `BackendError`s."""

    @property
    def model(self) -> str: ...

    @property
    def provider(self) -> str: ...

    @property
    def tier(self) -> Tier: ...

    async def complete(self, request: ModelRequest) -> ModelResponse: ...

    def stream(self, request: ModelRequest) -> AsyncIterator[ModelChunk]: ...

    async def aclose(self) -> None: ...
