"""Answer verifiers: each one, their algebra, budgets, the registry and the offline hook.

Model-based verifiers (self_check, self_consistency) run against the loopback `OllamaServer`
through the real `OllamaBackend`, exactly as the pipeline will call them.
"""

from __future__ import annotations

import asyncio
import json
import math
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import router.verify as verify
from router._request import RoutedRequest
from router.backends import ModelRequest, ModelResponse, OllamaBackend
from router.backends._base import TokenLogprob
from router.errors import ConfigError, VerificationError
from router.testing import OllamaServer, Reply
from router.verify import (
    AllOf,
    AnyOf,
    Check,
    Verdict,
    VerifierError,
    VerifyContext,
    as_verifier,
    build_verifiers,
    final_answer,
    no_degenerate_repetition,
    not_empty,
    not_refusal,
    not_truncated,
    posthoc_score,
    python_parses,
    run_verifiers,
    self_check,
    self_consistency,
    structural,
    summarise,
    valid_json,
    verify_rows,
    yes_probability,
)

DOCS = Path(__file__).resolve().parents[1] / "docs" / "verification.md"
SECRET = "the-secret-prompt-text-7731"


def answer(text: str, finish_reason: str = "stop", output_tokens: int = 20) -> ModelResponse:
    return ModelResponse(
        text=text,
        model="qwen3.5:9b",
        input_tokens=10,
        output_tokens=output_tokens,
        finish_reason=finish_reason,
    )


def ctx(
    text: str,
    *,
    question: str = "What is 2 + 2?",
    finish_reason: str = "stop",
    response_format: dict | None = None,
    task: str | None = None,
    call_local=None,
    deadline_s: float = 30.0,
) -> VerifyContext:
    return VerifyContext(
        messages=(
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": question},
        ),
        answer=answer(text, finish_reason),
        response_format=response_format,
        task=task,
        call_local=call_local,
        deadline_s=deadline_s,
    )


@pytest.fixture
def ollama() -> Iterator[OllamaServer]:
    with OllamaServer(hang_timeout=5.0) as server:
        yield server


@pytest.fixture
async def backend(ollama: OllamaServer):
    b = OllamaBackend(host=ollama.url)
    yield b
    await b.aclose()


# -- Verdict ---------------------------------------------------------------------------------


@pytest.mark.parametrize("confidence", [-0.1, 1.01, math.nan])
def test_verdict_confidence_must_be_a_probability(confidence):
    with pytest.raises(ValueError, match="confidence"):
        Verdict(passed=True, confidence=confidence, reason="x")


# -- structural ------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "ok"), [("", False), (" \n\t ", False), ("4", True)])
async def test_not_empty(text, ok):
    verdict = await not_empty().verify(ctx(text))
    assert (verdict.passed, verdict.verifier) == (ok, "not_empty")


@pytest.mark.parametrize(
    "text",
    [
        "I can't help with that.",
        "I cannot provide that information.",
        "I\u2019m sorry, but I can\u2019t do this.",
        "**I'm sorry, but** that is not something I can do.",
        "As an AI language model, I don't have opinions.",
        "  I'm unable to browse the internet.",
        "Lo siento, pero no puedo ayudar con eso.",
        "Je ne peux pas répondre à cette question.",
        "Es tut mir leid, aber das kann ich nicht.",
        "申し訳ありませんが、お答えできません。",
        "抱歉\uff0c我无法回答这个问题。",
    ],
)
async def test_not_refusal_fails_refusal_openers_in_several_languages(text):
    verdict = await not_refusal().verify(ctx(text))
    assert not verdict.passed
    assert verdict.reason == "opens like a refusal"  # and never quotes the answer


@pytest.mark.parametrize(
    "text",
    [
        "4. I cannot stress enough how simple this is.",
        "No problem: the answer is 4.",
        "Lo que preguntas es 4.",
        "Sorry for the wait: it is 4.",
    ],
)
async def test_not_refusal_passes_answers_that_only_mention_such_words(text):
    assert (await not_refusal().verify(ctx(text))).passed


async def test_not_refusal_takes_custom_openers():
    check = not_refusal(extra=["Nope"])
    assert not (await check.verify(ctx("NOPE, not today"))).passed
    assert not (await check.verify(ctx("I can't do that"))).passed


async def test_not_truncated_reads_finish_reason():
    assert not (await not_truncated().verify(ctx("The answer is", finish_reason="length"))).passed
    assert (await not_truncated().verify(ctx("The answer is 4.", finish_reason="stop"))).passed


