"""Tools through both tiers over real HTTP: sent in each provider's format, answered as
`Completion.tool_calls`, checked against their schema (a failing local call escalates), streamed,
and scanned for personal data like every other field that is sent."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from router import Router, SensitiveDataError
from router.policy import Routing
from router.testing import AnthropicServer, OllamaServer, OpenAIServer, Reply, ReplyToolCall
from tests.support import loopback_policy, make_router

pytestmark = [
    pytest.mark.filterwarnings("ignore:Items .* `ReadOnly` qualifier:UserWarning"),
    pytest.mark.filterwarnings("ignore:Accessing the 'model_computed_fields' attribute"),
]

SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1}},
    "required": ["city", "days"],
}
TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": SCHEMA}}]
QUESTION = "What's the weather in Paris?"
LOCAL, GPT, CLAUDE = "qwen3.5:9b", "gpt-5.4", "anthropic/claude-opus-4-6"


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[OllamaServer, OpenAIServer, AnthropicServer]]:
    with OllamaServer() as o, OpenAIServer() as oa, AnthropicServer() as an:
        yield o, oa, an


@pytest.fixture
def router(servers) -> Iterator[Router]:
    routing = Routing(rule="token-count", token_count_threshold=5000)  # local unless pinned
    router, _, _ = make_router(loopback_policy(*servers, routing=routing))
    yield router
    router.close()


def _last_body(server: Any) -> dict[str, Any]:
    body: dict[str, Any] = server.requests[-1].body
    return body


def test_a_local_tool_call_comes_back_in_openai_shape_with_every_option_sent(servers, router):
    ollama, _, _ = servers
    res = router.complete(QUESTION, tools=TOOLS, stop=["END"], seed=7, top_p=0.9, max_tokens=50)
    assert (res.tier, res.finish_reason) == ("local", "tool_calls")
    (call,) = res.tool_calls
    assert call.as_openai() == {
        "id": call.id,
        "type": "function",
        "function": {"name": "get_weather", "arguments": call.arguments},
    }
    assert json.loads(call.arguments) == {"city": "example", "days": 1}
    assert res.verification is not None and res.verification.passed
    body = _last_body(ollama)
    assert body["options"] == {"num_predict": 50, "top_p": 0.9, "stop": ["END"], "seed": 7}
    assert body["tools"][0]["function"]["name"] == "get_weather"


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (
            Reply(tool_calls=(ReplyToolCall("get_weather", {"city": 3, "days": 1}),)),
            "type at $.city",
        ),
        (Reply(tool_calls=(ReplyToolCall("get_weather", {"city": "Oslo"}),)), "required at $"),
        (Reply(tool_calls=(ReplyToolCall("get_time", {}),)), "not offered"),
        (Reply(text="I would rather not call anything."), "'required' but the answer calls no"),
    ],
)
def test_a_local_call_that_does_not_fit_escalates_to_the_frontier(servers, router, reply, reason):
    ollama, openai, _ = servers
    ollama.script(reply)
    res = router.complete(QUESTION, tools=TOOLS, tool_choice="required")
    assert (res.tier, res.model, res.escalation_reason) == ("frontier", GPT, "verification-failed")
    assert res.verification is not None
    assert any(reason in r for r in res.verification.reasons)
    assert json.loads(res.tool_calls[0].arguments) == {"city": "example", "days": 1}
    body = _last_body(openai)
    assert body["tools"] == TOOLS and body["tool_choice"] == "required"


def test_tool_choice_none_offers_ollama_no_tools_and_a_named_function_only_that_one(
    servers, router
):
    ollama, _, _ = servers
    res = router.complete(QUESTION, tools=TOOLS, tool_choice="none")
    assert res.tool_calls == () and not _last_body(ollama).get("tools")
    other = {"type": "function", "function": {"name": "get_time"}}
    named = {"type": "function", "function": {"name": "get_weather"}}
    res = router.complete(QUESTION, tools=[other, *TOOLS], tool_choice=named)
    assert [t["function"]["name"] for t in _last_body(ollama)["tools"]] == ["get_weather"]
    assert res.tool_calls[0].name == "get_weather"


def _conversation(router: Router, model: str) -> list[dict[str, Any]]:
    first = router.complete(QUESTION, tools=TOOLS, model=model)
    calls = [c.as_openai() for c in first.tool_calls]
    results = [{"role": "tool", "tool_call_id": c["id"], "content": "sunny, 21 C"} for c in calls]
    return [
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "tool_calls": calls},
        *results,
    ]


def test_tool_results_reach_ollama_with_arguments_as_objects(servers, router):
    ollama, _, _ = servers
    res = router.complete(messages=_conversation(router, LOCAL), tools=TOOLS, model=LOCAL)
    assert res.text == "The tool returned: sunny, 21 C"
    messages = _last_body(ollama)["messages"]
    assert messages[1]["tool_calls"][0]["function"]["arguments"] == {"city": "example", "days": 1}
    assert messages[2] == {"role": "tool", "content": "sunny, 21 C", "tool_name": "get_weather"}


def test_tool_results_reach_openai_with_arguments_as_json_text(servers, router):
    _, openai, _ = servers
    res = router.complete(messages=_conversation(router, GPT), tools=TOOLS, model=GPT)
    assert res.text == "The tool returned: sunny, 21 C"
    messages = _last_body(openai)["messages"]
    assert json.loads(messages[1]["tool_calls"][0]["function"]["arguments"])["days"] == 1
    assert messages[2]["role"] == "tool"


def test_tool_results_reach_anthropic_as_tool_use_and_tool_result_blocks(servers, router):
    _, _, anthropic = servers
    res = router.complete(messages=_conversation(router, CLAUDE), tools=TOOLS, model=CLAUDE)
    assert res.text == "The tool returned: sunny, 21 C"
    body = _last_body(anthropic)
    use = body["messages"][1]["content"][0]
    result = body["messages"][2]["content"][0]
    assert (use["type"], use["input"]) == ("tool_use", {"city": "example", "days": 1})
    assert (result["type"], result["tool_use_id"]) == ("tool_result", use["id"])
    assert body["tools"][0]["input_schema"] == SCHEMA


@pytest.mark.parametrize("model", [LOCAL, GPT, CLAUDE])
async def test_streamed_tool_calls_arrive_whole_on_the_last_chunk(router, model):
    chunks = [c async for c in router.astream(QUESTION, tools=TOOLS, model=model)]
    assert all(c.text == "" for c in chunks)
    completion = chunks[-1].completion
    assert completion is not None and completion.finish_reason == "tool_calls"
    assert json.loads(completion.tool_calls[0].arguments) == {"city": "example", "days": 1}


def test_stop_top_p_and_seed_reach_the_frontier_models(servers, router):
    _, openai, anthropic = servers
    openai.script(Reply(text="one two STOP three"))
    res = router.complete(QUESTION, model=GPT, stop="STOP", top_p=0.5, seed=11)
    body = _last_body(openai)
    assert (body["top_p"], body["seed"]) == (0.5, 11)
    # litellm drops `stop` for GPT-5 models (they refuse it); the router cuts the answer itself
    assert "stop" not in body
    assert (res.text, res.finish_reason) == ("one two ", "stop")
    router.complete(QUESTION, model=CLAUDE, stop="STOP", top_p=0.5, seed=11)
    body = _last_body(anthropic)
    assert (body["stop_sequences"], body["top_p"]) == (["STOP"], 0.5)
    assert "seed" not in body  # Anthropic has none; litellm drops it (drop_params)


async def test_a_streamed_frontier_answer_is_cut_at_a_stop_sequence_across_chunks(servers, router):
    _, openai, _ = servers
    openai.script(Reply(text="alpha beta gamma-END-delta epsilon"))
    chunks = [c async for c in router.astream(QUESTION, model=GPT, stop=["-END-", "zeta"])]
    assert "".join(c.text for c in chunks) == "alpha beta gamma"
    assert chunks[-1].completion is not None
    assert (chunks[-1].completion.text, chunks[-1].completion.finish_reason) == (
        "alpha beta gamma",
        "stop",
    )


def test_personal_data_in_tool_arguments_is_redacted_for_the_frontier_and_restored(servers, router):
    _, openai, _ = servers
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city": "ann@example.com", "days": 1}'},
    }
    messages = [
        {"role": "user", "content": "Mail the forecast to ann@example.com"},
        {"role": "assistant", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_1", "content": "sent to ann@example.com"},
    ]
    placeholder = ReplyToolCall("get_weather", {"city": "[EMAIL_1]", "days": 2})
    openai.script(Reply(tool_calls=(placeholder,)))
    res = router.complete(messages=messages, tools=TOOLS, model=GPT)
    sent = json.dumps(_last_body(openai))
    assert "ann@example.com" not in sent and "[EMAIL_1]" in sent
    assert json.loads(res.tool_calls[0].arguments) == {"city": "ann@example.com", "days": 2}


def test_a_card_number_in_a_tool_definition_keeps_the_request_on_the_machine(router):
    card_tool = {
        "type": "function",
        "function": {"name": "charge", "description": "Charge card 4111 1111 1111 1111"},
    }
    res = router.complete(QUESTION, tools=[card_tool])
    assert (res.tier, res.decision.rule) == ("local", "sensitive")
    with pytest.raises(SensitiveDataError, match=r"cannot be pinned to gpt-5\.4"):
        router.complete(QUESTION, tools=[card_tool], model=GPT)


async def test_streamed_text_names_the_model_it_comes_from_even_after_an_escalation(router):
    def reject(ctx: Any) -> bool:
        return False  # every local answer fails: the frontier's streams instead

    chunks = [c async for c in router.astream(QUESTION, verifiers=[reject])]
    texts = [c for c in chunks if c.text]
    assert texts and {c.model for c in texts} == {GPT}
    assert chunks[-1].completion is not None and chunks[-1].completion.model == GPT
