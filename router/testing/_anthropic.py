"""A loopback server speaking Anthropic's Messages API (`POST /v1/messages`, JSON and SSE)."""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from router.testing._http import Exchange
from router.testing._model import ChatRequest, chat_request, content_text, split_chunks
from router.testing._server import Answer, LoopbackServer, ProtocolError, Route, sse

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
        return chat_request(
            "anthropic",
            ex.path,
            body,
            stream=bool(body.get("stream")),
            max_tokens=max_tokens,
            system=system,
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
            "content": [] if streaming else [{"type": "text", "text": answer.text}],
            "stop_reason": None if streaming else answer.finish_reason,
            "stop_sequence": None,
            "usage": usage,
        }
        if answer.omit_usage:
            del message["usage"]
        return message

    def _render(self, req: ChatRequest, answer: Answer) -> object:
        return self._message(req, answer, streaming=False)

    def _events(self, req: ChatRequest, answer: Answer) -> list[bytes]:
        start = {"type": "message_start", "message": self._message(req, answer, streaming=True)}
        block = {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "text", "text": ""},
        }
        deltas = [
            sse(
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": piece},
                },
                "content_block_delta",
            )
            for piece in split_chunks(answer.text)
            if piece
        ]
        end: dict[str, Any] = {
            "type": "message_delta",
            "delta": {"stop_reason": answer.finish_reason, "stop_sequence": None},
            "usage": {"output_tokens": answer.usage.output_tokens},
        }
        if answer.omit_usage:
            del end["usage"]
        return [
            sse(start, "message_start"),
            sse(block, "content_block_start"),
            sse({"type": "ping"}, "ping"),
            *deltas,
            sse({"type": "content_block_stop", "index": 0}, "content_block_stop"),
            sse(end, "message_delta"),
            sse({"type": "message_stop"}, "message_stop"),
        ]
