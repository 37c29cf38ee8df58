"""Tools and sampling options on each library's wire: OpenAI's shape for litellm (which turns it
into Anthropic's tool_use blocks itself), Ollama's for the `ollama` client.

Ollama's tool calls carry no id and their arguments are an object; OpenAI's carry an id and
their arguments are JSON text. Both come back as `ToolCall`s in OpenAI's shape.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from router.backends._base import Message, ModelRequest, ToolCall


def new_call_id() -> str:
    """An id in OpenAI's style for a tool call whose server gave none (Ollama)."""
    return f"call_{uuid.uuid4().hex[:24]}"


# -- OpenAI's shape (litellm) -----------------------------------------------------------------


def openai_message(message: Message) -> dict[str, Any]:
    """A message as litellm takes it; an assistant turn that only calls tools has null content
    (an empty text block would be refused by Anthropic)."""
    out = dict(message)
    if "tool_calls" in message:
        out["tool_calls"] = [dict(call) for call in message["tool_calls"]]
        out["content"] = message["content"] or None
    return out


def sampling_args(request: ModelRequest) -> dict[str, Any]:
    """`top_p`, `stop`, `seed`, `tools` and `tool_choice`, only where set."""
    args: dict[str, Any] = {}
    if request.top_p is not None:
        args["top_p"] = request.top_p
    if request.stop:
        args["stop"] = list(request.stop)
    if request.seed is not None:
        args["seed"] = request.seed
    if request.tools:
        args["tools"] = [dict(tool) for tool in request.tools]
        if request.tool_choice is not None:
            args["tool_choice"] = request.tool_choice
    return args


def tool_calls_of(raw: Iterable[Any] | None) -> tuple[ToolCall, ...]:
    """litellm's (OpenAI's) `message.tool_calls` as `ToolCall`s."""
    return tuple(_tool_call(call) for call in raw or ())


def _tool_call(call: Any) -> ToolCall:
    function = _get(call, "function")
    arguments = _get(function, "arguments")
    if not isinstance(arguments, str):  # some providers send an object; OpenAI sends text
        arguments = json.dumps(arguments if arguments is not None else {})
    return ToolCall(_get(call, "id") or new_call_id(), str(_get(function, "name") or ""), arguments)


def field_of(obj: Any, name: str) -> Any:
    """`obj[name]` for a mapping (parsed JSON), else `obj.name` (litellm's objects); or None."""
    return obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)


_get = field_of


@dataclass
class StreamedToolCalls:
    """Tool calls assembled from OpenAI-style stream deltas: the first delta of a call (by
    `index`) has its id and name, later ones pieces of its arguments."""

    _calls: dict[int, list[str]] = field(default_factory=dict)

    def add(self, deltas: Iterable[Any] | None) -> None:
        for delta in deltas or ():
            index = _get(delta, "index")
            entry = self._calls.setdefault(index if isinstance(index, int) else 0, ["", "", ""])
            function = _get(delta, "function")
            entry[0] = _get(delta, "id") or entry[0]
            entry[1] = _get(function, "name") or entry[1]
            entry[2] += _get(function, "arguments") or ""

    def __bool__(self) -> bool:
        return bool(self._calls)

    def finished(self) -> tuple[ToolCall, ...]:
        return tuple(
            ToolCall(call_id or new_call_id(), name, arguments)
            for call_id, name, arguments in (self._calls[i] for i in sorted(self._calls))
        )


# -- Ollama's shape -------------------------------------------------------------------------------


def ollama_messages(messages: Sequence[Message]) -> list[dict[str, Any]]:
    """Messages as Ollama takes them: tool-call arguments as objects, and a tool result named
    by the tool it answers (`tool_name`) rather than by call id."""
    names: dict[str, str] = {}
    out: list[dict[str, Any]] = []
    for message in messages:
        converted: dict[str, Any] = {"role": message["role"], "content": message["content"]}
        for call in message.get("tool_calls", ()):
            names[call["id"]] = call["function"]["name"]
            converted.setdefault("tool_calls", []).append(_ollama_call(call))
        if message["role"] == "tool":
            converted["tool_name"] = names.get(message["tool_call_id"], "")
        out.append(converted)
    return out


def _ollama_call(call: Mapping[str, Any]) -> dict[str, Any]:
    function = call["function"]
    try:
        arguments = json.loads(function["arguments"])
    except ValueError:
        arguments = {}
    if not isinstance(arguments, dict):
        arguments = {}
    return {"function": {"name": function["name"], "arguments": arguments}}


def ollama_tools(request: ModelRequest) -> list[dict[str, Any]] | None:
    """The tools for Ollama, which has no `tool_choice`: "none" offers none; a named function
    offers only that one (the tool-call check enforces the rest on the answer)."""
    choice = request.tool_choice
    if not request.tools or choice == "none":
        return None
    tools = [dict(tool) for tool in request.tools]
    if isinstance(choice, Mapping):
        wanted = choice["function"]["name"]
        tools = [t for t in tools if t["function"]["name"] == wanted]
    return tools


def ollama_tool_calls(raw: Iterable[Any] | None) -> tuple[ToolCall, ...]:
    """Ollama's `message.tool_calls` (arguments as an object) as `ToolCall`s with fresh ids."""
    calls = []
    for call in raw or ():
        function = _get(call, "function")
        arguments = _get(function, "arguments")
        text = json.dumps(dict(arguments) if isinstance(arguments, Mapping) else arguments or {})
        calls.append(ToolCall(new_call_id(), str(_get(function, "name") or ""), text))
    return tuple(calls)
