"""A loopback server speaking OpenAI's chat completions API as litellm and the openai SDK use it."""

from __future__ import annotations

import hmac
import time
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from router.testing._http import Exchange
from router.testing._model import ChatRequest, ReplyToolCall, chat_request, split_chunks
from router.testing._openai_checks import (
    check_sampling,
    openai_stop,
    openai_tool_choice,
    openai_tools,
    tool_results,
)
from router.testing._server import Answer, LoopbackServer, ProtocolError, Route, sse
from router.testing._tools import argument_pieces, arguments_text

_ERROR_TYPES = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
}
_FINGERPRINT = "fp_loopback01"


class OpenAIServer(LoopbackServer):
    """Fake OpenAI on 127.0.0.1: `POST /v1/chat/completions` (JSON and SSE) and `GET /v1/models`.

    With `api_key`, requests need `Authorization: Bearer <api_key>`. With `models`, other model
    names get OpenAI's 404; by default any model name is served.
    """

    stream_content_type: ClassVar[str] = "text/event-stream; charset=utf-8"
    stop_reason: ClassVar[str] = "stop"
    length_reason: ClassVar[str] = "length"
    id_prefix: ClassVar[str] = "chatcmpl-"
    tool_reason: ClassVar[str] = "tool_calls"
    stop_sequence_reason: ClassVar[str] = "stop"

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
        return {
            ("POST", "/v1/chat/completions"): self._chat,
            ("POST", "/chat/completions"): self._chat,
            ("GET", "/v1/models"): self._list_models,
            ("GET", "/models"): self._list_models,
        }

    def _error_body(self, status: int, message: str) -> object:
        kind, code = _ERROR_TYPES.get(status, ("server_error", None))
        return {"error": {"message": message, "type": kind, "param": None, "code": code}}

    def _list_models(self, ex: Exchange) -> None:
        names = self.models or ("gpt-5.4",)
        data = [
            {"id": m, "object": "model", "created": 1_700_000_000, "owned_by": "system"}
            for m in names
        ]
        ex.send_json(200, {"object": "list", "data": data})

    def _check_key(self, ex: Exchange) -> None:
        if self.api_key is None:
            return
        auth = ex.headers.get("authorization", "")
        if not auth.startswith("Bearer "):
            raise ProtocolError(
                401,
                "You didn't provide an API key. You need to provide your API key in an "
                "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
            )
        given = auth.removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), self.api_key.encode()):
            raise ProtocolError(401, f"Incorrect API key provided: {given[:3]}***{given[-4:]}.")

    def _parse(self, ex: Exchange) -> ChatRequest:
        self._check_key(ex)
        body: dict[str, Any] = ex.body
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise ProtocolError(400, "you must provide a model parameter")
        if self.models is not None and model not in self.models:
            raise ProtocolError(
                404, f"The model `{model}` does not exist or you do not have access to it."
            )
        if not isinstance(body.get("messages"), list) or not body["messages"]:
            raise ProtocolError(
                400,
                "Invalid 'messages': empty array. Expected an array with "
                "minimum length 1, but got an empty array instead.",
            )
        limit = body.get("max_completion_tokens", body.get("max_tokens"))
        max_tokens = limit if isinstance(limit, int) else None
        check_sampling(body)
        tools = openai_tools(body.get("tools"))
        return chat_request(
            "openai",
            ex.path,
            body,
            stream=bool(body.get("stream")),
            max_tokens=max_tokens,
            tools=tools,
            tool_choice=openai_tool_choice(body.get("tool_choice"), tools),
            tool_results=tool_results(body["messages"]),
            stop=openai_stop(body.get("stop")),
        )

    def _usage(self, answer: Answer) -> dict[str, Any]:
        prompt, completion = answer.usage.input_tokens, answer.usage.output_tokens
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }

    def _envelope(self, req: ChatRequest, answer: Answer, kind: str) -> dict[str, Any]:
        return {
            "id": answer.id,
            "object": kind,
            "created": int(time.time()),
            "model": req.model,
            "service_tier": "default",
            "system_fingerprint": _FINGERPRINT,
        }

    def _render(self, req: ChatRequest, answer: Answer) -> object:
        message: dict[str, Any] = {
            "role": "assistant",
            "content": answer.text if answer.text or not answer.tool_calls else None,
            "refusal": None,
            "annotations": [],
        }
        if answer.tool_calls:
            message["tool_calls"] = [
                {"id": call_id, "type": "function", "function": _function(call)}
                for call_id, call in zip(answer.call_ids, answer.tool_calls, strict=True)
            ]
        choice = {
            "index": 0,
            "message": message,
            "logprobs": None,
            "finish_reason": answer.finish_reason,
        }
        usage = {} if answer.omit_usage else {"usage": self._usage(answer)}
        return {**self._envelope(req, answer, "chat.completion"), "choices": [choice], **usage}

    def _events(self, req: ChatRequest, answer: Answer) -> list[bytes]:
        options = req.body.get("stream_options")
        with_usage = isinstance(options, dict) and bool(options.get("include_usage"))
        head = self._envelope(req, answer, "chat.completion.chunk")
        extra: dict[str, Any] = {"usage": None} if with_usage else {}

        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            return sse({**head, "choices": [choice], **extra})

        content = "" if answer.text or not answer.tool_calls else None
        first = chunk({"role": "assistant", "content": content, "refusal": None})
        pieces = [chunk({"content": p}) for p in split_chunks(answer.text) if p]
        calls = [chunk({"tool_calls": [delta]}) for delta in _call_deltas(answer)]
        events = [first, *pieces, *calls, chunk({}, answer.finish_reason)]
        if with_usage and not answer.omit_usage:
            events.append(sse({**head, "choices": [], "usage": self._usage(answer)}))
        return [*events, b"data: [DONE]\n\n"]


def _function(call: ReplyToolCall) -> dict[str, str]:
    return {"name": call.name, "arguments": arguments_text(call)}


def _call_deltas(answer: Answer) -> list[dict[str, Any]]:
    """Tool calls as OpenAI streams them: the id and name first (empty arguments), then the
    arguments JSON a few characters at a time, each delta tagged with the call's index."""
    deltas: list[dict[str, Any]] = []
    for index, (call_id, call) in enumerate(zip(answer.call_ids, answer.tool_calls, strict=True)):
        head = {"name": call.name, "arguments": ""}
        deltas.append({"index": index, "id": call_id, "type": "function", "function": head})
        deltas += [
            {"index": index, "function": {"arguments": piece}}
            for piece in argument_pieces(arguments_text(call))
        ]
    return deltas
