"""Secrets: provider API keys, tokens, passwords in assignments, PEM private keys, long
random-looking tokens (by Shannon entropy), and any of these hex-encoded (`736b2d616e74...`,
`\\x73\\x6b...`).

Patterns start with a literal (`sk-`, `AKIA`, `ghp_`...) so the regex engine can skip ahead;
word-boundary checks are done in Python on the few matches.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator

Hit = tuple[str, int, int, str]

_KEYS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("private_key", re.compile(
        r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----"
        r"(?:.*?-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|.*\Z)",
        re.DOTALL,
    )),
    ("anthropic_key", re.compile(r"sk-ant-[A-Za-z0-9_\-]{20,}")),
    ("openai_key", re.compile(r"sk-(?!ant-)[A-Za-z0-9_\-]{20,}")),
    ("aws_access_key", re.compile(r"A(?:KIA|SIA|BIA|CCA)[A-Z0-9]{16}(?![A-Za-z0-9])")),
    ("github_token", re.compile(r"gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255}")),
    ("slack_token", re.compile(r"xox[a-z]-[A-Za-z0-9-]{10,}")),
    ("google_api_key", re.compile(r"AIza[0-9A-Za-z_\-]{35}(?![\w-])", re.ASCII)),
    ("stripe_key", re.compile(r"[sr]k_(?:live|test)_[A-Za-z0-9]{16,}")),
    ("jwt", re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
)  # fmt: skip
# Literals every match contains, for patterns the regex engine cannot skip ahead on by itself.
_ANCHORS = {"stripe_key": ("k_live_", "k_test_")}
_KEYWORDS = ("key", "secret", "token", "pass", "pwd", "bearer", "basic")
# After a keyword: the rest of the name (api_KEY_id, PASSword), `:` or `=`, then the value.
_ASSIGNED = re.compile(
    r"[A-Za-z_-]{0,12}[\"']?\s*[:=]\s*[\"']?([^\s\"'`,;()\[\]{}<>]{8,}+)(?![(\[])"
)
_BEARER = re.compile(r"\s+([A-Za-z0-9\-._~+/]{16,}=*)")
_NOT_A_VALUE = re.compile(
    r"[$%<{]|(?:none|null|true|false|redacted|changeme|example|placeholder)$"
    r"|[A-Za-z_]+(?:\.[A-Za-z_]+)+$",
    re.IGNORECASE,
)
_TOKEN = re.compile(r"(?<![A-Za-z0-9+/_\-])[A-Za-z0-9+/_\-]{32,256}={0,2}(?![A-Za-z0-9+/_\-=])")
_MIN_TOKEN = 32  # `_TOKEN`'s shortest match
_MIN_ENTROPY = 4.2  # bits per character; random base64/base62 tokens score about 4.5 and up
_WORDS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
_MAX_WORD = 3.0  # random tokens split into 1-2 character "words"; identifiers into real words
# 20+ hex-encoded bytes (the shortest key, AWS's, has 20 characters), bare or `\x`-escaped.
_HEX = re.compile(
    r"(?<![0-9A-Fa-f])(?:[0-9A-Fa-f]{2}){20,}(?![0-9A-Fa-f])|(?:\\x[0-9A-Fa-f]{2}){20,}"
)
_MIN_HEX = 40  # `_HEX`'s shortest match: 20 bytes as bare hex


def find_secrets(text: str) -> Iterator[Hit]:
    for label, pattern in _KEYS:
        anchors = _ANCHORS.get(label)
        if anchors is not None and not any(anchor in text for anchor in anchors):
            continue  # the pattern starts with a character class: a literal check is faster
        for match in pattern.finditer(text):
            if not _glued(text, match.start()):
                yield ("secret", match.start(), match.end(), label)
    lowered = text.lower()
    if any(word in lowered for word in _KEYWORDS):
        yield from _assigned(text, lowered)
    long_words = _long_words(text, _MIN_TOKEN)
    if long_words:  # random tokens and hex runs never span whitespace: most texts skip both
        yield from _random_tokens(text, long_words)
        yield from _hex_encoded(text, long_words)


def _long_words(text: str, least: int) -> list[tuple[int, int]]:
    """The spans of the whitespace-separated words of `least` characters or more."""
    words = text.split()
    spans: list[tuple[int, int]] = []
    if not words or max(map(len, words)) < least:  # the usual case, without a Python loop
        return spans
    start = 0
    for word in words:
        start = text.find(word, start)
        if len(word) >= least:
            spans.append((start, start + len(word)))
        start += len(word)
    return spans


def _hex_encoded(text: str, long_words: list[tuple[int, int]] | None = None) -> Iterator[Hit]:
    """A key or assignment hidden as hex: decoded, it must be printable ASCII holding one.
    Only words long enough to hold `_HEX`'s shortest match are searched (`long_words`)."""
    for start, end in _long_words(text, _MIN_HEX) if long_words is None else long_words:
        if end - start >= _MIN_HEX:
            yield from _hex_in(text, start, end)