async def test_not_truncated_catches_ollamas_token_limit(ollama, backend):
    ollama.script(Reply(text="word " * 200))
    cut = await backend.complete(
        ModelRequest(messages=({"role": "user", "content": "go"},), max_tokens=5, timeout_s=5)
    )
    context = VerifyContext(messages=({"role": "user", "content": "go"},), answer=cut)
    verdict = await not_truncated().verify(context)
    assert cut.finish_reason == "length"
    assert not verdict.passed


LOOP = "Let me think about this. " + "The answer is 4 because 2 plus 2 is 4. " * 30
PROSE = (
    "Photosynthesis turns light into chemical energy. Chlorophyll in the chloroplasts absorbs "
    "mostly red and blue light, which drives the splitting of water and releases oxygen. The "
    "energy captured is stored as ATP and NADPH, and the Calvin cycle then uses both to fix "
    "carbon dioxide into sugars that the plant can use for growth or store as starch for later."
)


async def test_no_degenerate_repetition_fails_loops_and_passes_prose():
    looped = await no_degenerate_repetition().verify(ctx(LOOP))
    assert not looped.passed
    assert "4-grams repeat" in looped.reason
    assert (await no_degenerate_repetition().verify(ctx(PROSE))).passed


async def test_no_degenerate_repetition_counts_cjk_per_character():
    assert not (await no_degenerate_repetition().verify(ctx("我很好。" * 40))).passed
    assert (await no_degenerate_repetition().verify(ctx("光合作用把光能转化为化学能。" * 1))).passed


async def test_no_degenerate_repetition_ratio_and_length_are_tunable():
    half_loop = PROSE + " " + "again and again and again " * 12
    assert (await no_degenerate_repetition(max_repeat_ratio=0.9).verify(ctx(half_loop))).passed
    assert not (await no_degenerate_repetition(max_repeat_ratio=0.2).verify(ctx(half_loop))).passed
    short_loop = "yes yes yes yes yes yes yes yes"
    assert (await no_degenerate_repetition().verify(ctx(short_loop))).passed
    assert not (await no_degenerate_repetition(min_tokens=4).verify(ctx(short_loop))).passed
    with pytest.raises(ValueError):
        no_degenerate_repetition(max_repeat_ratio=0)


async def test_structural_is_all_four_and_names_the_failing_one():
    check = structural()
    assert check.name == "structural"
    assert [v.name for v in check.verifiers] == [
        "not_empty",
        "not_refusal",
        "not_truncated",
        "no_degenerate_repetition",
    ]
    assert (await check.verify(ctx("The answer is 4."))).passed
    failing = await check.verify(ctx("The answer", finish_reason="length"))
    assert not failing.passed
    assert failing.reason == "not_truncated: cut off at the token limit"


# -- format ----------------------------------------------------------------------------------

OBJECT = {"type": "json_object"}
SCHEMA = {
    "type": "json_schema",
    "json_schema": {
        "name": "person",
        "schema": {
            "type": "object",
            "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
            "required": ["name", "age"],
        },
    },
}


@pytest.mark.parametrize(
    ("text", "fmt", "ok"),
    [
        ("not json at all", None, True),
        ("not json at all", {"type": "text"}, True),
        ('{"a": 1}', OBJECT, True),
        ('Here it is:\n```json\n{"a": 1}\n```\n', OBJECT, True),
        ('{"a": 1', OBJECT, False),
        ("[1, 2]", OBJECT, False),
        ('{"name": "Ada", "age": 36}', SCHEMA, True),
        ('{"name": "Ada"}', SCHEMA, False),
        ('{"name": "Ada", "age": "' + SECRET + '"}', SCHEMA, False),
        ("nope", SCHEMA, False),
    ],
)
async def test_valid_json(text, fmt, ok):
    verdict = await valid_json().verify(ctx(text, response_format=fmt))
    assert verdict.passed is ok
    assert SECRET not in verdict.reason


async def test_valid_json_says_which_schema_rule_failed():
    verdict = await valid_json().verify(ctx('{"name": "Ada"}', response_format=SCHEMA))
    assert verdict.reason == "schema mismatch: required at $"


async def test_valid_json_with_an_invalid_schema_fails_to_run():
    bad = {"type": "json_schema", "json_schema": {"schema": {"type": "no-such-type"}}}
    with pytest.raises(VerifierError, match="SchemaError"):
        await valid_json().verify(ctx("{}", response_format=bad))


GOOD_PY = "Here you go:\n```python\ndef add(a, b):\n    return a + b\n```\n"
BAD_PY = "Here you go:\n```python\ndef add(a, b)\n    return a + b\n```\n"


