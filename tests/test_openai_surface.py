"""OpenAI's chat parameters in `complete()`: accepted as OpenAI accepts them, refused with a
message that names the parameter and the fix, before any call."""

from __future__ import annotations

from typing import Any

import pytest

from router import InvalidRequestError
from router._request import RoutedRequest, build_request
from router.policy import Policy

TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
USER = {"role": "user", "content": "Weather in Paris?"}
CALL = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}


def build(messages: list[dict[str, Any]] | None = None, **kwargs: Any) -> RoutedRequest:
    args: dict[str, Any] = {
        "prompt": None,
        "messages": messages or [USER],
        "metadata": None,
        "sensitive": None,
        "max_tokens": None,
        "temperature": None,
        "response_format": None,
        "request_id": None,
    }
    unknown = kwargs.pop("unknown", {})
    openai_args = {k: kwargs.pop(k) for k in list(kwargs) if k in _OPENAI}
    args.update(kwargs)
    return build_request(Policy(), unknown=unknown, **args, **openai_args)


_OPENAI = {
    "model",
    "tools",
    "tool_choice",
    "stop",
    "top_p",
    "seed",
    "max_completion_tokens",
    "user",
}


def test_tools_and_options_are_normalised():
    request = build(
        tools=[TOOL],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
        stop="END",
        top_p=1,
        seed=42,
        max_completion_tokens=300,
        user="u-1",
        model="auto",
    )
    assert request.tools == (TOOL,)
    assert request.tool_choice == {"type": "function", "function": {"name": "get_weather"}}
    assert (request.stop, request.top_p, request.seed) == (("END",), 1.0, 42)
    assert (request.max_tokens, request.user, request.model) == (300, "u-1", None)


def test_a_tool_without_parameters_takes_no_arguments():
    request = build(tools=[{"type": "function", "function": {"name": "now"}}])
    assert request.tools[0]["function"]["parameters"] == {"type": "object", "properties": {}}


def test_a_conversation_with_tool_calls_and_results_is_kept_in_openai_shape():
    messages = [
        {"role": "developer", "content": "Be brief."},
        USER,
        {"role": "assistant", "content": None, "tool_calls": [CALL], "refusal": None},
        {"role": "tool", "tool_call_id": "call_1", "content": [{"type": "text", "text": "21 C"}]},
    ]
    request = build(messages, tools=[TOOL])
    assert request.messages[0] == {"role": "system", "content": "Be brief."}
    assert request.messages[2] == {"role": "assistant", "content": "", "tool_calls": (CALL,)}
    assert request.messages[3] == {"role": "tool", "content": "21 C", "tool_call_id": "call_1"}
    assert request.prompt_tokens > build([USER]).prompt_tokens  # calls and tools are counted


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"tools": {"type": "function"}}, "`tools` must be a list"),
        ({"tools": [{"type": "retrieval"}]}, r"tools\[0\].type must be 'function'"),
        ({"tools": [{"type": "function", "function": {"name": "a b"}}]}, "1 to 64 letters"),
        ({"tools": [TOOL, TOOL]}, "repeats an earlier tool"),
        (
            {"tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": 3}}}]},
            "must be 'object'",
        ),
        (
            {
                "tools": [
                    {
                        "type": "function",
                        "function": {"name": "f", "parameters": {"properties": {"x": "bad"}}},
                    }
                ]
            },
            "not a valid JSON Schema: type at",
        ),
        ({"tool_choice": "auto"}, "`tools` is empty"),
        ({"tools": [TOOL], "tool_choice": "any"}, "must be 'none', 'auto', 'required'"),
        (
            {"tools": [TOOL], "tool_choice": {"type": "function", "function": {"name": "x"}}},
            "not in `tools`",
        ),
        ({"stop": ["a", "b", "c", "d", "e"]}, "at most 4"),
        ({"stop": [""]}, "non-empty strings"),
        ({"top_p": 1.5}, "`top_p` must be a number from 0 to 1"),
        ({"seed": 1.5}, "64-bit integer"),
        ({"seed": True}, "64-bit integer"),
        ({"max_tokens": 10, "max_completion_tokens": 20}, "differ; set only one"),
        ({"user": "a", "metadata": {"user": "b"}}, "differ; set only one"),
        ({"model": ""}, "'auto' or the name"),
        ({"unknown": {"n": 2}}, "n > 1 is not supported"),
        ({"unknown": {"audio": {"voice": "alloy"}}}, "audio output is not supported"),
        ({"unknown": {"modalities": ["text", "audio"]}}, "'text' modality"),
        ({"unknown": {"functions": [{}]}}, "pass `tools`"),
        ({"unknown": {"logit_bias": {"1": 2}}}, "logit_bias"),
        ({"unknown": {"frobnicate": 1}}, "unknown argument.*tool_choice"),
        ({"response_format": {"type": "json_schema"}}, "json_schema.schema` is required"),
        (
            {"response_format": {"type": "json_schema", "json_schema": {"schema": {"type": 1}}}},
            "not a valid JSON Schema",
        ),
    ],
)
def test_what_openai_would_refuse_is_refused_by_name(kwargs, message):
    with pytest.raises(InvalidRequestError, match=message):
        build(**kwargs)


def test_no_op_values_of_unsupported_parameters_are_accepted():
    build(unknown={"n": 1, "logprobs": False, "modalities": ["text"], "audio": None})


@pytest.mark.parametrize(
    ("messages", "message"),
    [
        ([USER, {"role": "tool", "tool_call_id": "call_1", "content": "x"}], "does not answer"),
        ([USER, {"role": "assistant", "content": None, "tool_calls": [CALL]}], "no tool results"),
        (
            [USER, {"role": "assistant", "content": "", "tool_calls": [CALL]}, USER],
            "no tool message answering",
        ),
        ([USER, {"role": "assistant", "tool_calls": [CALL, CALL]}], "repeats a tool call id"),
        ([USER, {"role": "tool", "content": "x"}], "tool_call_id must name"),
        ([USER, {"role": "user", "content": "hi", "tool_calls": [CALL]}], "unsupported keys"),
        (
            [
                USER,
                {
                    "role": "assistant",
                    "tool_calls": [{**CALL, "function": {"name": "f", "arguments": {}}}],
                },
            ],
            "arguments must be a JSON string",
        ),
        ([USER, {"role": "assistant", "content": "x", "audio": {"id": "a"}}], "audio"),
        ([{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}], "image_url"),
        ([{"role": "user", "content": [{"type": "input_audio"}]}], "input_audio"),
        ([{"role": "function", "content": "x"}, USER], "role must be one of"),
    ],
)
def test_a_broken_conversation_is_refused_before_any_call(messages, message):
    with pytest.raises(InvalidRequestError, match=message):
        build(messages)


def test_errors_never_quote_argument_values():
    secret = "4111 1111 1111 1111"
    call = {**CALL, "function": {"name": "f", "arguments": {"card": secret}}}
    with pytest.raises(InvalidRequestError) as caught:
        build([USER, {"role": "assistant", "tool_calls": [call]}])
    assert secret not in str(caught.value)
