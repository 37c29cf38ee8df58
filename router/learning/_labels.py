"""Labels and what the store keeps for them, as table rows.

`Finished` is a request as the learning loop receives it from the pipeline. The row builders
turn it, its labels and its paid learning calls into rows of the learning tables. Text never
goes into a row unless `privacy.capture_content` is on: the request row holds the prompt's
hashed features (computed on the writer's thread, not on the request path).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from router._records import AttemptRecord, Tier
from router._request import RoutedRequest
from router.backends import Backend
from router.learning._judges import GainLabel
from router.pricing import PriceTable

Row = dict[str, Any]
PROMPT_TEXT = "_prompt_text"  # a request row's text, replaced by its features before writing
SOURCES = ("shadow", "escalation", "feedback", "file")


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


def request_row(item: Finished) -> Row:
    """The request as the store keeps it; `PROMPT_TEXT` is turned into features when written."""
    request = item.request
    return {
        "request_id": request.request_id,
        "observed_at": item.finished_at,
        PROMPT_TEXT: request.scoring_text,
        "keep_text": request.policy.privacy.capture_content,
        "local_model": item.local_model,
        "frontier_model": item.frontier_model,
        "answered_by": item.tier,
        "artefact_version": item.artefact_version,
        "decision_score": item.decision_score,
    }


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


def featurized(row: Row, featurize: Any, features_version: str) -> Row:
    """A request row ready for the table: the text replaced by its hashed features (and kept
    beside them only under content capture)."""
    out = dict(row)
    text: str = out.pop(PROMPT_TEXT)
    keep = out.pop("keep_text")
    features = featurize(text)
    out["features"] = {str(k): float(v) for k, v in features.items()}
    out["features_version"] = features_version
    out["prompt"] = text if keep else None
    return out
