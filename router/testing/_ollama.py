"""A loopback server speaking Ollama's HTTP API (`/api/chat`, `/api/generate`, `/api/tags`, ...)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar

from router.testing._http import Exchange
from router.testing._model import ChatRequest, chat_request, split_chunks
from router.testing._server import Answer, LoopbackServer, ProtocolError, Route, json_line
from router.testing._tools import arguments_object

VERSION = "0.17.0"
_TEXT = "text/plain; charset=utf-8"
_MODIFIED_AT = "2026-03-01T12:00:00.000000000Z"


def _full_name(model: str) -> str:
    return model if ":" in model else f"{model}:latest"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class OllamaServer(LoopbackServer):
    """Fake Ollama on 127.0.0.1, faithful to what the `ollama` package and real Ollama exchange.

    Only `models` are "pulled": other names get Ollama's 404. `options.num_predict` truncates the
    answer (`done_reason: "length"`). Streaming is NDJSON, and is the default as in Ollama.
    """

    stream_content_type: ClassVar[str] = "application/x-ndjson"
    stop_reason: ClassVar[str] = "stop"
    length_reason: ClassVar[str] = "length"
    id_prefix: ClassVar[str] = "ollama-"
    tool_reason: ClassVar[str] = "stop"  # Ollama says "stop" after tool calls too
    stop_sequence_reason: ClassVar[str] = "stop"

    def __init__(
        self,
        models: Sequence[str] = ("qwen3.5:9b",),
        *,
        context_length: int = 262144,
        hang_timeout: float = 30.0,
        keep_alive: bool = False,
    ) -> None:
        super().__init__(hang_timeout=hang_timeout, keep_alive=keep_alive)
        self.models = tuple(_full_name(m) for m in models)
        self.context_length = context_length

    def _routes(self) -> Mapping[tuple[str, str], Route]:
        return {
            ("GET", "/"): lambda ex: ex.send(200, b"Ollama is running", _TEXT),
            ("HEAD", "/"): lambda ex: ex.send(200, b"", _TEXT),
            ("GET", "/api/version"): lambda ex: ex.send_json(200, {"version": VERSION}),
            ("GET", "/api/tags"): self._tags,
            ("GET", "/api/ps"): lambda ex: ex.send_json(200, {"models": []}),
            ("POST", "/api/show"): self._show,
            ("POST", "/api/chat"): self._chat,
            ("POST", "/api/generate"): self._chat,
        }

    def _not_found(self, ex: Exchange) -> None:
        ex.send(404, b"404 page not found", "text/plain")

    def _error_body(self, status: int, message: str) -> object:
        return {"error": message}

    def _details(self, model: str) -> dict[str, Any]:
        family = model.split(":", maxsplit=1)[0].replace(".", "")
        size = re.search(r"(\d+(?:\.\d+)?)[bB]", model.rsplit(":", maxsplit=1)[-1])
        return {
            "parent_model": "",
            "format": "gguf",
            "family": family,
            "families": [family],
            "parameter_size": f"{size.group(1)}B" if size else "7B",
            "quantization_level": "Q4_K_M",
        }

    def _tags(self, ex: Exchange) -> None:
        models = [
            {
                "name": m,
                "model": m,
                "modified_at": _MODIFIED_AT,
                "size": 6_600_000_000,
                "digest": hashlib.sha256(m.encode()).hexdigest(),
                "details": self._details(m),
            }
            for m in self.models
        ]
        ex.send_json(200, {"models": models})

    def _show(self, ex: Exchange) -> None:
        body = ex.body if isinstance(ex.body, dict) else {}
        model = _full_name(str(body.get("model") or body.get("name") or ""))
        if model not in self.models:
            self._send_error(ex, 404, f'model "{body.get("model", "")}" not found')
            return
        details = self._details(model)
        family = details["family"]
        ex.send_json(
            200,
            {
                "license": "Apache License 2.0",
                "modelfile": f"FROM {model}\n",
                "parameters": "temperature 1\ntop_k 20\ntop_p 0.95",
                "template": "{{ .Prompt }}",
                "details": details,
                "model_info": {
                    "general.architecture": family,
                    "general.basename": model.split(":")[0],
                    "general.parameter_count": 9_000_000_000,
                    f"{family}.context_length": self.context_length,
                    f"{family}.embedding_length": 4096,
                },
                "capabilities": ["completion", "tools", "thinking"],
                "modified_at": _MODIFIED_AT,
            },
        )

    def _parse(self, ex: Exchange) -> ChatRequest:
        body: dict[str, Any] = ex.body
        model = str(body.get("model") or "")
        if not model:
            raise ProtocolError(400, "model is required")
        if _full_name(model) not in self.models:
            raise ProtocolError(404, f'model "{model}" not found, try pulling it first')
        options = body.get("options") or {}
        limit = options.get("num_predict") if isinstance(options, dict) else None
        max_tokens = limit if isinstance(limit, int) else None
        stop = options.get("stop") if isinstance(options, dict) else None
        stream = body.get("stream", True) is not False
        if ex.path == "/api/generate":
            messages = [{"role": "user", "content": str(body.get("prompt", ""))}]
            return chat_request(
                "ollama",
                ex.path,
                {**body, "messages": messages},
                stream=stream,
                max_tokens=max_tokens,
                system=str(body.get("system", "")),
            )
        tools = ollama_tools(body.get("tools"))
        return chat_request(
            "ollama",
            ex.path,
            body,
            stream=stream,
            max_tokens=max_tokens,
            tools=tools,
            tool_results=tool_results(body.get("messages")),
            stop=tuple(s for s in stop or () if isinstance(s, str)),
        )

    def _chunk(self, req: ChatRequest, text: str, answer: Answer) -> dict[str, Any]:
        out: dict[str, Any] = {"model": req.model, "created_at": _now()}
        if req.path == "/api/generate":
            out["response"] = text
        else:
            out["message"] = {"role": "assistant", "content": text}
        if req.body.get("logprobs") and text:
            out["logprobs"] = self._logprobs(req, text, answer.logprob)
        return out

    def _logprobs(self, req: ChatRequest, text: str, logprob: float) -> list[dict[str, Any]]:
        top = req.body.get("top_logprobs") or 0
        entries = []
        for token in split_chunks(text):
            alts = [{"token": token, "logprob": logprob}]
            alts += [{"token": f"<alt{i}>", "logprob": logprob - 2.0 - i} for i in range(top - 1)]
            entry: dict[str, Any] = {"token": token, "logprob": logprob}
            if top:
                entry["top_logprobs"] = alts
            entries.append(entry)
        return entries

    def _final(self, answer: Answer) -> dict[str, Any]:
        """The closing fields, with made-up but consistent timings (40 tokens/s)."""
        prompt, completion = answer.usage.input_tokens, answer.usage.output_tokens
        load, prompt_ns, eval_ns = 50_000_000, prompt * 1_000_000, completion * 25_000_000
        final = {
            "done": True,
            "done_reason": answer.finish_reason,
            "total_duration": load + prompt_ns + eval_ns,
            "load_duration": load,
            "prompt_eval_count": prompt,
            "prompt_eval_duration": prompt_ns,
            "eval_count": completion,
            "eval_duration": eval_ns,
        }
        if answer.omit_usage:
            del final["prompt_eval_count"], final["eval_count"]
        return final

    def _render(self, req: ChatRequest, answer: Answer) -> object:
        text, calls = _text_and_calls(answer)
        out = {**self._chunk(req, text, answer), **self._final(answer)}
        if calls:
            out["message"]["tool_calls"] = calls
        return out

    def _events(self, req: ChatRequest, answer: Answer) -> list[bytes]:
        text, calls = _text_and_calls(answer)
        lines = [
            json_line({**self._chunk(req, piece, answer), "done": False})
            for piece in split_chunks(text)
            if piece
        ]
        if calls:  # each call arrives whole, in a chunk of its own before the final one
            call_chunk = self._chunk(req, "", answer)
            call_chunk["message"]["tool_calls"] = calls
            lines.append(json_line({**call_chunk, "done": False}))
        return [*lines, json_line({**self._chunk(req, "", answer), **self._final(answer)})]


def _text_and_calls(answer: Answer) -> tuple[str, list[dict[str, Any]]]:
    """Ollama's message: the text and `tool_calls` with arguments as objects. A call whose
    arguments do not parse to an object is no tool call to Ollama: it stays in the text."""
    text, calls = answer.text, []
    for call in answer.tool_calls:
        arguments = arguments_object(call)
        if arguments is None:
            text += str(call.arguments)
        else:
            calls.append({"function": {"name": call.name, "arguments": arguments}})
    return text, calls


def ollama_tools(tools: Any) -> tuple[Mapping[str, Any], ...]:
    """`tools` ([{"type": "function", "function": {...}}], as OpenAI's) as {name, ...}."""
    if tools is None:
        return ()
    result = []
    for tool in tools if isinstance(tools, list) else ():
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise ProtocolError(400, "invalid tool: function name is required")
        parameters = function.get("parameters") or {"type": "object", "properties": {}}
        result.append({"name": function["name"], "parameters": parameters})
    return tuple(result)


def tool_results(messages: Any) -> tuple[str, ...]:
    """Check the tool calls in the conversation as Ollama's JSON decoding does (arguments
    must be objects); return the tool results that end it."""
    trailing: list[str] = []
    for message in messages if isinstance(messages, list) else ():
        if not isinstance(message, dict):
            continue
        for call in message.get("tool_calls") or ():
            function = call.get("function") if isinstance(call, dict) else None
            arguments = function.get("arguments") if isinstance(function, dict) else None
            if arguments is not None and not isinstance(arguments, dict):
                raise ProtocolError(
                    400,
                    "json: cannot unmarshal string into Go struct field "
                    "ToolCallFunction.messages.tool_calls.function.arguments of type "
                    "api.ToolCallFunctionArguments",
                )
        is_result = message.get("role") == "tool"
        trailing = [*trailing, str(message.get("content") or "")] if is_result else []
    return tuple(trailing)
