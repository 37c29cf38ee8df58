"""OpenAI's chat completions on the wire: a request body in, `acomplete` arguments out; a
`Completion` in, OpenAI's JSON or its server-sent events out, byte for byte in OpenAI's format."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from router._completion import Completion
from router._surface import REFUSED_PARAMETERS
from router.gateway._auth import Caller
from router.gateway._errors import HttpError

# Passed to `acomplete` as they are; the router validates them (router/_surface).
_PASSED = frozenset(
    {
        "messages",
        "model",
        "max_tokens",
        "max_completion_tokens",
        "temperature",
        "top_p",
        "stop",
        "seed",
        "response_format",
        "tools",
        "tool_choice",
        "user",
        "metadata",
    }
)
_COMPACT = (",", ":")  # OpenAI's JSON has no spaces


@dataclass(frozen=True, slots=True)
class ChatCall:
    """A parsed chat request: the router's arguments and how to answer (streamed or not)."""

    kwargs: Mapping[str, Any]
    stream: bool = False
    include_usage: bool = False
    requested_model: str = "auto"
    details: bool = False


def parse_chat(body: Any, caller: Caller, request_id: str, *, details: bool) -> ChatCall:
    """`acomplete` keyword arguments from an OpenAI request body, with the caller's team and
    app from its key; raises `HttpError` for what OpenAI itself would refuse."""
    if not isinstance(body, dict):
        raise HttpError(400, "The request body must be a JSON object.")
    for required in ("model", "messages"):
        if required not in body:
            message = f"Missing required parameter: '{required}'."
            raise HttpError(400, message, param=required)
    unknown = sorted(set(body) - _PASSED - REFUSED_PARAMETERS - {"stream", "stream_options"})
    if unknown:
        raise HttpError(
            400, f"Unrecognized request argument supplied: {', '.join(unknown)}", param=unknown[0]
        )
    stream = body.get("stream") or False
    if not isinstance(stream, bool):
        raise HttpError(400, "Invalid type for 'stream': expected a boolean.", param="stream")
    include_usage = _include_usage(body.get("stream_options"), stream)
    kwargs = {k: v for k, v in body.items() if k not in ("stream", "stream_options")}
    kwargs["metadata"] = _metadata(body.get("metadata"), caller)
    kwargs["request_id"] = request_id
    model = body.get("model")
    return ChatCall(
        kwargs,
        stream,
        include_usage,
        model if isinstance(model, str) else "auto",
        details,
    )


def _include_usage(options: Any, stream: bool) -> bool:
    if options is None:
        return False
    if not stream:
        raise HttpError(
            400,
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
            param="stream_options",
        )
    if not isinstance(options, dict) or set(options) - {"include_usage", "include_obfuscation"}:
        raise HttpError(400, "Invalid 'stream_options': use {'include_usage': true}.")
    return bool(options.get("include_usage"))


def _metadata(metadata: Any, caller: Caller) -> Any:
    """The request's metadata with the key's team and app; a body naming another is refused
    (a caller may not spend another team's budget)."""
    if caller.team is None:
        return metadata
    given = dict(metadata) if isinstance(metadata, dict) else {}
    for name, value in (("team", caller.team), ("app", caller.app)):
        if name in given and given[name] != value:
            raise HttpError(
                403,
                f"metadata.{name} is set by your API key; remove it from the request",
                "permission_error",
                param=f"metadata.{name}",
            )
        if value is not None:
            given[name] = value
    return given if given or metadata is not None else None


# -- answers ------------------------------------------------------------------------------------


def completion_json(result: Completion, details: bool) -> bytes:
    """OpenAI's `chat.completion` object for a routed answer."""
    message: dict[str, Any] = {
        "role": "assistant",
        "content": result.text if result.text or not result.tool_calls else None,
        "refusal": None,
        "annotations": [],
    }
    if result.tool_calls:
        message["tool_calls"] = [call.as_openai() for call in result.tool_calls]
    choice = {
        "index": 0,
        "message": message,
        "logprobs": None,
        "finish_reason": result.finish_reason,
    }
    body: dict[str, Any] = {
        "id": completion_id(result.request_id),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": result.model,
        "choices": [choice],
        "usage": usage_json(result),
        "system_fingerprint": None,
    }
    if details:
        body["router"] = routing_facts(result)
    return json.dumps(body, separators=_COMPACT).encode()