@pytest.mark.parametrize(
    ("text", "question", "task", "ok"),
    [
        (GOOD_PY, "Write add.", "code", True),
        (BAD_PY, "Write add.", "code", False),
        (BAD_PY, "Write add in Python.", None, False),
        (BAD_PY, "Tell me a story.", None, True),  # not a code task: nothing checked
        ("def add(a, b): return a + b", "Write a Python function add.", None, True),
        ("Sure! def add(a, b) return", "Write a Python function add.", None, False),
        ("```js\nconst x = ;\n```", "Write add in JavaScript.", "code", True),
        ("```\ndef f(:\n```", "Write a Python function.", None, False),
        ("```\nSELECT 1;\n```", "Write a SQL query.", "code", True),
        (GOOD_PY + "\n```py\nprint('ok')\n```", "Write add.", "code", True),
        (GOOD_PY + "\n```py\nprint 'old'\n```", "Write add.", "code", False),
    ],
)
async def test_python_parses(text, question, task, ok):
    verdict = await python_parses().verify(ctx(text, question=question, task=task))
    assert verdict.passed is ok, verdict.reason


async def test_python_parses_points_at_the_block_and_line():
    verdict = await python_parses().verify(ctx(BAD_PY, task="code"))
    assert verdict.reason == "python block 1 of 1 does not parse (line 1)"


# -- self-check (through the loopback Ollama) ---------------------------------------------


@pytest.mark.parametrize(
    ("reply", "ok", "confidence"),
    [
        ("Yes", True, 1.0),
        ("Yes.", True, 1.0),
        ("**Yes**, it is correct.", True, 1.0),
        ("No.", False, 0.0),
        ("Correct", True, 1.0),
        ("The answer is wrong. No", False, 0.0),
    ],
)
async def test_self_check_asks_the_local_model(ollama, backend, reply, ok, confidence):
    ollama.script(Reply(text=reply))
    verdict = await self_check().verify(ctx("4", call_local=backend.complete))
    assert (verdict.passed, verdict.confidence) == (ok, confidence)
    sent = ollama.requests[-1].body
    assert sent["options"]["temperature"] == 0.0
    assert sent["options"]["num_predict"] == 16
    prompt = sent["messages"][-1]["content"]
    assert "Question:\nWhat is 2 + 2?" in prompt
    assert "Answer:\n4" in prompt
    assert "Is the answer correct? Reply Yes or No." in prompt


async def test_self_check_unclear_reply_fails_to_run(ollama, backend):
    ollama.script(Reply(text="Maybe, it depends."))
    with pytest.raises(VerifierError, match="neither yes nor no"):
        await self_check().verify(ctx("4", call_local=backend.complete))


async def test_self_check_without_a_local_model_fails_to_run():
    with pytest.raises(VerifierError, match="no local model"):
        await self_check().verify(ctx("4", call_local=None))


async def test_self_check_local_model_down_is_a_typed_error_without_content():
    down = OllamaBackend(host="http://127.0.0.1:9")
    try:
        with pytest.raises(VerificationError) as caught:
            await self_check().verify(ctx("4", question=SECRET, call_local=down.complete))
    finally:
        await down.aclose()
    assert isinstance(caught.value, VerifierError)
    assert caught.value.cause == "BackendUnavailableError"
    assert SECRET not in str(caught.value)


Token = TokenLogprob


def with_logprobs(text: str, *tokens: TokenLogprob) -> ModelResponse:
    return ModelResponse(text, "qwen3.5:9b", 5, 1, "stop", logprobs=tokens)


def test_yes_probability_prefers_logprobs_over_text():
    alts = (Token("Yes", math.log(0.3)), Token("No", math.log(0.6)), Token("Maybe", -1.0))
    response = with_logprobs("Yes", Token("Yes", math.log(0.3), alts))
    assert yes_probability(response) == pytest.approx(0.3 / 0.9)


def test_yes_probability_from_the_chosen_token_alone_and_after_markup():
    assert yes_probability(with_logprobs("No", Token("No", math.log(0.8)))) == pytest.approx(0.2)
    marked = with_logprobs("**Yes**", Token("**", -0.01), Token("Yes", math.log(0.9)))
    assert yes_probability(marked) == pytest.approx(0.9)
    unrelated = with_logprobs("Yes", Token("Well", -0.1), Token("yes", -0.1))
    assert yes_probability(unrelated) == 1.0  # no verdict token first: the text decides


