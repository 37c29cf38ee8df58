"""Answer features for the post-hoc score: signals that a written answer falls short.

Benchmark-independent checks of the answer against its prompt, pure Python. The checkable
requirements are pooled into one count, `checks_failed`, so that what the post-hoc model learns
from one kind of task carries over to another (an answer that breaks a verifiable instruction and
one that names no option are the same signal: the answer misses something the prompt asked for):

- multiple choice: the prompt lists options but the answer states no valid option letter, or
  states more than one (it changed its mind);
- verifiable instructions the prompt spells out and the answer breaks (no commas, all lower or
  upper case, word limits, wrapping in quotes, an ending phrase, a P.S., JSON, a count of
  highlighted sections or bullets): the IFEval-style constraints small models miss;

and, as separate signals:
- hedging, degenerate repetition, an answer cut off mid-sentence, a script other than the
  prompt's, and the answer's length against the prompt's.

`ANSWER_NAMES` orders the vector; a change needs a new `ANSWER_VERSION` and a retrain.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable

ANSWER_VERSION = 3

ANSWER_NAMES: tuple[str, ...] = (
    "log_answer_chars",
    "length_ratio",
    "checks_failed",
    "hedges",
    "repetition",
    "cut_off",
    "script_mismatch",
)

_OPTION = re.compile(r"^[ \t]*\(?([A-J])[.)][ \t]", re.MULTILINE)
# An option letter as answers write it: "(B)", "**B**", "B.", "\boxed{B}"; a bare "I" only when
# punctuation follows, so "the answer is I think..." is not option I.
_LETTER = r"(?:\\boxed\{)?[*_(\[\s]*(?:([A-HJ])\b(?![A-Za-z'])|(I)(?=[.)\]}*:,]|\s*$))"
# "The answer is (B)", "Answer: B", "the correct option is B", "Final answer: \boxed{B}"; not
# "another option is A", which weighs an option rather than choosing it.
_STATED = re.compile(
    r"(?i:\b(?:answer|(?:correct|right|best|final) (?:option|choice))\s*(?:is|would be|:)\s*:?"
    r"\s*(?:option\s*)?)" + _LETTER
)
# With no such statement: an answer that opens with an option ("B. Neon", "**B) Neon**", "(B)").
_LEADING = re.compile(
    r"\A\s*[*_#>\s]*\(?([A-J])(?:[.):\]]|\*\*)(?:\s|\*|$)|\A\s*\(?([A-J])\)?\s*\Z"
)
_HEDGE = re.compile(
    r"\b(?:i think|i believe|probably|possibly|might be|may be|not sure|it seems|perhaps|"
    r"it depends|cannot be determined|insufficient information|without (?:more|additional) "
    r"information|unfortunately|i'm not certain|assum(?:e|ing))\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"\w+")
_CJK = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
_END = re.compile(r"[.!?)\]}\"'`*\u3002\uff01\uff1f\u300d]\s*$")
_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7}


def _num(text: str) -> int:
    return int(text) if text.isdigit() else _NUMBER_WORDS.get(text.lower(), 0)


_N = r"(\d+|one|two|three|four|five|six|seven)"
# (prompt pattern, does the answer break it?) -- each checks one verifiable instruction.
_INSTRUCTIONS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str], str], bool]], ...] = (
    (
        re.compile(r"\b(?:no|without|not use any|avoid(?: using)?)\s+commas?\b", re.I),
        lambda _m, a: "," in a,
    ),
    (
        re.compile(r"\ball (?:in )?lower ?case\b|\blowercase letters only\b", re.I),
        lambda _m, a: a != a.lower(),
    ),
    (
        re.compile(r"\ball (?:in )?(?:capital letters|upper ?case)\b|\bin all capitals\b", re.I),
        lambda _m, a: a != a.upper(),
    ),
    (
        re.compile(rf"\b(?:at least|more than|minimum of)\s+{_N}\s+words\b", re.I),
        lambda m, a: len(_WORD.findall(a)) < _num(m.group(1)),
    ),
    (
        re.compile(
            rf"\b(?:at most|less than|fewer than|no more than|maximum of)\s+{_N}\s+words\b", re.I
        ),
        lambda m, a: len(_WORD.findall(a)) > _num(m.group(1)),
    ),
    (
        re.compile(
            r"\bwrap (?:your |the )?(?:entire )?(?:response|answer)[^.]{0,40}"
            r"double quot",
            re.I,
        ),
        lambda _m, a: not (a.strip().startswith('"') and a.strip().endswith('"')),
    ),
    (
        re.compile(
            r"\b(?:end|finish) (?:your|the) (?:response|answer|email|letter)[^\"]{0,40}"
            r"\"([^\"]{2,80})\"",
            re.I,
        ),
        lambda m, a: not a.strip().rstrip(".!").endswith(m.group(1).strip().rstrip(".!")),
    ),
    (
        re.compile(r"\bP\.S\.|\bpostscript\b", re.I),
        lambda _m, a: "P.S" not in a and "P.P.S" not in a,
    ),
    (
        re.compile(r"\b(?:in|as|using) (?:valid )?JSON\b|\bJSON format\b", re.I),
        lambda _m, a: not _parses_as_json(a),
    ),
    (
        re.compile(rf"\bhighlight (?:at least )?{_N}\s+sections?\b", re.I),
        lambda m, a: len(re.findall(r"\*[^*\n]+\*", a)) < _num(m.group(1)),
    ),
    (
        re.compile(rf"\bexactly {_N} bullet points?\b", re.I),
        lambda m, a: len(re.findall(r"^\s*[*-] ", a, re.M)) != _num(m.group(1)),
    ),
)


def _parses_as_json(answer: str) -> bool:
    text = answer.strip().removeprefix("```json").removeprefix("```").removesuffix("```")
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def instructions_broken(prompt: str, answer: str) -> int:
    """How many of the prompt's verifiable instructions the answer breaks."""
    broken = 0
    for pattern, breaks in _INSTRUCTIONS:
        match = pattern.search(prompt)
        if match is not None and breaks(match, answer):
            broken += 1
    return broken


