"""`router score`: read `{"id", "prompt"[, "response"][, "task"]}` rows, write `{"id", "score"}`.

The rows come from a file or, as `-`, from standard input (`router.evaluation._read.STDIN`).

Every row is validated before anything is written, so a bad line never leaves a partial output.
A row's `task` (its tag, as in the shared-data schema) reaches an artefact that learned per-task
offsets (`router adapt` on rows with tasks); other classifiers score the prompt alone.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from router._scoring import score_batch
from router.classifier import Classifier
from router.errors import RouterError
from router.evaluation._data import DataFormatError
from router.evaluation._read import RowProblem, Skipped, iter_objects, prompt_text


class ScoreInputError(RouterError):
    """A row of the `router score` input is malformed; the message names the line."""


@dataclass(frozen=True, slots=True)
class ScoreRequest:
    id: str | int
    prompt: str
    response: str | None
    task: str | None = None


def read_requests(path: Path) -> list[ScoreRequest]:
    """Every row, read as `router adapt` reads a file (BOM, UTF-16, gzip, a JSON array; a
    prompt may be a chat message list); any bad row is an error naming its line."""
    out = []
    skipped = Skipped()
    try:
        for number, obj in iter_objects(path, skipped):
            out.append(_request(obj, f"{path}:{number}"))
    except DataFormatError as exc:
        raise ScoreInputError(str(exc)) from exc
    if skipped.total:
        raise ScoreInputError(f"{path}:{min(skipped.first.values())}: invalid JSON")
    return out


def _request(obj: object, where: str) -> ScoreRequest:
    if not isinstance(obj, dict):
        raise ScoreInputError(f"{where}: expected a JSON object")
    rid, response, task = obj.get("id"), obj.get("response"), obj.get("task")
    if isinstance(rid, bool) or not isinstance(rid, str | int):
        raise ScoreInputError(f"{where}: 'id' must be a string or an integer")
    try:
        prompt = prompt_text(obj.get("prompt"))
    except RowProblem as exc:
        raise ScoreInputError(f"{where}: {exc}") from None
    if response is not None and not isinstance(response, str):
        raise ScoreInputError(f"{where}: 'response' must be a string or null")
    if task is not None and not isinstance(task, str):
        raise ScoreInputError(f"{where}: 'task' must be a string or null")
    return ScoreRequest(rid, prompt, response, task or None)


def score_requests(classifier: Classifier, requests: Sequence[ScoreRequest]) -> list[float]:
    """Each request's score; with its task when any has one and the classifier takes tasks."""
    return score_batch(
        classifier,
        [r.prompt for r in requests],
        [r.response for r in requests],
        [r.task for r in requests],
    )


def scored_lines(classifier: Classifier, source: Path) -> list[str]:
    """The `{"id", "score"}` JSON line of every row of `source` (same order; `-`: stdin)."""
    requests = read_requests(source)
    scores = score_requests(classifier, requests)
    return [
        json.dumps({"id": request.id, "score": value}) + "\n"
        for request, value in zip(requests, scores, strict=True)
    ]


def score_file(classifier: Classifier, source: Path, target: Path) -> int:
    """Score every row of `source` into `target` (same order); returns the number of rows."""
    lines = scored_lines(classifier, source)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.writelines(lines)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return len(lines)
