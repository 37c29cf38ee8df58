"""Text helpers shared by the verifiers: code fences and answer normalisation."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_FENCE = re.compile(r"^[ \t]*```[ \t]*([\w+#.-]*)[^\n]*\n(.*?)^[ \t]*```", re.DOTALL | re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Fence:
    """One fenced code block: its language tag (lower-case, may be "") and its body."""

    language: str
    body: str


def fences(text: str) -> tuple[Fence, ...]:
    """Every closed ``` block in `text`, in order."""
    return tuple(Fence(m.group(1).lower(), m.group(2)) for m in _FENCE.finditer(text))


def normalise(text: str) -> str:
    """Lower-case, NFKC, punctuation dropped, whitespace collapsed: for comparing short answers."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = re.sub(r"[^\w\s.-]", " ", text)
    return " ".join(text.split()).strip(" .-")
