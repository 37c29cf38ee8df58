"""Structural checks: cheap, model-free, deterministic. `structural()` is all four."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import partial

from router.verify._compose import AllOf, Check
from router.verify._context import VerifyContext
from router.verify._verdict import Verdict, failed, passed

# Openers of refusals, lower-case with straight apostrophes, matched at the start of the answer.
REFUSAL_OPENERS: tuple[str, ...] = (
    # English
    "i can't",
    "i cannot",
    "i can not",
    "i won't be able",
    "i'm unable to",
    "i am unable to",
    "i'm not able to",
    "i am not able to",
    "i'm sorry, but",
    "i am sorry, but",
    "i'm sorry, i can",
    "sorry, but i",
    "sorry, i can't",
    "as an ai",
    "unfortunately, i can't",
    "unfortunately, i cannot",
    # Spanish
    "lo siento",
    "no puedo",
    "como ia",
    "como una ia",
    "como modelo de lenguaje",
    # French
    "je ne peux pas",
    "je suis désolé",
    "désolé, mais",
    "en tant qu'ia",
    "en tant qu'intelligence artificielle",
    # German
    "es tut mir leid",
    "ich kann nicht",
    "ich kann dir nicht",
    "ich kann ihnen nicht",
    "als ki",
    # Portuguese, Italian
    "desculpe",
    "não posso",
    "mi dispiace",
    "non posso",
    # Japanese, Chinese
    "申し訳",
    "すみませんが",
    "お答えできません",
    "抱歉",
    "对不起",
    "我无法",
    "我不能",
    "作为一个ai",
    "作为ai",
)

_LEADING_NOISE = re.compile(r"^[\s\"'`*_>#\-]+")
_CJK = r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af"
_TOKEN = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+|[^\w\s]+")


def not_empty() -> Check:
    """Fails an answer with no visible text."""
    return Check("not_empty", _not_empty, prose=True)


def not_refusal(*, extra: Iterable[str] = ()) -> Check:
    """Fails an answer that opens like a refusal ("I can't", "Lo siento", "申し訳", ...).

    Only the opening is looked at, so an answer that mentions "I cannot" later still passes.
    `extra` adds openers (any case) to the built-in English, Spanish, French, German,
    Portuguese, Italian, Japanese and Chinese ones.
    """
    openers = REFUSAL_OPENERS + tuple(o.lower() for o in extra)
    return Check("not_refusal", partial(_not_refusal, openers=openers), prose=True)


def not_truncated() -> Check:
    """Fails an answer cut off by a token limit (`finish_reason == "length"`), unless it is the
    caller's own `max_tokens` (`ctx.max_tokens`): an answer stopped there is what the caller
    asked for, and a frontier model would be cut at the same limit."""
    return Check("not_truncated", _not_truncated)


def no_degenerate_repetition(
    max_repeat_ratio: float = 0.5, *, ngram: int = 4, min_tokens: int = 40
) -> Check:
    """Fails an answer stuck in a loop: more than `max_repeat_ratio` of its word `ngram`s repeat
    an earlier one. Answers shorter than `min_tokens` tokens always pass. CJK text is counted
    per character."""
    if not 0.0 < max_repeat_ratio <= 1.0:
        raise ValueError("max_repeat_ratio must be in (0, 1]")
    if ngram < 1 or min_tokens < ngram:
        raise ValueError("ngram must be >= 1 and min_tokens >= ngram")
    check = partial(_no_repetition, limit=max_repeat_ratio, n=ngram, min_tokens=min_tokens)
    return Check("no_degenerate_repetition", check, prose=True)


def structural() -> AllOf:
    """`not_empty() & not_refusal() & not_truncated() & no_degenerate_repetition()`."""
    checks = (not_empty(), not_refusal(), not_truncated(), no_degenerate_repetition())
    return AllOf(*checks, name="structural")


def _not_empty(ctx: VerifyContext) -> Verdict:
    return passed() if ctx.answer.text.strip() else failed("empty answer")


def _not_refusal(ctx: VerifyContext, *, openers: tuple[str, ...]) -> Verdict:
    opening = _LEADING_NOISE.sub("", ctx.answer.text[:200]).lower().replace("\u2019", "'")
    if opening.startswith(openers):
        return failed("opens like a refusal")
    return passed()


def _not_truncated(ctx: VerifyContext) -> Verdict:
    if ctx.answer.finish_reason != "length":
        return passed()
    if _at_callers_limit(ctx):
        return passed("stopped at the caller's max_tokens")
    return failed("cut off at the token limit")


def _at_callers_limit(ctx: VerifyContext) -> bool:
    """The caller set a limit and the answer reached it (a model may stop at a limit of its own
    first; with no usage reported, the caller's limit is taken to be the one reached)."""
    limit, answer = ctx.max_tokens, ctx.answer
    return limit is not None and (answer.usage_estimated or answer.output_tokens >= limit)


def _no_repetition(ctx: VerifyContext, *, limit: float, n: int, min_tokens: int) -> Verdict:
    ratio = repeat_ratio(ctx.answer.text, n)
    if ratio is None or len(_TOKEN.findall(ctx.answer.text)) < min_tokens:
        return passed("too short to judge")
    if ratio > limit:
        return failed(f"{ratio:.0%} of {n}-grams repeat")
    return passed(f"{ratio:.0%} of {n}-grams repeat")


def repeat_ratio(text: str, n: int = 4) -> float | None:
    """Share of the text's token `n`-grams that repeat an earlier one; None if it has none."""
    tokens = [t.lower() for t in _TOKEN.findall(text)]
    grams = [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
    if not grams:
        return None
    return 1.0 - len(set(grams)) / len(grams)
