"""The one reader of outcome files: `router eval`, `calibrate`, `train`, `adapt`, `learn` and
`score` (its framing) read a file the same way, so a file one of them takes, all of them take.

Accepted without a word: UTF-8 with or without a BOM, UTF-16 with a BOM, gzip (by its magic
bytes), CRLF line endings, blank lines, a JSON array document instead of JSON Lines, ids as
strings or integers (or absent), prompts as text or as a chat message list (the last user
message is what the router scores, so it is what is measured and learned from), scores as
numbers, booleans or numeric strings (other values are ignored), any number of models. Any
other field that maps two or more of the scored models to numbers is kept as the row's
`graded` outcomes (`router adapt` may learn from them, docs/learning.md "Graded outcomes").

Scores on another scale than [0, 1] (1-5, 0-10, -1..1) are mapped linearly from the file's own
range onto [0, 1] (`OutcomeFile.rescaled_from` says so): gains keep their order and sign.

Rows that cannot be used are skipped and counted by reason, with the first line of each
(`Skipped`): a line that is not JSON (a truncated last line), not an object, no usable prompt,
no numeric score; a caller's `refine` adds its own reasons (adapt: no pair on the row). With
`strict`, the first such row is an error naming `file:line` instead. A file that is not text in
a known encoding is an error naming its line. No message ever quotes a prompt.

`STDIN` (the path `-`) reads standard input, whole, with the same sniffing (`router score
--input -`).
"""

from __future__ import annotations

import codecs
import gzip
import io
import json
import math
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any, cast

from router.evaluation._data import DataFormatError, OutcomeRow, PairOutcomes, pick_pair
from router.evaluation._pairs import choose_pair

_GZIP_MAGIC = b"\x1f\x8b"
STDIN = Path("-")
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
NOT_JSON = "not valid JSON"
BAD_NAME = "a model name that is not valid text"

Refine = Callable[[OutcomeRow], OutcomeRow]
"""A caller's own check of a read row: the row to keep, or `RowProblem` saying why not."""


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
        return _reasons_text(self.to_json())


def _reasons_text(skipped: Mapping[str, Mapping[str, int]]) -> str:
    return "; ".join(
        f"{s['rows']} {reason} (first at line {s['first_line']})"
        for reason, s in sorted(skipped.items(), key=lambda kv: -kv[1]["rows"])
    )


def _open(path: Path) -> IO[bytes]:
    if path == STDIN:
        return _stdin()
    try:
        raw = path.open("rb")
        if raw.read(2) == _GZIP_MAGIC:
            raw.close()
            return cast("IO[bytes]", gzip.open(path, "rb"))
        raw.seek(0)
        return raw
    except OSError as exc:
        raise DataFormatError(f"{path}: cannot open ({exc.strerror or exc})") from exc


def _stdin() -> IO[bytes]:
    """Standard input, read whole: a pipe cannot be rewound after its encoding is sniffed."""
    data = sys.stdin.buffer.read()
    if data[:2] == _GZIP_MAGIC:
        return cast("IO[bytes]", gzip.GzipFile(fileobj=io.BytesIO(data)))
    return io.BytesIO(data)


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


def iter_objects(
    path: Path, skipped: Skipped, *, strict: bool = False
) -> Iterator[tuple[int, object]]:
    """`(line, decoded JSON)` per non-blank line; lines that are not JSON go to `skipped` (with
    `strict`: are an error). A JSON array document yields its items, numbered from 1."""
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
            if strict:
                raise DataFormatError(f"{path}:{number}: {NOT_JSON}") from None
            skipped.add(NOT_JSON, number)


def _array_items(text: str, path: Path) -> Iterator[tuple[int, object]]:
    try:
        items = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise DataFormatError(f"{path}: a JSON array that does not parse ({exc})") from exc
    if not isinstance(items, list):
        raise DataFormatError(f"{path}: expected JSON Lines or a JSON array of rows")
    yield from enumerate(items, start=1)


def parse_outcome_row(obj: object) -> OutcomeRow:
    """One usable row, or `RowProblem` saying why not. Optional fields of the wrong type are
    left out (`local_model` and `frontier_model` stay as written when they are text)."""
    if not isinstance(obj, dict):
        raise RowProblem("not a JSON object")
    scores = numeric_scores(obj.get("scores"))
    local, frontier = _text(obj.get("local_model")), _text(obj.get("frontier_model"))
    if not (is_text(local or "") and is_text(frontier or "")):
        raise RowProblem(BAD_NAME)
    return OutcomeRow(
        id=_id(obj.get("id")),
        prompt=prompt_text(obj.get("prompt")),
        scores=scores,
        source=_text(obj.get("source")) or "",
        task=_text(obj.get("task")) or "",
        local_model=local,
        frontier_model=frontier,
        responses=_responses(obj.get("responses")),
        graded=_graded(obj, scores),
    )


_NOT_GRADED = frozenset({"scores", "responses"})


def _graded(obj: Mapping[str, object], scores: Mapping[str, float]) -> dict[str, dict[str, float]]:
    """The row's other fields that map two or more of its scored models to numbers."""
    out = {}
    for name, value in obj.items():
        if name in _NOT_GRADED or not isinstance(value, dict):
            continue
        numbers = {m: n for m, v in value.items() if m in scores and (n := _number(v)) is not None}
        if len(numbers) >= 2:
            out[name] = numbers
    return out


