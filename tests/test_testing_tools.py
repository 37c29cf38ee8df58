"""The loopback servers speak tools, stop sequences and seeds in each provider's own wire format,
checked with raw HTTP and with the real clients (openai, ollama)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import ollama
import openai
import pytest

from router.testing import (
    AnthropicServer,
    OllamaServer,
    OpenAIServer,
    Reply,
    ReplyToolCall,
    example_arguments,
)

WEATHER_SCHEMA = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "minLength": 2},
        "days": {"type": "integer", "minimum": 1},
        "unit": {"type": "string", "enum": ["c", "f"]},
    },
    "required": ["city", "days", "unit"],
}
OPENAI_TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "parameters": WEATHER_SCHEMA}}
]
ANTHROPIC_TOOLS = [{"name": "get_weather", "input_schema": WEATHER_SCHEMA}]
USER = {"role": "user", "content": "Weather in Paris?"}
ANTHROPIC_HEADERS = {"anthropic-version": "2023-06-01"}


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[OllamaServer, OpenAIServer, AnthropicServer]]:
    with OllamaServer() as o, OpenAIServer() as oa, AnthropicServer() as an:
        yield o, oa, an


def _post(url: str, body: dict[str, Any], **headers: str) -> httpx.Response:
    return httpx.post(url, json=body, headers=headers, timeout=5)


def _sse(response: httpx.Response) -> list[Any]:
    data = [line[6:] for line in response.text.splitlines() if line.startswith("data: ")]
    return [json.loads(d) if d != "[DONE]" else d for d in data]


def test_example_arguments_fit_the_schema():
    assert example_arguments(WEATHER_SCHEMA) == {"city": "example", "days": 1, "unit": "c"}


# -- OpenAI --------------------------------------------------------------------------------------


def test_openai_answers_a_tool_call_with_arguments_as_json_text(servers):
    _, server, _ = servers
    body = {"model": "gpt-5.4", "messages": [USER], "tools": OPENAI_TOOLS}
    reply = _post(server.url + "/v1/chat/completions", body).json()
    choice = reply["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    (call,) = choice["message"]["tool_calls"]
    assert call["type"] == "function" and call["id"].startswith("call_")
    assert call["function"]["name"] == "get_weather"
    assert json.loads(call["function"]["arguments"]) == {"city": "example", "days": 1, "unit": "c"}


def test_openai_streams_a_tool_call_id_first_then_argument_pieces(servers):
    _, server, _ = servers
    body = {"model": "gpt-5.4", "messages": [USER], "tools": OPENAI_TOOLS, "stream": True}
    events = _sse(_post(server.url + "/v1/chat/completions", body))
    assert events[-1] == "[DONE]"
    deltas = [e["choices"][0]["delta"] for e in events[:-1]]
    calls = [d["tool_calls"][0] for d in deltas if "tool_calls" in d]
    assert calls[0]["id"].startswith("call_") and calls[0]["function"]["arguments"] == ""
    assert all("id" not in c and c["index"] == 0 for c in calls[1:])
    arguments = "".join(c["function"]["arguments"] for c in calls)
    assert json.loads(arguments)["city"] == "example"
    assert events[-2]["choices"][0]["finish_reason"] == "tool_calls"


def test_the_openai_sdk_reads_the_tool_calls_and_sends_results_back(servers):
    _, server, _ = servers
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="sk-test", max_retries=0)
    first = client.chat.completions.create(
        model="gpt-5.4", messages=[USER], tools=OPENAI_TOOLS, tool_choice="required"
    )
    call = first.choices[0].message.tool_calls[0]
    result = {"role": "tool", "tool_call_id": call.id, "content": "sunny, 21 C"}
    again = client.chat.completions.create(
        model="gpt-5.4",
        messages=[USER, first.choices[0].message.model_dump(exclude_none=True), result],
        tools=OPENAI_TOOLS,
    )
    assert again.choices[0].message.content == "The tool returned: sunny, 21 C"
    client.close()


@pytest.mark.parametrize(
    ("messages", "extra", "message"),
    [
        ([USER, {"role": "tool", "tool_call_id": "x", "content": "r"}], {}, "preceeding"),
        (
            [
                USER,
                {
                    "role": "assistant",
                    "tool_calls": [
                        _c := {
                            "id": "c1",
                            "type": "function",
                            "function": {"name": "f", "arguments": "{}"},
                        }
                    ],
                },
                USER,
            ],
            {},
            "did not have response messages: c1",
        ),
        ([USER], {"tool_choice": "auto"}, "only allowed when 'tools'"),
        ([USER], {"seed": "7"}, "Invalid type for 'seed'"),
        ([USER], {"stop": ["a", "b", "c", "d", "e"]}, "maximum length 4"),
        ([USER], {"top_p": 2}, "Invalid 'top_p'"),
    ],
)
def test_openai_refuses_what_openai_refuses(servers, messages, extra, message):
    _, server, _ = servers
    body = {"model": "gpt-5.4", "messages": messages, **extra}
    response = _post(server.url + "/v1/chat/completions", body)
    assert response.status_code == 400
    assert message in response.json()["error"]["message"]


def test_openai_cuts_the_answer_at_a_stop_sequence(servers):
    _, server, _ = servers
    server.script(Reply(text="one two STOP three"))
    body = {"model": "gpt-5.4", "messages": [USER], "stop": "STOP", "seed": 3}
    choice = _post(server.url + "/v1/chat/completions", body).json()["choices"][0]
    assert (choice["message"]["content"], choice["finish_reason"]) == ("one two ", "stop")


def test_openai_sends_malformed_arguments_verbatim(servers):
    _, server, _ = servers
    server.script(Reply(tool_calls=(ReplyToolCall("get_weather", '{"city": '),)))
    body = {"model": "gpt-5.4", "messages": [USER], "tools": OPENAI_TOOLS}
    reply = _post(server.url + "/v1/chat/completions", body).json()
    assert reply["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] == '{"city": '


# -- Anthropic ----------------------------------------------------------------------------------


def test_anthropic_answers_with_a_tool_use_block(servers):
    _, _, server = servers
    body = {"model": "claude-opus-4-6", "max_tokens": 100, "messages": [USER]}
    body["tools"] = ANTHROPIC_TOOLS
    reply = _post(server.url + "/v1/messages", body, **ANTHROPIC_HEADERS).json()
    assert reply["stop_reason"] == "tool_use"
    (block,) = reply["content"]
    assert block["type"] == "tool_use" and block["id"].startswith("toolu_")
    assert block["input"] == {"city": "example", "days": 1, "unit": "c"}


def test_anthropic_streams_input_json_deltas(servers):
    _, _, server = servers
    body = {"model": "claude-opus-4-6", "max_tokens": 100, "messages": [USER], "stream": True}
    body["tools"] = ANTHROPIC_TOOLS
    events = _sse(_post(server.url + "/v1/messages", body, **ANTHROPIC_HEADERS))
    kinds = [e["type"] for e in events]
    assert kinds[:3] == ["message_start", "content_block_start", "ping"]
    assert events[1]["content_block"] == {
        "type": "tool_use",
        "id": events[1]["content_block"]["id"],
        "name": "get_weather",
        "input": {},
    }
    pieces = [e["delta"]["partial_json"] for e in events if e["type"] == "content_block_delta"]
    assert json.loads("".join(pieces))["unit"] == "c"
    assert events[-2]["delta"]["stop_reason"] == "tool_use"


def test_anthropic_pairs_tool_use_with_tool_result_and_names_the_stop_sequence(servers):
    _, _, server = servers
    use = {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}
    result = {"type": "tool_result", "tool_use_id": "toolu_1", "content": "rain"}
    body = {
        "model": "claude-opus-4-6",
        "max_tokens": 100,
        "tools": ANTHROPIC_TOOLS,
        "messages": [USER, {"role": "assistant", "content": [use]}],
        "stop_sequences": ["returned"],
    }
    orphan = _post(
        server.url + "/v1/messages",
        {**body, "messages": [USER, {"role": "user", "content": [result]}]},
        **ANTHROPIC_HEADERS,
    )
    assert orphan.status_code == 400 and "unexpected `tool_use_id`" in orphan.text
    body["messages"].append({"role": "user", "content": [result]})
    reply = _post(server.url + "/v1/messages", body, **ANTHROPIC_HEADERS).json()
    assert reply["stop_reason"] == "stop_sequence" and reply["stop_sequence"] == "returned"
    assert reply["content"] == [{"type": "text", "text": "The tool "}]


# -- Ollama --------------------------------------------------------------------------------------


def test_ollama_sends_arguments_as_an_object_and_the_client_reads_them(servers):
    server, _, _ = servers
    client = ollama.Client(host=server.url)
    answer = client.chat(model="qwen3.5:9b", messages=[USER], tools=OPENAI_TOOLS, stream=False)
    (call,) = answer.message.tool_calls
    assert call.function.name == "get_weather"
    assert call.function.arguments == {"city": "example", "days": 1, "unit": "c"}
    assert answer.done_reason == "stop"
    chunks = list(client.chat(model="qwen3.5:9b", messages=[USER], tools=OPENAI_TOOLS, stream=True))
    assert [len(c.message.tool_calls or ()) for c in chunks] == [1, 0]


def test_ollama_refuses_string_arguments_and_applies_options(servers):
    server, _, _ = servers
    call = {"function": {"name": "get_weather", "arguments": "{}"}}
    messages = [USER, {"role": "assistant", "content": "", "tool_calls": [call]}]
    refused = _post(server.url + "/api/chat", {"model": "qwen3.5:9b", "messages": messages})
    assert refused.status_code == 400 and "cannot unmarshal string" in refused.text
    server.script(Reply(text="alpha beta gamma"))
    body = {"model": "qwen3.5:9b", "messages": [USER], "stream": False}
    body["options"] = {"stop": ["beta"], "seed": 1, "top_p": 0.5}
    assert _post(server.url + "/api/chat", body).json()["message"]["content"] == "alpha "


def test_ollama_keeps_unparseable_arguments_as_text(servers):
    server, _, _ = servers
    server.script(Reply(tool_calls=(ReplyToolCall("get_weather", "{oops"),)))
    body = {"model": "qwen3.5:9b", "messages": [USER], "tools": OPENAI_TOOLS, "stream": False}
    message = _post(server.url + "/api/chat", body).json()["message"]
    assert message["content"] == "{oops" and "tool_calls" not in message
