"""The backend seam: one small protocol for every model server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from router._records import Tier

Message = Mapping[str, Any]
"""A validated chat message in OpenAI's shape: `role` and `content` (always a string), plus
`name`, `tool_calls` (an assistant's, in OpenAI's shape with `arguments` as JSON text) or
`tool_call_id` (a tool result's) when present."""


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A function call the model asks the caller to make, as OpenAI returns it.

    `arguments` is the JSON text the model wrote; it may not parse (the tool-call verifier
    checks it against the tool's schema before a local answer is returned).
    """

    id: str
    name: str
    arguments: str

    def as_openai(self) -> dict[str, Any]:
        """OpenAI's wire shape: `{"id", "type": "function", "function": {name, arguments}}`."""
        function = {"name": self.name, "arguments": self.arguments}
        return {"id": self.id, "type": "function", "function": function}


@dataclass(frozen=True, slots=True)
class ModelRequest:
    """What a backend is asked: validated messages and generation options.

    `timeout_s` is this attempt's share of the request's deadline. `tools` are OpenAI-style
    function definitions and `tool_choice` OpenAI's "auto" | "none" | "required" or
    `{"type": "function", "function": {"name": ...}}`; each backend translates them.
    """

    messages: tuple[Message, ...]
    max_tokens: int | None = None
    temperature: float | None = None
    response_format: Mapping[str, Any] | None = None
    timeout_s: float | None = None
    top_logprobs: int | None = None
    """Ask for per-token log-probabilities with this many alternatives (None: do not ask)."""
    top_p: float | None = None
    stop: tuple[str, ...] = ()
    seed: int | None = None
    tools: tuple[Mapping[str, Any], ...] = ()
    tool_choice: str | Mapping[str, Any] | None = None


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
    the server returned them; None otherwise. `tool_calls` are the calls the model asked for
    (its `finish_reason` is then "tool_calls"); `text` may be empty alongside them.
    """

    text: str
    model: str
    input_tokens: int
    output_tokens: int
    finish_reason: str
    usage_estimated: bool = False
    logprobs: tuple[TokenLogprob, ...] | None = None
    tool_calls: tuple[ToolCall, ...] = ()


@dataclass(frozen=True, slots=True)
class ModelChunk:
    """A streamed piece: a text delta, or (last) the final response with usage."""

    delta: str = ""
    final: ModelResponse | None = None


@runtime_checkable
class Backend(Protocol):
    """A model server. Implementations translate their library's errors into `BackendError`s.

    A backend may also define `async warm_up()`: load what its first call would otherwise load
    (imports, clients), idempotently and without sending anything. The router runs it before it
    starts timing an attempt, and `Router.warm_up()` runs it up front (see `warm`).
    """

    @property
    def model(self) -> str: ...

    @property
    def provider(self) -> str: ...

    @property
    def tier(self) -> Tier: ...

    async def complete(self, request: ModelRequest) -> ModelResponse: ...

    def stream(self, request: ModelRequest) -> AsyncIterator[ModelChunk]: ...

    async def aclose(self) -> None: ...


async def warm(backend: Backend) -> None:
    """Run `backend.warm_up()` if it has one (it is optional, so custom backends need none)."""
    warm_up = getattr(backend, "warm_up", None)
    if warm_up is not None:
        await warm_up()