def choice_faults(prompt: str, answer: str) -> int:
    """1 when the prompt lists options and the answer names none of them or several, else 0."""
    options = set(_OPTION.findall(prompt[-3000:]))
    if len(options) < 2:
        return 0
    return int(len(stated_options(answer) & options) != 1)


def stated_options(answer: str) -> set[str]:
    """The option letters the answer commits to: every "the answer is X" it states, else the
    option it opens with, else none."""
    stated = {a or b for a, b in _STATED.findall(answer)}
    if stated:
        return stated
    opening = _LEADING.search(answer)
    return {opening.group(1) or opening.group(2)} if opening else set()


def checks_failed(prompt: str, answer: str) -> int:
    """How many checkable requirements of the prompt the answer misses: a multiple-choice answer
    that names no option (or several) and each broken verifiable instruction."""
    return choice_faults(prompt, answer[:4000]) + instructions_broken(prompt, answer)


def _repetition(words: list[str]) -> float:
    if len(words) < 20:
        return 0.0
    grams = list(zip(words, words[1:], words[2:], words[3:], strict=False))
    return 1.0 - len(set(grams)) / len(grams)


def _cjk_share(text: str) -> float:
    return len(_CJK.findall(text)) / max(len(text), 1)


def extract_answer(prompt: str, answer: str) -> list[float]:
    """The answer's features, in `ANSWER_NAMES` order."""
    head = answer[:4000]
    words = _WORD.findall(head.lower())
    return [
        math.log1p(len(answer)),
        math.log1p(len(answer)) - math.log1p(len(prompt)),
        float(checks_failed(prompt, answer)),
        math.log1p(len(_HEDGE.findall(head))),
        _repetition(words),
        float(bool(answer.strip()) and _END.search(answer[-20:]) is None),
        abs(_cjk_share(prompt[:2000]) - _cjk_share(head)),
    ]