async def test_self_check_uses_logprob_confidence_against_the_threshold():
    async def call_local(request: ModelRequest) -> ModelResponse:
        return with_logprobs("Yes", Token("Yes", math.log(0.55)))

    assert (await self_check(0.5).verify(ctx("4", call_local=call_local))).passed
    strict = await self_check(0.6).verify(ctx("4", call_local=call_local))
    assert not strict.passed
    assert strict.confidence == pytest.approx(0.55)
    assert strict.reason == "P(yes) 0.55 < 0.60"


@pytest.mark.parametrize(
    ("reply", "p_token", "threshold", "ok", "confidence"),
    [
        ("Yes", 0.7, 0.5, True, 0.7),
        ("Yes", 0.7, 0.8, False, 0.7),
        ("No", 0.9, 0.5, False, 0.1),
    ],
)
async def test_self_check_reads_token_probabilities_from_ollama(
    ollama, backend, reply, p_token, threshold, ok, confidence
):
    ollama.script(Reply(text=reply, logprob=math.log(p_token)))
    check = self_check(threshold, top_logprobs=0)
    verdict = await check.verify(ctx("4", call_local=backend.complete))
    assert (verdict.passed, verdict.confidence) == (ok, pytest.approx(confidence))
    sent = ollama.requests[-1].body
    assert (sent["logprobs"], sent["top_logprobs"]) == (True, 0)


async def test_ollama_backend_returns_logprobs_with_alternatives_only_when_asked(ollama, backend):
    ollama.script(Reply(text="Yes", logprob=-0.2), Reply(text="Yes"))
    messages = ({"role": "user", "content": "Is 2 + 2 = 4?"},)
    asked = await backend.complete(ModelRequest(messages=messages, top_logprobs=3))
    assert asked.logprobs is not None
    assert [t.token for t in asked.logprobs] == ["Yes"]
    assert asked.logprobs[0].logprob == pytest.approx(-0.2)
    assert len(asked.logprobs[0].top_logprobs) == 3
    assert yes_probability(asked) == 1.0  # no "no" among the alternatives
    plain = await backend.complete(ModelRequest(messages=messages))
    assert plain.logprobs is None
    assert "logprobs" not in ollama.requests[-1].body


async def test_ollama_backend_collects_streamed_logprobs(ollama, backend):
    ollama.script(Reply(text="Yes it is", logprob=-0.1))
    messages = ({"role": "user", "content": "Is 2 + 2 = 4?"},)
    chunks = [c async for c in backend.stream(ModelRequest(messages=messages, top_logprobs=0))]
    final = chunks[-1].final
    assert final is not None and final.logprobs is not None
    assert "".join(t.token for t in final.logprobs) == "Yes it is"


# -- self-consistency (through the loopback Ollama) ----------------------------------------

MCQ = "Step by step... so the answer is (B)."


@pytest.mark.parametrize(
    ("samples", "ok", "share"),
    [
        (["The answer is (B).", "I think the answer is (B)", "The answer is B."], True, 1.0),
        (["The answer is (B).", "The answer is (C).", "The answer is (B)."], True, 2 / 3),
        (["The answer is (A).", "The answer is (C).", "The answer is (B)."], False, 1 / 3),
    ],
)
async def test_self_consistency_samples_must_agree(ollama, backend, samples, ok, share):
    ollama.script(*(Reply(text=s) for s in samples))
    verdict = await self_consistency(k=3).verify(ctx(MCQ, call_local=backend.complete))
    assert (verdict.passed, verdict.confidence) == (ok, pytest.approx(share))
    bodies = [r.body for r in ollama.requests if r.path == "/api/chat"]
    assert len(bodies) == 3
    assert all(b["options"]["temperature"] == 0.7 for b in bodies)
    assert all(b["messages"][-1]["content"] == "What is 2 + 2?" for b in bodies)


async def test_self_consistency_agreement_threshold(ollama, backend):
    ollama.script(*(Reply(text=t) for t in ["42", "42", "41", "42"]))
    strict = self_consistency(k=4, agreement=1.0)
    verdict = await strict.verify(ctx("So x = 42", call_local=backend.complete))
    assert not verdict.passed
    assert verdict.reason == "3/4 samples agree"


async def test_self_consistency_local_model_failing_mid_way_is_a_typed_error(ollama, backend):
    ollama.script(Reply(text="The answer is (B)."), Reply(status=500), Reply(text="(B)"))
    with pytest.raises(VerifierError) as caught:
        await self_consistency(k=3).verify(ctx(MCQ, call_local=backend.complete))
    assert caught.value.cause == "ServerError"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("so $x = \\boxed{1,000}$ overall", "1000"),
        ("Reasoning... The answer is (C). Done", "c"),
        ("Final answer: B", "b"),
        ("We get 3 apples, then 12.50 dollars", "12.5"),
        ("It is the capital.\nParis!", "paris"),
        ("<think>maybe 7</think>The answer is 8", "8"),
        ("", ""),
    ],
)
def test_final_answer_extraction(text, expected):
    assert final_answer(text) == expected


