"""Read outcome files in the shared-data schema (one JSON object per line).

Each row needs `id`, `prompt` and `scores` (model -> quality in [0, 1]); `local_model`,
`frontier_model`, `responses`, `source` and `task` are optional. Problems name the line number.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from router.errors import RouterError


class DataFormatError(RouterError):
    """An outcome file is unreadable or a row breaks the schema; the message names the line."""


@dataclass(frozen=True, slots=True)
class OutcomeRow:
    """One prompt with the quality each model achieved on it."""

    id: str
    prompt: str
    scores: Mapping[str, float]
    source: str = ""
    task: str = ""
    local_model: str | None = None
    frontier_model: str | None = None
    responses: Mapping[str, str] = field(default_factory=dict)


def iter_jsonl(path: Path) -> Iterator[tuple[int, dict[str, object]]]:
    """Yield `(line_number, object)` for each non-blank line; raise on bad JSON or non-objects."""
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        raise DataFormatError(f"{path}: cannot open ({exc.strerror})") from exc
    with handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataFormatError(f"{path}:{number}: invalid JSON ({exc.msg})") from exc
            if not isinstance(obj, dict):
                raise DataFormatError(f"{path}:{number}: expected a JSON object")
            yield number, obj


def _str_field(obj: Mapping[str, object], key: str, where: str, *, required: bool) -> str | None:
    value = obj.get(key)
    if value is None and not required:
        return None
    if isinstance(value, int) and key == "id" and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise DataFormatError(f"{where}: '{key}' must be a string")
    return value


def _scores(obj: Mapping[str, object], where: str) -> dict[str, float]:
    raw = obj.get("scores")
    if not isinstance(raw, dict) or not raw:
        raise DataFormatError(f"{where}: 'scores' must be a non-empty object of model -> quality")
    out: dict[str, float] = {}
    for model, value in raw.items():
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if not ok or not math.isfinite(value) or not 0.0 <= value <= 1.0:
            raise DataFormatError(f"{where}: scores['{model}'] must be a number in [0, 1]")
        out[str(model)] = float(value)
    return out


def parse_row(obj: Mapping[str, object], where: str) -> OutcomeRow:
    """Validate one decoded row; `where` (e.g. `file:12`) prefixes every error."""
    responses = obj.get("responses") or {}
    if not isinstance(responses, dict):
        raise DataFormatError(f"{where}: 'responses' must be an object of model -> text")
    return OutcomeRow(
        id=_str_field(obj, "id", where, required=True) or "",
        prompt=_str_field(obj, "prompt", where, required=True) or "",
        scores=_scores(obj, where),
        source=_str_field(obj, "source", where, required=False) or "",
        task=_str_field(obj, "task", where, required=False) or "",
        local_model=_str_field(obj, "local_model", where, required=False),
        frontier_model=_str_field(obj, "frontier_model", where, required=False),
        responses={str(k): v for k, v in responses.items() if isinstance(v, str)},
    )


def load_outcomes(path: Path | str) -> list[OutcomeRow]:
    """All rows of one outcome file."""
    p = Path(path)
    rows = [parse_row(obj, f"{p}:{number}") for number, obj in iter_jsonl(p)]
    if not rows:
        raise DataFormatError(f"{p}: no rows")
    return rows


@dataclass(frozen=True, slots=True)
class PairOutcomes:
    """The rows that have scores for both models of a pair, and how many were skipped."""

    local_model: str
    frontier_model: str
    rows: Sequence[OutcomeRow]
    local: Sequence[float]
    frontier: Sequence[float]
    skipped: int


def pick_pair(
    rows: Sequence[OutcomeRow], local_model: str | None = None, frontier_model: str | None = None
) -> PairOutcomes:
    """Rows scored for both models; defaults to the file's own `local_model` / `frontier_model`."""
    local_name = local_model or default_model(rows, "local_model")
    frontier_name = frontier_model or default_model(rows, "frontier_model")
    kept = [r for r in rows if local_name in r.scores and frontier_name in r.scores]
    if not kept:
        known = sorted({m for r in rows for m in r.scores})
        raise DataFormatError(
            f"no row has scores for both '{local_name}' and '{frontier_name}'; "
            f"models in the file: {', '.join(known)}"
        )
    return PairOutcomes(
        local_name,
        frontier_name,
        kept,
        [r.scores[local_name] for r in kept],
        [r.scores[frontier_name] for r in kept],
        len(rows) - len(kept),
    )


def default_model(rows: Sequence[OutcomeRow], attr: str) -> str:
    """The one model the file's rows name in `attr` (`local_model` or `frontier_model`)."""
    names = {getattr(r, attr) for r in rows} - {None}
    if len(names) != 1:
        hint = "--local-model" if attr == "local_model" else "--frontier-model"
        found = ", ".join(sorted(str(n) for n in names)) or "none"
        raise DataFormatError(
            f"the file does not name a single {attr} (found: {found}); pass {hint}"
        )
    return str(names.pop())
