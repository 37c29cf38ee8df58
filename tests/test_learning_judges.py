"""Judges: exact final answers, the pairwise frontier judge (against the loopback fakes: no real
model here), user callables, and the order they are asked in."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from router.learning import CallableJudge, Comparison, ExactAnswerJudge, GainLabel, PairwiseJudge
from router.learning._judges import (
    RUBRIC,
    final_answer,
    judge_pair,
    local_goes_first,
    pairwise_messages,
    read_verdict,
)
from router.testing import Reply, Usage
from tests.learning_helpers import (
    MC_PROMPT,
    labels,
    learning_attempts,
    learning_policy,
    learning_router,
    servers_fixture,  # noqa: F401 - the `servers` fixture
)


def judged(judge, prompt: str, local: str, frontier: str, ask=None) -> GainLabel | None:
    return asyncio.run(judge.judge(Comparison("req-1", prompt, local, frontier, ask)))


@pytest.mark.parametrize(
    ("prompt", "answer", "expected"),
    [
        (MC_PROMPT, "The answer is (B).", ("option", "B")),
        (MC_PROMPT, "B. Neon", ("option", "B")),
        (MC_PROMPT, "It could be A, or maybe the answer is B, the answer is C", ("option", None)),
        ("Give JSON", '```json\n{"a": [1, 2]}\n```', ("json", {"a": [1, 2]})),
        ("Add them", "3 + 4 = 7, so the answer is 7.", ("number", 7.0)),
        ("Add them", "Step one... #### 1,234", ("number", 1234.0)),
        ("Write a poem", "Roses are red, in 1999 I saw 3 of them", None),
    ],
)
def test_final_answer_reads_options_json_and_marked_numbers(prompt, answer, expected):
    assert final_answer(prompt, answer) == expected


@pytest.mark.parametrize(
    ("local", "frontier", "gain", "weight"),
    [
        ("The answer is B.", "Answer: B", 0.0, 1.0),
        ("The answer is A.", "The answer is B.", 1.0, 1.0),
        ("I am not sure.", "The answer is B.", 1.0, 0.5),  # no option named: taken as wrong
    ],
)
def test_the_exact_judge_labels_multiple_choice(local, frontier, gain, weight):
    assert judged(ExactAnswerJudge(), MC_PROMPT, local, frontier) == GainLabel(
        gain, "exact_answer", weight
    )


def test_the_exact_judge_abstains_without_a_final_answer():
    assert judged(ExactAnswerJudge(), "Write a poem", "a poem", "a better poem") is None
    assert judged(ExactAnswerJudge(), MC_PROMPT, "The answer is B", "I cannot say") is None
    assert judged(ExactAnswerJudge(), "Sum?", '{"x": 1}', "the answer is 1") is None  # kinds


def test_numbers_and_json_compare_by_value():
    judge = ExactAnswerJudge()
    assert judged(judge, "Sum?", "the answer is 1,000", "#### 1000.0") == GainLabel(
        0.0, "exact_answer"
    )
    assert judged(judge, "JSON", '{"b": 2, "a": 1}', '{"a": 1, "b": 2}') == GainLabel(
        0.0, "exact_answer"
    )


@pytest.mark.parametrize(
    ("reply", "local_first", "gain"),
    [
        ("A", True, -1.0),
        ("A", False, 1.0),
        ("**B**", True, 1.0),
        ("tie.", True, 0.0),
        ("A better answer", True, None),
        ("", True, None),
    ],
)
def test_pairwise_verdicts_map_to_gains_by_position(reply, local_first, gain):
    assert read_verdict(reply, local_first) == gain


def test_pairwise_positions_vary_by_request_and_the_prompt_carries_the_rubric():
    firsts = {local_goes_first(f"req-{i}") for i in range(20)}
    assert firsts == {True, False}
    comparison = Comparison("req-7", "Q?", "LOCAL", "FRONTIER")
    system, user = pairwise_messages(comparison)
    assert system == {"role": "system", "content": RUBRIC}
    order = ("LOCAL", "FRONTIER") if local_goes_first("req-7") else ("FRONTIER", "LOCAL")
    assert user["content"].index(order[0]) < user["content"].index(order[1])


def test_the_pairwise_judge_abstains_when_it_may_not_ask():
    assert judged(PairwiseJudge(), "Q?", "a", "b", ask=None) is None


def test_a_user_judge_sync_or_async_and_a_broken_one_abstains():
    async def async_judge(prompt, local, frontier):
        return 0.25

    assert judged(CallableJudge(lambda *_: -0.5), "Q", "a", "b") == GainLabel(-0.5, "<lambda>")
    assert judged(CallableJudge(async_judge), "Q", "a", "b") == GainLabel(0.25, "async_judge")
    assert judged(CallableJudge(lambda *_: 3.0), "Q", "a", "b") is None  # out of range
    assert judged(CallableJudge(lambda *_: 1 / 0), "Q", "a", "b") is None


def test_judges_are_asked_in_order_until_one_answers():
    chain = [ExactAnswerJudge(), CallableJudge(lambda *_: 0.5, name="mine")]
    poem = Comparison("r", "Write a poem", "x", "y")
    mc = Comparison("r", MC_PROMPT, "The answer is B", "The answer is B")
    assert asyncio.run(judge_pair(chain, poem)) == GainLabel(0.5, "mine")
    assert asyncio.run(judge_pair(chain, mc)) == GainLabel(0.0, "exact_answer")


def test_the_pairwise_judge_over_http_pays_from_the_learning_budget(servers, tmp_path):
    """End to end on the loopback fakes: the shadow and the judgement are two paid calls,
    both learning spend; the judge saw the rubric and both answers."""
    ollama, openai, _ = servers
    ollama.responder = lambda _r: Reply(text="A short poem.")

    def frontier(request):
        if "## Answer A" in request.last_user_message:
            # The judge prefers the frontier's answer, wherever it was placed.
            first_is_local = request.last_user_message.index("A short poem.") < (
                request.last_user_message.index("A long poem.")
            )
            return Reply(text="B" if first_is_local else "A", usage=Usage(300, 1))
        return Reply(text="A long poem.", usage=Usage(20, 40))

    openai.responder = frontier
    router = learning_router(learning_policy(servers, tmp_path))
    router.complete("Write a poem about the sea")
    router.close()

    (label,) = labels(router)
    assert (label["source"], label["judge"], label["gain"]) == ("shadow", "pairwise", 1.0)
    purposes = sorted(a["purpose"] for a in learning_attempts(router))
    assert purposes == ["judge", "shadow"]
    judge_call = next(r.body for r in openai.requests if r.body["messages"][0]["role"] == "system")
    assert judge_call["messages"][0]["content"] == RUBRIC
    assert judge_call["max_completion_tokens"] == 8


def test_no_budget_means_no_pairwise_call(servers, tmp_path):
    """Budget 0 (the default): escalations are still labelled, by free judges only."""
    ollama, openai, _ = servers
    ollama.responder = lambda _r: Reply(text="Some essay.")
    openai.responder = lambda _r: Reply(text="A better essay.")
    policy = learning_policy(servers, tmp_path, shadow_rate=0.0, budget_usd_per_day=Decimal(0))
    router = learning_router(policy)
    router.complete("Write an essay", verifiers=[lambda _ctx: False])
    router.close()
    assert len(openai.requests) == 1  # the escalation itself, no judge call
    (label,) = labels(router)
    assert label["judge"] == "verification" and learning_attempts(router) == []


def test_router_judges_go_before_the_policys(servers, tmp_path):
    ollama, openai, _ = servers
    ollama.responder = lambda _r: Reply(text="The answer is B.")
    openai.responder = lambda _r: Reply(text="The answer is B.")
    router = learning_router(
        learning_policy(servers, tmp_path), judges=[lambda p, local, frontier: 0.75]
    )
    router.complete(MC_PROMPT)
    router.close()
    (label,) = labels(router)
    assert (label["judge"], label["gain"]) == ("<lambda>", 0.75)
