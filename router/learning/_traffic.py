"""Read a labelled traffic file as someone else's export might be written.

Accepted without a word: UTF-8 with or without a BOM, UTF-16 with a BOM, gzip (by its magic
bytes), CRLF line endings, blank lines, a JSON array document instead of JSON Lines, ids as
strings or integers (or absent: adapt does not need them), prompts as text or as a chat message
list (the last user message is what the router scores, so it is what is learned from), scores
as numbers, booleans or numeric strings, models other than the pair.

Rows that cannot be used are skipped and counted by reason, with the first line of each
(`Skipped`): a line that is not JSON (a truncated last line), no usable prompt, no pair, or no
numeric score for one of the pair's models (missing, null or NaN). With `strict`, the first such
row is an error instead. A file that is not text in a known encoding is an error naming its
line. No message ever quotes a prompt.
"""

from __future__ import annotations

import codecs
import gzip
import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, cast

from router.evaluation._data import DataFormatError, OutcomeRow

_GZIP_MAGIC = b"\x1f\x8b"
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


class RowProblem(ValueError):
    """Why one row cannot be used (a reason without values from the row)."""


@dataclass(slots=True)
class Skipped:
    """Rows left out, by reason: how many, and the first line of each."""

    counts: dict[str, int] = field(default_factory=dict)
    first: dict[str, int] = field(default_factory=dict)

    def add(self, reason: str, line: int) -> None:
        self.counts[reason] = self.counts.get(reason, 0) + 1
        self.first.setdefault(reason, line)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def to_json(self) -> dict[str, dict[str, int]]:
        return {r: {"rows": n, "first_line": self.first[r]} for r, n in sorted(self.counts.items())}

    def to_text(self) -> str:
        parts = [
            f"{n} {reason} (first at line {self.first[reason]})"
            for reason, n in sorted(self.counts.items(), key=lambda kv: -kv[1])
        ]
        return "; ".join(parts)


@dataclass(frozen=True, slots=True)
class Pair:
    """`--local-model` / `--frontier-model`: the pair for every row, over the rows' own."""

    local: str | None = None
    frontier: str | None = None


def _open(path: Path) -> IO[bytes]:
    try:
        raw = path.open("rb")
        if raw.read(2) == _GZIP_MAGIC:
            raw.close()
            return cast("IO[bytes]", gzip.open(path, "rb"))
        raw.seek(0)
        return raw
    except OSError as exc:
        raise DataFormatError(f"{path}: cannot open ({exc.strerror or exc})") from exc


def iter_text_lines(path: Path) -> Iterator[tuple[int, str]]:
    """`(line number, text)` of every line; a line that is not text is an error naming it."""
    with _open(path) as handle:
        try:
            head = handle.read(4)
            handle.seek(0)
            if head[:2] in _UTF16_BOMS:  # Windows tools' "Unicode"
                yield from enumerate(codecs.getreader("utf-16")(handle), start=1)
                return
            for number, line in enumerate(handle, start=1):
                yield number, _decode(line, number, path)
        except (OSError, EOFError, UnicodeDecodeError) as exc:
            raise DataFormatError(f"{path}: cannot read ({exc.__class__.__name__})") from exc


def _decode(line: bytes, number: int, path: Path) -> str:
    try:
        return line.decode("utf-8-sig" if number == 1 else "utf-8")
    except UnicodeDecodeError as exc:
        raise DataFormatError(
            f"{path}:{number}: not UTF-8 text (byte {exc.start + 1} of the line); "
            "save the file as UTF-8"
        ) from exc


def iter_objects(path: Path, skipped: Skipped) -> Iterator[tuple[int, object]]:
    """`(line, decoded JSON)` per non-blank line; lines that are not JSON go to `skipped`.
    A JSON array document yields its items, numbered from 1."""
    lines = iter_text_lines(path)
    first = True
    for number, text in lines:
        if not text.strip():
            continue
        if first and text.lstrip().startswith("["):
            yield from _array_items(text + "".join(t for _, t in lines), path)
            return
        first = False
        try:
            yield number, json.loads(text)
        except (json.JSONDecodeError, RecursionError):
            skipped.add("not valid JSON", number)


def _array_items(text: str, path: Path) -> Iterator[tuple[int, object]]:
    try:
        items = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise DataFormatError(f"{path}: a JSON array that does not parse ({exc})") from exc
    if not isinstance(items, list):
        raise DataFormatError(f"{path}: expected JSON Lines or a JSON array of rows")
    yield from enumerate(items, start=1)


