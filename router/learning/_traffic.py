"""Read a labelled traffic file for `router adapt` / `router learn --from-file`.

The file is read by the one reader of outcome files (`router.evaluation._read`: encodings,
framing, chat prompts, score scales, skipped rows, `strict`), so a file `router eval` and
`router calibrate` take, adapt takes. What is adapt's own is the pair: every row must name one
(its `local_model` / `frontier_model`, or `Pair` for every row) and score both of its models;
other rows are skipped and counted with the reader's, by reason and first line. No message
ever quotes a prompt.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from router.evaluation._data import OutcomeRow
from router.evaluation._read import (
    BAD_NAME,
    OutcomeFile,
    RowProblem,
    is_text,
    pair_problem,
    read_outcomes,
)

TrafficRows = OutcomeFile


@dataclass(frozen=True, slots=True)
class Pair:
    """`--local-model` / `--frontier-model`: the pair for every row, over the rows' own."""

    local: str | None = None
    frontier: str | None = None

    def __call__(self, row: OutcomeRow) -> OutcomeRow:
        """`row` with its pair, or `RowProblem` when it names none or lacks a score for it."""
        local, frontier = _pair_of(row, self)
        problem = pair_problem(row, local, frontier)
        if problem:
            raise RowProblem(problem)
        return replace(row, local_model=local, frontier_model=frontier)


def _pair_of(row: OutcomeRow, pair: Pair) -> tuple[str, str]:
    local = pair.local or row.local_model
    frontier = pair.frontier or row.frontier_model
    if not local:
        raise RowProblem("no 'local_model'")
    if not frontier:
        raise RowProblem("no 'frontier_model'")
    if not (is_text(local) and is_text(frontier)):  # a name given on the command line
        raise RowProblem(BAD_NAME)
    if local == frontier:
        raise RowProblem("'local_model' and 'frontier_model' name the same model")
    return local, frontier


def read_rows(path: Path, pair: Pair | None = None, *, strict: bool = False) -> TrafficRows:
    """Every row of `path` with a pair scored on both sides; `read_outcomes` says what else is
    skipped (with `strict`: refused at its line) and how scores are rescaled."""
    return read_outcomes(path, strict=strict, refine=pair or Pair())
