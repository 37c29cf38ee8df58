"""Self-consistency: k fresh local samples must reach the same final answer as the answer.

Meant for tasks with a short final answer (a number, an option letter, a short phrase); for
open-ended text samples rarely agree word for word, so it is off by default.
"""

from __future__ import annotations

import asyncio
import re
from functools import partial

from router.backends import ModelRequest, ModelResponse
from router.verify._compose import Check
from router.verify._context import LocalCall, VerifyContext, local_call
from router.verify._text import normalise
from router.verify._verdict import Verdict, failed

_THINK = re.compile(r"<think>.*?</think>", re.DOTALL)
_BOXED = re.compile(r"\\boxed\{([^{}]*)\}")
_MARKED = re.compile(r"(?:final answer|the answer is|answer\s*:)\s*:?\s*([^\n]*)", re.I)
_OPTION = re.compile(r"^\(([A-J])\)|^([A-J])(?:[.):]|\s*$)")
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")
_MIN_SAMPLE_TOKENS, _MAX_SAMPLE_TOKENS = 64, 2048


def self_consistency(
    k: int = 3,
    agreement: float = 0.67,
    *,
    temperature: float = 0.7,
    max_tokens: int | None = None,
) -> Check:
    """Sample the local model `k` times (at `temperature`, concurrently, through
    `ctx.call_local`); pass when the share of samples whose final answer matches the answer's is
    at least `agreement` (compared at two decimals, so 2 of 3 meets 0.67). `max_tokens` defaults
    to twice the answer's length, within 64..2048."""
    if k < 1:
        raise ValueError("k must be >= 1")
    if not 0.0 <= agreement <= 1.0:
        raise ValueError("agreement must be in [0, 1]")
    if temperature <= 0.0:
        raise ValueError("temperature must be > 0, or every sample is the same")
    fn = partial(
        _self_consistency, k=k, agreement=agreement, temperature=temperature, limit=max_tokens
    )
    return Check("self_consistency", fn, prose=True)


async def _self_consistency(
    ctx: VerifyContext, *, k: int, agreement: float, temperature: float, limit: int | None
) -> Verdict:
    call = local_call(ctx, "self_consistency")
    target = final_answer(ctx.answer.text)
    if not target:
        return failed("no final answer to compare")
    request = ModelRequest(
        messages=ctx.messages,
        max_tokens=limit or _sample_tokens(ctx.answer),
        temperature=temperature,
        response_format=ctx.response_format,
        timeout_s=ctx.deadline_s,
    )
    samples = await _sample(call, request, k)
    agree = sum(final_answer(s.text) == target for s in samples)
    share = agree / k
    return Verdict(round(share, 2) >= agreement, share, f"{agree}/{k} samples agree")


def _sample_tokens(answer: ModelResponse) -> int:
    return max(_MIN_SAMPLE_TOKENS, min(2 * answer.output_tokens, _MAX_SAMPLE_TOKENS))


async def _sample(call: LocalCall, request: ModelRequest, k: int) -> list[ModelResponse]:
    """k calls at once; the first failure cancels the rest and is raised as itself."""

    async def one() -> ModelResponse:
        return await call(request)

    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(one()) for _ in range(k)]
    except ExceptionGroup as errors:
        raise errors.exceptions[0] from None
    return [t.result() for t in tasks]


def final_answer(text: str) -> str:
    """The answer's final answer, canonicalised: a \\boxed{} value, what follows "the answer
    is" / "answer:", else the last number, else the last line (normalised)."""
    text = _THINK.sub("", text).strip()
    boxed = _BOXED.findall(text)
    if boxed:
        return _canonical(boxed[-1])
    marked = _MARKED.findall(text)
    if marked and marked[-1].strip():
        return _canonical(marked[-1])
    numbers = _NUMBER.findall(text)
    if numbers:
        return _number(numbers[-1])
    lines = [line for line in text.splitlines() if line.strip()]
    return normalise(lines[-1]) if lines else ""


def _canonical(fragment: str) -> str:
    fragment = fragment.strip().strip("*_`$ ")
    option = _OPTION.match(fragment)
    if option:
        return (option.group(1) or option.group(2)).lower()
    numbers = _NUMBER.findall(fragment)
    if numbers:
        return _number(numbers[-1])
    return normalise(fragment)


def _number(raw: str) -> str:
    value = float(raw.replace(",", ""))
    return str(int(value)) if value.is_integer() else repr(value)
