"""Replace findings with placeholders like `[EMAIL_1]`, and put the values back in an answer."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence

from router.privacy._normalize import drop_invisible
from router.privacy._types import Finding

_PLACEHOLDER = re.compile(r"\[\s*([A-Za-z]+(?:_[A-Za-z]+)*)_(\d+)\s*\]")
_SEPARATORS = re.compile(r"[\s.\-()]+")


class Redactions(Mapping[str, str]):
    """Placeholder -> original value. Its repr never shows the values."""

    def __init__(self, values: Mapping[str, str] | None = None) -> None:
        self._values: dict[str, str] = dict(values or {})

    def __getitem__(self, placeholder: str) -> str:
        return self._values[placeholder]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Redactions({sorted(self._values)})"


def redact(
    text: str,
    findings: Iterable[Finding],
    mapping: Mapping[str, str] | None = None,
    *,
    avoid: Iterable[str] = (),
) -> tuple[str, Redactions]:
    """`text` with each finding replaced by a placeholder, and the placeholder -> value map.

    The same value gets the same placeholder (also across calls when `mapping` from an earlier
    call is passed in, e.g. for the other messages of one request). Placeholders already
    written in the text, or listed in `avoid`, are never reused.
    """
    values = dict(mapping or {})
    by_value = {_canonical(v): p for p, v in values.items()}
    taken = set(values) | _placeholders_in(text) | set(avoid)
    pieces: list[str] = []
    done = 0
    for finding in sorted(findings, key=lambda f: f.start):
        if finding.start < done:
            continue  # overlapping findings: the first one already covers this text
        value = text[finding.start : finding.end]
        placeholder = by_value.get(_canonical(value))
        if placeholder is None:
            placeholder = _next_placeholder(finding.kind, taken)
            taken.add(placeholder)
            values[placeholder] = value
            by_value[_canonical(value)] = placeholder
        pieces += [text[done : finding.start], placeholder]
        done = finding.end
    pieces.append(text[done:])
    return "".join(pieces), Redactions(values)


def restore(answer: str, mapping: Mapping[str, str]) -> str:
    """Put the original values back where the answer repeats placeholders.

    Tolerates what models do to placeholders: `[ EMAIL_1 ]`, `[email_1]`. Unknown placeholders
    are left as they are.
    """
    if not mapping or "[" not in answer:
        return answer

    def value(match: re.Match[str]) -> str:
        key = f"[{match.group(1).upper()}_{match.group(2)}]"
        return mapping.get(key, match.group())

    return _PLACEHOLDER.sub(value, answer)


def redact_all(
    texts: Sequence[str], findings: Sequence[Sequence[Finding]]
) -> tuple[list[str], Redactions]:
    """Redact several texts (one request's messages) with one consistent mapping."""
    mapping: Mapping[str, str] = Redactions()
    avoid = set().union(*(_placeholders_in(text) for text in texts))
    redacted = []
    for text, found in zip(texts, findings, strict=True):
        new_text, mapping = redact(text, found, mapping, avoid=avoid)
        redacted.append(new_text)
    return redacted, Redactions(mapping)


def _next_placeholder(kind: str, taken: set[str]) -> str:
    """`[EMAIL_n]` with the lowest n not used yet, nor already written in the text itself."""
    prefix = kind.upper()
    number = 1
    while f"[{prefix}_{number}]" in taken:
        number += 1
    return f"[{prefix}_{number}]"


def _placeholders_in(text: str) -> set[str]:
    """Placeholder-like strings the text already contains, as `restore` would read them."""
    if "[" not in text:
        return set()
    return {f"[{m.group(1).upper()}_{m.group(2)}]" for m in _PLACEHOLDER.finditer(text)}


def _canonical(value: str) -> str:
    """Two spellings of one value (`4111 1111...` and `4111-1111...`) share a placeholder."""
    cleaned = unicodedata.normalize("NFKC", drop_invisible(value))
    return _SEPARATORS.sub("", cleaned).lower()
