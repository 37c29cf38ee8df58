"""Anthropic's tool use as the Messages API checks it: `tools` with an `input_schema`,
`tool_choice`, and `tool_use` blocks answered by `tool_result` blocks in the next message."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from router.testing._model import content_text
from router.testing._server import ProtocolError

_CHOICES = {"auto": "auto", "any": "required", "none": "none"}


def anthropic_tools(tools: Any) -> tuple[Mapping[str, Any], ...]:
    """`tools` as {name, description, parameters}."""
    if tools is None:
        return ()
    if not isinstance(tools, list):
        raise ProtocolError(400, "tools: Input should be a valid list")
    result = []
    for index, tool in enumerate(tools):
        if not isinstance(tool, dict) or not isinstance(tool.get("name"), str):
            raise ProtocolError(400, f"tools.{index}.custom.name: Field required")
        if not isinstance(tool.get("input_schema"), dict):
            raise ProtocolError(400, f"tools.{index}.custom.input_schema: Field required")
        result.append(
            {
                "name": tool["name"],
                "description": tool.get("description", ""),
                "parameters": tool["input_schema"],
            }
        )
    return tuple(result)


def anthropic_tool_choice(choice: Any, tools: Sequence[Mapping[str, Any]]) -> str:
    """`tool_choice` ({"type": "auto" | "any" | "tool" | "none"}) as "auto", "required",
    "none" or the forced tool's name."""
    if choice is None:
        return "auto"
    kind = choice.get("type") if isinstance(choice, dict) else None
    if kind in _CHOICES:
        return _CHOICES[kind]
    if kind != "tool":
        raise ProtocolError(400, "tool_choice: Input tag does not match any of the expected tags")
    name = choice.get("name")
    if name not in {t["name"] for t in tools}:
        raise ProtocolError(400, f"tool_choice.name: tool {name!r} is not one of tools")
    return str(name)


def tool_results(messages: Sequence[Any]) -> tuple[str, ...]:
    """Check tool_use/tool_result pairing as Anthropic does; return the texts of the results
    in the last message (what the model is now told)."""
    pending: set[str] = set()
    for index, message in enumerate(messages):
        blocks = _blocks(message)
        answered = {b.get("tool_use_id") for b in blocks if b.get("type") == "tool_result"}
        for number, block in enumerate(blocks):
            if block.get("type") == "tool_result" and block.get("tool_use_id") not in pending:
                raise ProtocolError(
                    400,
                    f"messages.{index}.content.{number}: unexpected `tool_use_id` found in "
                    "`tool_result` blocks. Each `tool_result` block must have a corresponding "
                    "`tool_use` block in the previous message.",
                )
        if pending - answered:
            raise ProtocolError(
                400,
                f"messages.{index}: `tool_use` ids were found without `tool_result` blocks "
                f"immediately after: {', '.join(sorted(pending - answered))}. Each `tool_use` "
                "block must have a corresponding `tool_result` block in the next message.",
            )
        pending = {str(b.get("id")) for b in blocks if b.get("type") == "tool_use"}
    last = _blocks(messages[-1]) if messages else []
    return tuple(content_text(b.get("content")) for b in last if b.get("type") == "tool_result")


def _blocks(message: Any) -> list[dict[str, Any]]:
    content = message.get("content") if isinstance(message, dict) else None
    return [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []


def anthropic_stop(stop: Any) -> tuple[str, ...]:
    if stop is None:
        return ()
    if not isinstance(stop, list) or not all(isinstance(s, str) for s in stop):
        raise ProtocolError(400, "stop_sequences: Input should be a valid list of strings")
    return tuple(stop)
