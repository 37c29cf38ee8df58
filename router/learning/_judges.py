"""Judges: turn a (local answer, frontier answer) pair into a gain label, or abstain.

A gain label is `quality(frontier) - quality(local)` in [-1, 1]: 1 when only the frontier
answer is good, 0 when both are equally good (or bad), -1 when only the local one is.

- `ExactAnswerJudge` (free, local): compares the final answers where the task has one (the
  option letter of a multiple-choice question, a JSON value, a marked final number). Equal
  answers give 0; different ones give 1 (the frontier model is taken to be the right one).
- `PairwiseJudge` (paid): asks a frontier model which answer serves the request better, with a
  short rubric, the answers in a per-request random order; its cost is learning spend.
- `CallableJudge`: any function `(prompt, local_answer, frontier_answer) -> gain | None`.

`judge_pair` asks each judge in turn and keeps the first label. docs/learning.md says which
judge to use when, with each judge's measured agreement with the true gain.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import math
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from router.classifier._answer import stated_options

log = logging.getLogger("router")

AskFrontier = Callable[[Sequence[Mapping[str, str]], int], Awaitable[str | None]]
"""Send messages to the frontier judge model with an output limit; its answer, or None when
the learning budget refused the call or the call failed (the call is recorded either way)."""


@dataclass(frozen=True, slots=True)
class Comparison:
    """What a judge sees. `ask_frontier` is None when the request's data may not be sent to a
    frontier model for judging (it was redacted for the frontier, or no frontier is set)."""

    request_id: str
    prompt: str
    local_answer: str
    frontier_answer: str
    ask_frontier: AskFrontier | None = None


@dataclass(frozen=True, slots=True)
class GainLabel:
    """A judge's label: `gain` in [-1, 1], `weight` its confidence (> 0), and which judge."""

    gain: float
    judge: str
    weight: float = 1.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.gain) and -1.0 <= self.gain <= 1.0):
            raise ValueError(f"a gain must be a number in [-1, 1], got {self.gain!r}")
        if not (math.isfinite(self.weight) and self.weight > 0):
            raise ValueError(f"a label weight must be positive, got {self.weight!r}")


@runtime_checkable
class Judge(Protocol):
    """Labels one comparison, or returns None to abstain."""

    name: str

    async def judge(self, comparison: Comparison) -> GainLabel | None: ...


# -- exact answer --------------------------------------------------------------------------

_OPTION_LINE = re.compile(r"^[ \t]*\(?([A-J])[.)][ \t]", re.MULTILINE)
_JSON_VALUE_CHARS = 200
_FENCE = re.compile(r"\A\s*```(?:json)?\s*(.*?)\s*```\s*\Z", re.DOTALL)
_NUMBER = r"(-?\$?\d[\d,]*(?:\.\d+)?%?)"
_MARKED_NUMBER = re.compile(
    r"(?:####\s*|\\boxed\{\s*|\b(?:final answer|answer)\s*(?:is|:|=)\s*\**\s*)" + _NUMBER,
    re.IGNORECASE,
)


def final_answer(prompt: str, answer: str) -> tuple[str, object] | None:
    """The answer's final value as `(kind, value)`: `("option", "B")` when the prompt lists
    options, `("json", value)` for an answer that is a short JSON value (up to 200 characters;
    a longer document has no single right value), `("number", 42.0)` for a marked final number
    ("#### 42", "\\boxed{42}", "the answer is 42"); None when it has none."""
    if len(set(_OPTION_LINE.findall(prompt[-3000:]))) >= 2:
        options = stated_options(answer[:4000])
        return ("option", next(iter(options))) if len(options) == 1 else ("option", None)
    parsed = _json_value(answer)
    if parsed is not None:  # a value, not a document: essays wrapped in JSON have no one answer
        short = len(json.dumps(parsed, separators=(",", ":"))) <= _JSON_VALUE_CHARS
        return ("json", parsed) if short else None
    marked = _MARKED_NUMBER.findall(answer)
    if marked:
        return ("number", _as_number(marked[-1]))
    return None


def _json_value(answer: str) -> object | None:
    text = answer.strip()
    fenced = _FENCE.match(text)
    text = fenced.group(1) if fenced else text
    if not text.startswith(("{", "[")):
        return None
    try:
        value: object = json.loads(text)
    except ValueError:
        return None
    return value


def _as_number(text: str) -> float | None:
    try:
        return float(text.replace(",", "").replace("$", "").rstrip("%"))
    except ValueError:
        return None


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)
    return a == b


class ExactAnswerJudge:
    """Free and local: equal final answers mean no gain (0), different ones a full gain (1).

    A multiple-choice answer that commits to no single option, where the frontier's does, is
    taken as wrong (gain 1, half weight). Abstains when the frontier answer has no final value
    or the two are of different kinds.
    """

    name = "exact_answer"

    async def judge(self, comparison: Comparison) -> GainLabel | None:
        frontier = final_answer(comparison.prompt, comparison.frontier_answer)
        if frontier is None or frontier[1] is None:
            return None
        local = final_answer(comparison.prompt, comparison.local_answer)
        if local is None or local[0] != frontier[0]:
            return None
        if local[1] is None:
            return GainLabel(1.0, self.name, 0.5)
        return GainLabel(0.0 if _same(local[1], frontier[1]) else 1.0, self.name)


