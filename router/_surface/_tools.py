"""Tools: function definitions, `tool_choice`, and tool calls and results in the conversation.

Validated as OpenAI validates them, so a request either tier can answer is accepted and one
neither could is refused before any call. Messages never quote argument values in errors.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any

from router.backends._base import Message, ToolCall
from router.errors import InvalidRequestError

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_MAX_TOOLS = 128  # OpenAI's limit
_CHOICES = ("none", "auto", "required")
_TOOL_KEYS = frozenset({"type", "function"})
_FUNCTION_KEYS = frozenset({"name", "description", "parameters", "strict"})
_BASE_KEYS = frozenset({"role", "content", "name"})
_ROLE_KEYS = {
    "assistant": frozenset({"tool_calls", "refusal", "annotations", "audio", "function_call"}),
    "tool": frozenset({"tool_call_id"}),
}
# Keys OpenAI's SDKs write back (null or empty) when an earlier answer is replayed as a message.
_EMPTY_ONLY = frozenset({"refusal", "annotations", "audio", "function_call"})
_EMPTY_PARAMETERS: Mapping[str, Any] = {"type": "object", "properties": {}}


def check_tools(tools: Any) -> tuple[Mapping[str, Any], ...]:
    """OpenAI function tools, normalised to plain JSON: `{"type": "function", "function":
    {"name", "description"?, "parameters", "strict"?}}`. `parameters` must be a valid JSON
    Schema for an object (the tool-call verifier checks local answers against it)."""
    if tools is None:
        return ()
    if isinstance(tools, str | bytes | Mapping) or not isinstance(tools, Sequence):
        raise InvalidRequestError(
            "`tools` must be a list of {'type': 'function', 'function': {'name': ..., "
            "'parameters': {...}}}"
        )
    if len(tools) > _MAX_TOOLS:
        raise InvalidRequestError(f"`tools` has {len(tools)} tools; at most {_MAX_TOOLS} allowed")
    checked = tuple(_check_tool(i, tool) for i, tool in enumerate(tools))
    names = [tool_name(t) for t in checked]
    for index, name in enumerate(names):
        if name in names[:index]:
            raise InvalidRequestError(f"tools[{index}].function.name repeats an earlier tool's")
    return checked


def tool_name(tool: Mapping[str, Any]) -> str:
    name: str = tool["function"]["name"]
    return name


def _check_tool(index: int, tool: Any) -> Mapping[str, Any]:
    where = f"tools[{index}]"
    if not isinstance(tool, Mapping) or tool.get("type") != "function":
        raise InvalidRequestError(f"{where}.type must be 'function' (the kind both tiers call)")
    _no_other_keys(where, tool, _TOOL_KEYS)
    function = tool.get("function")
    if not isinstance(function, Mapping):
        raise InvalidRequestError(f"{where}.function must be an object with a 'name'")
    _no_other_keys(f"{where}.function", function, _FUNCTION_KEYS)
    name = function.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InvalidRequestError(
            f"{where}.function.name must be 1 to 64 letters, digits, underscores or dashes"
        )
    result: dict[str, Any] = {"name": name}
    description = function.get("description")
    if description is not None:
        if not isinstance(description, str):
            raise InvalidRequestError(f"{where}.function.description must be a string")
        result["description"] = description
    result["parameters"] = _check_parameters(where, function.get("parameters"))
    strict = function.get("strict")
    if strict is not None:
        if not isinstance(strict, bool):
            raise InvalidRequestError(f"{where}.function.strict must be true or false")
        result["strict"] = strict
    return {"type": "function", "function": result}


def _check_parameters(where: str, parameters: Any) -> Mapping[str, Any]:
    if parameters is None:
        return dict(_EMPTY_PARAMETERS)
    at = f"{where}.function.parameters"
    if not isinstance(parameters, Mapping):
        raise InvalidRequestError(f"{at} must be a JSON Schema object")
    try:
        plain: dict[str, Any] = json.loads(json.dumps(parameters))
    except (TypeError, ValueError):
        raise InvalidRequestError(f"{at} must be plain JSON (strings, numbers, lists...)") from None
    if plain.get("type", "object") != "object":
        raise InvalidRequestError(f"{at}.type must be 'object': arguments are a JSON object")
    problem = schema_problem(plain)
    if problem:
        raise InvalidRequestError(f"{at} is not a valid JSON Schema: {problem}")
    return plain


def schema_problem(schema: Mapping[str, Any]) -> str:
    """Why `schema` is not a valid JSON Schema ("" when it is); names the keyword and path."""
    import jsonschema  # type: ignore[import-untyped]  # noqa: PLC0415 - only when tools are given

    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.SchemaError as exc:
        return f"{exc.validator} at {exc.json_path}"
    return ""


def check_tool_choice(
    choice: Any, tools: Sequence[Mapping[str, Any]]
) -> str | Mapping[str, Any] | None:
    """OpenAI's `tool_choice`: "none", "auto", "required" or `{"type": "function",
    "function": {"name": ...}}` naming one of `tools`. It needs tools (as OpenAI says)."""
    if choice is None:
        return None
    if not tools:
        raise InvalidRequestError("`tool_choice` is set but `tools` is empty; pass tools too")
    if isinstance(choice, str):
        if choice not in _CHOICES:
            raise InvalidRequestError("`tool_choice` must be 'none', 'auto', 'required' or a tool")
        return choice
    function = choice.get("function") if isinstance(choice, Mapping) else None
    name = function.get("name") if isinstance(function, Mapping) else None
    if not isinstance(choice, Mapping) or choice.get("type") != "function" or name is None:
        raise InvalidRequestError(
            "`tool_choice` must be 'none', 'auto', 'required' or "
            "{'type': 'function', 'function': {'name': ...}}"
        )
    if name not in {tool_name(t) for t in tools}:
        raise InvalidRequestError("`tool_choice` names a function that is not in `tools`")
    return {"type": "function", "function": {"name": name}}


# -- tool calls and results inside the conversation ----------------------------------------------


def message_tool_fields(where: str, role: str, message: Mapping[str, Any]) -> dict[str, Any]:
    """Check a message's keys for its role; return its tool fields (`tool_calls` of an
    assistant message, `tool_call_id` of a tool result), normalised."""
    _no_other_keys(where, message, _BASE_KEYS | _ROLE_KEYS.get(role, frozenset()))
    for key in _EMPTY_ONLY & set(message):
        if message[key]:
            fix = "use tool_calls" if key == "function_call" else "the router sends text only"
            raise InvalidRequestError(f"{where}.{key} is not supported; {fix}")
    if role == "tool":
        call_id = message.get("tool_call_id")
        if not isinstance(call_id, str) or not call_id:
            raise InvalidRequestError(f"{where}.tool_call_id must name the call it answers")
        return {"tool_call_id": call_id}
    calls = message.get("tool_calls")
    if role != "assistant" or not calls:
        return {}
    if isinstance(calls, str | bytes | Mapping) or not isinstance(calls, Sequence):
        raise InvalidRequestError(f"{where}.tool_calls must be a list of tool calls")
    checked = (_check_call(f"{where}.tool_calls[{i}]", call) for i, call in enumerate(calls))
    return {"tool_calls": tuple(checked)}


def _check_call(where: str, call: Any) -> Mapping[str, Any]:
    function = call.get("function") if isinstance(call, Mapping) else None
    if not isinstance(call, Mapping) or not isinstance(function, Mapping):
        raise InvalidRequestError(f"{where} must be {{'id', 'type': 'function', 'function'}}")
    call_id, name, arguments = call.get("id"), function.get("name"), function.get("arguments")
    if not isinstance(call_id, str) or not call_id:
        raise InvalidRequestError(f"{where}.id must be a non-empty string")
    if call.get("type", "function") != "function" or not isinstance(name, str) or not name:
        raise InvalidRequestError(f"{where} must be a function call with a name")
    if not isinstance(arguments, str):
        raise InvalidRequestError(f"{where}.function.arguments must be a JSON string")
    return ToolCall(call_id, name, arguments).as_openai()


def check_tool_sequence(messages: Sequence[Message]) -> None:
    """Every assistant tool call is answered by a tool message right after it, and every tool
    message answers one (OpenAI and Anthropic both refuse a conversation that breaks this)."""
    pending: list[str] = []
    for index, message in enumerate(messages):
        where, role = f"messages[{index}]", message["role"]
        if role == "tool":
            if message["tool_call_id"] not in pending:
                raise InvalidRequestError(
                    f"{where}.tool_call_id does not answer a tool call of the assistant "
                    "message before it"
                )
            pending.remove(message["tool_call_id"])
            continue
        if pending:
            raise InvalidRequestError(
                f"{where}: {len(pending)} tool call(s) of the assistant message before it have "
                "no tool message answering them; add one per tool_call_id"
            )
        ids = [call["id"] for call in message.get("tool_calls", ())]
        if len(set(ids)) != len(ids):
            raise InvalidRequestError(f"{where}.tool_calls repeats a tool call id")
        pending = ids
    if pending:
        raise InvalidRequestError(
            "the last assistant message's tool calls have no tool results; append a tool "
            "message per tool_call_id (or drop the tool_calls)"
        )


def _no_other_keys(where: str, value: Mapping[str, Any], allowed: frozenset[str]) -> None:
    extra = set(value) - allowed
    if extra:
        keys = sorted(map(str, extra))  # keys may be of any (mixed) type
        raise InvalidRequestError(
            f"{where} has unsupported keys {keys}; allowed: {sorted(allowed)}"
        )


# -- what is sent, for the privacy scan ------------------------------------------------------------


def outgoing_texts(
    messages: Sequence[Message], tools: Sequence[Mapping[str, Any]], stop: Sequence[str]
) -> list[str]:
    """Every text a request sends a model: message contents, tool-call arguments, the tool
    definitions (as JSON) and stop sequences, in the order `rebuild_outgoing` reads them."""
    texts: list[str] = []
    for message in messages:
        texts.append(message["content"])
        texts.extend(call["function"]["arguments"] for call in message.get("tool_calls", ()))
    if tools:
        texts.append(json.dumps(list(tools), ensure_ascii=False))
    texts.extend(stop)
    return texts


def rebuild_outgoing(
    messages: Sequence[Message],
    tools: Sequence[Mapping[str, Any]],
    stop: Sequence[str],
    texts: Sequence[str],
) -> tuple[tuple[Message, ...], tuple[Mapping[str, Any], ...], tuple[str, ...]] | None:
    """The request with `texts` (from `outgoing_texts`, redacted) put back in place; None when
    the redacted tool definitions no longer parse (the request must then stay local)."""
    it = iter(texts)
    rebuilt = tuple(_rebuilt_message(m, it) for m in messages)
    new_tools: tuple[Mapping[str, Any], ...] = ()
    if tools:
        try:
            new_tools = tuple(json.loads(next(it)))
        except ValueError:
            return None
    return rebuilt, new_tools, tuple(it)


def _rebuilt_message(message: Message, texts: Iterator[str]) -> Message:
    rebuilt: dict[str, Any] = {**message, "content": next(texts)}
    if "tool_calls" in message:
        rebuilt["tool_calls"] = tuple(
            {**call, "function": {**call["function"], "arguments": next(texts)}}
            for call in message["tool_calls"]
        )
    return rebuilt


def restore_tool_calls(
    calls: Sequence[ToolCall], mapping: Mapping[str, str]
) -> tuple[ToolCall, ...]:
    """Tool calls of a frontier answer with redacted values put back: inside each JSON string
    when the arguments parse (so a value needing escapes stays valid JSON), else as text."""
    return tuple(replace(c, arguments=_restored_arguments(c.arguments, mapping)) for c in calls)


def _restored_arguments(arguments: str, mapping: Mapping[str, str]) -> str:
    from router.privacy import restore  # noqa: PLC0415 - only for a redacted request

    try:
        value = json.loads(arguments)
    except ValueError:
        return restore(arguments, mapping)

    def walk(node: Any) -> Any:
        if isinstance(node, str):
            return restore(node, mapping)
        if isinstance(node, list):
            return [walk(item) for item in node]
        if isinstance(node, dict):
            return {key: walk(item) for key, item in node.items()}
        return node

    return json.dumps(walk(value), ensure_ascii=False)


def check_json_schema_format(fmt: Mapping[str, Any]) -> None:
    """`response_format` of type json_schema: `{"json_schema": {"name", "schema", "strict"?}}`
    with a valid JSON Schema (the `valid_json` verifier checks local answers against it)."""
    spec = fmt.get("json_schema")
    schema = spec.get("schema") if isinstance(spec, Mapping) else None
    if not isinstance(schema, Mapping):
        raise InvalidRequestError(
            "`response_format.json_schema.schema` is required for type json_schema: "
            "{'type': 'json_schema', 'json_schema': {'name': ..., 'schema': {...}}}"
        )
    problem = schema_problem(schema)
    if problem:
        raise InvalidRequestError(
            f"`response_format.json_schema.schema` is not a valid JSON Schema: {problem}"
        )