def completion_id(request_id: str) -> str:
    return f"chatcmpl-{request_id}"


def usage_json(result: Completion) -> dict[str, int]:
    usage = result.usage
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
    }


def usd(amount: Decimal) -> str:
    """A USD amount in plain notation (never `0E-7`), to the precision the ledger keeps."""
    return format(amount, "f")


def routing_headers(result: Completion) -> dict[str, str]:
    """Where the request went and what it cost, for any client that can read headers."""
    return {
        "x-router-request-id": result.request_id,
        "x-router-tier": result.tier,
        "x-router-model": result.model,
        "x-router-rule": result.decision.rule,
        "x-router-cost-usd": usd(result.cost_usd),
        "x-router-savings-usd": usd(result.savings_usd),
    }


def routing_facts(result: Completion) -> dict[str, Any]:
    """The optional `router` field: the decision, the money (as strings, to the cent and
    below) and every attempt, without any content."""
    decision = result.decision
    return {
        "request_id": result.request_id,
        "tier": result.tier,
        "model": result.model,
        "rule": decision.rule,
        "reason": decision.reason,
        "score": decision.score,
        "threshold": decision.threshold,
        "escalation_reason": result.escalation_reason,
        "verification": result.verification.status if result.verification else None,
        "cost_usd": usd(result.cost_usd),
        "baseline_usd": usd(result.baseline_usd),
        "savings_usd": usd(result.savings_usd),
        "latency_ms": round(result.latency_ms, 3),
        "attempts": [
            {
                "model": a.model,
                "tier": a.tier,
                "outcome": a.outcome,
                "latency_ms": round(a.latency_ms, 3),
                "cost_usd": usd(a.cost_usd),
            }
            for a in result.attempts
        ],
    }


# -- server-sent events --------------------------------------------------------------------------


class ChunkWriter:
    """The `chat.completion.chunk` events of one streamed answer, as OpenAI writes them: a role
    chunk, content deltas, tool calls, a finish chunk, the usage chunk when asked, `[DONE]`."""

    def __init__(self, call: ChatCall, request_id: str, model: str | None = None) -> None:
        self._call = call
        self._head = {
            "id": completion_id(request_id),
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model or call.requested_model,  # known once the first text arrives
            "system_fingerprint": None,
        }

    def _event(self, choices: list[Any], **extra: Any) -> bytes:
        body: dict[str, Any] = {**self._head, "choices": choices}
        if self._call.include_usage:
            body["usage"] = None
        body.update(extra)
        return b"data: " + json.dumps(body, separators=_COMPACT).encode() + b"\n\n"

    def _delta(self, delta: dict[str, Any], finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return self._event([choice])

    def role(self) -> bytes:
        return self._delta({"role": "assistant", "content": "", "refusal": None})

    def text(self, text: str) -> bytes:
        return self._delta({"content": text})

    def finish(self, result: Completion) -> bytes:
        """Tool calls (each whole, in one delta), the finish chunk, usage and `[DONE]`."""
        self._head["model"] = result.model
        events = [
            self._delta({"tool_calls": [{"index": i, **call.as_openai()}]})
            for i, call in enumerate(result.tool_calls)
        ]
        finish = {"index": 0, "delta": {}, "logprobs": None, "finish_reason": result.finish_reason}
        extra = {"router": routing_facts(result)} if self._call.details else {}
        events.append(self._event([finish], **extra))
        if self._call.include_usage:
            events.append(self._event([], usage=usage_json(result)))
        events.append(b"data: [DONE]\n\n")
        return b"".join(events)

    @staticmethod
    def error(error: HttpError) -> bytes:
        """An error after the stream started: OpenAI's SDKs raise it from the iterator."""
        return b"data: " + json.dumps(error.payload(), separators=_COMPACT).encode() + b"\n\n"
