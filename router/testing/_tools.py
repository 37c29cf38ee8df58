"""Tool calling in the loopback servers: what a fake model does when offered tools, and the
pieces every protocol renders tool calls from."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from router.testing._model import ChatRequest, Reply, ReplyToolCall, Responder

_ARGUMENT_PIECE = 8  # characters of arguments JSON per stream delta


def tool_reply(request: ChatRequest) -> Reply | None:
    """What the loopback model does with tools, as a tool-using model would: told what its
    calls returned, it answers quoting the last result; offered tools (and allowed to call
    them), it calls the one `tool_choice` names, else the first, with arguments that fit the
    tool's schema. None when tools play no part."""
    if request.tool_results:
        result = " ".join(request.tool_results[-1].split())
        return Reply(text=f"The tool returned: {result[:80]}")
    if not request.tools or request.tool_choice == "none":
        return None
    tool = next((t for t in request.tools if t["name"] == request.tool_choice), request.tools[0])
    return Reply(tool_calls=(ReplyToolCall(tool["name"], example_arguments(tool["parameters"])),))


def with_tools(responder: Responder) -> Responder:
    """`responder`, but answering tool requests as `tool_reply` does."""

    def respond(request: ChatRequest) -> Reply:
        return tool_reply(request) or responder(request)

    return respond


def example_arguments(schema: Mapping[str, Any]) -> dict[str, Any]:
    """An object that fits `schema`: its required properties, each with a plausible value."""
    properties = schema.get("properties") or {}
    required = schema.get("required") or []
    return {
        name: example_value(properties.get(name) or {})
        for name in required
        if isinstance(name, str)
    }


def example_value(schema: Mapping[str, Any]) -> Any:
    """A value fitting a (simple) JSON Schema: its const, default or first enum value, else a
    value of its type that respects `minimum`, `minLength` and `minItems`."""
    for key in ("const", "default"):
        if key in schema:
            return schema[key]
    if schema.get("enum"):
        return schema["enum"][0]
    return _typed_value(schema)


def _typed_value(schema: Mapping[str, Any]) -> Any:  # noqa: PLR0911 - one branch per JSON type
    kind = schema.get("type", "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "integer":
        return int(schema.get("minimum", 1))
    if kind == "number":
        return float(schema.get("minimum", 1.0))
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    if kind == "array":
        return [example_value(schema.get("items") or {})] * int(schema.get("minItems", 0))
    if kind == "object":
        return example_arguments(schema)
    return "example".ljust(int(schema.get("minLength", 0)), "x")


def arguments_text(call: ReplyToolCall) -> str:
    """The call's arguments as OpenAI sends them: JSON text (a string is sent as it is)."""
    if isinstance(call.arguments, str):
        return call.arguments
    return json.dumps(dict(call.arguments))


def arguments_object(call: ReplyToolCall) -> dict[str, Any] | None:
    """The call's arguments as Ollama and Anthropic send them: an object; None when a string
    does not parse to one (such a model output is not a tool call to those servers)."""
    if not isinstance(call.arguments, str):
        return dict(call.arguments)
    try:
        value = json.loads(call.arguments)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def argument_pieces(text: str) -> list[str]:
    """Arguments JSON split as servers stream it, a few characters per delta."""
    return [text[i : i + _ARGUMENT_PIECE] for i in range(0, len(text), _ARGUMENT_PIECE)]
