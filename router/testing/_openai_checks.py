"""What OpenAI checks in a chat request besides the model and messages: sampling options,
tools, `tool_choice` and tool calls in the conversation, with OpenAI's own error wording."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from router.testing._model import content_text
from router.testing._server import ProtocolError

_MAX_STOP = 4


def _type_error(name: str, expected: str, value: Any) -> ProtocolError:
    got = {str: "a string", int: "an integer", float: "a number", bool: "a boolean"}.get(
        type(value), "an object" if isinstance(value, dict) else "an array"
    )
    return ProtocolError(
        400, f"Invalid type for '{name}': expected {expected}, but got {got} instead."
    )


def check_sampling(body: Mapping[str, Any]) -> None:
    """`seed` an integer, `top_p` in [0, 1], `temperature` in [0, 2]."""
    seed = body.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise _type_error("seed", "an integer", seed)
    for name, high in (("top_p", 1), ("temperature", 2)):
        value = body.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _type_error(name, "a decimal", value)
        if not 0 <= value <= high:
            raise ProtocolError(
                400,
                f"Invalid '{name}': decimal out of range. Expected a value between 0 and "
                f"{high}, but got {value} instead.",
            )


def openai_stop(stop: Any) -> tuple[str, ...]:
    if stop is None:
        return ()
    stops = [stop] if isinstance(stop, str) else stop
    if not isinstance(stops, list) or not all(isinstance(s, str) for s in stops):
        raise _type_error("stop", "a string or an array of strings", stop)
    if len(stops) > _MAX_STOP:
        raise ProtocolError(
            400,
            "Invalid 'stop': array too long. Expected an array with maximum length 4, but got "
            f"an array with length {len(stops)} instead.",
        )
    return tuple(stops)


def openai_tools(tools: Any) -> tuple[Mapping[str, Any], ...]:
    """`tools` as {name, description, parameters}."""
    if tools is None:
        return ()
    if not isinstance(tools, list):
        raise _type_error("tools", "an array", tools)
    result = []
    for index, tool in enumerate(tools):
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(tool, dict) or not isinstance(function, dict):
            raise ProtocolError(400, f"Missing required parameter: 'tools[{index}].function'.")
        if not isinstance(function.get("name"), str):
            raise ProtocolError(400, f"Missing required parameter: 'tools[{index}].function.name'.")
        parameters = function.get("parameters") or {"type": "object", "properties": {}}
        result.append(
            {
                "name": function["name"],
                "description": function.get("description", ""),
                "parameters": parameters,
            }
        )
    return tuple(result)


def openai_tool_choice(choice: Any, tools: Sequence[Mapping[str, Any]]) -> str:
    """`tool_choice` as "auto", "none", "required" or the forced tool's name."""
    if choice is None:
        return "auto"
    if not tools:
        raise ProtocolError(
            400,
            "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are "
            "specified.",
        )
    if choice in ("auto", "none", "required"):
        return str(choice)
    function = choice.get("function") if isinstance(choice, dict) else None
    name = function.get("name") if isinstance(function, dict) else None
    if name not in {t["name"] for t in tools}:
        raise ProtocolError(
            400, "Invalid value for 'tool_choice': the named function is not one of 'tools'."
        )
    return str(name)


def tool_results(messages: Sequence[Any]) -> tuple[str, ...]:
    """Check that tool messages answer the calls before them, as OpenAI does; return the
    results that end the conversation (what the model is now told)."""
    pending: list[str] = []
    for index, message in enumerate(messages):
        role = message.get("role") if isinstance(message, dict) else None
        if role == "tool":
            if message.get("tool_call_id") not in pending:
                raise ProtocolError(
                    400,
                    "Invalid parameter: messages with role 'tool' must be a response to a "
                    "preceeding message with 'tool_calls'.",
                )
            pending.remove(message["tool_call_id"])
            continue
        _unanswered(pending)
        pending = _call_ids(index, message) if role == "assistant" else []
    _unanswered(pending)
    trailing = []
    for message in reversed(messages):
        if not isinstance(message, dict) or message.get("role") != "tool":
            break
        trailing.append(content_text(message.get("content")))
    return tuple(reversed(trailing))


def _call_ids(index: int, message: Mapping[str, Any]) -> list[str]:
    ids = []
    for number, call in enumerate(message.get("tool_calls") or ()):
        where = f"messages[{index}].tool_calls[{number}]"
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict) or not isinstance(call.get("id"), str):
            raise ProtocolError(400, f"Missing required parameter: '{where}.function'.")
        if not isinstance(function.get("arguments"), str):
            raise _type_error(f"{where}.function.arguments", "a string", function.get("arguments"))
        ids.append(call["id"])
    return ids


def _unanswered(pending: Sequence[str]) -> None:
    if pending:
        raise ProtocolError(
            400,
            "An assistant message with 'tool_calls' must be followed by tool messages "
            "responding to each 'tool_call_id'. The following tool_call_ids did not have "
            f"response messages: {', '.join(pending)}",
        )
