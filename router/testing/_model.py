"""The values a loopback server works with: what it was asked, and what it should answer."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Drop = Literal["none", "before_headers", "after_headers", "mid_body"]
Api = Literal["ollama", "openai", "anthropic"]


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts to report instead of the server's estimate."""

    input_tokens: int
    output_tokens: int


@dataclass(frozen=True, slots=True)
class ReplyToolCall:
    """A tool call for a loopback server to answer with. `arguments` as a mapping is sent in
    the protocol's own way (an object for Ollama and Anthropic, JSON text for OpenAI); as a
    string it is sent verbatim where the protocol carries text (malformed-arguments tests)."""

    name: str
    arguments: Mapping[str, Any] | str = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Reply:
    """What a loopback server does with one chat request.

    `text=None` means "the responder's usual answer". A `status` of 400 or more sends the
    protocol's own error body, with `text` as the message if given. `body` is sent verbatim
    (malformed-upstream tests). `latency` waits before the headers, `chunk_delay` between stream
    chunks; `hang` never answers (until the server stops). `drop` closes the connection early.
    `logprob` is the log-probability reported per token where the client asks for logprobs.
    `omit_usage` leaves the token counts out of the answer (as some proxies and servers do).
    `headers` are sent verbatim with the response (e.g. a malformed `Retry-After`).
    `tool_calls` makes the answer call tools (with `text`, if any, before the calls).
    """

    text: str | None = None
    status: int = 200
    latency: float = 0.0
    retry_after: float | None = None
    hang: bool = False
    drop: Drop = "none"
    finish_reason: str | None = None
    usage: Usage | None = None
    body: bytes | None = None
    content_type: str | None = None
    chunk_delay: float = 0.0
    logprob: float = -0.05
    omit_usage: bool = False
    headers: Mapping[str, str] | None = None
    tool_calls: tuple[ReplyToolCall, ...] = ()


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """One chat request, as any of the three protocols sent it.

    `tools` are the offered tools as {name, description, parameters} whatever the protocol;
    `tool_choice` is "auto", "none", "required" or the name of the one tool to call;
    `tool_results` the texts of the tool results that end the conversation (the model is
    being told what its calls returned); `stop` the stop sequences.
    """

    api: Api
    path: str
    model: str
    messages: tuple[Mapping[str, Any], ...]
    stream: bool
    max_tokens: int | None
    last_user_message: str
    prompt_text: str
    body: Mapping[str, Any]
    tools: tuple[Mapping[str, Any], ...] = ()
    tool_choice: str = "auto"
    tool_results: tuple[str, ...] = ()
    stop: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One HTTP request as the server received it. `body` is the parsed JSON, or None."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: Any
    raw_body: bytes


Responder = Callable[[ChatRequest], Reply]


def count_tokens(text: str) -> int:
    """The servers' deterministic token estimate: about four characters a token, at least 1."""
    return max(1, math.ceil(len(text) / 4))


def truncate(text: str, max_tokens: int | None) -> tuple[str, bool]:
    """Cut `text` to `max_tokens` estimated tokens; say whether it was cut."""
    if max_tokens is None or max_tokens < 0 or count_tokens(text) <= max_tokens:
        return text, False
    return text[: max_tokens * 4], True


def split_chunks(text: str) -> list[str]:
    """Split an answer into word-sized stream chunks that join back to `text`."""
    return re.findall(r"\s*\S{1,12}|\s+", text) or [""]


def content_text(content: Any) -> str:
    """Text of a message `content`: a string, or a list of parts with a `text` field."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text", "") for p in content if isinstance(p, dict)]
        return "\n".join(p for p in parts if isinstance(p, str))
    return ""


def chat_request(
    api: Api,
    path: str,
    body: Mapping[str, Any],
    *,
    stream: bool,
    max_tokens: int | None,
    system: str = "",
    tools: tuple[Mapping[str, Any], ...] = (),
    tool_choice: str = "auto",
    tool_results: tuple[str, ...] = (),
    stop: tuple[str, ...] = (),
) -> ChatRequest:
    """Build a `ChatRequest` from a parsed body whose `messages` use role/content."""
    raw = body.get("messages")
    messages = tuple(m for m in raw if isinstance(m, dict)) if isinstance(raw, list) else ()
    texts = [content_text(m.get("content")) for m in messages]
    users = [t for m, t in zip(messages, texts, strict=True) if m.get("role") == "user"]
    return ChatRequest(
        api=api,
        path=path,
        model=str(body.get("model", "")),
        messages=messages,
        stream=stream,
        max_tokens=max_tokens,
        last_user_message=users[-1] if users else "",
        prompt_text="\n".join([system, *texts]) if system else "\n".join(texts),
        body=body,
        tools=tools,
        tool_choice=tool_choice,
        tool_results=tool_results,
        stop=stop,
    )


def echo_responder(request: ChatRequest) -> Reply:
    """The default responder: a short deterministic answer quoting the question. Offered
    tools, it calls one (see `tool_reply`); told what a tool returned, it quotes that."""
    from router.testing._tools import tool_reply  # noqa: PLC0415 - a sibling that imports this

    reply = tool_reply(request)
    if reply is not None:
        return reply
    question = " ".join(request.last_user_message.split())
    if len(question) > 80:
        question = question[:77] + "..."
    return Reply(text=f"This is {request.model} answering: {question}")
