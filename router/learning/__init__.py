"""Routing that learns each deployment's own traffic (issue #18; docs/learning.md).

The loop: the pipeline hands each answered request to `LearningLoop`, which keeps its hashed
features (`hashed_features`, not the text), shadows a sampled share to the frontier model
within the learning budget, and turns (local answer, frontier answer) pairs into gain labels
with judges; escalations, feedback (`Router.feedback`) and labelled files add labels too.
`router learn` fits a candidate (`fit_candidate`: the shipped prior plus a gain model) and
promotes it only if it beats the artefact in use on the most recent labelled traffic; a running
router follows the promotion (`PromotedClassifier`).
"""

from __future__ import annotations

from router.learning._artefacts import (
    ArtefactDir,
    PromotedClassifier,
    default_artefact_dir,
    promoted_classifier,
)
from router.learning._examples import FEATURES_VERSION, LabelledExample, hashed_features
from router.learning._feedback import FeedbackReceipt
from router.learning._judges import (
    CallableJudge,
    Comparison,
    ExactAnswerJudge,
    GainLabel,
    Judge,
    PairwiseJudge,
)
from router.learning._loop import LearningLoop, LearningStats
from router.learning._model import LearnedClassifier, load_learned
from router.learning._store import LearningStore

__all__ = [
    "FEATURES_VERSION",
    "ArtefactDir",
    "CallableJudge",
    "Comparison",
    "ExactAnswerJudge",
    "FeedbackReceipt",
    "GainLabel",
    "Judge",
    "LabelledExample",
    "LearnedClassifier",
    "LearningLoop",
    "LearningStats",
    "LearningStore",
    "PairwiseJudge",
    "PromotedClassifier",
    "default_artefact_dir",
    "hashed_features",
    "load_learned",
    "promoted_classifier",
]


def __getattr__(name: str) -> object:
    if name == "fit_candidate":  # numpy/scipy/scikit-learn: imported only when training
        from router.learning._fit import fit_candidate  # noqa: PLC0415

        return fit_candidate
    raise AttributeError(f"module 'router.learning' has no attribute {name!r}")
