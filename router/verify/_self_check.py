"""AutoMix-style self-check: the local model grades its own answer, Yes or No.

The grading call asks for token log-probabilities (`ModelRequest.top_logprobs`; Ollama >= 0.6
returns them, `OllamaBackend` fills `ModelResponse.logprobs`). With them the verdict's confidence
is P(yes) / (P(yes) + P(no)) over the first verdict token's alternatives, or the chosen verdict
token's own probability when no alternative is a verdict word; without them (other backends,
older servers) the reply text decides (confidence 1.0 or 0.0). A reply that is neither yes nor
no means the check failed to run.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from functools import partial
from typing import Protocol

from router.backends import ModelRequest, ModelResponse
from router.verify._compose import Check
from router.verify._context import VerifyContext, local_call
from router.verify._text import normalise
from router.verify._verdict import Verdict, VerifierError

GRADER_SYSTEM = "You grade answers. Reply with exactly one word: Yes or No."
GRADER_PROMPT = (
    "Question:\n{question}\n\nAnswer:\n{answer}\n\nIs the answer correct? Reply Yes or No."
)

_YES = frozenset({"yes", "sí", "si", "oui", "ja", "はい", "是", "对"})
_NO = frozenset({"no", "non", "nein", "いいえ", "否", "不"})
# Accepted as a reply's first word only ("Correct." but not "... is not correct").
_YES_FIRST = _YES | {"y", "correct", "true"}
_NO_FIRST = _NO | {"n", "incorrect", "wrong", "false"}
_THINK = re.compile(r"<think>.*?</think>", re.DOTALL)
_FIRST_TOKENS = 8  # where the verdict word must appear among the returned log-probabilities


class TokenLogprob(Protocol):
    """One generated token and its log-probability (alternatives in `top_logprobs`, if any)."""

    @property
    def token(self) -> str: ...

    @property
    def logprob(self) -> float: ...


def self_check(threshold: float = 0.5, *, max_tokens: int = 16, top_logprobs: int = 5) -> Check:
    """Ask the local model (through `ctx.call_local`) whether its answer is correct.

    Passes when P(yes) >= `threshold`. `max_tokens` bounds the grading reply; `top_logprobs` is
    how many alternatives to ask for when the backend supports log-probabilities.
    """
    if not 0.0 <= threshold <= 1.0:
        raise ValueError("threshold must be in [0, 1]")
    if max_tokens < 1:
        raise ValueError("max_tokens must be >= 1")
    fn = partial(_self_check, threshold=threshold, max_tokens=max_tokens, top=top_logprobs)
    return Check("self_check", fn, prose=True)


async def _self_check(
    ctx: VerifyContext, *, threshold: float, max_tokens: int, top: int
) -> Verdict:
    call = local_call(ctx, "self_check")
    response = await call(grading_request(ctx, max_tokens=max_tokens, top_logprobs=top))
    p_yes = yes_probability(response)
    if p_yes is None:
        raise VerifierError("self_check", "the model's reply was neither yes nor no")
    sign = ">=" if p_yes >= threshold else "<"
    return Verdict(p_yes >= threshold, p_yes, f"P(yes) {p_yes:.2f} {sign} {threshold:.2f}")


def grading_request(ctx: VerifyContext, *, max_tokens: int, top_logprobs: int) -> ModelRequest:
    """The grading call: greedy, short, and asking for log-probabilities where supported."""
    user = GRADER_PROMPT.format(question=ctx.question, answer=ctx.answer.text)
    messages = ({"role": "system", "content": GRADER_SYSTEM}, {"role": "user", "content": user})
    return ModelRequest(
        messages=messages,
        max_tokens=max_tokens,
        temperature=0.0,
        timeout_s=ctx.deadline_s,
        top_logprobs=top_logprobs,
    )


def yes_probability(response: ModelResponse) -> float | None:
    """P(yes) from the response's log-probabilities if it has them, else from its text."""
    tokens = response.logprobs
    if tokens:
        p_yes = _from_logprobs(tokens)
        if p_yes is not None:
            return p_yes
    return _from_text(response.text)


def _from_logprobs(tokens: Iterable[TokenLogprob]) -> float | None:
    for index, entry in enumerate(tokens):
        word = _verdict_word(entry.token)
        if word is not None:
            return _entry_probability(entry, word)
        if index >= _FIRST_TOKENS or normalise(entry.token):
            return None  # another word came first: no verdict in the log-probabilities
    return None


def _entry_probability(entry: TokenLogprob, word: str) -> float:
    alternatives: Iterable[TokenLogprob] = getattr(entry, "top_logprobs", None) or ()
    mass = {"yes": 0.0, "no": 0.0}
    for alt in alternatives:
        alt_word = _verdict_word(alt.token)
        if alt_word is not None:
            mass[alt_word] += math.exp(alt.logprob)
    if mass["yes"] + mass["no"] > 0.0:
        return mass["yes"] / (mass["yes"] + mass["no"])
    chosen = min(1.0, math.exp(entry.logprob))
    return chosen if word == "yes" else 1.0 - chosen


def _from_text(text: str) -> float | None:
    words = normalise(_THINK.sub("", text)).split()
    if not words:
        return None
    word = _verdict_word(words[0], first=True) or _verdict_word(words[-1], first=False)
    if word is None:
        return None
    return 1.0 if word == "yes" else 0.0


def _verdict_word(token: str, *, first: bool = True) -> str | None:
    """ "yes", "no" or None for one token or word (looser for a reply's first word)."""
    word = normalise(token)
    if word in (_YES_FIRST if first else _YES):
        return "yes"
    if word in (_NO_FIRST if first else _NO):
        return "no"
    return None
