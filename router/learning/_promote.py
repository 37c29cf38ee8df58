"""`router learn`: fit a candidate on the stored labels, promote it only if it routes better.

1. Labels past `learning.retention_days` are purged first.
2. The labels are put in traffic order (when the request was seen, never shuffled); the most
   recent `holdout_share` of them is held back.
3. The candidate is `fit_candidate` on the older labels, on top of the shipped prior (with too
   few labels it is the prior itself); when the labels' requests name two or more tasks (their
   `metadata["task"]`, a file row's `task`), with a shrunk offset per task, as `router adapt`.
4. Candidate and champion (the artefact in use, or the shipped prior) are scored on the held-back
   labels from their stored features and tasks, as a router scores a request; each captures
   `recovered_gain`: the area under the cumulative-gain curve when requests go to the frontier
   in score order.
5. The candidate is promoted only when it captures more than the champion plus
   `learning.min_improvement`: saved under its version, then `CURRENT` is switched atomically.
   Exactly the evaluated candidate is promoted (it has not seen the held-back labels, so the next
   run's held-back slice, the newest traffic, is unseen by the champion too).

Every candidate is recorded in `learning_artefacts` with its evidence. Nothing is written before
the fit ends, and `CURRENT` changes in one rename, so a crash anywhere leaves the champion in use.
One `router learn` runs at a time per artefact directory (a lock file).
"""

from __future__ import annotations

import contextlib
import fcntl
import math
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from router.errors import ClassifierError, ConfigError
from router.learning._artefacts import ArtefactDir
from router.learning._examples import FEATURES_VERSION, LabelledExample, hashed_features
from router.learning._model import LearnedClassifier
from router.learning._store import LearningStore, StoredExample
from router.policy import Policy

Status = Literal["promoted", "rejected", "too few labels"]
_MEASURED = frozenset({"shadow", "feedback"})  # labels that replace a request's verified one
Fit = Callable[..., LearnedClassifier]


@dataclass(frozen=True, slots=True)
class LearnResult:
    """What one `router learn` did, and the evidence for it."""

    status: Status
    labels: int
    train: int
    holdout: int
    candidate_version: str | None
    champion_version: str | None
    candidate_value: float | None
    champion_value: float | None
    reason: str
    seconds: float
    skipped: int = 0  # labels whose stored features are of another version (and no text kept)
    tasks: int = 0  # tasks the candidate learned an offset for
    # What the training labels are worth as equally weighted ones, (sum w)^2 / sum w^2: the
    # in-domain part's weight follows it (None when the fit did not get that far).
    effective_labels: float | None = None

    @property
    def promoted(self) -> bool:
        return self.status == "promoted"

    def to_text(self) -> str:
        lines = [f"{self.status}: {self.reason}"]
        lines.append(
            f"labels: {self.labels} ({self.train} to train, {self.holdout} held back, "
            f"most recent); {self.seconds:.1f} s"
        )
        if self.candidate_value is not None and self.champion_value is not None:
            lines.append(
                f"gain captured on the held-back labels: candidate {self.candidate_value:.4f} "
                f"({self.candidate_version}), in use {self.champion_value:.4f} "
                f"({self.champion_version or 'shipped prior'})"
            )
        if self.effective_labels is not None and self.effective_labels < 0.99 * self.train:
            lines.append(
                f"importance weights make the {self.train} training labels worth about "
                f"{self.effective_labels:.0f} equally weighted ones; the in-domain part's "
                "weight follows that number"
            )
        if self.tasks:
            lines.append(f"the candidate has per-task offsets for {self.tasks} tasks")
        if self.skipped:
            lines.append(f"{self.skipped} label(s) skipped: features of another version")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "labels": self.labels,
            "train": self.train,
            "holdout": self.holdout,
            "candidate_version": self.candidate_version,
            "champion_version": self.champion_version,
            "candidate_value": self.candidate_value,
            "champion_value": self.champion_value,
            "reason": self.reason,
            "seconds": round(self.seconds, 3),
            "skipped": self.skipped,
            "tasks": self.tasks,
            "effective_labels": _rounded(self.effective_labels),
        }


def learn(
    policy: Policy,
    store: LearningStore,
    artefacts: ArtefactDir,
    *,
    now: datetime,
    fit: Fit | None = None,
) -> LearnResult:
    """Purge, fit, evaluate against the champion and promote if better (module docstring)."""
    started = time.perf_counter()
    settings = policy.learning
    with _exclusive(artefacts.root):
        if settings.retention_days is not None:
            store.purge(now - timedelta(days=settings.retention_days))
        examples, skipped = labelled_examples(store.examples())
        champion = _champion(artefacts)
        evidence = _Evidence(examples, skipped, champion, started)
        if len(examples) < settings.min_labels:
            return evidence.result(
                "too few labels",
                f"{len(examples)} label(s), fewer than learning.min_labels "
                f"({settings.min_labels}); the artefact in use stays",
            )
        train, held = split_by_time(examples, settings.holdout_share)
        candidate = (fit or _fit_candidate)(train, prior=champion)
        values = (recovered(candidate, held), recovered(champion, held))
        better = values[0] > values[1] + settings.min_improvement
        if better:
            artefacts.save(candidate)
            artefacts.promote(candidate.version)
        result = evidence.result(
            "promoted" if better else "rejected",
            _reason(better, values, settings.min_improvement),
            candidate=candidate,
            held=len(held),
            values=values,
        )
        store.record_artefact(_artefact_row(result, now))
        return result


