"""Undo simple obfuscation before detection, keeping a map back to the original offsets.

Invisible characters are dropped by Unicode category, not by a list: format characters (Cf:
zero-width spaces and joiners, LRM/RLM and other bidi marks, invisible operators such as
U+2062, soft hyphens, tags) and combining marks (Mn, Me: U+034F, variation selectors such as
U+FE0F, accents added to digits or letters). Every other non-ASCII character is
NFKC-normalised (fullwidth digits and letters become ASCII, no-break spaces become spaces).
ASCII text, the common case, is returned as is at the cost of one `str.isascii()` call.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

INVISIBLE_CATEGORIES = frozenset({"Cf", "Mn", "Me"})  # format characters, combining marks
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
_OTHER_DIGIT = re.compile(r"[^\D0-9]")  # a decimal digit of any other script (one class: fast)


def ascii_digits(text: str) -> str:
    """Decimal digits of every script as ASCII digits (Arabic-Indic, Devanagari, fullwidth...).

    One character for one, so offsets into the result are offsets into `text`.
    """
    if text.isascii():
        return text
    return _OTHER_DIGIT.sub(lambda m: str(unicodedata.decimal(m.group())), text)


def invisible(char: str) -> bool:
    """A character detection ignores: a format character or a combining mark."""
    return unicodedata.category(char) in INVISIBLE_CATEGORIES


def _has_invisible(text: str) -> bool:
    return any(invisible(char) for char in set(text) if not char.isascii())


def drop_invisible(text: str) -> str:
    """`text` without format characters and combining marks."""
    return text if text.isascii() else "".join(c for c in text if not invisible(c))


@dataclass(frozen=True, slots=True)
class Normalized:
    """Text to scan; `offsets[i]` is the original index of `text[i]` (None: the same)."""

    text: str
    offsets: tuple[int, ...] | None = None
    aligned: bool = True  # False: same length as the original, assumed (not known) aligned

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        if self.offsets is None:
            return start, end
        return self.offsets[start], self.offsets[end - 1] + 1


def normalize(text: str, *, exact: bool = False) -> Normalized:
    """The text to scan. Fast paths: ASCII as is; whole-text NFKC when it keeps the length."""
    if text.isascii():
        return Normalized(text)
    if not exact and not _has_invisible(text):
        if unicodedata.is_normalized("NFKC", text):
            return Normalized(text)
        mapped = unicodedata.normalize("NFKC", text)
        if len(mapped) == len(text):
            return Normalized(mapped, None, aligned=mapped == text)
    pieces: list[str] = []
    offsets: list[int] = []
    done = 0
    for run in _NON_ASCII.finditer(text):
        start, end = run.span()
        pieces.append(text[done:start])
        offsets.extend(range(done, start))
        _normalize_run(text, start, end, pieces, offsets)
        done = end
    pieces.append(text[done:])
    offsets.extend(range(done, len(text)))
    return Normalized("".join(pieces), tuple(offsets))


def _normalize_run(text: str, start: int, end: int, pieces: list[str], offsets: list[int]) -> None:
    """NFKC one run of non-ASCII characters; per character only when the length changes."""
    run = text[start:end]
    if not _has_invisible(run):
        mapped = unicodedata.normalize("NFKC", run)
        if len(mapped) == len(run):
            pieces.append(mapped)
            offsets.extend(range(start, end))
            return
    for index in range(start, end):
        char = text[index]
        if invisible(char):
            continue
        mapped = unicodedata.normalize("NFKC", char)
        pieces.append(mapped)
        offsets.extend([index] * len(mapped))
