"""What a verifier is given: the conversation, the answer, and a way to ask the local model."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from router.backends import ModelRequest, ModelResponse
from router.verify._verdict import Verdict, VerifierError

if TYPE_CHECKING:
    from router._request import RoutedRequest

LocalCall = Callable[[ModelRequest], Awaitable[ModelResponse]]
"""How a verifier calls the local model. The pipeline's version retries, times and accounts
each call as an attempt with purpose "verify"; verifiers never call a backend directly."""

Observer = Callable[[Verdict], None]


@dataclass(frozen=True, slots=True)
class VerifyContext:
    """Everything a verifier may look at. Frozen: verifiers cannot change the request.

    `task` is a hint such as "code" (from the caller's `metadata={"task": ...}` or detection).
    `max_tokens` is the caller's own limit on the answer, if it set one: an answer cut off there
    is what the caller asked for (`not_truncated` passes it).
    `tools` and `tool_choice` are what the request offered the model (OpenAI's shapes).
    `call_local` is None when no local model may be asked (offline evaluation); verifiers that
    need it then fail to run. `deadline_s` is the time left for verification. `observe` is set by
    `run_verifiers` to collect every verdict; verifiers do not call it themselves.
    """

    messages: tuple[Mapping[str, Any], ...]
    answer: ModelResponse
    response_format: Mapping[str, Any] | None = None
    task: str | None = None
    call_local: LocalCall | None = None
    deadline_s: float = 30.0
    observe: Observer | None = None
    max_tokens: int | None = None
    tools: tuple[Mapping[str, Any], ...] = ()
    tool_choice: str | Mapping[str, Any] | None = None

    @property
    def question(self) -> str:
        """The last user message (what the classifier scores, too)."""
        return next((m["content"] for m in reversed(self.messages) if m["role"] == "user"), "")

    @property
    def tool_calls_only(self) -> bool:
        """True when the answer is tool calls with no text: nothing for prose checks to judge."""
        return bool(self.answer.tool_calls) and not self.answer.text.strip()

    @classmethod
    def from_request(
        cls,
        request: RoutedRequest,
        answer: ModelResponse,
        *,
        call_local: LocalCall | None,
        deadline_s: float,
        task: str | None = None,
    ) -> VerifyContext:
        """The context for a routed request; `task` defaults to the caller's `tags["task"]`."""
        return cls(
            messages=request.messages,
            answer=answer,
            response_format=request.response_format,
            task=task or request.tags.get("task"),
            call_local=call_local,
            deadline_s=deadline_s,
            max_tokens=request.max_tokens,
            tools=request.tools,
            tool_choice=request.tool_choice,
        )


def local_call(ctx: VerifyContext, verifier: str) -> LocalCall:
    """`ctx.call_local`, or a `VerifierError` when there is no local model to ask."""
    if ctx.call_local is None:
        raise VerifierError(verifier, "no local model to ask (call_local is None)")
    return ctx.call_local