def labelled_examples(stored: Sequence[StoredExample]) -> tuple[list[LabelledExample], int]:
    """The stored labels as training examples, in traffic order. Features of another version
    are recomputed from the text when it was kept (content capture), else skipped. A verified
    label (no gain assumed) gives way to a measured one of the same request (shadow, feedback)."""
    examples, skipped = [], 0
    measured = {row.request_id for row in stored if row.source in _MEASURED}
    for row in stored:
        gain, weight = _meaning(row)
        if weight <= 0 or (row.source == "verified" and row.request_id in measured):
            continue
        if row.features_version == FEATURES_VERSION:
            features = {int(k): float(v) for k, v in row.features.items()}
        elif row.prompt is not None:
            features = hashed_features(row.prompt)
        else:
            skipped += 1
            continue
        examples.append(
            LabelledExample(features, gain, row.observed_at, row.source, weight, task=row.task)
        )
    return examples, skipped


def _meaning(row: StoredExample) -> tuple[float, float]:
    """A label's gain and weight; feedback is read against the request's row as it is now (the
    feedback may have been given before the loop had written the request)."""
    if row.source != "feedback":
        return row.gain, row.weight
    if row.answered_by != "local" or row.feedback_score is None:
        return 0.0, 0.0
    return 1.0 - row.feedback_score, 1.0


def split_by_time(
    examples: Sequence[LabelledExample], holdout_share: float
) -> tuple[list[LabelledExample], list[LabelledExample]]:
    """(older, most recent): the last `holdout_share` of the examples in time order."""
    ordered = sorted(examples, key=lambda e: e.observed_at)  # stable: store order breaks ties
    held = min(len(ordered) - 1, max(1, math.ceil(len(ordered) * holdout_share)))
    return ordered[: len(ordered) - held], ordered[len(ordered) - held :]


def recovered(model: LearnedClassifier, examples: Sequence[LabelledExample]) -> float:
    """The gain `model` captures routing `examples`, each scored with its task as a request of
    that task would be (weighted gains; see `recovered_gain`)."""
    import numpy as np  # noqa: PLC0415 - training only

    from router.learning._fit import recovered_gain  # noqa: PLC0415

    scores = np.array(
        [model.score_features(e.features, task=e.task) for e in examples], dtype=np.float64
    )
    gains = np.array([e.gain * e.weight for e in examples], dtype=np.float64)
    return recovered_gain(scores, gains)


def _fit_candidate(train: Sequence[LabelledExample], *, prior: LearnedClassifier) -> Any:
    from router.learning._fit import fit_candidate  # noqa: PLC0415 - numpy/sklearn on demand

    return fit_candidate(train, prior=prior)


def _champion(artefacts: ArtefactDir) -> LearnedClassifier:
    """The artefact in use, or the shipped prior (as a learned classifier without a gain
    model, which scores stored features exactly as the prior scores text)."""
    try:
        current = artefacts.load_current()
    except ClassifierError as exc:
        raise ConfigError(
            f"the artefact in use ({artefacts.pointer}) does not load: {exc}; fix or remove "
            "the CURRENT file to start again from the shipped prior"
        ) from exc
    if current is not None:
        return current
    from router.classifier import load_classifier  # noqa: PLC0415

    return LearnedClassifier(load_classifier())


def _reason(better: bool, values: tuple[float, float], margin: float) -> str:
    candidate, champion = values
    if better:
        return f"the candidate captures {candidate - champion:+.4f} more gain than the one in use"
    need = f" (needs {margin:+.4f})" if margin else ""
    return (
        f"the candidate captures {candidate - champion:+.4f} vs the one in use{need}; "
        "the artefact in use stays"
    )


@dataclass(frozen=True, slots=True)
class _Evidence:
    examples: Sequence[LabelledExample]
    skipped: int
    champion: LearnedClassifier
    started: float

    def result(
        self,
        status: Status,
        reason: str,
        *,
        candidate: LearnedClassifier | None = None,
        held: int = 0,
        values: tuple[float | None, float | None] = (None, None),
    ) -> LearnResult:
        champion = self.champion
        return LearnResult(
            status=status,
            labels=len(self.examples),
            train=len(self.examples) - held,
            holdout=held,
            candidate_version=None if candidate is None else candidate.version,
            champion_version=None if champion.gain_model is None else champion.version,
            candidate_value=values[0],
            champion_value=values[1],
            reason=reason,
            seconds=time.perf_counter() - self.started,
            skipped=self.skipped,
            tasks=0 if candidate is None else len(candidate.tasks),
            effective_labels=_effective_labels(candidate),
        )


def _effective_labels(candidate: LearnedClassifier | None) -> float | None:
    validation = {} if candidate is None else candidate.training.get("validation", {})
    value = validation.get("effective_labels")
    return None if value is None else float(value)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _artefact_row(result: LearnResult, now: datetime) -> dict[str, Any]:
    return {
        "version": result.candidate_version,
        "created_at": now,
        "status": result.status,
        "labels": result.train,
        "holdout": result.holdout,
        "candidate_value": result.candidate_value,
        "champion_value": result.champion_value,
        "champion_version": result.champion_version,
        "reason": result.reason,
    }


@contextlib.contextmanager
def _exclusive(root: Path) -> Iterator[None]:
    root.mkdir(parents=True, exist_ok=True)
    fd = os.open(root / ".learn.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise ConfigError(
                f"another `router learn` is running on {root}; wait for it to finish"
            ) from exc
        yield
    finally:
        os.close(fd)