# -- pairwise ------------------------------------------------------------------------------

RUBRIC = (
    "You compare two answers to the same request. Decide which one serves the user better: "
    "first correctness, then following every instruction in the request, then completeness "
    "and clarity. Do not prefer an answer for being longer or more confident. "
    "Reply with one word: A, B or TIE."
)
_MAX_CHARS = 6000  # of the request and of each answer: bounds what one judgement costs
_VERDICT = re.compile(r"\A[\W_]*(A|B|TIE)[\W_]*\Z", re.IGNORECASE)  # one word only


def local_goes_first(request_id: str) -> bool:
    """Which position the local answer takes: random per request, the same on every replay."""
    return hashlib.sha256(request_id.encode()).digest()[0] % 2 == 0


def pairwise_messages(comparison: Comparison) -> list[dict[str, str]]:
    """The judge's messages: the rubric, then the request and the two answers."""
    local, frontier = comparison.local_answer, comparison.frontier_answer
    first, second = (
        (local, frontier)
        if local_goes_first(comparison.request_id)
        else (
            frontier,
            local,
        )
    )
    body = (
        f"## Request\n{comparison.prompt[:_MAX_CHARS]}\n\n"
        f"## Answer A\n{first[:_MAX_CHARS]}\n\n"
        f"## Answer B\n{second[:_MAX_CHARS]}"
    )
    return [{"role": "system", "content": RUBRIC}, {"role": "user", "content": body}]


def read_verdict(reply: str, local_first: bool) -> float | None:
    """The gain a judge's reply states: 1 frontier better, -1 local better, 0 tie."""
    found = _VERDICT.match(reply.strip())  # "A", "**B**", "tie." ; not "A better answer"
    if found is None:
        return None
    word = found.group(1).upper()
    if word == "TIE":
        return 0.0
    local_won = (word == "A") == local_first
    return -1.0 if local_won else 1.0


class PairwiseJudge:
    """The frontier model as a pairwise judge (paid: learning spend, within its budget)."""

    name = "pairwise"

    def __init__(self, max_output_tokens: int = 8) -> None:
        self.max_output_tokens = max_output_tokens

    async def judge(self, comparison: Comparison) -> GainLabel | None:
        if comparison.ask_frontier is None:
            return None
        reply = await comparison.ask_frontier(pairwise_messages(comparison), self.max_output_tokens)
        if reply is None:
            return None
        gain = read_verdict(reply, local_goes_first(comparison.request_id))
        return None if gain is None else GainLabel(gain, self.name)


# -- any callable --------------------------------------------------------------------------

UserJudge = Callable[[str, str, str], "float | Awaitable[float | None] | None"]


class CallableJudge:
    """Wraps `fn(prompt, local_answer, frontier_answer) -> gain | None` (sync or async).

    A gain outside [-1, 1] or an exception is logged (without any text) and counts as an
    abstention: a broken judge never stops the loop.
    """

    def __init__(self, fn: UserJudge, name: str | None = None) -> None:
        if not callable(fn):
            raise TypeError(f"a judge must be callable, not {type(fn).__name__}")
        self.fn = fn
        self.name = name or getattr(fn, "__name__", None) or type(fn).__name__

    async def judge(self, comparison: Comparison) -> GainLabel | None:
        try:
            result: Any = self.fn(
                comparison.prompt, comparison.local_answer, comparison.frontier_answer
            )
            if inspect.isawaitable(result):
                result = await result
            if result is None:
                return None
            return GainLabel(float(result), self.name)
        except Exception as exc:  # a user's judge must not stop the learning loop
            log.warning("learning: judge %s failed (%s); no label", self.name, type(exc).__name__)
            return None


_BUILT_IN: Mapping[str, Callable[[], Judge]] = {
    "exact_answer": ExactAnswerJudge,
    "pairwise": PairwiseJudge,
}


def as_judge(judge: Judge | UserJudge) -> Judge:
    """A `Judge` as is; a plain callable wrapped in `CallableJudge`."""
    if isinstance(judge, Judge):
        return judge
    return CallableJudge(judge)


def build_judges(
    names: Sequence[str], extra: Sequence[Judge | UserJudge] = ()
) -> tuple[Judge, ...]:
    """The caller's judges first, then the policy's `learning.judges`, in order."""
    return (*(as_judge(j) for j in extra), *(_BUILT_IN[name]() for name in names))


async def judge_pair(judges: Sequence[Judge], comparison: Comparison) -> GainLabel | None:
    """The first label any judge gives, or None when all abstain."""
    for judge in judges:
        label = await judge.judge(comparison)
        if label is not None:
            return label
    return None