def parse_traffic_row(obj: object, pair: Pair) -> OutcomeRow:
    """One usable row, or `RowProblem` saying why not."""
    if not isinstance(obj, dict):
        raise RowProblem("not a JSON object")
    local, frontier = _pair_of(obj, pair)
    scores = _scores(obj.get("scores"))
    for role, model in (("local", local), ("frontier", frontier)):
        if model not in scores:
            raise RowProblem(f"no numeric score for the {role} model")
    rid = obj.get("id")
    return OutcomeRow(
        id=str(rid) if isinstance(rid, str | int) and not isinstance(rid, bool) else "",
        prompt=prompt_text(obj.get("prompt")),
        scores=scores,
        local_model=local,
        frontier_model=frontier,
    )


def _pair_of(obj: Mapping[str, object], pair: Pair) -> tuple[str, str]:
    local = pair.local or obj.get("local_model")
    frontier = pair.frontier or obj.get("frontier_model")
    if not isinstance(local, str) or not local:
        raise RowProblem("no 'local_model'")
    if not isinstance(frontier, str) or not frontier:
        raise RowProblem("no 'frontier_model'")
    if not (_is_text(local) and _is_text(frontier)):
        raise RowProblem("a model name that is not valid text")
    if local == frontier:
        raise RowProblem("'local_model' and 'frontier_model' name the same model")
    return local, frontier


def _is_text(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: could not be written to the artefact
        return False
    return True


def _scores(raw: object) -> dict[str, float]:
    if not isinstance(raw, dict):
        raise RowProblem("'scores' is not an object")
    out = {}
    for model, value in raw.items():
        number = _number(value)
        if number is not None:
            out[str(model)] = number
    return out


def _number(value: object) -> float | None:
    """A finite score, from a number, a boolean or a numeric string; None otherwise."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:  # an integer beyond any float
        return None
    return number if math.isfinite(number) else None


def prompt_text(prompt: object) -> str:
    """The text to learn from: a string as is; of a chat message list, the last user message
    (what the router scores); its content parts' text joined. `RowProblem` otherwise."""
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, list):
        users = [m for m in prompt if isinstance(m, dict) and m.get("role") == "user"]
        if users:
            return _content_text(users[-1].get("content"))
    raise RowProblem("'prompt' must be a string or a message list with a user message")


def _content_text(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text") for p in content if isinstance(p, dict)]
        texts = [p for p in parts if isinstance(p, str)]
        if texts:
            return "\n".join(texts)
    raise RowProblem("the last user message has no text content")


@dataclass(frozen=True, slots=True)
class TrafficRows:
    """The usable rows of a file (scores on [0, 1]) and how the file was read."""

    rows: list[OutcomeRow]
    skipped: Skipped
    rescaled_from: tuple[float, float] | None
    duplicate_ids: int


def read_rows(path: Path, pair: Pair | None = None, *, strict: bool = False) -> TrafficRows:
    """Every usable row of `path`; see the module docstring for what is skipped and why."""
    skipped, rows = Skipped(), []
    for number, obj in iter_objects(path, skipped):
        try:
            rows.append(parse_traffic_row(obj, pair or Pair()))
        except RowProblem as exc:
            if strict:
                raise DataFormatError(f"{path}:{number}: {exc}") from None
            skipped.add(str(exc), number)
    if strict and skipped.total:
        raise DataFormatError(f"{path}:{min(skipped.first.values())}: not valid JSON")
    if not rows and skipped.total:
        first = min(skipped.first.values())
        raise DataFormatError(f"{path}:{first}: no usable rows ({skipped.to_text()})")
    if not rows:
        raise DataFormatError(f"{path}: no rows")
    scaled, span = _on_unit_scale(rows)
    return TrafficRows(scaled, skipped, span, _duplicates(rows))


def _on_unit_scale(rows: list[OutcomeRow]) -> tuple[list[OutcomeRow], tuple[float, float] | None]:
    """Scores on another scale (1-5, 0-10, -1..1) mapped linearly from the file's own range
    onto [0, 1]: gains keep their order and sign; only their unit changes."""
    lo = min(min(r.scores.values()) for r in rows)
    hi = max(max(r.scores.values()) for r in rows)
    if lo >= 0.0 and hi <= 1.0:
        return rows, None
    span = (hi - lo) or 1.0
    scaled = [replace(r, scores={m: (s - lo) / span for m, s in r.scores.items()}) for r in rows]
    return scaled, (lo, hi)


def _duplicates(rows: list[OutcomeRow]) -> int:
    ids = [r.id for r in rows if r.id]
    return len(ids) - len(set(ids))
