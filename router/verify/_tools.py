"""The tool-call check: a local answer's calls must name offered tools, obey `tool_choice`, and
carry arguments that parse as a JSON object matching the tool's schema."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from router.backends import ToolCall
from router.verify._compose import Check
from router.verify._context import VerifyContext
from router.verify._verdict import Verdict, failed, passed


def valid_tool_calls() -> Check:
    """Fails an answer whose tool calls a caller could not execute: a tool that was not
    offered, arguments that are not a JSON object or do not match the tool's `parameters`
    schema (with `jsonschema`), or calls that break `tool_choice` ("none": no call;
    "required": at least one; a named function: a call to it). The router adds it to every
    request that offers tools, so a local answer failing it escalates to the frontier."""
    return Check("valid_tool_calls", _valid_tool_calls)


def _valid_tool_calls(ctx: VerifyContext) -> Verdict:
    calls = ctx.answer.tool_calls
    problem = _choice_problem(ctx.tool_choice, calls)
    if problem:
        return failed(problem)
    schemas = {t["function"]["name"]: t["function"].get("parameters") for t in ctx.tools}
    for index, call in enumerate(calls):
        problem = _call_problem(call, schemas)
        if problem:
            return failed(f"tool call {index + 1} of {len(calls)}: {problem}")
    return passed(f"{len(calls)} tool call(s) fit their schemas" if calls else "no tool call")


def _choice_problem(choice: str | Mapping[str, Any] | None, calls: tuple[ToolCall, ...]) -> str:
    if choice == "none" and calls:
        return "tool_choice is 'none' but the answer calls a tool"
    if choice == "required" and not calls:
        return "tool_choice is 'required' but the answer calls no tool"
    if isinstance(choice, Mapping):
        wanted = choice["function"]["name"]
        if not any(call.name == wanted for call in calls):
            return "tool_choice names a function the answer does not call"
    return ""


def _call_problem(call: ToolCall, schemas: Mapping[str, Any]) -> str:
    if call.name not in schemas:
        return "calls a tool that was not offered"
    try:
        arguments = json.loads(call.arguments)
    except ValueError as exc:
        return f"arguments are not valid JSON ({type(exc).__name__} at column {_column(exc)})"
    if not isinstance(arguments, dict):
        return f"arguments are a JSON {type(arguments).__name__}, not an object"
    schema = schemas[call.name]
    return _schema_problem(arguments, schema) if isinstance(schema, Mapping) else ""


def _schema_problem(value: object, schema: Mapping[str, Any]) -> str:
    import jsonschema  # type: ignore[import-untyped]  # noqa: PLC0415 - only when tools are used

    validator_class = jsonschema.validators.validator_for(schema)
    error = jsonschema.exceptions.best_match(validator_class(schema).iter_errors(value))
    if error is None:
        return ""
    # The keyword and path only: the error's message would quote the arguments.
    return f"arguments do not match the schema: {error.validator} at {error.json_path}"


def _column(exc: ValueError) -> int:
    return int(getattr(exc, "colno", 0))