def test_self_consistency_rejects_settings_that_cannot_work():
    with pytest.raises(ValueError, match="temperature"):
        self_consistency(temperature=0)
    with pytest.raises(ValueError, match="k"):
        self_consistency(k=0)


# -- post-hoc score --------------------------------------------------------------------------


class FakeScorer:
    """A classifier stand-in that records what it was asked."""

    def __init__(self, value: float) -> None:
        self.value = value
        self.calls: list[tuple[str, str | None]] = []

    def score(self, prompt: str, response: str | None = None) -> float:
        self.calls.append((prompt, response))
        return self.value


@pytest.mark.parametrize(("score", "ok"), [(0.2, True), (0.5, False), (0.9, False)])
async def test_posthoc_score(score, ok):
    scorer = FakeScorer(score)
    verdict = await posthoc_score(scorer, threshold=0.5).verify(ctx("4"))
    assert verdict.passed is ok
    assert verdict.confidence == pytest.approx(1 - score)
    assert scorer.calls == [("What is 2 + 2?", "4")]


async def test_posthoc_score_out_of_range_fails_to_run_and_needs_a_scorer():
    with pytest.raises(VerifierError, match="ValueError"):
        await posthoc_score(FakeScorer(1.5)).verify(ctx("4"))
    with pytest.raises(TypeError, match="score"):
        posthoc_score(object())  # type: ignore[arg-type]


# -- composition -----------------------------------------------------------------------------


class Probe:
    """A verifier with a fixed outcome ("pass", "fail" or "error") that counts its calls."""

    def __init__(self, outcome: str, confidence: float | None = None, name: str = "") -> None:
        self.outcome = outcome
        self.calls = 0
        default = {"pass": 0.9, "fail": 0.1, "error": 0.0}[outcome]
        self.confidence = default if confidence is None else confidence
        self.check = Check(name or outcome, self._run)

    def _run(self, ctx: VerifyContext) -> Verdict:
        self.calls += 1
        if self.outcome == "error":
            raise RuntimeError(SECRET)
        return Verdict(self.outcome == "pass", self.confidence, self.outcome)


async def outcome(verifier) -> str:
    try:
        verdict = await verifier.verify(ctx("4"))
    except VerifierError:
        return "error"
    return "pass" if verdict.passed else "fail"


OUTCOMES = ["pass", "fail", "error"]
AND_TABLE = {
    ("pass", "pass"): "pass",
    ("pass", "fail"): "fail",
    ("pass", "error"): "error",
    ("fail", "pass"): "fail",
    ("fail", "fail"): "fail",
    ("fail", "error"): "fail",
    ("error", "pass"): "error",
    ("error", "fail"): "fail",
    ("error", "error"): "error",
}
OR_TABLE = {
    ("pass", "pass"): "pass",
    ("pass", "fail"): "pass",
    ("pass", "error"): "pass",
    ("fail", "pass"): "pass",
    ("fail", "fail"): "fail",
    ("fail", "error"): "error",
    ("error", "pass"): "pass",
    ("error", "fail"): "error",
    ("error", "error"): "error",
}


@pytest.mark.parametrize(("a", "b"), list(AND_TABLE))
async def test_and_truth_table(a, b):
    assert await outcome(Probe(a).check & Probe(b).check) == AND_TABLE[a, b]


@pytest.mark.parametrize(("a", "b"), list(OR_TABLE))
async def test_or_truth_table(a, b):
    assert await outcome(Probe(a).check | Probe(b).check) == OR_TABLE[a, b]


async def test_and_short_circuits_on_failure_and_takes_the_lowest_confidence():
    first, second = Probe("fail"), Probe("pass")
    verdict = await (first.check & second.check).verify(ctx("4"))
    assert (first.calls, second.calls) == (1, 0)
    assert verdict.reason == "fail: fail"
    both = await (Probe("pass", 0.7).check & Probe("pass", 0.4).check).verify(ctx("4"))
    assert (both.passed, both.confidence) == (True, 0.4)