def _hex_in(text: str, start: int, end: int) -> Iterator[Hit]:
    for match in _HEX.finditer(text, start, end):
        try:
            decoded = bytes.fromhex(match.group().replace("\\x", "")).decode("ascii")
        except (ValueError, UnicodeDecodeError):
            continue
        if decoded.isprintable() and _holds_key(decoded):
            yield ("secret", match.start(), match.end(), "hex_encoded_secret")


def _holds_key(decoded: str) -> bool:
    if any(pattern.search(decoded) for _label, pattern in _KEYS):
        return True
    lowered = decoded.lower()
    return any(word in lowered for word in _KEYWORDS) and any(_assigned(decoded, lowered))


def _random_tokens(text: str, long_words: list[tuple[int, int]] | None = None) -> Iterator[Hit]:
    for start, end in _long_words(text, _MIN_TOKEN) if long_words is None else long_words:
        for match in _TOKEN.finditer(text, start, end):
            if high_entropy(match.group()):
                yield ("secret", match.start(), match.end(), "high_entropy_token")


def high_entropy(token: str) -> bool:
    """Looks random: mixed case and digits, >= 4.2 bits per character, no real words in it."""
    if not (any(c.isupper() for c in token) and any(c.islower() for c in token)):
        return False
    if sum(c.isdigit() for c in token) < 2:
        return False
    words = _WORDS.findall(token)
    if sum(map(len, words)) / max(1, len(words)) >= _MAX_WORD:
        return False  # camelCase or snake_case identifiers, paths, slugs
    return shannon_entropy(token) >= _MIN_ENTROPY


def shannon_entropy(text: str) -> float:
    size = len(text)
    return -sum(n / size * math.log2(n / size) for n in Counter(text).values())


def _glued(text: str, start: int) -> bool:
    before = text[start - 1] if start > 0 else " "
    return (before.isascii() and before.isalnum()) or before in "_-"  # CJK text has no spaces


def _assigned(text: str, lowered: str) -> Iterator[Hit]:
    """`api_key = ...`, `password: ...` and `Bearer ...`, matched right after their keywords."""
    for word in _KEYWORDS:
        index = lowered.find(word)
        while index != -1:
            if _starts_word(lowered, index):
                hit = _value_after(text, word, index + len(word))
                if hit is not None:
                    yield hit
            index = lowered.find(word, index + 1)


def _starts_word(lowered: str, index: int) -> bool:
    """`key` in `api_key`, `apikey` or `key`, not in `monkey`."""
    before = lowered[index - 1] if index else " "
    return not (before.isascii() and before.isalpha()) or lowered[index - 3 : index] == "api"


def _value_after(text: str, word: str, end: int) -> Hit | None:
    if word in {"bearer", "basic", "token"}:
        match = _BEARER.match(text, end)
        if match is not None and any(c.isdigit() for c in match.group(1)):
            return ("secret", match.start(1), match.end(1), "bearer_token")
    match = _ASSIGNED.match(text, end)
    if match is None or not _plausible_value(match.group(1)):
        return None
    return ("secret", match.start(1), match.end(1), "assigned_secret")


def _plausible_value(value: str) -> bool:
    return not _NOT_A_VALUE.match(value) and len(set(value)) > 3
