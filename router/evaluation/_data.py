"""Outcome rows in the shared-data schema, and the (local, frontier) pair measured on them.

A row has `prompt` and `scores` (model -> quality in [0, 1]); `id`, `local_model`,
`frontier_model`, `responses`, `source` and `task` are optional, and any other field that maps
model names to numbers (a partial-credit score, a looser grading) is kept in `graded`. Files
are read by `router.evaluation._read` (`read_outcomes`, `load_outcomes`), the one reader of
every command.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

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
    # Other fields of the row that map models (of `scores`) to numbers: field -> model -> value.
    graded: Mapping[str, Mapping[str, float]] = field(default_factory=dict)


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