async def test_or_stops_at_the_first_pass_and_keeps_its_confidence():
    first, second = Probe("pass", 0.6), Probe("pass", 0.95)
    verdict = await (first.check | second.check).verify(ctx("4"))
    assert (verdict.passed, verdict.confidence, second.calls) == (True, 0.6, 0)
    failing = await (Probe("fail", 0.2).check | Probe("fail", 0.3).check).verify(ctx("4"))
    assert (failing.passed, failing.confidence) == (False, 0.3)


def test_composite_names_flatten_and_parenthesise():
    a, b, c = (Check(n, lambda ctx: True) for n in "abc")
    assert (a & b & c).name == "a & b & c"
    assert len((a & b & c).verifiers) == 3
    assert ((a | b) & c).name == "(a | b) & c"
    assert isinstance(a | b, AnyOf)
    assert (structural() & c).name == "structural & c"
    assert AllOf().name == "nothing"


async def test_a_raising_verifier_becomes_a_verification_error_with_only_the_class_name():
    with pytest.raises(VerificationError) as caught:
        await Probe("error", name="boom").check.verify(ctx("4"))
    error = caught.value
    assert isinstance(error, VerifierError)
    assert (error.verifier, error.cause) == ("boom", "RuntimeError")
    assert SECRET not in str(error)
    assert error.__suppress_context__


# -- plain callables -------------------------------------------------------------------------


def short_enough(ctx: VerifyContext) -> bool:
    return len(ctx.answer.text) < 10


async def mentions_four(ctx: VerifyContext) -> Verdict:
    return Verdict("4" in ctx.answer.text, 0.8, "looked for 4")


async def test_plain_callables_sync_and_async_bool_and_verdict():
    assert (await as_verifier(short_enough).verify(ctx("4"))).passed
    long = await as_verifier(short_enough).verify(ctx("4" * 20))
    assert (long.passed, long.confidence, long.verifier) == (False, 0.0, "short_enough")
    verdict = await as_verifier(mentions_four).verify(ctx("it is 4"))
    assert (verdict.passed, verdict.confidence, verdict.verifier) == (True, 0.8, "mentions_four")
    assert verdict.latency_ms >= 0.0


async def test_callables_compose_on_either_side_of_an_operator():
    combined = short_enough & not_empty()
    assert combined.name == "short_enough & not_empty"
    assert not (await combined.verify(ctx(""))).passed
    either = (lambda ctx: False) | as_verifier(mentions_four)
    assert either.name == "<lambda> | mentions_four"
    assert (await either.verify(ctx("4"))).passed


async def test_as_verifier_names_wraps_foreign_verifiers_and_refuses_junk():
    class Foreign:
        name = "foreign"

        async def verify(self, ctx: VerifyContext) -> Verdict:
            return Verdict(True, 0.5, "fine")

    wrapped = as_verifier(Foreign())
    assert isinstance(wrapped, Check)
    assert (await wrapped.verify(ctx("4"))).verifier == "foreign"
    assert as_verifier(lambda ctx: True, name="always").name == "always"
    with pytest.raises(TypeError, match="as_verifier"):
        as_verifier(42)  # type: ignore[arg-type]
    with pytest.raises(VerifierError, match="TypeError"):
        await as_verifier(lambda ctx: "yes").verify(ctx("4"))  # type: ignore[arg-type,return-value]


# -- run_verifiers: verdicts, errors, budgets ----------------------------------------------


async def test_run_verifiers_collects_every_verdict_with_timings():
    result = await run_verifiers(structural() & valid_json(), ctx("4"), budget_s=5)
    assert result.status == "passed" and result.passed
    names = [v.verifier for v in result.verdicts]
    assert names == [
        "not_empty",
        "not_refusal",
        "not_truncated",
        "no_degenerate_repetition",
        "valid_json",
    ]
    assert all(v.latency_ms >= 0 for v in result.verdicts)
    assert result.confidence == 1.0
    assert result.accepted(fail_open=False)


async def test_run_verifiers_reports_failures_with_reasons():
    result = await run_verifiers(
        structural() & valid_json(), ctx("oops", response_format=OBJECT), budget_s=5
    )
    assert result.status == "failed"
    assert result.reasons == ("valid_json: not valid JSON (line 1, column 1)",)
    assert not result.accepted(fail_open=True)  # a real failure is never "open"


async def test_run_verifiers_local_model_down_is_status_error_and_policy_decides():
    down = OllamaBackend(host="http://127.0.0.1:9")
    try:
        result = await run_verifiers(
            structural() & self_check(), ctx("4", call_local=down.complete), budget_s=5
        )
    finally:
        await down.aclose()
    assert result.status == "error"
    assert result.error == "self_check: BackendUnavailableError"
    assert result.verdicts[-1].reason == "failed to run: BackendUnavailableError"
    assert [v.passed for v in result.verdicts[:-1]] == [True] * 4
    assert result.accepted(fail_open=True) is True
    assert result.accepted(fail_open=False) is False


