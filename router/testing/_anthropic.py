"""A loopback server speaking Anthropic's Messages API (`POST /v1/messages`, JSON and SSE)."""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from router.testing._anthropic_checks import (
    anthropic_stop,
    anthropic_tool_choice,
    anthropic_tools,
    tool_results,
)
from router.testing._http import Exchange
from router.testing._model import ChatRequest, chat_request, content_text, split_chunks
from router.testing._server import Answer, LoopbackServer, ProtocolError, Route, sse
from router.testing._tools import argument_pieces, arguments_object

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    503: "overloaded_error",
    529: "overloaded_error",
}


class AnthropicServer(LoopbackServer):
    """Fake Anthropic on 127.0.0.1. With `api_key`, requests need a matching `x-api-key` header.

    As the real API does, it requires the `anthropic-version` header and `max_tokens`, and with
    `models` answers other model names with a 404 `not_found_error`.
    """

    stream_content_type: ClassVar[str] = "text/event-stream; charset=utf-8"
    stop_reason: ClassVar[str] = "end_turn"
    length_reason: ClassVar[str] = "max_tokens"
    id_prefix: ClassVar[str] = "msg_"
    tool_reason: ClassVar[str] = "tool_use"
    stop_sequence_reason: ClassVar[str] = "stop_sequence"
    call_id_prefix: ClassVar[str] = "toolu_"

    def __init__(
        self,
        api_key: str | None = None,
        *,
        models: Sequence[str] | None = None,
        hang_timeout: float = 30.0,
        keep_alive: bool = False,
    ) -> None:
        super().__init__(hang_timeout=hang_timeout, keep_alive=keep_alive)
        self.api_key = api_key
        self.models = tuple(models) if models is not None else None

    def _routes(self) -> Mapping[tuple[str, str], Route]:
        return {("POST", "/v1/messages"): self._chat}

    def _not_found(self, ex: Exchange) -> None:
        self._send_error(ex, 404, "Not Found")

    def _error_body(self, status: int, message: str) -> object:
        kind = _ERROR_TYPES.get(status, "api_error")
        return {"type": "error", "error": {"type": kind, "message": message}}

    def _check_headers(self, ex: Exchange) -> None:
        if self.api_key is not None:
            given = ex.headers.get("x-api-key")
            if given is None:
                raise ProtocolError(401, "x-api-key header is required")
            if not hmac.compare_digest(given.encode(), self.api_key.encode()):
                raise ProtocolError(401, "invalid x-api-key")
        if "anthropic-version" not in ex.headers:
            raise ProtocolError(400, "anthropic-version: header is required")

    def _parse(self, ex: Exchange) -> ChatRequest:
        self._check_headers(ex)
        body: dict[str, Any] = ex.body
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise ProtocolError(400, "model: Field required")
        if self.models is not None and model not in self.models:
            raise ProtocolError(404, f"model: {model}")
        max_tokens = body.get("max_tokens")
        if not isinstance(max_tokens, int):
            raise ProtocolError(400, "max_tokens: Field required")
        if not isinstance(body.get("messages"), list) or not body["messages"]:
            raise ProtocolError(400, "messages: at least one message is required")
        system = content_text(body.get("system", ""))
        tools = anthropic_tools(body.get("tools"))
        return chat_request(
            "anthropic",
            ex.path,
            body,
            stream=bool(body.get("stream")),
            max_tokens=max_tokens,
            system=system,
            tools=tools,
            tool_choice=anthropic_tool_choice(body.get("tool_choice"), tools),
            tool_results=tool_results(body["messages"]),
            stop=anthropic_stop(body.get("stop_sequences")),
        )

    def _message(self, req: ChatRequest, answer: Answer, *, streaming: bool) -> dict[str, Any]:
        usage = {
            "input_tokens": answer.usage.input_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": 1 if streaming else answer.usage.output_tokens,
            "service_tier": "standard",
        }
        message = {
            "id": answer.id,
            "type": "message",
            "role": "assistant",
            "model": req.model,
            "content": [] if streaming else _blocks(answer),
            "stop_reason": None if streaming else answer.finish_reason,
            "stop_sequence": None if streaming else answer.stop_sequence,
            "usage": usage,
        }
        if answer.omit_usage:
            del message["usage"]
        return message

    def _render(self, req: ChatRequest, answer: Answer) -> object:
        return self._message(req, answer, streaming=False)

    def _events(self, req: ChatRequest, answer: Answer) -> list[bytes]:
        start = {"type": "message_start", "message": self._message(req, answer, streaming=True)}
        end: dict[str, Any] = {
            "type": "message_delta",
            "delta": {"stop_reason": answer.finish_reason, "stop_sequence": answer.stop_sequence},
            "usage": {"output_tokens": answer.usage.output_tokens},
        }
        if answer.omit_usage:
            del end["usage"]
        blocks = [e for i, b in enumerate(_blocks(answer)) for e in _block_events(i, b)]
        blocks.insert(1, sse({"type": "ping"}, "ping"))  # after the first block opens, as Anthropic
        return [
            sse(start, "message_start"),
            *blocks,
            sse(end, "message_delta"),
            sse({"type": "message_stop"}, "message_stop"),
        ]


def _blocks(answer: Answer) -> list[dict[str, Any]]:
    """The answer's content blocks: its text (when it has some, or nothing else), then a
    tool_use block per call, with the arguments as an object."""
    blocks: list[dict[str, Any]] = []
    if answer.text or not answer.tool_calls:
        blocks.append({"type": "text", "text": answer.text})
    for call_id, call in zip(answer.call_ids, answer.tool_calls, strict=True):
        arguments = arguments_object(call) or {}
        blocks.append({"type": "tool_use", "id": call_id, "name": call.name, "input": arguments})
    return blocks


def _block_events(index: int, block: dict[str, Any]) -> list[bytes]:
    """One content block as Anthropic streams it: start (empty), deltas, stop."""
    if block["type"] == "text":
        empty: dict[str, Any] = {"type": "text", "text": ""}
        deltas = [{"type": "text_delta", "text": p} for p in split_chunks(block["text"]) if p]
    else:
        empty = {**block, "input": {}}
        pieces = argument_pieces(json.dumps(block["input"]))
        deltas = [{"type": "input_json_delta", "partial_json": p} for p in ["", *pieces]]
    start = {"type": "content_block_start", "index": index, "content_block": empty}
    return [
        sse(start, "content_block_start"),
        *(
            sse({"type": "content_block_delta", "index": index, "delta": d}, "content_block_delta")
            for d in deltas
        ),
        sse({"type": "content_block_stop", "index": index}, "content_block_stop"),
    ]