def _id(value: object) -> str:
    return str(value) if isinstance(value, str | int) and not isinstance(value, bool) else ""


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def is_text(name: str) -> bool:
    """False for a string with a lone surrogate: it could not be printed nor written out."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _responses(value: object) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k): v for k, v in value.items() if isinstance(v, str)}


def numeric_scores(raw: object) -> dict[str, float]:
    """The models with a usable score (a model name that is not valid text is left out, as a
    value that is not a number is); `RowProblem` when there is none."""
    if not isinstance(raw, dict):
        raise RowProblem("'scores' is not an object")
    out = {}
    for model, value in raw.items():
        number = _number(value)
        if number is not None and is_text(str(model)):
            out[str(model)] = number
    if not out:
        raise RowProblem("no numeric score for any model")
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
    """The text to score: a string as is; of a chat message list, the last user message
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


def pair_problem(row: OutcomeRow, local: str, frontier: str) -> str | None:
    """Why `row` cannot measure the pair (no score for one side), or None."""
    for role, model in (("local", local), ("frontier", frontier)):
        if model not in row.scores:
            return f"no numeric score for the {role} model"
    return None


@dataclass(frozen=True, slots=True)
class OutcomeFile:
    """The usable rows of a file (scores on [0, 1]), the line of each, and how it was read."""

    path: Path
    rows: list[OutcomeRow]
    lines: Sequence[int]
    skipped: Skipped
    rescaled_from: tuple[float, float] | None
    duplicate_ids: int

    def to_json(self) -> dict[str, Any]:
        """How the file was read, as `router adapt` records it in `training.input`."""
        return {
            "rows": len(self.rows),
            "skipped": self.skipped.to_json(),
            "duplicate_ids": self.duplicate_ids,
            "scores_rescaled_from": list(self.rescaled_from) if self.rescaled_from else None,
        }


def read_outcomes(
    path: Path | str, *, strict: bool = False, refine: Refine | None = None
) -> OutcomeFile:
    """Every usable row of `path`; see the module docstring for what is skipped and why."""
    p, skipped = Path(path), Skipped()
    rows: list[OutcomeRow] = []
    lines: list[int] = []
    for number, obj in iter_objects(p, skipped, strict=strict):
        try:
            row = parse_outcome_row(obj)
            rows.append(refine(row) if refine else row)
        except RowProblem as exc:
            if strict:
                raise DataFormatError(f"{p}:{number}: {exc}") from None
            skipped.add(str(exc), number)
            continue
        lines.append(number)
    if not rows and skipped.total:
        first = min(skipped.first.values())
        raise DataFormatError(f"{p}:{first}: no usable rows ({skipped.to_text()})")
    if not rows:
        raise DataFormatError(f"{p}: no rows")
    scaled, span = _on_unit_scale(rows)
    return OutcomeFile(p, scaled, lines, skipped, span, _duplicates(rows))


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


def read_notes(read: Mapping[str, Any]) -> list[str]:
    """What a command says about how it read a file (`OutcomeFile.to_json()`): rows skipped
    and why, a rescaled score range, repeated ids. Never a prompt."""
    lines = []
    skipped: Mapping[str, Mapping[str, int]] = read.get("skipped", {})
    if skipped:
        total = sum(s["rows"] for s in skipped.values())
        lines.append(f"skipped {total} of {read['rows'] + total} rows: {_reasons_text(skipped)}")
    if read.get("scores_rescaled_from"):
        lo, hi = read["scores_rescaled_from"]
        lines.append(
            f"scores run from {lo:g} to {hi:g}, not 0 to 1: rescaled linearly to [0, 1] "
            "(the gains keep their order and sign)"
        )
    if read.get("duplicate_ids"):
        lines.append(f"{read['duplicate_ids']} rows repeat an earlier id (all rows are used)")
    return lines


def load_outcomes(path: Path | str) -> list[OutcomeRow]:
    """Every row of an outcome file, read strictly: the first row that cannot be used is an
    error naming `file:line` (`read_outcomes` skips and counts such rows instead)."""
    return read_outcomes(path, strict=True).rows


@dataclass(frozen=True, slots=True)
class PairFile:
    """A file read for `router eval` / `calibrate`: its rows, the pair measured, and why."""

    read: OutcomeFile
    pair: PairOutcomes
    reason: str


def read_pair(
    path: Path | str,
    local_model: str | None = None,
    frontier_model: str | None = None,
    *,
    strict: bool = False,
) -> PairFile:
    """`read_outcomes`, then the pair to measure (`choose_pair`). Rows without a score for the
    pair stay in the file's multi-pair figures and are counted in `pair.skipped`. With `strict`,
    the first row in file order that was skipped or has no score for the pair is an error naming
    its line, as `router adapt --strict` names it."""
    read = read_outcomes(path)
    choice = choose_pair(read.rows, local_model, frontier_model)
    pair = pick_pair(read.rows, choice.local, choice.frontier)
    if strict:
        _refuse_first_problem(read, pair)
    return PairFile(read, pair, choice.reason)


def _refuse_first_problem(read: OutcomeFile, pair: PairOutcomes) -> None:
    """The first row, in file order, that was skipped or cannot measure `pair`, as an error."""
    problems = [(line, reason) for reason, line in read.skipped.first.items()]
    if pair.skipped:
        problems.append(
            next(
                (n, p)
                for n, r in zip(read.lines, read.rows, strict=True)
                if (p := pair_problem(r, pair.local_model, pair.frontier_model))
            )
        )
    if problems:
        line, reason = min(problems)
        raise DataFormatError(f"{read.path}:{line}: {reason}")