async def test_a_hanging_self_check_hits_the_budget(ollama, backend):
    ollama.script(Reply(hang=True))
    started = time.perf_counter()
    result = await run_verifiers(
        not_empty() & self_check(), ctx("4", call_local=backend.complete), budget_s=0.3
    )
    assert time.perf_counter() - started < 3.0
    assert result.status == "timeout"
    assert result.error == "not_empty & self_check: timed out after 0.3s"
    assert [v.verifier for v in result.verdicts] == ["not_empty", "not_empty & self_check"]
    assert not result.accepted(fail_open=False)


async def test_the_shorter_of_budget_and_deadline_applies():
    async def slow(ctx: VerifyContext) -> bool:
        await asyncio.sleep(5)
        return True

    started = time.perf_counter()
    result = await run_verifiers(slow, ctx("4", deadline_s=0.1), budget_s=10)
    assert result.status == "timeout"
    assert time.perf_counter() - started < 2.0


async def test_run_verifiers_hands_the_budget_to_model_calls_and_keeps_an_outer_observer():
    seen_timeouts: list[float | None] = []
    outer: list[Verdict] = []

    async def call_local(request: ModelRequest) -> ModelResponse:
        seen_timeouts.append(request.timeout_s)
        return answer("Yes")

    context = VerifyContext(
        messages=({"role": "user", "content": "q"},),
        answer=answer("4"),
        call_local=call_local,
        deadline_s=60,
        observe=outer.append,
    )
    result = await run_verifiers(self_check(), context, budget_s=2.5)
    assert result.passed
    assert seen_timeouts == [2.5]
    assert [v.verifier for v in outer] == ["self_check"]


async def test_run_verifiers_accepts_a_verifier_that_reports_nothing_itself():
    class Quiet:
        name = "quiet"

        async def verify(self, ctx: VerifyContext) -> Verdict:
            return Verdict(False, 0.3, "nah", "quiet", 1.0)

    result = await run_verifiers(as_verifier(Quiet()), ctx("4"), budget_s=1)
    assert (result.status, result.reasons) == ("failed", ("quiet: nah",))


# -- registry --------------------------------------------------------------------------------


@pytest.mark.parametrize(("reply", "status"), [("Yes", "passed"), ("No", "failed")])
async def test_build_verifiers_from_a_policy_mapping(ollama, backend, reply, status):
    built = build_verifiers(
        {"self_check": {"threshold": 0.6}, "structural": {}, "valid_json": None}
    )
    assert [v.name for v in built.verifiers] == ["structural", "valid_json", "self_check"]
    ollama.script(Reply(text=reply))
    result = await run_verifiers(built, ctx("4", call_local=backend.complete), budget_s=5)
    assert result.status == status
    assert result.verdicts[-1].verifier == "self_check"
    assert result.verdicts[-1].passed is (status == "passed")
    assert len(ollama.requests) == 1  # the built self_check really asked the local model


async def test_build_verifiers_runs_cheap_checks_first_to_save_model_calls(ollama, backend):
    built = build_verifiers({"self_consistency": {"k": 2}, "structural": {}})
    result = await run_verifiers(built, ctx("", call_local=backend.complete), budget_s=5)
    assert result.status == "failed"
    assert not [r for r in ollama.requests if r.path == "/api/chat"]


async def test_build_verifiers_posthoc_uses_the_given_scorer():
    built = build_verifiers({"posthoc_score": {"threshold": 0.3}}, scorer=FakeScorer(0.4))
    assert not (await built.verify(ctx("4"))).passed
    built = build_verifiers({"posthoc_score": {"threshold": 0.3}}, scorer=FakeScorer(0.2))
    assert (await built.verify(ctx("4"))).passed
    with pytest.raises(ConfigError, match="needs a classifier"):
        build_verifiers({"posthoc_score": {}})


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"spellcheck": {}}, "unknown verifier 'spellcheck'; use one of: no_degenerate_repetition"),
        ({"self_check": {"treshold": 0.6}}, "verify.self_check: .*treshold"),
        ({"self_check": {"threshold": 3}}, "verify.self_check: threshold must be in"),
        ({"structural": ["x"]}, "parameters must be a mapping"),
    ],
)
def test_build_verifiers_says_what_is_wrong(config, message):
    with pytest.raises(ConfigError, match=message):
        build_verifiers(config)


