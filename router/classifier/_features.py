"""Prompt features shared by training and scoring: pure Python, a few C-level regex passes.

Two kinds: a short vector of task-agnostic "dense" signals (length, structure, scripts, math and
code markers, instruction counts, topic lexicons) and the set of lower-cased unigrams and bigrams
that the trained vocabulary turns into weights. Scoring and training call the same functions, so
they cannot drift apart; the artefact records `FEATURES_VERSION` and the dense names, and a change
to anything here needs a new version and a retrain.
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Set as AbstractSet
from itertools import pairwise
from typing import NamedTuple

FEATURES_VERSION = 1

_CJK_CHARS = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
_CJK = re.compile(f"[{_CJK_CHARS}]")
_KANA = re.compile("[\u3040-\u30ff]")
_ACCENTED = re.compile("[\u00c0-\u024f]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_NONZERO_DIGITS = "123456789"
# ASCII letters and punctuation are single bytes in UTF-8 and no byte of a longer sequence is
# ASCII, so counting them in the encoded text gives the same counts, at C speed.
_UPPER_BYTES = string.ascii_uppercase.encode()
_PUNCT_BYTES = string.punctuation.encode()
_TOKEN = re.compile(r"\w+|[^\w\s]")
# One pass for the three line-start signals: answer options, indented code, few-shot labels.
_LINE_START = re.compile(
    r"^(?:(?P<option>[ \t]*\(?[A-Ja-j][.)][ \t])|(?P<code>(?:    |\t)\S)"
    r"|(?P<fewshot>(?:Q|A|Question|Answer|Input|Output):))",
    re.MULTILINE,
)
_ARITH = re.compile(r"\d ?[-+*/^=<>\u00d7\u00f7] ?[\d(]")
_SENTENCE_END = re.compile("[.!?\u3002\uff01\uff1f](?:\\s|$)")

# Topic and instruction lexicons, matched against the prompt's unique unigrams and bigrams.
_LEXICONS: dict[str, str] = {
    "code": "python java javascript typescript sql c++ rust golang html css json regex function "
    "class method script program code coding implement api bug debug compile algorithm library "
    "database query array variable loop recursion docker linux bash git react django excel vba "
    "def return import",
    "math": "calculate compute solve equation integral derivative probability prove proof theorem "
    "sum matrix polynomial prime divisible remainder fraction ratio percent percentage average "
    "median variance area volume radius angle triangle circle sqrt log exponent factorial digits "
    "integer integers minimum maximum optimize optimise",
    "science": "physics chemistry chemical molecule molecular atom atoms electron energy velocity "
    "acceleration force mass reaction quantum temperature pressure voltage circuit frequency "
    "wavelength enzyme protein cell dna gene species thermodynamic entropy momentum gravity "
    "magnetic kinetic mol joule kelvin",
    "open": "discuss creative imagine story poem essay opinion ideas brainstorm describe advice "
    "tips suggest recommend thoughts feel feelings fun joke song letter email blog article "
    "summarize summarise rewrite paraphrase elaborate perspective benefits compare",
    "factual": "who when where which born invented founded located capital year name",
    "roleplay": "act pretend role persona roleplay character",
    "steps": "first then next finally step steps after_that followed",
    "constraint": "must should exactly only without include ensure wrap format json bullet "
    "paragraph paragraphs words sentences capital lowercase uppercase title highlight section "
    "placeholder placeholders postscript comma commas quotation repeat respond response "
    "at_least at_most do_not no_more less_than more_than end_with start_with",
    "reasoning": "prove proof derive justify calculate compute solve estimate determine evaluate "
    "step_by how_many explain_why find_the",
}
LEXICON_NAMES: tuple[str, ...] = tuple(_LEXICONS)

DENSE_NAMES: tuple[str, ...] = (
    "log_chars",
    "log_tokens",
    "log_lines",
    "log_sentences",
    "mean_token_len",
    "type_token_ratio",
    "digit_frac",
    "upper_frac",
    "punct_frac",
    "non_ascii_frac",
    "cjk_frac",
    "kana_present",
    "accented_frac",
    "log_options",
    "log_code_lines",
    "log_latex",
    "log_arith",
    "log_questions",
    "log_fewshot",
    "has_url",
    *(f"lex_{name}" for name in LEXICON_NAMES),
)


Gram = str | tuple[str, str]


class PromptFeatures(NamedTuple):
    dense: list[float]
    grams: AbstractSet[Gram]
    """The distinct bigrams then unigrams, each in the order they first occur: scores sum weights
    over them, and a set's order (string hashing, PYTHONHASHSEED) changed the sums' last bits."""


def _normalise(text: str) -> str:
    """Lower case, every ASCII digit `0`."""
    lowered = text.lower()
    for digit in _NONZERO_DIGITS:  # nine C-speed scans beat one `str.translate` by far
        if digit in lowered:
            lowered = lowered.replace(digit, "0")
    return lowered


def _split(normalised: str) -> list[str]:
    if not normalised.isascii():
        normalised = _CJK.sub(r" \g<0> ", normalised)
    return _TOKEN.findall(normalised)


def tokens(text: str) -> list[str]:
    """Lower-cased words, single CJK characters and punctuation; every digit becomes `0`."""
    return _split(_normalise(text))


def gram_key(gram: str) -> Gram:
    """The in-memory key of a vocabulary entry: unigrams as is, `"a b"` bigrams as `("a", "b")`."""
    first, _, second = gram.partition(" ")
    return (first, second) if second else first


def gram_name(gram: Gram) -> str:
    """Inverse of `gram_key`, for writing the vocabulary to JSON."""
    return gram if isinstance(gram, str) else f"{gram[0]} {gram[1]}"


_LEXICON: dict[Gram, str] = {
    gram_key(word.replace("_", " ")): group
    for group, words in reversed(_LEXICONS.items())
    for word in words.split()
}

# Long prompts are read as their head and tail only, which bounds the cost of the regex passes;
# counts that str methods get at C speed (length, lines, question marks) use the whole text.
_HEAD_CHARS = 1000
_TAIL_CHARS = 250


def _window(text: str) -> str:
    if len(text) <= _HEAD_CHARS + _TAIL_CHARS:
        return text
    return f"{text[:_HEAD_CHARS]}\n{text[-_TAIL_CHARS:]}"


def extract(prompt: str) -> PromptFeatures:
    """Dense signals (in `DENSE_NAMES` order) and the unique unigrams and bigrams."""
    text = _window(prompt)
    normalised = _normalise(text)
    toks = _split(normalised)
    # Sets in text order (see PromptFeatures); bigrams first: updating the larger dict with the
    # smaller is the cheaper way round (within 5% of set() here).
    seen: dict[Gram, None] = dict.fromkeys(pairwise(toks))
    unigrams = dict.fromkeys(toks)
    seen.update(unigrams)
    grams = seen.keys()
    n_chars = max(len(text), 1)
    n_toks = max(len(toks), 1)
    if text.isascii():
        non_ascii = cjk = accented = 0
        kana = False
    else:
        non_ascii = len(_NON_ASCII.findall(text))
        cjk = len(_CJK.findall(text))
        accented = len(_ACCENTED.findall(text))
        kana = _KANA.search(text) is not None
    lex = list(filter(None, map(_LEXICON.get, grams)))  # list.count: no Counter overhead
    encoded = text.encode("utf-8", "surrogatepass")
    lines = [m.lastgroup for m in _LINE_START.finditer(text)]
    log = math.log1p
    dense = [
        log(len(prompt)),
        log(len(toks) * len(prompt) / n_chars),
        log(prompt.count("\n")),
        log(len(_SENTENCE_END.findall(text))),
        sum(map(len, toks)) / n_toks,
        len(unigrams) / n_toks,
        normalised.count("0") / n_chars,
        (len(encoded) - len(encoded.translate(None, _UPPER_BYTES))) / n_chars,
        (len(encoded) - len(encoded.translate(None, _PUNCT_BYTES))) / n_toks,
        non_ascii / n_chars,
        cjk / n_chars,
        float(kana),
        accented / n_chars,
        log(lines.count("option")),
        log(lines.count("code")),
        log(text.count("\\") + text.count("$")),
        log(len(_ARITH.findall(text))),
        log(prompt.count("?") + prompt.count("\uff1f")),
        log(lines.count("fewshot")),
        float("http://" in prompt or "https://" in prompt),
        *(log(lex.count(name)) for name in LEXICON_NAMES),
    ]
    return PromptFeatures(dense, grams)
