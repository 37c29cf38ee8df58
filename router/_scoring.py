"""The classifier seam: what the pipeline asks of a difficulty scorer.

A classifier scores; the policy decides. `score` returns the chance, in [0, 1], that the local
model's answer will not be good enough; with `response` (the local answer) it may use that too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, TypeGuard, runtime_checkable

if TYPE_CHECKING:
    from router.classifier._features import PromptFeatures


@runtime_checkable
class Classifier(Protocol):
    """A difficulty scorer. Pass one to `Router(classifier=...)`."""

    def score(self, prompt: str, response: str | None = None) -> float: ...

    def score_batch(
        self, prompts: Sequence[str], responses: Sequence[str | None] | None = None
    ) -> list[float]: ...


def pinned(classifier: Classifier | None) -> Classifier | None:
    """The classifier one request uses throughout: a classifier that can swap artefacts while
    running (`router.learning.PromotedClassifier`) gives its current one, so the request's score
    and the artefact version recorded with it come from the same artefact."""
    pin = getattr(classifier, "pinned", None)
    return pin() if callable(pin) else classifier


def version_of(classifier: Classifier | None) -> str | None:
    """The classifier's artefact version (recorded with each request it decides), if it has one."""
    version = getattr(classifier, "version", None)
    return version if isinstance(version, str) else None


class TaskAware(Protocol):
    """A classifier that learned per-task offsets (`task_aware = True`): its scoring methods
    take a request's task (`metadata["task"]`, a row's `task`)."""

    task_aware: bool

    def score(
        self, prompt: str, response: str | None = None, *, task: str | None = None
    ) -> float: ...

    def score_batch(
        self,
        prompts: Sequence[str],
        responses: Sequence[str | None] | None = None,
        *,
        tasks: Sequence[str | None] | None = None,
    ) -> list[float]: ...


def takes_tasks(classifier: object) -> TypeGuard[TaskAware]:
    """Whether `classifier` takes a request's task (`TaskAware`); any other scores prompts alone."""
    return bool(getattr(classifier, "task_aware", False))


def score_batch(
    classifier: Classifier,
    prompts: Sequence[str],
    responses: Sequence[str | None] | None = None,
    tasks: Sequence[str | None] | None = None,
) -> list[float]:
    """`classifier.score_batch`, given the tasks when one is named and the classifier takes them
    (`router score`, `router eval`, `router calibrate` all score rows this way)."""
    if tasks is not None and any(tasks) and takes_tasks(classifier):
        return classifier.score_batch(prompts, responses, tasks=tasks)
    return classifier.score_batch(prompts, responses)


def score_and_features(
    classifier: Classifier, prompt: str, task: str | None = None
) -> tuple[float, PromptFeatures | None]:
    """The score, and the prompt features it was computed from when the classifier hands them
    over (`score_with_features`, the shipped classifiers): the learning loop stores those
    instead of extracting them again. None from any other classifier.

    `task` (the request's `metadata["task"]`) goes only to a classifier that learned per-task
    offsets (`task_aware`: an artefact of `router adapt` on rows naming their task); a task it
    never saw moves nothing, and every other classifier scores the prompt alone."""
    with_features = getattr(classifier, "score_with_features", None)
    if task is not None and takes_tasks(classifier):
        if callable(with_features):
            score, features = with_features(prompt, task=task)
            return score, features
        return classifier.score(prompt, task=task), None
    if callable(with_features):
        score, features = with_features(prompt)
        return score, features
    return classifier.score(prompt), None
