"""The tool-call check, and prose checks standing aside for an answer that is only tool calls."""

from __future__ import annotations

from typing import Any

import pytest

from router.backends import ModelResponse, ToolCall
from router.verify import VerifyContext, run_verifiers, self_check, structural, valid_json
from router.verify import valid_tool_calls as check

SCHEMA = {
    "type": "object",
    "properties": {"q": {"type": "string"}, "n": {"type": "integer", "maximum": 5}},
    "required": ["q"],
    "additionalProperties": False,
}
TOOLS = ({"type": "function", "function": {"name": "search", "parameters": SCHEMA}},)


def ctx(*calls: ToolCall, text: str = "", choice: Any = None, tools: Any = TOOLS) -> VerifyContext:
    answer = ModelResponse(text, "qwen", 10, 5, "tool_calls" if calls else "stop", tool_calls=calls)
    return VerifyContext(
        messages=({"role": "user", "content": "find it"},),
        answer=answer,
        tools=tools,
        tool_choice=choice,
    )


def call(arguments: str, name: str = "search") -> ToolCall:
    return ToolCall("call_1", name, arguments)


@pytest.mark.parametrize(
    ("context", "reason"),
    [
        (ctx(call('{"q": "x", "n": 2}')), None),
        (ctx(text="no tool needed"), None),
        (ctx(call('{"q": "x"')), "not valid JSON (JSONDecodeError at column 10)"),
        (ctx(call('["x"]')), "a JSON list, not an object"),
        (ctx(call('{"n": 1}')), "required at $"),
        (ctx(call('{"q": "x", "n": 9}')), "maximum at $.n"),
        (ctx(call('{"q": "x", "extra": 1}')), "additionalProperties at $"),
        (ctx(call("{}", name="delete_all")), "a tool that was not offered"),
        (ctx(call('{"q": "x"}'), choice="none"), "'none' but the answer calls a tool"),
        (ctx(text="hmm", choice="required"), "'required' but the answer calls no tool"),
        (
            ctx(text="hmm", choice={"type": "function", "function": {"name": "search"}}),
            "names a function the answer does not call",
        ),
    ],
)
async def test_tool_calls_must_be_executable(context, reason):
    verdict = await check().verify(context)
    assert verdict.passed is (reason is None)
    if reason:
        assert reason in verdict.reason


async def test_a_failed_check_names_the_keyword_never_the_value():
    verdict = await check().verify(ctx(call('{"q": "x", "n": 123456789}')))
    assert "123456789" not in verdict.reason


async def test_prose_checks_pass_an_answer_that_is_only_tool_calls_without_running():
    asked: list[Any] = []

    async def never(request: Any) -> Any:
        asked.append(request)
        raise AssertionError("a prose check asked the model about a tool call")

    only_calls = ctx(call('{"q": "x"}'))
    fmt = {"type": "json_object"}
    only_calls = VerifyContext(
        messages=only_calls.messages,
        answer=only_calls.answer,
        response_format=fmt,
        call_local=never,
        tools=TOOLS,
    )
    verifier = structural() & valid_json() & self_check() & check()
    result = await run_verifiers(verifier, only_calls, budget_s=5)
    assert result.passed and not asked
    assert (
        "tool calls only" in {v.reason for v in result.verdicts if v.verifier == "not_empty"}.pop()
    )