async def test_an_empty_verify_section_passes_everything():
    assert (await build_verifiers({}).verify(ctx(""))).passed


def test_every_registered_name_is_documented():
    text = DOCS.read_text()
    missing = [name for name in verify.verifier_names() if f"`{name}`" not in text]
    assert not missing


# -- context, offline hook, packaging ------------------------------------------------------


def test_context_from_a_routed_request():
    request = RoutedRequest(
        request_id="r1",
        messages=({"role": "user", "content": "Write add in Python"},),
        sensitive=False,
        tags={"task": "code"},
        response_format=OBJECT,
    )
    context = VerifyContext.from_request(request, answer("x"), call_local=None, deadline_s=3)
    assert (context.task, context.response_format, context.deadline_s) == ("code", OBJECT, 3)
    assert context.question == "Write add in Python"


ROWS = [
    {
        "id": "good",
        "prompt": "2+2?",
        "scores": {"small": 1.0, "big": 1.0},
        "responses": {"small": "The answer is 4."},
        "local_model": "small",
        "frontier_model": "big",
    },
    {
        "id": "looping",
        "prompt": "2+2?",
        "scores": {"small": 0.0, "big": 1.0},
        "responses": {"small": LOOP},
        "local_model": "small",
        "frontier_model": "big",
    },
    {
        "id": "wrong-but-clean",
        "prompt": "3+3?",
        "scores": {"small": 0.0, "big": 1.0},
        "responses": {"small": "The answer is 7."},
        "local_model": "small",
        "frontier_model": "big",
    },
    {
        "id": "no-response",
        "prompt": "?",
        "scores": {"small": 0.0},
        "local_model": "small",
        "frontier_model": "big",
    },
]


def test_offline_rows_and_summary():
    results = verify_rows(ROWS, structural())
    assert [(r.id, r.passed) for r in results] == [
        ("good", True),
        ("looping", False),
        ("wrong-but-clean", True),
        ("no-response", None),
    ]
    summary = summarise(results)
    assert (summary.rows, summary.judged) == (4, 3)
    assert summary.pass_rate == pytest.approx(2 / 3)
    assert summary.precision == 1.0
    assert summary.recall == pytest.approx(0.5)


def test_offline_model_based_verifiers_cannot_run_and_are_left_out():
    results = verify_rows(ROWS[:1], self_check())
    assert results[0].passed is None
    assert summarise(results).judged == 0


def test_offline_marks_code_tasks_and_can_pick_another_model():
    rows = [dict(ROWS[0], task="mbpp", responses={"small": "x", "big": "```python\ndef f(:\n```"})]
    assert verify_rows(rows, python_parses())[0].passed is True  # small: no python asked, no fences
    assert verify_rows(rows, python_parses(), model="big")[0].passed is False


def test_public_api_is_sorted_and_complete():
    assert verify.__all__ == sorted(verify.__all__)
    assert all(hasattr(verify, name) for name in verify.__all__)


def test_importing_verify_adds_neither_the_classifier_nor_jsonschema():
    code = (
        "import sys, json, router; before = set(sys.modules); import router.verify; "
        "print(json.dumps(sorted(m for m in set(sys.modules) - before "
        "if m.startswith(('router.classifier', 'jsonschema', 'sklearn', 'litellm')))))"
    )
    loaded = json.loads(subprocess.check_output([sys.executable, "-c", code], text=True))
    assert loaded == []


@pytest.mark.parametrize(
    ("status", "verdicts", "expected"),
    [
        ("passed", [("not_empty", True), ("valid_json", True)], False),  # form only
        ("passed", [("not_truncated", True), ("posthoc_score", True)], False),  # the classifier
        ("passed", [("not_empty", True), ("self_check", True)], True),
        ("passed", [("self_consistency", True)], True),
        ("passed", [("my_team_check", True)], True),  # the caller's own check
        ("failed", [("self_check", False)], False),
        ("timeout", [("self_check", True)], False),  # accepted only by failing open
    ],
)
def test_checked_content_needs_a_passing_check_of_what_the_answer_says(status, verdicts, expected):
    """What the learning loop keeps as a verified answer: structural and format checks, or the
    router's own classifier, are no evidence that an answer is right."""
    result = verify.VerificationResult(
        status=status,
        verdicts=tuple(verify.Verdict(ok, 1.0 if ok else 0.0, "r", name) for name, ok in verdicts),
        latency_ms=1.0,
    )
    assert verify.checked_content(result) is expected
    assert verify.checked_content(None) is False
