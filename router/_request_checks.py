"""Step 1, continued: what every string and JSON-like argument of a request must satisfy.

Kept apart from `router/_request.py` (which says which argument is checked how) so new request
fields get the same checks by calling these:

- text must encode as UTF-8: a lone surrogate (`"\\udfff"`) would fail only when the request
  is serialised for a model, which looked like a provider failure;
- values the ledger stores as given (metadata, `request_id`) hold no NUL character: PostgreSQL
  refuses NUL in text, SQLite would keep it, so both refuse it here alike;
- JSON-like arguments (`response_format`) are plain JSON values, bounded in depth, size and
  node count, so a hostile structure cannot exhaust the encoder's recursion;
- metadata is bounded in key length, key count and total size (it is stored in every row).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from router.errors import InvalidRequestError

MAX_JSON_DEPTH = 64
MAX_JSON_NODES = 10_000
MAX_JSON_CHARS = 200_000
MAX_METADATA_KEY = 64
MAX_METADATA_KEYS = 32
MAX_METADATA_CHARS = 4_096


def check_text(where: str, value: str, *, stored: bool = False) -> str:
    """`value` unchanged, or `InvalidRequestError` if it cannot be sent (a lone surrogate) or,
    when `stored` as given in the ledger, holds a NUL. The text itself is never quoted."""
    if not value.isascii():  # ASCII (most text) is valid UTF-8: no encoding needed
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InvalidRequestError(
                f"{where} is not valid Unicode text: it holds a lone surrogate (character "
                f"{exc.start}), which cannot be encoded as UTF-8; decode the source text with "
                "errors='replace' or fix its encoding"
            ) from None
    if stored and "\x00" in value:
        raise InvalidRequestError(
            f"{where} holds a NUL character (\\x00), which the ledger cannot store; remove it"
        )
    return value


def check_json(where: str, value: Any) -> None:
    """Refuse anything but a plain JSON value within `MAX_JSON_DEPTH` levels, `MAX_JSON_NODES`
    values and `MAX_JSON_CHARS` characters of text. Walked with a stack, not recursion."""
    if value is None:  # an argument not given: most of them, on every request
        return
    stack: list[tuple[Any, int]] = [(value, 1)]
    nodes = chars = 0
    while stack:
        node, depth = stack.pop()
        nodes += 1
        if depth > MAX_JSON_DEPTH or nodes > MAX_JSON_NODES:
            raise InvalidRequestError(
                f"{where} is nested more than {MAX_JSON_DEPTH} levels deep or has more than "
                f"{MAX_JSON_NODES:,} values; simplify it"
            )
        chars += _scalar_chars(where, node)
        if chars > MAX_JSON_CHARS:
            raise InvalidRequestError(f"{where} holds more than {MAX_JSON_CHARS:,} characters")
        stack.extend((child, depth + 1) for child in _children(where, node))


def _children(where: str, node: Any) -> Sequence[Any]:
    if isinstance(node, Mapping):
        if not all(isinstance(key, str) for key in node):
            raise InvalidRequestError(f"{where} has a non-string key; it must be JSON")
        return [*node.keys(), *node.values()]
    if isinstance(node, list | tuple):
        return node
    return ()


def _scalar_chars(where: str, node: Any) -> int:
    if isinstance(node, str):
        return len(check_text(where, node))
    if isinstance(node, float) and not math.isfinite(node):
        raise InvalidRequestError(f"{where} holds NaN or infinity, which JSON cannot carry")
    if node is None or isinstance(node, bool | int | float | Mapping | list | tuple):
        return 0
    raise InvalidRequestError(f"{where} holds a {type(node).__name__}; it must be plain JSON")


def check_metadata_bounds(metadata: Mapping[Any, Any]) -> None:
    """Keys of 1 to `MAX_METADATA_KEY` characters, at most `MAX_METADATA_KEYS` of them and
    `MAX_METADATA_CHARS` characters in all; no key or value unencodable or holding a NUL.
    Entries that are not strings are left to the caller's type check."""
    if len(metadata) > MAX_METADATA_KEYS:
        raise InvalidRequestError(
            f"`metadata` has {len(metadata):,} keys; at most {MAX_METADATA_KEYS} are allowed"
        )
    total = 0
    for index, (key, value) in enumerate(metadata.items()):
        if not isinstance(key, str) or not isinstance(value, str):
            continue
        if not 0 < len(key) <= MAX_METADATA_KEY:
            raise InvalidRequestError(
                f"metadata key #{index + 1} must have 1 to {MAX_METADATA_KEY} characters"
            )
        check_text(f"metadata key #{index + 1}", key, stored=True)
        check_text(f"metadata[{key!r}]", value, stored=True)
        total += len(key) + len(value)
    if total > MAX_METADATA_CHARS:
        raise InvalidRequestError(
            f"`metadata` holds {total:,} characters; at most {MAX_METADATA_CHARS:,} are allowed"
        )
