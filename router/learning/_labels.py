"""Labels and what the store keeps for them, as table rows.

`Finished` is a request as the learning loop receives it from the pipeline. The row builders
turn it, its labels and its paid learning calls into rows of the learning tables. Text never
goes into a row unless `privacy.capture_content` is on: the request row holds the prompt's
hashed features (hashed on the writer's thread, not on the request path, from the features the
classifier already extracted to score the prompt, or from the text when there are none). The
row also keeps the request's task (`metadata["task"]`, the tag the classifier was given), so
`router learn` can fit per-task offsets as `router adapt` does.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from router._records import AttemptRecord, Tier
from router._request import _MAX_METADATA_VALUE, RoutedRequest
from router._request_checks import check_text
from router.backends import Backend
from router.classifier._features import PromptFeatures
from router.errors import InvalidRequestError
from router.learning._examples import stored_features
from router.learning._judges import GainLabel
from router.pricing import PriceTable

Row = dict[str, Any]
PROMPT_TEXT = "_prompt_text"  # a request row's text, replaced by its features before writing
SCORED_FEATURES = "_scored_features"  # what the classifier extracted from that text, if given
SOURCES = ("shadow", "escalation", "verified", "feedback", "file")
MAX_TASK_CHARS = _MAX_METADATA_VALUE  # a task longer than any request's tag could be is dropped


@dataclass(frozen=True, slots=True)
class Finished:
    """An answered request handed to the learning loop. `rejected_local` is the local answer
    that failed verification, when the request was escalated."""

    request: RoutedRequest
    answer: str
    tier: Tier
    rejected_local: str | None
    decision_score: float | None
    artefact_version: str | None
    finished_at: datetime
    prices: PriceTable
    local: Backend
    local_model: str
    frontier_model: str | None
    features: PromptFeatures | None = None  # what the classifier extracted from the prompt


def request_row(item: Finished) -> Row:
    """The request as the store keeps it; `PROMPT_TEXT` is turned into features when written."""
    request = item.request
    return {
        "request_id": request.request_id,
        "observed_at": item.finished_at,
        PROMPT_TEXT: request.scoring_text,
        SCORED_FEATURES: item.features,
        "keep_text": request.policy.privacy.capture_content,
        "local_model": item.local_model,
        "frontier_model": item.frontier_model,
        "answered_by": item.tier,
        "artefact_version": item.artefact_version,
        "decision_score": item.decision_score,
        "task": stored_task(request.tags.get("task")),
    }


def stored_task(task: object) -> str | None:
    """A task as the store keeps it: text of 1 to `MAX_TASK_CHARS` characters that the ledger
    can store (no NUL, no lone surrogate), as a request's metadata must be; else no task."""
    if not isinstance(task, str) or not 0 < len(task) <= MAX_TASK_CHARS:
        return None
    try:
        return check_text("task", task, stored=True)
    except InvalidRequestError:
        return None


def label_row(
    request_id: str,
    source: str,
    label: GainLabel,
    at: datetime,
    *,
    feedback_score: float | None = None,
    note: str | None = None,
) -> Row:
    if source not in SOURCES:
        raise ValueError(f"label source must be one of {SOURCES}, not {source!r}")
    return {
        "request_id": request_id,
        "source": source,
        "gain": label.gain,
        "weight": label.weight,
        "judge": label.judge,
        "labelled_at": at,
        "feedback_score": feedback_score,
        "note": note,
    }


def attempt_row(request_id: str, seq: int, attempt: AttemptRecord, at: datetime) -> Row:
    row = {f.name: getattr(attempt, f.name) for f in fields(attempt)}
    row.update(request_id=request_id, seq=seq, created_at=at)
    return row


def featurized(row: Row, featurize: Any, features_version: str, reuse_scored: bool) -> Row:
    """A request row ready for the table (changed in place): the text replaced by its hashed
    features (and kept beside them only under content capture). With `reuse_scored` (the
    featurizer is `hashed_features`) the features the classifier extracted to score the prompt
    are hashed instead of extracting them from the text again: the same result, cheaper."""
    text: str = row.pop(PROMPT_TEXT)
    scored = row.pop(SCORED_FEATURES, None)
    keep = row.pop("keep_text")
    if reuse_scored and isinstance(scored, PromptFeatures):
        row["features"] = stored_features(scored)
    else:
        row["features"] = {str(k): float(v) for k, v in featurize(text).items()}
    row["features_version"] = features_version
    row["prompt"] = text if keep else None
    return row
