"""Explicit feedback: a person's verdict on an answer, turned into a gain label.

Feedback says how good the answer the caller got was. When the local model gave it, that is a
label: a bad local answer (score 0) means the frontier model would have gained 1 (taken to
answer well), a good one (score 1) that it would have gained nothing: `gain = 1 - score`. When
the frontier model gave it, feedback says nothing about what the local model would have done:
it is kept (weight 0, so reports can count it) but not trained on.

One label per request and source: giving feedback again replaces the earlier one, so repeating
a call changes nothing and a corrected verdict wins. Training reads a feedback label against the
request's row as it is then, so feedback recorded (by another process) before this router had
written the request still counts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from router.errors import InvalidRequestError
from router.learning._judges import GainLabel
from router.learning._labels import label_row
from router.learning._store import Batch, LearningStore

MAX_NOTE_CHARS = 2000
Outcome = Literal["recorded", "updated", "unchanged"]


@dataclass(frozen=True, slots=True)
class FeedbackReceipt:
    """What became of a feedback: the label's `gain`, whether it trains the model, and why."""

    request_id: str
    score: float
    gain: float | None
    used_for_training: bool
    outcome: Outcome
    reason: str
    note_stored: bool


def feedback_score(score: float | None, good: bool | None) -> float:
    """The feedback as a score in [0, 1]; exactly one of `score` and `good` must be given."""
    if (score is None) == (good is None):
        raise InvalidRequestError("give exactly one of score (0 to 1) and good (True or False)")
    if good is not None:
        if not isinstance(good, bool):
            raise InvalidRequestError("`good` must be True or False")
        return 1.0 if good else 0.0
    if isinstance(score, bool) or not isinstance(score, int | float):
        raise InvalidRequestError("`score` must be a number from 0 (bad) to 1 (good)")
    if not (math.isfinite(score) and 0.0 <= score <= 1.0):
        raise InvalidRequestError("`score` must be from 0 (bad) to 1 (good)")
    return float(score)


def check_note(note: str | None) -> str | None:
    if note is None:
        return None
    if not isinstance(note, str):
        raise InvalidRequestError("`note` must be a string")
    if len(note) > MAX_NOTE_CHARS:
        raise InvalidRequestError(f"`note` is longer than {MAX_NOTE_CHARS} characters")
    return note


def record_feedback(
    store: LearningStore,
    request_id: str,
    score: float,
    *,
    note: str | None,
    keep_note: bool,
    now: datetime,
) -> FeedbackReceipt:
    """Store the feedback label of `request_id` (blocking; call from a worker thread)."""
    stored = store.request(request_id)
    if stored is None and not store.in_ledger(request_id):
        raise InvalidRequestError(
            f"no request {request_id!r} in the ledger at {store.where}; pass the request_id "
            "of a Completion routed with this ledger"
        )
    gain, weight, reason = _meaning(stored.answered_by if stored else None, score)
    kept_note = note if keep_note else None
    previous = store.label(request_id, "feedback")
    label = GainLabel(gain, "feedback", weight if weight > 0 else 1.0)
    row = label_row(request_id, "feedback", label, now, feedback_score=score, note=kept_note)
    row["weight"] = weight
    outcome = _outcome(previous, row)
    if outcome != "unchanged":
        store.write(Batch(labels=[row]))
    return FeedbackReceipt(
        request_id, score, gain, weight > 0, outcome, reason, kept_note is not None
    )


def _meaning(answered_by: str | None, score: float) -> tuple[float, float, str]:
    if answered_by == "local":
        return 1.0 - score, 1.0, "the local model answered: trains the model"
    if answered_by == "frontier":
        return 0.0, 0.0, "the frontier model answered: kept, not trained on"
    return (
        0.0,
        0.0,
        (
            "the request is not kept for learning (sensitive, learning off, or not written yet): "
            "the feedback is kept, and trains the model if the local model answered"
        ),
    )


def _outcome(previous: dict[str, object] | None, row: dict[str, object]) -> Outcome:
    if previous is None:
        return "recorded"
    same = all(previous.get(k) == row[k] for k in ("feedback_score", "note", "weight", "gain"))
    return "unchanged" if same else "updated"
