"""`router score`: read `{"id", "prompt"[, "response"]}` rows, write `{"id", "score"}` rows.

Every row is validated before anything is written, so a bad line never leaves a partial output.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from router.classifier import Classifier
from router.errors import RouterError
from router.evaluation._data import DataFormatError, iter_jsonl


class ScoreInputError(RouterError):
    """A row of the `router score` input is malformed; the message names the line."""


@dataclass(frozen=True, slots=True)
class ScoreRequest:
    id: str | int
    prompt: str
    response: str | None


def read_requests(path: Path) -> list[ScoreRequest]:
    out = []
    try:
        for number, obj in iter_jsonl(path):
            where = f"{path}:{number}"
            rid, prompt, response = obj.get("id"), obj.get("prompt"), obj.get("response")
            if isinstance(rid, bool) or not isinstance(rid, str | int):
                raise ScoreInputError(f"{where}: 'id' must be a string or an integer")
            if not isinstance(prompt, str):
                raise ScoreInputError(f"{where}: 'prompt' must be a string")
            if response is not None and not isinstance(response, str):
                raise ScoreInputError(f"{where}: 'response' must be a string or null")
            out.append(ScoreRequest(rid, prompt, response))
    except DataFormatError as exc:
        raise ScoreInputError(str(exc)) from exc
    return out


def score_file(classifier: Classifier, source: Path, target: Path) -> int:
    """Score every row of `source` into `target` (same order); returns the number of rows."""
    requests = read_requests(source)
    scores = classifier.score_batch([r.prompt for r in requests], [r.response for r in requests])
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            for request, value in zip(requests, scores, strict=True):
                handle.write(json.dumps({"id": request.id, "score": value}) + "\n")
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return len(requests)
